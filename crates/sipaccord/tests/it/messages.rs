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

/// A classic pcap (Ethernet, IPv4, UDP) holding one datagram from 192.0.2.1:5060 to 192.0.2.2:5060.
fn udp_capture(payload: &[u8]) -> Vec<u8> {
    let mut pcap = Vec::new();
    for word in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 1] {
        pcap.extend_from_slice(&word.to_le_bytes());
    }
    let udp_len = 8 + payload.len();
    let ip_len = 20 + udp_len;
    let frame_len = 14 + ip_len;
    for word in [1_700_000_000u32, 250_000, frame_len as u32, frame_len as u32] {
        pcap.extend_from_slice(&word.to_le_bytes());
    }
    pcap.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    pcap.extend_from_slice(&[0x45, 0, (ip_len >> 8) as u8, ip_len as u8, 0, 1, 0, 0, 64, 17, 0, 0]);
    pcap.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
    pcap.extend_from_slice(&[0x13, 0xc4, 0x13, 0xc4, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
    pcap.extend_from_slice(payload);
    pcap
}

#[test]
fn jsonl_escapes_strings_as_serde_json_does() {
    // A Call-ID with a quote, a backslash, a tab, a control character and a byte that is not UTF-8.
    let call_id: &[u8] = b"a\"b\\c\td\x01e\xffz@host";
    let mut message = b"OPTIONS sip:b@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n\
        From: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nCall-ID: "
        .to_vec();
    message.extend_from_slice(call_id);
    message.extend_from_slice(b"\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
    let dir = std::env::temp_dir().join(format!("sipaccord-escapes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("escapes.pcap");
    std::fs::write(&file, udp_capture(&message)).unwrap();
    let out = sipaccord(&["messages", "--format", "jsonl", file.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    // The Call-ID breaks its grammar: the line says so and the exit status is 1.
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let line = text.lines().next().expect("one line");
    let expected = String::from_utf8_lossy(call_id).into_owned();
    let escaped = serde_json::to_string(&expected).unwrap();
    assert!(line.contains(&format!(",\"call_id\":{escaped},")), "{line}");
    let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(parsed["call_id"], expected.as_str());
    assert_eq!(parsed["time"], "2023-11-14T22:13:20.250000Z");
    assert_eq!(parsed["src"], "192.0.2.1:5060");
    assert!(parsed["invalid"].as_str().is_some_and(|r| r.contains("Call-ID")), "{line}");
}

#[test]
fn jsonl_escapes_a_byte_at_the_end_of_a_long_value() {
    // The plain-text check reads eight bytes at a time and ends on a word that overlaps the one
    // before it: a quote or a control byte in the last bytes must still be escaped.
    let dir = std::env::temp_dir().join(format!("sipaccord-escape-end-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for len in 1..=19 {
        for last in [b'"', 0x01] {
            let mut call_id: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            call_id.push(last);
            let mut message = b"OPTIONS sip:b@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n\
                From: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nCall-ID: "
                .to_vec();
            message.extend_from_slice(&call_id);
            message.extend_from_slice(b"\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
            let file = dir.join("escape-end.pcap");
            std::fs::write(&file, udp_capture(&message)).unwrap();
            let out = sipaccord(&["messages", "--format", "jsonl", file.to_str().unwrap()]);
            let text = stdout(&out);
            let line = text.lines().next().expect("one line");
            let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(parsed["call_id"].as_str().map(str::as_bytes), Some(&call_id[..]), "{line}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
