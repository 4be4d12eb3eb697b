//! Full validation of a parsed message: every header with a grammar RFC 3261 (or a later RFC) defines is
//! parsed through its typed view, the start line is checked against CSeq, and protocol problems that
//! leave the message usable are collected as warnings.

use crate::error::{ErrorKind, ParseError, Position, Warning, WarningKind};
use crate::message::{Header, Message, StartLine};
use crate::names::{KnownHeader, Shape};
use crate::quick;
use crate::scan::{self, ListItems};
use crate::uri::Scheme;
use crate::views::{is_call_id, method_text, parse_u32, CSeq, Contact, ContentType, NameAddr, Via, CALL_ID_GRAMMAR};

/// The outcome of [`Message::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    /// Grammar violations: any one makes the message malformed.
    pub errors: Vec<ParseError>,
    /// Protocol problems that leave the message usable (framing warnings included).
    pub warnings: Vec<Warning>,
    /// The Call-ID and tags validation read on its way.
    pub found: Found,
}

impl Validation {
    /// No errors (warnings allowed).
    pub fn is_well_formed(&self) -> bool {
        self.errors.is_empty()
    }
}

/// What validation read on its way that a transaction and dialog tracker asks for again: where the
/// Call-ID, the tags of the first From and To and the first CSeq's method are, as offsets into the
/// message's input, and that CSeq's number, so that keeping this beside the message spares reading
/// them a second time.
///
/// Each answer is what [`Message::call_id_bytes`], [`Message::from_tag_bytes`],
/// [`Message::to_tag_bytes`] or [`Message::cseq`] (an invalid CSeq as `None`) gives, or `None` when
/// validation did not settle it (a value the full grammar had to read, or no such header), and the
/// caller asks the message. Use it only with the message it came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Found {
    call_id: Option<Option<(u32, u32)>>,
    /// The header parameters (from their first `;`) of the first From and To, when the quick check
    /// accepted the value: token names and values only.
    from_params: Option<(u32, u32)>,
    to_params: Option<(u32, u32)>,
    /// The first CSeq's number and where its method is (`Some(None)`: not a valid CSeq).
    cseq: Option<Option<(u32, (u32, u32))>>,
    /// Whether the first From / To header has been met: only its tag is the message's.
    from_met: bool,
    to_met: bool,
}

impl Found {
    /// [`Message::call_id_bytes`] (an invalid Call-ID as `None`), when validation settled it.
    pub fn call_id<'a>(&self, message: &Message<'a>) -> Option<Option<&'a [u8]>> {
        Self::settled(self.call_id, message)
    }

    /// [`Message::from_tag_bytes`], when validation settled it.
    pub fn from_tag<'a>(&self, message: &Message<'a>) -> Option<Option<&'a [u8]>> {
        Self::tag(self.from_params, message)
    }

    /// [`Message::to_tag_bytes`], when validation settled it.
    pub fn to_tag<'a>(&self, message: &Message<'a>) -> Option<Option<&'a [u8]>> {
        Self::tag(self.to_params, message)
    }

    /// The value of the first `tag` parameter among parameters the quick check accepted. They are
    /// `;name` or `;name=value` of token bytes, which hold neither `;` nor `=`, so splitting at
    /// these finds the parameters as the general reader does.
    fn tag<'a>(params: Option<(u32, u32)>, message: &Message<'a>) -> Option<Option<&'a [u8]>> {
        let mut rest = Self::slice(params?, message)?;
        while let Some(after) = rest.strip_prefix(b";") {
            let end = memchr::memchr(b';', after).unwrap_or(after.len());
            let param = &after[..end];
            // A name holds no `=`: `tag` is the name when the bytes after it end the parameter or
            // start its value.
            let (name, value) = param.split_at(param.len().min(3));
            if quick::is_named(name, b"tag") {
                match value {
                    [] => return Some(None),
                    [b'=', value @ ..] => return Some(Some(value)),
                    _ => {}
                }
            }
            rest = &after[end..];
        }
        Some(None)
    }

    /// [`Message::cseq`] (an invalid CSeq as `None`), when validation settled it.
    pub fn cseq<'a>(&self, message: &Message<'a>) -> Option<Option<CSeq<'a>>> {
        match self.cseq? {
            None => Some(None),
            Some((number, method)) => {
                Self::slice(method, message).map(|method| Some(CSeq { number, method: method_text(method) }))
            }
        }
    }

    fn settled<'a>(span: Option<Option<(u32, u32)>>, message: &Message<'a>) -> Option<Option<&'a [u8]>> {
        match span? {
            None => Some(None),
            Some(span) => Self::slice(span, message).map(Some),
        }
    }

    fn slice<'a>((start, end): (u32, u32), message: &Message<'a>) -> Option<&'a [u8]> {
        message.input().get(start as usize..end as usize)
    }
}

