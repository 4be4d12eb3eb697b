//! Typed views of header values, computed only when asked. Each borrows from the message.

use crate::error::{ErrorKind, ParseError};
use crate::message::{Header, Message};
use crate::names::KnownHeader;
use crate::quick;
use crate::scan::{self, Params};
use crate::text::text;
use crate::uri::{self, Host, Uri};

/// Why a header value does not follow its grammar (without position; see [`Header::error`]).
pub type ValueError = &'static str;

impl Header<'_> {
    /// A [`ParseError`] for this header's value.
    pub fn error(&self, reason: impl Into<String>) -> ParseError {
        ParseError::new(
            ErrorKind::HeaderValue { header: self.canonical_name().to_owned(), reason: reason.into() },
            self.line,
            self.value_column(),
        )
    }
}

/// One Via value (RFC 3261 20.42).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via<'a> {
    /// Protocol name, normally `SIP`.
    pub protocol: &'a str,
    /// Protocol version, normally `2.0`.
    pub version: &'a str,
    /// Transport as written: `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS` or an extension.
    pub transport: &'a str,
    /// The sent-by host.
    pub host: Host<'a>,
    /// The sent-by port, if given.
    pub port: Option<u16>,
    params: &'a [u8],
    /// The `branch` parameter as [`Params::get`] finds it, looked up once while parsing.
    branch: Option<Option<&'a [u8]>>,
}

impl<'a> Via<'a> {
    /// Parses one Via value (one element of the comma list).
    pub fn parse(value: &'a [u8]) -> Result<Via<'a>, ValueError> {
        match Self::parse_quick(value) {
            Some(via) => Ok(via),
            None => Self::parse_full(value),
        }
    }

    /// The commonest form, `SIP/2.0/UDP host:port;branch=x`, delimited in one pass; `None` for any
    /// other form.
    #[inline]
    fn parse_quick(value: &'a [u8]) -> Option<Via<'a>> {
        let parts = quick::via_parts(value)?;
        let [protocol, version, transport] = parts.protocol;
        let (protocol, version) = match parts.sip_2_0 {
            true => ("SIP", "2.0"),
            false => (sent_protocol_text(protocol), sent_protocol_text(version)),
        };
        let transport = sent_protocol_text(transport);
        Some(Via {
            protocol,
            version,
            transport,
            host: match parts.ipv4 {
                Some(v4) => Host::Ipv4(v4),
                None => Host::Name(text(parts.host)?),
            },
            port: parts.port,
            params: parts.params,
            branch: parts.branch,
        })
    }

    /// The full grammar, for every form.
    pub(crate) fn parse_full(value: &'a [u8]) -> Result<Via<'a>, ValueError> {
        let mut rest = value;
        let mut parts = [""; 3];
        for (i, part) in parts.iter_mut().enumerate() {
            rest = scan::trim_start(rest);
            let n = rest.iter().take_while(|&&b| scan::is_token_byte(b)).count();
            if n == 0 {
                return Err("expected SIP/2.0/TRANSPORT");
            }
            *part = sent_protocol_text(&rest[..n]);
            rest = scan::trim_start(&rest[n..]);
            if i < 2 {
                rest = rest.strip_prefix(b"/").ok_or("expected `/` in the sent-protocol")?;
            }
        }
        if rest.is_empty() {
            return Err("no sent-by host");
        }
        let host_len = if rest[0] == b'[' {
            rest.iter().position(|&b| b == b']').ok_or("IPv6 reference without closing `]`")? + 1
        } else {
            rest.iter().take_while(|&&b| !matches!(b, b':' | b';') && !scan::is_lws(b)).count()
        };
        let host_text = text(&rest[..host_len]).ok_or("host is not ASCII")?;
        let host = Host::parse(host_text)?;
        rest = scan::trim_start(&rest[host_len..]);
        let mut port = None;
        if let Some(after) = rest.strip_prefix(b":") {
            let after = scan::trim_start(after);
            let n = after.iter().take_while(|b| b.is_ascii_digit()).count();
            port = Some(uri::port(text(&after[..n]).unwrap_or(""))?);
            rest = scan::trim_start(&after[n..]);
        }
        if !rest.is_empty() && rest[0] != b';' {
            return Err("unexpected text after the sent-by");
        }
        // Plain token parameters pass the quick check; anything else gets the full one.
        if !quick::params(rest) {
            Params::new(rest).validate()?;
        }
        let branch = Params::new(rest).get("branch");
        Ok(Via { protocol: parts[0], version: parts[1], transport: parts[2], host, port, params: rest, branch })
    }

    /// Via parameters (`branch`, `received`, `rport`, `maddr`, `ttl` and extensions).
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params)
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&'a str> {
        self.branch.flatten().and_then(text)
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&'a str> {
        self.param_str("received")
    }

    /// The `rport` parameter: `Some(None)` when present without a value.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params().get("rport").map(|v| v.and_then(|v| text(v)?.parse().ok()))
    }

