//! `sipaccord live`: take one side of an interop session, answer the other side's calls and validate
//! every message as it arrives.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::{Arc, Mutex};

use clap::{Args, ValueEnum};
use sipaccord_agreement::{Contract, Peer, Transport as AgreedTransport};
use sipaccord_live::client::{Endpoint, Transport};
use sipaccord_live::compose::Composer;
use sipaccord_live::recorder::RecordError;
use sipaccord_live::server::Listeners;
use sipaccord_live::session::{self, LiveOptions};
use sipaccord_live::uac::{place_calls, probe as probe_one, CallOptions, ProbeOutcome};
use sipaccord_live::uas::Uas;
use sipaccord_replay::{render, Finding, Level, Report};

use crate::Outcome;

/// What `live`, `call` and `probe` share: the agreement, the two sides, the recording, the output.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// The agreement file.
    #[arg(short, long, value_name = "AGREEMENT")]
    agreement: PathBuf,
    /// The peer sipaccord acts as.
    #[arg(long = "as", value_name = "PEER")]
    me: String,
    /// The other side (needed only when the agreement has more than two peers).
    #[arg(long = "to", value_name = "PEER")]
    them: Option<String>,
    /// Record every packet of the session to this pcapng file (replay it later in CI).
    #[arg(long, value_name = "FILE.pcapng")]
    record: Option<PathBuf>,
    /// How findings are printed as they happen.
    #[arg(long, value_enum, default_value_t = LiveFormat::Text)]
    format: LiveFormat,
}

/// Arguments of `sipaccord live`.
#[derive(Debug, Args)]
pub struct LiveArgs {
    #[command(flatten)]
    session: SessionArgs,
    /// Where to answer: `udp:ADDR:PORT` or `tcp:ADDR:PORT` (IPv6 as `udp:[::1]:5060`); repeatable.
    #[arg(long, value_name = "TRANSPORT:ADDR:PORT", value_parser = parse_listen, required = true)]
    listen: Vec<(Proto, SocketAddr)>,
    /// Also take HEPv3 mirrored traffic (what SBCs send to HOMER) on `udp:ADDR:PORT`; repeatable.
    #[arg(long, value_name = "udp:ADDR:PORT", value_parser = parse_listen)]
    hep: Vec<(Proto, SocketAddr)>,
    /// End the session after this long: `90s`, `5m`, `1h`, or seconds (default: at Ctrl-C or SIGTERM).
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    duration: Option<Duration>,
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

/// A compiled agreement that lives as long as the process (the session's tasks borrow it), and its
/// file name as given.
fn load_static(path: &std::path::Path) -> anyhow::Result<(&'static Contract, String)> {
    let (contract, name) = super::load_contract(path)?;
    Ok((Box::leak(Box::new(contract)), name))
}

/// Prints one finding as it is made.
fn print_finding(format: LiveFormat) -> impl FnMut(&Finding) + Send {
    move |finding| {
        let mut out = std::io::stdout().lock();
        let _ = match format {
            LiveFormat::Text => writeln!(out, "{}", render::finding_text(finding)),
            LiveFormat::Jsonl => writeln!(out, "{}", render::finding_json_line(finding)),
        };
        let _ = out.flush();
    }
}

/// Prints the end of a session (the summary, then `lines` of the command's own) and gives the exit
/// status: 1 when any finding is an error, the recording failed, or `failed`.
fn finish(
    format: LiveFormat,
    report: &Report,
    record_error: Option<&RecordError>,
    lines: &[String],
    failed: bool,
) -> anyhow::Result<Outcome> {
    if let Some(e) = record_error {
        eprintln!("sipaccord: {e}");
    }
    let mut out = std::io::stdout().lock();
    match format {
        LiveFormat::Text => {
            write!(out, "{}", render::summary_text(report))?;
            for line in lines {
                writeln!(out, "{line}")?;
            }
        }
        LiveFormat::Jsonl => {
            let summary = serde_json::json!({
                "summary": report.summary,
                "errors": report.count(Level::Error),
                "warnings": report.count(Level::Warning),
                "session": lines,
            });
            writeln!(out, "{summary}")?;
        }
    }
    out.flush()?;
    Ok(if report.has_errors() || record_error.is_some() || failed { Outcome::Findings } else { Outcome::Clean })
}

/// Runs the session; exit status as replay (1 when any finding is an error).
pub fn run(args: &LiveArgs) -> anyhow::Result<Outcome> {
    let s = &args.session;
    let (contract, agreement_name) = load_static(&s.agreement)?;
    let (_, them) = session::peers(contract, &s.me, s.them.as_deref()).map_err(anyhow::Error::msg)?;
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
        agreement_file: agreement_name,
        me: s.me.clone(),
        them: them.name.clone(),
        listeners,
        record: s.record.clone(),
        duration: args.duration,
    };
    let result = session::run(
        contract,
        &options,
        |listening| eprintln!("sipaccord: live as {} toward {}, listening on {listening}", options.me, options.them),
        print_finding(s.format),
    )?;
    finish(s.format, &result.report, result.record_error.as_ref(), &[session::counters_line(&result.counters)], false)
}

