//! One SIP message: start line, headers in wire order, body. Parsing here is structural only; typed
//! views are computed when asked (see [`crate::views`]) and full validation lives in [`crate::validate`].

use memchr::{memchr, memchr2, memrchr};

use crate::error::{ErrorKind, ParseError, Warning, WarningKind};
use crate::names::{KnownHeader, Shape};
use crate::scan::{self, ListItems};
use crate::search::{find_colon_or_control, find_control_before};

/// Hard caps checked while parsing. Anything beyond them is a named error, never a panic or a huge
/// allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (headers and body) accepted, in bytes.
    pub max_message_size: usize,
    /// Most header fields (logical lines) in one message.
    pub max_headers: usize,
    /// Longest physical line, in bytes.
    pub max_line_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Bodies of 64 KiB occur in the wild (large SDP, multipart with images); headers are
        // small. These caps bound memory per message while accepting everything real seen so far.
        Limits { max_message_size: 256 * 1024, max_headers: 256, max_line_length: 16 * 1024 }
    }
}

/// The first line of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    /// The method, any RFC 3261 token (extension methods included).
    pub method: &'a str,
    /// The Request-URI as written; [`crate::Uri::parse`] gives its parts.
    pub uri: &'a [u8],
    /// The version as written (`SIP/2.0`).
    pub version: &'a str,
}

/// The first line of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLine<'a> {
    /// The version as written.
    pub version: &'a str,
    /// Status code, 100 to 699.
    pub code: u16,
    /// Reason phrase: any bytes, possibly empty, possibly not UTF-8.
    pub reason: &'a [u8],
}

/// A request line or a status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// A request.
    Request(RequestLine<'a>),
    /// A response.
    Response(StatusLine<'a>),
}

/// One header field as it appeared on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name as written (`v`, `MaX-fOrWaRdS`).
    pub name: &'a [u8],
    /// The value as written, trimmed of surrounding whitespace; a folded value keeps its line breaks.
    pub value: &'a [u8],
    /// The registered header this name stands for (compact forms resolved), if any.
    pub known: Option<KnownHeader>,
    /// 1-based line number of the header's first line (line 1 is the start line).
    pub line: u32,
    /// Byte offset of the header's first line from the start of the input.
    pub offset: u32,
    /// Byte offset of the value from the start of the input.
    pub value_offset: u32,
}

impl<'a> Header<'a> {
    /// The canonical name: the registered spelling for known headers, else the name as written.
    pub fn canonical_name(&self) -> &'a str {
        match self.known {
            Some(k) => k.name(),
            None => crate::text::text(self.name).unwrap_or(""),
        }
    }

    /// Whether this header has the given name (case-insensitive, compact forms folded).
    pub fn is(&self, name: &str) -> bool {
        match (self.known, KnownHeader::lookup(name.as_bytes())) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.name.eq_ignore_ascii_case(name.as_bytes()),
            _ => false,
        }
    }

    /// The values on this line: split at commas for list headers, else the whole value.
    pub fn values(&self) -> ListItems<'a> {
        match self.known.map(KnownHeader::shape) {
            Some(Shape::List) => ListItems::new(self.value),
            _ => ListItems::single(self.value),
        }
    }

    /// The value with folded line breaks replaced by one space each; borrowed when not folded.
    pub fn value_unfolded(&self) -> std::borrow::Cow<'a, [u8]> {
        unfold(self.value)
    }

    /// 1-based column of the value on the header's first line.
    pub fn value_column(&self) -> u32 {
        self.value_offset - self.offset + 1
    }
}