    fn param_str(&self, name: &str) -> Option<&'a str> {
        self.params().get(name).flatten().and_then(|v| text(v))
    }
}

/// A token of a Via's sent-protocol as text: the usual ones without a UTF-8 check.
fn sent_protocol_text(token: &[u8]) -> &str {
    match token {
        b"SIP" => "SIP",
        b"2.0" => "2.0",
        b"UDP" => "UDP",
        b"TCP" => "TCP",
        b"TLS" => "TLS",
        _ => text(token).unwrap_or(""),
    }
}

/// A name-addr or addr-spec with header parameters (From, To, Contact, Route, P-Asserted-Identity, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// The display name as written: a quoted string keeps its quotes; `None` when absent.
    pub display_name: Option<&'a [u8]>,
    /// The URI.
    pub uri: Uri<'a>,
    /// Whether the URI was enclosed in `<...>`.
    pub bracketed: bool,
    params: &'a [u8],
    /// The `tag` parameter's value as [`NameAddr::tag`] gives it, looked up once while parsing.
    tag: Option<&'a str>,
}

impl<'a> NameAddr<'a> {
    /// Parses one `["Display"] <uri>;params` or `uri;params` value.
    pub fn parse(value: &'a [u8]) -> Result<NameAddr<'a>, ValueError> {
        match Self::parse_quick(value) {
            Some(name_addr) => Ok(name_addr),
            None => Self::parse_full(value),
        }
    }

    /// The commonest form, `["Name"] <sip:user@host:port;p=v>;tag=t`, delimited in one pass; `None`
    /// for any other form.
    #[inline]
    fn parse_quick(value: &'a [u8]) -> Option<NameAddr<'a>> {
        let parts = quick::name_addr_parts(value)?;
        // The display name stays bytes; the URI and the tag are text.
        let tag = parts.tag.flatten().and_then(text);
        let uri = text(parts.uri).and_then(|raw| Uri::from_quick_parts(raw, &parts.uri_parts))?;
        Some(NameAddr { display_name: parts.display, uri, bracketed: true, params: parts.params, tag })
    }

    /// The full grammar, for every form.
    pub(crate) fn parse_full(value: &'a [u8]) -> Result<NameAddr<'a>, ValueError> {
        let FullParts { display_name, uri, bracketed, params } = Self::split_full(value, Uri::parse)?;
        Ok(NameAddr { display_name, uri, bracketed, params, tag: tag_text(Params::new(params)) })
    }

    /// Whether the full grammar accepts the value, and if not why: the error [`NameAddr::parse`]
    /// gives, without building the view (validation reads no tag and keeps no URI).
    pub(crate) fn check(value: &'a [u8]) -> Result<(), ValueError> {
        Self::split_full(value, Uri::check).map(drop)
    }

    /// The full grammar's parts: the display name, the URI read by `read_uri`, whether it was
    /// bracketed and the header parameters (checked); the first error in the order the grammar is
    /// read (URI before parameters).
    fn split_full<U>(
        value: &'a [u8],
        read_uri: impl FnOnce(&'a [u8]) -> Result<U, ValueError>,
    ) -> Result<FullParts<'a, U>, ValueError> {
        let value = scan::trim(value);
        if value.is_empty() {
            return Err("empty value");
        }
        let (display_name, rest) = if value[0] == b'"' {
            let q = scan::quoted_len(value).ok_or("unterminated quoted string in display name")?;
            let rest = scan::trim_start(&value[q..]);
            if rest.first() != Some(&b'<') {
                return Err("quoted display name must be followed by `<uri>`");
            }
            (Some(&value[..q]), rest)
        } else if let Some(lt) = value.iter().position(|&b| b == b'<') {
            let display = scan::trim(&value[..lt]);
            if !display.iter().all(|&b| scan::is_token_byte(b) || scan::is_lws(b)) {
                return Err("display name must be tokens or a quoted string");
            }
            (if display.is_empty() { None } else { Some(display) }, &value[lt..])
        } else {
            // addr-spec: parameters after it belong to the header, so a URI with `;`, `?` or `,`
            // must be enclosed in `<...>` (RFC 3261 20).
            let end = rest_end(value);
            let spec = scan::trim(&value[..end]);
            if spec.iter().any(|&b| b == b'?' || b == b',') {
                return Err("URI with `?` or `,` must be enclosed in `<...>`");
            }
            if spec.iter().any(|&b| scan::is_lws(b) || b == b'"' || b == b'>') {
                return Err("unexpected character in addr-spec (missing `<...>`?)");
            }
            let uri = read_uri(spec)?;
            let params = &value[end..];
            Params::new(params).validate()?;
            return Ok(FullParts { display_name: None, uri, bracketed: false, params });
        };
        let inner = &rest[1..];
        let gt = inner.iter().position(|&b| b == b'>').ok_or("`<` without closing `>`")?;
        let uri_text = &inner[..gt];
        if uri_text.first().is_some_and(|&b| scan::is_lws(b)) || uri_text.last().is_some_and(|&b| scan::is_lws(b)) {
            return Err("whitespace inside `<...>`");
        }
        let uri = read_uri(uri_text)?;
        let params = scan::trim_start(&inner[gt + 1..]);
        if !params.is_empty() && params[0] != b';' {
            return Err("unexpected text after `>`");
        }
        Params::new(params).validate()?;
        Ok(FullParts { display_name, uri, bracketed: true, params })
    }

    /// Header parameters (after the URI): `tag`, `expires`, `q`, ...
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params)
    }

    /// The `tag` parameter (From/To).
    pub fn tag(&self) -> Option<&'a str> {
        self.tag
    }

