//! Datagram and stream framing rules, and the hard limits, each a named error with its position.

use sipaccord_sip::{frame_stream, ErrorKind, Framing, Limits, Message, Position, WarningKind};

const OPTIONS: &[u8] = b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\nFrom: <sip:alice@example.com>;tag=1\r\nCall-ID: c1\r\n\
CSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody";

fn with_tail(tail: &[u8]) -> Vec<u8> {
    [OPTIONS, tail].concat()
}

#[test]
fn datagram_ignores_bytes_past_the_body_and_says_so() {
    let bytes = with_tail(b"INVITE sip:x SIP/2.0\r\n");
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.body(), b"body");
    assert_eq!(m.len(), OPTIONS.len());
    assert_eq!(m.framing_warnings()[0].kind, WarningKind::TrailingBytes(22));
}

#[test]
fn datagram_with_a_short_body_is_malformed_at_content_length() {
    let bytes = &OPTIONS[..OPTIONS.len() - 1];
    let e = Message::parse(bytes).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BodyTooShort { declared: 4, present: 3 });
    assert_eq!(e.position, Position { line: 8, column: 17 });
}

#[test]
fn truncated_headers_are_malformed_not_partial() {
    let cut = OPTIONS.iter().position(|&b| b == b'C').unwrap() + 3;
    let e = Message::parse(&OPTIONS[..cut]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnterminatedHeaders);
    assert_eq!(e.position.line, 6);
}

#[test]
fn stream_needs_more_bytes_until_the_body_is_complete() {
    let l = Limits::default();
    assert_eq!(frame_stream(&OPTIONS[..OPTIONS.len() - 1], &l), Ok(Framing::Partial));
    let two = with_tail(OPTIONS);
    assert_eq!(frame_stream(&two, &l), Ok(Framing::Complete(OPTIONS.len())));
    let m = Message::parse_stream(&two[..OPTIONS.len()], &l).unwrap();
    assert_eq!(m.body(), b"body");
}

#[test]
fn stream_with_disagreeing_content_lengths_cannot_be_framed() {
    let bytes = b"OPTIONS sip:b SIP/2.0\r\nContent-Length: 4\r\nl: 5\r\n\r\nbodyx";
    let e = frame_stream(bytes, &Limits::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConflictingContentLength("4, 5".into()));
    assert_eq!(e.position.line, 3);
}

#[test]
fn hard_limits_are_named_errors() {
    let small = Limits { max_message_size: 100, max_headers: 3, max_line_length: 40 };
    assert!(matches!(
        Message::parse_with(OPTIONS, &small).unwrap_err().kind,
        ErrorKind::LineTooLong { limit: 40 } | ErrorKind::MessageTooLarge { limit: 100, .. }
    ));
    let many_headers = Limits { max_message_size: 10_000, max_headers: 3, max_line_length: 1000 };
    let e = Message::parse_with(OPTIONS, &many_headers).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooManyHeaders { limit: 3 });
    assert_eq!(e.position.line, 5);
    let long_line = Limits { max_message_size: 10_000, max_headers: 100, max_line_length: 40 };
    let e = Message::parse_with(OPTIONS, &long_line).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LineTooLong { limit: 40 });
    assert_eq!(e.position.line, 2);
    let tiny = Limits { max_message_size: 100, max_headers: 100, max_line_length: 1000 };
    assert!(matches!(
        Message::parse_with(OPTIONS, &tiny).unwrap_err().kind,
        ErrorKind::MessageTooLarge { limit: 100, .. }
    ));
    assert!(matches!(frame_stream(OPTIONS, &tiny).unwrap_err().kind, ErrorKind::MessageTooLarge { limit: 100, .. }));
}

#[test]
fn keepalives_before_a_message_are_skipped_and_lines_still_count() {
    let bytes = [b"\r\n\r\n".as_slice(), OPTIONS].concat();
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.method(), Some("OPTIONS"));
    assert_eq!(m.headers()[0].line, 4);
    assert_eq!(m.start_line_number(), 3);
    assert_eq!(Message::parse(b"\r\n\r\n").unwrap_err().kind, ErrorKind::Empty);
}

#[test]
fn list_headers_split_and_others_do_not() {
    let bytes = b"SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b\r\n\
WWW-Authenticate: Digest realm=\"x\", nonce=\"y\"\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT\r\n\
X-List: a, b\r\nContent-Length: 0\r\n\r\n";
    let m = Message::parse(bytes).unwrap();
    assert_eq!(m.values("v").count(), 2);
    assert_eq!(m.values("WWW-Authenticate").count(), 1);
    assert_eq!(m.values("date").count(), 1);
    assert_eq!(m.values("x-list").collect::<Vec<_>>(), vec![&b"a, b"[..]]);
    assert_eq!(m.status(), Some(401));
    assert_eq!(m.response().unwrap().reason, b"Unauthorized");
}

#[test]
fn non_utf8_values_are_kept_as_bytes() {
    let bytes = b"MESSAGE sip:b SIP/2.0\r\nSubject: caf\xe9 \xff\r\nContent-Length: 0\r\n\r\n";
    let m = Message::parse(bytes).unwrap();
    assert_eq!(m.header("s").unwrap().value, b"caf\xe9 \xff");
}

#[test]
fn a_bare_cr_inside_a_value_is_a_warning_and_folding_is_not() {
    let bytes = b"MESSAGE sip:b SIP/2.0\r\nSubject: a\rb\r\nX-Folded: one\r\n two\r\nContent-Length: 0\r\n\r\n";
    let m = Message::parse(bytes).unwrap();
    let warnings: Vec<_> =
        m.validate().warnings.into_iter().filter(|w| matches!(w.kind, WarningKind::BareCarriageReturn(_))).collect();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].line, 2);
    assert_eq!(warnings[0].kind, WarningKind::BareCarriageReturn("Subject".into()));
    assert!(m.has_folded_lines());
    assert!(!Message::parse(b"MESSAGE sip:b SIP/2.0\r\nSubject: a\r\nContent-Length: 0\r\n\r\n")
        .unwrap()
        .has_folded_lines());
}

#[test]
fn a_content_length_near_the_largest_number_is_too_large_not_an_overflow() {
    // Found by fuzzing: the size reported added the head's length to the declared one.
    let text = b"OPTIONS sip:a@b SIP/2.0\r\nl: 00018446744073709551615\r\n\r\n";
    let e = Message::parse(text).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::MessageTooLarge { size: usize::MAX, .. }), "{e:?}");
    assert_eq!((e.position.line, e.position.column), (2, 4));
}
