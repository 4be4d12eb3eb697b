//! The compiled contract: what the runner evaluates. Regexes are compiled and header names resolved
//! once, here, so evaluation per message compiles nothing.

use std::net::IpAddr;

use serde::{Serialize, Serializer};
use sipaccord_sip::{plain, NameAddr, Params, Scheme, Uri};

use crate::bytes;

/// Where a compiled item came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// File name as given to the compiler.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The source text of the item (its first line for blocks).
    pub text: String,
}

/// A compiled agreement.
#[derive(Debug, Clone, Serialize)]
pub struct Contract {
    /// Agreement name.
    pub name: String,
    /// Agreement version.
    pub version: u32,
    /// File name.
    pub file: String,
    /// Peers, in declaration order.
    pub peers: Vec<Peer>,
    /// Declared headers, in declaration order.
    pub headers: Vec<HeaderDecl>,
    /// Strictness settings.
    pub settings: Settings,
    /// Rules, in order.
    pub rules: Vec<Rule>,
    /// Correlations, in order.
    pub correlations: Vec<Correlation>,
}

impl Contract {
    /// The declaration of a header, by any spelling (case, compact form).
    pub fn header(&self, name: &str) -> Option<&HeaderDecl> {
        self.headers.iter().find(|h| sipaccord_sip::same_header_name(h.name.as_bytes(), name.as_bytes()))
    }

    /// A peer by name.
    pub fn peer(&self, name: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.name == name)
    }

    /// The peer a packet from (or to) this address belongs to, by its SBC addresses.
    pub fn peer_at(&self, ip: IpAddr, port: u16) -> Option<&Peer> {
        self.peers.iter().find(|p| p.sbc.iter().any(|a| a.contains(ip, Some(port))))
    }
}

/// An address or range: `203.0.113.10`, `203.0.113.11:5060`, `[2001:db8::20]:5060`, `198.51.100.0/27`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    /// Address (network address for a range).
    pub ip: IpAddr,
    /// Prefix length: 32 / 128 for a single address.
    pub prefix: u8,
    /// Port, if given.
    pub port: Option<u16>,
}

impl Address {
    /// Whether `ip` (and `port`, where this address has one) falls in this address or range.
    #[inline]
    pub fn contains(&self, ip: IpAddr, port: Option<u16>) -> bool {
        if self.port.is_some() && port.is_some() && self.port != port {
            return false;
        }
        match (self.ip, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) if self.prefix <= 32 => {
                // The first `prefix` bits equal, as `prefix_eq` compares them, on one word.
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                (a.to_bits() ^ b.to_bits()) & mask == 0
            }
            (IpAddr::V4(a), IpAddr::V4(b)) => prefix_eq(&a.octets(), &b.octets(), self.prefix),
            (IpAddr::V6(a), IpAddr::V6(b)) => prefix_eq(&a.octets(), &b.octets(), self.prefix),
            _ => false,
        }
    }

    /// Whether two addresses or ranges share any address (ports compared where both have one).
    pub fn overlaps(&self, other: &Address) -> bool {
        if self.port.is_some() && other.port.is_some() && self.port != other.port {
            return false;
        }
        let narrow = if self.prefix >= other.prefix { self } else { other };
        let wide = if self.prefix >= other.prefix { other } else { self };
        wide.contains(narrow.ip, None)
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rem = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rem == 0 || full >= a.len() {
        return true;
    }
    let mask = 0xffu8 << (8 - rem);
    a[full] & mask == b[full] & mask
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let single = matches!((self.ip, self.prefix), (IpAddr::V4(_), 32) | (IpAddr::V6(_), 128));
        match (self.ip, self.port) {
            (IpAddr::V6(ip), Some(_)) => write!(f, "[{ip}]")?,
            (ip, _) => write!(f, "{ip}")?,
        }
        if !single {
            write!(f, "/{}", self.prefix)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A SIP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// UDP
    Udp,
    /// TCP
    Tcp,
    /// TLS
    Tls,
    /// SCTP
    Sctp,
    /// WebSocket
    Ws,
}

impl Transport {
    /// Parses the word used in the language.
    pub fn from_word(w: &str) -> Option<Transport> {
        Some(match w {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            "tls" => Transport::Tls,
            "sctp" => Transport::Sctp,
            "ws" => Transport::Ws,
            _ => return None,
        })
    }

    /// The word used in the language.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Sctp => "sctp",
            Transport::Ws => "ws",
        }
    }
}

impl Peer {
    /// Whether an SDP address falls in this peer's media ranges.
    pub fn media_contains(&self, ip: IpAddr) -> bool {
        self.media.iter().any(|a| a.contains(ip, None))
    }
}

/// One side of the interconnect.
#[derive(Debug, Clone, Serialize)]
pub struct Peer {
    /// Name used in rules.
    pub name: String,
    /// Display name.
    pub display: Option<String>,
    /// Signalling addresses.
    pub sbc: Vec<Address>,
    /// Media ranges.
    pub media: Vec<Address>,
    /// Allowed transports; empty means any.
    pub transports: Vec<Transport>,
    /// Where declared.
    pub origin: Origin,
}

/// A declared header.
#[derive(Debug, Clone, Serialize)]
pub struct HeaderDecl {
    /// Canonical name (the registry's spelling for a standard header, else as written).
    pub name: String,
    /// Value type, if given.
    pub value: Option<ValueType>,
    /// The value type as written, on one line (block lines joined with `; `), for reports.
    pub value_source: Option<String>,
    /// Several comma-separated values may share a line.
    pub list: bool,
    /// At most this many values per message.
    pub max: Option<u32>,
    /// A conforming example value.
    pub example: Option<String>,
    /// Whether it is in the IANA registry.
    pub standard: bool,
    /// Where declared.
    pub origin: Origin,
}

