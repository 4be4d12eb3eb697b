//! Packet decoding: link layers, IP, UDP, SCTP, tunnels and HEPv3. TCP goes to [`crate::stream`].

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::distinct::DistinctKeys;
use crate::frag::{FragKey, Fragments, Reassembly};
use crate::stream::Streams;
use crate::{Layer, Limits, MessageRef, OtherTraffic, Outcome, SipMessage, Summary, Transport, UnusableReason};

/// Tunnels deeper than this are not followed (a guard against crafted loops).
const MAX_DEPTH: u8 = 8;

/// SCTP TSNs remembered per direction to drop retransmitted DATA chunks.
const SCTP_TSN_MEMORY: usize = 256;

/// One record of the capture file.
pub(crate) struct Packet<'a> {
    pub frame: u64,
    pub ts: Duration,
    pub link: u32,
    pub data: &'a [u8],
    pub orig_len: usize,
}

/// What became of a packet; each packet is counted once by its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It carried (part of) SIP.
    Sip,
    /// It is held for reassembly (an IP fragment); counted when the set completes or is dropped.
    Pending,
    Unusable(UnusableReason),
    Other(OtherTraffic),
}

/// The decoder's output side, kept across packets: what was counted, the queue of messages, the
/// context of the packet being decoded.
pub(crate) struct State {
    pub file: Arc<Path>,
    pub limits: Limits,
    pub summary: Summary,
    pub queue: VecDeque<SipMessage>,
    /// Flows between IPv4 addresses (nearly all), packed as two numbers that hash and compare in a
    /// few instructions ([`ipv4_flow`]).
    ipv4_flows: DistinctKeys<(u64, u64)>,
    /// Other flows: transport and the two addresses, the lower first.
    flows: FxHashSet<(Transport, SocketAddr, SocketAddr)>,
    pub frame: u64,
    pub ts: Duration,
    /// The current packet was cut by the snapshot length.
    pub truncated: bool,
    /// Room for the headers of the message being parsed, handed from each parse to the next.
    headers: sipaccord_sip::HeaderBuffer,
}

/// A caller's closure that messages are lent to instead of being queued (see
/// [`crate::CaptureReader::for_each_message`]).
pub(crate) type Lend<'a> = &'a mut dyn FnMut(&MessageRef<'_>);

/// Where messages go while one packet is decoded: the [`State`], and the closure they are lent to,
/// if any (else they are queued as [`SipMessage`]s).
pub(crate) struct Out<'a> {
    state: &'a mut State,
    lend: Option<Lend<'a>>,
}

impl<'a> Out<'a> {
    pub fn new(state: &'a mut State, lend: Option<Lend<'a>>) -> Out<'a> {
        Out { state, lend }
    }
}

/// What the decoder knows of a message's parse when it hands the message on.
enum Parsed<'m, 'a> {
    /// It parsed, with the reader's limits, and was validated: what validation read on its way.
    Yes(&'m sipaccord_sip::Message<'a>, sipaccord_sip::Found),
    /// It was not parsed, or did not parse; `reparse` when a parse with the default limits (what
    /// `SipMessage::parse` does) might still succeed.
    Not { reparse: bool },
}

impl std::ops::Deref for Out<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        self.state
    }
}

impl std::ops::DerefMut for Out<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.state
    }
}

impl State {
    /// Verdict for a header that does not fit: snaplen if the packet was cut, bad header otherwise.
    pub fn short(&self, layer: Layer) -> Verdict {
        if self.truncated {
            Verdict::Unusable(UnusableReason::TruncatedBySnaplen)
        } else {
            Verdict::Unusable(UnusableReason::BadHeader(layer))
        }
    }

    pub fn count_unusable(&mut self, reason: UnusableReason, n: u64) {
        *self.summary.unusable.entry(reason).or_default() += n;
    }

    fn count_verdict(&mut self, v: Verdict) {
        match v {
            Verdict::Sip | Verdict::Pending => {}
            Verdict::Unusable(r) => self.count_unusable(r, 1),
            Verdict::Other(o) => *self.summary.other.entry(o).or_default() += 1,
        }
    }
}