    /// The display name without quotes (escapes left as written).
    pub fn display_name_unquoted(&self) -> Option<&'a [u8]> {
        self.display_name.map(|d| if d.len() >= 2 && d[0] == b'"' { &d[1..d.len() - 1] } else { d })
    }
}

impl<'a> NameAddr<'a> {
    /// The header parameters of a name-addr or addr-spec value, found without parsing or validating
    /// the display name and URI: what follows the closing `>` (outside quotes), or, for an addr-spec,
    /// what follows the first `;` after the user part. For a value that [`NameAddr::parse`] accepts,
    /// the same parameters it gives; on others, a best effort that never fails.
    pub fn params_of(value: &'a [u8]) -> Params<'a> {
        let value = scan::trim(value);
        // Without a quoted display name the first `<` decides, found by the vectorised search.
        match memchr::memchr2(b'"', b'<', value) {
            Some(lt) if value[lt] == b'<' => {
                let close = memchr::memchr(b'>', &value[lt..]).map_or(value.len(), |g| lt + g + 1);
                return Params::new(scan::trim_start(&value[close..]));
            }
            None => return Params::new(&value[rest_end(value)..]),
            Some(_) => {}
        }
        let mut i = 0;
        while i < value.len() {
            match value[i] {
                b'"' => i += scan::quoted_len(&value[i..]).unwrap_or(value.len() - i),
                b'<' => {
                    let close = value[i..].iter().position(|&b| b == b'>').map_or(value.len(), |g| i + g + 1);
                    return Params::new(scan::trim_start(&value[close..]));
                }
                _ => i += 1,
            }
        }
        Params::new(&value[rest_end(value)..])
    }

    /// The `tag` parameter of a From or To value, without validating the rest of the value (see
    /// [`NameAddr::params_of`]); `Message::from_tag` and `Message::to_tag` read it this way.
    pub fn tag_of(value: &'a [u8]) -> Option<&'a str> {
        Self::tag_bytes_of(value).and_then(text)
    }

    /// The tag [`NameAddr::tag_of`] reads, as bytes: for a caller that only hashes and compares tags,
    /// and so can skip making text of them (a UTF-8 check costs about as much as finding the tag).
    /// `Some` exactly when [`NameAddr::tag_of`] is.
    pub fn tag_bytes_of(value: &'a [u8]) -> Option<&'a [u8]> {
        let params = Self::params_of(value);
        // Usually the tag is the only parameter, `;tag=value` to the end of the line, in bytes that
        // are all ASCII.
        match params.get_sole_plain(b"tag") {
            Some(tag) => Some(tag),
            None => tag_text(params).map(str::as_bytes),
        }
    }
}

/// A name-addr or addr-spec as the full grammar delimits it, with its URI read as the caller asked
/// (see `NameAddr::split_full`).
struct FullParts<'a, U> {
    display_name: Option<&'a [u8]>,
    uri: U,
    bracketed: bool,
    params: &'a [u8],
}

/// The value of the first `tag` parameter, when it has one that is text.
fn tag_text(params: Params<'_>) -> Option<&str> {
    params.get("tag").flatten().and_then(text)
}

/// End of an addr-spec: the first `;` that is not inside the user part, i.e. after the `@` if any.
fn rest_end(value: &[u8]) -> usize {
    let from = value.iter().position(|&b| b == b'@').unwrap_or(0);
    value[from..].iter().position(|&b| b == b';').map_or(value.len(), |i| from + i)
}

/// CSeq: sequence number and method (RFC 3261 20.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    /// Sequence number, below 2^31.
    pub number: u32,
    /// Method.
    pub method: &'a str,
}

impl<'a> CSeq<'a> {
    /// Parses `number LWS method`.
    pub fn parse(value: &'a [u8]) -> Result<CSeq<'a>, ValueError> {
        // A registered method after the number and one space is a token: the plain form without
        // the token check.
        if let Some((number, method)) = Self::plain_number(value) {
            if let Some(method) = registered_method(method) {
                return Ok(CSeq { number, method });
            }
        }
        Self::parse_raw(value).map(|(number, method)| CSeq { number, method: method_text(method) })
    }

    /// [`CSeq::parse`] with the method as the bytes it is in `value` (registered methods are made
    /// static text by [`CSeq::parse`], which says nothing of where they were).
    pub(crate) fn parse_raw(value: &'a [u8]) -> Result<(u32, &'a [u8]), ValueError> {
        match Self::parse_plain(value) {
            Some(parsed) => Ok(parsed),
            None => Self::parse_full(value),
        }
    }

    /// The usual form, up to nine digits (always below 2^31), one space and a token to the end, read
    /// in one pass; `None` for any other form. What [`CSeq::parse_full`] reads in such a value: it
    /// starts with a digit and ends with a token byte, so trimming leaves it whole, and the space is
    /// the only whitespace.
    #[inline]
    fn parse_plain(value: &'a [u8]) -> Option<(u32, &'a [u8])> {
        Self::plain_number(value).filter(|(_, method)| scan::is_token(method))
    }

    /// The number [`CSeq::parse_plain`] reads and what follows its space, before the token check.
    #[inline(always)]
    fn plain_number(value: &'a [u8]) -> Option<(u32, &'a [u8])> {
        let mut number = 0u32;
        let mut digits = 0;
        while let Some(digit) = value.get(digits).map(|b| b.wrapping_sub(b'0')).filter(|&d| d <= 9) {
            // A tenth digit could overflow: such numbers are the full grammar's.
            if digits == 9 {
                return None;
            }
            number = number * 10 + u32::from(digit);
            digits += 1;
        }
        match value.get(digits..) {
            Some([b' ', method @ ..]) if digits > 0 => Some((number, method)),
            _ => None,
        }
    }

    /// The full grammar: whitespace around and between the parts (folded lines too), long numbers.
    fn parse_full(value: &'a [u8]) -> Result<(u32, &'a [u8]), ValueError> {
        let (number, method) = scan::split_lws(scan::trim(value));
        let number = scan::parse_decimal(number).ok_or("sequence number is not a number")?;
        if number >= 1 << 31 {
            return Err("sequence number is not below 2^31");
        }
        if !scan::is_token(method) {
            return Err("method is not a token");
        }
        Ok((number as u32, method))
    }
}

/// A method already checked to be a token, as text: the registered methods without a UTF-8 check.
pub(crate) fn method_text(method: &[u8]) -> &str {
    match method {
        b"INVITE" => "INVITE",
        b"ACK" => "ACK",
        b"BYE" => "BYE",
        b"CANCEL" => "CANCEL",
        b"OPTIONS" => "OPTIONS",
        b"REGISTER" => "REGISTER",
        b"PRACK" => "PRACK",
        b"UPDATE" => "UPDATE",
        b"INFO" => "INFO",
        b"SUBSCRIBE" => "SUBSCRIBE",
        b"NOTIFY" => "NOTIFY",
        b"REFER" => "REFER",
        b"MESSAGE" => "MESSAGE",
        b"PUBLISH" => "PUBLISH",
        _ => text(method).unwrap_or(""),
    }
}

/// A registered method as static text (the methods [`method_text`] knows), `None` for any other
/// bytes. The table is written out in both: `method_text` built on this one took 17 more
/// instructions on the 180 benchmark message and 0.4% more on a replay (the match no longer folds
/// into its callers).
#[inline]
fn registered_method(method: &[u8]) -> Option<&'static str> {
    Some(match method {
        b"INVITE" => "INVITE",
        b"ACK" => "ACK",
        b"BYE" => "BYE",
        b"CANCEL" => "CANCEL",
        b"OPTIONS" => "OPTIONS",
        b"REGISTER" => "REGISTER",
        b"PRACK" => "PRACK",
        b"UPDATE" => "UPDATE",
        b"INFO" => "INFO",
        b"SUBSCRIBE" => "SUBSCRIBE",
        b"NOTIFY" => "NOTIFY",
        b"REFER" => "REFER",
        b"MESSAGE" => "MESSAGE",
        b"PUBLISH" => "PUBLISH",
        _ => return None,
    })
}

/// A media type or subtype already checked to be a token, as text: the usual ones without a UTF-8 check.
fn media_text(token: &[u8]) -> &str {
    match token {
        b"application" => "application",
        b"sdp" => "sdp",
        b"multipart" => "multipart",
        b"mixed" => "mixed",
        b"text" => "text",
        b"plain" => "plain",
        _ => text(token).unwrap_or(""),
    }
}

/// Content-Type: media type, subtype and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType<'a> {
    /// `application` in `application/sdp`.
    pub media_type: &'a str,
    /// `sdp` in `application/sdp`.
    pub subtype: &'a str,
    params: &'a [u8],
}

