//! Header names: the IANA SIP header registry, compact forms, and how each header's value is shaped.

use std::sync::OnceLock;

/// How the values of a header may be combined on one header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Exactly one value per message (From, To, Call-ID, CSeq, ...).
    Single,
    /// A comma-separated list: several values may share one line, or be spread over lines (Via, Contact, ...).
    List,
    /// Commas belong to the value's own grammar (authentication headers, Date): never split.
    Opaque,
}

/// A header registered with IANA (or otherwise standard), identified by its index in the registry table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KnownHeader(u16);

struct Entry {
    name: &'static str,
    compact: Option<u8>,
    shape: Shape,
}

macro_rules! registry {
    ($( $konst:ident = $name:literal, $compact:expr, $shape:ident; )*) => {
        const REGISTRY: &[Entry] = &[
            $( Entry { name: $name, compact: $compact, shape: Shape::$shape }, )*
        ];
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        enum Index { $( $konst, )* }
        impl KnownHeader {
            $(
                #[doc = concat!("The `", $name, "` header.")]
                pub const $konst: KnownHeader = KnownHeader(Index::$konst as u16);
            )*
        }
    };
}

// The SIP header field registry as published by IANA, with the shape each value takes.
// Headers whose grammar puts commas inside one value (challenges, credentials, Date) are Opaque.
registry! {
    ACCEPT = "Accept", None, List;
    ACCEPT_CONTACT = "Accept-Contact", Some(b'a'), List;
    ACCEPT_ENCODING = "Accept-Encoding", None, List;
    ACCEPT_LANGUAGE = "Accept-Language", None, List;
    ACCEPT_RESOURCE_PRIORITY = "Accept-Resource-Priority", None, List;
    ALERT_INFO = "Alert-Info", None, List;
    ALLOW = "Allow", None, List;
    ALLOW_EVENTS = "Allow-Events", Some(b'u'), List;
    ANSWER_MODE = "Answer-Mode", None, Single;
    AUTHENTICATION_INFO = "Authentication-Info", None, Opaque;
    AUTHORIZATION = "Authorization", None, Opaque;
    CALL_ID = "Call-ID", Some(b'i'), Single;
    CALL_INFO = "Call-Info", None, List;
    CELLULAR_NETWORK_INFO = "Cellular-Network-Info", None, Single;
    CONTACT = "Contact", Some(b'm'), List;
    CONTENT_DISPOSITION = "Content-Disposition", None, Single;
    CONTENT_ENCODING = "Content-Encoding", Some(b'e'), List;
    CONTENT_ID = "Content-ID", None, Single;
    CONTENT_LANGUAGE = "Content-Language", None, List;
    CONTENT_LENGTH = "Content-Length", Some(b'l'), Single;
    CONTENT_TYPE = "Content-Type", Some(b'c'), Single;
    CSEQ = "CSeq", None, Single;
    DATE = "Date", None, Opaque;
    DIVERSION = "Diversion", None, List;
    ENCRYPTION = "Encryption", None, Opaque;
    ERROR_INFO = "Error-Info", None, List;
    EVENT = "Event", Some(b'o'), Single;
    EXPIRES = "Expires", None, Single;
    FEATURE_CAPS = "Feature-Caps", None, List;
    FLOW_TIMER = "Flow-Timer", None, Single;
    FROM = "From", Some(b'f'), Single;
    GEOLOCATION = "Geolocation", None, List;
    GEOLOCATION_ERROR = "Geolocation-Error", None, Single;
    GEOLOCATION_ROUTING = "Geolocation-Routing", None, Single;
    HIDE = "Hide", None, Single;
    HISTORY_INFO = "History-Info", None, List;
    IDENTITY = "Identity", Some(b'y'), List;
    IDENTITY_INFO = "Identity-Info", Some(b'n'), Single;
    IN_REPLY_TO = "In-Reply-To", None, List;
    INFO_PACKAGE = "Info-Package", None, Single;
    JOIN = "Join", None, Single;
    MAX_BREADTH = "Max-Breadth", None, Single;
    MAX_FORWARDS = "Max-Forwards", None, Single;
    MIME_VERSION = "MIME-Version", None, Single;
    MIN_EXPIRES = "Min-Expires", None, Single;
    MIN_SE = "Min-SE", None, Single;
    ORGANIZATION = "Organization", None, Single;
    ORIGINATION_ID = "Origination-Id", None, Single;
    P_ACCESS_NETWORK_INFO = "P-Access-Network-Info", None, List;
    P_ANSWER_STATE = "P-Answer-State", None, Single;
    P_ASSERTED_IDENTITY = "P-Asserted-Identity", None, List;
    P_ASSERTED_SERVICE = "P-Asserted-Service", None, List;
    P_ASSOCIATED_URI = "P-Associated-URI", None, List;
    P_CALLED_PARTY_ID = "P-Called-Party-ID", None, Single;
    P_CHARGE_INFO = "P-Charge-Info", None, Single;
    P_CHARGING_FUNCTION_ADDRESSES = "P-Charging-Function-Addresses", None, Single;
    P_CHARGING_VECTOR = "P-Charging-Vector", None, Single;
    P_DCS_BILLING_INFO = "P-DCS-Billing-Info", None, Single;
    P_DCS_LAES = "P-DCS-LAES", None, Single;
    P_DCS_OSPS = "P-DCS-OSPS", None, Single;
    P_DCS_REDIRECT = "P-DCS-Redirect", None, Single;
    P_DCS_TRACE_PARTY_ID = "P-DCS-Trace-Party-ID", None, Single;
    P_EARLY_MEDIA = "P-Early-Media", None, List;
    P_MEDIA_AUTHORIZATION = "P-Media-Authorization", None, List;
    P_PREFERRED_IDENTITY = "P-Preferred-Identity", None, List;
    P_PREFERRED_SERVICE = "P-Preferred-Service", None, List;
    P_PRIVATE_NETWORK_INDICATION = "P-Private-Network-Indication", None, Single;
    P_PROFILE_KEY = "P-Profile-Key", None, Single;
    P_REFUSED_URI_LIST = "P-Refused-URI-List", None, List;
    P_SERVED_USER = "P-Served-User", None, Single;
    P_USER_DATABASE = "P-User-Database", None, Single;
    P_VISITED_NETWORK_ID = "P-Visited-Network-ID", None, List;
    PATH = "Path", None, List;
    PERMISSION_MISSING = "Permission-Missing", None, List;
    POLICY_CONTACT = "Policy-Contact", None, List;
    POLICY_ID = "Policy-ID", None, List;
    PRIORITY = "Priority", None, Single;
    PRIORITY_SHARE = "Priority-Share", None, Single;
    PRIORITY_VERSTAT = "Priority-Verstat", None, Single;
    PRIV_ANSWER_MODE = "Priv-Answer-Mode", None, Single;
    PRIVACY = "Privacy", None, Single;
    PROXY_AUTHENTICATE = "Proxy-Authenticate", None, Opaque;
    PROXY_AUTHORIZATION = "Proxy-Authorization", None, Opaque;
    PROXY_REQUIRE = "Proxy-Require", None, List;
    RACK = "RAck", None, Single;
    REASON = "Reason", None, List;
    REASON_PHRASE = "Reason-Phrase", None, Single;
    RECORD_ROUTE = "Record-Route", None, List;
    RECV_INFO = "Recv-Info", None, List;
    REFER_EVENTS_AT = "Refer-Events-At", None, Single;
    REFER_SUB = "Refer-Sub", None, Single;
    REFER_TO = "Refer-To", Some(b'r'), Single;
    REFERRED_BY = "Referred-By", Some(b'b'), Single;
    REJECT_CONTACT = "Reject-Contact", Some(b'j'), List;
    RELAYED_CHARGE = "Relayed-Charge", None, Single;
    REPLACES = "Replaces", None, Single;
    REPLY_TO = "Reply-To", None, Single;
    REQUEST_DISPOSITION = "Request-Disposition", Some(b'd'), List;
    REQUIRE = "Require", None, List;
    RESOURCE_PRIORITY = "Resource-Priority", None, List;
    RESOURCE_SHARE = "Resource-Share", None, Single;
    RESPONSE_KEY = "Response-Key", None, Opaque;
    RESPONSE_SOURCE = "Response-Source", None, Single;
    RESTORATION_INFO = "Restoration-Info", None, Single;
    RETRY_AFTER = "Retry-After", None, Single;
    ROUTE = "Route", None, List;
    RSEQ = "RSeq", None, Single;
    SECURITY_CLIENT = "Security-Client", None, List;
    SECURITY_SERVER = "Security-Server", None, List;
    SECURITY_VERIFY = "Security-Verify", None, List;
    SERVER = "Server", None, Single;
    SERVICE_INTERACT_INFO = "Service-Interact-Info", None, List;
    SERVICE_ROUTE = "Service-Route", None, List;
    SESSION_EXPIRES = "Session-Expires", Some(b'x'), Single;
    SESSION_ID = "Session-ID", None, Single;
    SIP_ETAG = "SIP-ETag", None, Single;
    SIP_IF_MATCH = "SIP-If-Match", None, Single;
    SUBJECT = "Subject", Some(b's'), Single;
    SUBSCRIPTION_STATE = "Subscription-State", None, Single;
    SUPPORTED = "Supported", Some(b'k'), List;
    SUPPRESS_IF_MATCH = "Suppress-If-Match", None, Single;
    TARGET_DIALOG = "Target-Dialog", None, Single;
    TIMESTAMP = "Timestamp", None, Single;
    TO = "To", Some(b't'), Single;
    TRIGGER_CONSENT = "Trigger-Consent", None, List;
    UNSUPPORTED = "Unsupported", None, List;
    USER_AGENT = "User-Agent", None, Single;
    USER_TO_USER = "User-to-User", None, List;
    VIA = "Via", Some(b'v'), List;
    WARNING = "Warning", None, List;
    WWW_AUTHENTICATE = "WWW-Authenticate", None, Opaque;
}

