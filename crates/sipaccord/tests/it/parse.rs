//! `sipaccord parse` on the shipped example messages.

use crate::{sipaccord, stdout};

#[test]
fn well_formed_invite_prints_every_part_and_exits_0() {
    let out = sipaccord(&["parse", "fixtures/messages/invite.sip"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn malformed_message_names_each_line_and_exits_1() {
    let out = sipaccord(&["parse", "fixtures/messages/invite.sip", "fixtures/messages/malformed-via.sip"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn json_has_status_warnings_and_error_position() {
    let out = sipaccord(&[
        "parse",
        "--format",
        "json",
        "fixtures/messages/invite.sip",
        "fixtures/messages/malformed-via.sip",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["status"], "ok");
    assert_eq!(lines[0]["error"], serde_json::Value::Null);
    assert_eq!(lines[0]["warnings"], serde_json::json!([]));
    assert_eq!(lines[0]["typed"]["cseq"], serde_json::json!({"number": 1, "method": "INVITE"}));
    assert_eq!(lines[0]["typed"]["from"]["tag"], "8f3c2a1b");
    assert_eq!(lines[0]["body_length"], 216);
    assert_eq!(lines[1]["status"], "malformed");
    assert_eq!(
        lines[1]["error"],
        serde_json::json!({"line": 2, "column": 6, "reason": "malformed Via: empty parameter"})
    );
    assert_eq!(lines[1]["errors"][1]["line"], 7);
}

#[test]
fn unreadable_file_is_named_on_stderr_and_exits_2() {
    let out = sipaccord(&["parse", "fixtures/messages/invite.sip", "fixtures/messages/no-such-file.sip"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).starts_with("fixtures/messages/invite.sip: ok\n"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("sipaccord: cannot read fixtures/messages/no-such-file.sip: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);
}

#[test]
fn bad_arguments_exit_2() {
    assert_eq!(sipaccord(&["parse"]).status.code(), Some(2));
    assert_eq!(sipaccord(&["parse", "--format", "xml", "x"]).status.code(), Some(2));
    assert_eq!(sipaccord(&["no-such-command"]).status.code(), Some(2));
}
