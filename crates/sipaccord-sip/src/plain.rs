//! One-pass byte scans of the commonest shapes of structured header values, for callers that check
//! such values without building this crate's views: a plain `sip:` or `sips:` URI, a plain name-addr
//! (`["Name"] <sip:user@host:port;p=v>;a=b`) and plain `;name=value` parameters.
//!
//! These are the quick paths [`Message::validate`] and the typed views take before the full grammar
//! (the same functions, without the IPv4 address read and the `tag` lookup), and they delimit what
//! the full parsers ([`Uri::parse`], [`NameAddr::parse`](crate::NameAddr::parse), [`Params`])
//! delimit for such a value; this crate's property tests check that. Anything else (escapes, a
//! display name with a backslash, an IPv6 reference, whitespace inside, URI headers, another scheme,
//! a quoted parameter value, ...) answers `None`: the caller then runs those parsers, which also
//! accept or refuse it. The scans check bytes only: every part they delimit is ASCII, except a quoted
//! display name, which may hold any byte but `"` and `\` (as the full parser allows); check it as
//! text before using it as text.
//!
//! ```
//! use sipaccord_sip::plain;
//!
//! let na = plain::name_addr(b"\"Alice\" <sip:+4930123456@example.com:5061;user=phone>;tag=a1").unwrap();
//! assert_eq!(na.display, Some(&b"\"Alice\""[..]));
//! assert_eq!((na.uri.user, na.uri.host, na.uri.port), (Some(&b"+4930123456"[..]), &b"example.com"[..], Some(5061)));
//! assert_eq!((na.uri.params, na.params), (&b";user=phone"[..], &b";tag=a1"[..]));
//!
//! let mut names = Vec::new();
//! assert_eq!(plain::params(b"icid-value=x1;orig-ioi=acme", false, |p| { names.push(p.name); true }), Some(true));
//! assert_eq!(names, [&b"icid-value"[..], b"orig-ioi"]);
//! assert_eq!(plain::params(b";p=\"quoted\"", true, |_| true), None);
//! ```
//!
//! [`Message::validate`]: crate::Message::validate
//! [`Uri::parse`]: crate::Uri::parse
//! [`Params`]: crate::Params

use crate::quick::{self, name_addr_scan, sip_uri_parts, SipUriParts};
use crate::scan::plain_param;
use crate::Param;

/// The parts of a plain `sip:` or `sips:` URI, as [`Uri::parse`](crate::Uri::parse) gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// Where the URI ends in the bytes scanned.
    pub len: usize,
    /// `true` for `sips:` (the scheme is matched ignoring case).
    pub secure: bool,
    /// The user part (before `@`), when there is one: no password, no escapes.
    pub user: Option<&'a [u8]>,
    /// The host as written: a host name or a dotted address, never empty.
    pub host: &'a [u8],
    /// The port.
    pub port: Option<u16>,
    /// The URI parameters from their first `;` (empty when there are none): names and values are
    /// token bytes without `%`.
    pub params: &'a [u8],
}

impl<'a> SipUri<'a> {
    fn of(u: &'a [u8], parts: SipUriParts) -> SipUri<'a> {
        SipUri {
            len: parts.len,
            secure: parts.secure,
            user: parts.user.map(|(start, end)| &u[start..end]),
            host: &u[parts.host.0..parts.host.1],
            port: parts.port,
            params: &u[parts.params..parts.len],
        }
    }
}

/// The plain `sip:` or `sips:` URI at the start of `u`: optional user without password or escapes,
/// host name or dotted address, optional port, URI parameters of token bytes without `%`, no
/// headers. It ends at the first byte that cannot continue it ([`SipUri::len`]; the whole of `u` is
/// such a URI when that is `u.len()`). `None` when the start is no such URI.
#[inline]
pub fn sip_uri(u: &[u8]) -> Option<SipUri<'_>> {
    sip_uri_parts::<false>(u).map(|parts| SipUri::of(u, parts))
}

/// The parts of a plain name-addr, as [`NameAddr::parse`](crate::NameAddr::parse) delimits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// The display name as written (quotes kept), `None` when absent. Quoted, it may hold bytes that
    /// are not ASCII, or not UTF-8.
    pub display: Option<&'a [u8]>,
    /// The URI between `<` and `>`.
    pub uri: SipUri<'a>,
    /// The header parameters right after `>`, from their first `;` (empty when there are none):
    /// `;name` or `;name=value` with names and values of token bytes.
    pub params: &'a [u8],
}

