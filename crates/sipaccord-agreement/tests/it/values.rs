//! Value-type matching against compiled types.

use sipaccord_agreement::{compile, ValueType};

/// Compiles `type`, declared as a header's value, and returns it.
fn ty(decl: &str) -> ValueType {
    let src = format!(
        "agreement \"v\" version 1\npeer a {{ sbc 192.0.2.1 }}\npeer b {{ sbc 192.0.2.2 }}\ntype e164x = /\\+[1-9][0-9]{{6,14}}/\nheader X-T {{ value {decl} }}\non INVITE {{ may have X-T }}\n"
    );
    let c = compile(&src, "t");
    let contract = c.contract.unwrap_or_else(|| panic!("{decl}: {:?}", c.diagnostics));
    contract.headers[0].value.clone().expect("value")
}

#[test]
fn e164() {
    let t = ty("e164");
    for ok in ["+4930123456", "+1234567", "+123456789012345"] {
        assert!(t.matches(ok.as_bytes()), "{ok}");
    }
    for bad in ["4930123456", "+0123456789", "+123456", "+1234567890123456", "+49 30 1234", ""] {
        assert!(!t.matches(bad.as_bytes()), "{bad}");
    }
}

#[test]
fn name_addr_with_user_e164() {
    let t = ty("name-addr(user: e164)");
    assert!(t.matches(b"\"Alice\" <sip:+4930123456@example.com;user=phone>"));
    assert!(t.matches(b"<tel:+4930123456>"));
    assert!(t.matches(b"sip:+4930123456@192.0.2.1"));
    assert!(!t.matches(b"<sip:alice@example.com>"));
    assert!(!t.matches(b"\"Alice\" sip:+4930123456@example.com"));
    assert!(!t.matches(b"not a uri"));
}

#[test]
fn uri_field_constraints() {
    let t = ty("sip-uri(user: e164, port: integer(5060..5061), scheme: \"sips\")");
    assert!(t.matches(b"sips:+4930123456@example.com:5061"));
    assert!(!t.matches(b"sip:+4930123456@example.com:5061"));
    assert!(!t.matches(b"sips:+4930123456@example.com:5070"));
    assert!(!t.matches(b"sips:+4930123456@example.com"));
    let tel = ty("tel-uri(user: e164)");
    assert!(tel.matches(b"tel:+4930123456"));
    assert!(!tel.matches(b"sip:+4930123456@example.com"));
}

#[test]
fn params_required_and_closed() {
    let open = ty("params { icid-value: token required, orig-ioi: token }");
    assert!(open.matches(b"icid-value=abc123;orig-ioi=home1.net;other=1"));
    assert!(open.matches(b"icid-value=\"abc\""));
    assert!(!open.matches(b"orig-ioi=home1.net"));
    assert!(!open.matches(b"icid-value=a b"));
    let closed = ty("token params closed { zone: integer required, prio }");
    assert!(closed.matches(b"east;zone=4;prio"));
    assert!(closed.matches(b"east;zone=4"));
    assert!(!closed.matches(b"east;zone=4;other=1"));
    assert!(!closed.matches(b"east;zone=x"));
    assert!(!closed.matches(b"east"));
    assert!(!closed.matches(b"ea st;zone=4"));
    let na = ty("name-addr params { sescase: \"orig\" | \"term\" }");
    assert!(na.matches(b"<sip:alice@example.com>;sescase=orig;regstate=reg"));
    assert!(!na.matches(b"<sip:alice@example.com>;sescase=both"));
}

#[test]
fn integer_ranges() {
    let t = ty("integer(10..20)");
    assert!(t.matches(b"10") && t.matches(b"20") && t.matches(b" 15 "));
    assert!(!t.matches(b"9") && !t.matches(b"21") && !t.matches(b"-1") && !t.matches(b"1x") && !t.matches(b""));
    let any = ty("integer");
    assert!(any.matches(b"0") && any.matches(b"18446744073709551615"));
    assert!(!any.matches(b"18446744073709551616"));
}

