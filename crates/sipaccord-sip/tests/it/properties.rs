//! Property tests: generated well-formed messages parse back to their parts, stream framing finds every
//! message boundary however the bytes are split, and arbitrary bytes never make the parser panic.

use proptest::prelude::*;
use sipaccord_sip::{frame_stream, Framing, Limits, Message};

/// The parts a generated message is built from.
#[derive(Debug, Clone)]
struct Parts {
    method: String,
    user: String,
    host: String,
    call_id: String,
    cseq: u32,
    from_tag: String,
    branch: String,
    extra: Vec<(String, String)>,
    body: Vec<u8>,
    compact: bool,
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,15}"
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        "[A-Z]{3,10}",
        "[a-z0-9+]{1,12}",
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,3}",
        "[A-Za-z0-9.!%*_+`'~-]{1,30}(@[a-z0-9.]{1,20})?",
        0u32..(1 << 31),
        token(),
        "[A-Za-z0-9.-]{1,20}",
        prop::collection::vec(("X-[A-Za-z0-9-]{1,20}", "[ -~]{0,40}"), 0..8),
        prop::collection::vec(any::<u8>(), 0..300),
        any::<bool>(),
    )
        .prop_map(|(method, user, host, call_id, cseq, from_tag, branch, extra, body, compact)| Parts {
            method,
            user,
            host,
            call_id,
            cseq,
            from_tag,
            branch,
            extra: extra.into_iter().map(|(n, v)| (n, v.trim().to_owned())).collect(),
            body,
            compact,
        })
}

fn build(p: &Parts) -> Vec<u8> {
    let (via, from, to, call_id, length) =
        if p.compact { ("v", "f", "t", "i", "l") } else { ("Via", "From", "To", "Call-ID", "Content-Length") };
    let mut m = format!(
        "{method} sip:{user}@{host} SIP/2.0\r\n{via}: SIP/2.0/UDP {host}:5060;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\n{from}: <sip:caller@{host}>;tag={tag}\r\n{to}: sip:{user}@{host}\r\n\
         {call_id}: {cid}\r\nCSeq: {cseq} {method}\r\n",
        method = p.method,
        user = p.user,
        host = p.host,
        branch = p.branch,
        tag = p.from_tag,
        cid = p.call_id,
        cseq = p.cseq,
    );
    for (name, value) in &p.extra {
        m.push_str(&format!("{name}: {value}\r\n"));
    }
    m.push_str(&format!("{length}: {}\r\n\r\n", p.body.len()));
    let mut bytes = m.into_bytes();
    bytes.extend_from_slice(&p.body);
    bytes
}

