//! Quick acceptance checks for the commonest shapes of the values [`Message::validate`] checks: a plain
//! `"Name" <sip:user@host:port;param=value>;tag=x`, a `SIP/2.0/UDP host:port;branch=x` Via, a plain
//! `sip:` Request-URI.
//!
//! Each runs in one pass over the bytes and answers true only for values the full grammar (`views`,
//! `uri`, `scan`) accepts too. Anything else (escapes, quoted strings with backslashes, IPv6 references,
//! whitespace inside, URI headers, other schemes, quoted parameter values) answers false, and
//! `validate` runs the full check, which also names the error. So these change how fast a message
//! validates, never what validation says; the tests below check that implication on generated values.
//!
//! [`crate::plain`] gives other crates the URI, name-addr and parameter scans (without the IPv4 read
//! and the tag lookup).
//!
//! [`Message::validate`]: crate::Message::validate

use std::net::Ipv4Addr;

use crate::scan::{is_lws, is_token_byte, run_while, trim, trim_start};
use crate::uri::ipv4_prefix;

/// Host bytes. For a host that is neither an IPv6 reference nor contains `:`, the full grammar
/// accepts exactly the non-empty runs of these that do not start with `-` or `.` (a dotted IPv4
/// address is such a run, and so is a dotted run of digits that is not an address).
const HOST: u8 = 1;
/// User part bytes taken here: the full grammar's, without `%` (escapes), `;` and `?`.
const USER: u8 = 2;
/// Token bytes (RFC 3261).
const TOKEN: u8 = 4;
/// Token bytes without `%`: parameter names and values in a URI, where `%` starts an escape.
const URI_PARAM: u8 = 8;
const DIGIT: u8 = 16;

/// The classes of every byte, so each scan below costs a table lookup per byte.
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut class = 0;
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_') {
            class |= HOST;
        }
        if c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' | b'&' | b'=' | b'+' | b'$' | b',' | b'/'
            )
        {
            class |= USER;
        }
        if c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~')
        {
            class |= TOKEN;
            if c != b'%' {
                class |= URI_PARAM;
            }
        }
        if c.is_ascii_digit() {
            class |= DIGIT;
        }
        table[b] = class;
        b += 1;
    }
    table
};

/// Whether every byte of `s` is an RFC 3261 token byte (true for none).
#[inline]
pub(crate) fn all_token(s: &[u8]) -> bool {
    run(s, TOKEN) == s.len()
}

/// Whether every byte of `s` is a host-name byte (letters, digits, `-`, `.`, `_`; true for none).
#[inline]
pub(crate) fn all_host(s: &[u8]) -> bool {
    run(s, HOST) == s.len()
}

/// Length of the run of bytes of `class` at the start of `s`: sixteen bytes a step with SSSE3 where
/// the target has it (see `search::classes`) while sixteen are left, else and then [`run_while`].
// Always inlined: `class` is a constant at every call, so the table is picked at compile time, and as
// a call each run cost about thirty instructions more.
#[inline(always)]
fn run(s: &[u8], class: u8) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "ssse3"))]
    if s.len() >= 16 && matches!(class, HOST | USER | TOKEN | URI_PARAM | DIGIT) {
        use crate::search::classes;
        /// The bytes of one class.
        const fn members(class: u8) -> [bool; 256] {
            let mut members = [false; 256];
            let mut b = 0;
            while b < 256 {
                members[b] = CLASS[b] & class != 0;
                b += 1;
            }
            members
        }
        static TABLES: [[u8; 16]; 5] = [
            classes::nibble_table(&members(HOST)),
            classes::nibble_table(&members(USER)),
            classes::nibble_table(&members(TOKEN)),
            classes::nibble_table(&members(URI_PARAM)),
            classes::nibble_table(&members(DIGIT)),
        ];
        return match classes::run(&TABLES[class.trailing_zeros() as usize], s) {
            Ok(n) => n,
            Err(at) => at + run_while(&s[at..], |b| CLASS[usize::from(b)] & class != 0),
        };
    }
    run_while(s, |b| CLASS[usize::from(b)] & class != 0)
}

/// Length of the run of bytes of `class` at the start of `s`, `None` when there is none.
#[inline]
fn some_run(s: &[u8], class: u8) -> Option<usize> {
    Some(run(s, class)).filter(|&n| n > 0)
}