#[test]
fn regex_is_anchored() {
    let t = ty("/[a-z]+/");
    assert!(t.matches(b"abc"));
    assert!(!t.matches(b"abc1"));
    assert!(!t.matches(b"1abc"));
    let alt = ty("/a|b/");
    assert!(alt.matches(b"a") && alt.matches(b"b"));
    assert!(!alt.matches(b"ab") && !alt.matches(b"xa"));
}

#[test]
fn literals_and_alternatives() {
    let t = ty("\"fmc\" | \"none\" | e164x");
    assert!(t.matches(b"fmc") && t.matches(b"none") && t.matches(b"+4930123456"));
    assert!(!t.matches(b"FMC") && !t.matches(b"maybe"));
}

#[test]
fn other_builtins() {
    assert!(ty("token").matches(b"acme-mobile-01") && !ty("token").matches(b"a b"));
    assert!(ty("quoted-string").matches(b"\"a \\\" b\"") && !ty("quoted-string").matches(b"\"a"));
    assert!(ty("host").matches(b"sbc.example.com") && ty("host").matches(b"[2001:db8::1]"));
    assert!(ty("ipv4").matches(b"192.0.2.1") && !ty("ipv4").matches(b"192.0.2.256"));
    assert!(
        ty("ipv6").matches(b"2001:db8::1") && ty("ipv6").matches(b"[2001:db8::1]") && !ty("ipv6").matches(b"192.0.2.1")
    );
    assert!(
        ty("uuid").matches(b"123e4567-e89b-12d3-a456-426614174000")
            && !ty("uuid").matches(b"123e4567e89b12d3a456426614174000")
    );
    assert!(ty("any").matches(b"") && ty("any").matches(b"whatever, really"));
    assert!(ty("uri").matches(b"https://example.com/x") && !ty("uri").matches(b"no-scheme"));
}

#[test]
fn header_names_resolve_compact_forms() {
    let src = "agreement \"v\" version 1\npeer a { sbc 192.0.2.1 }\npeer b { sbc 192.0.2.2 }\nheader i { value any }\non INVITE { must have CALL-ID }\n";
    let c = compile(src, "t").contract.expect("compiles");
    assert_eq!(c.headers[0].name, "Call-ID");
    assert!(c.header("i").is_some() && c.header("call-id").is_some());
}

#[test]
fn list_headers_check_each_value() {
    let src = "agreement \"v\" version 1\npeer a { sbc 192.0.2.1 }\npeer b { sbc 192.0.2.2 }\n\
               header P-Asserted-Identity { value name-addr(user: e164); list; max 2; example \"<sip:+4930123456@a.example>, <tel:+4930123456>\" }\n\
               header X-One { value e164 }\non INVITE { may have P-Asserted-Identity; may have X-One }\n";
    let c = compile(src, "t").contract.expect("compiles");
    let pai = c.header("p-asserted-identity").expect("declared");
    let line = b"\"A, B\" <sip:+4930123456@a.example>, <sip:bob@b.example>";
    assert_eq!(pai.values(line).count(), 2);
    let bad: Vec<&[u8]> = pai.bad_values(line).collect();
    assert_eq!(bad, [b"<sip:bob@b.example>".as_slice()]);
    let one = c.header("X-One").expect("declared");
    assert_eq!(one.values(b"+4930123456, +4940111222").count(), 1, "not a list: one value");
}

#[test]
fn regex_flags_and_classes() {
    let t = ty("/(?i)fmc|\\w+-\\d{2}/");
    assert!(t.matches(b"FMC") && t.matches(b"acme-01"));
    assert!(!t.matches(b"acme-1"));
}

/// Bytes that make values of the simple types, their near misses, blanks, and bytes that are not
/// UTF-8.
fn value_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let random =
        proptest::collection::vec(proptest::sample::select(b"0123456789+-.!~_az AZ\t;=\"\xc3\xa9\xff".to_vec()), 0..22);
    let near = proptest::sample::select(vec![
        &b"+4930123456"[..],
        b"+0930123456",
        b"+493012",
        b"+4930123456789012",
        b"az",
        b"+1",
        "é".as_bytes(),
        b"10",
        b"5000",
        b"5001",
        b"0009",
        b"18446744073709551616",
        b"a\xff",
    ])
    .prop_map(<[u8]>::to_vec);
    let blanks = || proptest::sample::select(vec![&b""[..], b" ", b"\t ", b"\xff"]);
    (blanks(), prop_oneof![random, near], blanks()).prop_map(|(a, core, b)| [a, &core[..], b].concat())
}