/// Longest registered name; longer names cannot be known headers.
const LONGEST: usize = 32;

/// The headers nearly every message carries, compared directly: the parser's hot path.
#[inline]
fn common(name: &[u8]) -> Option<KnownHeader> {
    let candidate = candidate(name)?;
    eq_ignore_case(name, candidate.name().as_bytes()).then_some(candidate)
}

/// The one common header a name of this length and first letter can be.
#[inline]
fn candidate(name: &[u8]) -> Option<KnownHeader> {
    use KnownHeader as K;
    // Length and first letter pick the one candidate worth comparing (a jump table, no chain of tests).
    let first = name.first()? | 0x20;
    let candidate = match name.len() {
        2 => K::TO,
        3 => K::VIA,
        4 => match first {
            b'f' => K::FROM,
            _ => K::CSEQ,
        },
        5 => match first {
            b'r' => K::ROUTE,
            _ => K::ALLOW,
        },
        6 => match first {
            b'a' => K::ACCEPT,
            _ => K::SERVER,
        },
        7 => match (first, name[1] | 0x20, name[5] | 0x20) {
            (b'e', ..) => K::EXPIRES,
            (b'r', ..) => K::REQUIRE,
            (b'p', ..) => K::PRIVACY,
            (_, _, b'i') => K::CALL_ID,
            _ => K::CONTACT,
        },
        9 => K::SUPPORTED,
        10 => K::USER_AGENT,
        12 => match first {
            b'm' => K::MAX_FORWARDS,
            b'c' => K::CONTENT_TYPE,
            _ => K::RECORD_ROUTE,
        },
        13 => K::AUTHORIZATION,
        14 => K::CONTENT_LENGTH,
        15 => K::SESSION_EXPIRES,
        16 => K::WWW_AUTHENTICATE,
        17 => K::P_CHARGING_VECTOR,
        19 => K::P_ASSERTED_IDENTITY,
        _ => return None,
    };
    Some(candidate)
}

