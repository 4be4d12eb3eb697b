//! TCP stream reassembly and what runs on top of it: SIP framing (Content-Length, via
//! sipaccord-sip's `frame_stream`), WebSocket frames carrying SIP (RFC 7118), HEPv3 over TCP, and
//! recognition of TLS and other non-SIP streams.
//!
//! Each direction of a connection is reassembled on its own: bytes are delivered once, in sequence
//! order; retransmitted and overlapping bytes are trimmed; segments ahead of the next expected byte
//! wait (bounded by [`crate::Limits::max_stream_buffer`]) until the hole is filled.

use std::net::SocketAddr;
use std::time::Duration;

use memchr::memmem;
use rustc_hash::FxHashMap;
use sipaccord_sip::{find_start_line, frame_stream, looks_like_sip, Framing};

use crate::decode::{be16, Out, Verdict};
use crate::{Layer, OtherTraffic, SkipReason, SkippedStream, Transport, UnusableReason};

const SYN: u8 = 0x02;
const RST: u8 = 0x04;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Not yet recognised.
    Unknown,
    Sip,
    /// HTTP header of a WebSocket upgrade (request or 101 response) to skip, then frames.
    WsHandshake,
    WebSocket,
    Hep,
    Tls,
    NotSip,
}

#[derive(Debug)]
struct Dir {
    next_seq: Option<u32>,
    /// In-order bytes not yet consumed.
    buf: Vec<u8>,
    /// Segments ahead of `next_seq`: (sequence number, bytes).
    ahead: Vec<(u32, Vec<u8>)>,
    ahead_bytes: usize,
    mode: Mode,
    last_used: u64,
    last_frame: u64,
    last_ts: Duration,
    /// A fragmented WebSocket message being collected.
    ws_message: Vec<u8>,
    /// Index of this direction in `Summary::skipped_streams`, once skipped.
    skipped: Option<usize>,
    /// Bytes delivered in order so far.
    delivered: u64,
    /// The SIP message at the start of `buf` was found incomplete (more bytes are needed).
    incomplete: bool,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            next_seq: None,
            buf: Vec::new(),
            ahead: Vec::new(),
            ahead_bytes: 0,
            mode: Mode::Unknown,
            last_used: 0,
            last_frame: 0,
            last_ts: Duration::ZERO,
            ws_message: Vec::new(),
            skipped: None,
            delivered: 0,
            incomplete: false,
        }
    }
}

/// All open TCP directions, keyed by (source, destination).
#[derive(Debug, Default)]
pub(crate) struct Streams {
    dirs: FxHashMap<(SocketAddr, SocketAddr), Dir>,
    clock: u64,
    /// Bytes held by all directions together.
    held: usize,
}

fn seq_delta(seq: u32, next: u32) -> i64 {
    i64::from(seq.wrapping_sub(next) as i32)
}

impl Dir {
    /// Bytes this direction holds.
    fn held(&self) -> usize {
        self.buf.len() + self.ahead_bytes + self.ws_message.len()
    }
}

impl Streams {
    /// One TCP segment; keeps the bytes held by all directions within
    /// [`crate::Limits::max_buffered_bytes`] by evicting the least recently active ones.
    pub fn segment(
        &mut self,
        out: &mut Out<'_>,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        flags: u8,
        payload: &[u8],
    ) -> Verdict {
        self.clock += 1;
        let key = (src, dst);
        // One look-up for a direction already open (nearly every segment).
        let dir = match self.dirs.get_mut(&key) {
            Some(dir) => dir,
            None => {
                if flags & RST != 0 && payload.is_empty() {
                    return Verdict::Other(OtherTraffic::TcpNotSip);
                }
                if self.dirs.len() >= out.limits.max_streams {
                    // Evict in batches (the oldest eighth) so a full table costs O(log n) per new stream.
                    let n = (self.dirs.len() / 8).max(1);
                    self.evict(out, n, None);
                }
                self.dirs.entry(key).or_insert_with(Dir::new)
            }
        };
        let before = dir.held();
        let verdict = dir_segment(out, src, dst, seq, flags, payload, dir, self.clock);
        let after = dir.held();
        self.held = (self.held + after).saturating_sub(before);
        while self.held > out.limits.max_buffered_bytes && self.dirs.len() > 1 {
            let n = (self.dirs.len() / 8).max(1);
            self.evict(out, n, Some(key));
        }
        verdict
    }
}