/// A host and an optional port at the start of `s`, as the full grammar reads them.
#[derive(Clone, Copy)]
struct HostPort {
    /// Where the host ends.
    host: usize,
    /// The host as an IPv4 address, when it is one and the caller asked for it.
    ipv4: Option<Ipv4Addr>,
    port: Option<u16>,
    /// Where the host and the port end.
    end: usize,
}

/// [`HostPort`] at the start of `s`, or `None`. With `IPV4` (the views, which keep the address) a
/// host that starts with a digit is read as an address first, which also finds where it ends when
/// it is one (see [`ipv4_prefix`]); without it (validation) the host is only delimited.
// Always inlined, as `params_len` and `params_with` are: with the unrolled `run` in them they look too
// big to the compiler, but each is called from a few places only, and as calls they cost about 150
// instructions more a message (arguments and results through memory).
#[inline(always)]
fn host_port<const IPV4: bool>(s: &[u8]) -> Option<HostPort> {
    let address = match s.first() {
        Some(b'0'..=b'9') if IPV4 => {
            ipv4_prefix(s).filter(|&(_, end)| s.get(end).is_none_or(|&b| CLASS[usize::from(b)] & HOST == 0))
        }
        _ => None,
    };
    let (host, ipv4) = match address {
        Some((v4, end)) => (end, Some(v4)),
        None => (run(s, HOST), None),
    };
    if host == 0 || matches!(s[0], b'-' | b'.') {
        return None;
    }
    if s.get(host) != Some(&b':') {
        return Some(HostPort { host, ipv4, port: None, end: host });
    }
    let digits = run(&s[host + 1..], DIGIT);
    if digits == 0 || digits > 5 {
        return None;
    }
    let port = s[host + 1..host + 1 + digits].iter().fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'));
    let port = u16::try_from(port).ok()?;
    Some(HostPort { host, ipv4, port: Some(port), end: host + 1 + digits })
}

/// `;name[=value]...` at the start of `s`, names and values runs of `class` (token bytes, without
/// `%` in a URI); returns where the parameters end (at a byte that is not `;`), or `None` when one
/// is cut short.
#[inline(always)]
fn params_len(s: &[u8], class: u8) -> Option<usize> {
    let mut i = 0;
    while s.get(i) == Some(&b';') {
        i += 1 + some_run(&s[i + 1..], class)?;
        if s.get(i) == Some(&b'=') {
            i += 1 + some_run(&s[i + 1..], class)?;
        }
    }
    Some(i)
}

/// Header parameters: all of `s`.
pub(crate) fn params(s: &[u8]) -> bool {
    params_len(s, TOKEN) == Some(s.len())
}

/// The first parameter called `wanted` in header parameters that are all of `s`: `None` when `s` is
/// not such parameters; else `Some(None)` when there is no such parameter, `Some(Some(None))` when it
/// has no value, `Some(Some(Some(range)))` for its value (as `Params::get` answers on them).
/// With no `wanted` name it only checks the parameters (and answers `Some(None)`). `wanted` is
/// written in lowercase letters.
#[inline(always)]
fn params_with(s: &[u8], wanted: Option<&[u8]>) -> Option<Option<Option<(usize, usize)>>> {
    let mut found = None;
    let mut i = 0;
    while s.get(i) == Some(&b';') {
        let name = (i + 1, i + 1 + some_run(&s[i + 1..], TOKEN)?);
        i = name.1;
        let mut value = None;
        if s.get(i) == Some(&b'=') {
            value = Some((i + 1, i + 1 + some_run(&s[i + 1..], TOKEN)?));
            i = value.map_or(i, |v| v.1);
        }
        if found.is_none() && wanted.is_some_and(|w| is_named(&s[name.0..name.1], w)) {
            found = Some(value);
        }
    }
    (i == s.len()).then_some(found)
}

/// Whether the parameter name `name` is `wanted` (lowercase letters), ignoring case: the only bytes
/// that setting bit 0x20 turns into a lowercase letter are that letter in either case, so one OR a
/// byte does what `eq_ignore_ascii_case` does lowering both sides.
#[inline]
pub(crate) fn is_named(name: &[u8], wanted: &[u8]) -> bool {
    name.len() == wanted.len() && name.iter().zip(wanted).all(|(&n, &w)| n | 0x20 == w)
}

/// Where the parts of a `sip:` or `sips:` URI lie, as offsets into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SipUriParts {
    /// Where the URI ends.
    pub len: usize,
    /// `true` for `sips:`.
    pub secure: bool,
    /// The user part, when there is one (before `@`).
    pub user: Option<(usize, usize)>,
    /// The host.
    pub host: (usize, usize),
    /// The host as an IPv4 address when it is one, if the caller asked (see [`host_port`]).
    pub ipv4: Option<Ipv4Addr>,
    pub port: Option<u16>,
    /// Where the URI parameters start (at their first `;`, or at `len` when there are none).
    pub params: usize,
}

