//! `sipaccord replay` on the project's own captures (`captures/telegent-acme/`, recorded with SIPp by
//! `cargo xtask captures`) against `fixtures/interop/telegent-acme.agreement`. Every report is an insta
//! snapshot, so a change in verdicts is a reviewable diff; each violation capture also asserts the
//! finding it was recorded for.

use crate::{sipaccord, stdout};

const AGREEMENT: &str = "fixtures/interop/telegent-acme.agreement";

fn replay_json(capture: &str) -> (Option<i32>, serde_json::Value) {
    let out =
        sipaccord(&["replay", "-a", AGREEMENT, "--format", "json", &format!("captures/telegent-acme/{capture}.pcap")]);
    (out.status.code(), serde_json::from_str(&stdout(&out)).expect("the JSON report parses"))
}

#[test]
fn every_capture_report_is_snapshotted() {
    let mut captures: Vec<String> = std::fs::read_dir(crate::workspace_root().join("captures/telegent-acme"))
        .expect("captures/telegent-acme exists")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap"))
        .collect();
    captures.sort();
    assert_eq!(captures.len(), 14);
    for capture in captures {
        let path = format!("captures/telegent-acme/{capture}");
        let out = sipaccord(&["replay", "-a", AGREEMENT, &path]);
        let expected_exit = if capture.starts_with("conforming-") { 0 } else { 1 };
        assert_eq!(out.status.code(), Some(expected_exit), "{capture}: {}", stdout(&out));
        insta::assert_snapshot!(capture.trim_end_matches(".pcap"), stdout(&out));
    }
}

/// Each violation capture and the finding it was made for: capture, kind, agreement line of the rule,
/// frames (the offending message first, then a partner leg).
const INTENDED: &[(&str, &str, Option<u64>, &[u64])] = &[
    ("missing-required-header", "missing-header", Some(57), &[1]),
    ("forbidden-header", "forbidden-header", Some(60), &[1]),
    ("bad-value", "bad-value", Some(21), &[1]),
    ("too-many-values", "too-many-values", Some(21), &[1]),
    ("missing-echo", "missing-echo", Some(69), &[2]),
    ("failed-conditional-rule", "missing-header", Some(64), &[1]),
    ("missing-hairpin-leg", "no-partner-leg", Some(76), &[1]),
    ("wrong-hairpin-leg", "unsatisfied", Some(80), &[7, 1]),
    ("unknown-source", "unknown-source", None, &[1]),
    ("media-outside", "media-outside", Some(11), &[1]),
    ("malformed-message", "malformed", None, &[1]),
];

#[test]
fn each_violation_capture_yields_the_finding_it_was_made_for() {
    for (capture, kind, rule_line, frames) in INTENDED {
        let (code, report) = replay_json(capture);
        assert_eq!(code, Some(1), "{capture}");
        let findings = report["findings"].as_array().expect("findings");
        let first = &findings[0];
        assert_eq!(first["kind"], *kind, "{capture}: {first:#}");
        assert_eq!(first["level"], "error", "{capture}");
        assert_eq!(first["rule"]["line"].as_u64(), *rule_line, "{capture}: {first:#}");
        assert_eq!(first["frames"], serde_json::json!(frames), "{capture}");
        assert!(first["call_id"].is_string(), "{capture}");
    }
}

#[test]
fn conforming_captures_have_no_findings_and_count_what_was_seen() {
    let (code, report) = replay_json("conforming-hairpin");
    assert_eq!(code, Some(0));
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(report["summary"]["messages"], 12);
    assert_eq!(report["summary"]["dialogs"], 2);
    assert_eq!(report["summary"]["directions"]["acme -> telegent"], 6);
    assert_eq!(report["summary"]["directions"]["telegent -> acme"], 6);
}