/// Replaces each folding (CRLF or LF followed by whitespace) with a single space.
pub fn unfold(value: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if memchr(b'\n', value).is_none() {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'\r' || value[i] == b'\n' {
            while i < value.len() && scan::is_lws(value[i]) {
                i += 1;
            }
            out.push(b' ');
        } else {
            out.push(value[i]);
            i += 1;
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A parsed SIP message borrowing from the caller's buffer.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    input: &'a [u8],
    start: StartLine<'a>,
    headers: Vec<Header<'a>>,
    body: &'a [u8],
    len: usize,
    framing_warnings: Vec<Warning>,
    /// Whether a header line holds a CR other than the one ending it (a bare CR may be in a value).
    stray_cr: bool,
    /// Whether a header value goes on over a continuation line.
    folded: bool,
}

/// Room for a message's headers kept between parses ([`Message::parse_in`], [`Message::recycle`]).
#[derive(Debug, Default)]
pub struct HeaderBuffer(Vec<Header<'static>>);

/// The same empty vector for headers that borrow from other bytes: mapping the (empty) vector's
/// items to a type of the same size and alignment collects into its own allocation.
fn relabel<'x, 'y>(headers: Vec<Header<'x>>) -> Vec<Header<'y>> {
    debug_assert!(headers.is_empty());
    headers.into_iter().map(|_| -> Header<'y> { unreachable!("the vector is empty") }).collect()
}

/// How a message's end is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// UDP: the datagram is the message; bytes past Content-Length are ignored.
    Datagram,
    /// TCP and other streams: Content-Length frames the message.
    Stream,
}

impl<'a> Message<'a> {
    /// Parses one message from a datagram with the default [`Limits`]: bytes past the body are ignored
    /// (RFC 3261 18.3); a body shorter than Content-Length is an error.
    pub fn parse(input: &'a [u8]) -> Result<Message<'a>, ParseError> {
        Self::parse_with(input, &Limits::default())
    }

    /// [`Message::parse`] with explicit limits.
    pub fn parse_with(input: &'a [u8], limits: &Limits) -> Result<Message<'a>, ParseError> {
        parse::<true>(input, limits, Mode::Datagram, Vec::new())
    }

    /// Parses one message from the start of a stream buffer whose end was found by
    /// [`crate::frame_stream`] (Content-Length frames the body; a missing Content-Length means none).
    pub fn parse_stream(input: &'a [u8], limits: &Limits) -> Result<Message<'a>, ParseError> {
        parse::<true>(input, limits, Mode::Stream, Vec::new())
    }

    /// [`Message::parse_with`] (or, with `stream`, [`Message::parse_stream`]) keeping the headers in
    /// the room `buffer` holds: a caller that parses message after message and hands each back with
    /// [`Message::recycle`] allocates once, not once a message.
    pub fn parse_in(
        input: &'a [u8],
        limits: &Limits,
        stream: bool,
        buffer: &mut HeaderBuffer,
    ) -> Result<Message<'a>, ParseError> {
        let mode = if stream { Mode::Stream } else { Mode::Datagram };
        parse::<true>(input, limits, mode, relabel(std::mem::take(&mut buffer.0)))
    }

    /// Gives the room this message's headers took back to `buffer`, for [`Message::parse_in`].
    pub fn recycle(self, buffer: &mut HeaderBuffer) {
        let mut headers = self.headers;
        headers.clear();
        buffer.0 = relabel(headers);
    }

    /// The input this message was parsed from.
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// The request line or status line.
    pub fn start_line(&self) -> &StartLine<'a> {
        &self.start
    }

    /// The request line, for requests.
    pub fn request(&self) -> Option<&RequestLine<'a>> {
        match &self.start {
            StartLine::Request(r) => Some(r),
            StartLine::Response(_) => None,
        }
    }

    /// The status line, for responses.
    pub fn response(&self) -> Option<&StatusLine<'a>> {
        match &self.start {
            StartLine::Response(s) => Some(s),
            StartLine::Request(_) => None,
        }
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&'a str> {
        self.request().map(|r| r.method)
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        self.response().map(|s| s.code)
    }

    /// The first line as written, without its line ending.
    pub fn first_line(&self) -> &'a [u8] {
        let skipped = skip_keepalive(self.input);
        let rest = &self.input[skipped..];
        let end = memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        line.strip_suffix(b"\r").unwrap_or(line)
    }

    /// All headers in wire order, duplicates kept.
    pub fn headers(&self) -> &[Header<'a>] {
        &self.headers
    }

    /// Headers with this name, in wire order (case-insensitive, compact forms folded).
    pub fn headers_named<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s Header<'a>> + use<'s, 'n, 'a> {
        let known = KnownHeader::lookup(name.as_bytes());
        self.headers.iter().filter(move |h| match known {
            Some(k) => h.known == Some(k),
            None => h.known.is_none() && h.name.eq_ignore_ascii_case(name.as_bytes()),
        })
    }

    /// The first header with this name.
    pub fn header(&self, name: &str) -> Option<&Header<'a>> {
        self.headers_named(name).next()
    }

    /// Headers that are this registered header.
    pub fn known_headers(&self, known: KnownHeader) -> impl Iterator<Item = &Header<'a>> + '_ {
        self.headers.iter().filter(move |h| h.known == Some(known))
    }

    /// The first header that is this registered header.
    pub fn known_header(&self, known: KnownHeader) -> Option<&Header<'a>> {
        self.headers.iter().find(|h| h.known == Some(known))
    }

    /// Every value of a header across all its lines, list headers split at commas.
    pub fn values<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + use<'s, 'n, 'a> {
        self.headers_named(name).flat_map(|h| h.values())
    }

    /// The body, exactly Content-Length bytes when Content-Length is given.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Bytes of the input this message occupies (leading keep-alive line endings and body included;
    /// trailing datagram bytes excluded).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a parsed message has at least a start line.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Warnings found while framing the message (Content-Length problems, trailing bytes, bare LF).
    pub fn framing_warnings(&self) -> &[Warning] {
        &self.framing_warnings
    }

    /// Whether a header line holds a CR that does not end it: only then can a value hold a bare CR.
    pub(crate) fn has_stray_cr(&self) -> bool {
        self.stray_cr
    }

    /// Whether a header value goes on over a continuation line (RFC 3261 7.3.1 folding).
    pub fn has_folded_lines(&self) -> bool {
        self.folded
    }

    /// Byte offset of `part` (which must borrow from this message's input) from the start of the input.
    pub(crate) fn offset_of(&self, part: &[u8]) -> usize {
        (part.as_ptr() as usize).saturating_sub(self.input.as_ptr() as usize)
    }
}