/// Bit 0x20 of every byte of a word: set, it lowercases ASCII letters.
const FOLD: u64 = u64::from_le_bytes([0x20; 8]);

/// Every registered name with bit 0x20 set on each byte, in little-endian words, zero past its end.
static FOLDED: [[u64; 4]; REGISTRY.len()] = {
    let mut table = [[0u64; 4]; REGISTRY.len()];
    let mut i = 0;
    while i < REGISTRY.len() {
        let name = REGISTRY[i].name.as_bytes();
        let mut b = 0;
        while b < name.len() {
            table[i][b / 8] |= ((name[b] | 0x20) as u64) << (8 * (b % 8));
            b += 1;
        }
        i += 1;
    }
    table
};

/// The multiplier of [`name_hash`], found by trying odd numbers until no two registered names share
/// a slot of [`BY_HASH`] (which its construction checks: a collision fails the build).
const HASH_MULTIPLIER: u64 = 0xeea1_7a82_308f_1c89;
/// Bits of [`name_hash`]: [`BY_HASH`] has 1,024 slots for the registry's 131 names.
const HASH_BITS: u32 = 10;

/// The slot of a name in [`BY_HASH`], from its folded first eight bytes (zero past its end), its
/// folded last eight bytes (the first eight again when it is no longer) and its length.
#[inline(always)]
const fn name_hash(first: u64, last: u64, len: usize) -> usize {
    ((first ^ last.rotate_left(29)).wrapping_add(len as u64).wrapping_mul(HASH_MULTIPLIER) >> (64 - HASH_BITS)) as usize
}