proptest! {
    #[test]
    fn generated_messages_parse_back_to_their_parts(p in parts()) {
        let bytes = build(&p);
        let m = Message::parse(&bytes).expect("generated message parses");
        let v = m.validate();
        prop_assert!(v.is_well_formed(), "{:?}", v.errors);
        prop_assert!(v.warnings.is_empty(), "{:?}", v.warnings);
        prop_assert_eq!(m.method(), Some(p.method.as_str()));
        let uri = m.request_uri().expect("request").expect("uri");
        prop_assert_eq!(uri.user, Some(p.user.as_str()));
        prop_assert_eq!(uri.host_raw, p.host.as_str());
        prop_assert_eq!(m.call_id().unwrap(), Some(p.call_id.as_str()));
        prop_assert_eq!(m.call_id_bytes().unwrap(), Some(p.call_id.as_bytes()));
        let cseq = m.cseq().unwrap().unwrap();
        prop_assert_eq!((cseq.number, cseq.method), (p.cseq, p.method.as_str()));
        prop_assert_eq!(m.from().unwrap().unwrap().tag(), Some(p.from_tag.as_str()));
        prop_assert_eq!(m.to().unwrap().unwrap().tag(), None);
        let branch = format!("z9hG4bK{}", p.branch);
        prop_assert_eq!(m.via().unwrap().unwrap().branch(), Some(branch.as_str()));
        for (name, value) in &p.extra {
            prop_assert!(m.headers_named(name).any(|h| h.value == value.as_bytes()));
        }
        prop_assert_eq!(m.body(), &p.body[..]);
        prop_assert_eq!(m.len(), bytes.len());
        layout_round_trips(&bytes, &m);
    }

    #[test]
    fn stream_framing_finds_every_boundary(msgs in prop::collection::vec(parts(), 1..4), cut in any::<prop::sample::Index>()) {
        let messages: Vec<Vec<u8>> = msgs.iter().map(build).collect();
        let mut stream = Vec::new();
        for m in &messages {
            stream.extend_from_slice(b"\r\n");
            stream.extend_from_slice(m);
        }
        let limits = Limits::default();
        // Deliver the stream in two pieces split at an arbitrary byte; frame as bytes arrive.
        let split = cut.index(stream.len() + 1);
        let mut buffer: Vec<u8> = stream[..split].to_vec();
        let mut pending = &stream[split..];
        let mut found = Vec::new();
        loop {
            match frame_stream(&buffer, &limits).expect("framing") {
                Framing::Complete(len) => {
                    let m = Message::parse_stream(&buffer[..len], &limits).expect("framed message parses");
                    found.push(m.call_id().unwrap().unwrap_or_default().to_owned());
                    buffer.drain(..len);
                }
                Framing::Partial if !pending.is_empty() => {
                    buffer.extend_from_slice(pending);
                    pending = &[];
                }
                Framing::Partial => break,
            }
        }
        let expected: Vec<String> = msgs.iter().map(|p| p.call_id.clone()).collect();
        prop_assert_eq!(found, expected);
        prop_assert!(buffer.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic(
        p in parts(),
        // Line ends are written often: a CR or LF out of place is what the framing must survive.
        flips in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![3 => any::<u8>(), 1 => Just(b'\r'), 1 => Just(b'\n')]), 1..12),
    ) {
        let mut bytes = build(&p);
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        exercise(&bytes);
    }
}

/// Validation warns of a bare CR in exactly the header values that hold one (it only looks in
/// messages where the parser saw a CR besides the line ends).
fn bare_crs_are_all_reported(m: &Message<'_>) {
    let expected: Vec<u32> = m
        .headers()
        .iter()
        .filter(|h| h.value.iter().enumerate().any(|(i, &b)| b == b'\r' && h.value.get(i + 1) != Some(&b'\n')))
        .map(|h| h.line)
        .collect();
    let mut reported: Vec<u32> = m
        .validate()
        .warnings
        .iter()
        .filter(|w| matches!(w.kind, sipaccord_sip::WarningKind::BareCarriageReturn(_)))
        .map(|w| w.line)
        .collect();
    reported.sort_unstable();
    assert_eq!(reported, expected);
}

/// A message rebuilt from its layout is the message parsed; on shorter bytes the layout does not fit.
fn layout_round_trips(bytes: &[u8], m: &Message<'_>) {
    let layout = m.layout();
    let rebuilt = Message::from_layout(bytes, &layout).expect("the layout fits the bytes it came from");
    assert_eq!(rebuilt.input(), m.input());
    assert_eq!(rebuilt.start_line(), m.start_line());
    assert_eq!(rebuilt.headers(), m.headers());
    assert_eq!(rebuilt.body(), m.body());
    assert_eq!(rebuilt.len(), m.len());
    assert_eq!(rebuilt.framing_warnings(), m.framing_warnings());
    assert_eq!(rebuilt.has_folded_lines(), m.has_folded_lines());
    assert!(Message::from_layout(&bytes[..m.len() - 1], &layout).is_none());
}