/// One segment of a direction that exists (`clock` is the segment's count, for eviction order).
#[allow(clippy::too_many_arguments)]
fn dir_segment(
    out: &mut Out<'_>,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    flags: u8,
    payload: &[u8],
    dir: &mut Dir,
    clock: u64,
) -> Verdict {
    dir.last_used = clock;
    if flags & SYN != 0 {
        let isn = seq.wrapping_add(1);
        // A SYN at or just behind the next expected byte is a retransmission; elsewhere it opens a
        // new connection on the same addresses and ports.
        let restart = dir.next_seq.is_some_and(|n| {
            let delta = seq_delta(isn, n);
            delta > 0 || delta < -(out.limits.max_stream_buffer as i64)
        });
        if restart {
            // A new connection on the same ports: report what the old one left incomplete.
            flush_dir(out, src, dst, dir);
            *dir = Dir::new();
            dir.last_used = clock;
        }
        dir.next_seq = Some(isn);
        if payload.is_empty() {
            return Verdict::Other(OtherTraffic::TcpNotSip);
        }
    }
    if payload.is_empty() {
        return if dir.mode == Mode::Tls {
            Verdict::Other(OtherTraffic::Encrypted)
        } else {
            Verdict::Other(OtherTraffic::TcpNotSip)
        };
    }
    let seq = if flags & SYN != 0 { seq.wrapping_add(1) } else { seq };
    let next = *dir.next_seq.get_or_insert(seq);
    let delta = seq_delta(seq, next);
    let limit = out.limits.max_stream_buffer;
    // New in-order bytes of a SIP direction with nothing buffered or waiting (the usual case): its
    // messages are read from the packet itself, and only an incomplete tail is copied to the buffer.
    let mut direct = None;
    if delta <= 0 {
        let overlap = usize::try_from(-delta).unwrap_or(usize::MAX);
        if overlap < payload.len() {
            let fresh = &payload[overlap..];
            if dir.mode == Mode::Sip && dir.buf.is_empty() && dir.ahead.is_empty() {
                advance(dir, fresh.len());
                direct = Some(fresh);
            } else {
                append(dir, fresh);
            }
        }
    } else if delta as usize > limit {
        // Far ahead: the capture missed a lot (or the stream restarted). Start over here.
        out.count_unusable(UnusableReason::StreamGap, 1);
        flush_dir(out, src, dst, dir);
        dir.buf.clear();
        dir.ahead.clear();
        dir.ahead_bytes = 0;
        dir.next_seq = Some(seq);
        append(dir, payload);
    } else {
        dir.ahead.push((seq, payload.to_vec()));
        dir.ahead_bytes += payload.len();
        if dir.ahead_bytes + dir.buf.len() > limit {
            // The hole was never filled: skip to the earliest waiting segment.
            out.count_unusable(UnusableReason::StreamGap, 1);
            flush_dir(out, src, dst, dir);
            dir.buf.clear();
            let earliest = dir.ahead.iter().map(|(s, _)| *s).min_by_key(|&s| seq_delta(s, next));
            dir.next_seq = earliest;
        }
    }
    drain_ahead(dir);
    dir.last_frame = out.frame;
    dir.last_ts = out.ts;
    let verdict = match direct {
        Some(fresh) => {
            let used = sip_messages(out, src, dst, fresh, &mut dir.incomplete);
            dir.buf.extend_from_slice(&fresh[used..]);
            Verdict::Sip
        }
        None => process(out, src, dst, dir),
    };
    if let Some(skipped) = dir.skipped.and_then(|i| out.summary.skipped_streams.get_mut(i)) {
        skipped.packets += 1;
        skipped.bytes = dir.delivered;
    }
    if dir.buf.len() > limit {
        out.count_unusable(UnusableReason::StreamGap, 1);
        dir.buf.clear();
    }
    verdict
}

