//! Byte scans for the commonest shapes of the structured values the value types check: a plain
//! `["Name"] <sip:user@host:port;p=v>;a=b` name-addr, a plain `sip:` URI and plain `;name=value`
//! parameters. Each delimits what `sipaccord_sip`'s parsers (`NameAddr::parse`, `Uri::parse`,
//! `Params`) delimit for such a value, in one pass and without building their views (no UTF-8 check,
//! no IPv4 address read, no `tag` lookup); anything else answers `None` and the caller runs those
//! parsers. The scans mirror the quick paths in `sipaccord_sip::quick` and `scan::plain_param`, which
//! that crate checks against its full grammar; `tests/it/values.rs` checks the value types built on
//! these against the parsers.

/// Host bytes (`sipaccord_sip::Host::parse` takes non-empty runs of them not starting with `-` or
/// `.`, and nothing else but IPv6 references).
pub(crate) const HOST: u8 = 1;
/// User part bytes as the quick URI scan takes them: the full grammar's without `%`, `;` and `?`.
const USER: u8 = 2;
/// Token bytes without `%`: URI parameter names and values as the quick URI scan takes them.
const URI_PARAM: u8 = 4;
/// Header parameter name bytes (`scan::PARAM_NAME`).
const PARAM_NAME: u8 = 8;
/// Header parameter value bytes (`scan::PARAM_VALUE`).
const PARAM_VALUE: u8 = 16;
/// RFC 3261 token bytes.
pub(crate) const TOKEN: u8 = 32;
/// Decimal digits.
const DIGIT: u8 = 64;

/// The classes of every byte: one load a byte for each scan.
pub(crate) static CLASS: [u8; 256] = {
    const fn has(set: &[u8], c: u8) -> bool {
        let mut i = 0;
        while i < set.len() {
            if set[i] == c {
                return true;
            }
            i += 1;
        }
        false
    }
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let alnum = c.is_ascii_alphanumeric();
        let mut class = 0;
        if alnum || has(b"-._", c) {
            class |= HOST;
        }
        if alnum || has(b"-_.!~*'()&=+$,/", c) {
            class |= USER;
        }
        if alnum || has(b"-.!%*_+`'~", c) {
            class |= TOKEN;
            if c != b'%' {
                class |= URI_PARAM;
            }
        }
        if alnum || has(b"-.!%*_+`'~[]/:&$", c) {
            class |= PARAM_NAME;
        }
        if alnum || has(b"-.!%*_+`'~:[]/&$@?()", c) {
            class |= PARAM_VALUE;
        }
        if c.is_ascii_digit() {
            class |= DIGIT;
        }
        table[b] = class;
        b += 1;
    }
    table
};

/// Length of the run of bytes of `class` at the start of `s`.
#[inline(always)]
pub(crate) fn run(s: &[u8], class: u8) -> usize {
    run_while(s, |b| CLASS[usize::from(b)] & class != 0)
}

/// Length of the run of bytes `in_class` takes at the start of `s`: eight bytes a step while eight
/// remain (one length check for eight bytes), then byte by byte.
#[inline(always)]
fn run_while(s: &[u8], in_class: impl Fn(u8) -> bool) -> usize {
    let mut rest = s;
    while let Some((chunk, after)) = rest.split_first_chunk::<8>() {
        for (k, &b) in chunk.iter().enumerate() {
            if !in_class(b) {
                return s.len() - rest.len() + k;
            }
        }
        rest = after;
    }
    for (k, &b) in rest.iter().enumerate() {
        if !in_class(b) {
            return s.len() - rest.len() + k;
        }
    }
    s.len()
}

/// Whether every byte of `s` is of `class` (true for none).
#[inline]
pub(crate) fn all(s: &[u8], class: u8) -> bool {
    run(s, class) == s.len()
}