impl HeaderDecl {
    /// The values on one header line: split at top-level commas when the header is a `list`.
    pub fn values<'a>(&self, line_value: &'a [u8]) -> sipaccord_sip::ListItems<'a> {
        if self.list {
            sipaccord_sip::ListItems::new(line_value)
        } else {
            sipaccord_sip::ListItems::single(line_value)
        }
    }

    /// The values on one header line that do not match the declared type (none when no type is declared).
    pub fn bad_values<'a>(&'a self, line_value: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.values(line_value).filter(move |v| self.value.as_ref().is_some_and(|t| !t.matches(v)))
    }
}

/// `allow` / `warn` / `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strictness {
    /// Not reported.
    Allow,
    /// Warning finding.
    Warn,
    /// Error finding.
    Error,
}

/// The `settings` block, with defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Non-registry headers not declared (default warn).
    pub undeclared_headers: Strictness,
    /// SIP from an address of no peer (default error).
    pub unknown_source: Strictness,
    /// SDP address outside the sender's media ranges (default error).
    pub media_outside: Strictness,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            undeclared_headers: Strictness::Warn,
            unknown_source: Strictness::Error,
            media_outside: Strictness::Error,
        }
    }
}

/// A regex compiled once, anchored to the whole value. Serialises as its source pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The pattern as written (unanchored).
    pub source: String,
    /// `^(?:source)$`
    pub regex: regex::Regex,
    /// The same pattern as a [`ByteSequence`], when it is one: the common value patterns
    /// (`/\+[1-9][0-9]{6,14}/`) are a few ASCII classes in a row, which a byte loop answers in a
    /// fraction of what a call into the regex engine costs.
    sequence: Option<ByteSequence>,
}

impl Pattern {
    /// Compiles `source`, anchored.
    pub fn new(source: &str) -> Result<Pattern, regex::Error> {
        // Validate the pattern alone first, so the error message points into what the user wrote.
        regex::Regex::new(source)?;
        let anchored = format!("^(?:{source})$");
        let regex = regex::Regex::new(&anchored)?;
        // Read from the anchored text the regex was compiled from, so both see one pattern.
        let sequence = ByteSequence::of(&anchored);
        Ok(Pattern { source: source.to_string(), regex, sequence })
    }

    /// Whether the whole value matches.
    pub fn is_match(&self, v: &str) -> bool {
        match &self.sequence {
            Some(seq) => seq.is_match(v.as_bytes()),
            None => self.regex.is_match(v),
        }
    }

    /// Whether [`Pattern::is_match`] answers with a byte loop instead of the regex engine (the
    /// pattern is a sequence of ASCII classes that matching greedily decides exactly). For tests that
    /// keep the common patterns on the quick path.
    pub fn is_byte_sequence(&self) -> bool {
        self.sequence.is_some()
    }

    /// [`Pattern::is_match`] on bytes, for a pattern that is a byte sequence (`None` for others).
    /// Such a pattern matches only ASCII, so bytes that are not UTF-8 get the answer the text would:
    /// no match.
    fn is_match_ascii(&self, v: &[u8]) -> Option<bool> {
        self.sequence.as_ref().map(|seq| seq.is_match(v))
    }
}

/// An anchored pattern that is a plain sequence of items, each an ASCII byte class taken `min` to
/// `max` times: literals, classes and counted repetitions of one class, in capture groups or not.
///
/// Matching takes each item greedily, left to right, and never goes back. That is exact (it finds a
/// match whenever the regex would) because every item whose count can vary has a class that no later
/// item shares: a byte such an item left for later could only be taken by a later item, and none can
/// take it. So any match gives each item the most bytes it can take, which is what the loop gives.
#[derive(Clone)]
struct ByteSequence {
    /// At most [`ByteSequence::MAX_ITEMS`].
    items: Box<[SeqItem]>,
    /// For each byte, bit `i` set when item `i`'s class holds it: one load and a mask test a byte.
    members: Box<[u64; 256]>,
}

/// One item of a [`ByteSequence`].
#[derive(Debug, Clone, Copy)]
struct SeqItem {
    /// Bit `b` set for each ASCII byte `b` in the class.
    class: u128,
    /// Fewest bytes.
    min: usize,
    /// Most bytes (`usize::MAX` for no bound).
    max: usize,
}

impl SeqItem {
    fn once(class: u128) -> SeqItem {
        SeqItem { class, min: 1, max: 1 }
    }
}

impl std::fmt::Debug for ByteSequence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteSequence").field("items", &self.items).finish_non_exhaustive()
    }
}

impl ByteSequence {
    /// Items a sequence may have: one bit each in [`ByteSequence::members`]. A longer pattern (a long
    /// literal) stays with the regex engine.
    const MAX_ITEMS: usize = 64;

    /// The sequence `^(?:...)$` (as [`Pattern::new`] writes it) is, if it is one; `None` for any
    /// pattern with an alternation, an assertion inside, a class or literal beyond ASCII (`\d`, `.`,
    /// a case-insensitive `k`), a repetition of more than one byte, or items that greedy matching
    /// might not decide exactly.
    fn of(anchored: &str) -> Option<ByteSequence> {
        use regex_syntax::hir::{HirKind, Look};
        let hir = regex_syntax::Parser::new().parse(anchored).ok()?;
        let HirKind::Concat(parts) = hir.kind() else { return None };
        let (first, rest) = parts.split_first()?;
        let (last, inner) = rest.split_last()?;
        if *first.kind() != HirKind::Look(Look::Start) || *last.kind() != HirKind::Look(Look::End) {
            return None;
        }
        let mut items = Vec::new();
        for h in inner {
            push_items(h, &mut items)?;
        }
        if items.len() > Self::MAX_ITEMS {
            return None;
        }
        // Exactness: a variable item shares no byte with any item after it.
        let mut later = 0u128;
        for item in items.iter().rev() {
            if item.min != item.max && item.class & later != 0 {
                return None;
            }
            later |= item.class;
        }
        let mut members = Box::new([0u64; 256]);
        for (i, item) in items.iter().enumerate() {
            for b in 0..128 {
                if item.class >> b & 1 == 1 {
                    members[b] |= 1 << i;
                }
            }
        }
        Some(ByteSequence { items: items.into_boxed_slice(), members })
    }