/// What a value of a simple type reads as, checked the slow way: as text, trimmed of blanks.
fn as_text(v: &[u8]) -> Option<&str> {
    std::str::from_utf8(v).ok().map(|t| t.trim_matches([' ', '\t']))
}

proptest::proptest! {
    /// The types checked on bytes answer as reading the value as text would.
    #[test]
    fn byte_checks_agree_with_text(v in value_bytes()) {
        let text = as_text(&v);
        let integer = text
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<u64>().ok())
            .is_some_and(|n| (10..=5000).contains(&n));
        proptest::prop_assert_eq!(ty("integer(10..5000)").matches(&v), integer);
        let token = text.is_some_and(|t| {
            !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
        });
        proptest::prop_assert_eq!(ty("token").matches(&v), token);
        let e164 = text.and_then(|t| t.strip_prefix('+')).is_some_and(|d| {
            (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
        });
        proptest::prop_assert_eq!(ty("e164").matches(&v), e164);
        let literal = text.is_some_and(|t| t == "az" || t == "+1" || t == "é");
        proptest::prop_assert_eq!(ty("\"az\" | \"+1\" | \"é\"").matches(&v), literal);
    }
}

/// Bytes that make hosts and IPv4 addresses, their near misses, and bytes that are not UTF-8.
fn host_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let random = proptest::collection::vec(proptest::sample::select(b"0125.9:-_[]aZ \xc3\xa9\xff".to_vec()), 0..20);
    let near = proptest::sample::select(vec![
        &b"127.0.20.1"[..],
        b"255.255.255.255",
        b"256.1.1.1",
        b"199.1.1.1",
        b"250.1.1.1",
        b"01.2.3.4",
        b"0.0.0.0",
        b"1.2.3.04",
        b"1.2.3.4.5",
        b"1.2.3",
        b"1..2.3",
        b"1.2.3.",
        b"1000.2.3.4",
        b"[::1]",
        b"[2001:db8::1]",
        b"[::1",
        b"::1",
        b"[]",
        b"[",
        b"sbc.example.com",
        b"a.b-c_d",
        b"-a",
        b".a",
        b"_a",
        b"a:5060",
    ])
    .prop_map(<[u8]>::to_vec);
    let blanks = || proptest::sample::select(vec![&b""[..], b" ", b"\t ", b"\xff"]);
    (blanks(), prop_oneof![random.clone(), near.clone(), (near, random).prop_map(|(a, b)| [a, b].concat())], blanks())
        .prop_map(|(a, core, b)| [a, &core[..], b].concat())
}

/// Pieces of name-addr and parameter values, with quotes, blanks and bytes that are not UTF-8.
fn structured_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let pieces = proptest::sample::select(vec![
        &b"<sip:+4930123456@a.example>"[..],
        b"<sip:bob@192.0.2.1:5060;lr>",
        b"sip:+4930123456@a.example",
        b"tel:+4930123456",
        b"\"Al \xc3\xa9\" ",
        b"\"Al \xff\" ",
        b"\xff",
        b";tag=1",
        b";tag=\"q\"",
        b";sescase=orig",
        b";zone=4",
        b"icid-value=ab1",
        b";icid-value=\"x\xff\"",
        b";icid-generated-at=127.0.0.1",
        b";icid-generated-at=[::1]",
        b";orig-ioi=home1.net",
        b"east",
        b" ",
        b";",
        b"=",
    ]);
    proptest::collection::vec(pieces, 0..5).prop_map(|ps| ps.concat())
}

