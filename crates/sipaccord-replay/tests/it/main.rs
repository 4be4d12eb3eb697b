//! The runner on hand-written messages: each test states an agreement, feeds messages as they would
//! come out of a capture, and asserts the exact findings.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sipaccord_capture::{Outcome, SipMessage, Transport};
use sipaccord_replay::{Kind, Level, Report, Runner};

const PEERS: &str = r#"agreement "t" version 1
peer op { sbc 192.0.2.1 ; media 192.0.2.0/24 }
peer partner { sbc 198.51.100.1:5060 ; media 198.51.100.0/24 ; transport udp }
"#;

fn message(frame: u64, src: &str, dst: &str, transport: Transport, text: &str) -> SipMessage {
    let bytes = text.replace('\n', "\r\n");
    let bytes = match bytes.split_once("\r\n\r\n") {
        Some((head, body)) => format!("{head}\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
        None => format!("{bytes}Content-Length: 0\r\n\r\n"),
    };
    let outcome = match sipaccord_sip::parse_checked(bytes.as_bytes()) {
        Ok(_) => Outcome::WellFormed,
        Err(e) => Outcome::Invalid(e.to_string()),
    };
    SipMessage {
        file: Arc::from(Path::new("test.pcap")),
        frame,
        timestamp: Duration::from_millis(1_000 + frame * 10),
        src: src.parse::<SocketAddr>().unwrap(),
        dst: dst.parse::<SocketAddr>().unwrap(),
        transport,
        bytes: bytes::Bytes::from(bytes),
        outcome,
        layout: None,
    }
}

const HEAD: &str =
    "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK1\nFrom: <sip:a@x>;tag=f1\nCall-ID: c1\nMax-Forwards: 70\n";

fn invite(frame: u64, extra: &str) -> SipMessage {
    let text = format!("INVITE sip:+4930123456@192.0.2.1 SIP/2.0\n{HEAD}To: <sip:b@y>\nCSeq: 1 INVITE\n{extra}");
    message(frame, "198.51.100.1:5060", "192.0.2.1:5060", Transport::Udp, &text)
}

fn response(frame: u64, status: &str, extra: &str) -> SipMessage {
    let text = format!("SIP/2.0 {status}\n{HEAD}To: <sip:b@y>;tag=t1\nCSeq: 1 INVITE\n{extra}");
    message(frame, "192.0.2.1:5060", "198.51.100.1:5060", Transport::Udp, &text)
}

fn replay(rules: &str, messages: &[SipMessage]) -> Report {
    let source = format!("{PEERS}{rules}");
    let compiled = sipaccord_agreement::compile(&source, "t.agreement");
    let contract = compiled.contract.unwrap_or_else(|| panic!("{:#?}", compiled.diagnostics));
    let mut runner = Runner::new(&contract);
    for m in messages {
        runner.observe(m);
    }
    runner.finish("t.agreement")
}

fn kinds(r: &Report) -> Vec<(Level, Kind)> {
    r.findings.iter().map(|f| (f.level, f.kind)).collect()
}

#[test]
fn should_is_a_warning_and_must_an_error() {
    let r = replay("on INVITE from partner { should have X-A; must have X-B }\nheader X-A { value token }\nheader X-B { value token }\n", &[invite(1, "")]);
    assert_eq!(kinds(&r), [(Level::Warning, Kind::MissingHeader), (Level::Error, Kind::MissingHeader)]);
    assert!(r.has_errors());
    assert_eq!((r.summary.rules_evaluated, r.summary.rules_passed), (1, 0));
}

#[test]
fn comparisons_and_in_dialog_selection() {
    let rules = "header X-Kind { value \"a\" | \"b\" }\non initial INVITE from partner { must have X-Kind in (\"a\") }\non in-dialog INVITE { must have X-Kind == \"b\" }\n";
    let r = replay(rules, &[invite(1, "X-Kind: b\n")]);
    assert_eq!(kinds(&r), [(Level::Error, Kind::WrongValue)]);
    assert_eq!(r.findings[0].seen, "\"b\"");
    assert_eq!(r.findings[0].header.as_ref().unwrap().text, "X-Kind: b");
}

#[test]
fn echo_compares_with_the_answered_request_and_absent_in_both_holds() {
    let rules = "header X-H { value token }\non response 2xx to INVITE from op { must echo X-H }\n";
    let ok = replay(rules, &[invite(1, ""), response(2, "200 OK", "")]);
    assert!(ok.findings.is_empty(), "{:#?}", ok.findings);
    let bad = replay(rules, &[invite(1, "X-H: one\n"), response(2, "200 OK", "X-H: two\n")]);
    assert_eq!(kinds(&bad), [(Level::Error, Kind::MissingEcho)]);
    assert_eq!(bad.findings[0].seen, "\"two\"");
    assert_eq!(bad.findings[0].frames, [2]);
}

#[test]
fn request_fields_in_response_rules() {
    let rules =
        "on response 200 to INVITE { must satisfy request.ruri.user == \"+4930123456\" and status == \"200\" }\n";
    assert!(replay(rules, &[invite(1, ""), response(2, "200 OK", "")]).findings.is_empty());
    let rules = "on response 200 to INVITE { must satisfy request.ruri.user == \"+1\" }\n";
    let r = replay(rules, &[invite(1, ""), response(2, "200 OK", "")]);
    assert_eq!(kinds(&r), [(Level::Error, Kind::Unsatisfied)]);
    assert_eq!(r.findings[0].seen, "request.ruri.user = \"+4930123456\"");
}

#[test]
fn ruri_in_a_response_rule_is_the_answered_request_uri() {
    let rules = "on response 200 to INVITE { must satisfy ruri.user == \"+4930123456\" }\n";
    assert!(replay(rules, &[invite(1, ""), response(2, "200 OK", "")]).findings.is_empty());
}

#[test]
fn settings_undeclared_headers_transport_and_media() {
    let rules = "settings { undeclared-headers error }\non INVITE { may have X-Allowed }\n";
    let sdp = "Content-Type: application/sdp\n\nv=0\nc=IN IP4 203.0.113.9\n";
    let r = replay(rules, &[invite(1, &format!("X-Allowed: 1\nX-Other: 2\n{sdp}"))]);
    assert_eq!(kinds(&r), [(Level::Error, Kind::UndeclaredHeader), (Level::Error, Kind::MediaOutside)]);
    assert_eq!(r.findings[1].header.as_ref().unwrap().text, "c=IN IP4 203.0.113.9");
    let tcp = message(
        1,
        "198.51.100.1:5060",
        "192.0.2.1:5060",
        Transport::Tcp,
        &format!("OPTIONS sip:o@x SIP/2.0\n{HEAD}To: <sip:b@y>\nCSeq: 1 OPTIONS\n"),
    );
    let r = replay("", &[tcp.clone(), tcp]);
    assert_eq!(kinds(&r), [(Level::Error, Kind::TransportNotAllowed)], "reported once per source and transport");
}

#[test]
fn declared_values_and_counts_apply_wherever_the_header_appears() {
    let rules = "header P-Asserted-Identity { value name-addr(user: e164); list; max 2 }\n";
    let r = replay(rules, &[invite(1, "P-Asserted-Identity: <sip:+4930123456@x>, <tel:+4930123456>, <sip:alice@x>\n")]);
    assert_eq!(kinds(&r), [(Level::Error, Kind::BadValue), (Level::Error, Kind::TooManyValues)]);
    assert_eq!(r.findings[0].seen, "\"<sip:alice@x>\"");
    assert_eq!(r.findings[1].seen, "3 values");
}

#[test]
fn unknown_sources_are_reported_once_and_not_evaluated() {
    let stranger = message(
        1,
        "203.0.113.50:5060",
        "192.0.2.1:5060",
        Transport::Udp,
        &format!("OPTIONS sip:o@x SIP/2.0\n{HEAD}To: <sip:b@y>\nCSeq: 1 OPTIONS\n"),
    );
    let r = replay("on request { must have X-Never }\n", &[stranger.clone(), stranger]);
    assert_eq!(kinds(&r), [(Level::Error, Kind::UnknownSource)]);
    assert_eq!(r.summary.from_no_peer, 2);
    assert_eq!(r.summary.rules_evaluated, 0);
}

/// A request is remembered for 64 s from its latest copy: a final response retransmitted within that
/// is still matched to it (checked against it, initial like it); one that comes later is not.
#[test]
fn retransmitted_responses_are_matched_for_64_seconds() {
    let rules = "header X-H { value token }\nheader X-Late { value token }\n\
        on response 2xx to INVITE from op { must echo X-H }\n\
        on in-dialog response 2xx to INVITE { should have X-Late }\n";
    // Frame n is seen at 1 s + n * 10 ms: the INVITE at 1.01 s is remembered until 65.01 s (frame 6401).
    let messages = [
        invite(1, "X-H: one\n"),
        response(2, "200 OK", "X-H: one\n"),
        response(3_000, "200 OK", "X-H: two\n"),
        response(6_401, "200 OK", "X-H: two\n"),
        response(6_402, "200 OK", "X-H: two\n"),
    ];
    let r = replay(rules, &messages);
    let found: Vec<(Kind, Vec<u64>)> = r.findings.iter().map(|f| (f.kind, f.frames.clone())).collect();
    assert_eq!(
        found,
        [(Kind::MissingEcho, vec![3_000]), (Kind::MissingEcho, vec![6_401]), (Kind::MissingHeader, vec![6_402])]
    );
    // A retransmitted INVITE renews the memory.
    let renewed = [invite(1, "X-H: one\n"), invite(5_000, "X-H: one\n"), response(10_000, "200 OK", "X-H: two\n")];
    assert_eq!(kinds(&replay(rules, &renewed)), [(Level::Error, Kind::MissingEcho)]);
}

#[test]
fn responses_are_matched_to_remembered_requests_of_the_methods_rules_select() {
    // Only OPTIONS responses can be selected, so only OPTIONS requests are remembered; the BYE
    // transaction in between neither disturbs the match nor is selected.
    let rules = "header X-A { value token }\non initial response 200 to OPTIONS from op { must have X-A }\n";
    let from_partner = |frame, text: &str| message(frame, "198.51.100.1:5060", "192.0.2.1:5060", Transport::Udp, text);
    let from_op = |frame, text: &str| message(frame, "192.0.2.1:5060", "198.51.100.1:5060", Transport::Udp, text);
    let options = format!("OPTIONS sip:192.0.2.1 SIP/2.0\n{HEAD}To: <sip:b@y>\nCSeq: 7 OPTIONS\n");
    let bye = format!("BYE sip:b@192.0.2.1 SIP/2.0\n{HEAD}To: <sip:b@y>;tag=t1\nCSeq: 8 BYE\n");
    let answer = |cseq: &str| format!("SIP/2.0 200 OK\n{HEAD}To: <sip:b@y>;tag=t1\nCSeq: {cseq}\n");
    let r = replay(
        rules,
        &[
            from_partner(1, &options),
            from_partner(2, &bye),
            from_op(3, &answer("8 BYE")),
            from_op(4, &answer("7 OPTIONS")),
        ],
    );
    assert_eq!(kinds(&r), [(Level::Error, Kind::MissingHeader)]);
    assert_eq!(r.findings[0].frames, [4]);
    // The same OPTIONS inside the dialog: its answer is in-dialog, so the rule does not select it.
    let options_in_dialog = options.replace("To: <sip:b@y>\n", "To: <sip:b@y>;tag=t1\n");
    let r = replay(rules, &[from_partner(1, &options_in_dialog), from_op(2, &answer("7 OPTIONS"))]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}