/// Headers whose values are name-addr or addr-spec with parameters.
const ADDRESS_HEADERS: &[KnownHeader] = &[
    KnownHeader::FROM,
    KnownHeader::TO,
    KnownHeader::ROUTE,
    KnownHeader::RECORD_ROUTE,
    KnownHeader::PATH,
    KnownHeader::SERVICE_ROUTE,
    KnownHeader::P_ASSERTED_IDENTITY,
    KnownHeader::P_PREFERRED_IDENTITY,
    KnownHeader::REPLY_TO,
    KnownHeader::REFER_TO,
    KnownHeader::REFERRED_BY,
];

/// [`ADDRESS_HEADERS`] by header index, so telling one costs a lookup, not a search.
static IS_ADDRESS_HEADER: [bool; KnownHeader::COUNT] = {
    let mut table = [false; KnownHeader::COUNT];
    let mut i = 0;
    while i < ADDRESS_HEADERS.len() {
        table[ADDRESS_HEADERS[i].index()] = true;
        i += 1;
    }
    table
};

/// Words in a bit set with one bit per registered header.
const HEADER_WORDS: usize = KnownHeader::COUNT.div_ceil(64);

/// The word and bit of a header in such a set.
fn header_bit(k: KnownHeader) -> (usize, u64) {
    (k.index() / 64, 1 << (k.index() % 64))
}

/// The single-valued headers whose repetition validation warns about: all but Content-Length, whose
/// repetition framing reports.
static SINGLE_VALUED: [u64; HEADER_WORDS] = {
    let mut set = [0u64; HEADER_WORDS];
    let mut i = 0;
    while i < KnownHeader::COUNT {
        let k = KnownHeader::from_index(i);
        if matches!(k.shape(), Shape::Single) && k.index() != KnownHeader::CONTENT_LENGTH.index() {
            set[i / 64] |= 1 << (i % 64);
        }
        i += 1;
    }
    set
};

/// Headers every request carries (RFC 3261 8.1.1); responses need all but Max-Forwards.
const MANDATORY: &[KnownHeader] = &[
    KnownHeader::TO,
    KnownHeader::FROM,
    KnownHeader::CALL_ID,
    KnownHeader::CSEQ,
    KnownHeader::VIA,
    KnownHeader::MAX_FORWARDS,
];

impl<'a> Message<'a> {
    /// Validates every header with a known grammar; collects all errors and warnings.
    pub fn validate(&self) -> Validation {
        let mut v =
            Validation { errors: Vec::new(), warnings: self.framing_warnings().to_vec(), found: Found::default() };
        self.check_start_line(&mut v);
        for header in self.headers() {
            if let Some(known) = header.known {
                self.check_header(header, known, &mut v);
            }
            // The parser noted whether any header line holds a CR besides its line end.
            let bare_cr = self.has_stray_cr()
                && memchr::memchr_iter(b'\r', header.value).any(|i| header.value.get(i + 1) != Some(&b'\n'));
            if bare_cr {
                v.warnings.push(Warning {
                    line: header.line,
                    kind: WarningKind::BareCarriageReturn(header.canonical_name().to_owned()),
                });
            }
        }
        self.check_counts(&mut v);
        v.errors.sort_by_key(|e| e.position);
        v.warnings.sort_by_key(|w| w.line);
        v
    }

    /// The position of a byte offset into the input.
    pub fn position_at(&self, offset: usize) -> Position {
        let before = &self.input()[..offset.min(self.input().len())];
        let line = 1 + memchr::memchr_iter(b'\n', before).count() as u32;
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        Position { line, column: (offset - line_start) as u32 + 1 }
    }

