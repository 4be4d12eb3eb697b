//! `Message::parse` on arbitrary bytes, then everything a caller can ask of the result: validation,
//! every typed view, every header's values and parameters, URIs and positions. The parser promises
//! never to panic on any input; this target also checks the few invariants its documentation states
//! (parts borrow from the input, offsets are in bounds, unfolded values have no line feeds).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipaccord_sip::{
    parse_call_id, parse_checked, parse_u32, unescape, unfold, CSeq, Contact, ContentType, Header, Host, KnownHeader,
    Limits, Message, NameAddr, Params, Uri, Via,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::parse(data) {
        exercise(data, &msg);
    }
    // The same bytes as a stream message, and under tight limits (every limit check reachable).
    if let Ok(msg) = Message::parse_stream(data, &Limits::default()) {
        exercise(data, &msg);
    }
    let tight = Limits { max_message_size: 512, max_headers: 8, max_line_length: 96 };
    if let Ok(msg) = Message::parse_with(data, &tight) {
        let keepalives = data.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        assert!(msg.len() - keepalives <= tight.max_message_size, "message larger than max_message_size");
        exercise(data, &msg);
    }
    if let Ok((msg, _warnings)) = parse_checked(data) {
        assert!(msg.validate().errors.is_empty(), "parse_checked accepted a message validate rejects");
    }
});

/// Whether `part` lies inside `whole` (an empty part may sit at its end).
fn within(whole: &[u8], part: &[u8]) -> bool {
    let start = whole.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    (part.is_empty() && (start..=start + whole.len()).contains(&p))
        || (p >= start && p + part.len() <= start + whole.len())
}

fn exercise(data: &[u8], msg: &Message<'_>) {
    assert!(msg.len() <= data.len(), "message longer than its input");
    assert!(within(data, msg.body()), "body outside the input");
    assert!(within(data, msg.first_line()));
    let _ = (msg.start_line(), msg.method(), msg.status(), msg.start_line_number(), msg.framing_warnings());

    let validation = msg.validate();
    for e in &validation.errors {
        let _ = e.to_string();
    }
    for w in &validation.warnings {
        let _ = w.to_string();
    }

    // Typed views of the message.
    if let Ok(Some(via)) = msg.via() {
        via_parts(&via);
    }
    for via in msg.vias().flatten() {
        via_parts(&via);
    }
    for n in [msg.from(), msg.to()].into_iter().flatten().flatten() {
        name_addr_parts(&n);
    }
    let _ = msg.call_id();
    let _ = msg.cseq();
    let _ = msg.max_forwards();
    let _ = msg.content_length();
    if let Ok(Some(ct)) = msg.content_type() {
        ct.params().for_each(drop);
    }
    for contact in msg.contacts().flatten() {
        if let Contact::Address(n) = contact {
            name_addr_parts(&n);
        }
    }
    if let Some(Ok(uri)) = msg.request_uri() {
        uri_parts(&uri);
    }

    // Every header, through every view that takes a value.
    for h in msg.headers() {
        header_parts(data, msg, h);
    }
    for name in ["Via", "v", "Contact", "X-Unknown", "call-id", ""] {
        let _ = msg.header(name);
        msg.values(name).for_each(drop);
    }
    for known in KnownHeader::all() {
        let _ = msg.known_header(known).map(Header::canonical_name);
    }
    // Positions of a few offsets, including past the end.
    for offset in [0, data.len() / 2, data.len(), data.len() + 1] {
        let _ = msg.position_at(offset);
    }
}

fn header_parts(data: &[u8], msg: &Message<'_>, h: &Header<'_>) {
    assert!(within(data, h.name), "header name outside the input");
    assert!(within(data, h.value), "header value outside the input");
    assert!((h.offset as usize) <= data.len() && (h.value_offset as usize) <= data.len());
    let _ = (h.canonical_name(), h.is("via"), h.is("X-Other"), h.value_column(), h.error("fuzz"));
    let unfolded = h.value_unfolded();
    // Folding (CRLF or LF plus whitespace) is gone; a bare CR inside a line is not folding and may stay.
    assert!(!unfolded.contains(&b'\n'), "unfolded value keeps a line feed");
    let _ = unfold(h.value);
    let _ = unescape(h.value);
    let _ = msg.position_at(h.value_offset as usize);
    for element in h.values() {
        assert!(within(data, element), "list element outside the input");
        if let Ok(v) = Via::parse(element) {
            via_parts(&v);
        }
        if let Ok(n) = NameAddr::parse(element) {
            name_addr_parts(&n);
        }
        if let Ok(Contact::Address(n)) = Contact::parse(element) {
            name_addr_parts(&n);
        }
        if let Ok(u) = Uri::parse(element) {
            uri_parts(&u);
        }
        Params::new(element).for_each(drop);
    }
    let _ = CSeq::parse(h.value);
    if let Ok(ct) = ContentType::parse(h.value) {
        ct.params().for_each(drop);
    }
    let _ = parse_call_id(h.value);
    let _ = parse_u32(h.value);
    if let Ok(text) = std::str::from_utf8(h.value) {
        let _ = Host::parse(text);
    }
}

fn via_parts(via: &Via<'_>) {
    let _ = (via.branch(), via.received(), via.rport(), via.host.to_string());
    for p in via.params().flatten() {
        let _ = (p.name_str(), p.value_unquoted());
    }
}

fn name_addr_parts(n: &NameAddr<'_>) {
    let _ = (n.tag(), n.display_name_unquoted());
    n.params().for_each(drop);
    uri_parts(&n.uri);
}

fn uri_parts(uri: &Uri<'_>) {
    let _ = (uri.param("transport"), uri.param("lr"), uri.user_unescaped());
    uri.params().for_each(drop);
    if let Some(host) = uri.host {
        let _ = host.to_string();
    }
}
