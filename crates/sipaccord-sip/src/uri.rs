//! URIs: `sip:`, `sips:` and `tel:` parsed into their parts; any other scheme kept raw.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::scan::Params;

/// The URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme<'a> {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:` (RFC 3966)
    Tel,
    /// Any other scheme, as written (without the colon).
    Other(&'a str),
}

/// The host part of a URI or Via sent-by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    /// A domain name, as written.
    Name(&'a str),
    /// A dotted IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 reference (written in brackets).
    Ipv6(Ipv6Addr),
}

impl<'a> Host<'a> {
    /// Parses a host as written: `[v6]`, dotted IPv4 or a host name.
    pub fn parse(text: &'a str) -> Result<Host<'a>, &'static str> {
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or("IPv6 reference without closing `]`")?;
            return inner.parse().map(Host::Ipv6).map_err(|_| "invalid IPv6 reference");
        }
        if text.is_empty() {
            return Err("empty host");
        }
        if let Some(v4) = dotted_ipv4(text.as_bytes()) {
            return Ok(Host::Ipv4(v4));
        }
        if text.contains(':') {
            return Err("IPv6 address must be enclosed in `[...]`");
        }
        let valid_name = text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            && !text.starts_with(['-', '.']);
        if valid_name {
            Ok(Host::Name(text))
        } else {
            Err("invalid character in host")
        }
    }
}

/// A dotted-quad IPv4 address as `Ipv4Addr::from_str` reads it (four decimal octets up to 255, no
/// leading zeros), in one pass without the standard library's general parser.
fn dotted_ipv4(text: &[u8]) -> Option<std::net::Ipv4Addr> {
    ipv4_prefix(text).and_then(|(v4, len)| (len == text.len()).then_some(v4))
}

/// The dotted-quad IPv4 address [`dotted_ipv4`] reads at the start of `text`, and where it ends.
///
/// It reads no byte past the end of the address except the digit test right after an octet, so
/// when the byte there is neither a digit nor `.` (or there is none), [`dotted_ipv4`] of the bytes
/// before it reads the same address, and of any longer run it reads none: what lets the quick scan
/// read a host as an address in the same pass that finds where it ends.
// Always inlined into the quick host scan, its caller on the views' path (the larger scans around it
// kept it a call, about twenty instructions an address more).
#[inline(always)]
pub(crate) fn ipv4_prefix(text: &[u8]) -> Option<(std::net::Ipv4Addr, usize)> {
    match text.first_chunk::<16>() {
        Some(chunk) => ipv4_in_chunk(chunk),
        None => ipv4_prefix_any(text),
    }
}

/// [`ipv4_prefix`] of sixteen bytes or more, reading the first sixteen: the address and the digit
/// test after it (at most fifteen bytes and one) lie within them, so each octet is read from fixed
/// places without a length check.
#[inline(always)]
fn ipv4_in_chunk(bytes: &[u8; 16]) -> Option<(std::net::Ipv4Addr, usize)> {
    // The digit at `at` (below 16: octets start at most at 12 and read three bytes), or 10 or more.
    let digit = |at: usize| bytes[at & 15].wrapping_sub(b'0');
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if bytes[i & 15] != b'.' {
                return None;
            }
            i += 1;
        }
        let first = digit(i);
        if first > 9 {
            return None;
        }
        let second = digit(i + 1);
        if second > 9 {
            (*octet, i) = (first, i + 1);
            continue;
        }
        if first == 0 {
            return None;
        }
        let third = digit(i + 2);
        if third > 9 {
            (*octet, i) = (first * 10 + second, i + 2);
            continue;
        }
        let value = u16::from(first) * 100 + u16::from(second) * 10 + u16::from(third);
        (*octet, i) = (u8::try_from(value).ok()?, i + 3);
    }
    Some((std::net::Ipv4Addr::from(octets), i))
}

