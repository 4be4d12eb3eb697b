//! `sipaccord messages` on captures from `../shared/corpus` (read in place; the folder beside the
//! checkout) and on broken files the test writes itself.

use crate::{sipaccord, stdout};

fn corpus(name: &str) -> String {
    let path = format!("../shared/corpus/{name}");
    assert!(
        crate::workspace_root().join(&path).is_file(),
        "this test reads {path} from the shared folder beside the checkout, which is missing"
    );
    path
}

#[test]
fn text_lists_each_message_then_a_summary() {
    let out = sipaccord(&["messages", &corpus("MichalCab-ISA/sip.pcap.pcapng"), &corpus("sngrep/tlssaved.pcap")]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn jsonl_has_one_object_per_message_with_the_wire_fields() {
    let out = sipaccord(&["messages", "--format", "jsonl", &corpus("MichalCab-ISA/sip.pcap.pcapng")]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 9);
    let first = &lines[0];
    assert_eq!(first["frame"], 4);
    assert_eq!(first["time"], "2014-11-25T21:09:21.124098Z");
    assert_eq!(first["src"], "10.0.2.4:5060");
    assert_eq!(first["dst"], "10.0.2.15:5060");
    assert_eq!(first["transport"], "udp");
    assert_eq!(first["method"], "INVITE");
    assert_eq!(first["call_id"], "681270918");
    assert_eq!(first["cseq"], "20 INVITE");
    assert_eq!(lines[1]["status"], 401);
    assert!(lines[1].get("method").is_none());
}

#[test]
fn malformed_messages_are_lines_with_the_reason_and_exit_1() {
    let out = sipaccord(&["messages", "--format", "jsonl", &corpus("zeek/invalid-content-length.pcap")]);
    assert_eq!(out.status.code(), Some(1));
    let first: serde_json::Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(first["frame"], 1);
    assert_eq!(first["malformed"], "line 7, column 17: Content-Length `bad` is not a non-negative number");
}

#[test]
fn truncated_capture_keeps_what_came_before_the_cut_and_names_the_offset() {
    let whole = std::fs::read(crate::workspace_root().join(corpus("MichalCab-ISA/real_sip_call.pcap"))).unwrap();
    let dir = std::env::temp_dir().join(format!("sipaccord-messages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let out = sipaccord(&["messages", "--format", "jsonl", cut.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).lines().count() > 5, "messages before the cut are listed");
    assert!(stderr.contains("truncated at byte offset"), "{stderr}");
}

#[test]
fn a_file_that_is_not_a_capture_exits_2() {
    let out = sipaccord(&["messages", "fixtures/messages/invite.sip"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), "sipaccord: fixtures/messages/invite.sip: not a pcap or pcapng file");
}