impl<'a> ContentType<'a> {
    /// Parses `type/subtype;params`.
    pub fn parse(value: &'a [u8]) -> Result<ContentType<'a>, ValueError> {
        let params = &value[value.len()..];
        // Nearly every SIP body is SDP: that value, compared whole, needs no other look at its bytes.
        if value == b"application/sdp" {
            return Ok(ContentType { media_type: "application", subtype: "sdp", params });
        }
        // The common `type/subtype` with no parameters and no whitespace, as the full path reads it:
        // the type is the token run before the first `/` (which is no token byte).
        let slash = value.iter().take_while(|&&b| scan::is_token_byte(b)).count();
        if let Some((b'/', subtype)) = value.get(slash..).and_then(<[u8]>::split_first) {
            if slash > 0 && scan::is_token(subtype) {
                let media_type = &value[..slash];
                return Ok(ContentType { media_type: media_text(media_type), subtype: media_text(subtype), params });
            }
        }
        Self::parse_full(value)
    }

    /// The full grammar: whitespace, parameters.
    fn parse_full(value: &'a [u8]) -> Result<ContentType<'a>, ValueError> {
        let value = scan::trim(value);
        let slash = value.iter().position(|&b| b == b'/').ok_or("expected type/subtype")?;
        let media_type = scan::trim(&value[..slash]);
        let rest = scan::trim_start(&value[slash + 1..]);
        let n = rest.iter().take_while(|&&b| scan::is_token_byte(b)).count();
        let subtype = &rest[..n];
        if !scan::is_token(media_type) || subtype.is_empty() {
            return Err("type and subtype must be tokens");
        }
        let params = scan::trim_start(&rest[n..]);
        if !params.is_empty() && params[0] != b';' {
            return Err("unexpected text after the subtype");
        }
        Params::new(params).validate()?;
        let text = |b| text(b).unwrap_or("");
        Ok(ContentType { media_type: text(media_type), subtype: text(subtype), params })
    }

    /// Parameters such as `boundary` or `charset`.
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params)
    }
}