    /// Whether the whole of `v` matches.
    fn is_match(&self, v: &[u8]) -> bool {
        let mut at = 0usize;
        for (i, item) in self.items.iter().enumerate() {
            let bit = 1u64 << i;
            // A literal byte or a class taken once (`\+`, `[1-9]`): one test.
            if item.max == 1 && item.min == 1 {
                match v.get(at) {
                    Some(&b) if self.members[usize::from(b)] & bit != 0 => at += 1,
                    _ => return false,
                }
                continue;
            }
            let end = v.len().min(at.saturating_add(item.max));
            let run = v[at..end].iter().take_while(|&&b| self.members[usize::from(b)] & bit != 0).count();
            if run < item.min {
                return false;
            }
            at += run;
        }
        at == v.len()
    }
}

/// Appends the items `hir` is to `items`; `None` when it is not a plain sequence.
fn push_items(hir: &regex_syntax::hir::Hir, items: &mut Vec<SeqItem>) -> Option<()> {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Literal(lit) => {
            for &b in lit.0.iter() {
                items.push(SeqItem::once(byte_class(b)?));
            }
        }
        HirKind::Class(class) => items.push(SeqItem::once(class_mask(class)?)),
        HirKind::Capture(cap) => push_items(&cap.sub, items)?,
        HirKind::Concat(subs) => {
            for h in subs {
                push_items(h, items)?;
            }
        }
        // Greedy or lazy makes no difference to whether a match exists, which is all `is_match` asks.
        HirKind::Repetition(rep) => items.push(SeqItem {
            class: one_byte_class(&rep.sub)?,
            min: usize::try_from(rep.min).ok()?,
            max: rep.max.map_or(Some(usize::MAX), |m| usize::try_from(m).ok())?,
        }),
        HirKind::Look(_) | HirKind::Alternation(_) => return None,
    }
    Some(())
}

/// The class of an expression that matches exactly one ASCII byte.
fn one_byte_class(hir: &regex_syntax::hir::Hir) -> Option<u128> {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Literal(lit) if lit.0.len() == 1 => byte_class(lit.0[0]),
        HirKind::Class(class) => class_mask(class),
        HirKind::Capture(cap) => one_byte_class(&cap.sub),
        _ => None,
    }
}

fn byte_class(b: u8) -> Option<u128> {
    (b < 128).then(|| 1u128 << b)
}

/// The mask of a class whose members are all ASCII.
fn class_mask(class: &regex_syntax::hir::Class) -> Option<u128> {
    use regex_syntax::hir::Class;
    let bits =
        |start: u32, end: u32| -> Option<u128> { (end < 128).then(|| (start..=end).fold(0u128, |m, b| m | 1 << b)) };
    match class {
        Class::Unicode(c) => {
            c.ranges().iter().try_fold(0u128, |m, r| Some(m | bits(u32::from(r.start()), u32::from(r.end()))?))
        }
        Class::Bytes(c) => {
            c.ranges().iter().try_fold(0u128, |m, r| Some(m | bits(u32::from(r.start()), u32::from(r.end()))?))
        }
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

/// Which of the byte scans behind [`ValueType::matches`] (`sipaccord_sip::plain`'s) reads `value`
/// (trimmed of blanks) whole: `"name-addr"` (a name-addr with a plain `sip:` URI and token header
/// parameters), `"sip-uri"`, `"params"` (plain parameters, with or without a `;` first), or `None`
/// when the parsers read it. For tests that check generated
/// values reach the byte scans often enough for a comparison with [`ValueType::matches_general`] to
/// mean something.
#[doc(hidden)]
pub fn byte_scan_of(value: &[u8]) -> Option<&'static str> {
    let v = trim_blanks(value);
    if plain::name_addr(v).is_some() {
        Some("name-addr")
    } else if plain::sip_uri(v).is_some_and(|u| u.len == v.len()) {
        Some("sip-uri")
    } else if plain::params(v, v.first() == Some(&b';'), |_| true).is_some() {
        Some("params")
    } else {
        None
    }
}

/// Which URI schemes a URI type accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UriKind {
    /// Any absolute URI.
    Any,
    /// `sip:` / `sips:`
    Sip,
    /// `tel:`
    Tel,
}

/// Constraints on a URI's parts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UriFields {
    /// User part (for `tel:`, the number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Box<ValueType>>,
    /// Host as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<Box<ValueType>>,
    /// Port digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<Box<ValueType>>,
    /// Scheme without colon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Box<ValueType>>,
}

/// One parameter in a `params { }` spec.
#[derive(Debug, Clone, Serialize)]
pub struct ParamSpec {
    /// Parameter name (matched case-insensitively).
    pub name: String,
    /// Its value type, if constrained.
    pub value: Option<ValueType>,
    /// Must be present.
    pub required: bool,
}

/// `params [closed] { ... }`.
#[derive(Debug, Clone, Serialize)]
pub struct ParamsSpecC {
    /// Parameters not listed are not allowed.
    pub closed: bool,
    /// The listed parameters.
    pub entries: Vec<ParamSpec>,
}

/// A compiled value type.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ValueType {
    /// Exactly this text.
    Literal {
        /// The text.
        value: String,
    },
    /// The whole value matches.
    Regex {
        /// The pattern.
        pattern: Pattern,
    },
    /// Any of these.
    Alt {
        /// The alternatives.
        alternatives: Vec<ValueType>,
    },
    /// RFC 3261 token.
    Token,
    /// Decimal digits, optionally within a range.
    Integer {
        /// Lower bound.
        min: Option<u64>,
        /// Upper bound.
        max: Option<u64>,
    },
    /// RFC 3261 quoted-string.
    QuotedString,
    /// Host name, IPv4 or `[IPv6]`.
    Host,
    /// Dotted IPv4.
    Ipv4,
    /// IPv6, with or without brackets.
    Ipv6,
    /// 8-4-4-4-12 hex.
    Uuid,
    /// Anything.
    Any,
    /// `+` and 7 to 15 digits, first not 0.
    E164,
    /// A URI.
    Uri {
        /// Schemes accepted.
        scheme: UriKind,
        /// Part constraints.
        fields: UriFields,
    },
    /// `["Display"] <uri>` or addr-spec.
    NameAddr {
        /// URI part constraints.
        fields: UriFields,
    },
    /// A base value followed by `;params`, or a bare parameter list.
    WithParams {
        /// The value before the first `;` (none for a bare parameter list).
        base: Option<Box<ValueType>>,
        /// The parameters.
        params: ParamsSpecC,
    },
}