impl Streams {
    /// Evicts the `n` least recently active directions (never `keep`), reporting the partial
    /// messages they held.
    fn evict(&mut self, out: &mut Out<'_>, n: usize, keep: Option<(SocketAddr, SocketAddr)>) {
        let mut ages: Vec<(u64, (SocketAddr, SocketAddr))> =
            self.dirs.iter().filter(|(k, _)| Some(**k) != keep).map(|(k, d)| (d.last_used, *k)).collect();
        if ages.is_empty() {
            return;
        }
        let n = n.min(ages.len());
        if n < ages.len() {
            ages.select_nth_unstable(n - 1);
        }
        let (frame, ts) = (out.frame, out.ts);
        for (_, key) in ages.into_iter().take(n) {
            if let Some(mut dir) = self.dirs.remove(&key) {
                self.held = self.held.saturating_sub(dir.held());
                out.count_unusable(UnusableReason::StreamEvicted, 1);
                flush_dir(out, key.0, key.1, &mut dir);
            }
        }
        out.frame = frame;
        out.ts = ts;
    }

    /// End of capture: a SIP direction holding part of a message reports it as malformed.
    pub fn finish(&mut self, out: &mut Out<'_>) {
        let mut keys: Vec<_> = self.dirs.iter().map(|(k, d)| (d.last_frame, *k)).collect();
        keys.sort();
        for (_, key) in keys {
            if let Some(mut dir) = self.dirs.remove(&key) {
                // Waiting segments after a hole: deliver them past the hole so complete messages in
                // them are still found.
                while !dir.ahead.is_empty() {
                    let next = dir.next_seq.unwrap_or(0);
                    let earliest = dir.ahead.iter().map(|(s, _)| *s).min_by_key(|&s| seq_delta(s, next));
                    out.count_unusable(UnusableReason::StreamGap, 1);
                    flush_dir(out, key.0, key.1, &mut dir);
                    dir.buf.clear();
                    dir.next_seq = earliest;
                    drain_ahead(&mut dir);
                    out.frame = dir.last_frame;
                    out.ts = dir.last_ts;
                    process(out, key.0, key.1, &mut dir);
                }
                flush_dir(out, key.0, key.1, &mut dir);
            }
        }
    }
}

/// Adds in-order bytes to the buffer.
fn append(dir: &mut Dir, data: &[u8]) {
    dir.buf.extend_from_slice(data);
    advance(dir, data.len());
}

/// Counts `len` in-order bytes as delivered (whether or not they are buffered).
fn advance(dir: &mut Dir, len: usize) {
    dir.delivered += len as u64;
    if let Some(n) = dir.next_seq.as_mut() {
        *n = n.wrapping_add(len as u32);
    }
}

/// Moves waiting segments that now touch the next expected byte into the buffer.
fn drain_ahead(dir: &mut Dir) {
    loop {
        let Some(next) = dir.next_seq else { return };
        let Some(i) = dir.ahead.iter().position(|(s, _)| seq_delta(*s, next) <= 0) else {
            return;
        };
        let (s, data) = dir.ahead.swap_remove(i);
        dir.ahead_bytes -= data.len();
        let overlap = usize::try_from(-seq_delta(s, next)).unwrap_or(usize::MAX);
        if overlap < data.len() {
            append(dir, &data[overlap..]);
        }
    }
}

