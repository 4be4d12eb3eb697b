//! Evaluating compiled rules against parsed SIP messages.

use sipaccord_agreement::{compile, MessageKind, Messages};
use sipaccord_sip::Message;

use crate::fixture_files;

const INVITE: &[u8] = b"INVITE sip:+4930123456@203.0.113.10;user=phone SIP/2.0\r\n\
Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK1\r\n\
From: <sip:+4940111222@acme.example>;tag=a1\r\n\
To: <sip:+4930123456@telegent.example>\r\n\
i: call-1\r\n\
CSeq: 1 INVITE\r\n\
X-Hairpin: fmc\r\n\
X-Acme-Carrier: acme-mobile-01\r\n\
P-Asserted-Identity: \"A\" <sip:+4940111222@acme.example>, <tel:+4940111222>\r\n\
P-Served-User: <sip:+4940111222@acme.example>;sescase=orig;regstate=reg\r\n\
X-Telegent-Debug: 1\r\n\
Content-Length: 0\r\n\r\n";

const OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK1\r\n\
From: <sip:+4940111222@acme.example>;tag=a1\r\n\
To: <sip:+4930123456@telegent.example>;tag=t1\r\n\
Call-ID: call-1\r\n\
CSeq: 1 INVITE\r\n\
X-Hairpin: none\r\n\
Content-Length: 0\r\n\r\n";

#[test]
fn draft_rules_against_an_invite_and_its_answer() {
    let (_, path, src) = fixture_files("ok").into_iter().find(|f| f.0 == "telegent-acme").expect("fixture");
    let c = compile(&src, &path).contract.expect("compiles");
    let invite = Message::parse(INVITE).expect("invite parses");
    let ok = Message::parse(OK).expect("200 parses");
    let msgs = Messages::one(&invite);

    let first = &c.rules[0];
    assert!(first.selector.matches_kind("INVITE", None));
    assert!(!first.selector.matches_kind("INVITE", Some(200)));
    let held: Vec<bool> = first.obligations.iter().map(|o| o.kind.holds(&msgs)).collect();
    // X-Acme-Carrier, P-Asserted-Identity present; P-Charging-Vector missing; X-Telegent-* present.
    assert_eq!(held, [true, true, false, false]);

    let hairpin = &c.rules[1];
    assert!(hairpin.selector.condition.as_ref().expect("if").eval(&msgs));
    assert!(hairpin.obligations.iter().all(|o| o.kind.holds(&msgs)));

    let echo = &c.rules[2];
    assert!(matches!(echo.selector.message, MessageKind::Response { .. }));
    assert!(echo.selector.matches_kind("INVITE", Some(200)) && echo.selector.matches_kind("INVITE", Some(183)));
    assert!(!echo.selector.matches_kind("INVITE", Some(100)));
    let answer = Messages::response(&ok, Some(&invite));
    assert!(!echo.obligations[0].kind.holds(&answer), "fmc was answered with none");
    assert!(echo.obligations[0].kind.holds(&Messages::response(&invite, Some(&invite))));

    // Declared value grammars check the values of the message.
    for h in &c.headers {
        let Some(t) = &h.value else { continue };
        for v in invite.values(&h.name) {
            assert!(t.matches(v), "{}: {}", h.name, String::from_utf8_lossy(v));
        }
    }

    let corr = &c.correlations[0];
    let pair = Messages::pair(&invite, &invite);
    assert!(corr.matcher.eval(&pair));
    assert!(corr.obligations[0].kind.holds(&pair));
}