impl Out<'_> {
    /// Parses and validates one message found in the capture (`raw` may start with keep-alive line
    /// endings) and queues it, or lends it to the caller; `problem` marks it malformed without parsing.
    pub fn emit(
        &mut self,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        raw: &[u8],
        problem: Option<String>,
    ) {
        let skip = raw.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        let bytes = &raw[skip..];
        match problem {
            Some(reason) => {
                self.deliver(transport, src, dst, bytes, Outcome::Malformed(reason), Parsed::Not { reparse: true })
            }
            None => match self.parse(bytes, transport.is_stream()) {
                Ok(message) => {
                    self.emit_parsed(transport, src, dst, bytes, &message);
                    self.recycle(message);
                }
                Err(e) => {
                    // Parsing again with the same limits would fail the same way.
                    let reparse = self.state.limits.sip != sipaccord_sip::Limits::default();
                    self.deliver(
                        transport,
                        src,
                        dst,
                        bytes,
                        Outcome::Malformed(e.to_string()),
                        Parsed::Not { reparse },
                    );
                }
            },
        }
    }

    /// Parses a message with the reader's limits (as a stream message, framed by Content-Length, or
    /// as a datagram), in the room the previous message's headers took.
    pub fn parse<'b>(
        &mut self,
        bytes: &'b [u8],
        stream: bool,
    ) -> Result<sipaccord_sip::Message<'b>, sipaccord_sip::ParseError> {
        sipaccord_sip::Message::parse_in(bytes, &self.state.limits.sip, stream, &mut self.state.headers)
    }

    /// Keeps the room a message's headers took for the next [`Out::parse`].
    pub fn recycle(&mut self, message: sipaccord_sip::Message<'_>) {
        message.recycle(&mut self.state.headers);
    }

    /// One message that `message` parsed from the start of `bytes` (keep-alives skipped) with the rules
    /// of its transport and the reader's limits; its input may go on past `bytes` (a stream buffer).
    pub fn emit_parsed(
        &mut self,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        bytes: &[u8],
        message: &sipaccord_sip::Message<'_>,
    ) {
        let (outcome, found) = validate(message);
        self.deliver(transport, src, dst, bytes, outcome, Parsed::Yes(message, found));
    }

    fn deliver(
        &mut self,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        bytes: &[u8],
        outcome: Outcome,
        parsed: Parsed<'_, '_>,
    ) {
        let state = &mut *self.state;
        // WebSocket messages belong to their TCP connection's flow.
        let flow_transport = if transport == Transport::WebSocket { Transport::Tcp } else { transport };
        let new_flow = match (src, dst) {
            (SocketAddr::V4(s), SocketAddr::V4(d)) => state.ipv4_flows.insert(ipv4_flow(flow_transport, s, d)),
            _ if src <= dst => state.flows.insert((flow_transport, src, dst)),
            _ => state.flows.insert((flow_transport, dst, src)),
        };
        if new_flow {
            state.summary.flows += 1;
        }
        state.summary.messages += 1;
        match outcome {
            Outcome::WellFormed => {}
            Outcome::Invalid(_) => state.summary.invalid += 1,
            Outcome::Malformed(_) => state.summary.malformed += 1,
        }
        if let Some(lend) = self.lend.as_mut() {
            // What `SipMessage::parse` gives for a message the reader did not parse (or parsed with
            // other limits than the default): a parse of the bytes with the default limits.
            let reparsed;
            let (parsed, found) = match parsed {
                Parsed::Yes(m, found) => (Some(m), found),
                Parsed::Not { reparse: true } => {
                    reparsed = parse_message(bytes, transport, &sipaccord_sip::Limits::default());
                    (reparsed.as_ref().ok(), sipaccord_sip::Found::default())
                }
                Parsed::Not { reparse: false } => (None, sipaccord_sip::Found::default()),
            };
            lend(&MessageRef {
                file: &state.file,
                frame: state.frame,
                timestamp: state.ts,
                src,
                dst,
                transport,
                bytes,
                outcome: &outcome,
                parsed,
                found,
            });
            return;
        }
        state.queue.push_back(SipMessage {
            file: state.file.clone(),
            frame: state.frame,
            timestamp: state.ts,
            src,
            dst,
            transport,
            // Offsets in the layout are from the start of these bytes, wherever they are kept.
            bytes: Bytes::copy_from_slice(bytes),
            outcome,
            layout: match parsed {
                Parsed::Yes(m, _) => Some(m.layout()),
                Parsed::Not { .. } => None,
            },
        });
    }

    /// A HEPv3 packet (from UDP, or framed from a TCP stream).
    pub fn hep(&mut self, d: &[u8]) -> Verdict {
        if d.len() < 6 || &d[..4] != b"HEP3" {
            return Verdict::Unusable(UnusableReason::BadHeader(Layer::Hep));
        }
        let total = usize::from(be16(d, 4));
        if total < 6 || total > d.len() {
            return self.short(Layer::Hep);
        }
        let mut pos = 6;
        let (mut src_ip, mut dst_ip): (Option<IpAddr>, Option<IpAddr>) = (None, None);
        let (mut sport, mut dport, mut proto) = (0u16, 0u16, 17u8);
        let (mut secs, mut usecs) = (None, 0u32);
        let mut payload: Option<&[u8]> = None;
        let mut kind = 1u8;
        while pos + 6 <= total {
            let vendor = be16(d, pos);
            let ty = be16(d, pos + 2);
            let len = usize::from(be16(d, pos + 4));
            if len < 6 || pos + len > total {
                return Verdict::Unusable(UnusableReason::BadHeader(Layer::Hep));
            }
            let v = &d[pos + 6..pos + len];
            pos += len;
            if vendor != 0 {
                continue;
            }
            match (ty, v.len()) {
                (2, 1) => proto = v[0],
                (3, 4) => src_ip = Some(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))),
                (4, 4) => dst_ip = Some(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))),
                (5, 16) => src_ip = Some(IpAddr::V6(ipv6(v, 0))),
                (6, 16) => dst_ip = Some(IpAddr::V6(ipv6(v, 0))),
                (7, 2) => sport = be16(v, 0),
                (8, 2) => dport = be16(v, 0),
                (9, 4) => secs = Some(be32(v, 0)),
                (10, 4) => usecs = be32(v, 0),
                (11, 1) => kind = v[0],
                (15, _) => payload = Some(v),
                _ => {}
            }
        }
        let (Some(src_ip), Some(dst_ip), Some(payload)) = (src_ip, dst_ip, payload) else {
            return Verdict::Unusable(UnusableReason::BadHeader(Layer::Hep));
        };
        if kind != 1 && !sipaccord_sip::looks_like_sip(payload) {
            return Verdict::Other(OtherTraffic::UdpNotSip);
        }
        let transport = match proto {
            6 => Transport::Tcp,
            132 => Transport::Sctp,
            _ => Transport::Udp,
        };
        let saved = self.ts;
        if let Some(s) = secs {
            self.ts = Duration::from_secs(u64::from(s)) + Duration::from_micros(u64::from(usecs));
        }
        let src = SocketAddr::new(src_ip, sport);
        let dst = SocketAddr::new(dst_ip, dport);
        if transport == Transport::Tcp {
            // A HEP payload captured on TCP may hold one message or several.
            let mut rest = payload;
            while !rest.is_empty() {
                match sipaccord_sip::frame_stream(rest, &self.limits.sip) {
                    Ok(sipaccord_sip::Framing::Complete(n)) if n < rest.len() => {
                        self.emit(transport, src, dst, &rest[..n], None);
                        rest = &rest[n..];
                    }
                    _ => {
                        self.emit(transport, src, dst, rest, None);
                        break;
                    }
                }
            }
        } else {
            self.emit(transport, src, dst, payload, None);
        }
        self.ts = saved;
        Verdict::Sip
    }
}