/// Reports whatever partial SIP message a direction still holds as malformed (it never completed).
fn flush_dir(out: &mut Out<'_>, src: SocketAddr, dst: SocketAddr, dir: &mut Dir) {
    let keepalive = dir.buf.iter().all(|&b| b == b'\r' || b == b'\n');
    if dir.mode == Mode::Sip && !keepalive {
        let (frame, ts) = (out.frame, out.ts);
        out.frame = dir.last_frame;
        out.ts = dir.last_ts;
        let reason = match frame_stream(&dir.buf, &out.limits.sip) {
            Err(e) => e.to_string(),
            Ok(_) => format!("incomplete message: stream ended or was interrupted after {} bytes", dir.buf.len()),
        };
        let buf = std::mem::take(&mut dir.buf);
        out.emit(Transport::Tcp, src, dst, &buf, Some(reason));
        out.frame = frame;
        out.ts = ts;
    }
    dir.buf.clear();
    dir.incomplete = false;
}

fn is_tls_record(d: &[u8]) -> bool {
    d.len() >= 3 && (20..=24).contains(&d[0]) && d[1] == 3 && d[2] <= 4
}

/// Where a run of TLS records starts in bytes picked up mid-stream: a record header whose length
/// leads exactly to the end of the bytes or to another record header.
fn find_tls_records(d: &[u8]) -> Option<usize> {
    (0..d.len().min(16 * 1024)).find(|&i| {
        let r = &d[i..];
        if !is_tls_record(r) || r.len() < 5 {
            return false;
        }
        let next = 5 + usize::from(be16(r, 3));
        next == r.len() || r.get(next..).is_some_and(|n| is_tls_record(n) && n.len() >= 5)
    })
}

const HTTP_STARTS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"PATCH ",
    b"OPTIONS * HTTP",
    b"CONNECT ",
    b"HTTP/1.",
    b"HTTP/2",
];