#[test]
fn fields_read_uri_parts_and_params() {
    let src = "agreement \"e\" version 1\npeer a { sbc 192.0.2.1 }\npeer b { sbc 192.0.2.2 }\n\
               on response 2xx to INVITE {\n  must satisfy P-Served-User.param(sescase) == \"orig\" and P-Served-User.uri.host == \"acme.example\"\n  must satisfy ruri.param(user) == \"phone\" and method == \"INVITE\" and status == 200 and request.ruri.user == \"+4930123456\"\n  must satisfy From.uri.user == To.uri.user\n}\n";
    let c = compile(src, "e");
    let contract = c.contract.unwrap_or_else(|| panic!("{:?}", c.diagnostics));
    let invite = Message::parse(INVITE).expect("invite parses");
    let mut ok_with_psu = OK.to_vec();
    let at = ok_with_psu.len() - 4;
    ok_with_psu.splice(at..at, b"\r\nP-Served-User: <sip:x@acme.example>;sescase=orig".iter().copied());
    let ok = Message::parse(&ok_with_psu).expect("200 parses");
    let msgs = Messages::response(&ok, Some(&invite));
    let held: Vec<bool> = contract.rules[0].obligations.iter().map(|o| o.kind.holds(&msgs)).collect();
    assert_eq!(held, [true, true, false]);
}

#[test]
fn peers_by_address_and_media() {
    let (_, path, src) = fixture_files("ok").into_iter().find(|f| f.0 == "telegent-acme").expect("fixture");
    let c = compile(&src, &path).contract.expect("compiles");
    let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
    assert_eq!(c.peer_at(ip("203.0.113.10"), 5080).map(|p| p.name.as_str()), Some("telegent"));
    assert_eq!(c.peer_at(ip("203.0.113.11"), 5060).map(|p| p.name.as_str()), Some("telegent"));
    assert!(c.peer_at(ip("203.0.113.11"), 5070).is_none(), "port given in the agreement must match");
    assert_eq!(c.peer_at(ip("2001:db8::20"), 5060).map(|p| p.name.as_str()), Some("acme"));
    assert!(c.peer_at(ip("192.0.2.1"), 5060).is_none());
    let acme = c.peer("acme").expect("acme");
    assert!(acme.media_contains(ip("198.51.100.31")) && !acme.media_contains(ip("198.51.100.32")));
    assert!(acme.media_contains(ip("2001:db8:0:1::99")) && !acme.media_contains(ip("2001:db8:0:2::1")));
}

#[test]
fn header_names_match_compact_forms_in_messages() {
    let invite = Message::parse(INVITE).expect("parses");
    let call_id = sipaccord_agreement::HeaderName::new("Call-ID");
    assert!(invite.headers().iter().any(|h| call_id.matches_header(h)), "`i:` is Call-ID");
    let prefix = sipaccord_agreement::HeaderName::new("x-telegent-*");
    assert!(invite.headers().iter().any(|h| prefix.matches_header(h)));
    let custom = sipaccord_agreement::HeaderName::new("x-hairpin");
    assert!(invite.headers().iter().any(|h| custom.matches_header(h)));
}

#[test]
fn selectors_match_facts() {
    use sipaccord_agreement::MessageFacts;
    let (_, path, src) = fixture_files("ok").into_iter().find(|f| f.0 == "telegent-acme").expect("fixture");
    let c = compile(&src, &path).contract.expect("compiles");
    let invite = Message::parse(INVITE).expect("parses");
    let msgs = Messages::one(&invite);
    let facts =
        MessageFacts { method: "INVITE", status: None, in_dialog: false, from: Some("acme"), to: Some("telegent") };
    let picked: Vec<usize> =
        c.rules.iter().enumerate().filter(|(_, r)| r.selector.matches(&facts, &msgs)).map(|(i, _)| i).collect();
    assert_eq!(picked, [0, 1]);
    let reinvite = MessageFacts { in_dialog: true, ..facts };
    assert!(c.rules.iter().all(|r| !r.selector.matches(&reinvite, &msgs)));
    let from_telegent = MessageFacts { from: Some("telegent"), to: Some("acme"), ..facts };
    let picked: Vec<usize> =
        c.rules.iter().enumerate().filter(|(_, r)| r.selector.matches(&from_telegent, &msgs)).map(|(i, _)| i).collect();
    assert_eq!(picked, [3]);
    let ok = Message::parse(OK).expect("parses");
    let answer = MessageFacts { status: Some(200), in_dialog: true, ..from_telegent };
    let picked: Vec<usize> = c
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.selector.matches(&answer, &Messages::response(&ok, Some(&invite))))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(picked, [2]);
    assert!(c.correlations[0].inbound.matches(&facts, &msgs));
    assert!(c.correlations[0].outbound.matches(&from_telegent, &msgs));
}