/// Arguments of `sipaccord call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    #[command(flatten)]
    session: SessionArgs,
    /// The SBC to call (default: the other side's first SBC address, port 5060 unless it gives one).
    #[arg(long, value_name = "ADDR:PORT")]
    target: Option<SocketAddr>,
    /// Our address (default: our side's first SBC address, any port).
    #[arg(long, value_name = "ADDR:PORT")]
    local: Option<SocketAddr>,
    /// The transport.
    #[arg(long, value_enum, default_value_t = CallTransport::Udp)]
    transport: CallTransport,
    /// Calls to place.
    #[arg(long, value_name = "N", default_value_t = 1)]
    calls: u64,
    /// Calls started per second.
    #[arg(long, value_name = "R", default_value_t = 10.0)]
    rate: f64,
    /// Time between the ACK and our BYE.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "1s")]
    hold: Duration,
    /// How long to wait for a final response.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "32s")]
    timeout: Duration,
}

/// UDP or TCP, for `call` and `probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CallTransport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

impl From<CallTransport> for Transport {
    fn from(t: CallTransport) -> Transport {
        match t {
            CallTransport::Udp => Transport::Udp,
            CallTransport::Tcp => Transport::Tcp,
        }
    }
}

/// Our address on the interconnect: `--local`, else our first SBC address with any port.
fn local_address(given: Option<SocketAddr>, me: &Peer) -> anyhow::Result<SocketAddr> {
    match given {
        Some(a) => Ok(a),
        None => me
            .sbc
            .first()
            .map(|a| SocketAddr::new(a.ip, 0))
            .ok_or_else(|| anyhow::anyhow!("peer {} has no SBC address to send from; give --local", me.name)),
    }
}

/// Places the calls; exit 1 when a finding is an error or a call did not complete.
pub fn call(args: &CallArgs) -> anyhow::Result<Outcome> {
    let s = &args.session;
    let (contract, agreement_name) = load_static(&s.agreement)?;
    let (me, them) = session::peers(contract, &s.me, s.them.as_deref()).map_err(anyhow::Error::msg)?;
    let target = match args.target {
        Some(t) => t,
        None => them
            .sbc
            .first()
            .map(|a| SocketAddr::new(a.ip, a.port.unwrap_or(5060)))
            .ok_or_else(|| anyhow::anyhow!("peer {} has no SBC address; give --target", them.name))?,
    };
    let local = local_address(args.local, me)?;
    let composer = Arc::new(Composer::new(contract, me, them));
    let uas = Arc::new(Mutex::new(Uas::new(Composer::new(contract, me, them))));
    let options = CallOptions { calls: args.calls, rate: args.rate, hold: args.hold, timeout: args.timeout };
    let transport = Transport::from(args.transport);
    let (stats, report, record_error) = session::evaluate(
        contract,
        &agreement_name,
        s.record.as_deref(),
        print_finding(s.format),
        |events| async move {
            let endpoint = Endpoint::connect(transport, local, target, events, Some(uas)).await?;
            eprintln!(
                "sipaccord: calling {} at {} {target} from {} as {}",
                them.name,
                transport.as_str(),
                endpoint.local(),
                me.name
            );
            let endpoint = Arc::new(endpoint);
            let stats = place_calls(composer, endpoint.clone(), options).await;
            if let Ok(endpoint) = Arc::try_unwrap(endpoint) {
                endpoint.close().await;
            }
            Ok(stats)
        },
    )?;
    finish(s.format, &report, record_error.as_ref(), &[stats.line()], !stats.all_completed())
}