/// One Contact value: `*` or an address.
// A view lives briefly on the stack; boxing the address would cost an allocation per Contact read.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact<'a> {
    /// `Contact: *` (REGISTER removing all bindings).
    Star,
    /// An address with parameters such as `expires` and `q`.
    Address(NameAddr<'a>),
}

impl<'a> Contact<'a> {
    /// Parses one Contact element.
    pub fn parse(value: &'a [u8]) -> Result<Contact<'a>, ValueError> {
        if scan::trim(value) == b"*" {
            Ok(Contact::Star)
        } else {
            NameAddr::parse(value).map(Contact::Address)
        }
    }

    /// The error [`Contact::parse`] gives, if any, without building the view (see [`NameAddr::check`]).
    pub(crate) fn check(value: &'a [u8]) -> Result<(), ValueError> {
        if scan::trim(value) == b"*" {
            Ok(())
        } else {
            NameAddr::check(value)
        }
    }
}

/// Checks a Call-ID: `word ["@" word]` (RFC 3261 25.1).
pub fn parse_call_id(value: &[u8]) -> Result<&str, ValueError> {
    if is_call_id(value) {
        text(value).ok_or("Call-ID is not ASCII")
    } else {
        Err(CALL_ID_GRAMMAR)
    }
}

/// Why a value is not a Call-ID.
pub(crate) const CALL_ID_GRAMMAR: &str = "Call-ID must be word[@word]";

/// Whether a value is a Call-ID, `word [ "@" word ]`: what validation asks, without the text.
pub(crate) fn is_call_id(value: &[u8]) -> bool {
    // Word bytes (which `@` is not) with at most one `@`, not first or last: the bytes' weights
    // (see `CALL_ID_WEIGHT`) add up to 0 without `@`, to 1 with exactly one `@` and no other byte.
    let weight = scan::call_id_weight(value);
    match weight {
        0 => !value.is_empty(),
        1 => value.first() != Some(&b'@') && value.last() != Some(&b'@'),
        _ => false,
    }
}

/// Parses a delta-seconds / small integer value that must fit in `u32` (Expires, Min-Expires, RSeq...).
pub fn parse_u32(value: &[u8]) -> Result<u32, ValueError> {
    scan::parse_decimal(scan::trim(value))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or("not a number that fits in 32 bits")
}

impl<'a> Message<'a> {
    fn first_known(&self, known: KnownHeader) -> Option<&Header<'a>> {
        self.known_header(known)
    }