/// Where the parts of a parsed [`Message`] lie in its input, as offsets: it borrows nothing, so it can
/// be kept beside the bytes (as the capture reader does) and give the same message back without
/// parsing again ([`Message::layout`], [`Message::from_layout`]).
///
/// It is one pointer wide, so a message that may carry one (as `Option<Layout>`) grows by a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout(Box<Offsets>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Offsets {
    start: StartOffsets,
    headers: Box<[HeaderOffsets]>,
    body: (u32, u32),
    len: u32,
    framing_warnings: Box<[Warning]>,
    stray_cr: bool,
    folded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartOffsets {
    Request { method: (u32, u32), uri: (u32, u32), version: (u32, u32) },
    Response { version: (u32, u32), code: u16, reason: (u32, u32) },
}

/// One header: the name starts the line at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeaderOffsets {
    offset: u32,
    name_len: u32,
    value: (u32, u32),
    value_offset: u32,
    line: u32,
    known: Option<KnownHeader>,
}

impl<'a> Message<'a> {
    /// The offsets of every part, to rebuild this message from the same input with
    /// [`Message::from_layout`].
    pub fn layout(&self) -> Layout {
        let span = |part: &[u8]| {
            let start = self.offset_of(part) as u32;
            (start, start + part.len() as u32)
        };
        // The method and the versions may be static text (see `start_line_text`), so they are placed
        // by the line's shape: the method or the version opens the first line, a request's version
        // follows its URI after one space.
        let line_start = skip_keepalive(self.input) as u32;
        let start = match &self.start {
            StartLine::Request(r) => {
                let uri = span(r.uri);
                StartOffsets::Request {
                    method: (line_start, line_start + r.method.len() as u32),
                    uri,
                    version: (uri.1 + 1, uri.1 + 1 + r.version.len() as u32),
                }
            }
            StartLine::Response(s) => StartOffsets::Response {
                version: (line_start, line_start + s.version.len() as u32),
                code: s.code,
                reason: span(s.reason),
            },
        };
        let headers = self
            .headers
            .iter()
            .map(|h| HeaderOffsets {
                offset: h.offset,
                name_len: h.name.len() as u32,
                value: span(h.value),
                value_offset: h.value_offset,
                line: h.line,
                known: h.known,
            })
            .collect();
        Layout(Box::new(Offsets {
            start,
            headers,
            body: span(self.body),
            len: self.len as u32,
            framing_warnings: self.framing_warnings.clone().into_boxed_slice(),
            stray_cr: self.stray_cr,
            folded: self.folded,
        }))
    }