/// An RFC 3261 token character.
pub(crate) fn is_token_byte(b: u8) -> bool {
    plain::token_bytes(&[b])
}

/// `v` without the spaces and tabs around it.
fn trim_blanks(v: &[u8]) -> &[u8] {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !blank(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
    &v[start..end]
}

/// [`trim_blanks`] for text (spaces and tabs are ASCII, so the cut falls between characters).
fn trim_blanks_str(v: &str) -> &str {
    let trimmed = trim_blanks(v.as_bytes());
    let start = trimmed.as_ptr() as usize - v.as_ptr() as usize;
    &v[start..start + trimmed.len()]
}

fn is_quoted_string(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() < 2 || b[0] != b'"' || b[b.len() - 1] != b'"' {
        return false;
    }
    let mut i = 1;
    while i < b.len() - 1 {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return false,
            _ => i += 1,
        }
    }
    i == b.len() - 1
}

fn is_uuid(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether [`sipaccord_sip::Host::parse`] accepts `v`, read on bytes: `[IPv6]`, or a run of host-name
/// bytes that does not start with `-` or `.`. The parser's other branches add nothing: a dotted IPv4
/// address is such a run, and a `:` outside brackets is not a host-name byte. Only ASCII passes.
fn is_host(v: &[u8]) -> bool {
    if let Some(inner) = v.strip_prefix(b"[") {
        let inner = inner.strip_suffix(b"]").and_then(|i| std::str::from_utf8(i).ok());
        return inner.is_some_and(|i| i.parse::<std::net::Ipv6Addr>().is_ok());
    }
    match v.first() {
        None | Some(b'-' | b'.') => false,
        Some(_) => plain::host_name_bytes(v),
    }
}

/// Whether `v` is a dotted IPv4 address as `Ipv4Addr::from_str` reads it: four decimal octets up to
/// 255, each of one to three digits with no leading zero. Only ASCII passes.
fn is_ipv4(v: &[u8]) -> bool {
    let mut octets = 0;
    for part in v.split(|&b| b == b'.') {
        octets += 1;
        let octet = match *part {
            [a] => a.is_ascii_digit(),
            [b'1'..=b'9', b] => b.is_ascii_digit(),
            [a @ b'1'..=b'9', b, c] if b.is_ascii_digit() && c.is_ascii_digit() => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0') <= 255
            }
            _ => false,
        };
        if !octet || octets > 4 {
            return false;
        }
    }
    octets == 4
}

fn is_e164(v: &[u8]) -> bool {
    let Some(d) = v.strip_prefix(b"+") else {
        return false;
    };
    (7..=15).contains(&d.len()) && d.iter().all(u8::is_ascii_digit) && d[0] != b'0'
}

/// A non-empty run of decimal digits as a number; `None` for anything else or above `u64::MAX`.
fn decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |n, &b| match b {
        b'0'..=b'9' => n.checked_mul(10)?.checked_add(u64::from(b - b'0')),
        _ => None,
    })
}

/// Splits `base;params` at the first `;` outside quotes and `<>`.
pub(crate) fn split_params(v: &str) -> (&str, &str) {
    // At a `;` or the end: between characters.
    v.split_at(params_start(v.as_bytes()))
}

/// Where the parameters of `base;params` start: the first `;` outside quotes and `<>` (the length
/// when there is none).
fn params_start(b: &[u8]) -> usize {
    let mut quoted = false;
    let mut angle = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle = true,
            b'>' if !quoted => angle = false,
            b';' if !quoted && !angle => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The parts of a URI that [`UriFields`] constrains, as bytes.
struct UriView<'a> {
    /// `sip`, `sips`, `tel` or another scheme as written.
    scheme: &'a [u8],
    user: Option<&'a [u8]>,
    /// Empty when there is no host.
    host: &'a [u8],
    port: Option<u16>,
}

