//! Live sessions with SIPp as the real partner, on loopback addresses only: `sipaccord live` answering
//! SIPp scenarios written by `sipaccord scenario`, `sipaccord call` against a SIPp UAS, `probe`, HEP
//! mirroring, bad input, and a load run. Every recorded session is replayed and must give the same
//! findings as the live session.
//!
//! The agreement is `fixtures/interop/telegent-acme.agreement`: Telegent's SBC is 127.0.10.1 and
//! Acme's 127.0.20.1 (any port); 127.0.30.1 belongs to no peer. Each test uses its own ports so tests
//! can run in parallel. SIPp comes from Debian's `sip-tester` (`.ci/run` installs it).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::{sipaccord, stdout, workspace_root};

const AGREEMENT: &str = "fixtures/interop/telegent-acme.agreement";
const TELEGENT: &str = "127.0.10.1";
const ACME: &str = "127.0.20.1";

/// A scratch directory for one test's recordings and scenarios.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sipaccord-live-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// A running `sipaccord live`.
struct Live {
    child: Child,
    stderr: mpsc::Receiver<String>,
}

/// What a live session printed when it ended.
struct Ended {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ended {
    /// The JSON lines of a `--format jsonl` session: findings, then the summary.
    fn jsonl(&self) -> (Vec<Value>, Value) {
        let mut lines: Vec<Value> =
            self.stdout.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
        let summary = lines.pop().expect("a summary line");
        assert!(summary.get("summary").is_some(), "the last line is the summary: {summary}");
        (lines, summary)
    }
}

impl Live {
    /// Starts a session as Telegent and waits until it listens.
    fn start(args: &[&str]) -> Live {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sipaccord"))
            .args(["live", "-a", AGREEMENT, "--as", "telegent"])
            .args(args)
            .current_dir(workspace_root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sipaccord live");
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(30)).expect("sipaccord live prints a line when it listens");
        assert!(first.contains("listening on"), "unexpected first line: {first}");
        Live { child, stderr: rx }
    }

    /// Whether the process is still running.
    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll sipaccord live").is_none()
    }

    /// Ends the session with SIGTERM, as a service manager would, and collects its output.
    fn stop(mut self) -> Ended {
        // Let the last packets reach the monitor.
        std::thread::sleep(Duration::from_millis(300));
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("run kill");
        assert!(status.success());
        let mut out = String::new();
        self.child.stdout.take().expect("piped stdout").read_to_string(&mut out).expect("read stdout");
        let code = self.child.wait().expect("wait for sipaccord live").code();
        let stderr: Vec<String> = self.stderr.try_iter().collect();
        Ended { code, stdout: out, stderr: stderr.join("\n") }
    }
}

/// Runs SIPp in the foreground; fails the test with a clear message if SIPp is not installed.
fn sipp(args: &[&str]) -> Output {
    Command::new("sipp")
        .args(args)
        .args(["-nostdin", "-timeout", "60s", "-timeout_error"])
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run sipp ({e}): install Debian's sip-tester; .ci/run does"))
}