/// [`ipv4_prefix`] of any bytes.
#[inline(always)]
fn ipv4_prefix_any(text: &[u8]) -> Option<(std::net::Ipv4Addr, usize)> {
    let digit = |at: usize| text.get(at).map(|b| b.wrapping_sub(b'0')).filter(|&d| d <= 9);
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if text.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        // One to three digits, no leading zero, at most 255; a fourth digit fails at the next `.`.
        let first = digit(i)?;
        let second = digit(i + 1);
        let third = second.and_then(|_| digit(i + 2));
        (*octet, i) = match (second, third) {
            (None, _) => (first, i + 1),
            _ if first == 0 => return None,
            (Some(second), None) => (first * 10 + second, i + 2),
            (Some(second), Some(third)) => {
                let value = u16::from(first) * 100 + u16::from(second) * 10 + u16::from(third);
                (u8::try_from(value).ok()?, i + 3)
            }
        };
    }
    Some((std::net::Ipv4Addr::from(octets), i))
}

impl std::fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

/// A URI, borrowed from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri<'a> {
    /// The whole URI as written.
    pub raw: &'a str,
    /// Its scheme.
    pub scheme: Scheme<'a>,
    /// User part as written (escapes not decoded); for `tel:` the number.
    pub user: Option<&'a str>,
    /// Password, if the userinfo has one.
    pub password: Option<&'a str>,
    /// Host; `None` for `tel:` and unknown schemes.
    pub host: Option<Host<'a>>,
    /// Host exactly as written (IPv6 with brackets); empty when there is no host.
    pub host_raw: &'a str,
    /// Port, if given.
    pub port: Option<u16>,
    /// URI parameters as written, from the first `;` (empty when none).
    pub params_raw: &'a str,
    /// URI headers as written, after `?`.
    pub headers: Option<&'a str>,
}

fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"')
}

fn is_user_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'!'
                | b'~'
                | b'*'
                | b'\''
                | b'('
                | b')'
                | b'%'
                | b'&'
                | b'='
                | b'+'
                | b'$'
                | b','
                | b';'
                | b'?'
                | b'/'
        )
}

fn is_password_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' | b'%' | b'&' | b'=' | b'+' | b'$' | b','
        )
}