/// An IPv4 flow as a key: each address and port as a 48-bit number, the lower first (as the
/// addresses order), the transport above the first.
fn ipv4_flow(transport: Transport, a: SocketAddrV4, b: SocketAddrV4) -> (u64, u64) {
    let number = |a: SocketAddrV4| (u64::from(a.ip().to_bits()) << 16) | u64::from(a.port());
    let (low, high) = (number(a).min(number(b)), number(a).max(number(b)));
    (((transport as u64) << 48) | low, high)
}

/// Headers a message must have to be usable (RFC 3261 8.1.1, Max-Forwards aside).
const ESSENTIAL: &[&str] = &["Call-ID", "CSeq", "From", "To", "Via"];

/// Parses a message with the rules of its transport.
fn parse_message<'a>(
    bytes: &'a [u8],
    transport: Transport,
    limits: &sipaccord_sip::Limits,
) -> Result<sipaccord_sip::Message<'a>, sipaccord_sip::ParseError> {
    if transport.is_stream() {
        sipaccord_sip::Message::parse_stream(bytes, limits)
    } else {
        sipaccord_sip::Message::parse_with(bytes, limits)
    }
}

/// The outcome of a message that parsed: invalid at its first grammar error or without a header it
/// cannot do without, else well-formed.
fn validate(message: &sipaccord_sip::Message<'_>) -> (Outcome, sipaccord_sip::Found) {
    let validation = message.validate();
    (outcome_of(&validation), validation.found)
}

fn outcome_of(validation: &sipaccord_sip::Validation) -> Outcome {
    if let Some(e) = validation.errors.first() {
        return Outcome::Invalid(e.to_string());
    }
    // Without these a message cannot be placed in a transaction or dialog; sipaccord-sip
    // reports their absence as a warning, the capture reader as invalid.
    for w in &validation.warnings {
        if let sipaccord_sip::WarningKind::MissingHeader(name) = w.kind {
            if ESSENTIAL.iter().any(|e| e.eq_ignore_ascii_case(name)) {
                return Outcome::Invalid(format!("missing mandatory header {name}"));
            }
        }
    }
    Outcome::WellFormed
}

pub(crate) fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

pub(crate) fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

fn ipv6(d: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&d[at..at + 16]);
    Ipv6Addr::from(a)
}

/// The decoder: per-file state (fragments, streams, SCTP partial messages) and the output queue.
pub(crate) struct Decoder {
    state: State,
    parts: Parts,
}

/// The decoder's reassembly state.
struct Parts {
    frags: Fragments,
    streams: Streams,
    sctp: FxHashMap<(SocketAddr, SocketAddr, u16), (Vec<u8>, u64)>,
    tsns: FxHashMap<(SocketAddr, SocketAddr), VecDeque<u32>>,
    last_expiry: Duration,
}

impl Decoder {
    pub fn new(file: Arc<Path>, limits: Limits) -> Decoder {
        Decoder {
            state: State {
                file,
                limits,
                summary: Summary::default(),
                queue: VecDeque::new(),
                ipv4_flows: DistinctKeys::default(),
                flows: FxHashSet::default(),
                frame: 0,
                ts: Duration::ZERO,
                truncated: false,
                headers: sipaccord_sip::HeaderBuffer::default(),
            },
            parts: Parts {
                frags: Fragments::default(),
                streams: Streams::default(),
                sctp: FxHashMap::default(),
                tsns: FxHashMap::default(),
                last_expiry: Duration::ZERO,
            },
        }
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.state.limits = limits;
    }

