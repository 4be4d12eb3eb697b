//! Stream framing for TCP, SCTP and WebSocket-less streams: where does the next message end?

use memchr::memchr;

use crate::error::{ErrorKind, ParseError};
use crate::message::{skip_keepalive, Limits};
use crate::scan;

/// The answer of [`frame_stream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `buf[..len]` holds one whole message, preceded by any keep-alive line endings.
    Complete(usize),
    /// More bytes are needed.
    Partial,
}

/// Finds the end of the first message in a stream buffer (bytes received so far). Leading CRLF
/// keep-alives are skipped and counted in the length. Content-Length frames the body; without it the
/// body is empty (RFC 3261 18.3 makes it mandatory on streams).
pub fn frame_stream(buf: &[u8], limits: &Limits) -> Result<Framing, ParseError> {
    let start = skip_keepalive(buf);
    let mut pos = start;
    let mut line_no = 1u32;
    let mut content_length: Option<usize> = None;
    loop {
        let Some(nl) = memchr(b'\n', &buf[pos..]) else {
            if buf.len() - pos > limits.max_line_length {
                return Err(ParseError::new(ErrorKind::LineTooLong { limit: limits.max_line_length }, line_no, 1));
            }
            return too_large_or_partial(buf.len() - start, limits, line_no);
        };
        let end = pos + nl;
        if nl > limits.max_line_length {
            return Err(ParseError::new(ErrorKind::LineTooLong { limit: limits.max_line_length }, line_no, 1));
        }
        let line = &buf[pos..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos = end + 1;
        if line.is_empty() && line_no > 1 {
            break;
        }
        if line_no > 1 {
            if let Some(n) = content_length_of(line) {
                let n = n.map_err(|text| ParseError::new(ErrorKind::ContentLength(text), line_no, 1))?;
                match content_length {
                    Some(previous) if previous != n => {
                        return Err(ParseError::new(
                            ErrorKind::ConflictingContentLength(format!("{previous}, {n}")),
                            line_no,
                            1,
                        ))
                    }
                    _ => content_length = Some(n),
                }
            }
        }
        line_no += 1;
        if pos - start > limits.max_message_size {
            return too_large_or_partial(pos - start, limits, line_no);
        }
    }
    let total = pos.saturating_add(content_length.unwrap_or(0));
    if total - start > limits.max_message_size {
        return Err(ParseError::new(
            ErrorKind::MessageTooLarge { size: total - start, limit: limits.max_message_size },
            1,
            1,
        ));
    }
    Ok(if buf.len() >= total { Framing::Complete(total) } else { Framing::Partial })
}

fn too_large_or_partial(size: usize, limits: &Limits, line: u32) -> Result<Framing, ParseError> {
    if size > limits.max_message_size {
        Err(ParseError::new(ErrorKind::MessageTooLarge { size, limit: limits.max_message_size }, line, 1))
    } else {
        Ok(Framing::Partial)
    }
}

/// If the line is a Content-Length header, its value (or the bad text).
fn content_length_of(line: &[u8]) -> Option<Result<usize, String>> {
    // Most lines are other headers: only a name starting with `C` or `l` (after any whitespace, which
    // `trim` skips) can be it.
    if !matches!(line.first()?, b'c' | b'C' | b'l' | b'L' | b' ' | b'\t' | b'\r') {
        return None;
    }
    let colon = memchr(b':', line)?;
    let name = scan::trim(&line[..colon]);
    if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
        return None;
    }
    let value = scan::trim(&line[colon + 1..]);
    Some(
        scan::parse_decimal(value)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| String::from_utf8_lossy(value).into_owned()),
    )
}

/// Whether a line (without its line ending) looks like a SIP start line: `SIP/2.0 NNN ...` or
/// `METHOD SP something SP SIP/2.0`. Used to recognise SIP by content and to resynchronise a stream.
pub fn is_start_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() >= 12 && line[..8].eq_ignore_ascii_case(b"SIP/2.0 ") {
        return line[8..11].iter().all(u8::is_ascii_digit) && line[11] == b' ';
    }
    method_end(line).is_some_and(|sp| is_request_line_from(line, sp))
}

/// Where a request line's method ends: the first byte that is not a token byte, when it is the
/// space after a method of at least one byte.
fn method_end(line: &[u8]) -> Option<usize> {
    let sp = line.iter().position(|&b| !scan::is_token_byte(b))?;
    (sp > 0 && line[sp] == b' ').then_some(sp)
}

/// Whether `line`, a method and a space at `sp`, goes on as a request line: a Request-URI (not
/// starting with a space) and ` SIP/2.0` at the end.
fn is_request_line_from(line: &[u8], sp: usize) -> bool {
    line.len() > sp + 9 && line[line.len() - 8..].eq_ignore_ascii_case(b" SIP/2.0") && line[sp + 1] != b' '
}