fn check_escapes(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                return Err("`%` not followed by two hex digits");
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

impl<'a> Uri<'a> {
    /// Parses a URI. Unknown schemes are accepted and kept raw.
    pub fn parse(raw: &'a [u8]) -> Result<Uri<'a>, &'static str> {
        match Self::parse_plain_sip(raw) {
            Some(uri) => Ok(uri),
            None => Self::parse_full(raw),
        }
    }

    /// The error [`Uri::parse`] gives, if any, without building the URI: a URI the quick scan accepts
    /// whole is one the full grammar accepts too.
    pub(crate) fn check(raw: &'a [u8]) -> Result<(), &'static str> {
        if crate::quick::sip_uri(raw) {
            Ok(())
        } else {
            Self::parse_full(raw).map(drop)
        }
    }

    /// The quick path: a URI [`crate::quick::sip_uri_parts`] accepts whole (user, host, port, token
    /// parameters) is built from the parts it found, without checking its bytes again; the same parts
    /// as [`Uri::parse_full`] gives.
    fn parse_plain_sip(raw: &'a [u8]) -> Option<Uri<'a>> {
        let parts = crate::quick::sip_uri_parts::<true>(raw).filter(|p| p.len == raw.len())?;
        Self::from_quick_parts(crate::text::text(raw)?, &parts)
    }

    /// The URI `raw` whose parts [`crate::quick::sip_uri_parts`] found (the caller checked), reading
    /// the host as an IPv4 address (`IPV4` true).
    // Inlined, so the URI is built in place inside the caller's view instead of being copied there.
    #[inline]
    pub(crate) fn from_quick_parts(raw: &'a str, parts: &crate::quick::SipUriParts) -> Option<Uri<'a>> {
        let host_raw = raw.get(parts.host.0..parts.host.1)?;
        Some(Uri {
            raw,
            scheme: if parts.secure { Scheme::Sips } else { Scheme::Sip },
            user: match parts.user {
                Some((start, end)) => Some(raw.get(start..end)?),
                None => None,
            },
            password: None,
            // The quick path took only host-name bytes, not starting with `-` or `.`, and read them
            // as an IPv4 address when they are one: else a host name (as `Host::parse` decides).
            host: Some(parts.ipv4.map_or(Host::Name(host_raw), Host::Ipv4)),
            host_raw,
            port: parts.port,
            params_raw: raw.get(parts.params..)?,
            headers: None,
        })
    }

    /// The full grammar, for every scheme and form.
    pub(crate) fn parse_full(raw: &'a [u8]) -> Result<Uri<'a>, &'static str> {
        if raw.is_empty() {
            return Err("empty URI");
        }
        if !raw.iter().all(|&b| is_uri_byte(b)) {
            return Err(if raw.iter().any(|b| b.is_ascii_whitespace()) {
                "whitespace inside the URI"
            } else {
                "character not allowed in a URI"
            });
        }
        let raw = crate::text::text(raw).ok_or("URI is not ASCII")?;
        let colon = raw.find(':').ok_or("URI has no scheme")?;
        let scheme_text = &raw[..colon];
        let scheme_ok = scheme_text.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && scheme_text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err("invalid URI scheme");
        }
        let rest = &raw[colon + 1..];
        let scheme = if scheme_text.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme_text.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else if scheme_text.eq_ignore_ascii_case("tel") {
            Scheme::Tel
        } else {
            Scheme::Other(scheme_text)
        };
        let mut uri = Uri {
            raw,
            scheme,
            user: None,
            password: None,
            host: None,
            host_raw: "",
            port: None,
            params_raw: "",
            headers: None,
        };
        match scheme {
            Scheme::Sip | Scheme::Sips => uri.parse_sip(rest)?,
            Scheme::Tel => {
                let (number, params) = rest.split_at(rest.find(';').unwrap_or(rest.len()));
                let valid_number = !number.is_empty()
                    && number
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() || matches!(b, b'+' | b'-' | b'.' | b'(' | b')' | b'*' | b'#'));
                if !valid_number {
                    return Err("invalid telephone number");
                }
                uri.user = Some(number);
                uri.params_raw = params;
                Params::new(params.as_bytes()).validate()?;
            }
            Scheme::Other(_) => {
                if rest.is_empty() {
                    return Err("URI has nothing after the scheme");
                }
            }
        }
        Ok(uri)
    }

    fn parse_sip(&mut self, rest: &'a str) -> Result<(), &'static str> {
        let hostpart = match rest.find('@') {
            Some(at) => {
                let userinfo = &rest[..at];
                let (user, password) = match userinfo.find(':') {
                    Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
                    None => (userinfo, None),
                };
                if user.is_empty() {
                    return Err("empty user part before `@`");
                }
                if !user.bytes().all(is_user_byte) {
                    return Err("invalid character in user part");
                }
                check_escapes(user)?;
                if let Some(p) = password {
                    if !p.bytes().all(is_password_byte) {
                        return Err("invalid character in password");
                    }
                    check_escapes(p)?;
                }
                self.user = Some(user);
                self.password = password;
                &rest[at + 1..]
            }
            None => rest,
        };
        let (hostport, tail) = hostpart.split_at(hostpart.find([';', '?']).unwrap_or(hostpart.len()));
        let (host_raw, port) = if hostport.starts_with('[') {
            let close = hostport.find(']').ok_or("IPv6 reference without closing `]`")?;
            let after = &hostport[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err("unexpected text after IPv6 reference"),
            };
            (&hostport[..=close], port)
        } else {
            match hostport.find(':') {
                Some(c) => (&hostport[..c], Some(&hostport[c + 1..])),
                None => (hostport, None),
            }
        };
        self.host = Some(Host::parse(host_raw)?);
        self.host_raw = host_raw;
        if let Some(port) = port {
            self.port = Some(parse_port(port)?);
        }
        let (params, headers) = match tail.find('?') {
            Some(q) => (&tail[..q], Some(&tail[q + 1..])),
            None => (tail, None),
        };
        Params::new(params.as_bytes()).validate()?;
        check_escapes(params)?;
        self.params_raw = params;
        if let Some(h) = headers {
            if h.is_empty() {
                return Err("empty URI headers after `?`");
            }
            check_escapes(h)?;
        }
        self.headers = headers;
        Ok(())
    }

    /// The URI parameters.
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params_raw.as_bytes())
    }

    /// The value of one URI parameter (`Some(None)` for a flag such as `lr`).
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        self.params().get(name).map(|v| v.and_then(|v| crate::text::text(v)))
    }

    /// The user part with `%HH` escapes decoded (bytes, since escapes may encode anything).
    pub fn user_unescaped(&self) -> Option<Cow<'a, [u8]>> {
        self.user.map(|u| unescape(u.as_bytes()))
    }
}