proptest::proptest! {
    /// Hosts and IPv4 addresses, checked on bytes, answer as the parsers they stand for.
    #[test]
    fn host_checks_agree_with_parsers(v in host_bytes()) {
        let text = as_text(&v);
        let host = text.is_some_and(|t| sipaccord_sip::Host::parse(t).is_ok());
        proptest::prop_assert_eq!(ty("host").matches(&v), host, "{:?}", String::from_utf8_lossy(&v));
        let ipv4 = text.is_some_and(|t| t.parse::<std::net::Ipv4Addr>().is_ok());
        proptest::prop_assert_eq!(ty("ipv4").matches(&v), ipv4, "{:?}", String::from_utf8_lossy(&v));
        proptest::prop_assert_eq!(ty("host | \"x\"").matches(&v), host || text == Some("x"));
    }

    /// Types whose parsers read bytes answer as the text path does, and not for bytes that are not
    /// UTF-8.
    #[test]
    fn byte_parsed_types_agree_with_text(v in structured_bytes()) {
        for decl in [
            "name-addr(user: e164)",
            "name-addr(user: e164x)",
            "name-addr params { tag: token, sescase: \"orig\" | \"term\" }",
            "params { icid-value: token required, icid-generated-at: host, orig-ioi: token }",
            "params closed { icid-value: quoted-string | token }",
            "token params { zone: integer }",
            "sip-uri(user: e164) params { tag }",
            "uri(host: host)",
            "sip-uri | name-addr",
        ] {
            let t = ty(decl);
            let text = std::str::from_utf8(&v).is_ok_and(|s| t.matches_str(s));
            proptest::prop_assert_eq!(t.matches(&v), text, "{} on {:?}", decl, String::from_utf8_lossy(&v));
        }
    }
}

/// Values near the shapes the byte scans read (name-addrs, `sip:` URIs, parameter lists), part by
/// part: each part mostly one of its common forms, else a near miss (escapes, IPv6, whitespace,
/// quotes, other schemes, ports out of range, empty names and values, bytes that are not UTF-8).
fn scanned_shapes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    type Options = &'static [&'static [u8]];
    fn part(common: Options, near: Options) -> impl Strategy<Value = &'static [u8]> + Clone {
        prop_oneof![4 => proptest::sample::select(common), 1 => proptest::sample::select(near)]
    }
    let display = part(
        &[b"", b"\"Alice\" ", b"Bob ", b"\"Al \xc3\xa9\"", b"Bob\t Smith"],
        &[b"\"Al \xff\" ", b"\"a\\\"b\" ", b"\"a<b>\" ", b"\"open ", b"B@b ", b" "],
    );
    let open = part(&[b"<"], &[b"", b"< "]);
    let scheme = part(&[b"sip:", b"SIP:", b"sips:"], &[b"tel:", b"http:", b"si:", b"", b"Sips:"]);
    let user =
        part(&[b"+4915112345678@", b"alice@", b""], &[b"+0930123@", b"a%40b@", b"a;b@", b"@", b"a:pw@", b"+49 30@"]);
    let host = part(
        &[b"acme.example", b"127.0.20.1", b"a_b"],
        &[b"192.0.2.256", b"-a", b".a", b"[::1]", b"[::1", b"", b"h\xc3\xa9"],
    );
    let port = part(&[b"", b":5060", b":5061", b":05060"], &[b":65535", b":65536", b":0", b":", b":123456", b":x"]);
    let uri_params =
        part(&[b"", b";lr", b";transport=tcp", b";user=phone;lr"], &[b";a=%41", b";=x", b";", b";a=", b"?h=1"]);
    let close = part(&[b">"], &[b"", b" >", b">>"]);
    let params = part(
        &[
            b"",
            b";tag=1",
            b";sescase=orig",
            b";SESCASE=term",
            b";regstate=reg;sescase=term",
            b";lr;tag=1",
            b";zone=4;prio",
            b";icid-value=1234bc9876e;icid-generated-at=127.0.20.1;orig-ioi=acme",
            b";y=a[b",
        ],
        &[
            b";sescase=other",
            b";tag=\"q\"",
            b";tag=\"q\xc3\xa9\"",
            b";y=[::1]",
            b" ;tag=1",
            b"; tag=1",
            b";tag =1",
            b";tag",
            b";a=",
            b";",
            b";;",
            b"x",
            b";zone=04;note=\"n\"",
            b";ICID-VALUE=ab;icid-generated-at=-a",
            b";icid-value=ab;icid-generated-at=[::1]",
            b";icid-value=ab\xff",
            b"\r\n",
        ],
    );
    let blank = part(&[b"", b" ", b"\t"], &[b"\xff", b"\r\n"]);
    let name_addr = (
        display,
        open,
        scheme.clone(),
        user.clone(),
        host.clone(),
        port.clone(),
        uri_params.clone(),
        close,
        params.clone(),
    )
        .prop_map(|(d, o, s, u, h, p, up, c, hp)| [d, o, s, u, h, p, up, c, hp].concat());
    let uri = (scheme, user, host, port, uri_params).prop_map(|(s, u, h, p, up)| [s, u, h, p, up].concat());
    let bare_params = (prop::collection::vec(params.clone(), 1..4), any::<bool>()).prop_map(|(ps, unprefixed)| {
        let joined = ps.concat();
        // Without its first `;`, as a header whose whole value is parameters is written.
        if unprefixed && joined.first() == Some(&b';') {
            joined[1..].to_vec()
        } else {
            joined
        }
    });
    let token_params = (part(&[b"east"], &[b"e\xc3\xa9", b"", b"a b"]), prop::collection::vec(params, 1..4))
        .prop_map(|(t, ps)| [t, &ps.concat()[..]].concat());
    // Name-addrs twice as often as the others: the name-addr scan (`sipaccord_sip::plain::name_addr`)
    // takes only token header parameters, so fewer of them reach it than reach the other scans.
    (blank.clone(), prop_oneof![2 => name_addr, 1 => uri, 1 => bare_params, 1 => token_params], blank)
        .prop_map(|(a, core, b)| [a, &core[..], b].concat())
}

