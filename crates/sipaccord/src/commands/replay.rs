//! `sipaccord replay`: validate captures against an agreement.

use std::io::IsTerminal as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use sipaccord_capture::{CaptureError, CaptureReader, SipMessage};
use sipaccord_replay::{render, Runner};

use crate::Outcome;

/// Arguments of `sipaccord replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The agreement file.
    #[arg(short, long, value_name = "AGREEMENT")]
    agreement: PathBuf,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// pcap or pcapng files; several are one stream of evidence, in timestamp order.
    #[arg(required = true, value_name = "CAPTURE")]
    captures: Vec<PathBuf>,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Compiler-style findings, then a summary.
    Text,
    /// The versioned JSON report (docs/report-schema.md).
    Json,
    /// JUnit XML for CI systems.
    Junit,
    /// A standalone HTML page for people (one file, no scripts).
    Html,
}

/// Compiles the agreement (any error: exit 2), replays every capture in timestamp order and writes the
/// report. Exit 1 when any finding is an error or a capture is truncated.
pub fn run(args: &ReplayArgs) -> anyhow::Result<Outcome> {
    let (contract, agreement_name) = super::load_contract(&args.agreement)?;
    let mut readers = Vec::new();
    for path in &args.captures {
        readers.push(CaptureReader::open(path).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let mut runner = Runner::new(&contract);
    for path in &args.captures {
        runner.add_capture(&path.display().to_string());
    }
    let mut truncated = false;
    // A spinner with the message count, only when a person is watching stderr.
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(5));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut seen: u64 = 0;
    // The spinner is told every 256 messages (it draws 5 times a second at most anyway).
    let mut tick = |capture: &Path| {
        seen += 1;
        if seen.is_multiple_of(256) {
            progress.set_position(seen);
            if seen.is_multiple_of(4096) {
                progress.set_message(format!("replaying {}: {seen} messages", capture.display()));
            }
        }
    };
    if let [reader] = &mut readers[..] {
        // One capture: its messages are lent to the runner as they are found, without a copy.
        let error = reader.for_each_message(|message| {
            runner.observe_lent(message);
            tick(&args.captures[0]);
            ControlFlow::Continue(())
        });
        if let Some(e) = error {
            report_read_error(&e, &mut truncated);
        }
    } else {
        let mut heads: Vec<Option<SipMessage>> = Vec::with_capacity(readers.len());
        for reader in &mut readers {
            heads.push(next_message(reader, &mut truncated));
        }
        // Merge the captures by timestamp (ties: the capture given first), so several captures are
        // one stream of evidence.
        while let Some(i) =
            heads.iter().enumerate().filter_map(|(i, h)| h.as_ref().map(|m| (m.timestamp, i))).min().map(|(_, i)| i)
        {
            if let Some(message) = heads[i].take() {
                runner.observe(&message);
                tick(&args.captures[i]);
            }
            heads[i] = next_message(&mut readers[i], &mut truncated);
        }
    }
    progress.finish_and_clear();
    for reader in &readers {
        runner.add_capture_summary(reader.summary());
    }
    let report = runner.finish(&agreement_name);
    let text = match args.format {
        Format::Text => render::text(&report),
        Format::Json => render::json(&report),
        Format::Junit => render::junit(&report),
        Format::Html => render::html(&report),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(if report.has_errors() || truncated { Outcome::Findings } else { Outcome::Clean })
}

/// The next message of a capture; a read error ends that capture (reported on stderr, kept in mind for
/// the exit status) but keeps everything read before it.
fn next_message(reader: &mut CaptureReader, truncated: &mut bool) -> Option<SipMessage> {
    match reader.next()? {
        Ok(m) => Some(m),
        Err(e) => {
            report_read_error(&e, truncated);
            None
        }
    }
}

/// Says on stderr why a capture ended early and keeps in mind whether the exit status must show it.
fn report_read_error(e: &CaptureError, truncated: &mut bool) {
    eprintln!("sipaccord: {e}");
    *truncated |= matches!(e, CaptureError::Truncated { .. } | CaptureError::Invalid { .. } | CaptureError::Io { .. });
}