/// What [`KnownHeader::lookup_in`] compares first, by registry index (256 entries, so a `u8` index
/// needs no bounds check; the entries past the registry have length 0 and match no name): the
/// length, and the folded first and last eight bytes (the last only for names longer than eight).
struct Hashed {
    len: u8,
    first: u64,
    last: u64,
}

static HASHED: [Hashed; 256] = {
    let mut table = [const { Hashed { len: 0, first: 0, last: 0 } }; 256];
    let mut i = 0;
    while i < REGISTRY.len() {
        let name = REGISTRY[i].name.as_bytes();
        let mut last = 0u64;
        if name.len() > 8 {
            let mut b = 0;
            while b < 8 {
                last |= ((name[name.len() - 8 + b] | 0x20) as u64) << (8 * b);
                b += 1;
            }
        }
        table[i] = Hashed { len: name.len() as u8, first: FOLDED[i][0], last };
        i += 1;
    }
    table
};

/// The registry index of the name in each slot of [`name_hash`], `u8::MAX` for none.
static BY_HASH: [u8; 1 << HASH_BITS] = {
    assert!(REGISTRY.len() < u8::MAX as usize);
    let mut table = [u8::MAX; 1 << HASH_BITS];
    let mut i = 0;
    while i < REGISTRY.len() {
        let len = REGISTRY[i].name.len();
        let first = FOLDED[i][0];
        let last = if len > 8 { HASHED[i].last } else { first };
        let slot = name_hash(first, last, len);
        assert!(table[slot] == u8::MAX, "two registered names share a slot: pick another HASH_MULTIPLIER");
        table[slot] = i as u8;
        i += 1;
    }
    table
};

