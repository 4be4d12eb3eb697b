//! Tests of the live crate's parts without sockets: the packets a session is recorded as (decoded back
//! by the capture decoder), the recording (read back by the capture reader), the composer (what it
//! sends keeps the agreement, and each violation breaks exactly its rule, both judged by the replay
//! runner) and the UAS state machine. End-to-end sessions with SIPp are in the `sipaccord` crate's
//! tests (`crates/sipaccord/tests/it/live.rs`).
//!
//! The agreement is the project's `fixtures/interop/telegent-acme.agreement`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipaccord_agreement::Contract;
use sipaccord_capture::{CaptureReader, Limits, PacketDecoder, SipMessage, Transport};
use sipaccord_live::compose::{Composer, Draft, MessageKind, Violation};
use sipaccord_live::monitor::{Event, Monitor};
use sipaccord_live::recorder::Recorder;
use sipaccord_live::uas::{Arrival, Uas};
use sipaccord_live::wire::{PacketBuilder, LINK_TYPE_RAW_IP};
use sipaccord_replay::{Kind, Level, Runner};
use sipaccord_sip::Message;

fn contract() -> Contract {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/interop/telegent-acme.agreement");
    let source = std::fs::read_to_string(&path).expect("read the example agreement");
    sipaccord_agreement::compile(&source, "telegent-acme.agreement").contract.expect("the example compiles")
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const INVITE: &str =
    "INVITE sip:+15550100001@127.0.10.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.20.1:5060;branch=z9hG4bK-1;rport\r\n\
From: <sip:+15550100002@127.0.20.1>;tag=a1\r\nTo: <sip:+15550100001@127.0.10.1>\r\nCall-ID: c1@acme\r\n\
CSeq: 1 INVITE\r\nContact: <sip:127.0.20.1:5060>\r\nMax-Forwards: 70\r\nX-Hairpin: none\r\nContent-Length: 0\r\n\r\n";

fn decode(frames: &[Vec<u8>]) -> Vec<SipMessage> {
    let mut decoder = PacketDecoder::new("test", Limits::default());
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        decoder.push_frame(LINK_TYPE_RAW_IP, Duration::from_secs(i as u64), f, f.len());
        out.extend(std::iter::from_fn(|| decoder.pop()));
    }
    decoder.finish();
    out.extend(std::iter::from_fn(|| decoder.pop()));
    assert!(decoder.summary().unusable.is_empty(), "{:?}", decoder.summary().unusable);
    out
}

#[test]
fn udp_packets_decode_to_the_datagram_with_its_addresses() {
    let mut b = PacketBuilder::new();
    for (src, dst) in [("127.0.20.1:5060", "127.0.10.1:5060"), ("[::1]:5062", "[2001:db8::1]:5060")] {
        let packet = b.udp(addr(src), addr(dst), INVITE.as_bytes());
        let messages = decode(&[packet]);
        assert_eq!(messages.len(), 1);
        assert_eq!((messages[0].src, messages[0].dst), (addr(src), addr(dst)));
        assert_eq!(messages[0].transport, Transport::Udp);
        assert_eq!(&messages[0].bytes[..], INVITE.as_bytes());
        assert!(messages[0].is_well_formed());
    }
}

#[test]
fn ipv4_header_checksum_verifies() {
    let mut b = PacketBuilder::new();
    let p = b.udp(addr("127.0.20.1:5060"), addr("127.0.10.1:5060"), b"OPTIONS");
    let sum: u32 = p[..20].chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    assert_eq!(folded, 0xffff, "the one's complement sum over a correct header is all ones");
    assert_eq!(p.len(), 20 + 8 + 7);
}