/// Arguments of `sipaccord probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    session: SessionArgs,
    /// Our address (default: our side's first SBC address, any port).
    #[arg(long, value_name = "ADDR:PORT")]
    local: Option<SocketAddr>,
    /// How long to wait for each answer.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "4s")]
    wait: Duration,
}

/// Probes every SBC address of the other side over each transport it allows; exit 1 when one does
/// not answer (or answers with an error-level finding).
pub fn probe(args: &ProbeArgs) -> anyhow::Result<Outcome> {
    let s = &args.session;
    let (contract, agreement_name) = load_static(&s.agreement)?;
    let (me, them) = session::peers(contract, &s.me, s.them.as_deref()).map_err(anyhow::Error::msg)?;
    let local = local_address(args.local, me)?;
    let mut transports: Vec<Transport> = them
        .transports
        .iter()
        .filter_map(|t| match t {
            AgreedTransport::Udp => Some(Transport::Udp),
            AgreedTransport::Tcp => Some(Transport::Tcp),
            _ => None,
        })
        .collect();
    if them.transports.is_empty() {
        transports = vec![Transport::Udp, Transport::Tcp];
    }
    let mut lines = Vec::new();
    let mut targets = Vec::new();
    for a in &them.sbc {
        let single = matches!((a.ip, a.prefix), (std::net::IpAddr::V4(_), 32) | (std::net::IpAddr::V6(_), 128));
        if !single {
            lines.push(format!("{a}: a range, not probed (give single SBC addresses to probe them)"));
            continue;
        }
        if a.ip.is_ipv4() != local.ip().is_ipv4() {
            lines.push(format!("{a}: not probed, our address {} is of the other IP family", local.ip()));
            continue;
        }
        for t in &transports {
            targets.push((*t, SocketAddr::new(a.ip, a.port.unwrap_or(5060))));
        }
    }
    let composer = Composer::new(contract, me, them);
    let wait = args.wait;
    let (outcomes, report, record_error) = session::evaluate(
        contract,
        &agreement_name,
        s.record.as_deref(),
        print_finding(s.format),
        |events| async move {
            let mut outcomes = Vec::new();
            for (transport, target) in targets {
                let outcome = probe_one(&composer, transport, local, target, events.clone(), wait).await;
                outcomes.push((transport, target, outcome));
            }
            Ok(outcomes)
        },
    )?;
    let mut failed = false;
    for (transport, target, outcome) in outcomes {
        let line = match outcome {
            ProbeOutcome::Answered { status, reason, round_trip } => {
                failed |= status >= 300;
                format!(
                    "{} {target}: {status} {reason} in {:.1} ms",
                    transport.as_str(),
                    round_trip.as_secs_f64() * 1000.0
                )
            }
            ProbeOutcome::NoAnswer => {
                failed = true;
                format!(
                    "{} {target}: no answer in {} s; is our address {} whitelisted by {}?",
                    transport.as_str(),
                    wait.as_secs_f64(),
                    local.ip(),
                    them.name
                )
            }
            ProbeOutcome::Failed(why) => {
                failed = true;
                format!("{} {target}: {why}", transport.as_str())
            }
        };
        lines.push(line);
    }
    finish(s.format, &report, record_error.as_ref(), &lines, failed)
}