/// The `sip:` or `sips:` URI at the start of `u` (optional user without password or escapes, host,
/// optional port, URI parameters, no headers); it ends at the first byte that cannot continue it.
/// `None` when the start is no such URI. `IPV4`: whether to read the host as an IPv4 address.
pub(crate) fn sip_uri_parts<const IPV4: bool>(u: &[u8]) -> Option<SipUriParts> {
    // `sip:` as nearly always written is compared as one word, before the comparisons ignoring case.
    let scheme = if u.len() > 4 && (u.starts_with(b"sip:") || u[..4].eq_ignore_ascii_case(b"sip:")) {
        4
    } else if u.len() > 5 && u[..5].eq_ignore_ascii_case(b"sips:") {
        5
    } else {
        return None;
    };
    let user_len = run(&u[scheme..], USER);
    // Without `@` the bytes read as a user are the host: start over. Neither the host, the port nor
    // the parameters take `@`, so the `@` taken here is the only one.
    let (user, host_start) = if u.get(scheme + user_len) == Some(&b'@') {
        if user_len == 0 {
            return None;
        }
        (Some((scheme, scheme + user_len)), scheme + user_len + 1)
    } else {
        (None, scheme)
    };
    let HostPort { host, ipv4, port, end } = host_port::<IPV4>(&u[host_start..])?;
    let params = host_start + end;
    let len = params + params_len(&u[params..], URI_PARAM)?;
    Some(SipUriParts { len, secure: scheme == 5, user, host: (host_start, host_start + host), ipv4, port, params })
}

/// A whole `sip:` or `sips:` URI as [`sip_uri_parts`] reads it.
pub(crate) fn sip_uri(u: &[u8]) -> bool {
    sip_uri_parts::<false>(u).is_some_and(|p| p.len == u.len())
}

/// The parts of a name-addr [`name_addr_parts`] accepted, as `NameAddr::parse` delimits them.
pub(crate) struct NameAddrParts<'a> {
    /// The display name as written (quotes kept), `None` when absent.
    pub display: Option<&'a [u8]>,
    /// The URI between `<` and `>`.
    pub uri: &'a [u8],
    /// Where its parts lie.
    pub uri_parts: SipUriParts,
    /// The header parameters after `>`.
    pub params: &'a [u8],
    /// The `tag` parameter: `None` when absent, `Some(None)` without a value.
    pub tag: Option<Option<&'a [u8]>>,
}

/// A name-addr: optional display name (tokens, or a quoted string without backslashes), `<`, a URI
/// [`sip_uri`] takes, `>`, token header parameters.
// Inlined into the view, which then reads the parts where they were written instead of copying them.
#[inline]
pub(crate) fn name_addr_parts(value: &[u8]) -> Option<NameAddrParts<'_>> {
    name_addr_scan::<true>(value, Some(b"tag"))
}

/// [`name_addr_parts`], looking for the parameter `wanted` (the tag) or for none, and reading the
/// host as an IPv4 address with `IPV4`.
#[inline]
pub(crate) fn name_addr_scan<'a, const IPV4: bool>(
    value: &'a [u8],
    wanted: Option<&[u8]>,
) -> Option<NameAddrParts<'a>> {
    let v = trim(value);
    let (display, rest) = match v.first()? {
        b'<' => (None, v),
        b'"' => {
            // One search finds the closing quote, or a backslash before it (an escape, left to the
            // full parser).
            let close = memchr::memchr2(b'"', b'\\', &v[1..])?;
            if v[1 + close] == b'\\' {
                return None;
            }
            (Some(&v[..close + 2]), trim_start(&v[close + 2..]))
        }
        _ => {
            let n = v.iter().take_while(|&&b| is_token_byte(b) || is_lws(b)).count();
            let display = trim(&v[..n]);
            ((!display.is_empty()).then_some(display), &v[n..])
        }
    };
    let inner = rest.strip_prefix(b"<")?;
    // The URI's bytes exclude `>`, so where it ends is the first `>`, as the full parser finds it.
    let uri_parts = sip_uri_parts::<IPV4>(inner)?;
    let after = inner[uri_parts.len..].strip_prefix(b">")?;
    let tag = params_with(after, wanted)?.map(|value| value.map(|(start, end)| &after[start..end]));
    Some(NameAddrParts { display, uri: &inner[..uri_parts.len], uri_parts, params: after, tag })
}