/// ASCII case-insensitive equality of `name` (any bytes) with `registered`, a registered header name
/// (letters, digits and `-` only), eight bytes at a time.
///
/// Setting bit 0x20 of every byte lowercases letters and leaves digits and `-` as they are; the only
/// other bytes it maps onto a letter, a digit or `-` are control bytes (CR onto `-`, 0x10-0x19 onto
/// digits), which a registered name never holds, so each word is also checked to hold no byte below
/// 0x21.
#[inline]
fn eq_ignore_case(name: &[u8], registered: &[u8]) -> bool {
    const BELOW_21: u64 = u64::from_le_bytes([0x21; 8]);
    const HIGH_BITS: u64 = u64::from_le_bytes([0x80; 8]);
    let same_word = |a: &[u8; 8], b: &[u8; 8]| {
        let (a, b) = (u64::from_le_bytes(*a), u64::from_le_bytes(*b));
        (a | FOLD) == (b | FOLD) && a.wrapping_sub(BELOW_21) & !a & HIGH_BITS == 0
    };
    if name.len() != registered.len() {
        return false;
    }
    if name.len() < 8 {
        return name.iter().zip(registered).all(|(&a, &b)| (a | 0x20) == (b | 0x20) && a > 0x20);
    }
    // Whole words from the start, then one word ending at the end (it may overlap the last one).
    let (mut a, mut b) = (name, registered);
    while let (Some((wa, ra)), Some((wb, rb))) = (a.split_first_chunk::<8>(), b.split_first_chunk::<8>()) {
        if !same_word(wa, wb) {
            return false;
        }
        (a, b) = (ra, rb);
    }
    match (name.last_chunk::<8>(), registered.last_chunk::<8>()) {
        (Some(wa), Some(wb)) => same_word(wa, wb),
        _ => false,
    }
}

/// Registry entries bucketed by name length and first letter, so a lookup compares against one or two
/// candidates without hashing or copying.
struct Tables {
    buckets: Vec<Vec<(&'static [u8], KnownHeader)>>,
    by_compact_letter: [Option<KnownHeader>; 26],
}

fn bucket_index(name: &[u8]) -> usize {
    name.len() * 32 + usize::from(name[0] & 0x1f)
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut by_compact_letter = [None; 26];
        let mut buckets = vec![Vec::new(); (LONGEST + 1) * 32];
        for (i, entry) in REGISTRY.iter().enumerate() {
            let known = KnownHeader(i as u16);
            buckets[bucket_index(entry.name.as_bytes())].push((entry.name.as_bytes(), known));
            if let Some(letter) = entry.compact {
                by_compact_letter[usize::from(letter - b'a')] = Some(known);
            }
        }
        Tables { buckets, by_compact_letter }
    })
}

impl KnownHeader {
    /// How many headers are registered: every [`KnownHeader::index`] is below it.
    pub const COUNT: usize = REGISTRY.len();

    /// The header at a position in the registry (below [`KnownHeader::COUNT`]), for tables built by
    /// index.
    pub(crate) const fn from_index(index: usize) -> KnownHeader {
        KnownHeader(index as u16)
    }

    /// The header's position in the registry, for tables indexed by header.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// Looks a header name up as written on the wire: case-insensitive, compact forms resolved.
    #[inline]
    pub fn lookup(name: &[u8]) -> Option<KnownHeader> {
        match name {
            [] => None,
            [c] => Self::from_compact(*c),
            _ if name.len() > LONGEST => None,
            _ => common(name).or_else(|| Self::lookup_registry(name)),
        }
    }