/// Writes the scenario `sipaccord scenario` makes for Acme (optionally breaking one rule).
fn scenario(dir: &Path, name: &str, violate: Option<&str>) -> String {
    let path = dir.join(format!("{name}.xml"));
    let path_text = path.display().to_string();
    let mut args = vec!["scenario", "-a", AGREEMENT, "--as", "acme", "--hold", "100ms", "-o", &path_text];
    if let Some(v) = violate {
        args.extend(["--violate", v]);
    }
    let out = sipaccord(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    path_text
}

/// Replays a recording; returns its JSON report.
fn replay(recording: &Path) -> Value {
    let out = sipaccord(&["replay", "-a", AGREEMENT, "--format", "json", &recording.display().to_string()]);
    serde_json::from_str(&stdout(&out)).expect("the JSON report parses")
}

/// The live findings and summary equal those of a replay of the recording.
fn assert_same_as_replay(live: &[Value], summary: &Value, recording: &Path) {
    let replayed = replay(recording);
    assert_eq!(replayed["findings"].as_array().expect("findings"), live, "live findings differ from the replay's");
    assert_eq!(replayed["summary"], summary["summary"], "live summary differs from the replay's");
}

fn sipp_ok(out: &Output, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: SIPp failed\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn scenario_is_snapshotted() {
    let out = sipaccord(&["scenario", "-a", AGREEMENT, "--as", "acme", "--hold", "100ms"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("scenario-acme", stdout(&out));
    let broken = sipaccord(&["scenario", "-a", AGREEMENT, "--as", "acme", "--violate", "65"]);
    let text = stdout(&broken);
    assert!(text.contains("INVITE sip:15550100001@[remote_ip]"), "ruri.user is broken: {text}");
    assert!(text.contains("X-Hairpin: fmc"), "the rule's condition is made true: {text}");
}

#[test]
fn scenario_rejects_what_it_cannot_break() {
    let none = sipaccord(&["scenario", "-a", AGREEMENT, "--as", "acme", "--violate", "1"]);
    assert_eq!(none.status.code(), Some(2));
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(err.contains("no rule, obligation or header declaration starts on line 1"), "{err}");
    assert!(err.contains("57, 58"), "lists the lines that can be broken: {err}");
    let correlation = sipaccord(&["scenario", "-a", AGREEMENT, "--as", "telegent", "--violate", "80"]);
    assert_eq!(correlation.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&correlation.stderr).contains("correlation"));
    let response_rule = sipaccord(&["scenario", "-a", AGREEMENT, "--as", "telegent", "--violate", "69"]);
    assert_eq!(response_rule.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&response_rule.stderr).contains("selects none of the scenario's requests"));
    let peer = sipaccord(&["scenario", "-a", AGREEMENT, "--as", "nobody"]);
    assert_eq!(peer.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&peer.stderr).contains("no peer `nobody`"));
}

#[test]
fn live_refuses_what_it_cannot_use_with_exit_2() {
    let busy = UdpSocket::bind("127.0.10.1:5198").expect("take the port first");
    let out = sipaccord(&["live", "-a", AGREEMENT, "--as", "telegent", "--listen", "udp:127.0.10.1:5198"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "sipaccord: cannot listen on udp:127.0.10.1:5198: Address already in use (os error 98)"
    );
    drop(busy);
    let cases: [(&[&str], &str); 4] = [
        (&["--as", "nobody", "--listen", "udp:127.0.10.1:5197"], "no peer `nobody`"),
        (
            &["--as", "telegent", "--listen", "udp:127.0.10.1:5197", "--record", "/nonexistent/x.pcapng"],
            "cannot write the recording /nonexistent/x.pcapng",
        ),
        (&["--as", "telegent", "--listen", "sctp:127.0.10.1:5197"], "`sctp` is not a transport here"),
        (&["--as", "telegent", "--listen", "udp:127.0.10.1:5197", "--duration", "soon"], "is not a duration"),
    ];
    for (args, reason) in cases {
        let mut all = vec!["live", "-a", AGREEMENT];
        all.extend_from_slice(args);
        let out = sipaccord(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(reason),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn conforming_calls_over_udp_and_tcp_have_no_findings() {
    let dir = scratch("conforming");
    let recording = dir.join("session.pcapng");
    let xml = scenario(&dir, "acme", None);
    let live = Live::start(&[
        "--listen",
        "udp:127.0.10.1:5101",
        "--listen",
        "tcp:127.0.10.1:5101",
        "--record",
        &recording.display().to_string(),
        "--format",
        "jsonl",
    ]);
    let udp = sipp(&["-sf", &xml, "-i", ACME, "-p", "5102", "-m", "5", "-r", "20", "127.0.10.1:5101"]);
    sipp_ok(&udp, "UDP calls");
    let tcp = sipp(&["-sf", &xml, "-i", ACME, "-p", "5103", "-t", "t1", "-m", "3", "-r", "20", "127.0.10.1:5101"]);
    sipp_ok(&tcp, "TCP calls");
    let ended = live.stop();
    assert_eq!(ended.code, Some(0), "{}\n{}", ended.stdout, ended.stderr);
    let (findings, summary) = ended.jsonl();
    assert_eq!(findings, Vec::<Value>::new());
    // Eight calls of seven messages: INVITE, 100, 180, 200, ACK, BYE, 200.
    assert_eq!(summary["summary"]["messages"], 56);
    assert_eq!(summary["summary"]["dialogs"], 8);
    assert_eq!(summary["summary"]["directions"]["acme -> telegent"], 24);
    assert_eq!(summary["summary"]["directions"]["telegent -> acme"], 32);
    assert_same_as_replay(&findings, &summary, &recording);
}

/// Each rule broken by `sipaccord scenario --violate`, the transport it is sent over, the finding kind
/// and level it must give, and whether the call also opens the hairpin correlation (line 76): rules
/// 64 and 65 only apply when `X-Hairpin == "fmc"`, so the scenario sets it, and the live UAS does not
/// place the hairpin's second leg, which the correlation then reports as missing.
const VIOLATIONS: &[(&str, &str, &str, &str, bool)] = &[
    ("57", "udp", "missing-header", "error", false),
    ("58", "tcp", "missing-header", "error", false),
    ("59", "udp", "missing-header", "warning", false),
    ("60", "udp", "forbidden-header", "error", false),
    ("64", "tcp", "missing-header", "error", true),
    ("65", "udp", "unsatisfied", "error", true),
    ("28", "tcp", "bad-value", "error", false),
];

#[test]
fn each_violation_gives_exactly_its_finding() {
    let dir = scratch("violations");
    let recording = dir.join("session.pcapng");
    let live = Live::start(&[
        "--listen",
        "udp:127.0.10.1:5111",
        "--listen",
        "tcp:127.0.10.1:5111",
        "--record",
        &recording.display().to_string(),
        "--format",
        "jsonl",
    ]);
    for (i, (line, transport, _, _, _)) in VIOLATIONS.iter().enumerate() {
        let xml = scenario(&dir, &format!("violate-{line}"), Some(line));
        let port = (5120 + i).to_string();
        let mut args = vec!["-sf", &xml, "-i", ACME, "-p", &port, "-m", "1", "127.0.10.1:5111"];
        if *transport == "tcp" {
            args.extend(["-t", "t1"]);
        }
        sipp_ok(&sipp(&args), &format!("--violate {line}"));
    }
    let ended = live.stop();
    assert_eq!(ended.code, Some(1), "error findings make exit 1");
    let (findings, summary) = ended.jsonl();
    let mut hairpins = 0;
    for (i, (line, _, kind, level, hairpin)) in VIOLATIONS.iter().enumerate() {
        let src = format!("{ACME}:{}", 5120 + i);
        let from_this_call: Vec<&Value> = findings.iter().filter(|f| f["src"] == src.as_str()).collect();
        let for_rule: Vec<&&Value> = from_this_call
            .iter()
            .filter(|f| f["rule"]["line"].as_u64().map(|l| l.to_string()).as_deref() == Some(*line))
            .collect();
        assert_eq!(for_rule.len(), 1, "--violate {line}: one finding for the rule, got {from_this_call:#?}");
        assert_eq!(for_rule[0]["kind"], *kind, "--violate {line}");
        assert_eq!(for_rule[0]["level"], *level, "--violate {line}");
        let others: Vec<&&Value> = from_this_call.iter().filter(|f| f["rule"] != for_rule[0]["rule"]).collect();
        if *hairpin {
            hairpins += 1;
            assert_eq!(others.len(), 1, "--violate {line}: {others:#?}");
            assert_eq!(
                (others[0]["kind"].as_str(), others[0]["rule"]["line"].as_u64()),
                (Some("no-partner-leg"), Some(76))
            );
        } else {
            assert_eq!(others, Vec::<&&Value>::new(), "--violate {line}: nothing else");
        }
    }
    assert_eq!(findings.len(), VIOLATIONS.len() + hairpins);
    assert_same_as_replay(&findings, &summary, &recording);
}

#[test]
fn call_against_a_sipp_uas_validates_its_responses() {
    let dir = scratch("call");
    for (transport, port) in [("udp", "5131"), ("tcp", "5132")] {
        let mut uas_args = vec!["-sn", "uas", "-i", TELEGENT, "-p", port, "-m", "2"];
        if transport == "tcp" {
            uas_args.extend(["-t", "t1"]);
        }
        let uas = Command::new("sipp")
            .args(&uas_args)
            .args(["-nostdin", "-timeout", "60s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the SIPp UAS (Debian's sip-tester)");
        std::thread::sleep(Duration::from_millis(500));
        let recording = dir.join(format!("call-{transport}.pcapng"));
        let target = format!("{TELEGENT}:{port}");
        let out = sipaccord(&[
            "call",
            "-a",
            AGREEMENT,
            "--as",
            "acme",
            "--target",
            &target,
            "--transport",
            transport,
            "--calls",
            "2",
            "--rate",
            "10",
            "--hold",
            "100ms",
            "--format",
            "jsonl",
            "--record",
            &recording.display().to_string(),
        ]);
        let ended = Ended { code: out.status.code(), stdout: stdout(&out), stderr: String::new() };
        let (findings, summary) = ended.jsonl();
        assert_eq!(ended.code, Some(0), "{transport}: {}", ended.stdout);
        assert_eq!(findings, Vec::<Value>::new());
        assert!(summary["session"][0].as_str().unwrap().starts_with("calls: 2 placed, 2 answered, 2 completed"));
        // SIPp's UAS answers 180 and 200 to each INVITE and 200 to each BYE: all validated.
        assert_eq!(summary["summary"]["directions"]["telegent -> acme"], 6, "{transport}");
        assert_eq!(summary["summary"]["directions"]["acme -> telegent"], 6, "{transport}");
        assert!(
            summary["summary"]["rules_evaluated"].as_u64().unwrap() >= 4,
            "the echo rule is evaluated on 180 and 200"
        );
        assert_same_as_replay(&findings, &summary, &recording);
        let mut uas = uas;
        let _ = uas.wait();
    }
}

#[test]
fn probe_reports_answers_round_trips_and_silence() {
    let dir = scratch("probe");
    // The example agreement with Telegent's SBCs on this test's port: one answers, one does not.
    let text = std::fs::read_to_string(workspace_root().join(AGREEMENT)).expect("read the agreement");
    let text =
        text.replace("sbc 127.0.10.1, 127.0.10.2:5060", "sbc 127.0.10.1:5141, 127.0.10.2:5141\n  transport udp, tcp");
    let agreement = dir.join("probe.agreement");
    std::fs::write(&agreement, text).expect("write the agreement");
    let agreement = agreement.display().to_string();
    let mut live = Command::new(env!("CARGO_BIN_EXE_sipaccord"))
        .args([
            "live",
            "-a",
            &agreement,
            "--as",
            "telegent",
            "--listen",
            "udp:127.0.10.1:5141",
            "--listen",
            "tcp:127.0.10.1:5141",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sipaccord live");
    let mut first = String::new();
    BufReader::new(live.stderr.as_mut().unwrap()).read_line(&mut first).expect("live says it listens");
    let out = sipaccord(&["probe", "-a", &agreement, "--as", "acme", "--wait", "1s"]);
    let _ = live.kill();
    let _ = live.wait();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "one SBC does not answer: {text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("udp ") || l.starts_with("tcp ")).collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("udp 127.0.10.1:5141: 200 OK in ") && lines[0].ends_with(" ms"), "{}", lines[0]);
    assert!(lines[1].starts_with("tcp 127.0.10.1:5141: 200 OK in "), "{}", lines[1]);
    assert_eq!(lines[2], "udp 127.0.10.2:5141: no answer in 1 s; is our address 127.0.20.1 whitelisted by telegent?");
    assert!(lines[3].starts_with("tcp 127.0.10.2:5141: cannot connect to tcp:127.0.10.2:5141"), "{}", lines[3]);
    // The two answers were validated: no findings, two messages each way that answered.
    assert!(text.contains("0 errors, 0 warnings"), "{text}");
    assert!(text.contains("telegent -> acme: 2"), "{text}");
}

/// A HEPv3 packet (RFC-less, as HOMER defines it) carrying one SIP message over UDP/IPv4.
fn hep3(src: SocketAddr, dst: SocketAddr, sip: &[u8]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&((6 + data.len()) as u16).to_be_bytes());
        out.extend_from_slice(data);
    }
    let (SocketAddr::V4(s), SocketAddr::V4(d)) = (src, dst) else { panic!("IPv4 only") };
    let mut body = Vec::new();
    chunk(&mut body, 1, &[2]);
    chunk(&mut body, 2, &[17]);
    chunk(&mut body, 3, &s.ip().octets());
    chunk(&mut body, 4, &d.ip().octets());
    chunk(&mut body, 7, &s.port().to_be_bytes());
    chunk(&mut body, 8, &d.port().to_be_bytes());
    chunk(&mut body, 9, &1_790_000_000u32.to_be_bytes());
    chunk(&mut body, 10, &0u32.to_be_bytes());
    chunk(&mut body, 11, &[1]);
    chunk(&mut body, 12, &2001u32.to_be_bytes());
    chunk(&mut body, 15, sip);
    let mut out = b"HEP3".to_vec();
    out.extend_from_slice(&((6 + body.len()) as u16).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn invite(extra: &str) -> Vec<u8> {
    format!(
        "INVITE sip:+15550100001@127.0.10.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.20.1:5060;branch=z9hG4bK-hep-1\r\n\
         From: <sip:+15550100002@127.0.20.1>;tag=hep1\r\nTo: <sip:+15550100001@127.0.10.1>\r\n\
         Call-ID: hep-1@acme\r\nCSeq: 1 INVITE\r\nContact: <sip:127.0.20.1:5060>\r\nMax-Forwards: 70\r\n\
         {extra}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn hep_mirrored_traffic_is_validated_passively() {
    let dir = scratch("hep");
    let recording = dir.join("session.pcapng");
    let live = Live::start(&[
        "--listen",
        "udp:127.0.10.1:5151",
        "--hep",
        "udp:127.0.0.1:9161",
        "--record",
        &recording.display().to_string(),
        "--format",
        "jsonl",
    ]);
    let mirror = UdpSocket::bind("127.0.0.1:0").expect("bind the mirror");
    let src: SocketAddr = "127.0.20.1:5060".parse().unwrap();
    let dst: SocketAddr = "127.0.10.1:5060".parse().unwrap();
    // Acme's INVITE without X-Acme-Carrier (rule line 57), as an SBC mirrors it to HOMER.
    let packet = hep3(
        src,
        dst,
        &invite("P-Asserted-Identity: <sip:+15550100002@127.0.20.1>\r\nP-Charging-Vector: icid-value=hep1\r\n"),
    );
    mirror.send_to(&packet, "127.0.0.1:9161").expect("send HEP");
    let ended = live.stop();
    let (findings, summary) = ended.jsonl();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["kind"], "missing-header");
    assert_eq!(findings[0]["rule"]["line"], 57);
    assert_eq!(findings[0]["src"], "127.0.20.1:5060", "the message's own addresses, from the HEP chunks");
    assert_eq!(summary["session"][0].as_str().unwrap().split(", ").nth(1), Some("1 HEP packets"));
    assert!(ended.stdout.contains("\"messages\":1"), "mirrored, not answered: {}", ended.stdout);
    assert_same_as_replay(&findings, &summary, &recording);
}

#[test]
fn bad_input_is_reported_and_calls_go_on() {
    let dir = scratch("bad-input");
    let recording = dir.join("session.pcapng");
    let xml = scenario(&dir, "acme", None);
    let mut live = Live::start(&[
        "--listen",
        "udp:127.0.10.1:5161",
        "--listen",
        "tcp:127.0.10.1:5161",
        "--record",
        &recording.display().to_string(),
        "--format",
        "jsonl",
        "--tcp-idle",
        "1s",
        "--tcp-max-connections",
        "3",
    ]);
    let server: SocketAddr = "127.0.10.1:5161".parse().unwrap();
    // Junk and a malformed message from Acme's address.
    let acme = UdpSocket::bind("127.0.20.1:5162").expect("bind as acme");
    acme.send_to(b"\x00\x01junk that is not SIP\r\n", server).unwrap();
    acme.send_to(b"INVITE sip:a@127.0.10.1 SIP/2.0\r\nVia: nonsense\r\nContent-Length: 5\r\n\r\nab", server).unwrap();
    // A flood of OPTIONS from an address of no peer: reported once, never answered.
    let stranger = UdpSocket::bind("127.0.30.1:5163").expect("bind as a stranger");
    for i in 0..300 {
        let options = format!(
            "OPTIONS sip:127.0.10.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.30.1:5163;branch=z9hG4bK-flood-{i}\r\n\
             From: <sip:x@127.0.30.1>;tag={i}\r\nTo: <sip:127.0.10.1>\r\nCall-ID: flood-{i}\r\nCSeq: 1 OPTIONS\r\n\
             Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        stranger.send_to(options.as_bytes(), server).unwrap();
        // Paced a little, so a machine with a small default socket buffer does not drop the flood
        // before the session reads it.
        if i % 25 == 24 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // TCP: garbage, half a message that stalls, an oversized message, and one connection over the cap.
    let connect = || TcpStream::connect_timeout(&server, Duration::from_secs(5)).expect("connect to live");
    let mut garbage = connect();
    garbage.write_all(b"GET / HTTP/1.1\r\nHost: sbc\r\n\r\n").unwrap();
    let mut stall = connect();
    stall
        .write_all(b"INVITE sip:+15550100001@127.0.10.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-s\r\n")
        .unwrap();
    let mut oversized = connect();
    oversized.write_all(b"MESSAGE sip:a@127.0.10.1 SIP/2.0\r\nContent-Length: 99999999\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let _held: Vec<TcpStream> = (0..3).map(|_| connect()).collect();
    std::thread::sleep(Duration::from_millis(200));
    // Meanwhile calls from Acme complete as usual.
    sipp_ok(
        &sipp(&["-sf", &xml, "-i", ACME, "-p", "5164", "-m", "3", "-r", "20", "127.0.10.1:5161"]),
        "calls during bad input",
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(live.is_running(), "sipaccord live keeps running");
    let ended = live.stop();
    let (findings, summary) = ended.jsonl();
    let kinds: Vec<(&str, &str)> =
        findings.iter().map(|f| (f["kind"].as_str().unwrap(), f["src"].as_str().unwrap())).collect();
    assert!(kinds.contains(&("malformed", "127.0.20.1:5162")), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|(k, _)| *k == "unknown-source").count(), 1, "{kinds:?}");
    assert!(kinds.contains(&("unknown-source", "127.0.30.1:5163")), "{kinds:?}");
    assert_eq!(summary["summary"]["from_no_peer"], 300, "{}", summary["session"]);
    // None of the bad input came from SIPp's calls: its three calls have no findings.
    assert!(kinds.iter().all(|(_, src)| !src.ends_with(":5164")), "{kinds:?}");
    let session = summary["session"][0].as_str().unwrap();
    assert!(session.contains("300 requests from no peer left unanswered"), "{session}");
    assert!(session.contains("refused at the cap"), "{session}");
    assert!(ended.stderr.contains("closed, not SIP"), "{}", ended.stderr);
    assert!(ended.stderr.contains("closed, idle for 1 s with"), "{}", ended.stderr);
    assert!(ended.stderr.contains("closed, unusable SIP framing"), "{}", ended.stderr);
    assert!(ended.stderr.contains("refused, 3 connections are open (the cap)"), "{}", ended.stderr);
    assert!(ended.stderr.contains("not SIP, ignored"), "{}", ended.stderr);
    drop(garbage);
    drop(stall);
    drop(oversized);
    assert_same_as_replay(&findings, &summary, &recording);
}

/// SIPp's cumulative counters from its `-trace_stat` file (the last row).
fn sipp_counters(stat_file: &Path) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(stat_file).expect("SIPp wrote its statistics");
    let mut rows = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = rows.next().expect("a header row").split(';').collect();
    let last: Vec<&str> = rows.next_back().expect("a data row").split(';').collect();
    header.iter().zip(last).map(|(h, v)| (h.to_string(), v.to_string())).collect()
}

#[test]
fn load_of_a_thousand_calls_loses_nothing_and_replays_identically() {
    let dir = scratch("load");
    let recording = dir.join("session.pcapng");
    let xml = scenario(&dir, "acme", None);
    let live = Live::start(&[
        "--listen",
        "udp:127.0.10.1:5171",
        "--record",
        &recording.display().to_string(),
        "--format",
        "jsonl",
    ]);
    let stat = dir.join("sipp-stat.csv");
    let out = sipp(&[
        "-sf",
        &xml,
        "-i",
        ACME,
        "-p",
        "5172",
        "-m",
        "1000",
        "-r",
        "100",
        "-l",
        "1000",
        "-trace_stat",
        "-stf",
        &stat.display().to_string(),
        "-fd",
        "1",
        "127.0.10.1:5171",
    ]);
    sipp_ok(&out, "1000 calls at 100 calls/s");
    let ended = live.stop();
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    let (findings, summary) = ended.jsonl();
    assert_eq!(findings, Vec::<Value>::new());
    let counters = sipp_counters(&stat);
    assert_eq!(counters["SuccessfulCall(C)"], "1000");
    let retransmissions: u64 = counters["Retransmissions(C)"].parse().unwrap();
    // Every request SIPp sent (INVITE, ACK, BYE per call, and its retransmissions) was seen.
    assert_eq!(summary["summary"]["directions"]["acme -> telegent"], 3000 + retransmissions);
    assert!(summary["summary"]["directions"]["telegent -> acme"].as_u64().unwrap() >= 4000);
    assert_eq!(summary["summary"]["dialogs"], 1000);
    assert_same_as_replay(&findings, &summary, &recording);
}