/// Consumes what the direction's buffer holds according to its mode.
fn process(out: &mut Out<'_>, src: SocketAddr, dst: SocketAddr, dir: &mut Dir) -> Verdict {
    let mut verdict = match dir.mode {
        Mode::Tls => Verdict::Other(OtherTraffic::Encrypted),
        Mode::NotSip => Verdict::Other(OtherTraffic::TcpNotSip),
        _ => Verdict::Sip,
    };
    loop {
        match dir.mode {
            Mode::Tls | Mode::NotSip => {
                dir.buf.clear();
                return verdict;
            }
            Mode::Unknown => {
                let skip = dir.buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
                let rest = &dir.buf[skip..];
                if rest.is_empty() {
                    return Verdict::Other(OtherTraffic::TcpNotSip);
                }
                if is_tls_record(rest) {
                    mark_tls(out, dir, src, dst);
                    verdict = Verdict::Other(OtherTraffic::Encrypted);
                    continue;
                }
                if rest.starts_with(b"HEP3") {
                    dir.mode = Mode::Hep;
                    continue;
                }
                if rest.len() < 16 && !rest.contains(&b'\n') {
                    return Verdict::Other(OtherTraffic::TcpNotSip);
                }
                if looks_like_sip(rest) {
                    dir.mode = Mode::Sip;
                    continue;
                }
                let is_http =
                    HTTP_STARTS.iter().any(|p| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p));
                if is_http {
                    let Some(end) = memmem::find(rest, b"\r\n\r\n") else {
                        if rest.len() > out.limits.sip.max_message_size {
                            dir.mode = Mode::NotSip;
                            continue;
                        }
                        return Verdict::Other(OtherTraffic::TcpNotSip);
                    };
                    let head = rest[..end].to_ascii_lowercase();
                    let upgrade = head
                        .split(|&b| b == b'\n')
                        .any(|l| l.starts_with(b"upgrade:") && memmem::find(l, b"websocket").is_some())
                        && (head.starts_with(b"get ") || head.starts_with(b"http/1.1 101"));
                    dir.mode = if upgrade { Mode::WsHandshake } else { Mode::NotSip };
                    verdict = if upgrade { Verdict::Sip } else { Verdict::Other(OtherTraffic::TcpNotSip) };
                    continue;
                }
                if find_tls_records(rest).is_some() {
                    // Picked up in the middle of a TLS stream (no handshake in the capture).
                    mark_tls(out, dir, src, dst);
                    verdict = Verdict::Other(OtherTraffic::Encrypted);
                    continue;
                }
                if !rest.contains(&b'\n') {
                    if rest.len() > out.limits.sip.max_line_length {
                        dir.mode = Mode::NotSip;
                        continue;
                    }
                    return Verdict::Other(OtherTraffic::TcpNotSip);
                }
                // Picked up mid-stream: skip to the first start line, or keep only the last partial line.
                match find_start_line(rest) {
                    Some(at) => {
                        out.count_unusable(UnusableReason::StreamResync, 1);
                        dir.buf.drain(..skip + at);
                        dir.mode = Mode::Sip;
                    }
                    None => {
                        let last_nl = rest.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                        dir.buf.drain(..skip + last_nl);
                        return Verdict::Other(OtherTraffic::TcpNotSip);
                    }
                }
            }
            Mode::Sip => {
                let used = sip_messages(out, src, dst, &dir.buf, &mut dir.incomplete);
                dir.buf.drain(..used);
                return verdict;
            }
            Mode::WsHandshake => {
                let Some(end) = memmem::find(&dir.buf, b"\r\n\r\n") else {
                    return verdict;
                };
                dir.buf.drain(..end + 4);
                dir.mode = Mode::WebSocket;
            }
            Mode::WebSocket => {
                websocket(out, src, dst, dir);
                return verdict;
            }
            Mode::Hep => {
                while dir.buf.len() >= 6 {
                    if &dir.buf[..4] != b"HEP3" {
                        out.count_unusable(UnusableReason::BadHeader(Layer::Hep), 1);
                        dir.mode = Mode::NotSip;
                        break;
                    }
                    let len = usize::from(be16(&dir.buf, 4));
                    if len < 6 {
                        out.count_unusable(UnusableReason::BadHeader(Layer::Hep), 1);
                        dir.mode = Mode::NotSip;
                        break;
                    }
                    if dir.buf.len() < len {
                        break;
                    }
                    let packet: Vec<u8> = dir.buf.drain(..len).collect();
                    if let Verdict::Unusable(r) = out.hep(&packet) {
                        out.count_unusable(r, 1);
                    }
                }
                return verdict;
            }
        }
    }
}

/// Frames and emits every complete SIP message at the start of `data` (a direction's in-order bytes
/// not yet consumed); returns how many bytes were consumed: messages, keep-alives, bytes skipped to
/// find a start line. The caller drops them once, rather than each message being drained from the
/// front of the buffer. `incomplete` says the message at the start was found incomplete before.
fn sip_messages(out: &mut Out<'_>, src: SocketAddr, dst: SocketAddr, data: &[u8], incomplete: &mut bool) -> usize {
    let mut used = 0;
    loop {
        let buf = &data[used..];
        let skip = buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        if skip == buf.len() {
            return used;
        }
        let rest = &buf[skip..];
        let Some(nl) = memchr::memchr(b'\n', rest) else {
            return used;
        };
        if !sipaccord_sip::is_start_line(&rest[..nl]) {
            // Lost sync (a gap, or garbage between messages): skip to the next start line.
            out.count_unusable(UnusableReason::StreamResync, 1);
            *incomplete = false;
            match find_start_line(rest) {
                Some(at) => used += skip + at,
                None => {
                    let last_nl = rest.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                    return used + skip + last_nl;
                }
            }
            continue;
        }
        // Usually the buffer holds the whole message: its parse says where it ends, and framing it
        // first would read every header line twice. A parse that fails (a partial message, or one
        // that cannot be framed) goes the framing way below, as does a folded header line, where
        // the two could disagree about which line is a Content-Length.
        // Once a parse found the message incomplete, framing alone says when the rest has come.
        let parse = if *incomplete { None } else { out.parse(rest, true).ok() };
        if let Some(message) = parse {
            if !message.has_folded_lines() {
                let len = message.len();
                out.emit_parsed(Transport::Tcp, src, dst, &rest[..len], &message);
                out.recycle(message);
                used += skip + len;
                continue;
            }
            out.recycle(message);
        }
        match frame_stream(buf, &out.limits.sip) {
            Ok(Framing::Complete(len)) => {
                out.emit(Transport::Tcp, src, dst, &buf[..len], None);
                used += len;
                *incomplete = false;
            }
            Ok(Framing::Partial) => {
                *incomplete = true;
                return used;
            }
            Err(e) => {
                // Cannot frame (bad Content-Length, too large): report up to the next start line.
                let first = skip + nl + 1;
                let cut = match find_start_line(&buf[first..]) {
                    Some(at) => first + at,
                    None => buf.len(),
                };
                *incomplete = false;
                out.emit(Transport::Tcp, src, dst, &buf[..cut], Some(e.to_string()));
                used += cut;
            }
        }
    }
}