    /// [`KnownHeader::lookup`] of the name `input[start..start + len]`, for the parser: the name holds
    /// no control byte (the parser's scan stops at the first), so setting bit 0x20 of each byte is an
    /// exact case fold against registered names (see [`eq_ignore_case`]). The folded first and last
    /// eight bytes and the length pick the one registered name the name can be ([`BY_HASH`], built
    /// without collisions), which is then compared a word at a time, read straight from the input
    /// (which goes on past the name with its colon and value): about twenty instructions, known or not.
    #[inline(always)]
    pub(crate) fn lookup_in(input: &[u8], start: usize, len: usize) -> Option<KnownHeader> {
        let word_at =
            |at: usize| input.get(at..).and_then(<[u8]>::first_chunk::<8>).map(|w| u64::from_le_bytes(*w) | FOLD);
        match word_at(start) {
            Some(first) if (2..=8).contains(&len) => {
                let first = first & (u64::MAX >> (64 - 8 * len));
                let entry = BY_HASH[name_hash(first, first, len)];
                let hashed = &HASHED[usize::from(entry)];
                (hashed.len == len as u8 && hashed.first == first).then_some(KnownHeader(u16::from(entry)))
            }
            Some(first) if (9..=LONGEST).contains(&len) => {
                // The last word and the middle ones lie within the name, before its colon.
                let last = word_at(start + len - 8)?;
                let entry = BY_HASH[name_hash(first, last, len)];
                let hashed = &HASHED[usize::from(entry)];
                let middle = |k: usize| FOLDED.get(usize::from(entry)).map(|words| words[k]);
                let same = hashed.len == len as u8
                    && hashed.first == first
                    && hashed.last == last
                    && (len <= 16 || word_at(start + 8) == middle(1))
                    && (len <= 24 || word_at(start + 16) == middle(2));
                same.then_some(KnownHeader(u16::from(entry)))
            }
            _ => Self::lookup(&input[start..start + len]),
        }
    }

    fn lookup_registry(name: &[u8]) -> Option<KnownHeader> {
        match name {
            [] => None,
            _ => tables().buckets[bucket_index(name)]
                .iter()
                .find(|(candidate, _)| eq_ignore_case(name, candidate))
                .map(|&(_, known)| known),
        }
    }

    /// The header a one-letter compact form stands for (RFC 3261 7.3.3 and later RFCs).
    pub fn from_compact(letter: u8) -> Option<KnownHeader> {
        let letter = letter.to_ascii_lowercase();
        if letter.is_ascii_lowercase() {
            tables().by_compact_letter[usize::from(letter - b'a')]
        } else {
            None
        }
    }

    /// The canonical spelling of the name, e.g. `Call-ID`.
    pub fn name(self) -> &'static str {
        REGISTRY[self.0 as usize].name
    }

    /// The compact form, if the header has one.
    pub fn compact(self) -> Option<char> {
        REGISTRY[self.0 as usize].compact.map(char::from)
    }

    /// Whether values are single, a comma list, or opaque to comma splitting.
    pub const fn shape(self) -> Shape {
        REGISTRY[self.0 as usize].shape
    }

    /// Every registered header, in alphabetical order.
    pub fn all() -> impl Iterator<Item = KnownHeader> {
        (0..REGISTRY.len() as u16).map(KnownHeader)
    }
}

