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
