//! Project tasks: `cargo xtask <task>`.
#![forbid(unsafe_code)]

mod bench_capture;
mod bench_live;
mod captures;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci                     install what the tests need (Debian, as root) and run the test suite, as CI does
  bench-parse [--runs N] [ARGS...]
                         run the parser benchmark (sipaccord-sip against rsip on the same messages) N
                         times (default 1), then print its report: with several runs, each benchmark's
                         lowest median of the runs (the least disturbed on a shared machine), the highest
                         in brackets; the runs are spaced by uneven pauses; ARGS go to criterion (e.g.
                         `--measurement-time 10`)
  bench-report           print the report of the last parser benchmark run: medians as messages/s and
                         MB/s, sipaccord/rsip ratios and the issue's targets (reads target/criterion, or
                         $CARGO_TARGET_DIR/criterion)
  bench-capture [--size-mb N]... [--runs N] [--no-tshark]
                         build large realistic captures (default 100 and 300 MB) in target/bench-capture/
                         and time sipaccord messages and replay on them against reading the records with
                         pcap-file and against tshark; prints medians, messages/s, peak RSS and ratios
  bench-live [--rates R1,R2,...] [--seconds N] [--hold-ms N]
                         the highest call rate a release `sipaccord live` sustains with SIPp on loopback
                         (needs sipp): per rate, SIPp's statistics against what the session saw
  captures [NAME...]     record the project's captures (captures/telegent-acme/) with SIPp and tcpdump on
                         loopback (needs sipp and tcpdump, and root)";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    match task.as_deref() {
        Some("ci") => run("bash", &[".ci/run"]),
        Some("captures") => captures::run(&workspace_root(), &args.collect::<Vec<_>>()),
        Some("bench-parse") => bench_parse(args.collect()),
        Some("bench-capture") => bench_capture::run(&workspace_root(), &target_dir(), &args.collect::<Vec<_>>()),
        Some("bench-live") => bench_live::run(&workspace_root(), &target_dir(), &args.collect::<Vec<_>>()),
        Some("bench-report") => {
            let dir = criterion_dir();
            print!(
                "{}",
                bench_report(&dir, MEDIAN, &|group, function, message| measure(&dir, group, function, message))?
            );
            Ok(())
        }
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}

/// `cargo xtask bench-parse [--runs N] [ARGS...]`: the benchmark run N times, each benchmark's medians
/// kept from every run, and the report of the lowest.
fn bench_parse(mut args: Vec<String>) -> Result<()> {
    let mut runs = 1;
    if let Some(at) = args.iter().position(|a| a == "--runs" || a.starts_with("--runs=")) {
        let n = match args[at].strip_prefix("--runs=") {
            Some(n) => n.to_owned(),
            None => args.get(at + 1).context("--runs needs a number")?.clone(),
        };
        runs = n.parse::<usize>().ok().filter(|&n| n > 0).with_context(|| format!("--runs {n}: not a count"))?;
        args.drain(at..if args[at] == "--runs" { at + 2 } else { at + 1 });
    }
    let mut cargo_args = vec!["bench", "-p", "sipaccord-sip", "--bench", "parse"];
    if !args.is_empty() {
        cargo_args.push("--");
        cargo_args.extend(args.iter().map(String::as_str));
    }
    let dir = criterion_dir();
    let mut medians: HashMap<(String, String, String), Vec<Measure>> = HashMap::new();
    for k in 1..=runs {
        if k > 1 {
            // Uneven pauses between runs: a disturbance that comes back with about a run's period (seen
            // on the shared machine, where the same benchmarks were slow in every run) then meets other
            // benchmarks in each run.
            let pause = std::time::Duration::from_secs(7 + 17 * (k as u64 - 1) % 53);
            eprintln!("run {k} of {runs}, after a pause of {} s", pause.as_secs());
            std::thread::sleep(pause);
        }
        let started = std::time::SystemTime::now();
        run("cargo", &cargo_args)?;
        // Only what this run measured (criterion's filter may have left other results from before).
        let fresh = |group: &str, function: &str, message: &str| {
            let estimates = dir.join(group).join(function).join(message).join("new/estimates.json");
            std::fs::metadata(estimates).and_then(|m| m.modified()).is_ok_and(|t| t >= started)
        };
        let mut this_run = HashMap::new();
        for group in ["a_split", "a_frame", "a_stream", "b_typed"] {
            for function in ["sipaccord", "rsip"] {
                for message in messages(&dir, group, function) {
                    if !fresh(group, function, &message) {
                        continue;
                    }
                    if let Some(m) = measure(&dir, group, function, &message) {
                        this_run.insert((group.to_owned(), function.to_owned(), message), m);
                    }
                }
            }
        }
        if let Some(line) = lowest_ratio_of_run(&this_run) {
            eprintln!("run {k}: {line}");
        }
        for (key, m) in this_run {
            medians.entry(key).or_default().push(m);
        }
    }
    let best = |group: &str, function: &str, message: &str| {
        let all = medians.get(&(group.to_owned(), function.to_owned(), message.to_owned()))?;
        if all.len() == 1 {
            return all.first().copied();
        }
        let lowest = all.iter().copied().min_by(|a, b| a.median_ns.total_cmp(&b.median_ns))?;
        let highest = all.iter().map(|m| m.median_ns).fold(lowest.median_ns, f64::max);
        Some(Measure { median_ns: lowest.median_ns, low_ns: lowest.median_ns, high_ns: highest, bytes: lowest.bytes })
    };
    let what = match runs {
        1 => MEDIAN.to_owned(),
        _ => format!("lowest of the {runs} runs' medians per message, the lowest and highest in brackets"),
    };
    print!("{}", bench_report(&dir, &what, &best)?);
    Ok(())
}