/// Types built on the byte scans, with every kind of constraint on their parts.
const SCANNED_TYPES: &[&str] = &[
    "name-addr",
    "name-addr(user: e164x)",
    "name-addr(user: e164, host: host, port: integer(5060..5061), scheme: \"sip\")",
    "name-addr(host: ipv4 | \"acme.example\", port: integer)",
    "name-addr params { tag: token, sescase: \"orig\" | \"term\", regstate: \"reg\" | \"unreg\" }",
    "name-addr(user: e164x) params closed { tag, lr, sescase: \"orig\" | \"term\" }",
    "sip-uri",
    "sip-uri(user: e164, host: host, port: integer(5060..5061))",
    "sip-uri(user: e164) params { tag }",
    "uri(scheme: \"sip\" | \"sips\" | \"tel\")",
    "uri(host: host)",
    "tel-uri(user: e164)",
    "sip-uri | name-addr",
    "params { icid-value: token required, icid-generated-at: host, orig-ioi: token, term-ioi: token }",
    "params closed { icid-value: quoted-string | token }",
    "params { tag: \"1\" | \"Q\", zone: integer(1..9), y: ipv4, lr: /[a-z]+/, prio: any }",
    "params closed { zone: integer required, prio, note: quoted-string, tag: host }",
    "token params closed { zone: integer required, prio, note: quoted-string }",
];

/// [`SCANNED_TYPES`] compiled, once for all cases.
fn scanned_types() -> &'static [ValueType] {
    static TYPES: std::sync::OnceLock<Vec<ValueType>> = std::sync::OnceLock::new();
    TYPES.get_or_init(|| SCANNED_TYPES.iter().map(|decl| ty(decl)).collect())
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 4096, ..proptest::test_runner::Config::default() })]

    /// The byte scans answer as the parsers they stand in for (`ValueType::matches_general` reads
    /// every value with `NameAddr::parse`, `Uri::parse` and `Params`), and as the text entry point.
    #[test]
    fn byte_scans_agree_with_the_parsers(v in scanned_shapes()) {
        for (decl, t) in SCANNED_TYPES.iter().zip(scanned_types()) {
            let general = t.matches_general(&v);
            proptest::prop_assert_eq!(t.matches(&v), general, "{} on {:?}", decl, String::from_utf8_lossy(&v));
            if let Ok(text) = std::str::from_utf8(&v) {
                proptest::prop_assert_eq!(t.matches_str(text), general, "{} on {:?} as text", decl, text);
            }
        }
    }
}