/// [`run`], and the classes every byte of the run is in (its bytes' [`CLASS`] entries ANDed; every
/// bit for an empty run): what a check that the run is all of another class then reads without
/// going over the bytes again.
#[inline(always)]
fn run_classes(s: &[u8], class: u8) -> (usize, u8) {
    let mut common = u8::MAX;
    let mut rest = s;
    while let Some((chunk, after)) = rest.split_first_chunk::<8>() {
        for (k, &b) in chunk.iter().enumerate() {
            let c = CLASS[usize::from(b)];
            if c & class == 0 {
                return (s.len() - rest.len() + k, common);
            }
            common &= c;
        }
        rest = after;
    }
    for (k, &b) in rest.iter().enumerate() {
        let c = CLASS[usize::from(b)];
        if c & class == 0 {
            return (s.len() - rest.len() + k, common);
        }
        common &= c;
    }
    (s.len(), common)
}

/// `a == b`, for the short names and literals of an agreement: eight bytes a step (the last step
/// overlapping the one before), four or one at a time below eight, instead of a call to `memcmp`.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |s: &[u8], at: usize| u32::from_ne_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
    match n {
        0..4 => a.iter().zip(b).all(|(x, y)| x == y),
        4..8 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => {
            let mut at = 0;
            while at + 8 < n {
                if word(a, at) != word(b, at) {
                    return false;
                }
                at += 8;
            }
            word(a, n - 8) == word(b, n - 8)
        }
    }
}

/// SP, HT and the CR LF of a folded line, as `sipaccord_sip` trims header values.
fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `s` without linear whitespace at either end.
fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_lws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_lws(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// `s` without linear whitespace at the start.
pub(crate) fn trim_start(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_lws(b)).unwrap_or(s.len());
    &s[start..]
}

/// Length of the quoted string at the start of `s` (which starts with `"`), closing quote included,
/// backslash escapes skipped; `None` when it is not terminated (`scan::quoted_len`).
fn quoted_len(s: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The parts of a `sip:` or `sips:` URI [`sip_uri`] read, as `Uri::parse` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SipUri<'a> {
    /// Where the URI ends.
    pub len: usize,
    /// The scheme as `UriFields` reads it: `sip` or `sips` (lowercase, whatever the case written).
    pub scheme: &'static [u8],
    /// The user part, when there is one.
    pub user: Option<&'a [u8]>,
    /// The host as written (never empty).
    pub host: &'a [u8],
    /// The port.
    pub port: Option<u16>,
}

/// The `sip:` or `sips:` URI at the start of `u` as `sipaccord_sip::quick::sip_uri_parts` reads it
/// (optional user without password or escapes, host name or dotted address, optional port, URI
/// parameters of token bytes without `%`, no headers); it ends at the first byte that cannot continue
/// it. `None` when the start is no such URI.
#[inline]
pub(crate) fn sip_uri(u: &[u8]) -> Option<SipUri<'_>> {
    let (scheme_len, scheme): (usize, &'static [u8]) =
        if u.len() > 4 && (u.starts_with(b"sip:") || u[..4].eq_ignore_ascii_case(b"sip:")) {
            (4, b"sip")
        } else if u.len() > 5 && u[..5].eq_ignore_ascii_case(b"sips:") {
            (5, b"sips")
        } else {
            return None;
        };
    let user_len = run(&u[scheme_len..], USER);
    // Without `@` the bytes read as a user are the host: start over. Neither the host, the port nor
    // the parameters take `@`, so the `@` taken here is the only one.
    let (user, host_start) = if u.get(scheme_len + user_len) == Some(&b'@') {
        if user_len == 0 {
            return None;
        }
        (Some(&u[scheme_len..scheme_len + user_len]), scheme_len + user_len + 1)
    } else {
        (None, scheme_len)
    };
    let host_len = run(&u[host_start..], HOST);
    if host_len == 0 || matches!(u[host_start], b'-' | b'.') {
        return None;
    }
    let mut i = host_start + host_len;
    let mut port = None;
    if u.get(i) == Some(&b':') {
        let digits = run(&u[i + 1..], DIGIT);
        if digits == 0 || digits > 5 {
            return None;
        }
        let n = u[i + 1..i + 1 + digits].iter().fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'));
        port = Some(u16::try_from(n).ok()?);
        i += 1 + digits;
    }
    while u.get(i) == Some(&b';') {
        let name = run(&u[i + 1..], URI_PARAM);
        if name == 0 {
            return None;
        }
        i += 1 + name;
        if u.get(i) == Some(&b'=') {
            let value = run(&u[i + 1..], URI_PARAM);
            if value == 0 {
                return None;
            }
            i += 1 + value;
        }
    }
    Some(SipUri { len: i, scheme, user, host: &u[host_start..host_start + host_len], port })
}