    pub fn summary(&self) -> &Summary {
        &self.state.summary
    }

    pub fn pop(&mut self) -> Option<SipMessage> {
        self.state.queue.pop_front()
    }

    /// Decodes one record; its messages are queued, or lent to `lend`.
    pub fn packet<'a>(&'a mut self, p: &Packet<'_>, lend: Option<Lend<'a>>) {
        let mut out = Out::new(&mut self.state, lend);
        self.parts.packet(&mut out, p);
    }

    /// A HEPv3 packet received outside any capture (e.g. by a HEP listener).
    pub fn hep(&mut self, frame: u64, ts: Duration, payload: &[u8]) {
        let mut out = Out::new(&mut self.state, None);
        out.frame = frame;
        out.ts = ts;
        out.truncated = false;
        out.summary.packets += 1;
        let v = out.hep(payload);
        out.count_verdict(v);
    }

    /// End of file: incomplete stream data and fragment sets are reported (queued, or lent to `lend`).
    pub fn finish<'a>(&'a mut self, lend: Option<Lend<'a>>) {
        let mut out = Out::new(&mut self.state, lend);
        self.parts.finish(&mut out);
    }
}

impl Parts {
    fn packet(&mut self, out: &mut Out<'_>, p: &Packet<'_>) {
        out.frame = p.frame;
        out.ts = p.ts;
        out.truncated = p.data.len() < p.orig_len;
        out.summary.packets += 1;
        // Expiry scans every pending set, so it runs at most once per second of capture time.
        if p.ts.saturating_sub(self.last_expiry) >= Duration::from_secs(1) || p.ts < self.last_expiry {
            self.last_expiry = p.ts;
            for dropped in self.frags.expire(p.ts, &out.limits) {
                out.count_unusable(dropped, 1);
            }
        }
        let v = self.link(out, p.link, p.data, 0);
        out.count_verdict(v);
        if self.frags.evicted > 0 {
            let n = std::mem::take(&mut self.frags.evicted);
            out.count_unusable(UnusableReason::FragmentLimit, n);
        }
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        self.streams.finish(out);
        let pending = self.frags.clear();
        if pending > 0 {
            out.count_unusable(UnusableReason::FragmentTimeout, pending);
        }
        let leftovers: Vec<_> = self.sctp.drain().collect();
        for ((src, dst, _), (data, frame)) in leftovers {
            if sipaccord_sip::looks_like_sip(&data) {
                out.frame = frame;
                out.emit(Transport::Sctp, src, dst, &data, Some("SCTP message incomplete at end of capture".into()));
            }
        }
    }

    fn link(&mut self, out: &mut Out<'_>, link: u32, d: &[u8], depth: u8) -> Verdict {
        match link {
            // DLT_NULL: address family in host byte order.
            0 => {
                if d.len() < 4 {
                    return out.short(Layer::Link);
                }
                let le = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                let be = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
                self.family(out, if le < 0x10000 { le } else { be }, &d[4..], depth)
            }
            // DLT_LOOP: address family in network byte order.
            108 => {
                if d.len() < 4 {
                    return out.short(Layer::Link);
                }
                self.family(out, be32(d, 0), &d[4..], depth)
            }
            1 => self.ether(out, d, depth),
            // Raw IP (101, and the historical 12 and 14).
            101 | 12 | 14 => self.ip(out, d, depth),
            228 => self.ipv4(out, d, depth),
            229 => self.ipv6(out, d, depth),
            // Linux cooked capture v1.
            113 => {
                if d.len() < 16 {
                    return out.short(Layer::Link);
                }
                let hatype = be16(d, 2);
                let proto = be16(d, 14);
                if hatype == 778 {
                    // ARPHRD_IPGRE: the payload is a GRE packet.
                    return self.gre(out, &d[16..], depth);
                }
                if proto == 0x0004 || proto == 0x0001 {
                    return Verdict::Other(OtherTraffic::NotIp);
                }
                self.ethertype(out, proto, &d[16..], depth)
            }
            // Linux cooked capture v2.
            276 => {
                if d.len() < 20 {
                    return out.short(Layer::Link);
                }
                self.ethertype(out, be16(d, 0), &d[20..], depth)
            }
            // PPP, PPP in HDLC framing.
            9 | 50 => self.ppp(out, d, depth),
            // PPPoE session frames without Ethernet (DLT_PPP_ETHER).
            51 => self.pppoe(out, d, depth),
            other => Verdict::Unusable(UnusableReason::UnsupportedLinkType(other)),
        }
    }

    fn family(&mut self, out: &mut Out<'_>, family: u32, d: &[u8], depth: u8) -> Verdict {
        match family {
            2 => self.ipv4(out, d, depth),
            24 | 28 | 30 | 10 => self.ipv6(out, d, depth),
            _ => Verdict::Other(OtherTraffic::NotIp),
        }
    }