fn parse_port(text: &str) -> Result<u16, &'static str> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 5 {
        return Err("port is not a number from 0 to 65535");
    }
    text.parse().map_err(|_| "port is not a number from 0 to 65535")
}

/// Parses a port number (used by Via as well).
pub(crate) fn port(text: &str) -> Result<u16, &'static str> {
    parse_port(text)
}

/// Decodes `%HH` escapes; returns the input unchanged (borrowed) when there are none.
pub fn unescape(s: &[u8]) -> Cow<'_, [u8]> {
    if !s.contains(&b'%') {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Addresses read from a sixteen-byte chunk are what the general reader reads, with whatever
        /// follows them.
        #[test]
        fn addresses_read_from_a_chunk_as_from_any_bytes(
            text in "((25[0-6]|2[0-4][0-9]|1?[0-9]?[0-9]|0[0-9]|[0-9]{4})[.]){0,4}[0-9a-z.:;>-]{0,4}[0-9]{0,3}",
            tail in "[0-9a-z.:;>-]{16}",
        ) {
            let bytes = [text.as_bytes(), tail.as_bytes()].concat();
            let chunk = bytes.first_chunk::<16>().expect("sixteen bytes");
            proptest::prop_assert_eq!(ipv4_in_chunk(chunk), ipv4_prefix_any(&bytes), "{:?}", String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn sip_uri_parts() {
        let u = Uri::parse(b"sip:alice:secret@[2001:db8::1]:5070;transport=tcp;lr?subject=x").unwrap();
        assert_eq!(u.scheme, Scheme::Sip);
        assert_eq!(u.user, Some("alice"));
        assert_eq!(u.password, Some("secret"));
        assert_eq!(u.host, Some(Host::Ipv6("2001:db8::1".parse().unwrap())));
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.param("transport"), Some(Some("tcp")));
        assert_eq!(u.param("lr"), Some(None));
        assert_eq!(u.headers, Some("subject=x"));
    }

    #[test]
    fn tel_and_unknown_schemes() {
        let t = Uri::parse(b"tel:+1-201-555-0123;phone-context=example.com").unwrap();
        assert_eq!((t.scheme, t.user), (Scheme::Tel, Some("+1-201-555-0123")));
        let o = Uri::parse(b"isbn:2983792873").unwrap();
        assert_eq!(o.scheme, Scheme::Other("isbn"));
    }

    #[test]
    fn escapes_decode_and_bad_hosts_fail() {
        let u = Uri::parse(b"sip:%75se%72@example.com").unwrap();
        assert_eq!(u.user_unescaped().unwrap().as_ref(), b"user");
        assert!(Uri::parse(b"sip:2001:db8::10").is_err());
        assert!(Uri::parse(b"sip:user@[2001:db8:::192.0.2.1]").is_err());
        assert!(Uri::parse(b"sip:a b@example.com").is_err());
        assert!(Uri::parse(b"sip:a%4@example.com").is_err());
    }
}
