//! `sipaccord messages`: list every SIP message found in captures.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{SocketAddr, SocketAddrV4};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use sipaccord_capture::{CaptureError, CaptureReader, MessageRef, OtherTraffic, Outcome as Parsed, Summary};

use crate::Outcome;

/// Arguments of `sipaccord messages`.
#[derive(Debug, Args)]
pub struct MessagesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// pcap or pcapng files.
    #[arg(required = true, value_name = "CAPTURE")]
    captures: Vec<PathBuf>,
}

/// Output formats of `sipaccord messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One readable line per message, then a summary.
    Text,
    /// One JSON object per message, one per line.
    Jsonl,
}

/// What a listing says about one message, borrowed from it (nothing is copied unless a header value
/// is folded or not UTF-8).
#[derive(Debug)]
struct Line<'m> {
    method: Option<&'m str>,
    status: Option<u16>,
    call_id: Option<Text<'m>>,
    cseq: Option<Text<'m>>,
    /// Set when the message parsed but a header breaks its grammar.
    invalid: Option<&'m str>,
    /// Set when the message could not be parsed at all.
    malformed: Option<&'m str>,
}

/// A header value to print.
#[derive(Debug)]
enum Text<'m> {
    /// Printable ASCII without `"` or `\`: written as is, in JSON strings too (the common case).
    Plain(&'m [u8]),
    /// Anything else: unfolded, invalid UTF-8 replaced, escaped in JSON.
    Other(Cow<'m, str>),
}

impl<'m> Text<'m> {
    fn new(value: &'m [u8]) -> Text<'m> {
        if is_plain(value) {
            Text::Plain(value)
        } else {
            Text::Other(lossy(sipaccord_sip::unfold(value)))
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Text::Plain(b) => b,
            Text::Other(s) => s.as_bytes(),
        }
    }

    #[inline]
    fn json(&self, buf: &mut Vec<u8>) {
        match self {
            Text::Plain(b) => {
                buf.push(b'"');
                buf.extend_from_slice(b);
                buf.push(b'"');
            }
            Text::Other(s) => json_string(buf, s),
        }
    }
}

/// Whether the bytes are printable ASCII (0x20 to 0x7e) other than `"` and `\`: valid UTF-8 that
/// neither folding nor JSON escaping changes. Eight bytes at a time; the last word overlaps the one
/// before it rather than ending byte by byte, and a short value is padded with spaces.
fn is_plain(bytes: &[u8]) -> bool {
    if bytes.len() < 8 {
        let mut word = [b' '; 8];
        word[..bytes.len()].copy_from_slice(bytes);
        return is_plain_word(word);
    }
    let mut chunks = bytes.chunks_exact(8);
    let whole = chunks.all(|chunk| is_plain_word(chunk.try_into().unwrap_or_default()));
    whole && (chunks.remainder().is_empty() || is_plain_word(bytes[bytes.len() - 8..].try_into().unwrap_or_default()))
}

/// [`is_plain`] for eight bytes.
fn is_plain_word(word: [u8; 8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `v` is zero (exact as a yes or no over the word).
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let v = u64::from_le_bytes(word);
    // Non-ASCII, below 0x20 (given ASCII), DEL, a quote, a backslash.
    let bad = (v & HIGH)
        | (v.wrapping_sub(ONES * 0x20) & !v & HIGH)
        | zero_byte(v ^ (ONES * 0x7f))
        | zero_byte(v ^ (ONES * u64::from(b'"')))
        | zero_byte(v ^ (ONES * u64::from(b'\\')));
    bad == 0
}

impl<'m> Line<'m> {
    fn new(m: &MessageRef<'m>) -> Line<'m> {
        let parsed = m.parsed;
        let (mut invalid, mut malformed) = (None, None);
        match m.outcome {
            Parsed::Malformed(reason) => malformed = Some(reason.as_str()),
            Parsed::Invalid(reason) => invalid = Some(reason.as_str()),
            Parsed::WellFormed => {}
        }
        // The first Call-ID and the first CSeq, in one pass over the headers.
        let (mut call_id, mut cseq) = (None, None);
        if let Some(message) = parsed {
            for h in message.headers() {
                match h.known {
                    Some(sipaccord_sip::KnownHeader::CALL_ID) if call_id.is_none() => call_id = Some(h.value),
                    Some(sipaccord_sip::KnownHeader::CSEQ) if cseq.is_none() => cseq = Some(h.value),
                    _ => continue,
                }
                if call_id.is_some() && cseq.is_some() {
                    break;
                }
            }
        }
        Line {
            method: parsed.and_then(sipaccord_sip::Message::method),
            status: parsed.and_then(sipaccord_sip::Message::status),
            call_id: call_id.map(Text::new),
            cseq: cseq.map(Text::new),
            invalid,
            malformed,
        }
    }

    fn is_finding(&self) -> bool {
        self.malformed.is_some() || self.invalid.is_some()
    }
}

/// Text from header bytes, invalid UTF-8 replaced; borrowed when it is valid.
fn lossy(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        // Checking is quicker than going through the lossy conversion, which is rarely needed.
        Cow::Borrowed(b) => std::str::from_utf8(b).map_or_else(|_| String::from_utf8_lossy(b), Cow::Borrowed),
        Cow::Owned(v) => {
            Cow::Owned(String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
        }
    }
}

/// Writes the listing into one reused buffer: the per-file and per-second parts are formatted once,
/// numbers and IPv4 addresses by hand, so a line costs no allocation.
struct Writer {
    buf: Vec<u8>,
    /// The capture's name as given, for text lines.
    file_text: String,
    /// What every JSON line starts with: `{"file":` and the name as a JSON string, then `,"frame":`.
    jsonl_start: Vec<u8>,
    /// The whole second last written, and its `YYYY-MM-DDTHH:MM:SS.` form (the dot before the
    /// microseconds included).
    second: Option<u64>,
    second_text: Vec<u8>,
    /// IPv4 addresses written recently and their text, at a slot chosen by the address: a capture
    /// repeats a few addresses, and finding one here costs less than writing it out.
    addresses: Vec<Option<(SocketAddrV4, AddressText)>>,
}

/// An IPv4 address and port as text (at most `255.255.255.255:65535`) and its length.
#[derive(Debug, Clone, Copy)]
struct AddressText([u8; 22], usize);

/// Slots in `Writer::addresses` (a power of two).
const ADDRESS_SLOTS: usize = 256;

/// Flush the buffer to the output once it holds this much.
const FLUSH_AT: usize = 64 * 1024;

impl Writer {
    fn new() -> Writer {
        Writer {
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            file_text: String::new(),
            jsonl_start: Vec::new(),
            second: None,
            second_text: Vec::new(),
            addresses: vec![None; ADDRESS_SLOTS],
        }
    }

    fn set_file(&mut self, path: &Path) {
        self.file_text = path.display().to_string();
        self.jsonl_start.clear();
        self.jsonl_start.extend_from_slice(b"{\"file\":");
        json_string(&mut self.jsonl_start, &self.file_text);
        self.jsonl_start.extend_from_slice(b",\"frame\":");
    }

    fn flush_if_full(&mut self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush(out)?;
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// The time as RFC 3339 UTC with microseconds, as `sipaccord_replay::render::rfc3339` writes it.
    fn time(&mut self, t: Duration) {
        let secs = t.as_secs();
        if self.second != Some(secs) {
            let whole = sipaccord_replay::render::rfc3339(Duration::from_secs(secs));
            let date = whole.rsplit_once('.').map_or(whole.as_str(), |(date, _)| date);
            self.second_text.clear();
            self.second_text.extend_from_slice(date.as_bytes());
            self.second_text.push(b'.');
            self.second = Some(secs);
        }
        self.buf.extend_from_slice(&self.second_text);
        // Six digits, two at a time, and the zone.
        let micros = t.subsec_micros() as usize;
        let mut digits = [b'Z'; 7];
        for (i, pair) in [micros / 10_000, micros / 100 % 100, micros % 100].into_iter().enumerate() {
            digits[i * 2..i * 2 + 2].copy_from_slice(&PAIRS[pair * 2..pair * 2 + 2]);
        }
        self.buf.extend_from_slice(&digits);
    }

    /// An address as `Display` writes it (`a.b.c.d:port`, `[v6]:port`).
    fn addr(&mut self, a: SocketAddr) {
        match a {
            SocketAddr::V4(v4) => {
                let hash = (u32::from(*v4.ip()) ^ u32::from(v4.port()).rotate_left(16)).wrapping_mul(0x9e37_79b1);
                let slot = &mut self.addresses[(hash >> 24) as usize % ADDRESS_SLOTS];
                let text = match slot {
                    Some((cached, text)) if *cached == v4 => *text,
                    _ => {
                        let text = ipv4_text(v4);
                        *slot = Some((v4, text));
                        text
                    }
                };
                self.buf.extend_from_slice(&text.0[..text.1]);
            }
            SocketAddr::V6(_) => {
                // Writing to a Vec cannot fail.
                let _ = write!(self.buf, "{a}");
            }
        }
    }

    /// One `--format jsonl` object and its newline; keys in a fixed order, absent ones left out.
    fn jsonl(&mut self, m: &MessageRef<'_>, line: &Line<'_>) {
        self.buf.extend_from_slice(&self.jsonl_start);
        decimal(&mut self.buf, m.frame);
        self.buf.extend_from_slice(b",\"time\":\"");
        self.time(m.timestamp);
        self.buf.extend_from_slice(b"\",\"src\":\"");
        self.addr(m.src);
        self.buf.extend_from_slice(b"\",\"dst\":\"");
        self.addr(m.dst);
        self.buf.extend_from_slice(b"\",\"transport\":\"");
        self.buf.extend_from_slice(m.transport.as_str().as_bytes());
        self.buf.push(b'"');
        if let Some(method) = line.method {
            // A method is a token (the parser accepts no other), so it needs no escaping.
            debug_assert!(is_plain(method.as_bytes()));
            self.buf.extend_from_slice(b",\"method\":\"");
            self.buf.extend_from_slice(method.as_bytes());
            self.buf.push(b'"');
        }
        if let Some(status) = line.status {
            self.buf.extend_from_slice(b",\"status\":");
            decimal(&mut self.buf, u64::from(status));
        }
        if let Some(call_id) = &line.call_id {
            self.buf.extend_from_slice(b",\"call_id\":");
            call_id.json(&mut self.buf);
        }
        if let Some(cseq) = &line.cseq {
            self.buf.extend_from_slice(b",\"cseq\":");
            cseq.json(&mut self.buf);
        }
        let strings = [(&b",\"invalid\":"[..], line.invalid), (b",\"malformed\":", line.malformed)];
        for (key, value) in strings {
            if let Some(value) = value {
                self.buf.extend_from_slice(key);
                json_string(&mut self.buf, value);
            }
        }
        self.buf.extend_from_slice(b"}\n");
    }

    /// One text line: where and when, the first line, then Call-ID and CSeq or why it is not usable.
    fn text(&mut self, m: &MessageRef<'_>, line: &Line<'_>) {
        self.buf.extend_from_slice(self.file_text.as_bytes());
        self.buf.push(b':');
        decimal(&mut self.buf, m.frame);
        self.buf.push(b' ');
        self.time(m.timestamp);
        self.buf.push(b' ');
        self.buf.extend_from_slice(m.transport.as_str().as_bytes());
        self.buf.push(b' ');
        self.addr(m.src);
        self.buf.extend_from_slice(b" -> ");
        self.addr(m.dst);
        self.buf.push(b' ');
        self.buf.extend_from_slice(m.first_line().as_bytes());
        if let Some(reason) = line.malformed {
            self.buf.extend_from_slice(b"\n    malformed: ");
            self.buf.extend_from_slice(reason.as_bytes());
        } else {
            self.buf.extend_from_slice(b"  [Call-ID ");
            self.buf.extend_from_slice(line.call_id.as_ref().map_or(&b"-"[..], Text::as_bytes));
            self.buf.extend_from_slice(b"; CSeq ");
            self.buf.extend_from_slice(line.cseq.as_ref().map_or(&b"-"[..], Text::as_bytes));
            self.buf.push(b']');
            if let Some(reason) = line.invalid {
                self.buf.extend_from_slice(b"\n    invalid: ");
                self.buf.extend_from_slice(reason.as_bytes());
            }
        }
        self.buf.push(b'\n');
    }
}

/// `a.b.c.d:port`, as `Display` writes it, with the digits written by hand.
fn ipv4_text(v4: SocketAddrV4) -> AddressText {
    let mut text = [0u8; 22];
    let mut at = 0;
    for octet in v4.ip().octets() {
        let (digits, len) = OCTETS[usize::from(octet)];
        text[at..at + 4].copy_from_slice(&digits);
        at += len;
    }
    // The fourth octet's dot becomes the colon.
    text[at - 1] = b':';
    let port = v4.port();
    let len = match port {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    };
    let mut n = usize::from(port);
    let mut end = at + len;
    while n >= 100 {
        let pair = n % 100 * 2;
        text[end - 2..end].copy_from_slice(&PAIRS[pair..pair + 2]);
        end -= 2;
        n /= 100;
    }
    if n >= 10 {
        text[end - 2..end].copy_from_slice(&PAIRS[n * 2..n * 2 + 2]);
    } else {
        text[end - 1] = b'0' + n as u8;
    }
    AddressText(text, at + len)
}

/// Each octet in decimal followed by a dot (four bytes, of which the first `len` count).
static OCTETS: [([u8; 4], usize); 256] = {
    let mut table = [([0u8; 4], 0usize); 256];
    let mut n = 0;
    while n < 256 {
        let (mut digits, mut len) = ([0u8; 4], 0);
        if n >= 100 {
            digits[len] = b'0' + (n / 100) as u8;
            len += 1;
        }
        if n >= 10 {
            digits[len] = b'0' + (n / 10 % 10) as u8;
            len += 1;
        }
        digits[len] = b'0' + (n % 10) as u8;
        digits[len + 1] = b'.';
        table[n] = (digits, len + 2);
        n += 1;
    }
    table
};

/// `00` to `99`, two bytes each.
static PAIRS: [u8; 200] = {
    let mut table = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        table[n * 2] = b'0' + (n / 10) as u8;
        table[n * 2 + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    table
};

/// Appends `n` in decimal.
fn decimal(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        digits[at] = b'0' + n as u8;
    }
    buf.extend_from_slice(&digits[at..]);
}

/// Bytes JSON strings escape: `"`, `\` and the control characters.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Appends `s` as a JSON string, escaped as serde_json escapes it: `"` and `\`, the short forms
/// `\b \f \n \r \t`, other control characters as `\u00xx`; everything else as is.
fn json_string(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    let mut rest = s.as_bytes();
    while let Some(at) = rest.iter().position(|&b| NEEDS_ESCAPE[usize::from(b)]) {
        buf.extend_from_slice(&rest[..at]);
        let b = rest[at];
        let short = match b {
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            b'"' | b'\\' => b,
            _ => b'u',
        };
        buf.push(b'\\');
        buf.push(short);
        if short == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            buf.extend_from_slice(&[b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
        }
        rest = &rest[at + 1..];
    }
    buf.extend_from_slice(rest);
    buf.push(b'"');
}

/// Lists the messages of every capture; a capture that cannot be opened makes the exit status 2, a
/// truncated one or a malformed message 1.
pub fn run(args: &MessagesArgs) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::Clean;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut writer = Writer::new();
    let mut totals = Totals::default();
    for path in &args.captures {
        let mut reader = match CaptureReader::open(path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("sipaccord: {e}");
                outcome = outcome.max(Outcome::Unusable);
                continue;
            }
        };
        writer.set_file(path);
        let mut write_error = None;
        let error = reader.for_each_message(|message| {
            let line = Line::new(message);
            if line.is_finding() {
                outcome = outcome.max(Outcome::Findings);
            }
            match args.format {
                Format::Jsonl => writer.jsonl(message, &line),
                Format::Text => writer.text(message, &line),
            }
            match writer.flush_if_full(&mut out) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    write_error = Some(e);
                    ControlFlow::Break(())
                }
            }
        });
        if let Some(e) = write_error {
            return Err(e.into());
        }
        if let Some(e) = error {
            writer.flush(&mut out)?;
            out.flush()?;
            eprintln!("sipaccord: {e}");
            outcome = outcome.max(match e {
                CaptureError::Truncated { .. } | CaptureError::Invalid { .. } => Outcome::Findings,
                CaptureError::Io { .. } | CaptureError::NotACapture { .. } => Outcome::Unusable,
            });
        }
        totals.add(reader.summary());
    }
    if args.format == Format::Text {
        writer.buf.extend_from_slice(totals.render().as_bytes());
    }
    writer.flush(&mut out)?;
    out.flush()?;
    Ok(outcome)
}

/// The summary over every capture read.
#[derive(Debug, Default)]
struct Totals {
    captures: usize,
    summary: Summary,
}

impl Totals {
    fn add(&mut self, s: &Summary) {
        self.captures += 1;
        let t = &mut self.summary;
        t.packets += s.packets;
        t.messages += s.messages;
        t.malformed += s.malformed;
        t.invalid += s.invalid;
        t.flows += s.flows;
        t.skipped_streams.extend(s.skipped_streams.iter().cloned());
        for (reason, n) in &s.unusable {
            *t.unusable.entry(*reason).or_default() += n;
        }
        for (kind, n) in &s.other {
            *t.other.entry(*kind).or_default() += n;
        }
    }

    fn render(&self) -> String {
        let s = &self.summary;
        let mut text = format!(
            "\n{} SIP messages ({} malformed, {} with invalid header values) in {} flows; {} packets in {} capture{}\n",
            s.messages,
            s.malformed,
            s.invalid,
            s.flows,
            s.packets,
            self.captures,
            if self.captures == 1 { "" } else { "s" }
        );
        if s.skipped_streams.is_empty() {
            text.push_str("skipped streams: none\n");
        } else {
            let _ = writeln!(text, "skipped streams: {}", s.skipped_streams.len());
            for k in &s.skipped_streams {
                let _ = writeln!(
                    text,
                    "  TLS {} -> {} from frame {} (encrypted, not inspected)",
                    k.src, k.dst, k.first_frame
                );
            }
        }
        if s.unusable.is_empty() {
            text.push_str("unusable packets: none\n");
        } else {
            let _ = writeln!(text, "unusable packets: {}", s.unusable.values().sum::<u64>());
            for (reason, n) in &s.unusable {
                let _ = writeln!(text, "  {n} {reason}");
            }
        }
        if !s.other.is_empty() {
            let parts: Vec<String> = s.other.iter().map(|(k, n)| format!("{n} {}", other_traffic(*k))).collect();
            let _ = writeln!(text, "other traffic: {}", parts.join(", "));
        }
        text
    }
}

fn other_traffic(kind: OtherTraffic) -> &'static str {
    match kind {
        OtherTraffic::NotIp => "not IP",
        OtherTraffic::OtherIpProtocol => "other IP protocols",
        OtherTraffic::UdpNotSip => "UDP not SIP",
        OtherTraffic::TcpNotSip => "TCP not SIP",
        OtherTraffic::SctpNotSip => "SCTP not SIP",
        OtherTraffic::Encrypted => "encrypted",
    }
}