/// The header value `value` (linear whitespace around it ignored) when it is a plain name-addr: an
/// optional display name (tokens and whitespace, or a quoted string without backslashes), `<`, a
/// URI [`sip_uri`] reads whole, `>`, then nothing but token parameters (`;name[=value]`, no
/// whitespace). [`NameAddr::parse`](crate::NameAddr::parse) accepts every such value with these
/// parts. `None` for any other value (an addr-spec, another scheme, quoted parameter values, ...).
#[inline]
pub fn name_addr(value: &[u8]) -> Option<NameAddr<'_>> {
    let parts = name_addr_scan::<false>(value, None)?;
    Some(NameAddr { display: parts.display, uri: SipUri::of(parts.uri, parts.uri_parts), params: parts.params })
}

/// Whether every byte of `s` is an RFC 3261 token byte (letters, digits and `-.!%*_+`'~`); true for
/// empty `s`.
#[inline]
pub fn token_bytes(s: &[u8]) -> bool {
    quick::all_token(s)
}

/// Whether every byte of `s` is a host-name byte (letters, digits, `-`, `.`, `_`); true for empty
/// `s`. A host name is a non-empty run of them that does not start with `-` or `.`.
#[inline]
pub fn host_name_bytes(s: &[u8]) -> bool {
    quick::all_host(s)
}

/// The parameters in `s` when every one is plain: `;name` or `;name=value`, names and values runs of
/// the parameter name and value bytes, no whitespace, no quotes, no value opening with `[`. Each is
/// given to `f` in order, as [`Params::new(s)`](crate::Params::new) yields it
/// ([`Params::unprefixed(s)`](crate::Params::unprefixed) when not `prefixed`: the first without its
/// `;`). `None` as soon as one is not plain (read them all with [`Params`] then; `f` has seen the
/// plain ones before it); else `Some(false)` as soon as `f` answers false (the parameters after it
/// are not looked at), `Some(true)` when it never does (and for empty `s`).
///
/// [`Params`]: crate::Params
#[inline]
pub fn params<'a>(s: &'a [u8], prefixed: bool, mut f: impl FnMut(Param<'a>) -> bool) -> Option<bool> {
    let mut rest = s;
    let mut prefixed = prefixed;
    while !rest.is_empty() {
        let (param, consumed) = plain_param(rest, prefixed)?;
        if !f(param) {
            return Some(false);
        }
        rest = &rest[consumed..];
        prefixed = true;
    }
    Some(true)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{Params, Scheme, Uri};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        /// What the scans read, the parsers read: the same parts for a URI and a name-addr, the same
        /// parameters.
        #[test]
        fn scans_read_what_the_parsers_read(
            value in "(\"A b\" |C |)<(sip|SIPS):([a-z+0-9]{1,4}@)?[a-z0-9.-]{1,6}(:[0-9]{1,6})?(;[a-z]{1,3}(=[a-z0-9]{1,3})?){0,2}>(;[a-z]{1,3}(=[a-z0-9%:\\[]{1,3})?){0,2}",
            uri_only in any::<bool>(),
        ) {
            if uri_only {
                let u = &value.as_bytes()[value.find('<').unwrap() + 1..value.find('>').unwrap()];
                if let Some(plain) = sip_uri(u).filter(|p| p.len == u.len()) {
                    let full = Uri::parse(u).expect("a plain URI parses");
                    prop_assert_eq!(plain.secure, full.scheme == Scheme::Sips);
                    prop_assert_eq!(plain.user, full.user.map(str::as_bytes));
                    prop_assert_eq!(plain.host, full.host_raw.as_bytes());
                    prop_assert_eq!(plain.port, full.port);
                    let plain_params: Vec<_> = Params::new(plain.params).collect();
                    let full_params: Vec<_> = full.params().collect();
                    prop_assert_eq!(plain_params, full_params);
                }
            } else if let Some(plain) = name_addr(value.as_bytes()) {
                let full = crate::NameAddr::parse(value.as_bytes()).expect("a plain name-addr parses");
                prop_assert_eq!(plain.uri.user, full.uri.user.map(str::as_bytes));
                prop_assert_eq!(plain.uri.host, full.uri.host_raw.as_bytes());
                prop_assert_eq!(plain.uri.port, full.uri.port);
                let plain_params: Vec<_> = Params::new(plain.params).collect();
                let full_params: Vec<_> = full.params().collect();
                prop_assert_eq!(plain_params, full_params);
            }
        }

        /// Plain parameters are the ones [`Params`] yields, when every one is plain.
        #[test]
        fn plain_params_are_the_parsers(text in "[a=;x\\[ \"%:]{0,12}", prefixed in any::<bool>()) {
            let s = text.as_bytes();
            let mut plain = Vec::new();
            if params(s, prefixed, |p| { plain.push(Ok(p)); true }) == Some(true) {
                let full: Vec<_> = if prefixed { Params::new(s).collect() } else { Params::unprefixed(s).collect() };
                prop_assert_eq!(plain, full);
            }
        }
    }
}