#[test]
fn tcp_reads_in_pieces_decode_to_whole_messages_in_both_directions() {
    let mut b = PacketBuilder::new();
    let (client, server) = (addr("127.0.20.1:40000"), addr("127.0.10.1:5060"));
    let mut frames = b.tcp_open(client, server);
    let bytes = INVITE.as_bytes();
    // One message over three reads, then two messages in one read.
    frames.extend(b.tcp_data(client, server, &bytes[..10]));
    frames.extend(b.tcp_data(client, server, &bytes[10..200]));
    frames.extend(b.tcp_data(client, server, &bytes[200..]));
    let two = [bytes, bytes].concat();
    frames.extend(b.tcp_data(client, server, &two));
    let answer =
        b"SIP/2.0 100 Trying\r\nVia: SIP/2.0/TCP 127.0.20.1:5060;branch=z9hG4bK-1\r\nFrom: <sip:a@b>;tag=1\r\n\
To: <sip:c@d>\r\nCall-ID: c1@acme\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    frames.extend(b.tcp_data(server, client, answer));
    frames.push(b.tcp_close(client, server));
    frames.push(b.tcp_close(server, client));
    let messages = decode(&frames);
    let lines: Vec<String> = messages.iter().map(|m| format!("{} {}", m.src, m.first_line())).collect();
    assert_eq!(
        lines,
        [
            "127.0.20.1:40000 INVITE sip:+15550100001@127.0.10.1 SIP/2.0",
            "127.0.20.1:40000 INVITE sip:+15550100001@127.0.10.1 SIP/2.0",
            "127.0.20.1:40000 INVITE sip:+15550100001@127.0.10.1 SIP/2.0",
            "127.0.10.1:5060 SIP/2.0 100 Trying",
        ]
    );
    assert!(messages.iter().all(|m| m.transport == Transport::Tcp && m.is_well_formed()));
}