impl<'a> UriView<'a> {
    fn of(uri: &Uri<'a>) -> UriView<'a> {
        let scheme: &[u8] = match uri.scheme {
            Scheme::Sip => b"sip",
            Scheme::Sips => b"sips",
            Scheme::Tel => b"tel",
            Scheme::Other(s) => s.as_bytes(),
        };
        UriView { scheme, user: uri.user.map(str::as_bytes), host: uri.host_raw.as_bytes(), port: uri.port }
    }

    fn of_sip(uri: &plain::SipUri<'a>) -> UriView<'a> {
        let scheme: &[u8] = if uri.secure { b"sips" } else { b"sip" };
        UriView { scheme, user: uri.user, host: uri.host, port: uri.port }
    }
}

impl UriFields {
    /// Whether the parts satisfy the constraints, each checked with `matches` (the parts are text:
    /// slices of a URI that is, or the scheme names).
    fn check(&self, uri: &UriView<'_>, matches: impl Fn(&ValueType, &[u8]) -> bool) -> bool {
        let ok = |t: &Option<Box<ValueType>>, v: Option<&[u8]>| match t {
            None => true,
            Some(t) => v.is_some_and(|v| matches(t, v)),
        };
        ok(&self.user, uri.user)
            && ok(&self.host, Some(uri.host).filter(|h| !h.is_empty()))
            && match (&self.port, uri.port) {
                (None, _) => true,
                (Some(_), None) => false,
                // The port as `u16::to_string` writes it, without making a `String`.
                (Some(_), Some(p)) => ok(&self.port, Some(bytes::port_text(p, &mut [0; 5]))),
            }
            && ok(&self.scheme, Some(uri.scheme))
    }
}

impl ParamsSpecC {
    /// Checks `;a=1;b` text (starting at `;`, or empty; when not `prefixed`, starting with the first
    /// parameter itself), as [`ParamsSpecC::check`] does on `Params::new(s)` (`Params::unprefixed(s)`):
    /// in one pass over the bytes when every parameter is plain, else with the parameter parser.
    fn check_bytes(&self, s: &[u8], prefixed: bool) -> bool {
        if self.entries.len() <= 64 {
            let mut seen = 0u64;
            let plain = plain::params(s, prefixed, |p| match self.position(p.name) {
                Some(i) => {
                    seen |= 1 << i;
                    // A plain value has no quotes to take off.
                    self.entries[i].value.as_ref().is_none_or(|t| p.value.is_some_and(|v| t.matches_plain(v)))
                }
                None => !self.closed,
            });
            match plain {
                Some(false) => return false,
                Some(true) => return self.required_seen(|i| seen & (1 << i) != 0),
                None => {}
            }
        }
        let params = if prefixed { Params::new(s) } else { Params::unprefixed(s) };
        self.check(params, ValueType::matches)
    }

    /// The entry for a parameter name. Parameter names are ASCII (the scanners take only name bytes),
    /// so comparing bytes is comparing text. Names are mostly written as the agreement spells them: the
    /// plain comparison first, the byte-by-byte case folding only when that fails.
    // A loop of its own, inlined: `Iterator::position` stayed a call, about thirty instructions more
    // a parameter.
    #[inline(always)]
    fn position(&self, written: &[u8]) -> Option<usize> {
        for (i, e) in self.entries.iter().enumerate() {
            let name = e.name.as_bytes();
            if name.len() == written.len() && (bytes::same(name, written) || name.eq_ignore_ascii_case(written)) {
                return Some(i);
            }
        }
        None
    }

    /// Whether every required entry was seen (`seen(i)` for entry `i`).
    fn required_seen(&self, seen: impl Fn(usize) -> bool) -> bool {
        self.entries.iter().enumerate().all(|(i, e)| !e.required || seen(i))
    }

    /// Checks parameters read by the parameter parser, values with `matches`
    /// ([`ValueType::matches`], or [`ValueType::matches_general`] for the reference).
    fn check(&self, params: Params<'_>, matches: fn(&ValueType, &[u8]) -> bool) -> bool {
        // Which entries were seen: a bit each for the usual few, a vector beyond 64.
        let mut seen_bits = 0u64;
        let mut seen_many = if self.entries.len() > 64 { vec![false; self.entries.len()] } else { Vec::new() };
        for p in params {
            let Ok(p) = p else { return false };
            match self.position(p.name) {
                Some(i) => {
                    match seen_many.get_mut(i) {
                        Some(seen) => *seen = true,
                        None => seen_bits |= 1 << i,
                    }
                    if let Some(t) = &self.entries[i].value {
                        let value = p.value_unquoted();
                        if !value.is_some_and(|v| matches(t, v)) {
                            return false;
                        }
                    }
                }
                None if self.closed => return false,
                None => {}
            }
        }
        self.required_seen(|i| seen_many.get(i).copied().unwrap_or_else(|| seen_bits & (1 << i) != 0))
    }
}

impl ValueType {
    /// Whether one header value (one list item) matches. Surrounding whitespace is ignored.
    pub fn matches(&self, value: &[u8]) -> bool {
        let v = trim_blanks(value);
        match self {
            // The commonest type, answered here rather than through `matches_ascii`'s dispatch.
            ValueType::Token => !v.is_empty() && plain::token_bytes(v),
            ValueType::Uri { .. } | ValueType::NameAddr { .. } | ValueType::WithParams { .. } => {
                // Only UTF-8 values match (as text): checked last, and only for a match. Blanks are
                // ASCII, so the trimmed value is UTF-8 when the whole is.
                self.matches_bytes(v) && (v.is_ascii() || std::str::from_utf8(v).is_ok())
            }
            _ => match self.matches_ascii(v) {
                Some(answer) => answer,
                None => std::str::from_utf8(value).is_ok_and(|v| self.matches_str(v)),
            },
        }
    }

    /// [`ValueType::matches`] for a value that is ASCII and has no blank at either end (a plain
    /// parameter value, a part of a URI): without the trimming and the UTF-8 check.
    #[inline]
    fn matches_trimmed(&self, v: &[u8]) -> bool {
        match self {
            ValueType::Uri { .. } | ValueType::NameAddr { .. } | ValueType::WithParams { .. } => self.matches_bytes(v),
            // The user part's usual type (`/\+[1-9][0-9]{6,14}/`), answered here rather than through
            // `matches_ascii`'s dispatch.
            ValueType::Regex { pattern } if pattern.is_byte_sequence() => pattern.is_match_ascii(v) == Some(true),
            _ => match self.matches_ascii(v) {
                Some(answer) => answer,
                None => std::str::from_utf8(v).is_ok_and(|v| self.matches_str(v)),
            },
        }
    }

    /// [`ValueType::matches_trimmed`] for a plain parameter value (see `sipaccord_sip::plain::params`:
    /// not empty, not opening with `[`), with tokens, hosts and literals answered here rather than
    /// through `matches_ascii`'s dispatch.
    #[inline]
    fn matches_plain(&self, v: &[u8]) -> bool {
        match self {
            ValueType::Token => plain::token_bytes(v),
            // Not `[IPv6]`: a plain value does not open with `[`.
            ValueType::Host => plain::host_name_bytes(v) && !matches!(v[0], b'-' | b'.'),
            ValueType::Literal { value } => bytes::same(v, value.as_bytes()),
            _ => self.matches_trimmed(v),
        }
    }

    /// What [`ValueType::matches`] answers, read with `sipaccord_sip`'s parsers (`Uri::parse`,
    /// `NameAddr::parse`, `Params`) for the structured types instead of this crate's byte scans of
    /// their commonest shapes. The reference the tests compare [`ValueType::matches`] with.
    #[doc(hidden)]
    pub fn matches_general(&self, value: &[u8]) -> bool {
        let v = trim_blanks(value);
        if let Some(answer) = self.matches_ascii(v) {
            return answer;
        }
        let Ok(text) = std::str::from_utf8(v) else { return false };
        match self {
            ValueType::Uri { scheme, fields } => match Uri::parse(v) {
                Ok(uri) => {
                    let scheme_ok = match scheme {
                        UriKind::Any => true,
                        UriKind::Sip => matches!(uri.scheme, Scheme::Sip | Scheme::Sips),
                        UriKind::Tel => uri.scheme == Scheme::Tel,
                    };
                    scheme_ok && fields.check(&UriView::of(&uri), ValueType::matches_general)
                }
                Err(_) => false,
            },
            ValueType::NameAddr { fields } => {
                NameAddr::parse(v).is_ok_and(|na| fields.check(&UriView::of(&na.uri), ValueType::matches_general))
            }
            ValueType::WithParams { base, params } => match base.as_deref() {
                Some(ValueType::NameAddr { fields }) => NameAddr::parse(v).is_ok_and(|na| {
                    fields.check(&UriView::of(&na.uri), ValueType::matches_general)
                        && params.check(na.params(), ValueType::matches_general)
                }),
                Some(base) => {
                    let (head, rest) = v.split_at(params_start(v));
                    base.matches_general(head) && params.check(Params::new(rest), ValueType::matches_general)
                }
                None if v.is_empty() || v[0] == b';' => params.check(Params::new(v), ValueType::matches_general),
                None => params.check(Params::unprefixed(v), ValueType::matches_general),
            },
            ValueType::Alt { alternatives } => alternatives.iter().any(|a| a.matches_general(v)),
            _ => self.matches_str(text),
        }
    }

    /// [`ValueType::matches`] for the types that accept only ASCII and can be checked on bytes
    /// (tokens, literals, integers, E.164 numbers, hosts, IPv4 addresses, regexes that are byte
    /// sequences and alternatives of these), without the UTF-8 check that making text would cost;
    /// `None` for the others. `v` is trimmed.
    fn matches_ascii(&self, v: &[u8]) -> Option<bool> {
        Some(match self {
            // A value equal to the literal's bytes is that text; any other is not.
            ValueType::Literal { value } => bytes::same(v, value.as_bytes()),
            ValueType::Regex { pattern } => return pattern.is_match_ascii(v),
            ValueType::Token => !v.is_empty() && plain::token_bytes(v),
            ValueType::Integer { min, max } => {
                decimal(v).is_some_and(|n| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m))
            }
            ValueType::E164 => is_e164(v),
            ValueType::Host => is_host(v),
            ValueType::Ipv4 => is_ipv4(v),
            ValueType::Alt { alternatives } => {
                let mut any = false;
                for a in alternatives {
                    // Literals, the commonest alternatives, compared here rather than in a call.
                    any |= match a {
                        ValueType::Literal { value } => bytes::same(v, value.as_bytes()),
                        _ => a.matches_ascii(v)?,
                    };
                }
                any
            }
            _ => return None,
        })
    }

    /// What [`ValueType::matches_str`] answers for `v` when `v` is UTF-8, for the types whose parsers
    /// read bytes (URIs, name-addrs, parameter lists), so that a value need not be made text first;
    /// false for the others. Its answer for bytes that are not UTF-8 means nothing: the caller checks.
    /// `v` is trimmed.
    ///
    /// The commonest shapes (a plain `sip:` URI, a name-addr with one, plain parameters) are read by
    /// the byte scans in `sipaccord_sip::plain`, which delimit them as the parsers do; the others by
    /// the parsers.
    /// The parts the scans delimit are ASCII without blanks (runs of their byte classes), checked
    /// with [`ValueType::matches_trimmed`].
    fn matches_bytes(&self, v: &[u8]) -> bool {
        match self {
            ValueType::Uri { scheme, fields } => match plain::sip_uri(v).filter(|u| u.len == v.len()) {
                Some(uri) => {
                    *scheme != UriKind::Tel && fields.check(&UriView::of_sip(&uri), ValueType::matches_trimmed)
                }
                None => match Uri::parse(v) {
                    Ok(uri) => {
                        let scheme_ok = match scheme {
                            UriKind::Any => true,
                            UriKind::Sip => matches!(uri.scheme, Scheme::Sip | Scheme::Sips),
                            UriKind::Tel => uri.scheme == Scheme::Tel,
                        };
                        scheme_ok && fields.check(&UriView::of(&uri), ValueType::matches)
                    }
                    Err(_) => false,
                },
            },
            ValueType::NameAddr { fields } => match plain::name_addr(v) {
                // `NameAddr::parse` accepts a plain name-addr (its header parameters are plain).
                Some(na) => fields.check(&UriView::of_sip(&na.uri), ValueType::matches_trimmed),
                None => NameAddr::parse(v).is_ok_and(|na| fields.check(&UriView::of(&na.uri), ValueType::matches)),
            },
            ValueType::WithParams { base, params } => match base.as_deref() {
                Some(ValueType::NameAddr { fields }) => match plain::name_addr(v) {
                    Some(na) => {
                        fields.check(&UriView::of_sip(&na.uri), ValueType::matches_trimmed)
                            && params.check_bytes(na.params, true)
                    }
                    None => NameAddr::parse(v).is_ok_and(|na| {
                        fields.check(&UriView::of(&na.uri), ValueType::matches)
                            && params.check(na.params(), ValueType::matches)
                    }),
                },
                // The base is UTF-8 when `v` is (the cut is at a `;`), where `matches` answers as
                // `matches_str` does.
                Some(base) => {
                    let (head, rest) = v.split_at(params_start(v));
                    base.matches(head) && params.check_bytes(rest, true)
                }
                None if v.is_empty() || v[0] == b';' => params.check_bytes(v, true),
                None => params.check_bytes(v, false),
            },
            _ => false,
        }
    }

    /// As [`ValueType::matches`], for text.
    pub fn matches_str(&self, value: &str) -> bool {
        let v = trim_blanks_str(value);
        match self {
            // Checked on bytes, one definition for both entry points.
            ValueType::Literal { .. }
            | ValueType::Token
            | ValueType::Integer { .. }
            | ValueType::E164
            | ValueType::Host
            | ValueType::Ipv4 => self.matches_ascii(v.as_bytes()) == Some(true),
            ValueType::Uri { .. } | ValueType::NameAddr { .. } | ValueType::WithParams { .. } => {
                self.matches_bytes(v.as_bytes())
            }
            ValueType::Regex { pattern } => pattern.is_match(v),
            ValueType::Alt { alternatives } => alternatives.iter().any(|a| a.matches_str(v)),
            ValueType::QuotedString => is_quoted_string(v),
            ValueType::Ipv6 => {
                let inner = v.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(v);
                inner.parse::<std::net::Ipv6Addr>().is_ok()
            }
            ValueType::Uuid => is_uuid(v),
            ValueType::Any => true,
        }
    }

    /// The type in words, for the sign-off sheet.
    pub fn describe(&self) -> String {
        match self {
            ValueType::Literal { value } => format!("\"{value}\""),
            ValueType::Regex { pattern } => format!("text matching /{}/", pattern.source),
            ValueType::Alt { alternatives } => {
                let parts: Vec<String> = alternatives.iter().map(ValueType::describe).collect();
                format!("one of {}", parts.join(", "))
            }
            ValueType::Token => "a token".into(),
            ValueType::Integer { min: Some(a), max: Some(b) } => format!("an integer from {a} to {b}"),
            ValueType::Integer { .. } => "an integer".into(),
            ValueType::QuotedString => "a quoted string".into(),
            ValueType::Host => "a host".into(),
            ValueType::Ipv4 => "an IPv4 address".into(),
            ValueType::Ipv6 => "an IPv6 address".into(),
            ValueType::Uuid => "a UUID".into(),
            ValueType::Any => "any value".into(),
            ValueType::E164 => "an E.164 number".into(),
            ValueType::Uri { scheme, fields } => {
                let what = match scheme {
                    UriKind::Any => "a URI",
                    UriKind::Sip => "a SIP URI",
                    UriKind::Tel => "a tel URI",
                };
                format!("{what}{}", fields.describe())
            }
            ValueType::NameAddr { fields } => format!("a name-addr{}", fields.describe()),
            ValueType::WithParams { base, params } => {
                let entries: Vec<String> = params
                    .entries
                    .iter()
                    .map(|e| {
                        let mut s = e.name.clone();
                        if let Some(t) = &e.value {
                            s.push_str(&format!(" ({})", t.describe()));
                        }
                        if e.required {
                            s.push_str(", required");
                        }
                        s
                    })
                    .collect();
                let list = format!("{}parameters {}", if params.closed { "only the " } else { "" }, entries.join("; "));
                match base {
                    Some(b) => format!("{} with {list}", b.describe()),
                    None => list,
                }
            }
        }
    }
}

impl UriFields {
    fn describe(&self) -> String {
        let mut parts = vec![];
        for (n, t) in [("user", &self.user), ("host", &self.host), ("port", &self.port), ("scheme", &self.scheme)] {
            if let Some(t) = t {
                parts.push(format!("{n} is {}", t.describe()));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" whose {}", parts.join(", "))
        }
    }
}

/// Initial / in-dialog / either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DialogState {
    /// Either.
    Any,
    /// No To tag.
    Initial,
    /// To tag present.
    InDialog,
}