    fn element_error(&self, header: &Header<'_>, element: &[u8], reason: &str) -> ParseError {
        let position = if element.is_empty() {
            Position { line: header.line, column: header.value_column() }
        } else {
            self.position_at(self.offset_of(element))
        };
        ParseError {
            position,
            kind: ErrorKind::HeaderValue { header: header.canonical_name().to_owned(), reason: reason.to_owned() },
        }
    }

    fn check_start_line(&self, v: &mut Validation) {
        let Some(request) = self.request() else { return };
        if quick::sip_uri(request.uri) {
            return;
        }
        match self.request_uri() {
            Some(Err(e)) => v.errors.push(e),
            Some(Ok(uri)) if uri.headers.is_some() && matches!(uri.scheme, Scheme::Sip | Scheme::Sips) => {
                v.errors.push(ParseError::new(
                    ErrorKind::RequestUri("headers (`?...`) are not allowed in a Request-URI".into()),
                    self.start_line_number(),
                    request.method.len() as u32 + 2,
                ));
            }
            _ => {}
        }
    }

    fn check_header(&self, h: &Header<'a>, known: KnownHeader, v: &mut Validation) {
        let mut fail = |element: &[u8], reason: &str| v.errors.push(self.element_error(h, element, reason));
        let list = known.shape() == Shape::List;
        // The first From and To are the ones whose tags the message's readers answer with.
        let first = |met: &mut bool| !std::mem::replace(met, true);
        if h.value.is_empty() {
            match known {
                KnownHeader::FROM => _ = first(&mut v.found.from_met),
                KnownHeader::TO => _ = first(&mut v.found.to_met),
                _ => {}
            }
        } else {
            // The quick check may settle the value (already trimmed by the parser). What it accepts is
            // valid and one element even in a list header: it takes a comma only inside quotes or
            // `<...>`, where lists do not split.
            let quick_ok = match known {
                KnownHeader::VIA => quick::via(h.value),
                // Where their parameters are, which the quick scan finds anyway.
                KnownHeader::FROM if first(&mut v.found.from_met) => {
                    self.settle_params(h.value, &mut v.found.from_params)
                }
                KnownHeader::TO if first(&mut v.found.to_met) => self.settle_params(h.value, &mut v.found.to_params),
                k if k == KnownHeader::CONTACT || IS_ADDRESS_HEADER[k.index()] => quick::name_addr(h.value),
                _ => false,
            };
            if quick_ok {
                return;
            }
        }
        if list && scan::has_empty_element(h.value) {
            for element in h.values() {
                if element.is_empty() && h.value.is_empty() {
                    // An empty header (e.g. `Supported:`) is allowed for some list headers.
                    if matches!(
                        known,
                        KnownHeader::VIA | KnownHeader::CONTACT | KnownHeader::ROUTE | KnownHeader::RECORD_ROUTE
                    ) {
                        fail(element, "empty value");
                    }
                } else if element.is_empty() {
                    fail(element, "empty element in a comma-separated list");
                }
            }
        }
        // The quick check failed on the whole value (when not empty), so it is not run again on an
        // element that is the whole value, and the full check goes on without building the view.
        // Without a comma the value is its only element, which the split would find only after
        // reading the value through for quotes and `<...>`.
        let retry_quick = |element: &[u8]| element.len() != h.value.len();
        let elements = || if memchr::memchr(b',', h.value).is_some() { h.values() } else { ListItems::single(h.value) };
        match known {
            KnownHeader::VIA => {
                for element in elements().filter(|e| !(e.is_empty() || retry_quick(e) && quick::via(e))) {
                    if let Err(e) = Via::parse_full(element) {
                        fail(element, e);
                    }
                }
            }
            KnownHeader::CONTACT => {
                for element in elements().filter(|e| !(e.is_empty() || retry_quick(e) && quick::name_addr(e))) {
                    if let Err(e) = Contact::check(element) {
                        fail(element, e);
                    }
                }
            }
            k if IS_ADDRESS_HEADER[k.index()] => {
                for element in elements().filter(|e| !(e.is_empty() || retry_quick(e) && quick::name_addr(e))) {
                    if let Err(e) = NameAddr::check(element) {
                        fail(element, e);
                    }
                }
            }
            // Word bytes are ASCII, so a value `is_call_id` accepts is valid text as well.
            KnownHeader::CALL_ID => {
                let valid = is_call_id(h.value);
                if v.found.call_id.is_none() {
                    v.found.call_id = Some(valid.then(|| self.span_of(h.value)));
                }
                if !valid {
                    fail(h.value, CALL_ID_GRAMMAR);
                }
            }
            KnownHeader::CSEQ => match CSeq::parse_raw(h.value) {
                Err(e) => {
                    v.found.cseq.get_or_insert(None);
                    fail(h.value, e);
                }
                Ok((number, method)) => {
                    v.found.cseq.get_or_insert(Some((number, self.span_of(method))));
                    if let StartLine::Request(r) = self.start_line() {
                        if method != r.method.as_bytes() {
                            let cseq = method_text(method);
                            v.errors.push(ParseError::new(
                                ErrorKind::CseqMethodMismatch { cseq: cseq.into(), method: r.method.into() },
                                h.line,
                                h.value_column(),
                            ));
                        }
                    }
                }
            },
            KnownHeader::MAX_FORWARDS if scan::parse_decimal(h.value).is_none_or(|n| n > 255) => {
                fail(h.value, "not a number from 0 to 255");
            }
            KnownHeader::CONTENT_TYPE => {
                if let Err(e) = ContentType::parse(h.value) {
                    fail(h.value, e);
                }
            }
            KnownHeader::EXPIRES | KnownHeader::MIN_EXPIRES | KnownHeader::RSEQ => {
                if let Err(e) = parse_u32(h.value) {
                    fail(h.value, e);
                }
            }
            KnownHeader::RETRY_AFTER | KnownHeader::SESSION_EXPIRES | KnownHeader::MIN_SE => {
                let digits = h.value.iter().take_while(|b| b.is_ascii_digit()).count();
                if let Err(e) = parse_u32(&h.value[..digits]) {
                    fail(h.value, e);
                }
            }
            KnownHeader::WARNING => {
                for element in h.values().filter(|e| !e.is_empty()) {
                    let code = element.iter().take_while(|b| b.is_ascii_digit()).count();
                    if code != 3 || element.get(3) != Some(&b' ') {
                        fail(element, "warn-code must be three digits followed by a space");
                    }
                }
            }
            _ => {}
        }
    }