    /// The message `layout` was taken from, given the same input; `None` when the layout does not fit
    /// `input` (it came from other bytes).
    pub fn from_layout(input: &'a [u8], layout: &Layout) -> Option<Message<'a>> {
        let layout = &layout.0;
        let part = |(start, end): (u32, u32)| input.get(start as usize..end as usize);
        let text = |range| part(range).and_then(crate::text::text);
        let start = match layout.start {
            StartOffsets::Request { method, uri, version } => {
                StartLine::Request(RequestLine { method: text(method)?, uri: part(uri)?, version: text(version)? })
            }
            StartOffsets::Response { version, code, reason } => {
                StartLine::Response(StatusLine { version: text(version)?, code, reason: part(reason)? })
            }
        };
        let mut headers = Vec::with_capacity(layout.headers.len());
        for h in layout.headers.iter() {
            headers.push(Header {
                name: part((h.offset, h.offset.checked_add(h.name_len)?))?,
                value: part(h.value)?,
                known: h.known,
                line: h.line,
                offset: h.offset,
                value_offset: h.value_offset,
            });
        }
        let len = layout.len as usize;
        if len > input.len() {
            return None;
        }
        Some(Message {
            input,
            start,
            headers,
            body: part(layout.body)?,
            len,
            framing_warnings: layout.framing_warnings.to_vec(),
            stray_cr: layout.stray_cr,
            folded: layout.folded,
        })
    }
}

/// Number of leading CR/LF bytes (keep-alives, RFC 3261 7.5 and RFC 5626 4.4.1).
pub(crate) fn skip_keepalive(input: &[u8]) -> usize {
    input.iter().take_while(|&&b| b == b'\r' || b == b'\n').count()
}

fn err(kind: ErrorKind, line: u32, column: u32) -> ParseError {
    ParseError::new(kind, line, column)
}

/// Parses one message, its headers pushed onto `headers` (empty; with room when the caller kept some).
/// `PLAIN`: whether plain header lines take [`plain_line`] (always, but in the test that compares
/// both ways).
fn parse<'a, const PLAIN: bool>(
    input: &'a [u8],
    limits: &Limits,
    mode: Mode,
    mut headers: Vec<Header<'a>>,
) -> Result<Message<'a>, ParseError> {
    let start_at = skip_keepalive(input);
    // Line numbers count the skipped keep-alive lines too, so they match the file as given.
    let mut line_no: u32 = 1 + input[..start_at].iter().filter(|&&b| b == b'\n').count() as u32;
    if start_at == input.len() {
        return Err(err(ErrorKind::Empty, line_no, 1));
    }
    let mut warnings = Vec::new();
    let mut bare_lf = false;
    let mut stray_cr = false;
    let mut folded = false;

    // Start line.
    let first_end = match memchr(b'\n', &input[start_at..]) {
        Some(i) => start_at + i,
        None => {
            check_line_length(input.len() - start_at, limits, line_no)?;
            return Err(err(ErrorKind::UnterminatedHeaders, line_no, 1));
        }
    };
    check_line_length(first_end - start_at, limits, line_no)?;
    let first = &input[start_at..first_end];
    let first = match first.strip_suffix(b"\r") {
        Some(f) => f,
        None => {
            bare_lf = true;
            first
        }
    };
    let start = parse_start_line(first, line_no)?;

    // Headers.
    let mut pos = first_end + 1;
    // Room for a typical message's headers, unless the caller brought some; a message without any
    // (as the runner's request extracts often are) allocates nothing.
    let no_headers = matches!(input.get(pos..), Some([b'\r', b'\n', ..] | [b'\n', ..]));
    if headers.capacity() == 0 && !no_headers {
        headers = Vec::with_capacity(16);
    }
    let mut content_length: Option<(usize, usize)> = None; // (header index, value)
    let mut content_length_count = 0usize;
    // Plain lines are read while there are fewer headers than this: none when a line could make
    // the message too large (which the general code checks line by line).
    let plain_below = match input.len() - start_at <= limits.max_message_size {
        true => limits.max_headers,
        false => 0,
    };
    let max_line_length = limits.max_line_length;
    let body_start = loop {
        // The usual line, `Registered-Name: value` ending in CRLF, as the general code below reads
        // it, without its questions about folding, whitespace, bare line ends and names.
        while PLAIN && headers.len() < plain_below {
            let Some(plain) = plain_line(input, pos, max_line_length) else { break };
            line_no += 1;
            if plain.known == KnownHeader::CONTENT_LENGTH {
                content_length_count += 1;
            }
            headers.push(Header {
                name: &input[pos..plain.colon],
                value: &input[plain.colon + 2..plain.value_end],
                known: Some(plain.known),
                line: line_no,
                offset: pos as u32,
                value_offset: (plain.colon + 2) as u32,
            });
            pos = plain.value_end + 2;
        }
        line_no += 1;
        // The empty line that ends the headers, as the general code reads it when no line could
        // make the message too large (as in the loop above).
        if PLAIN && plain_below > 0 && max_line_length > 0 && input.get(pos..pos + 2) == Some(b"\r\n") {
            break pos + 2;
        }
        if pos >= input.len() {
            return Err(err(ErrorKind::UnterminatedHeaders, line_no, 1));
        }
        if input.len() - start_at > limits.max_message_size && pos - start_at > limits.max_message_size {
            return Err(err(
                ErrorKind::MessageTooLarge { size: input.len() - start_at, limit: limits.max_message_size },
                line_no,
                1,
            ));
        }
        // The name usually ends at the first colon, before any control byte; the line ends at its LF,
        // found from there.
        let stop = find_colon_or_control(input, pos);
        let colon_at = (input.get(stop) == Some(&b':')).then_some(stop);
        let Some(line_end) = line_end(input, colon_at.map_or(stop, |c| c + 1), &mut stray_cr) else {
            check_line_length(input.len() - pos, limits, line_no)?;
            return Err(err(ErrorKind::UnterminatedHeaders, line_no, 1));
        };
        check_line_length(line_end - pos, limits, line_no)?;
        let mut content_end = line_end;
        if content_end > pos && input[content_end - 1] == b'\r' {
            content_end -= 1;
        } else {
            bare_lf = true;
        }
        if content_end == pos {
            break line_end + 1; // the empty line
        }
        let line = &input[pos..content_end];
        if line[0] == b' ' || line[0] == b'\t' {
            // Folded continuation of the previous header's value.
            let Some(prev) = headers.last_mut() else {
                return Err(err(ErrorKind::OrphanContinuation, line_no, 1));
            };
            folded = true;
            let rest = scan::trim(line);
            if !rest.is_empty() {
                let rest_start = pos + (line.len() - scan::trim_start(line).len());
                let value_start = if prev.value.is_empty() { rest_start } else { prev.value_offset as usize };
                prev.value_offset = value_start as u32;
                prev.value = &input[value_start..rest_start + rest.len()];
            }
            pos = line_end + 1;
            continue;
        }
        // A registered name (matched case-insensitively, so only letters, digits and `-`) needs no
        // byte check; another name must be a token. Anything else (whitespace before the colon, no
        // colon) takes the general path, which also names the error.
        let before_colon =
            colon_at.filter(|&c| c > pos).map(|c| (&input[pos..c], KnownHeader::lookup_in(input, pos, c - pos)));
        let quick = before_colon.and_then(|(name, known)| match known {
            Some(known) => Some((name, Some(known))),
            None => scan::is_token(name).then_some((name, None)),
        });
        let (colon, name, known) = match quick {
            Some((name, known)) => (name.len(), name, known),
            None => {
                let Some(colon) = memchr(b':', line) else {
                    return Err(err(ErrorKind::MissingColon, line_no, 1));
                };
                let name = trim_end_wsp(&line[..colon]);
                if !scan::is_token(name) {
                    return Err(err(ErrorKind::HeaderName(String::from_utf8_lossy(name).into_owned()), line_no, 1));
                }
                (colon, name, KnownHeader::lookup(name))
            }
        };
        if headers.len() >= limits.max_headers {
            return Err(err(ErrorKind::TooManyHeaders { limit: limits.max_headers }, line_no, 1));
        }
        // Usually one space, then a value that does not end in whitespace.
        let after_colon = &line[colon + 1..];
        let value = match after_colon {
            [b' ', first, .., last] if !scan::is_lws(*first) && !scan::is_lws(*last) => &after_colon[1..],
            _ => scan::trim(after_colon),
        };
        let value_offset = if value.is_empty() {
            // An empty value so far: place it at the end of the line; a continuation line may supply it.
            content_end
        } else {
            value.as_ptr() as usize - input.as_ptr() as usize
        };
        if known == Some(KnownHeader::CONTENT_LENGTH) {
            content_length_count += 1;
        }
        headers.push(Header {
            name,
            value,
            known,
            line: line_no,
            offset: pos as u32,
            value_offset: value_offset as u32,
        });
        pos = line_end + 1;
    };

    if content_length_count > 0 {
        // Every value is read (each must be a number); they are only listed when there are several.
        let mut values = Vec::new();
        // The first is where the scan starts: a lone one is usually the last header, so it is found
        // from the end.
        let is_content_length = |h: &Header<'_>| h.known == Some(KnownHeader::CONTENT_LENGTH);
        let first = match content_length_count {
            1 => headers.iter().rposition(is_content_length),
            _ => headers.iter().position(is_content_length),
        };
        let from_first = headers.iter().enumerate().skip(first.unwrap_or(0));
        for (i, h) in from_first.filter(|(_, h)| is_content_length(h)) {
            let n = scan::parse_decimal(h.value).and_then(|n| usize::try_from(n).ok()).ok_or_else(|| {
                err(ErrorKind::ContentLength(String::from_utf8_lossy(h.value).into_owned()), h.line, h.value_column())
            })?;
            if content_length.is_none() {
                content_length = Some((i, n));
            }
            if content_length_count > 1 {
                values.push(n);
            }
        }
        if values.len() > 1 {
            let listed = values.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
            let disagree = values.iter().any(|&v| v != values[0]);
            if mode == Mode::Stream && disagree {
                let h = &headers[content_length.map_or(0, |c| c.0)];
                return Err(err(ErrorKind::ConflictingContentLength(listed), h.line, 1));
            }
            let line =
                headers.iter().filter(|h| h.known == Some(KnownHeader::CONTENT_LENGTH)).nth(1).map_or(0, |h| h.line);
            warnings.push(Warning { line, kind: WarningKind::SeveralContentLengths { values: listed } });
        }
    }

    let available = input.len() - body_start;
    let (body, end) = match content_length {
        Some((index, declared)) => {
            if declared > limits.max_message_size {
                let h = &headers[index];
                return Err(err(
                    ErrorKind::MessageTooLarge {
                        // A declared length near usize::MAX must not overflow the size reported.
                        size: (body_start - start_at).saturating_add(declared),
                        limit: limits.max_message_size,
                    },
                    h.line,
                    h.value_column(),
                ));
            }
            if declared > available {
                let h = &headers[index];
                return Err(err(ErrorKind::BodyTooShort { declared, present: available }, h.line, h.value_column()));
            }
            if mode == Mode::Datagram && available > declared {
                let extra = &input[body_start + declared..];
                // A lone trailing CRLF pair is common padding, not worth a warning.
                if extra.iter().any(|&b| b != b'\r' && b != b'\n') {
                    warnings.push(Warning { line: 0, kind: WarningKind::TrailingBytes(extra.len()) });
                }
            }
            (&input[body_start..body_start + declared], body_start + declared)
        }
        None => match mode {
            Mode::Datagram => {
                if available > 0 {
                    warnings.push(Warning { line: 0, kind: WarningKind::NoContentLength(available) });
                }
                (&input[body_start..], input.len())
            }
            Mode::Stream => (&input[body_start..body_start], body_start),
        },
    };
    if end - start_at > limits.max_message_size {
        return Err(err(ErrorKind::MessageTooLarge { size: end - start_at, limit: limits.max_message_size }, 1, 1));
    }
    if bare_lf {
        warnings.push(Warning { line: 0, kind: WarningKind::BareLineFeed });
    }
    Ok(Message { input, start, headers, body, len: end, framing_warnings: warnings, stray_cr, folded })
}