/// Whether two header names as written name the same header (case-insensitive, compact forms folded).
pub fn same_header_name(a: &[u8], b: &[u8]) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    match (KnownHeader::lookup(a), KnownHeader::lookup(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_resolve_to_full_names() {
        let pairs = [
            ('f', "From"),
            ('t', "To"),
            ('i', "Call-ID"),
            ('v', "Via"),
            ('m', "Contact"),
            ('l', "Content-Length"),
            ('c', "Content-Type"),
            ('k', "Supported"),
            ('s', "Subject"),
            ('e', "Content-Encoding"),
            ('o', "Event"),
            ('u', "Allow-Events"),
            ('r', "Refer-To"),
            ('b', "Referred-By"),
            ('x', "Session-Expires"),
            ('y', "Identity"),
            ('a', "Accept-Contact"),
            ('d', "Request-Disposition"),
            ('j', "Reject-Contact"),
            ('n', "Identity-Info"),
        ];
        for (letter, full) in pairs {
            let upper = letter.to_ascii_uppercase() as u8;
            assert_eq!(KnownHeader::lookup(&[letter as u8]).map(KnownHeader::name), Some(full));
            assert_eq!(KnownHeader::lookup(&[upper]).map(KnownHeader::name), Some(full));
        }
    }

    #[test]
    fn lookup_ignores_case_and_rejects_unknown() {
        assert_eq!(KnownHeader::lookup(b"mAx-FoRwArDs"), Some(KnownHeader::MAX_FORWARDS));
        assert_eq!(KnownHeader::lookup(b"X-Hairpin"), None);
        assert_eq!(KnownHeader::lookup(b"q"), None);
        assert!(same_header_name(b"i", b"call-id"));
        assert!(!same_header_name(b"X-A", b"X-B"));
    }

    proptest::proptest! {
        /// The word-wise comparison agrees with the standard library's on registered names with any
        /// byte changed, control bytes (CR for `-`, 0x10-0x19 for digits) included.
        #[test]
        fn case_insensitive_compare_agrees_with_std(
            index in 0..REGISTRY.len(),
            changes in proptest::collection::vec((0usize..64, proptest::prelude::any::<u8>(), 0u8..3), 0..4),
        ) {
            let registered = REGISTRY[index].name.as_bytes();
            let mut name = registered.to_vec();
            for (at, byte, how) in changes {
                let at = at % name.len();
                name[at] = match how {
                    0 => name[at] ^ 0x20,
                    1 => byte,
                    _ => name[at] & 0x1f,
                };
            }
            proptest::prop_assert_eq!(eq_ignore_case(&name, registered), name.eq_ignore_ascii_case(registered));
            // The parser's lookup, on names without control bytes (as its scan guarantees), both with
            // the rest of a header line after the name and at the very end of the input.
            if name.iter().all(|&b| b >= 0x20) {
                let line = [&name[..], b": value"].concat();
                proptest::prop_assert_eq!(KnownHeader::lookup_in(&line, 0, name.len()), KnownHeader::lookup(&name));
                proptest::prop_assert_eq!(KnownHeader::lookup_in(&name, 0, name.len()), KnownHeader::lookup(&name));
            }
        }
    }

    proptest::proptest! {
        /// The parser's hashed lookup answers as the general one on any name without control bytes
        /// (what the parser's scan leaves), registered ones in mixed case among them, with a header
        /// line after the name or the input ending with it.
        #[test]
        fn hashed_lookup_agrees_with_the_general_one(
            index in 0..REGISTRY.len(),
            flips in proptest::collection::vec(proptest::prelude::any::<bool>(), 32),
            other in proptest::collection::vec(0x20u8..=0xff, 1..40),
            registered in proptest::prelude::any::<bool>(),
        ) {
            let name: Vec<u8> = if registered {
                let name = REGISTRY[index].name.as_bytes();
                name.iter().zip(&flips).map(|(&b, &flip)| if flip { b.to_ascii_uppercase() } else { b }).collect()
            } else {
                other
            };
            for tail in [&b""[..], b":", b": SIP/2.0/UDP host;branch=z9hG4bK\r\n"] {
                let line = [&name[..], tail].concat();
                proptest::prop_assert_eq!(KnownHeader::lookup_in(&line, 0, name.len()), KnownHeader::lookup(&name));
                let shifted = [b"X", &line[..]].concat();
                proptest::prop_assert_eq!(KnownHeader::lookup_in(&shifted, 1, name.len()), KnownHeader::lookup(&name));
            }
        }
    }

    #[test]
    fn every_registered_name_is_found_by_the_hashed_lookup() {
        for known in KnownHeader::all() {
            for spelling in [known.name().to_owned(), known.name().to_ascii_uppercase()] {
                let line = format!("{spelling}: value");
                assert_eq!(KnownHeader::lookup_in(line.as_bytes(), 0, spelling.len()), Some(known), "{spelling}");
            }
        }
    }

    #[test]
    fn every_registered_name_looks_up_to_itself_in_any_case() {
        for known in KnownHeader::all() {
            for spelling in
                [known.name().to_owned(), known.name().to_ascii_uppercase(), known.name().to_ascii_lowercase()]
            {
                assert_eq!(KnownHeader::lookup(spelling.as_bytes()), Some(known), "{spelling}");
            }
        }
    }

    #[test]
    fn registry_is_sorted_and_unique() {
        let names: Vec<String> = REGISTRY.iter().map(|e| e.name.to_ascii_lowercase()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert!(REGISTRY.iter().all(|e| e.name.len() <= LONGEST));
    }
}