/// Whether the bytes start (after keep-alives) with a SIP start line, as [`is_start_line`] says of
/// their first line.
pub fn looks_like_sip(buf: &[u8]) -> bool {
    let buf = &buf[skip_keepalive(buf)..];
    // A status line is settled by its first twelve bytes, none of which can end the line.
    if buf.len() >= 8 && buf[..8].eq_ignore_ascii_case(b"SIP/2.0 ") {
        return buf.len() >= 12 && buf[8..11].iter().all(u8::is_ascii_digit) && buf[11] == b' ';
    }
    // A request line's method ends before its line does, so the line end is looked for after it.
    let Some(sp) = method_end(buf) else { return false };
    let end = memchr(b'\n', &buf[sp..]).map_or(buf.len(), |i| sp + i);
    let line = &buf[..end];
    is_request_line_from(line.strip_suffix(b"\r").unwrap_or(line), sp)
}

/// Offset of the first line in `buf` that looks like a SIP start line, for resynchronising a stream
/// that was picked up in the middle of a message.
pub fn find_start_line(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    while pos < buf.len() {
        let end = memchr(b'\n', &buf[pos..]).map_or(buf.len(), |i| pos + i);
        if is_start_line(&buf[pos..end]) {
            return Some(pos);
        }
        pos = end + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nl: 3\r\n\r\nabc";

    #[test]
    fn complete_partial_and_keepalives() {
        let l = Limits::default();
        assert_eq!(frame_stream(MSG, &l), Ok(Framing::Complete(MSG.len())));
        for cut in 0..MSG.len() {
            assert_eq!(frame_stream(&MSG[..cut], &l), Ok(Framing::Partial), "cut at {cut}");
        }
        let mut with_ka = b"\r\n\r\n".to_vec();
        with_ka.extend_from_slice(MSG);
        with_ka.extend_from_slice(b"SIP/2.0 200 OK\r\n");
        assert_eq!(frame_stream(&with_ka, &l), Ok(Framing::Complete(MSG.len() + 4)));
    }

    /// The start-line check as first written (one `memchr` for the first space, one for the line end),
    /// kept as the reference the quicker checks are compared with.
    fn reference_is_start_line(line: &[u8]) -> bool {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() >= 12 && line[..8].eq_ignore_ascii_case(b"SIP/2.0 ") {
            return line[8..11].iter().all(u8::is_ascii_digit) && (line.len() == 11 || line[11] == b' ');
        }
        let Some(sp) = memchr(b' ', line) else { return false };
        if sp == 0 || !line[..sp].iter().all(|&b| scan::is_token_byte(b)) {
            return false;
        }
        line.len() > sp + 9 && line[line.len() - 8..].eq_ignore_ascii_case(b" SIP/2.0") && line[sp + 1] != b' '
    }

    proptest::proptest! {
        // About one case in 150 is a start line; enough cases to meet a good number of them.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8192))]
        #[test]
        fn start_line_checks_agree_with_the_reference(pieces in (
            proptest::sample::select(vec![&b""[..], b"\r\n", b"\n"]),
            proptest::sample::select(vec![&b"INVITE"[..], b"SIP/2.0", b"sip/2.0", b"BY/E", b"", b"\xff"]),
            proptest::sample::select(vec![&b" "[..], b"  ", b""]),
            proptest::sample::select(vec![&b"200"[..], b"18", b"sip:a@b", b" x", b"", b"\r"]),
            proptest::sample::select(vec![&b" "[..], b""]),
            proptest::sample::select(vec![&b"SIP/2.0"[..], b"Ringing", b"sip/2.0", b""]),
            proptest::sample::select(vec![&b"\r\n"[..], b"\n", b"", b"\r", b" SIP/2.0\n"]),
        )) {
            let pieces = [pieces.0, pieces.1, pieces.2, pieces.3, pieces.4, pieces.5, pieces.6];
            let buf = pieces.concat();
            let first = &buf[skip_keepalive(&buf)..];
            let line = &first[..memchr(b'\n', first).unwrap_or(first.len())];
            proptest::prop_assert_eq!(is_start_line(line), reference_is_start_line(line));
            proptest::prop_assert_eq!(looks_like_sip(&buf), reference_is_start_line(line));
        }
    }

    #[test]
    fn start_lines_are_recognised() {
        assert!(is_start_line(b"INVITE sip:x@y SIP/2.0\r"));
        assert!(is_start_line(b"SIP/2.0 180 Ringing"));
        assert!(!is_start_line(b"GET / HTTP/1.1"));
        assert!(!is_start_line(b"HTTP/1.1 200 OK"));
        assert_eq!(find_start_line(b"junk\r\nmore\r\nBYE sip:a@b SIP/2.0\r\n"), Some(12));
    }
}