/// Where the parts of a plain header line lie (see [`plain_line`]).
struct PlainLine {
    /// The registered header the name is.
    known: KnownHeader,
    /// The colon after the name.
    colon: usize,
    /// The CR of the line's CRLF, where the value ends.
    value_end: usize,
}

/// The header line at `pos` when it is plain: a registered name, a colon, one space, a value that
/// starts and ends with a byte above the space, CRLF, no other control byte, at most `max_len`
/// bytes before the LF. The parser's general code reads such a line into the same header: the name
/// is not a continuation line's whitespace nor empty and needs no token check (registered names are
/// tokens), the value needs no trimming, the line has no bare LF or CR. `None` for any other line,
/// which the general code then reads (and names the error, if any).
#[inline(always)]
fn plain_line(input: &[u8], pos: usize, max_len: usize) -> Option<PlainLine> {
    let colon = find_colon_or_control(input, pos);
    if input.get(colon) != Some(&b':') {
        return None;
    }
    // An empty name, or one with whitespace (a continuation line's), is no registered name.
    let known = KnownHeader::lookup_in(input, pos, colon - pos)?;
    let value_start = colon + 2;
    match input.get(colon + 1..value_start + 1) {
        Some(&[b' ', first]) if first > b' ' => {}
        _ => return None,
    }
    // Long lines are left to the general code, which searches them with the vectorised search.
    let limit = input.len().min(value_start + 256);
    let value_end = find_control_before(input, value_start, limit);
    let plain = matches!(input.get(value_end..value_end + 2), Some(b"\r\n"))
        && input[value_end - 1] > b' '
        && value_end + 1 - pos <= max_len;
    plain.then_some(PlainLine { known, colon, value_end })
}