#[test]
fn several_captures_are_one_stream_of_evidence() {
    // The two legs of a hairpin, given as separate captures of the same session, still pair up.
    let out = sipaccord(&[
        "replay",
        "-a",
        AGREEMENT,
        "captures/telegent-acme/conforming-udp.pcap",
        "captures/telegent-acme/conforming-tcp.pcap",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("messages: 12 (acme -> telegent: 6, telegent -> acme: 6)"), "{}", stdout(&out));
}

#[test]
fn junit_has_a_suite_per_capture_and_a_failure_per_error() {
    let out = sipaccord(&[
        "replay",
        "-a",
        AGREEMENT,
        "--format",
        "junit",
        "captures/telegent-acme/missing-required-header.pcap",
        "captures/telegent-acme/conforming-udp.pcap",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    assert_eq!(xml.matches("<failure ").count(), 1);
    assert!(
        xml.contains(
            "<testsuite name=\"captures/telegent-acme/missing-required-header.pcap\" tests=\"16\" failures=\"1\""
        ),
        "{xml}"
    );
    assert!(xml.contains("type=\"missing-header\""));
    insta::assert_snapshot!(xml);
}

#[test]
fn junit_reports_validate_against_the_junit_schema() {
    // docs/junit.xsd, checked with xmllint (Debian libxml2-utils; .ci/run installs it).
    let xmllint = std::process::Command::new("xmllint").arg("--version").output();
    assert!(xmllint.is_ok(), "this test needs xmllint (apt-get install libxml2-utils); .ci/run installs it");
    let dir = std::env::temp_dir().join(format!("sipaccord-junit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let captures: Vec<String> =
        ["missing-echo", "wrong-hairpin-leg", "forbidden-header", "malformed-message", "conforming-tcp"]
            .iter()
            .map(|c| format!("captures/telegent-acme/{c}.pcap"))
            .collect();
    for (i, capture) in captures.iter().enumerate() {
        let report = dir.join(format!("{i}.xml"));
        let out =
            sipaccord(&["replay", "-a", AGREEMENT, "--format", "junit", "--output", report.to_str().unwrap(), capture]);
        assert!(out.status.code() == Some(0) || out.status.code() == Some(1));
        let schema = crate::workspace_root().join("docs/junit.xsd");
        let check = std::process::Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(&schema)
            .arg(&report)
            .output()
            .expect("run xmllint");
        assert!(check.status.success(), "{capture}: {}", String::from_utf8_lossy(&check.stderr));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn html_report_is_one_well_formed_page_with_every_finding() {
    // Well-formedness checked with xmllint (the page uses XHTML syntax); .ci/run installs it.
    let out = sipaccord(&[
        "replay",
        "-a",
        AGREEMENT,
        "--format",
        "html",
        "captures/telegent-acme/missing-echo.pcap",
        "captures/telegent-acme/wrong-hairpin-leg.pcap",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let page = stdout(&out);
    assert_eq!(page.matches("<article class=\"error\">").count(), 3, "{page}");
    assert!(page.contains("frame 7 (partner leg: frame 1)"), "{page}");
    assert!(page.contains("<span class=\"verdict fail\">3 errors, 0 warnings</span>"), "{page}");
    let dir = std::env::temp_dir().join(format!("sipaccord-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.html");
    std::fs::write(&file, &page).unwrap();
    let check = std::process::Command::new("xmllint").arg("--noout").arg(&file).output().expect("run xmllint");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
    insta::assert_snapshot!(page);
}

#[test]
fn output_file_and_unusable_inputs() {
    let dir = std::env::temp_dir().join(format!("sipaccord-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("report.json");
    let out = sipaccord(&[
        "replay",
        "-a",
        AGREEMENT,
        "--format",
        "json",
        "--output",
        report.to_str().unwrap(),
        "captures/telegent-acme/conforming-udp.pcap",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(written["summary"]["messages"], 6);
    let bad = dir.join("bad.agreement");
    std::fs::write(&bad, "agreement \"x\" version 1\npeer a { sbc 300.1.1.1 }\n").unwrap();
    let out = sipaccord(&["replay", "-a", bad.to_str().unwrap(), "captures/telegent-acme/conforming-udp.pcap"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().last().unwrap().starts_with("sipaccord: "), "{stderr}");
    let out = sipaccord(&["replay", "-a", AGREEMENT, "no-such.pcap"]);
    assert_eq!(out.status.code(), Some(2));
}