    /// The topmost Via value.
    pub fn via(&self) -> Result<Option<Via<'a>>, ParseError> {
        match self.first_known(KnownHeader::VIA) {
            None => Ok(None),
            Some(h) => {
                // A line with one plain Via (no comma can pass the quick check) needs no list split.
                if let Some(via) = Via::parse_quick(h.value) {
                    return Ok(Some(via));
                }
                let first = h.values().next().unwrap_or_default();
                Via::parse(first).map(Some).map_err(|e| h.error(e))
            }
        }
    }

    /// Every Via value, top to bottom.
    pub fn vias(&self) -> impl Iterator<Item = Result<Via<'a>, ParseError>> + '_ {
        self.known_headers(KnownHeader::VIA)
            .flat_map(|h| h.values().map(move |v| Via::parse(v).map_err(|e| h.error(e))))
    }

    fn name_addr(&self, known: KnownHeader) -> Result<Option<NameAddr<'a>>, ParseError> {
        match self.first_known(known) {
            None => Ok(None),
            // The quick path's view is built where the answer is kept (through `NameAddr::parse`
            // it would be built in its result and copied).
            Some(h) => match NameAddr::parse_quick(h.value) {
                Some(name_addr) => Ok(Some(name_addr)),
                None => NameAddr::parse_full(h.value).map(Some).map_err(|e| h.error(e)),
            },
        }
    }

    /// From.
    pub fn from(&self) -> Result<Option<NameAddr<'a>>, ParseError> {
        self.name_addr(KnownHeader::FROM)
    }

    /// To.
    pub fn to(&self) -> Result<Option<NameAddr<'a>>, ParseError> {
        self.name_addr(KnownHeader::TO)
    }

    /// The From tag, read without parsing the rest of the From value ([`NameAddr::tag_of`]): what
    /// dialog tracking needs, at a fraction of [`Message::from`]'s cost. `None` without From or tag.
    pub fn from_tag(&self) -> Option<&'a str> {
        self.first_known(KnownHeader::FROM).and_then(|h| NameAddr::tag_of(h.value))
    }

    /// The To tag, read as [`Message::from_tag`] reads the From tag.
    pub fn to_tag(&self) -> Option<&'a str> {
        self.first_known(KnownHeader::TO).and_then(|h| NameAddr::tag_of(h.value))
    }

    /// [`Message::from_tag`] as bytes ([`NameAddr::tag_bytes_of`]).
    pub fn from_tag_bytes(&self) -> Option<&'a [u8]> {
        self.first_known(KnownHeader::FROM).and_then(|h| NameAddr::tag_bytes_of(h.value))
    }

    /// [`Message::to_tag`] as bytes ([`NameAddr::tag_bytes_of`]).
    pub fn to_tag_bytes(&self) -> Option<&'a [u8]> {
        self.first_known(KnownHeader::TO).and_then(|h| NameAddr::tag_bytes_of(h.value))
    }

    /// Call-ID.
    pub fn call_id(&self) -> Result<Option<&'a str>, ParseError> {
        match self.first_known(KnownHeader::CALL_ID) {
            None => Ok(None),
            Some(h) if is_call_id(h.value) => match text(h.value) {
                Some(text) => Ok(Some(text)),
                None => Err(h.error("Call-ID is not ASCII")),
            },
            Some(h) => Err(h.error(CALL_ID_GRAMMAR)),
        }
    }

    /// [`Message::call_id`] as bytes: checked the same way, but not made text (a UTF-8 check of a
    /// short value costs about half as much as the grammar check), for a caller that only hashes it.
    pub fn call_id_bytes(&self) -> Result<Option<&'a [u8]>, ParseError> {
        match self.first_known(KnownHeader::CALL_ID) {
            None => Ok(None),
            Some(h) if is_call_id(h.value) => Ok(Some(h.value)),
            Some(h) => Err(h.error(CALL_ID_GRAMMAR)),
        }
    }

    /// CSeq.
    pub fn cseq(&self) -> Result<Option<CSeq<'a>>, ParseError> {
        match self.first_known(KnownHeader::CSEQ) {
            None => Ok(None),
            Some(h) => CSeq::parse(h.value).map(Some).map_err(|e| h.error(e)),
        }
    }

    /// Max-Forwards (0 to 255).
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        match self.first_known(KnownHeader::MAX_FORWARDS) {
            None => Ok(None),
            Some(h) => scan::parse_decimal(h.value)
                .and_then(|n| u8::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| h.error("not a number from 0 to 255")),
        }
    }

    /// Content-Length, as used for framing (the first value).
    pub fn content_length(&self) -> Result<Option<usize>, ParseError> {
        match self.first_known(KnownHeader::CONTENT_LENGTH) {
            None => Ok(None),
            Some(h) => scan::parse_decimal(h.value)
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| h.error("not a non-negative number")),
        }
    }

    /// Content-Type.
    pub fn content_type(&self) -> Result<Option<ContentType<'a>>, ParseError> {
        match self.first_known(KnownHeader::CONTENT_TYPE) {
            None => Ok(None),
            Some(h) => ContentType::parse(h.value).map(Some).map_err(|e| h.error(e)),
        }
    }

    /// Every Contact value, in order.
    pub fn contacts(&self) -> impl Iterator<Item = Result<Contact<'a>, ParseError>> + '_ {
        self.known_headers(KnownHeader::CONTACT)
            .flat_map(|h| h.values().map(move |v| Contact::parse(v).map_err(|e| h.error(e))))
    }

    /// The Request-URI, parsed (requests only).
    pub fn request_uri(&self) -> Option<Result<Uri<'a>, ParseError>> {
        self.request().map(|r| {
            Uri::parse(r.uri).map_err(|e| {
                ParseError::new(ErrorKind::RequestUri(e.into()), self.start_line_number(), r.method.len() as u32 + 2)
            })
        })
    }

    /// 1-based line number of the start line (after keep-alive line endings).
    pub fn start_line_number(&self) -> u32 {
        let skipped = crate::message::skip_keepalive(self.input());
        1 + self.input()[..skipped].iter().filter(|&&b| b == b'\n').count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_quick_path_reads_as_the_full_grammar() {
        for v in ["application/sdp", "APPLICATION/SDP", "multipart/mixed", "a/b", "text/plain", "x-y/z.w+v"] {
            assert_eq!(ContentType::parse(v.as_bytes()), ContentType::parse_full(v.as_bytes()), "{v}");
            assert!(ContentType::parse(v.as_bytes()).is_ok(), "{v}");
        }
        for v in ["application/", "/sdp", "a/b/c", "a b/c", "a/b;x", " a/b", "a/b ", "a/\u{e9}"] {
            assert_eq!(ContentType::parse(v.as_bytes()), ContentType::parse_full(v.as_bytes()), "{v}");
        }
    }

    proptest::proptest! {
        /// The quick paths read Content-Type values as the full grammar does, near the usual ones.
        #[test]
        fn content_type_reads_as_the_full_grammar(value in "(application/sdp|[a-z]{0,3})[a-zA-Z/; =\t\r\n\\\"+.-]{0,6}") {
            let value = value.as_bytes();
            proptest::prop_assert_eq!(ContentType::parse(value), ContentType::parse_full(value));
        }
    }

    #[test]
    fn call_id_is_word_at_word() {
        for ok in ["abc", "a@b", "f81d4fae-7dec@foo.bar.com", "(x)<y>:\"z\"/[?]{~}@w", "!%*_+`'~-."] {
            assert_eq!(parse_call_id(ok.as_bytes()), Ok(ok), "{ok}");
        }
        for bad in ["", "@", "@b", "a@", "a@b@c", "a b", "a;b", "a,b", "a@b=c", "a\u{e9}"] {
            assert!(parse_call_id(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// Adding up the bytes' weights tells a Call-ID as looking for the first byte outside the word
        /// class and then at the rest does.
        #[test]
        fn call_id_weights_agree_with_the_byte_search(value in proptest::collection::vec(
            proptest::sample::select(b"ab9@@ ;,=\\\"\xe9\x00".to_vec()), 0..20)
        ) {
            let by_search = match value.iter().position(|&b| scan::call_id_weight(&[b]) != 0) {
                None => !value.is_empty(),
                Some(at) => {
                    let rest = &value[at + 1..];
                    value[at] == b'@' && at > 0 && !rest.is_empty() && scan::call_id_weight(rest) == 0
                }
            };
            proptest::prop_assert_eq!(is_call_id(&value), by_search, "{:?}", value);
        }
    }

    #[test]
    fn via_with_folding_and_ipv6() {
        let v = Via::parse(b"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!((v.protocol, v.version, v.transport), ("SIP", "2.0", "UDP"));
        assert_eq!(v.branch(), Some("390skdjuw"));
        let v = Via::parse(b"SIP/2.0/TCP [2001:db8::9:1]:6050;received=2001:db8::9:255;rport").unwrap();
        assert_eq!(v.port, Some(6050));
        assert_eq!(v.received(), Some("2001:db8::9:255"));
        assert_eq!(v.rport(), Some(None));
        assert!(Via::parse(b"SIP/2.0/UDP 192.0.2.15;;").is_err());
    }

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse(br#""J Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8"#).unwrap();
        assert_eq!(n.tag(), Some("98asjd8"));
        assert!(n.bracketed);
        let n = NameAddr::parse(b"sip:caller@example.net;tag=134161461246").unwrap();
        assert_eq!(n.uri.user, Some("caller"));
        assert_eq!(n.tag(), Some("134161461246"));
        assert!(NameAddr::parse(b"Bell, Alexander <sip:a.g.bell@example.com>").is_err());
        assert!(NameAddr::parse(b"< sip:t.watson@example.org >").is_err());
        assert!(NameAddr::parse(b"sip:user@example.com?Route=%3Csip:sip.example.com%3E").is_err());
    }

    proptest::proptest! {
        /// The one-pass read of a plain CSeq gives what the full grammar gives, on values near the
        /// plain form (long numbers, other whitespace, non-token bytes, nothing after the space).
        #[test]
        fn plain_cseq_reads_as_the_full_grammar(value in "[0-9]{0,12}[ \t]{0,2}(INVITE|ACK|BYE )?[A-Za-z0-9!@;\t \r\n]{0,8}") {
            let value = value.as_bytes();
            let by_raw = CSeq::parse_raw(value).map(|(number, method)| CSeq { number, method: method_text(method) });
            proptest::prop_assert_eq!(CSeq::parse(value), by_raw);
            proptest::prop_assert_eq!(CSeq::parse_raw(value), CSeq::parse_full(value));
            if let Some(plain) = CSeq::parse_plain(value) {
                proptest::prop_assert_eq!(Ok(plain), CSeq::parse_full(value));
            }
        }
    }

    #[test]
    fn registered_methods_are_the_ones_method_text_knows() {
        for method in [&b"INVITE"[..], b"ACK", b"BYE", b"CANCEL", b"OPTIONS", b"REGISTER", b"PRACK", b"UPDATE", b"INFO"]
            .into_iter()
            .chain([&b"SUBSCRIBE"[..], b"NOTIFY", b"REFER", b"MESSAGE", b"PUBLISH", b"invite", b"FOO", b"INVITE ", b""])
        {
            let text = method_text(method);
            match registered_method(method) {
                Some(registered) => assert_eq!(registered, text),
                None => assert_eq!(text.as_bytes(), method),
            }
            let value = [&b"7 "[..], method].concat();
            assert_eq!(
                CSeq::parse(&value),
                CSeq::parse_raw(&value).map(|(number, m)| CSeq { number, method: method_text(m) })
            );
        }
    }

    #[test]
    fn cseq_limits() {
        assert_eq!(CSeq::parse(b"0009\r\n  INVITE").unwrap(), CSeq { number: 9, method: "INVITE" });
        assert!(CSeq::parse(b"2147483648 INVITE").is_err());
        assert!(CSeq::parse(b"36893488147419103232 REGISTER").is_err());
    }
}