/// A status code range, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CodeRange {
    /// Lowest code.
    pub min: u16,
    /// Highest code.
    pub max: u16,
}

/// What kind of message a selector picks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MessageKind {
    /// Requests; an empty method list means any request.
    Request {
        /// Methods (upper case as written).
        methods: Vec<String>,
    },
    /// Responses with these codes to requests of these methods (empty: any).
    Response {
        /// Codes.
        codes: Vec<CodeRange>,
        /// Methods of the answered request.
        methods: Vec<String>,
    },
    /// Requests and responses.
    Message,
}

/// A compiled selector.
#[derive(Debug, Clone, Serialize)]
pub struct Selector {
    /// Kind and methods/codes.
    pub message: MessageKind,
    /// Dialog state.
    pub dialog: DialogState,
    /// Sending peer.
    pub from: Option<String>,
    /// Receiving peer.
    pub to: Option<String>,
    /// Extra condition.
    pub condition: Option<Expr>,
    /// The selector as written.
    pub text: String,
}

impl Selector {
    /// Whether a request with this method, or a response with this status to this method, fits the
    /// kind part of the selector.
    pub fn matches_kind(&self, method: &str, status: Option<u16>) -> bool {
        match (&self.message, status) {
            (MessageKind::Message, _) => true,
            (MessageKind::Request { methods }, None) => methods.is_empty() || methods.iter().any(|m| m == method),
            (MessageKind::Response { codes, methods }, Some(s)) => {
                codes.iter().any(|c| (c.min..=c.max).contains(&s))
                    && (methods.is_empty() || methods.iter().any(|m| m == method))
            }
            _ => false,
        }
    }
}