/// Whether [`name_addr_parts`] accepts the value.
pub(crate) fn name_addr(value: &[u8]) -> bool {
    name_addr_scan::<false>(value, None).is_some()
}

/// The header parameters after `>` (from their first `;`, or empty) of a value [`name_addr`]
/// accepts.
pub(crate) fn name_addr_params(value: &[u8]) -> Option<&[u8]> {
    name_addr_scan::<false>(value, None).map(|parts| parts.params)
}

/// The parts of a Via value [`via_parts`] accepted.
pub(crate) struct ViaParts<'a> {
    /// Protocol name, version and transport.
    pub protocol: [&'a [u8]; 3],
    /// Whether the value starts `SIP/2.0/`: the name and version are then `SIP` and `2.0`.
    pub sip_2_0: bool,
    pub host: &'a [u8],
    /// The host as an IPv4 address, when it is one.
    pub ipv4: Option<Ipv4Addr>,
    pub port: Option<u16>,
    /// The parameters, from their first `;`.
    pub params: &'a [u8],
    /// The `branch` parameter: `None` when absent, `Some(None)` without a value.
    pub branch: Option<Option<&'a [u8]>>,
}

/// A Via value: `PROTOCOL/VERSION/TRANSPORT`, spaces, host, optional port, token parameters.
#[inline]
pub(crate) fn via_parts(v: &[u8]) -> Option<ViaParts<'_>> {
    via_scan::<true>(v, Some(b"branch"))
}

/// [`via_parts`], looking for the parameter `wanted` (the branch) or for none, and reading the host
/// as an IPv4 address with `IPV4`.
#[inline]
fn via_scan<'a, const IPV4: bool>(v: &'a [u8], wanted: Option<&[u8]>) -> Option<ViaParts<'a>> {
    // Nearly every Via starts `SIP/2.0/`, compared as one word (a comparison of the array would be
    // eight of bytes): the two tokens it holds read as `sent_protocol` reads them.
    let sip_2_0 =
        v.first_chunk::<8>().is_some_and(|start| u64::from_le_bytes(*start) == u64::from_le_bytes(*b"SIP/2.0/"));
    let (protocol, mut i) = if sip_2_0 {
        let n = some_run(&v[8..], TOKEN)?;
        ([&v[..3], &v[4..7], &v[8..8 + n]], 8 + n)
    } else {
        sent_protocol(v)?
    };
    let spaces = v[i..].iter().take_while(|&&b| b == b' ').count();
    if spaces == 0 {
        return None;
    }
    i += spaces;
    let HostPort { host, ipv4, port, end } = host_port::<IPV4>(&v[i..])?;
    let params = &v[i + end..];
    let branch = params_with(params, wanted)?.map(|value| value.map(|(start, end)| &params[start..end]));
    Some(ViaParts { protocol, sip_2_0, host: &v[i..i + host], ipv4, port, params, branch })
}

/// `PROTOCOL/VERSION/TRANSPORT` at the start of `v`, three token runs with a `/` after the first two,
/// and where it ends.
fn sent_protocol(v: &[u8]) -> Option<([&[u8]; 3], usize)> {
    let mut protocol = [&v[..0]; 3];
    let mut i = 0;
    for (k, part) in protocol.iter_mut().enumerate() {
        let n = some_run(&v[i..], TOKEN)?;
        *part = &v[i..i + n];
        i += n;
        if k < 2 {
            if v.get(i) != Some(&b'/') {
                return None;
            }
            i += 1;
        }
    }
    Some((protocol, i))
}

