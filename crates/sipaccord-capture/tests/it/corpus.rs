//! Every capture of `../shared/corpus/MANIFEST.tsv` against the messages tshark lists for it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sipaccord_capture::{CaptureReader, OtherTraffic, Outcome, SipMessage, SkipReason};

/// The shared corpus directory (test data under other licenses, read in place).
pub fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(
        dir.join("MANIFEST.tsv").is_file(),
        "the shared corpus is missing: expected {} (with MANIFEST.tsv) beside the workspace",
        dir.display()
    );
    dir
}

/// (method or status, Call-ID, CSeq) as tshark prints them.
type Key = (String, String, String);

fn key_of(m: &SipMessage) -> Option<Key> {
    let parsed = m.parse().ok()?;
    let first = match (parsed.method(), parsed.status()) {
        (Some(method), _) => method.to_string(),
        (_, Some(code)) => code.to_string(),
        _ => return None,
    };
    let raw =
        |name: &str| parsed.header(name).map(|h| String::from_utf8_lossy(h.value).into_owned()).unwrap_or_default();
    Some((first, raw("Call-ID"), raw("CSeq")))
}

fn expected(path: &std::path::Path) -> Vec<Key> {
    expected_rows(path).into_iter().map(|(_, k)| k).collect()
}

fn expected_rows(path: &std::path::Path) -> Vec<(u64, Key)> {
    let mut tsv = path.as_os_str().to_owned();
    tsv.push(".sip.tsv");
    let text = std::fs::read(&tsv).unwrap_or_else(|e| panic!("{}: {e}", PathBuf::from(&tsv).display()));
    String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let col = |i: usize| cols.get(i).copied().unwrap_or("").to_string();
            (col(0).parse().unwrap_or(0), (col(1), col(2), col(3)))
        })
        .collect()
}