/// The LF that ends the physical line containing `from`, or `None` when the input ends first. A CR
/// met on the way that does not end the line sets `stray_cr`, so validation looks for bare CRs only in
/// messages that have one.
fn line_end(input: &[u8], from: usize, stray_cr: &mut bool) -> Option<usize> {
    let mut i = from;
    loop {
        // Most lines end within a few words (sixteen bytes cost about ten instructions); in a long
        // one CR and LF (the only control bytes that matter here) are found with the vectorised
        // search, which costs about a hundred to set up.
        let limit = input.len().min(i + 256);
        i = find_control_before(input, i, limit);
        if i == limit && limit < input.len() {
            i = memchr2(b'\r', b'\n', &input[limit..]).map_or(input.len(), |at| limit + at);
        }
        match *input.get(i)? {
            b'\n' => return Some(i),
            b'\r' if input.get(i + 1) == Some(&b'\n') => return Some(i + 1),
            b'\r' => *stray_cr = true,
            _ => {} // a tab or another control byte inside the line
        }
        i += 1;
    }
}

fn check_line_length(len: usize, limits: &Limits, line: u32) -> Result<(), ParseError> {
    if len > limits.max_line_length {
        Err(err(ErrorKind::LineTooLong { limit: limits.max_line_length }, line, 1))
    } else {
        Ok(())
    }
}

fn trim_end_wsp(s: &[u8]) -> &[u8] {
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(0, |i| i + 1);
    &s[..end]
}

