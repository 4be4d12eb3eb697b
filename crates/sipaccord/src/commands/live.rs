//! `sipaccord live`: take one side of an interop session, answer the other side's calls and validate
//! every message as it arrives.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use sipaccord_live::server::Listeners;
use sipaccord_live::session::{self, LiveOptions};
use sipaccord_replay::render;

use crate::Outcome;

/// Arguments of `sipaccord live`.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// The agreement file.
    #[arg(short, long, value_name = "AGREEMENT")]
    agreement: PathBuf,
    /// The peer sipaccord acts as.
    #[arg(long = "as", value_name = "PEER")]
    me: String,
    /// The peer whose calls are answered (needed only when the agreement has more than two peers).
    #[arg(long = "to", value_name = "PEER")]
    them: Option<String>,
    /// Where to answer: `udp:ADDR:PORT` or `tcp:ADDR:PORT` (IPv6 as `udp:[::1]:5060`); repeatable.
    #[arg(long, value_name = "TRANSPORT:ADDR:PORT", value_parser = parse_listen, required = true)]
    listen: Vec<(Proto, SocketAddr)>,
    /// Also take HEPv3 mirrored traffic (what SBCs send to HOMER) on `udp:ADDR:PORT`; repeatable.
    #[arg(long, value_name = "udp:ADDR:PORT", value_parser = parse_listen)]
    hep: Vec<(Proto, SocketAddr)>,
    /// Record every packet of the session to this pcapng file (replay it later in CI).
    #[arg(long, value_name = "FILE.pcapng")]
    record: Option<PathBuf>,
    /// End the session after this long: `90s`, `5m`, `1h`, or seconds (default: at Ctrl-C or SIGTERM).
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// How findings are printed as they happen.
    #[arg(long, value_enum, default_value_t = LiveFormat::Text)]
    format: LiveFormat,
    /// Close a TCP connection idle for this long.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "60s")]
    tcp_idle: Duration,
    /// Most TCP connections open at once.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    tcp_max_connections: usize,
}

/// How a live session prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LiveFormat {
    /// Findings like the replay text report, then its summary.
    Text,
    /// One JSON object per finding (the JSON report's `findings[]` items), then one with `summary`.
    Jsonl,
}

/// A listener's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

fn parse_listen(s: &str) -> Result<(Proto, SocketAddr), String> {
    let (proto, addr) = s.split_once(':').ok_or_else(|| format!("`{s}`: expected udp:ADDR:PORT or tcp:ADDR:PORT"))?;
    let proto = match proto.to_ascii_lowercase().as_str() {
        "udp" => Proto::Udp,
        "tcp" => Proto::Tcp,
        other => return Err(format!("`{other}` is not a transport here: udp or tcp")),
    };
    let addr = addr.parse().map_err(|_| format!("`{addr}` is not ADDR:PORT (IPv6 in brackets: [::1]:5060)"))?;
    Ok((proto, addr))
}

/// `90s`, `5m`, `1h`, `250ms` or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration: 250ms, 90s, 5m, 1h, or seconds");
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => s.split_at(at),
        None => (s, "s"),
    };
    let n: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

/// Runs the session; exit status as replay (1 when any finding is an error).
pub fn run(args: &LiveArgs) -> anyhow::Result<Outcome> {
    let (contract, agreement_name) = super::load_contract(&args.agreement)?;
    // The contract lives as long as the process: the session's tasks borrow it.
    let contract: &'static _ = Box::leak(Box::new(contract));
    let (_, them) = session::peers(contract, &args.me, args.them.as_deref()).map_err(anyhow::Error::msg)?;
    let mut listeners =
        Listeners { tcp_idle: args.tcp_idle, tcp_max_connections: args.tcp_max_connections, ..Default::default() };
    for (proto, addr) in &args.listen {
        match proto {
            Proto::Udp => listeners.udp.push(*addr),
            Proto::Tcp => listeners.tcp.push(*addr),
        }
    }
    for (proto, addr) in &args.hep {
        anyhow::ensure!(*proto == Proto::Udp, "--hep takes udp:ADDR:PORT (HEP is mirrored over UDP)");
        listeners.hep.push(*addr);
    }
    let options = LiveOptions {
        agreement_file: agreement_name.clone(),
        me: args.me.clone(),
        them: them.name.clone(),
        listeners,
        record: args.record.clone(),
        duration: args.duration,
    };
    let format = args.format;
    let me = args.me.clone();
    let result = session::run(
        contract,
        &options,
        |listening| eprintln!("sipaccord: live as {me} toward {}, listening on {listening}", options.them),
        move |finding| {
            let mut out = std::io::stdout().lock();
            let _ = match format {
                LiveFormat::Text => writeln!(out, "{}", render::finding_text(finding)),
                LiveFormat::Jsonl => writeln!(out, "{}", render::finding_json_line(finding)),
            };
            let _ = out.flush();
        },
    )?;
    if let Some(e) = &result.record_error {
        eprintln!("sipaccord: {e}");
    }
    let mut out = std::io::stdout().lock();
    match format {
        LiveFormat::Text => {
            write!(out, "{}", render::summary_text(&result.report))?;
            writeln!(out, "{}", session::counters_line(&result.counters))?;
        }
        LiveFormat::Jsonl => {
            let summary = serde_json::json!({ "summary": result.report.summary, "errors": result.report.count(sipaccord_replay::Level::Error), "warnings": result.report.count(sipaccord_replay::Level::Warning) });
            writeln!(out, "{summary}")?;
        }
    }
    out.flush()?;
    Ok(if result.report.has_errors() || result.record_error.is_some() { Outcome::Findings } else { Outcome::Clean })
}