/// A name-addr as [`name_addr`] delimits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameAddr<'a> {
    /// The URI between `<` and `>`.
    pub uri: SipUri<'a>,
    /// What follows `>`, linear whitespace at the start skipped: the header parameters when it is
    /// empty or starts with `;` (`NameAddr::parse` accepts the value exactly when they are valid
    /// parameters then, and never otherwise).
    pub params: &'a [u8],
}

/// A name-addr with a display name (a quoted string, or tokens and whitespace) or none, and a URI
/// [`sip_uri`] reads whole in `<...>`, delimited as `NameAddr::parse` delimits it; `None` for any
/// other value (an addr-spec, another scheme, a URI with escapes, ...).
///
/// The display name and the URI are read as the full grammar reads them (`NameAddr::split_full`): a
/// quoted string to its closing quote, then `<`; else everything before the first `<`, which must
/// be token bytes and whitespace. The URI's bytes exclude `>`, so where it ends is the first `>`.
#[inline]
pub(crate) fn name_addr(value: &[u8]) -> Option<NameAddr<'_>> {
    let v = trim(value);
    let rest = match *v.first()? {
        b'<' => v,
        b'"' => trim_start(&v[quoted_len(v)?..]),
        _ => {
            let n = v.iter().take_while(|&&b| CLASS[usize::from(b)] & TOKEN != 0 || is_lws(b)).count();
            &v[n..]
        }
    };
    let inner = rest.strip_prefix(b"<")?;
    let uri = sip_uri(inner)?;
    let after = inner[uri.len..].strip_prefix(b">")?;
    Some(NameAddr { uri, params: trim_start(after) })
}

/// The parameters in `s` when every one is plain (`;name` or `;name=value`, names and values runs of
/// the header parameter bytes, no whitespace, no quotes, no value opening with `[`): each given to
/// `f` in order, as `Params::new(s)` yields them (`Params::unprefixed(s)` when not `prefixed`: the
/// first without its `;`). `None` when one is not plain (the caller then reads them with `Params`);
/// else `Some(false)` as soon as `f` answers false, `Some(true)` when it never does. With a value,
/// `f` also gets the classes all its bytes are in (see [`run_classes`]).
#[inline]
pub(crate) fn plain_params(
    s: &[u8],
    prefixed: bool,
    mut f: impl FnMut(&[u8], Option<(&[u8], u8)>) -> bool,
) -> Option<bool> {
    let mut i = 0;
    let mut first = true;
    while i < s.len() {
        if prefixed || !first {
            if s[i] != b';' {
                return None;
            }
            i += 1;
        }
        first = false;
        let name_start = i;
        i += run(&s[i..], PARAM_NAME);
        if i == name_start {
            return None;
        }
        let name = &s[name_start..i];
        let value = match s.get(i) {
            None | Some(b';') => None,
            Some(b'=') => {
                let start = i + 1;
                // A value that opens with `[` is an IPv6 reference, which `Params` reads to its `]`.
                if s.get(start) == Some(&b'[') {
                    return None;
                }
                let (len, classes) = run_classes(&s[start..], PARAM_VALUE);
                i = start + len;
                if len == 0 || !matches!(s.get(i), None | Some(b';')) {
                    return None;
                }
                Some((&s[start..i], classes))
            }
            _ => return None,
        };
        if !f(name, value) {
            return Some(false);
        }
    }
    Some(true)
}

/// The decimal digits of `port` as `u16::to_string` writes them, in `buf`.
pub(crate) fn port_text(port: u16, buf: &mut [u8; 5]) -> &[u8] {
    let mut n = port;
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[at..]
}