    /// The quick check of a From or To value, keeping where its parameters are when it passes.
    fn settle_params(&self, value: &[u8], found: &mut Option<(u32, u32)>) -> bool {
        let Some(params) = quick::name_addr_params(value) else { return false };
        *found = Some(self.span_of(params));
        true
    }

    /// Where `part` (borrowed from this message) lies in the input.
    fn span_of(&self, part: &[u8]) -> (u32, u32) {
        let start = self.offset_of(part) as u32;
        (start, start + part.len() as u32)
    }

    fn check_counts(&self, v: &mut Validation) {
        // Which registered headers occur, and which more than once, as bit sets filled in one pass.
        let mut seen = [0u64; HEADER_WORDS];
        let mut repeated = [0u64; HEADER_WORDS];
        for h in self.headers() {
            if let Some(k) = h.known {
                let (word, bit) = header_bit(k);
                repeated[word] |= seen[word] & bit;
                seen[word] |= bit;
            }
        }
        let is_request = self.request().is_some();
        for &m in MANDATORY {
            if m == KnownHeader::MAX_FORWARDS && !is_request {
                continue;
            }
            let (word, bit) = header_bit(m);
            if seen[word] & bit == 0 {
                v.warnings.push(Warning { line: 0, kind: WarningKind::MissingHeader(m.name()) });
            }
        }
        // Single-valued headers (Content-Length aside: framing reports it) that occur more than once,
        // in the order they first appear; usually there are none.
        for (word, mask) in repeated.iter_mut().zip(&SINGLE_VALUED) {
            *word &= mask;
        }
        if repeated.iter().all(|&word| word == 0) {
            return;
        }
        for h in self.headers() {
            let Some(k) = h.known else { continue };
            let (word, bit) = header_bit(k);
            if repeated[word] & bit == 0 {
                continue;
            }
            repeated[word] &= !bit;
            let count = self.known_headers(k).count();
            let line = self.known_headers(k).nth(1).map_or(0, |h| h.line);
            v.warnings.push(Warning { line, kind: WarningKind::SeveralValues { header: k.name(), count } });
        }
    }
}