/// The generated values reach each byte scan often, and so do values the parsers read: the comparison
/// above covers both sides of every scan.
#[test]
fn generated_values_reach_the_byte_scans() {
    use proptest::strategy::{Strategy, ValueTree};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = scanned_shapes();
    let mut counts = std::collections::BTreeMap::new();
    let draws = 4096;
    for _ in 0..draws {
        let v = strategy.new_tree(&mut runner).expect("strategy").current();
        *counts.entry(sipaccord_agreement::byte_scan_of(&v).unwrap_or("parsers")).or_insert(0) += 1;
    }
    for shape in ["name-addr", "sip-uri", "params", "parsers"] {
        let n = counts.get(shape).copied().unwrap_or(0);
        assert!(n * 20 > draws, "{shape}: {n} of {draws} ({counts:?})");
    }
}

#[test]
fn common_values_match_on_both_paths() {
    for (decl, value, expected) in [
        ("name-addr(user: e164x)", &b"<sip:+4915112345678@acme.example>"[..], true),
        ("name-addr(user: e164x)", b"\"Acme\" <sip:+4915112345678@acme.example;user=phone>;tag=a1", true),
        ("name-addr(user: e164x)", b"<sip:+0915112345678@acme.example>", false),
        ("name-addr(user: e164x)", b"<sip:+4915112345678@acme.example> ;tag=1", true),
        ("name-addr(user: e164x)", b"<sip:+4915112345678@acme.example>x", false),
        ("name-addr(port: integer(5060..5060))", b"<sip:a@b:05060>", true),
        ("name-addr(scheme: \"sip\")", b"<SIP:a@b>", true),
        ("name-addr params { sescase: \"orig\" | \"term\" }", b"<sip:+49@a>;sescase=orig", true),
        ("name-addr params { sescase: \"orig\" | \"term\" }", b"<sip:+49@a>;SesCase=term", true),
        ("name-addr params { sescase: \"orig\" | \"term\" }", b"<sip:+49@a>;sescase=Orig", false),
        ("name-addr params { sescase: \"orig\" | \"term\" }", b"<sip:+49@a>;sescase=\"orig\"", true),
        (
            "params { icid-value: token required, icid-generated-at: host }",
            b"icid-value=1a;icid-generated-at=127.0.20.1",
            true,
        ),
        ("params { icid-value: token required, icid-generated-at: host }", b"icid-generated-at=127.0.20.1", false),
        (
            "params { icid-value: token required, icid-generated-at: host }",
            b"icid-value=1a;icid-generated-at=-a",
            false,
        ),
        (
            "params { icid-value: token required, icid-generated-at: host }",
            b"icid-value=1a;icid-generated-at=[::1]",
            true,
        ),
        ("params { icid-value: token required, icid-generated-at: host }", b"icid-value=1a; icid-generated-at=a", true),
        ("params { icid-value: token required }", b"icid-value=a[b", false),
        ("params closed { a }", b";a;b", false),
        ("sip-uri(user: e164, port: integer(5060..5061))", b"sip:+4930123456@a:5061;lr", true),
        ("sip-uri(user: e164, port: integer(5060..5061))", b"sip:+4930123456@a:5062", false),
        ("tel-uri(user: e164)", b"sip:+4930123456@a", false),
        ("tel-uri(user: e164)", b"tel:+4930123456", true),
    ] {
        let t = ty(decl);
        assert_eq!(t.matches(value), expected, "{decl} on {:?}", String::from_utf8_lossy(value));
        assert_eq!(t.matches_general(value), expected, "{decl} on {:?} (parsers)", String::from_utf8_lossy(value));
    }
}