/// Runs every entry point and typed view; only panics matter here (and that layouts round-trip).
fn exercise(bytes: &[u8]) {
    let limits = Limits { max_message_size: 1024, max_headers: 16, max_line_length: 256 };
    let _ = frame_stream(bytes, &limits);
    let _ = sipaccord_sip::find_start_line(bytes);
    for m in [Message::parse(bytes), Message::parse_with(bytes, &limits), Message::parse_stream(bytes, &limits)]
        .into_iter()
        .flatten()
    {
        layout_round_trips(bytes, &m);
        bare_crs_are_all_reported(&m);
        let _ = (m.via(), m.from(), m.to(), m.call_id(), m.cseq(), m.max_forwards());
        let _ = (m.content_length(), m.content_type(), m.request_uri());
        let _ = m.vias().count() + m.contacts().count();
        for h in m.headers() {
            let _ = h.values().count();
            let _ = h.value_unfolded();
        }
    }
}

/// A name-addr or addr-spec value with awkward but valid parts: quoted display names holding `;`, `>`
/// and escaped quotes, user parameters, URI parameters and headers, and header parameters.
fn name_addr_value() -> impl Strategy<Value = String> {
    (
        prop::option::of(prop_oneof![
            Just("\"A; b>c \\\" d\" ".to_owned()),
            Just("Alice ".to_owned()),
            "\"[a-z ;>,]{0,8}\" "
        ]),
        "[a-z0-9+]{1,8}",
        prop::option::of(Just(";npdi;rn=+1".to_owned())),
        "[a-z]{1,8}\\.example",
        prop::option::of(Just(";transport=tcp;lr".to_owned())),
        prop::option::of(Just("?X-A=b".to_owned())),
        prop::collection::vec(("[a-z]{1,5}", prop::option::of(token())), 0..4),
        prop::option::of(token()),
        any::<bool>(),
    )
        .prop_map(|(display, user, user_params, host, uri_params, headers, params, tag, bracket)| {
            let bracket = bracket || display.is_some() || headers.is_some() || uri_params.is_some();
            let uri = format!(
                "sip:{user}{}@{host}{}{}",
                user_params.unwrap_or_default(),
                if bracket { uri_params.unwrap_or_default() } else { String::new() },
                if bracket { headers.unwrap_or_default() } else { String::new() }
            );
            let mut v = if bracket { format!("{}<{uri}>", display.unwrap_or_default()) } else { uri };
            for (name, value) in params {
                v.push(';');
                v.push_str(&name);
                if let Some(value) = value {
                    v.push('=');
                    v.push_str(&value);
                }
            }
            if let Some(tag) = tag {
                v.push_str(";tag=");
                v.push_str(&tag);
            }
            v
        })
}