    fn ether(&mut self, out: &mut Out<'_>, d: &[u8], depth: u8) -> Verdict {
        if d.len() < 14 {
            return out.short(Layer::Link);
        }
        let et = be16(d, 12);
        if et < 0x0600 {
            // 802.3 with LLC; SNAP carries an Ethertype.
            if d.len() >= 22 && d[14] == 0xaa && d[15] == 0xaa {
                return self.ethertype(out, be16(d, 20), &d[22..], depth);
            }
            return Verdict::Other(OtherTraffic::NotIp);
        }
        self.ethertype(out, et, &d[14..], depth)
    }

    fn ethertype(&mut self, out: &mut Out<'_>, et: u16, d: &[u8], depth: u8) -> Verdict {
        match et {
            0x0800 => self.ipv4(out, d, depth),
            0x86dd => self.ipv6(out, d, depth),
            0x8100 | 0x88a8 | 0x9100 | 0x9200 => {
                // Strip stacked tags in a loop: a crafted frame could hold thousands.
                let mut d = d;
                loop {
                    if d.len() < 4 {
                        return out.short(Layer::Vlan);
                    }
                    let inner = be16(d, 2);
                    d = &d[4..];
                    if !matches!(inner, 0x8100 | 0x88a8 | 0x9100 | 0x9200) {
                        return self.ethertype(out, inner, d, depth);
                    }
                }
            }
            0x8847 | 0x8848 => {
                let mut pos = 0;
                loop {
                    if d.len() < pos + 4 {
                        return out.short(Layer::Mpls);
                    }
                    let bottom = d[pos + 2] & 1 == 1;
                    pos += 4;
                    if bottom {
                        break;
                    }
                }
                self.ip(out, &d[pos..], depth)
            }
            0x8864 => self.pppoe(out, d, depth),
            0x880b => self.ppp(out, d, depth),
            0x6558 => self.nested(out, depth, |s, out, depth| s.ether(out, d, depth)),
            _ => Verdict::Other(OtherTraffic::NotIp),
        }
    }

    fn pppoe(&mut self, out: &mut Out<'_>, d: &[u8], depth: u8) -> Verdict {
        if d.len() < 8 {
            return out.short(Layer::Pppoe);
        }
        let len = usize::from(be16(d, 4));
        let end = (6 + len).min(d.len());
        if len < 2 {
            return Verdict::Unusable(UnusableReason::BadHeader(Layer::Pppoe));
        }
        self.ppp_protocol(out, be16(d, 6), &d[8..end], depth)
    }

    fn ppp(&mut self, out: &mut Out<'_>, d: &[u8], depth: u8) -> Verdict {
        let d = if d.len() >= 2 && d[0] == 0xff && d[1] == 0x03 { &d[2..] } else { d };
        if d.is_empty() {
            return out.short(Layer::Ppp);
        }
        // Protocol-field compression: an odd first byte is a one-byte protocol.
        if d[0] & 1 == 1 {
            self.ppp_protocol(out, u16::from(d[0]), &d[1..], depth)
        } else if d.len() < 2 {
            out.short(Layer::Ppp)
        } else {
            self.ppp_protocol(out, be16(d, 0), &d[2..], depth)
        }
    }

    fn ppp_protocol(&mut self, out: &mut Out<'_>, proto: u16, d: &[u8], depth: u8) -> Verdict {
        match proto {
            0x0021 => self.ipv4(out, d, depth),
            0x0057 => self.ipv6(out, d, depth),
            _ => Verdict::Other(OtherTraffic::NotIp),
        }
    }