/// Whether [`via_parts`] accepts the value.
pub(crate) fn via(v: &[u8]) -> bool {
    via_scan::<false>(v, None).is_some()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    use super::*;
    use crate::{NameAddr, Uri, Via};

    #[test]
    fn every_byte_ends_a_run_of_every_class_where_it_stands() {
        for class in [HOST, USER, TOKEN, URI_PARAM, DIGIT] {
            for b in 0..=255u8 {
                for at in [0, 5, 15, 16, 17, 31, 32, 40] {
                    let mut bytes = vec![b'7'; 48];
                    bytes[at] = b;
                    let in_class = CLASS[usize::from(b)] & class != 0;
                    assert_eq!(run(&bytes, class), if in_class { 48 } else { at }, "class {class} byte {b} at {at}");
                }
            }
        }
    }

    #[test]
    fn common_values_take_the_quick_path() {
        for v in [
            "<sip:+4915158607535@127.0.20.1:5073>;tag=20a8397b-0",
            "<sip:+4930113071@127.0.10.1:5080>",
            "\"Alice Smith\" <sips:alice@example.com>;tag=1928301774",
            "Bob <sip:bob@biloxi.example.com;transport=tcp;lr>",
            "<sip:127.0.10.1:5080;transport=UDP>",
            "<sip:proxy.example.com;lr>;expires=3600;q=0.7",
        ] {
            assert!(name_addr(v.as_bytes()), "{v}");
        }
        for v in ["SIP/2.0/UDP 127.0.20.1:5073;branch=z9hG4bK-20a8-0-0", "SIP/2.0/TCP pc33.example.com;branch=z9;rport"]
        {
            assert!(via(v.as_bytes()), "{v}");
        }
        for v in ["sip:+4930113071@127.0.10.1:5080", "sip:bob@biloxi.com", "SIP:host"] {
            assert!(sip_uri(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn everything_else_goes_to_the_full_check() {
        for v in [
            "sip:alice@example.com",
            "<sip:a%40b@example.com>",
            "\"A \\\"B\\\"\" <sip:a@b>",
            "<sip:[2001:db8::1]:5060>",
            "<sip:a@b?subject=x>",
            "<tel:+1-201-555-0123>",
            "<sip:a@b>;+sip.instance=\"<urn:uuid:1>\"",
            "<sip:a@b:65536>",
            "<sip:a@-b>",
            "<sip:a:pw@b>",
            "< sip:a@b>",
            "<sip:a@b> ;tag=1",
        ] {
            assert!(!name_addr(v.as_bytes()), "{v}");
        }
        for v in ["SIP / 2.0 / UDP host", "SIP/2.0/UDP [2001:db8::1]", "SIP/2.0/UDP host;received=[::1]", "SIP/2.0/UDP"]
        {
            assert!(!via(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn names_compare_as_eq_ignore_ascii_case_does() {
        for wanted in b'a'..=b'z' {
            for b in 0..=255u8 {
                assert_eq!(is_named(&[b], &[wanted]), [b].eq_ignore_ascii_case(&[wanted]), "{b:#x}");
            }
        }
        assert!(is_named(b"BrAnch", b"branch") && !is_named(b"branc", b"branch") && !is_named(b"tags", b"tag"));
    }

    /// Values near the shapes above: a prefix, then pieces of the grammar, the characters that end its
    /// parts, and now and then one it does not allow.
    fn near(prefixes: &'static [&'static str]) -> impl Strategy<Value = String> {
        const SEPARATORS: &[&str] = &[";", "=", "@", ":", ">", ".", "-", ";tag=", ";lr", ":5060", "<sip:", "\"", " "];
        let piece = prop_oneof![
            6 => "[a-zA-Z0-9]{1,4}",
            4 => prop::sample::select(SEPARATORS).prop_map(str::to_owned),
            1 => "[%\\[\\]?,/\\\\*!~'()&$+_<\"\t\r\n]",
        ];
        (prop::sample::select(prefixes), prop::collection::vec(piece, 0..12))
            .prop_map(|(prefix, pieces)| format!("{prefix}{}", pieces.concat()))
    }

    /// Draws values and checks that whatever `quick` accepts, `full` accepts; also that the values
    /// reach the quick path often enough for that to mean something.
    fn quick_implies_full(
        strategy: impl Strategy<Value = String>,
        quick: fn(&[u8]) -> bool,
        full: impl Fn(&str) -> bool,
    ) {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let draws = 30_000;
        let mut accepted = 0;
        for _ in 0..draws {
            let value = strategy.new_tree(&mut runner).expect("strategy").current();
            if quick(value.as_bytes()) {
                accepted += 1;
                assert!(full(&value), "the quick check accepts {value:?}, the full grammar does not");
            }
        }
        assert!(accepted * 50 > draws, "only {accepted} of {draws} values took the quick path");
    }

    proptest! {
        /// Runs taken sixteen bytes a step (where the target has SSSE3), then eight and four, end where
        /// a byte-by-byte run ends, for every class and wherever the run ends within or after a step.
        #[test]
        fn runs_end_where_the_byte_loop_ends(text in prop::collection::vec(any::<u8>(), 0..40), ascii in "[a-z0-9.;@%:-]{0,70}") {
            for bytes in [&text[..], ascii.as_bytes()] {
                for class in [HOST, USER, TOKEN, URI_PARAM, DIGIT, HOST | DIGIT] {
                    let by_byte = bytes.iter().take_while(|&&b| CLASS[usize::from(b)] & class != 0).count();
                    prop_assert_eq!(run(bytes, class), by_byte);
                }
            }
        }
    }

    proptest! {
        /// A host read as an IPv4 address ends where the host run ends, and the address is the one
        /// `Host::parse` reads in the host; the port and the end are the same.
        #[test]
        fn hosts_read_as_addresses_are_delimited_as_the_run_delimits_them(
            text in "((25[0-6]|2[0-4][0-9]|1?[0-9]?[0-9]|0[0-9])\\.){0,4}[0-9]{0,4}[0-9a-z.:;-]{0,3}"
        ) {
            let (plain, read) = (host_port::<false>(text.as_bytes()), host_port::<true>(text.as_bytes()));
            let delimited = |h: HostPort| (h.host, h.port, h.end);
            prop_assert_eq!(plain.map(delimited), read.map(delimited));
            if let Some(read) = read {
                let address = match crate::Host::parse(&text[..read.host]) {
                    Ok(crate::Host::Ipv4(v4)) => Some(v4),
                    _ => None,
                };
                prop_assert_eq!(read.ipv4, address, "{}", text);
            }
        }
    }

    #[test]
    fn quick_uri_accepts_only_what_the_full_parser_accepts() {
        let prefixes = &[
            "sip:",
            "sips:",
            "SIP:",
            "sip:a@",
            "sip:+49@1.2.3.4",
            "sip:10.0.0.",
            "sip:a@255.25",
            "sip:host:",
            "tel:",
            "",
        ];
        quick_implies_full(near(prefixes), sip_uri, |u| {
            // What the quick path accepts, `Uri::parse` splits on its own: the parts must be the same.
            let full = Uri::parse_full(u.as_bytes());
            full.as_ref().is_ok_and(|p| p.headers.is_none()) && full == Uri::parse(u.as_bytes())
        });
    }

    #[test]
    fn quick_name_addr_accepts_only_what_the_full_parser_accepts() {
        let prefixes = &[
            "<sip:",
            "\"A\" <sip:a@",
            "A b <sip:",
            "<sip:a@b>",
            "<sip:a@b>;tag=",
            "<sip:a@b>;TAG=x;tag=",
            "<sip:a@b>;tag;tag=",
            "<sip:a@host",
            "<sip:a@192.168.",
            "\"",
            "<",
            " <sip:",
        ];
        quick_implies_full(near(prefixes), name_addr, |v| {
            // What the quick path accepts, `NameAddr::parse` delimits on its own: the parts must be the same.
            let full = NameAddr::parse_full(v.as_bytes());
            full.is_ok() && full == NameAddr::parse(v.as_bytes())
        });
    }

    #[test]
    fn checks_without_the_view_give_the_parsers_errors() {
        let prefixes =
            &["<sip:", "\"A\" <sip:a@", "sip:a@b;tag=", "*", " * ", "<sip:a@b>;p=\"x\"", "<sip:[::1]>", "tel:1", ""];
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = near(prefixes);
        for _ in 0..20_000 {
            let value = strategy.new_tree(&mut runner).expect("strategy").current();
            let v = value.as_bytes();
            assert_eq!(NameAddr::check(v), NameAddr::parse(v).map(drop), "{value:?}");
            assert_eq!(crate::Contact::check(v), crate::Contact::parse(v).map(drop), "{value:?}");
            assert_eq!(Uri::check(v), Uri::parse(v).map(drop), "{value:?}");
        }
    }

    #[test]
    fn quick_via_accepts_only_what_the_full_parser_accepts() {
        let prefixes = &[
            "SIP/2.0/UDP ",
            "SIP/2.0/TCP host",
            "SIP/2.0/UDP 1.2.3.4:",
            "SIP/2.0/UDP 10.0.0.",
            "SIP/2.0/UDP h;branch=",
            "SIP/2.0/UDP h;rport;BRANCH=z;branch=",
            "SIP/2.0/UDP h;branch;branch=",
            "SIP/2.0/",
            "SIP/",
        ];
        quick_implies_full(near(prefixes), via, |v| {
            // What the quick path accepts, `Via::parse` delimits on its own: the parts must be the same.
            let full = Via::parse_full(v.as_bytes());
            full.is_ok() && full == Via::parse(v.as_bytes())
        });
    }
}
