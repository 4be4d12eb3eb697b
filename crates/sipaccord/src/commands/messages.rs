//! `sipaccord messages`: list every SIP message found in captures.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;
use sipaccord_capture::{CaptureError, CaptureReader, OtherTraffic, Outcome as Parsed, SipMessage, Summary};

use crate::Outcome;

/// Arguments of `sipaccord messages`.
#[derive(Debug, Args)]
pub struct MessagesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// pcap or pcapng files.
    #[arg(required = true, value_name = "CAPTURE")]
    captures: Vec<PathBuf>,
}

/// Output formats of `sipaccord messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One readable line per message, then a summary.
    Text,
    /// One JSON object per message, one per line.
    Jsonl,
}

/// One line of `--format jsonl`.
#[derive(Debug, Serialize)]
struct MessageLine {
    file: String,
    frame: u64,
    time: String,
    src: String,
    dst: String,
    transport: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cseq: Option<String>,
    /// Set when the message parsed but a header breaks its grammar.
    #[serde(skip_serializing_if = "Option::is_none")]
    invalid: Option<String>,
    /// Set when the message could not be parsed at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    malformed: Option<String>,
}

impl MessageLine {
    fn new(m: &SipMessage) -> MessageLine {
        let mut line = MessageLine {
            file: m.file.display().to_string(),
            frame: m.frame,
            time: sipaccord_replay::render::rfc3339(m.timestamp),
            src: m.src.to_string(),
            dst: m.dst.to_string(),
            transport: m.transport.as_str(),
            method: None,
            status: None,
            call_id: None,
            cseq: None,
            invalid: None,
            malformed: None,
        };
        match &m.outcome {
            Parsed::Malformed(reason) => line.malformed = Some(reason.clone()),
            Parsed::Invalid(reason) => line.invalid = Some(reason.clone()),
            Parsed::WellFormed => {}
        }
        if let Ok(parsed) = m.parse() {
            line.method = parsed.method().map(str::to_owned);
            line.status = parsed.status();
            let text =
                |known| parsed.known_header(known).map(|h| String::from_utf8_lossy(&h.value_unfolded()).into_owned());
            line.call_id = text(sipaccord_sip::KnownHeader::CALL_ID);
            line.cseq = text(sipaccord_sip::KnownHeader::CSEQ);
        }
        line
    }

    fn text(&self, first_line: &str) -> String {
        let mut s = format!(
            "{}:{} {} {} {} -> {} {first_line}",
            self.file, self.frame, self.time, self.transport, self.src, self.dst
        );
        if let Some(reason) = &self.malformed {
            let _ = write!(s, "\n    malformed: {reason}");
            return s;
        }
        let _ = write!(
            s,
            "  [Call-ID {}; CSeq {}]",
            self.call_id.as_deref().unwrap_or("-"),
            self.cseq.as_deref().unwrap_or("-")
        );
        if let Some(reason) = &self.invalid {
            let _ = write!(s, "\n    invalid: {reason}");
        }
        s
    }
}

/// Lists the messages of every capture; a capture that cannot be opened makes the exit status 2, a
/// truncated one or a malformed message 1.
pub fn run(args: &MessagesArgs) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::Clean;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut totals = Totals::default();
    for path in &args.captures {
        let mut reader = match CaptureReader::open(path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("sipaccord: {e}");
                outcome = outcome.max(Outcome::Unusable);
                continue;
            }
        };
        for item in &mut reader {
            match item {
                Ok(message) => {
                    let line = MessageLine::new(&message);
                    if line.malformed.is_some() || line.invalid.is_some() {
                        outcome = outcome.max(Outcome::Findings);
                    }
                    match args.format {
                        Format::Jsonl => writeln!(out, "{}", serde_json::to_string(&line)?)?,
                        Format::Text => writeln!(out, "{}", line.text(&message.first_line()))?,
                    }
                }
                Err(e) => {
                    out.flush()?;
                    eprintln!("sipaccord: {e}");
                    outcome = outcome.max(match e {
                        CaptureError::Truncated { .. } | CaptureError::Invalid { .. } => Outcome::Findings,
                        CaptureError::Io { .. } | CaptureError::NotACapture { .. } => Outcome::Unusable,
                    });
                }
            }
        }
        totals.add(reader.summary());
    }
    if args.format == Format::Text {
        write!(out, "{}", totals.render())?;
    }
    out.flush()?;
    Ok(outcome)
}

/// The summary over every capture read.
#[derive(Debug, Default)]
struct Totals {
    captures: usize,
    summary: Summary,
}

impl Totals {
    fn add(&mut self, s: &Summary) {
        self.captures += 1;
        let t = &mut self.summary;
        t.packets += s.packets;
        t.messages += s.messages;
        t.malformed += s.malformed;
        t.invalid += s.invalid;
        t.flows += s.flows;
        t.skipped_streams.extend(s.skipped_streams.iter().cloned());
        for (reason, n) in &s.unusable {
            *t.unusable.entry(*reason).or_default() += n;
        }
        for (kind, n) in &s.other {
            *t.other.entry(*kind).or_default() += n;
        }
    }

    fn render(&self) -> String {
        let s = &self.summary;
        let mut text = format!(
            "\n{} SIP messages ({} malformed, {} with invalid header values) in {} flows; {} packets in {} capture{}\n",
            s.messages,
            s.malformed,
            s.invalid,
            s.flows,
            s.packets,
            self.captures,
            if self.captures == 1 { "" } else { "s" }
        );
        if s.skipped_streams.is_empty() {
            text.push_str("skipped streams: none\n");
        } else {
            let _ = writeln!(text, "skipped streams: {}", s.skipped_streams.len());
            for k in &s.skipped_streams {
                let _ = writeln!(
                    text,
                    "  TLS {} -> {} from frame {} (encrypted, not inspected)",
                    k.src, k.dst, k.first_frame
                );
            }
        }
        if s.unusable.is_empty() {
            text.push_str("unusable packets: none\n");
        } else {
            let _ = writeln!(text, "unusable packets: {}", s.unusable.values().sum::<u64>());
            for (reason, n) in &s.unusable {
                let _ = writeln!(text, "  {n} {reason}");
            }
        }
        if !s.other.is_empty() {
            let parts: Vec<String> = s.other.iter().map(|(k, n)| format!("{n} {}", other_traffic(*k))).collect();
            let _ = writeln!(text, "other traffic: {}", parts.join(", "));
        }
        text
    }
}

fn other_traffic(kind: OtherTraffic) -> &'static str {
    match kind {
        OtherTraffic::NotIp => "not IP",
        OtherTraffic::OtherIpProtocol => "other IP protocols",
        OtherTraffic::UdpNotSip => "UDP not SIP",
        OtherTraffic::TcpNotSip => "TCP not SIP",
        OtherTraffic::SctpNotSip => "SCTP not SIP",
        OtherTraffic::Encrypted => "encrypted",
    }
}