    fn nested(
        &mut self,
        out: &mut Out<'_>,
        depth: u8,
        f: impl FnOnce(&mut Self, &mut Out<'_>, u8) -> Verdict,
    ) -> Verdict {
        if depth >= MAX_DEPTH {
            Verdict::Unusable(UnusableReason::TooDeep)
        } else {
            f(self, out, depth + 1)
        }
    }

    fn ip(&mut self, out: &mut Out<'_>, d: &[u8], depth: u8) -> Verdict {
        match d.first().map(|b| b >> 4) {
            Some(4) => self.ipv4(out, d, depth),
            Some(6) => self.ipv6(out, d, depth),
            Some(_) => Verdict::Unusable(UnusableReason::BadHeader(Layer::Ipv4)),
            None => out.short(Layer::Ipv4),
        }
    }

    fn ipv4(&mut self, out: &mut Out<'_>, d: &[u8], depth: u8) -> Verdict {
        if d.len() < 20 {
            return out.short(Layer::Ipv4);
        }
        let ihl = usize::from(d[0] & 0x0f) * 4;
        if d[0] >> 4 != 4 || ihl < 20 {
            return Verdict::Unusable(UnusableReason::BadHeader(Layer::Ipv4));
        }
        let mut total = usize::from(be16(d, 2));
        if total == 0 {
            // TCP segmentation offload: the length is left for the NIC to fill in.
            total = d.len();
        }
        if d.len() < ihl {
            return out.short(Layer::Ipv4);
        }
        if d.len() < total && out.truncated {
            return Verdict::Unusable(UnusableReason::TruncatedBySnaplen);
        }
        // A total length below the header or beyond the frame is wrong; like Wireshark, decode
        // what the frame holds rather than lose a message to one bad field.
        let d = if total < ihl || total > d.len() { d } else { &d[..total] };
        let src = IpAddr::V4(Ipv4Addr::new(d[12], d[13], d[14], d[15]));
        let dst = IpAddr::V4(Ipv4Addr::new(d[16], d[17], d[18], d[19]));
        let proto = d[9];
        let flags = be16(d, 6);
        let more = flags & 0x2000 != 0;
        let offset = usize::from(flags & 0x1fff) * 8;
        let payload = &d[ihl..];
        if more || offset > 0 {
            let key = FragKey { src, dst, id: u32::from(be16(d, 4)), proto };
            return match self.frags.add(key, offset, more, payload, out.ts, &out.limits) {
                Reassembly::Pending => Verdict::Pending,
                Reassembly::Dropped(reason) => Verdict::Unusable(reason),
                Reassembly::Complete(whole) => self.l4(out, proto, src, dst, &whole, depth),
            };
        }
        self.l4(out, proto, src, dst, payload, depth)
    }

    fn ipv6(&mut self, out: &mut Out<'_>, d: &[u8], depth: u8) -> Verdict {
        if d.len() < 40 {
            return out.short(Layer::Ipv6);
        }
        if d[0] >> 4 != 6 {
            return Verdict::Unusable(UnusableReason::BadHeader(Layer::Ipv6));
        }
        let plen = usize::from(be16(d, 4));
        let end = if plen == 0 { d.len() } else { 40 + plen };
        if d.len() < end {
            return out.short(Layer::Ipv6);
        }
        let src = IpAddr::V6(ipv6(d, 8));
        let dst = IpAddr::V6(ipv6(d, 24));
        self.ipv6_chain(out, d[6], src, dst, &d[40..end], depth)
    }

    fn ipv6_chain(
        &mut self,
        out: &mut Out<'_>,
        mut next: u8,
        src: IpAddr,
        dst: IpAddr,
        mut d: &[u8],
        depth: u8,
    ) -> Verdict {
        loop {
            match next {
                // Hop-by-hop, routing, destination options, mobility, HIP, shim6.
                0 | 43 | 60 | 135 | 139 | 140 => {
                    if d.len() < 2 {
                        return out.short(Layer::Ipv6);
                    }
                    let len = (usize::from(d[1]) + 1) * 8;
                    if d.len() < len {
                        return out.short(Layer::Ipv6);
                    }
                    next = d[0];
                    d = &d[len..];
                }
                // Authentication header.
                51 => {
                    if d.len() < 2 {
                        return out.short(Layer::Ipv6);
                    }
                    let len = (usize::from(d[1]) + 2) * 4;
                    if d.len() < len {
                        return out.short(Layer::Ipv6);
                    }
                    next = d[0];
                    d = &d[len..];
                }
                44 => {
                    if d.len() < 8 {
                        return out.short(Layer::Ipv6);
                    }
                    let inner = d[0];
                    let word = be16(d, 2);
                    let offset = usize::from(word & 0xfff8);
                    let more = word & 1 == 1;
                    let payload = &d[8..];
                    if offset == 0 && !more {
                        next = inner;
                        d = payload;
                        continue;
                    }
                    let key = FragKey { src, dst, id: be32(d, 4), proto: 0 };
                    return match self.frags.add(key, offset, more, payload, out.ts, &out.limits) {
                        Reassembly::Pending => Verdict::Pending,
                        Reassembly::Dropped(reason) => Verdict::Unusable(reason),
                        Reassembly::Complete(whole) => self.ipv6_chain(out, inner, src, dst, &whole, depth),
                    };
                }
                59 => return Verdict::Other(OtherTraffic::OtherIpProtocol),
                _ => return self.l4(out, next, src, dst, d, depth),
            }
        }
    }

    fn l4(&mut self, out: &mut Out<'_>, proto: u8, src: IpAddr, dst: IpAddr, d: &[u8], depth: u8) -> Verdict {
        match proto {
            17 => self.udp(out, src, dst, d, depth),
            6 => self.tcp(out, src, dst, d),
            132 => self.sctp(out, src, dst, d),
            4 => self.nested(out, depth, |s, out, depth| s.ipv4(out, d, depth)),
            41 => self.nested(out, depth, |s, out, depth| s.ipv6(out, d, depth)),
            47 => self.nested(out, depth, |s, out, depth| s.gre(out, d, depth)),
            _ => Verdict::Other(OtherTraffic::OtherIpProtocol),
        }
    }

    fn udp(&mut self, out: &mut Out<'_>, src: IpAddr, dst: IpAddr, d: &[u8], depth: u8) -> Verdict {
        if d.len() < 8 {
            return out.short(Layer::Udp);
        }
        let sport = be16(d, 0);
        let dport = be16(d, 2);
        let len = usize::from(be16(d, 4));
        if d.len() < len && out.truncated {
            return Verdict::Unusable(UnusableReason::TruncatedBySnaplen);
        }
        // As for IPv4: a length field that cannot be right is ignored in favour of the frame.
        let end = if len < 8 || len > d.len() { d.len() } else { len };
        let payload = &d[8..end];
        if payload.starts_with(b"HEP3") {
            return out.hep(payload);
        }
        if (sport == 2152 || dport == 2152) && payload.len() >= 8 && payload[0] >> 5 == 1 && payload[0] & 0x10 != 0 {
            return self.nested(out, depth, |s, out, depth| s.gtpu(out, payload, depth));
        }
        if (dport == 4789 || dport == 8472) && payload.len() >= 8 && payload[0] & 0x08 != 0 {
            return self.nested(out, depth, |s, out, depth| s.ether(out, &payload[8..], depth));
        }
        let src = SocketAddr::new(src, sport);
        let dst = SocketAddr::new(dst, dport);
        if sipaccord_sip::looks_like_sip(payload) {
            out.emit(Transport::Udp, src, dst, payload, None);
            return Verdict::Sip;
        }
        if looks_like_broken_sip(payload) {
            // A start line mangled beyond `is_start_line` (bare CR line ends, stray bytes): still
            // SIP, reported with the parser's reason.
            out.emit(Transport::Udp, src, dst, payload, None);
            return Verdict::Sip;
        }
        if let Some(at) = sipaccord_sip::find_start_line(payload) {
            // Bytes before the start line: the datagram is SIP, but not a well-formed message.
            if at > 0 && looks_textual(&payload[..at]) {
                let reason = format!("{at} bytes before the start line");
                out.emit(Transport::Udp, src, dst, payload, Some(reason));
                return Verdict::Sip;
            }
        }
        Verdict::Other(OtherTraffic::UdpNotSip)
    }

    fn tcp(&mut self, out: &mut Out<'_>, src: IpAddr, dst: IpAddr, d: &[u8]) -> Verdict {
        if d.len() < 20 {
            return out.short(Layer::Tcp);
        }
        let off = usize::from(d[12] >> 4) * 4;
        if off < 20 {
            return Verdict::Unusable(UnusableReason::BadHeader(Layer::Tcp));
        }
        if d.len() < off {
            return out.short(Layer::Tcp);
        }
        let src = SocketAddr::new(src, be16(d, 0));
        let dst = SocketAddr::new(dst, be16(d, 2));
        let seq = be32(d, 4);
        let flags = d[13];
        self.streams.segment(out, src, dst, seq, flags, &d[off..])
    }

    fn sctp(&mut self, out: &mut Out<'_>, src: IpAddr, dst: IpAddr, d: &[u8]) -> Verdict {
        if d.len() < 12 {
            return out.short(Layer::Sctp);
        }
        let src = SocketAddr::new(src, be16(d, 0));
        let dst = SocketAddr::new(dst, be16(d, 2));
        let mut pos = 12;
        let mut verdict = Verdict::Other(OtherTraffic::SctpNotSip);
        while pos + 4 <= d.len() {
            let ty = d[pos];
            let flags = d[pos + 1];
            let len = usize::from(be16(d, pos + 2));
            if len < 4 {
                return Verdict::Unusable(UnusableReason::BadHeader(Layer::Sctp));
            }
            if pos + len > d.len() {
                return out.short(Layer::Sctp);
            }
            // DATA (RFC 9260) and I-DATA (RFC 8260, four bytes more of header).
            let header = if ty == 64 { 20 } else { 16 };
            if (ty == 0 || ty == 64) && len >= header {
                let tsn = be32(d, pos + 4);
                if self.seen_tsn(out.limits.max_streams, src, dst, tsn) {
                    // A retransmitted DATA chunk: its message was already delivered.
                    verdict = Verdict::Sip;
                    pos += (len + 3) & !3;
                    continue;
                }
                let stream = be16(d, pos + 8);
                let data = &d[pos + header..pos + len];
                let begin = flags & 0x02 != 0;
                let end = flags & 0x01 != 0;
                let key = (src, dst, stream);
                let whole: Option<Vec<u8>> = match (begin, end) {
                    (true, true) => Some(data.to_vec()),
                    (true, false) => {
                        if self.sctp.len() >= out.limits.max_streams {
                            // Bound the partial messages kept: drop them all (counted once each).
                            let n = self.sctp.len() as u64;
                            self.sctp.clear();
                            out.count_unusable(UnusableReason::StreamEvicted, n);
                        }
                        self.sctp.insert(key, (data.to_vec(), out.frame));
                        None
                    }
                    (false, _) => match self.sctp.get_mut(&key) {
                        Some((buf, frame)) => {
                            buf.extend_from_slice(data);
                            *frame = out.frame;
                            if buf.len() > out.limits.sip.max_message_size {
                                // Larger than any message accepted: drop it rather than grow.
                                self.sctp.remove(&key);
                                out.count_unusable(UnusableReason::StreamGap, 1);
                                None
                            } else if end {
                                self.sctp.remove(&key).map(|(b, _)| b)
                            } else {
                                None
                            }
                        }
                        None => None,
                    },
                };
                if let Some(whole) = whole {
                    if whole.starts_with(b"HEP3") {
                        match out.hep(&whole) {
                            Verdict::Unusable(r) => out.count_unusable(r, 1),
                            _ => verdict = Verdict::Sip,
                        }
                    } else if sipaccord_sip::looks_like_sip(&whole) {
                        out.emit(Transport::Sctp, src, dst, &whole, None);
                        verdict = Verdict::Sip;
                    }
                } else if !(begin && end) && sipaccord_sip::looks_like_sip(data) {
                    verdict = Verdict::Sip;
                }
            }
            pos += (len + 3) & !3;
        }
        verdict
    }

    /// Whether this DATA chunk's TSN was seen recently on this association direction (remembers
    /// the last [`SCTP_TSN_MEMORY`] TSNs of each of at most [`Limits::max_streams`] directions).
    fn seen_tsn(&mut self, max_streams: usize, src: SocketAddr, dst: SocketAddr, tsn: u32) -> bool {
        if !self.tsns.contains_key(&(src, dst)) && self.tsns.len() >= max_streams {
            self.tsns.clear();
        }
        let recent = self.tsns.entry((src, dst)).or_default();
        if recent.contains(&tsn) {
            return true;
        }
        if recent.len() >= SCTP_TSN_MEMORY {
            recent.pop_front();
        }
        recent.push_back(tsn);
        false
    }

    fn gre(&mut self, out: &mut Out<'_>, d: &[u8], depth: u8) -> Verdict {
        if d.len() < 4 {
            return out.short(Layer::Gre);
        }
        let flags = be16(d, 0);
        let proto = be16(d, 2);
        let version = flags & 7;
        let mut pos = 4;
        match version {
            0 => {
                if flags & 0xc000 != 0 {
                    pos += 4;
                }
                if flags & 0x2000 != 0 {
                    pos += 4;
                }
                if flags & 0x1000 != 0 {
                    pos += 4;
                }
            }
            1 => {
                pos += 4;
                if flags & 0x1000 != 0 {
                    pos += 4;
                }
                if flags & 0x0080 != 0 {
                    pos += 4;
                }
            }
            _ => return Verdict::Unusable(UnusableReason::BadHeader(Layer::Gre)),
        }
        if d.len() < pos {
            return out.short(Layer::Gre);
        }
        let d = &d[pos..];
        match proto {
            0x88be => {
                // ERSPAN type II has an 8-byte header when the GRE sequence bit is set; type I has none.
                if flags & 0x1000 != 0 {
                    if d.len() < 8 {
                        return out.short(Layer::Erspan);
                    }
                    self.ether(out, &d[8..], depth)
                } else {
                    self.ether(out, d, depth)
                }
            }
            0x22eb => {
                if d.len() < 12 {
                    return out.short(Layer::Erspan);
                }
                let skip = if d[11] & 1 == 1 { 20 } else { 12 };
                if d.len() < skip {
                    return out.short(Layer::Erspan);
                }
                self.ether(out, &d[skip..], depth)
            }
            _ => self.ethertype(out, proto, d, depth),
        }
    }

    fn gtpu(&mut self, out: &mut Out<'_>, d: &[u8], depth: u8) -> Verdict {
        let ty = d[1];
        let len = usize::from(be16(d, 2));
        let end = (8 + len).min(d.len());
        let mut pos = 8;
        if d[0] & 0x07 != 0 {
            if d.len() < 12 {
                return out.short(Layer::GtpU);
            }
            let mut next = d[11];
            pos = 12;
            while next != 0 {
                let Some(&words) = d.get(pos) else {
                    return out.short(Layer::GtpU);
                };
                let l = usize::from(words) * 4;
                if l == 0 || d.len() < pos + l {
                    return Verdict::Unusable(UnusableReason::BadHeader(Layer::GtpU));
                }
                next = d[pos + l - 1];
                pos += l;
            }
        }
        if ty != 0xff {
            return Verdict::Other(OtherTraffic::UdpNotSip);
        }
        if pos > end {
            return Verdict::Unusable(UnusableReason::BadHeader(Layer::GtpU));
        }
        self.ip(out, &d[pos..end], depth)
    }
}

/// Whether bytes are printable text (junk before a start line in a datagram that is still SIP).
fn looks_textual(d: &[u8]) -> bool {
    d.iter().all(|&b| b == b'\r' || b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b))
}

/// A datagram that starts like a SIP request or response but whose first line `is_start_line`
/// rejects: an upper-case token (or `SIP/`) at the start and `SIP/2.0` within the first 256 bytes.
fn looks_like_broken_sip(d: &[u8]) -> bool {
    let head = &d[..d.len().min(256)];
    let token = head.iter().take_while(|b| b.is_ascii_uppercase()).count();
    (token >= 3 || head.starts_with(b"SIP/"))
        && memchr::memmem::find(head, b"SIP/2.0").is_some()
        && looks_textual(&head[..token])
}