/// Whether `s` holds a byte at or below the space (whitespace or a control byte), eight bytes at a
/// time: in `w - 0x21..21 & !w`, no byte borrows and none has its high bit set unless some byte is
/// below 0x21 (the same reasoning as the word search of `search.rs`).
fn has_space_or_control(s: &[u8]) -> bool {
    const BELOW: u64 = u64::from_le_bytes([0x21; 8]);
    const HIGH_BITS: u64 = u64::from_le_bytes([0x80; 8]);
    let mut s = s;
    while let Some((word, rest)) = s.split_first_chunk::<8>() {
        let word = u64::from_le_bytes(*word);
        if word.wrapping_sub(BELOW) & !word & HIGH_BITS != 0 {
            return true;
        }
        s = rest;
    }
    s.iter().any(|&b| b <= b' ')
}

/// The version as it is nearly always written is compared as one word, before the case-insensitive
/// comparison.
fn is_sip_version(v: &[u8]) -> bool {
    v == b"SIP/2.0" || v.eq_ignore_ascii_case(b"SIP/2.0")
}

fn looks_like_version(v: &[u8]) -> bool {
    v.starts_with(b"SIP/") || v.len() >= 4 && v[..4].eq_ignore_ascii_case(b"SIP/")
}

fn parse_start_line(line: &[u8], line_no: u32) -> Result<StartLine<'_>, ParseError> {
    if looks_like_version(line) {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        // Usually `SIP/2.0 `: the first space is the eighth byte.
        let sp = match line.get(4..8) {
            Some([a, b, c, b' ']) if ![a, b, c].contains(&&b' ') => 7,
            _ => memchr(b' ', line)
                .ok_or_else(|| err(ErrorKind::StartLine("status line has no status code"), line_no, 1))?,
        };
        let version = &line[..sp];
        if !is_sip_version(version) {
            return Err(err(ErrorKind::Version(String::from_utf8_lossy(version).into_owned()), line_no, 1));
        }
        let rest = &line[sp + 1..];
        // Usually three digits and a space: no search needed to find where the code ends.
        let code_end = match rest {
            [a, b, c, b' ', ..] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => 3,
            _ => memchr(b' ', rest).unwrap_or(rest.len()),
        };
        let code_text = &rest[..code_end];
        let code = match code_text {
            [a, b, c] if code_text.iter().all(u8::is_ascii_digit) => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            _ => 0,
        };
        if !(100..=699).contains(&code) {
            return Err(err(
                ErrorKind::StatusCode(String::from_utf8_lossy(code_text).into_owned()),
                line_no,
                sp as u32 + 2,
            ));
        }
        let reason = if code_end < rest.len() { &rest[code_end + 1..] } else { &rest[rest.len()..] };
        return Ok(StartLine::Response(StatusLine { version: start_line_text(version), code, reason }));
    }
    // Request-Line = Method SP Request-URI SP SIP-Version
    let sp1 = memchr(b' ', line)
        .ok_or_else(|| err(ErrorKind::StartLine("neither a request line nor a status line"), line_no, 1))?;
    let method = &line[..sp1];
    if !scan::is_token(method) {
        return Err(err(ErrorKind::Method(String::from_utf8_lossy(method).into_owned()), line_no, 1));
    }
    let rest = &line[sp1 + 1..];
    let uri_col = sp1 as u32 + 2;
    if rest.first().is_some_and(|&b| scan::is_lws(b)) {
        return Err(err(ErrorKind::StartLine("more than one space after the method"), line_no, uri_col));
    }
    let sp2 = memrchr(b' ', rest)
        .ok_or_else(|| err(ErrorKind::StartLine("request line has no SIP version"), line_no, uri_col))?;
    let uri = &rest[..sp2];
    let version = &rest[sp2 + 1..];
    if !is_sip_version(version) {
        let column = uri_col + sp2 as u32 + 1;
        return Err(if version.is_empty() {
            err(ErrorKind::StartLine("space at the end of the request line"), line_no, column)
        } else if looks_like_version(version) {
            err(ErrorKind::Version(String::from_utf8_lossy(version).into_owned()), line_no, column)
        } else {
            err(ErrorKind::StartLine("request line does not end with SIP/2.0"), line_no, column)
        });
    }
    if uri.is_empty() {
        return Err(err(ErrorKind::RequestUri("empty".into()), line_no, uri_col));
    }
    // The line holds no LF, so a byte at or below the space is the only sign of whitespace.
    let lws = if has_space_or_control(uri) { uri.iter().position(|&b| scan::is_lws(b)) } else { None };
    if let Some(i) = lws {
        let why = if i + 1 == uri.len() {
            "more than one space before the version"
        } else {
            "whitespace inside the Request-URI"
        };
        return Err(err(ErrorKind::RequestUri(why.into()), line_no, uri_col + i as u32));
    }
    Ok(StartLine::Request(RequestLine { method: start_line_text(method), uri, version: start_line_text(version) }))
}