#[test]
fn a_recording_reads_back_with_nanosecond_timestamps() {
    let dir = std::env::temp_dir().join(format!("sipaccord-live-recorder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("r.pcapng");
    let mut recorder = Recorder::create(&path).expect("create the recording");
    let mut b = PacketBuilder::new();
    let times = [Duration::new(1_795_000_000, 123_456_789), Duration::new(1_795_000_001, 1)];
    for t in times {
        recorder.packet(t, &b.udp(addr("127.0.20.1:5060"), addr("127.0.10.1:5060"), INVITE.as_bytes())).unwrap();
    }
    recorder.flush().unwrap();
    drop(recorder);
    let read: Vec<SipMessage> = CaptureReader::open(&path).unwrap().map(Result::unwrap).collect();
    assert_eq!(read.iter().map(|m| m.timestamp).collect::<Vec<_>>(), times);
    assert_eq!(read.iter().map(|m| m.frame).collect::<Vec<_>>(), [1, 2]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs messages (bytes, from, to) through a replay runner and returns its findings as (kind, level,
/// rule line).
fn judge(contract: &Contract, messages: &[(Vec<u8>, &str, &str)]) -> Vec<(Kind, Level, Option<usize>)> {
    let mut runner = Runner::new(contract);
    for (i, (bytes, src, dst)) in messages.iter().enumerate() {
        let mut decoder = PacketDecoder::new("composed", Limits::default());
        let packet = PacketBuilder::new().udp(addr(src), addr(dst), bytes);
        decoder.push_frame(LINK_TYPE_RAW_IP, Duration::from_millis(i as u64), &packet, packet.len());
        let mut m = decoder.pop().expect("the composed message is SIP");
        m.frame = i as u64 + 1;
        runner.observe(&m);
    }
    runner.finish("x").findings.iter().map(|f| (f.kind, f.level, f.rule.as_ref().map(|r| r.line))).collect()
}

fn composed_invite(composer: &Composer<'_>) -> Draft {
    let mut d = Draft::new("INVITE sip:+15550100001@127.0.10.1 SIP/2.0");
    d.push("Via", "SIP/2.0/UDP 127.0.20.1:5060;branch=z9hG4bK-c1")
        .push("From", "<sip:+15550100002@127.0.20.1>;tag=c1")
        .push("To", "<sip:+15550100001@127.0.10.1>")
        .push("Call-ID", "composed-1")
        .push("CSeq", "1 INVITE")
        .push("Max-Forwards", "70");
    let unmet = composer.complete(&mut d, MessageKind::Request { method: "INVITE", initial: true }, None);
    assert_eq!(unmet, Vec::<String>::new());
    d
}

#[test]
fn what_the_composer_sends_keeps_the_agreement() {
    let c = contract();
    let (acme, telegent) = (c.peer("acme").unwrap(), c.peer("telegent").unwrap());
    let invite = composed_invite(&Composer::new(&c, acme, telegent));
    for name in
        ["X-Acme-Carrier: acme-mobile-01", "P-Asserted-Identity: <sip:+15550100001@127.0.20.1>", "P-Charging-Vector: "]
    {
        assert!(String::from_utf8_lossy(&invite.render()).contains(name), "{name}");
    }
    // Telegent's answer to an INVITE with X-Hairpin echoes it.
    let mut uas = Uas::new(Composer::new(&c, telegent, acme));
    let request = Message::parse(INVITE.as_bytes()).unwrap();
    let arrival = Arrival { src: addr("127.0.20.1:5060"), local: addr("127.0.10.1:5060"), transport: "udp" };
    let responses = uas.handle(Instant::now(), &request, arrival);
    let ok = Message::parse(&responses[2]).unwrap();
    assert_eq!(ok.header("X-Hairpin").map(|h| h.value), Some(&b"none"[..]));
    let mut exchange = vec![(invite.render(), "127.0.20.1:5060", "127.0.10.1:5060")];
    exchange.push((INVITE.as_bytes().to_vec(), "127.0.20.1:5060", "127.0.10.1:5060"));
    exchange.extend(responses.into_iter().map(|r| (r, "127.0.10.1:5060", "127.0.20.1:5060")));
    assert_eq!(
        judge(&c, &exchange),
        vec![
            (Kind::MissingHeader, Level::Error, Some(57)),
            (Kind::MissingHeader, Level::Error, Some(58)),
            (Kind::MissingHeader, Level::Warning, Some(59))
        ],
        "only the hand-written INVITE, which lacks Acme's headers, breaks rules"
    );
}

#[test]
fn each_violation_breaks_exactly_its_rule() {
    let c = contract();
    let (acme, telegent) = (c.peer("acme").unwrap(), c.peer("telegent").unwrap());
    let cases = [
        ("57", Kind::MissingHeader, Level::Error, 57),
        ("58:3", Kind::MissingHeader, Level::Error, 58),
        ("59", Kind::MissingHeader, Level::Warning, 59),
        ("60", Kind::ForbiddenHeader, Level::Error, 60),
        ("56", Kind::MissingHeader, Level::Error, 57),
        ("64", Kind::MissingHeader, Level::Error, 64),
        ("65", Kind::Unsatisfied, Level::Error, 65),
        ("28", Kind::BadValue, Level::Error, 28),
        ("34", Kind::BadValue, Level::Error, 34),
    ];
    for (spec, kind, level, line) in cases {
        let violation = Violation::resolve(&c, spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let composer = Composer::new(&c, acme, telegent).violating(violation);
        let invite = composed_invite(&composer).render();
        let mut findings = judge(&c, &[(invite, "127.0.20.1:5060", "127.0.10.1:5060")]);
        // A hairpin INVITE (rules 64 and 65 need X-Hairpin: fmc) also waits for its second leg.
        findings.retain(|f| f.0 != Kind::NoPartnerLeg);
        assert_eq!(findings, vec![(kind, level, Some(line))], "--violate {spec}");
    }
}

#[test]
fn violations_that_cannot_be_composed_are_refused_with_a_reason() {
    let c = contract();
    for (spec, reason) in [
        ("1", "no rule, obligation or header declaration starts on line 1"),
        ("80", "correlation"),
        ("x", "is not a rule's place"),
        ("57:9", "no rule, obligation or header declaration starts on line 57"),
    ] {
        let err = Violation::resolve(&c, spec).expect_err(spec);
        assert!(err.contains(reason), "{spec}: {err}");
    }
}

#[test]
fn uas_answers_invite_retransmissions_ack_and_bye_as_rfc_3261_says() {
    let c = contract();
    let (acme, telegent) = (c.peer("acme").unwrap(), c.peer("telegent").unwrap());
    let mut uas = Uas::new(Composer::new(&c, telegent, acme));
    let arrival = Arrival { src: addr("127.0.20.1:5060"), local: addr("127.0.10.1:5060"), transport: "udp" };
    let t0 = Instant::now();
    let invite = Message::parse(INVITE.as_bytes()).unwrap();
    let responses = uas.handle(t0, &invite, arrival);
    let parsed: Vec<Message<'_>> = responses.iter().map(|r| Message::parse(r).unwrap()).collect();
    assert_eq!(parsed.iter().map(|m| m.status().unwrap()).collect::<Vec<_>>(), [100, 180, 200]);
    let tags: Vec<Option<String>> = parsed.iter().map(|m| m.to().unwrap().unwrap().tag().map(str::to_owned)).collect();
    assert_eq!(tags[0], None, "100 Trying has no To tag");
    assert!(tags[1].is_some() && tags[1] == tags[2], "180 and 200 share the dialog's tag");
    let via = parsed[2].via().unwrap().unwrap();
    assert_eq!(via.rport(), Some(Some(5060)), "rport is filled in");
    // The SDP answer is in Telegent's media range 127.0.10.0/28.
    assert!(String::from_utf8_lossy(parsed[2].body()).contains("c=IN IP4 127.0.10.1\r\n"));
    // A retransmitted INVITE gets the 200 again; without an ACK the 200 is retransmitted at T1, 2*T1.
    assert_eq!(uas.handle(t0, &invite, arrival), vec![responses[2].clone()]);
    assert!(uas.retransmissions(t0, arrival.local).is_empty());
    assert!(
        uas.retransmissions(t0 + Duration::from_secs(1), addr("127.0.10.1:5099")).is_empty(),
        "another socket does not send this call's retransmissions"
    );
    assert_eq!(
        uas.retransmissions(t0 + Duration::from_millis(500), arrival.local),
        vec![(arrival.src, responses[2].clone())]
    );
    assert!(uas.retransmissions(t0 + Duration::from_millis(1000), arrival.local).is_empty());
    assert_eq!(uas.retransmissions(t0 + Duration::from_millis(1500), arrival.local).len(), 1);
    let tag = tags[2].clone().unwrap();
    let in_dialog = |method: &str, cseq: u32| {
        INVITE
            .replacen("INVITE sip:", &format!("{method} sip:"), 1)
            .replace("CSeq: 1 INVITE", &format!("CSeq: {cseq} {method}"))
            .replace("To: <sip:+15550100001@127.0.10.1>", &format!("To: <sip:+15550100001@127.0.10.1>;tag={tag}"))
    };
    let ack = in_dialog("ACK", 1);
    assert!(uas.handle(t0, &Message::parse(ack.as_bytes()).unwrap(), arrival).is_empty());
    assert!(
        uas.retransmissions(t0 + Duration::from_secs(10), arrival.local).is_empty(),
        "the ACK stops retransmissions"
    );
    let bye = in_dialog("BYE", 2);
    let ok = uas.handle(t0, &Message::parse(bye.as_bytes()).unwrap(), arrival);
    assert_eq!(Message::parse(&ok[0]).unwrap().status(), Some(200));
    assert_eq!(uas.open_calls(), 0);
    let register = INVITE.replacen("INVITE sip:", "REGISTER sip:", 1).replace("1 INVITE", "1 REGISTER");
    let refused = uas.handle(t0, &Message::parse(register.as_bytes()).unwrap(), arrival);
    let refused = Message::parse(&refused[0]).unwrap();
    assert_eq!(refused.status(), Some(405));
    assert!(refused.header("Allow").is_some());
}

#[test]
fn the_monitor_reports_findings_as_they_happen_and_at_the_end() {
    let c = contract();
    let mut monitor = Monitor::new(&c, std::path::Path::new("live"), None);
    let (acme, telegent) = (addr("127.0.20.1:5060"), addr("127.0.10.1:5060"));
    let hairpin = INVITE.replace("X-Hairpin: none", "X-Hairpin: fmc\r\nP-Served-User: <sip:+15550100002@127.0.20.1>");
    let event = Event::Datagram { src: acme, dst: telegent, payload: Bytes::from(hairpin) };
    let now: Vec<Kind> = monitor.event(&event).iter().map(|f| f.kind).collect();
    assert_eq!(now, [Kind::MissingHeader, Kind::MissingHeader, Kind::MissingHeader], "rules 57, 58 and 59 at once");
    assert_eq!(monitor.messages(), 1);
    let (late, report, error) = monitor.finish("telegent-acme.agreement");
    assert!(error.is_none());
    assert_eq!(
        late.iter().map(|f| f.kind).collect::<Vec<_>>(),
        [Kind::NoPartnerLeg],
        "the hairpin's second leg never came"
    );
    assert_eq!(report.findings.len(), 4);
}
