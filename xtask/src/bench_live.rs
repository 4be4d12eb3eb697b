//! `cargo xtask bench-live`: the highest call rate `sipaccord live` sustains with no message lost.
//!
//! For each rate of a ladder, SIPp (Debian's sip-tester) places calls from Acme's loopback address for
//! a fixed time with the scenario `sipaccord scenario` writes, against a release build of
//! `sipaccord live` acting as Telegent and recording the session. A rate passes when every call
//! succeeded in SIPp's own statistics, every request SIPp sent (3 per call plus its retransmissions)
//! was seen and evaluated by the session, and there are no findings.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

const AGREEMENT: &str = "fixtures/interop/telegent-acme.agreement";

struct Options {
    rates: Vec<u32>,
    seconds: u32,
    hold_ms: u32,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut o = Options { rates: vec![500, 1000, 1500, 2000, 2500, 3000, 4000], seconds: 10, hold_ms: 500 };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--rates" => o.rates = value()?.split(',').map(|r| r.trim().parse()).collect::<Result<_, _>>()?,
            "--seconds" => o.seconds = value()?.parse()?,
            "--hold-ms" => o.hold_ms = value()?.parse()?,
            other => bail!("unknown option {other}: --rates R1,R2,... --seconds N --hold-ms N"),
        }
    }
    Ok(o)
}

/// One rate's outcome.
struct Step {
    rate: u32,
    calls: u64,
    successful: u64,
    failed: u64,
    sipp_requests: u64,
    retransmissions: u64,
    seen_requests: u64,
    findings: usize,
    wall: Duration,
    live_cpu: Duration,
}

impl Step {
    fn passed(&self) -> bool {
        self.successful == self.calls
            && self.failed == 0
            && self.seen_requests == self.sipp_requests
            && self.findings == 0
    }
}

pub fn run(root: &Path, target: &Path, args: &[String]) -> Result<()> {
    let options = parse_args(args)?;
    let status = Command::new("cargo")
        .args(["build", "--release", "-p", "sipaccord"])
        .current_dir(root)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    let binary = target.join("release/sipaccord");
    let dir = target.join("bench-live");
    std::fs::create_dir_all(&dir)?;
    let scenario = dir.join("acme.xml");
    let out = Command::new(&binary)
        .args(["scenario", "-a", AGREEMENT, "--as", "acme", "--hold", &format!("{}ms", options.hold_ms), "-o"])
        .arg(&scenario)
        .current_dir(root)
        .output()?;
    if !out.status.success() {
        bail!("sipaccord scenario failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    println!(
        "machine: {} cores; SIPp and sipaccord share them",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| rate (calls/s) | calls | SIPp successful | SIPp requests (retrans.) | seen by live | findings | live CPU | verdict |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut best = None;
    for (i, rate) in options.rates.iter().enumerate() {
        let step = one_rate(root, &binary, &dir, &scenario, *rate, options.seconds, 5300 + 2 * i as u16)?;
        println!(
            "| {} | {} | {} | {} ({}) | {} | {} | {:.1} s of {:.1} s | {} |",
            step.rate,
            step.calls,
            step.successful,
            step.sipp_requests,
            step.retransmissions,
            step.seen_requests,
            step.findings,
            step.live_cpu.as_secs_f64(),
            step.wall.as_secs_f64(),
            if step.passed() { "no loss" } else { "LOSS or failures" }
        );
        if step.passed() {
            best = Some(step.rate);
        }
    }
    match best {
        Some(r) => println!("highest rate with every call completed and no message lost: {r} calls/s"),
        None => println!("no rate passed"),
    }
    Ok(())
}

fn one_rate(
    root: &Path,
    binary: &Path,
    dir: &Path,
    scenario: &Path,
    rate: u32,
    seconds: u32,
    port: u16,
) -> Result<Step> {
    let recording = dir.join(format!("live-{rate}.pcapng"));
    let listen = format!("udp:127.0.10.1:{port}");
    let mut live = Command::new(binary)
        .args(["live", "-a", AGREEMENT, "--as", "telegent", "--listen", &listen, "--format", "jsonl", "--record"])
        .arg(&recording)
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("start sipaccord live")?;
    let mut first = String::new();
    BufReader::new(live.stderr.as_mut().expect("piped")).read_line(&mut first)?;
    if !first.contains("listening on") {
        bail!("sipaccord live did not start: {first}");
    }
    let calls = u64::from(rate) * u64::from(seconds);
    let stat = dir.join(format!("sipp-{rate}.csv"));
    let _ = std::fs::remove_file(&stat);
    let started = Instant::now();
    let sipp = Command::new("sipp")
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.20.1", "-p", &(port + 1).to_string(), "-m", &calls.to_string(), "-r", &rate.to_string()])
        .args([
            "-l",
            "100000",
            "-nostdin",
            "-timeout",
            &format!("{}s", seconds * 3 + 30),
            "-trace_stat",
            "-fd",
            "1",
            "-stf",
        ])
        .arg(&stat)
        .arg(format!("127.0.10.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("cannot run sipp (Debian's sip-tester)")?;
    let wall = started.elapsed();
    let _ = sipp;
    std::thread::sleep(Duration::from_millis(500));
    let live_cpu = cpu_time(live.id()).unwrap_or_default();
    Command::new("kill").args(["-TERM", &live.id().to_string()]).status()?;
    let mut stdout = String::new();
    live.stdout.take().expect("piped").read_to_string(&mut stdout)?;
    live.wait()?;
    let lines: Vec<serde_json::Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let summary = lines.last().context("sipaccord live printed no summary")?;
    let seen_requests = summary["summary"]["directions"]["acme -> telegent"].as_u64().unwrap_or(0);
    let counters = sipp_counters(&stat)?;
    let get = |k: &str| counters.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let retransmissions = get("Retransmissions(C)");
    let successful = get("SuccessfulCall(C)");
    let _ = std::fs::remove_file(&recording);
    Ok(Step {
        rate,
        calls,
        successful,
        failed: get("FailedCall(C)"),
        // INVITE, ACK and BYE per call that got that far, and every retransmission.
        sipp_requests: 3 * successful + retransmissions,
        retransmissions,
        seen_requests,
        findings: lines.len() - 1,
        wall,
        live_cpu,
    })
}

/// User plus system CPU time of a process, from /proc.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn sipp_counters(stat: &Path) -> Result<HashMap<String, String>> {
    let text =
        std::fs::read_to_string(stat).with_context(|| format!("SIPp wrote no statistics to {}", stat.display()))?;
    let mut rows = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = rows.next().context("no header row")?.split(';').collect();
    let last: Vec<&str> = rows.next_back().context("no data row")?.split(';').collect();
    Ok(header.iter().zip(last).map(|(h, v)| (h.to_string(), v.to_string())).collect())
}