/// A run's results, by group, function and message.
type RunResults = HashMap<(String, String, String), Measure>;

/// A run's lowest (b) ratio and its message, then every (b) ratio of the run.
fn lowest_ratio_of_run(results: &RunResults) -> Option<String> {
    let mut ratios: Vec<(f64, String)> = results
        .iter()
        .filter(|((group, function, _), _)| group == "b_typed" && function == "sipaccord")
        .filter_map(|((group, _, message), ours)| {
            let theirs = results.get(&(group.clone(), "rsip".to_owned(), message.clone()))?;
            Some((theirs.median_ns / ours.median_ns, message.clone()))
        })
        .collect();
    ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (lowest, message) = ratios.first()?;
    let all = ratios.iter().map(|(r, m)| format!("{m} {r:.1}×")).collect::<Vec<_>>().join(", ");
    Some(format!("(b) lowest {lowest:.1}× ({message}); {all}"))
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let status = Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("{program} {} failed with {status}", args.join(" "));
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where criterion keeps its results: `$CARGO_TARGET_DIR/criterion`, else `target/criterion`.
fn criterion_dir() -> PathBuf {
    target_dir().join("criterion")
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target` in the workspace.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// One criterion result: the median time of one iteration and the bytes it processed.
#[derive(Debug, Clone, Copy)]
struct Measure {
    median_ns: f64,
    low_ns: f64,
    high_ns: f64,
    bytes: u64,
}

impl Measure {
    fn msgs_per_s(&self) -> f64 {
        1e9 / self.median_ns
    }

    /// Decimal megabytes (10^6 bytes) per second.
    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.median_ns * 1e3
    }
}

/// The number after `"key":` in `text`, starting the search at `from`.
fn number_after(text: &str, key: &str, from: usize) -> Option<(f64, usize)> {
    let pattern = format!("\"{key}\":");
    let at = from + text[from..].find(&pattern)? + pattern.len();
    let rest = text[at..].trim_start();
    let end =
        rest.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))).unwrap_or(rest.len());
    Some((rest[..end].parse().ok()?, at))
}

/// Reads `criterion/<group>/<function>/<message>/new/`.
fn measure(dir: &Path, group: &str, function: &str, message: &str) -> Option<Measure> {
    let base = dir.join(group).join(function).join(message).join("new");
    let estimates = std::fs::read_to_string(base.join("estimates.json")).ok()?;
    let benchmark = std::fs::read_to_string(base.join("benchmark.json")).ok()?;
    // `"median":{ "confidence_interval": {..}, "point_estimate": .. }`; `"median_abs_dev"` does not match.
    let median_at = estimates.find("\"median\":")?;
    let (low_ns, _) = number_after(&estimates, "lower_bound", median_at)?;
    let (high_ns, _) = number_after(&estimates, "upper_bound", median_at)?;
    let (median_ns, _) = number_after(&estimates, "point_estimate", median_at)?;
    let (bytes, _) = number_after(&benchmark, "Bytes", 0)?;
    Some(Measure { median_ns, low_ns, high_ns, bytes: bytes as u64 })
}

/// Message names in a group, in the order the benchmark defines them when known.
fn messages(dir: &Path, group: &str, function: &str) -> Vec<String> {
    const ORDER: &[&str] = &[
        "invite_sdp",
        "invite",
        "ringing_180",
        "ok_200_sdp",
        "ack",
        "bye",
        "register_auth",
        "options",
        "torture_longreq",
    ];
    let mut names: Vec<String> = std::fs::read_dir(dir.join(group).join(function))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join("new/estimates.json").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort_by_key(|n| (ORDER.iter().position(|o| o == n).unwrap_or(ORDER.len()), n.clone()));
    names
}

fn cell(m: Option<Measure>) -> String {
    match m {
        Some(m) => format!(
            "{:.0} ns ({:.0}–{:.0}) | {:.0} k | {:.0}",
            m.median_ns,
            m.low_ns,
            m.high_ns,
            m.msgs_per_s() / 1e3,
            m.mb_per_s()
        ),
        None => "– | – | –".to_owned(),
    }
}

/// rsip's time over ours; without an rsip result, why: the benchmark has none for a message rsip
/// rejects, else this report's runs left it out.
fn ratio(dir: &Path, group: &str, message: &str, ours: Option<Measure>, theirs: Option<Measure>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) => format!("{:.1}×", b.median_ns / a.median_ns),
        _ if dir.join(group).join("rsip").join(message).is_dir() => "rsip not measured".to_owned(),
        _ => "rsip rejects it".to_owned(),
    }
}

/// What a report's figures are, for one run.
const MEDIAN: &str = "median per message, 95% interval in brackets";

/// Markdown tables of the figures `measure` gives (`what` says what they are), with the targets of the
/// issue checked.
fn bench_report(dir: &Path, what: &str, measure: &dyn Fn(&str, &str, &str) -> Option<Measure>) -> Result<String> {
    if !dir.join("a_split").is_dir() && !dir.join("b_typed").is_dir() {
        bail!("no benchmark results in {} (run `cargo xtask bench-parse` first)", dir.display());
    }
    let mut out = String::new();
    let _ = writeln!(out, "Results from {} ({what};", dir.display());
    let _ = writeln!(out, "k msgs/s = thousand messages per second; MB/s = 10^6 bytes per second)\n");

    let _ = writeln!(out, "(a) framing and header split\n");
    let _ = writeln!(
        out,
        "| message | bytes | Message::parse | k msgs/s | MB/s | frame_stream | k msgs/s | MB/s | rsip try_from | k msgs/s | MB/s | parse vs rsip |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut a_invite = None;
    for name in messages(dir, "a_split", "sipaccord") {
        let ours = measure("a_split", "sipaccord", &name);
        if ours.is_none() {
            continue; // not measured in this report's runs (a filter left it out)
        }
        let frame = measure("a_frame", "sipaccord", &name);
        let theirs = measure("a_split", "rsip", &name);
        if name == "invite" {
            a_invite = ours;
        }
        let bytes = ours.map_or(0, |m| m.bytes);
        let _ = writeln!(
            out,
            "| {name} | {bytes} | {} | {} | {} | {} |",
            cell(ours),
            cell(frame),
            cell(theirs),
            ratio(dir, "a_split", &name, ours, theirs)
        );
    }
    for name in messages(dir, "a_stream", "sipaccord") {
        if let Some(m) = measure("a_stream", "sipaccord", &name) {
            let _ = writeln!(
                out,
                "\nStream ({name}, frame_stream + parse_stream each): {} B in {:.0} ns = {:.0} MB/s",
                m.bytes,
                m.median_ns,
                m.mb_per_s()
            );
        }
    }

    let _ = writeln!(out, "\n(b) parse + Via branch, From tag, To tag, Call-ID, CSeq\n");
    let _ =
        writeln!(out, "| message | bytes | sipaccord | k msgs/s | MB/s | rsip | k msgs/s | MB/s | sipaccord vs rsip |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut min_ratio: Option<(f64, String)> = None;
    for name in messages(dir, "b_typed", "sipaccord") {
        let ours = measure("b_typed", "sipaccord", &name);
        if ours.is_none() {
            continue; // not measured in this report's runs (a filter left it out)
        }
        let theirs = measure("b_typed", "rsip", &name);
        if let (Some(a), Some(b)) = (ours, theirs) {
            let r = b.median_ns / a.median_ns;
            if min_ratio.as_ref().is_none_or(|(m, _)| r < *m) {
                min_ratio = Some((r, name.clone()));
            }
        }
        let bytes = ours.map_or(0, |m| m.bytes);
        let _ = writeln!(
            out,
            "| {name} | {bytes} | {} | {} | {} |",
            cell(ours),
            cell(theirs),
            ratio(dir, "b_typed", &name, ours, theirs)
        );
    }

    let _ = writeln!(out, "\nTargets");
    match a_invite {
        Some(m) => {
            let verdict = if m.mb_per_s() >= 1000.0 { "met" } else { "MISSED" };
            let _ = writeln!(
                out,
                "- (a) > 1 GB/s on the ~500-byte INVITE: {:.0} MB/s ({} B in {:.0} ns): {verdict}",
                m.mb_per_s(),
                m.bytes,
                m.median_ns
            );
        }
        None => {
            let _ = writeln!(out, "- (a) no result for the `invite` message");
        }
    }
    match min_ratio {
        Some((r, name)) => {
            let verdict = if r >= 10.0 { "met" } else { "MISSED" };
            let _ = writeln!(out, "- (b) at least 10× rsip on every message: lowest {r:.1}× ({name}): {verdict}");
        }
        None => {
            let _ = writeln!(out, "- (b) no rsip results to compare with");
        }
    }
    Ok(out)
}