fn multiset(keys: impl IntoIterator<Item = Key>) -> BTreeMap<Key, i64> {
    let mut m = BTreeMap::new();
    for k in keys {
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

/// Differences between two multisets, as readable lines.
fn diff(want: &BTreeMap<Key, i64>, got: &BTreeMap<Key, i64>) -> Vec<String> {
    let mut lines = Vec::new();
    for (k, &n) in want {
        let g = got.get(k).copied().unwrap_or(0);
        if g < n {
            lines.push(format!("missing {}x {k:?}", n - g));
        }
    }
    for (k, &n) in got {
        let w = want.get(k).copied().unwrap_or(0);
        if n > w {
            lines.push(format!("unexpected {}x {k:?}", n - w));
        }
    }
    lines
}

/// Checks one capture; returns the problems found (empty when it passes).
fn check(dir: &std::path::Path, name: &str, mode: &str) -> Vec<String> {
    let path = dir.join(name);
    let mut reader = match CaptureReader::open(&path) {
        Ok(r) => r,
        Err(e) => return vec![format!("open: {e}")],
    };
    let mut messages = Vec::new();
    let mut problems = Vec::new();
    for item in &mut reader {
        match item {
            Ok(m) => messages.push(m),
            Err(e) => problems.push(format!("error: {e}")),
        }
    }
    let summary = reader.summary().clone();
    let want = expected(&path);
    if std::env::var_os("CORPUS_DEBUG").is_some_and(|v| v == "summaries") {
        eprintln!(
            "{name}: messages {} invalid {} malformed {} flows {} skipped {} unusable {:?} other {:?}",
            summary.messages,
            summary.invalid,
            summary.malformed,
            summary.flows,
            summary.skipped_streams.len(),
            summary.unusable,
            summary.other
        );
    }
    if std::env::var_os("CORPUS_DEBUG").is_some_and(|v| v == name) {
        for m in &messages {
            eprintln!("{} {:?} {:?} {:?}", m.frame, m.outcome, m.first_line(), key_of(m));
        }
        eprintln!("{summary:#?}");
    }
    match mode {
        "exact" => {
            for m in messages.iter().filter(|m| !m.is_parsed()) {
                problems.push(format!("frame {} malformed: {:?} {:?}", m.frame, m.outcome, m.first_line()));
            }
            let got = multiset(messages.iter().filter_map(key_of));
            problems.extend(diff(&multiset(want), &got));
            // Frames too: each message is reported at the frame that completed it, as tshark does.
            let mut want_frames: Vec<u64> = expected_rows(&path).iter().map(|(f, _)| *f).collect();
            let mut got_frames: Vec<u64> = messages.iter().map(|m| m.frame).collect();
            want_frames.sort_unstable();
            got_frames.sort_unstable();
            if want_frames != got_frames {
                let extra: Vec<_> = got_frames.iter().filter(|f| !want_frames.contains(f)).collect();
                let missing: Vec<_> = want_frames.iter().filter(|f| !got_frames.contains(f)).collect();
                problems.push(format!("frames differ: missing {missing:?}, unexpected {extra:?}"));
            }
        }
        "malformed" => {
            // Each message tshark lists must be found at its frame: with the same key when it is
            // well-formed, otherwise reported as malformed or invalid with a reason.
            let rows = expected_rows(&path);
            for (frame, key) in &rows {
                let at: Vec<_> = messages.iter().filter(|m| m.frame == *frame).collect();
                if at.is_empty() {
                    problems.push(format!("frame {frame}: {key:?} not found"));
                }
                for m in at {
                    match &m.outcome {
                        Outcome::WellFormed => {
                            if rows.iter().all(|(f, k)| *f != m.frame || Some(k) != key_of(m).as_ref()) {
                                problems.push(format!("frame {frame}: well-formed {:?}, tshark {key:?}", key_of(m)));
                            }
                        }
                        Outcome::Invalid(reason) | Outcome::Malformed(reason) => {
                            if reason.is_empty() {
                                problems.push(format!("frame {}: reported without a reason", m.frame));
                            }
                        }
                    }
                }
            }
            if messages.iter().all(|m| m.is_well_formed()) {
                problems.push("no message reported as malformed".into());
            }
            let _ = want;
        }
        "none" => {
            if !messages.is_empty() {
                problems.push(format!("{} SIP messages, expected none", messages.len()));
            }
            // TLS captures must name the encrypted streams; the others must count non-SIP TCP.
            let not_sip = summary.other.get(&OtherTraffic::TcpNotSip).copied().unwrap_or(0);
            if name.to_ascii_lowercase().contains("tls") {
                if !summary.skipped_streams.iter().any(|s| s.reason == SkipReason::Tls) {
                    problems.push(format!("no TLS stream reported as skipped: {summary:?}"));
                }
            } else if not_sip == 0 {
                problems.push(format!("no reason given for finding no SIP: {summary:?}"));
            }
        }
        other => problems.push(format!("unknown match mode {other}")),
    }
    problems
}

/// Captures that do not pass yet, with the reason. The test asserts this list exactly, so it fails
/// both when one of these starts passing (remove it here) and when another capture starts failing.
const KNOWN_GAPS: &[(&str, &str)] = &[];

#[test]
fn corpus_matches_tshark() {
    let dir = corpus_dir();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("read MANIFEST.tsv");
    let mut failing = Vec::new();
    let mut report = String::new();
    let mut total = 0;
    for line in manifest.lines() {
        if line.starts_with('#') || line.starts_with("path\t") || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let (name, mode) = (cols[0], cols[1]);
        total += 1;
        let problems = check(&dir, name, mode);
        if !problems.is_empty() {
            failing.push(name.to_string());
            report.push_str(&format!("\n== {name} ({mode})\n"));
            for p in problems.iter().take(12) {
                report.push_str(&format!("   {p}\n"));
            }
            if problems.len() > 12 {
                report.push_str(&format!("   ... and {} more\n", problems.len() - 12));
            }
        }
    }
    assert_eq!(total, 45, "MANIFEST.tsv lists 45 captures");
    let known: Vec<String> = KNOWN_GAPS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(failing, known, "captures failing differ from the known gaps:{report}");
}