/// A method or a version (ASCII: a token, `SIP/2.0` in any case) as text: the registered methods
/// and `SIP/2.0` as static text, which costs less than checking a short slice as UTF-8 (the
/// check cannot fail on them); [`Message::layout`] places them by the line's shape.
fn start_line_text(bytes: &[u8]) -> &str {
    match bytes {
        b"SIP/2.0" => "SIP/2.0",
        _ => crate::views::method_text(bytes),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    use super::*;

    /// Header lines, mostly plain, around every condition [`plain_line`] checks: names registered or
    /// not, in any case, compact, empty, with whitespace before the colon; no space, two spaces or a
    /// tab after it; values empty, with whitespace at either end, control bytes, a bare CR, non-ASCII
    /// bytes; bare LF endings, continuation lines, long lines, an unterminated last line.
    fn header_line() -> impl Strategy<Value = Vec<u8>> {
        let name = prop_oneof![
            8 => prop::sample::select(vec![
                "Via", "From", "to", "CALL-ID", "CSeq", "Content-Length", "content-length", "Max-Forwards",
                "P-Asserted-Identity", "Security-Client", "Security-Verify", "v", "l", "X-Custom",
                "Content-Lengthy", "Authorization", "WWW-Authenticate", "Session-Expires",
            ]),
            1 => prop::sample::select(vec!["Via ", "Via\t", "V\u{ed}a", "", " ", "\tVia", "Vi a", "To\x01"]),
            1 => "[A-Za-z-]{1,34}".prop_map(|n| &*n.leak()),
        ];
        let separator =
            prop_oneof![6 => Just(": "), 1 => prop::sample::select(vec![":", ":  ", ":\t", " : ", ": \t", ":\r\n "])];
        let value = prop_oneof![
            6 => "[a-z0-9;=@.<>:/]{1,40}".prop_map(String::into_bytes),
            2 => "[a-z \t]{0,6}".prop_map(String::into_bytes),
            1 => prop::collection::vec(prop::sample::select(b"a \t\r\x01\x7f\xc3\xa9:".to_vec()), 0..8),
            1 => (250usize..262).prop_map(|n| vec![b'x'; n]),
        ];
        let ending = prop_oneof![
            8 => Just("\r\n"),
            1 => prop::sample::select(vec!["\n", "\r\n\t folded\r\n", "\r\n \r\n", "\r", " \r\n", "\t\r\n"]),
        ];
        (name, separator, value, ending).prop_map(|(name, separator, value, ending)| {
            [name.as_bytes(), separator.as_bytes(), &value[..], ending.as_bytes()].concat()
        })
    }

    /// Parsing with the plain-line path gives what the general code alone gives: the same message
    /// (headers, body, warnings, flags) or the same error, in both modes, with limits that lines can
    /// reach; and enough of the messages parse for that to mean something.
    #[test]
    fn plain_lines_parse_as_the_general_code_parses_them() {
        let message = (
            prop::sample::select(vec![
                "SIP/2.0 180 Ringing\r\n",
                "INVITE sip:a@b SIP/2.0\r\n",
                "\r\nBYE sip:b SIP/2.0\n",
            ]),
            prop::collection::vec(header_line(), 0..6),
            prop_oneof![4 => Just("\r\n"), 1 => prop::sample::select(vec!["\r\nbody", "\n", ""])],
            prop_oneof![4 => Just(16 * 1024), 1 => prop::sample::select(vec![0usize, 1, 16, 40, 270])],
            prop_oneof![4 => Just(256), 1 => Just(3usize)],
            prop_oneof![4 => Just(256 * 1024), 1 => Just(90usize)],
        );
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (draws, mut parsed) = (30_000, 0);
        for _ in 0..draws {
            let (start, lines, end, max_line_length, max_headers, max_message_size) =
                message.new_tree(&mut runner).expect("strategy").current();
            let input = [start.as_bytes(), &lines.concat()[..], end.as_bytes()].concat();
            let limits = Limits { max_message_size, max_headers, max_line_length };
            for mode in [Mode::Datagram, Mode::Stream] {
                let plain = parse::<true>(&input, &limits, mode, Vec::new());
                let general = parse::<false>(&input, &limits, mode, Vec::new());
                assert_eq!(format!("{plain:?}"), format!("{general:?}"), "{:?}", String::from_utf8_lossy(&input));
                parsed += usize::from(plain.is_ok());
            }
        }
        assert!(parsed * 4 > draws * 2, "only {parsed} of {} parses succeeded", draws * 2);
    }
}