/// `must`, `should`, `may`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Failure is an error.
    Must,
    /// Failure is a warning.
    Should,
    /// Documentation only.
    May,
}

/// A header name resolved once: canonical spelling, and a flag for prefix patterns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderName {
    /// Canonical name (registry spelling for standard headers); for a pattern, the prefix without `*`.
    pub name: String,
    /// `X-Foo-*` prefix pattern.
    pub prefix: bool,
    /// The registry entry, looked up once at compile time (`None` for non-standard names and patterns).
    #[serde(skip)]
    pub known: Option<sipaccord_sip::KnownHeader>,
}

impl HeaderName {
    /// Resolves a header name (compact forms and case folded) or a `X-Foo-*` prefix pattern.
    pub fn new(written: &str) -> HeaderName {
        match written.strip_suffix('*') {
            Some(prefix) => HeaderName { name: prefix.to_string(), prefix: true, known: None },
            None => {
                let known = sipaccord_sip::KnownHeader::lookup(written.as_bytes());
                let name = known.map_or_else(|| written.to_string(), |k| k.name().to_string());
                HeaderName { name, prefix: false, known }
            }
        }
    }

    /// Whether a parsed header is this header (or starts with the prefix), using the registry
    /// entries both sides resolved when they were parsed.
    pub fn matches_header(&self, h: &sipaccord_sip::Header<'_>) -> bool {
        match (self.prefix, self.known) {
            (true, _) => self.matches(h.name),
            (false, Some(k)) => h.known == Some(k),
            (false, None) => h.known.is_none() && h.name.eq_ignore_ascii_case(self.name.as_bytes()),
        }
    }