proptest! {
    /// The parameter-only lookups (`NameAddr::params_of`, `tag_of`, `Message::from_tag`) agree with the
    /// full parse on every value the full parse accepts.
    #[test]
    fn tag_lookups_agree_with_the_full_parse(value in name_addr_value()) {
        let full = sipaccord_sip::NameAddr::parse(value.as_bytes());
        prop_assert!(full.is_ok(), "the generator makes valid values: {value} {full:?}");
        let full = full.unwrap();
        let quick: Vec<_> = sipaccord_sip::NameAddr::params_of(value.as_bytes()).map(|p| p.map(|p| (p.name, p.value))).collect();
        let parsed: Vec<_> = full.params().map(|p| p.map(|p| (p.name, p.value))).collect();
        prop_assert_eq!(quick, parsed, "{}", value);
        prop_assert_eq!(sipaccord_sip::NameAddr::tag_of(value.as_bytes()), full.tag());
        let message = format!(
            "BYE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: {value}\r\nTo: {value}\r\n\
             Call-ID: x\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        let m = Message::parse(message.as_bytes()).unwrap();
        prop_assert_eq!(m.from_tag(), full.tag());
        prop_assert_eq!(m.to_tag(), full.tag());
        prop_assert_eq!(m.from_tag_bytes(), full.tag().map(str::as_bytes));
        prop_assert_eq!(m.to_tag_bytes(), full.tag().map(str::as_bytes));
        let found = m.validate().found;
        prop_assert!(found.from_tag(&m).is_none_or(|t| t == m.from_tag_bytes()));
        prop_assert!(found.to_tag(&m).is_none_or(|t| t == m.to_tag_bytes()));
        prop_assert_eq!(found.call_id(&m), Some(Some(&b"x"[..])));
        prop_assert_eq!(found.cseq(&m), Some(m.cseq().unwrap()));
    }

    /// The tag as bytes is the tag as text, on any value (valid or not, UTF-8 or not).
    #[test]
    fn tag_bytes_are_the_tag_text(pieces in proptest::collection::vec(proptest::sample::select(vec![
        &b"<sip:a@b>"[..], b";tag=", b";TAG=", b"x1", b"\"", b"\xff", b"\xc3\xa9", b" ", b";", b"=", b"<", b">", b"@",
    ]), 0..10)) {
        let value = pieces.concat();
        prop_assert_eq!(
            sipaccord_sip::NameAddr::tag_bytes_of(&value),
            sipaccord_sip::NameAddr::tag_of(&value).map(str::as_bytes)
        );
    }
}

#[test]
fn tag_lookups_on_hand_picked_values() {
    use sipaccord_sip::NameAddr;
    for (value, tag) in [
        ("\"Bob;tag=no>\" <sip:bob@example.com;tag=uri>;tag=yes", Some("yes")),
        ("sip:alice;tag=user@example.com;tag=1928", Some("1928")),
        ("<sip:a@b>", None),
        ("<tel:+15550100;phone-context=x>;TAG=Up", Some("Up")),
        ("  <sip:a@b> ; tag = spaced ", Some("spaced")),
    ] {
        assert_eq!(NameAddr::tag_of(value.as_bytes()), tag, "{value}");
        assert_eq!(NameAddr::tag_bytes_of(value.as_bytes()), tag.map(str::as_bytes), "{value}");
        if let Ok(full) = NameAddr::parse(value.as_bytes()) {
            assert_eq!(full.tag(), tag, "{value}");
        }
    }
    // Values the full parse rejects still give a best-effort answer and never panic.
    for value in ["<sip:a@b", "\"unterminated <sip:a@b>;tag=1", "", ";tag=x", "<>;tag"] {
        let _ = NameAddr::tag_of(value.as_bytes());
    }
}

proptest! {
    /// `Host::parse` reads a dotted IPv4 address exactly as the standard library does (no leading
    /// zeros, octets up to 255, four of them), and anything else made of digits and dots is not one.
    #[test]
    fn dotted_ipv4_hosts_read_as_the_standard_library_reads_them(text in "[0-9.]{1,17}|(25[0-9]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-9]|2[0-4][0-9]|0[0-9]|1?[0-9]?[0-9])){3}") {
        let ours = sipaccord_sip::Host::parse(&text);
        match text.parse::<std::net::Ipv4Addr>() {
            Ok(v4) => prop_assert_eq!(ours, Ok(sipaccord_sip::Host::Ipv4(v4))),
            Err(_) => prop_assert!(!matches!(ours, Ok(sipaccord_sip::Host::Ipv4(_))), "{} read as IPv4", text),
        }
    }
}

#[test]
fn validation_settles_only_the_first_from_and_to() {
    // The first From needs the full grammar (an escaped quote) and the first To is empty: neither
    // may be settled from the second header of its kind.
    let text = "BYE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
                From: \"A \\\"B\\\"\" <sip:a@b>;tag=first\r\nFrom: <sip:c@d>;tag=second\r\nTo:\r\n\
                To: <sip:e@f>;tag=other\r\nCall-ID: x\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\n\r\n";
    let m = Message::parse(text.as_bytes()).unwrap();
    let found = m.validate().found;
    assert_eq!(m.from_tag_bytes(), Some(&b"first"[..]));
    assert!(found.from_tag(&m).is_none_or(|t| t == Some(&b"first"[..])), "{found:?}");
    assert_eq!(m.to_tag_bytes(), None);
    assert!(found.to_tag(&m).is_none_or(|t| t.is_none()), "{found:?}");
    assert_eq!(found.call_id(&m), Some(Some(&b"x"[..])));
}

#[test]
fn validation_settles_the_first_cseq() {
    let message = |cseqs: &str| {
        format!(
            "BYE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n\
             To: <sip:e@f>;tag=2\r\nCall-ID: x\r\n{cseqs}Max-Forwards: 70\r\n\r\n"
        )
    };
    // The method is read where it is written, registered or not.
    for (cseqs, expected) in [
        ("CSeq: 2 BYE\r\nCSeq: 3 BYE\r\n", Some((2, "BYE"))),
        ("CSeq:  7\t BYE \r\n", Some((7, "BYE"))),
        ("CSeq: 9 FOO\r\n", Some((9, "FOO"))),
        // A first CSeq that is not one is the message's answer, even when a later one is.
        ("CSeq: x BYE\r\nCSeq: 3 BYE\r\n", None),
        ("CSeq: 2147483648 BYE\r\n", None),
    ] {
        let text = message(cseqs);
        let m = Message::parse(text.as_bytes()).unwrap();
        let found = m.validate().found.cseq(&m);
        assert_eq!(found, Some(m.cseq().ok().flatten()), "{cseqs:?}");
        assert_eq!(found.flatten().map(|c| (c.number, c.method)), expected, "{cseqs:?}");
    }
    let text = message("");
    let m = Message::parse(text.as_bytes()).unwrap();
    assert!(m.validate().found.cseq(&m).is_none_or(|c| c.is_none()));
}

#[test]
fn missing_and_repeated_headers_are_warned_once_each_in_order() {
    use sipaccord_sip::WarningKind::{MissingHeader, SeveralValues};
    // No To; Call-ID twice and Max-Forwards three times (single-valued); Via twice (a list, fine);
    // Content-Length twice (framing's concern, not validation's).
    let text = "OPTIONS sip:b@example.com SIP/2.0\r\nMax-Forwards: 70\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
                Call-ID: x\r\nMax-Forwards: 69\r\nFrom: <sip:a@b>;tag=1\r\nVia: SIP/2.0/UDP g;branch=z9hG4bK2\r\n\
                Call-ID: y\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 68\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n";
    let m = Message::parse(text.as_bytes()).unwrap();
    let validation = m.validate();
    let warnings: Vec<_> = validation.warnings.iter().map(|w| (w.line, w.kind.clone())).collect();
    assert_eq!(
        warnings,
        [
            (0, MissingHeader("To")),
            (5, SeveralValues { header: "Max-Forwards", count: 3 }),
            (8, SeveralValues { header: "Call-ID", count: 2 }),
            (12, sipaccord_sip::WarningKind::SeveralContentLengths { values: "0, 0".into() }),
        ]
    );
}

#[test]
fn parsing_in_a_kept_buffer_gives_the_same_message_without_a_new_allocation() {
    let limits = Limits::default();
    let first = b"INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n\
                  To: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    let second = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n\
                   To: <sip:b@c>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    let mut buffer = sipaccord_sip::HeaderBuffer::default();
    let m = Message::parse_in(first, &limits, false, &mut buffer).unwrap();
    assert_eq!(m.headers(), Message::parse(first).unwrap().headers());
    let room = m.headers().as_ptr();
    m.recycle(&mut buffer);
    let m = Message::parse_in(second, &limits, true, &mut buffer).unwrap();
    let plain = Message::parse_stream(second, &limits).unwrap();
    assert_eq!((m.start_line(), m.headers(), m.len()), (plain.start_line(), plain.headers(), plain.len()));
    assert_eq!(m.headers().as_ptr(), room, "the second parse allocated its own room");
    // A parse that fails loses the room, and the next parse makes its own.
    m.recycle(&mut buffer);
    assert!(Message::parse_in(b"INVITE\r\n\r\n", &limits, false, &mut buffer).is_err());
    let m = Message::parse_in(first, &limits, false, &mut buffer).unwrap();
    assert_eq!(m.headers().len(), 7);
}