/// Decodes WebSocket frames; text and binary messages that are SIP are emitted (RFC 7118).
fn websocket(out: &mut Out<'_>, src: SocketAddr, dst: SocketAddr, dir: &mut Dir) {
    loop {
        let b = &dir.buf;
        if b.len() < 2 {
            return;
        }
        let fin = b[0] & 0x80 != 0;
        let opcode = b[0] & 0x0f;
        let masked = b[1] & 0x80 != 0;
        let (len, mut pos) = match b[1] & 0x7f {
            126 => {
                if b.len() < 4 {
                    return;
                }
                (u64::from(be16(b, 2)), 4usize)
            }
            127 => {
                if b.len() < 10 {
                    return;
                }
                let mut a = [0u8; 8];
                a.copy_from_slice(&b[2..10]);
                (u64::from_be_bytes(a), 10usize)
            }
            n => (u64::from(n), 2usize),
        };
        if len > out.limits.max_stream_buffer as u64 {
            out.count_unusable(UnusableReason::BadHeader(Layer::WebSocket), 1);
            dir.mode = Mode::NotSip;
            dir.buf.clear();
            return;
        }
        let len = len as usize;
        let mut key = [0u8; 4];
        if masked {
            if b.len() < pos + 4 {
                return;
            }
            key.copy_from_slice(&b[pos..pos + 4]);
            pos += 4;
        }
        if b.len() < pos + len {
            return;
        }
        let mut payload = b[pos..pos + len].to_vec();
        if masked {
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= key[i % 4];
            }
        }
        dir.buf.drain(..pos + len);
        match opcode {
            0..=2 => {
                if opcode != 0 {
                    dir.ws_message.clear();
                }
                dir.ws_message.extend_from_slice(&payload);
                if fin {
                    let message = std::mem::take(&mut dir.ws_message);
                    if looks_like_sip(&message) {
                        out.emit(Transport::WebSocket, src, dst, &message, None);
                    }
                }
            }
            8 => {
                dir.mode = Mode::NotSip;
                dir.buf.clear();
                return;
            }
            _ => {}
        }
    }
}

/// Marks a direction as TLS and reports it once as a skipped (not inspected) stream.
fn mark_tls(out: &mut Out<'_>, dir: &mut Dir, src: SocketAddr, dst: SocketAddr) {
    dir.mode = Mode::Tls;
    dir.skipped = Some(out.summary.skipped_streams.len());
    let first_frame = out.frame;
    out.summary.skipped_streams.push(SkippedStream {
        reason: SkipReason::Tls,
        src,
        dst,
        first_frame,
        packets: 0,
        bytes: 0,
    });
}