    /// Whether a header name from a message is this header (or starts with the prefix).
    pub fn matches(&self, name: &[u8]) -> bool {
        if self.prefix {
            // Most names differ at the first byte, which the case bit (0x20) settles for letters and
            // leaves alone for the other token bytes: a filter that can only say no where the full
            // comparison would.
            let prefix = self.name.as_bytes();
            name.len() >= prefix.len()
                && prefix.first().is_none_or(|&p| p | 0x20 == name[0] | 0x20)
                && name[..prefix.len()].eq_ignore_ascii_case(prefix)
        } else {
            sipaccord_sip::same_header_name(self.name.as_bytes(), name)
        }
    }
}

/// Which message a field is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The message under test.
    This,
    /// The request a response answers.
    Request,
    /// The inbound leg of a correlation.
    Inbound,
    /// The outbound leg of a correlation.
    Outbound,
}

/// What part of a value a field reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "part", content = "name", rename_all = "kebab-case")]
pub enum Part {
    /// The whole (first) value.
    Value,
    /// The URI's user.
    UriUser,
    /// The URI's host.
    UriHost,
    /// A parameter.
    Param(String),
}

/// A field reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "of", rename_all = "kebab-case")]
pub enum FieldRef {
    /// A header's first value, or part of it.
    Header {
        /// Message.
        side: Side,
        /// Header.
        header: HeaderName,
        /// Part.
        part: Part,
    },
    /// The request URI (of a request; of the answered request for a response).
    Ruri {
        /// Message.
        side: Side,
        /// Part.
        part: Part,
    },
    /// The method.
    Method {
        /// Message.
        side: Side,
    },
    /// The status code.
    Status {
        /// Message.
        side: Side,
    },
}

/// A comparison.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "op", content = "operand", rename_all = "kebab-case")]
pub enum Comparison {
    /// `==`
    Eq(Operand),
    /// `!=`
    Ne(Operand),
    /// `is TYPE`
    Is(ValueType),
    /// `matches /re/`
    Matches(Pattern),
    /// `in (...)`
    In(Vec<String>),
}

impl Comparison {
    /// Evaluates against a value, with the right-hand field already read (for `==`/`!=` with a field).
    pub fn holds(&self, value: Option<&str>, other: Option<&str>) -> bool {
        match self {
            Comparison::Eq(Operand::Literal(l)) => value == Some(l.as_str()),
            Comparison::Ne(Operand::Literal(l)) => value != Some(l.as_str()),
            Comparison::Eq(Operand::Field(_)) => value.is_some() && value == other,
            Comparison::Ne(Operand::Field(_)) => value != other,
            Comparison::Is(t) => value.is_some_and(|v| t.matches_str(v)),
            Comparison::Matches(p) => value.is_some_and(|v| p.is_match(v)),
            Comparison::In(vs) => value.is_some_and(|v| vs.iter().any(|x| x == v)),
        }
    }
}

/// The right-hand side of `==`/`!=`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operand {
    /// A literal.
    Literal(String),
    /// Another field.
    Field(FieldRef),
}

/// A compiled expression.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expr {
    /// `has H`
    Has {
        /// Message.
        side: Side,
        /// Header.
        header: HeaderName,
    },
    /// `FIELD OP VALUE`
    Compare {
        /// Left side.
        field: FieldRef,
        /// Operator and operand.
        cmp: Comparison,
    },
    /// `not`
    Not(Box<Expr>),
    /// `and`
    And(Box<Expr>, Box<Expr>),
    /// `or`
    Or(Box<Expr>, Box<Expr>),
}

/// What an obligation asks.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ObligationKind {
    /// Header present (and, with a comparison, its first value satisfies it).
    Have {
        /// Message (the pair's leg, in a correlation).
        side: Side,
        /// Header.
        header: HeaderName,
        /// Optional comparison.
        cmp: Option<Comparison>,
    },
    /// Header (or prefix) absent.
    NotHave {
        /// Message (the pair's leg, in a correlation).
        side: Side,
        /// Header or prefix.
        header: HeaderName,
    },
    /// Same value as in the answered request.
    Echo {
        /// Header.
        header: HeaderName,
    },
    /// Expression true.
    Satisfy {
        /// Expression.
        expr: Expr,
    },
}

/// A compiled obligation.
#[derive(Debug, Clone, Serialize)]
pub struct Obligation {
    /// Level.
    pub level: Level,
    /// What.
    #[serde(flatten)]
    pub kind: ObligationKind,
    /// Where written.
    pub origin: Origin,
}

/// A compiled `on` rule.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// Which messages.
    pub selector: Selector,
    /// What they must carry.
    pub obligations: Vec<Obligation>,
    /// Where written.
    pub origin: Origin,
}

/// A compiled correlation.
#[derive(Debug, Clone, Serialize)]
pub struct Correlation {
    /// Name.
    pub name: String,
    /// First leg.
    pub inbound: Selector,
    /// Second leg.
    pub outbound: Selector,
    /// Pairing condition.
    pub matcher: Expr,
    /// The `match` expression as written.
    pub matcher_text: String,
    /// Window in milliseconds.
    pub within_ms: u64,
    /// Obligations on the pair.
    pub obligations: Vec<Obligation>,
    /// Where written.
    pub origin: Origin,
}
