//! Reads pcap and pcapng captures and yields the SIP messages they carry.
//!
//! The entry point is [`CaptureReader::open`]; the reader is an [`Iterator`] of
//! [`Result<SipMessage, CaptureError>`].
//! After the last item, [`CaptureReader::summary`] says what was seen: messages, flows, encrypted
//! streams that were skipped, and every packet that could not be used, counted by reason.
//!
//! ```no_run
//! use sipaccord_capture::CaptureReader;
//!
//! let mut reader = CaptureReader::open("call.pcap")?;
//! for item in &mut reader {
//!     let message = item?;
//!     println!("{} {} -> {} {:?}", message.frame, message.src, message.dst, message.first_line());
//! }
//! println!("{:?}", reader.summary());
//! # Ok::<(), sipaccord_capture::CaptureError>(())
//! ```
//!
//! Decoding covers Ethernet (802.1Q, QinQ, MPLS, PPPoE), Linux cooked SLL and SLL2, NULL/loopback,
//! raw IP, PPP; IPv4 and IPv6 with fragment reassembly and IPv6 extension headers; UDP, TCP with
//! stream reassembly, SCTP DATA chunks, WebSocket (RFC 7118); tunnels IP-in-IP, GRE (with
//! transparent Ethernet bridging, ERSPAN and PPP), GTP-U and HEPv3.
//! SIP is recognised by content on any port; TLS streams are counted and reported, not inspected.
//!
//! Memory is bounded by [`Limits`]: open TCP directions, bytes buffered per direction and in total
//! (256 MiB by default), pending IP fragment sets and their size (about 70 MiB at most by default).
//! The oldest state is evicted first when a limit is reached; the eviction is counted in
//! [`Summary::unusable`] and a partial SIP message it held is yielded as malformed.
//! Besides these, the reader keeps a read buffer (256 KiB for pcap, grown to the largest record if
//! one is larger; pcap-file's 8 MB for pcapng), one small entry per SCTP
//! direction (recent TSNs) and one per distinct SIP flow (for [`Summary::flows`]).
//! IP fragment sets expire after [`Limits::fragment_timeout`] of capture time.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod decode;
mod distinct;
mod frag;
mod reader;
mod records;
mod stream;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use distinct::DistinctKeys;
pub use reader::CaptureReader;

/// The decoder behind [`CaptureReader`], for packets that do not come from a file: a live capture,
/// a recording being written, or HEPv3 packets received by a listener.
///
/// Push packets in capture order; pop the messages they complete; call
/// [`PacketDecoder::finish`] at the end so partial messages and fragments are reported.
/// Memory is bounded by the same [`Limits`] as the file reader.
pub struct PacketDecoder {
    inner: decode::Decoder,
    frame: u64,
}

impl fmt::Debug for PacketDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketDecoder").field("frame", &self.frame).finish()
    }
}

impl PacketDecoder {
    /// A decoder whose messages name `source` as their file.
    pub fn new(source: impl AsRef<Path>, limits: Limits) -> PacketDecoder {
        PacketDecoder { inner: decode::Decoder::new(Arc::from(source.as_ref()), limits), frame: 0 }
    }

    /// Decodes one link-layer frame of pcap link type `link_type` (1 Ethernet, 101 raw IP, 113 SLL,
    /// ...); `original_len` is its length on the wire (more than `data.len()` if it was cut).
    /// Returns the frame number it was given (1-based, counting every call).
    pub fn push_frame(&mut self, link_type: u32, timestamp: Duration, data: &[u8], original_len: usize) -> u64 {
        self.frame += 1;
        let packet = decode::Packet { frame: self.frame, ts: timestamp, link: link_type, data, orig_len: original_len };
        self.inner.packet(&packet, None);
        self.frame
    }

    /// Decodes one HEPv3 packet (the UDP or TCP payload a HEP listener received); the message
    /// takes its addresses, transport and timestamp from the HEP chunks.
    pub fn push_hep(&mut self, timestamp: Duration, payload: &[u8]) -> u64 {
        self.frame += 1;
        self.inner.hep(self.frame, timestamp, payload);
        self.frame
    }

    /// The next completed message, if any.
    pub fn pop(&mut self) -> Option<SipMessage> {
        self.inner.pop()
    }

    /// Reports what is left incomplete (stream tails as malformed messages, pending fragments as
    /// unusable); pop the remaining messages afterwards.
    pub fn finish(&mut self) {
        self.inner.finish(None);
    }

    /// What has been seen so far.
    pub fn summary(&self) -> &Summary {
        self.inner.summary()
    }
}

/// A SIP message found in a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage {
    /// The capture file it came from (as given to [`CaptureReader::open`]).
    pub file: Arc<Path>,
    /// 1-based number of the packet that completed the message (as Wireshark numbers frames).
    pub frame: u64,
    /// Capture timestamp of that packet, since the Unix epoch.
    pub timestamp: Duration,
    /// Source address and port (of the innermost carrier: HEP and tunnels are unwrapped).
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// The transport that carried it.
    pub transport: Transport,
    /// The message bytes (leading keep-alive line endings removed), ready for
    /// [`sipaccord_sip::Message::parse`].
    pub bytes: Bytes,
    /// Whether sipaccord-sip accepted the message.
    pub outcome: Outcome,
    /// Where the parts of the message lie, from the parse the reader made to set `outcome`; `None`
    /// when it did not parse (or for a message built by hand). [`SipMessage::parse`] rebuilds the
    /// message from it instead of parsing again.
    pub layout: Option<sipaccord_sip::Layout>,
}

impl SipMessage {
    /// The first line as written, without its line ending (lossy UTF-8).
    pub fn first_line(&self) -> String {
        let end = memchr::memchr(b'\n', &self.bytes).unwrap_or(self.bytes.len());
        let line = &self.bytes[..end];
        String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line)).into_owned()
    }

    /// Parses the bytes with the rules of the transport (datagram or stream framing), or rather
    /// rebuilds the message from [`SipMessage::layout`] when the reader already parsed it.
    pub fn parse(&self) -> Result<sipaccord_sip::Message<'_>, sipaccord_sip::ParseError> {
        if let Some(message) = self.layout.as_ref().and_then(|l| sipaccord_sip::Message::from_layout(&self.bytes, l)) {
            return Ok(message);
        }
        if self.transport.is_stream() {
            sipaccord_sip::Message::parse_stream(&self.bytes, &sipaccord_sip::Limits::default())
        } else {
            sipaccord_sip::Message::parse(&self.bytes)
        }
    }

    /// This message lent as [`CaptureReader::for_each_message`] lends one, with `parsed` (normally
    /// what [`SipMessage::parse`] gave).
    pub fn lend<'a>(&'a self, parsed: Option<&'a sipaccord_sip::Message<'a>>) -> MessageRef<'a> {
        MessageRef {
            file: &self.file,
            frame: self.frame,
            timestamp: self.timestamp,
            src: self.src,
            dst: self.dst,
            transport: self.transport,
            bytes: &self.bytes,
            outcome: &self.outcome,
            parsed,
            found: sipaccord_sip::Found::default(),
        }
    }

    /// Whether the message parsed and validated without errors.
    pub fn is_well_formed(&self) -> bool {
        matches!(self.outcome, Outcome::WellFormed)
    }

    /// Whether the message parsed (well-formed, or [`Outcome::Invalid`] header values).
    pub fn is_parsed(&self) -> bool {
        !matches!(self.outcome, Outcome::Malformed(_))
    }
}

/// A message found in a capture, lent to the closure given to [`CaptureReader::for_each_message`]
/// while the reader still holds its bytes and the message it parsed from them: the same message the
/// iterator would yield as a [`SipMessage`], without copying the bytes or keeping a layout.
#[derive(Debug, Clone, Copy)]
pub struct MessageRef<'a> {
    /// The capture file it came from (as given to [`CaptureReader::open`]).
    pub file: &'a Path,
    /// 1-based number of the packet that completed the message.
    pub frame: u64,
    /// Capture timestamp of that packet, since the Unix epoch.
    pub timestamp: Duration,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// The transport that carried it.
    pub transport: Transport,
    /// The message bytes (leading keep-alive line endings removed), as [`SipMessage::bytes`].
    pub bytes: &'a [u8],
    /// Whether sipaccord-sip accepted the message.
    pub outcome: &'a Outcome,
    /// The message parsed from the start of `bytes`, as [`SipMessage::parse`] would give it; `None`
    /// when it does not parse. For a stream its [`sipaccord_sip::Message::input`] may go on past
    /// `bytes` (the rest of the stream buffer); [`sipaccord_sip::Message::len`] says where it ends.
    pub parsed: Option<&'a sipaccord_sip::Message<'a>>,
    /// What the reader's validation of `parsed` read on its way (Call-ID, From and To tags), so a
    /// caller need not read them again; empty when the reader did not validate this parse.
    pub found: sipaccord_sip::Found,
}

impl MessageRef<'_> {
    /// An owned copy, for a caller that keeps the message beyond the closure (`file` is this
    /// message's file, shared); it has no layout, so its [`SipMessage::parse`] parses again.
    pub fn to_owned_message(&self, file: Arc<Path>) -> SipMessage {
        SipMessage {
            file,
            frame: self.frame,
            timestamp: self.timestamp,
            src: self.src,
            dst: self.dst,
            transport: self.transport,
            bytes: bytes::Bytes::copy_from_slice(self.bytes),
            outcome: self.outcome.clone(),
            layout: None,
        }
    }

    /// The first line as written, without its line ending (lossy UTF-8), as
    /// [`SipMessage::first_line`].
    pub fn first_line(&self) -> std::borrow::Cow<'_, str> {
        let end = memchr::memchr(b'\n', self.bytes).unwrap_or(self.bytes.len());
        let line = &self.bytes[..end];
        String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

/// What sipaccord-sip said about a message found in a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It parsed and validated without errors (warnings are allowed).
    WellFormed,
    /// It parsed (start line, headers and body are usable) but a header value breaks its grammar,
    /// e.g. an unbracketed IPv6 address in a URI; the reason names the first error and where it is.
    Invalid(String),
    /// It looked like SIP but could not be parsed as a message; the reason says why and where.
    Malformed(String),
}

/// The transport a SIP message arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// UDP datagram.
    Udp,
    /// TCP stream.
    Tcp,
    /// SCTP DATA chunk(s).
    Sctp,
    /// WebSocket message over TCP (RFC 7118).
    WebSocket,
}

impl Transport {
    /// Whether Content-Length frames messages on this transport.
    pub fn is_stream(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// Lowercase name: `udp`, `tcp`, `sctp`, `ws`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Sctp => "sctp",
            Transport::WebSocket => "ws",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a packet (or part of one) could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnusableReason {
    /// The packet was cut by the capture's snapshot length before the data needed.
    TruncatedBySnaplen,
    /// A header of this layer is invalid or shorter than its own length fields say.
    BadHeader(Layer),
    /// The link type of the file or interface is not decoded.
    UnsupportedLinkType(u32),
    /// An IP fragment set was dropped: it never completed within [`Limits::fragment_timeout`].
    FragmentTimeout,
    /// An IP fragment set was dropped to respect [`Limits::max_fragment_sets`] or
    /// [`Limits::max_fragment_bytes`], or its fragments were inconsistent.
    FragmentLimit,
    /// TCP data was dropped because a direction buffered more than [`Limits::max_stream_buffer`],
    /// or a gap in the sequence space was never filled.
    StreamGap,
    /// A TCP direction was evicted to respect [`Limits::max_streams`].
    StreamEvicted,
    /// TCP bytes skipped to find a SIP start line: the capture started mid-message, a gap cut a
    /// message, or bytes between messages were not SIP (e.g. a body without Content-Length).
    StreamResync,
    /// Tunnels nested deeper than the decoder follows.
    TooDeep,
}

/// The protocol layer named in [`UnusableReason::BadHeader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// The link-layer header (Ethernet, SLL, SLL2, NULL/loopback).
    Link,
    /// An 802.1Q or 802.1ad tag.
    Vlan,
    /// An MPLS label stack.
    Mpls,
    /// A PPPoE session header.
    Pppoe,
    /// A PPP header.
    Ppp,
    /// IPv4.
    Ipv4,
    /// IPv6 or one of its extension headers.
    Ipv6,
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// SCTP common header or chunk.
    Sctp,
    /// GRE.
    Gre,
    /// ERSPAN (type II or III) inside GRE.
    Erspan,
    /// GTP-U.
    GtpU,
    /// HEPv3.
    Hep,
    /// A WebSocket frame.
    WebSocket,
}

impl fmt::Display for UnusableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnusableReason::TruncatedBySnaplen => f.write_str("truncated by snaplen"),
            UnusableReason::BadHeader(layer) => write!(f, "bad {layer:?} header"),
            UnusableReason::UnsupportedLinkType(lt) => write!(f, "unsupported link type {lt}"),
            UnusableReason::FragmentTimeout => f.write_str("IP fragments timed out"),
            UnusableReason::FragmentLimit => f.write_str("IP fragment reassembly limit"),
            UnusableReason::StreamGap => f.write_str("TCP reassembly gap or buffer limit"),
            UnusableReason::StreamEvicted => f.write_str("TCP stream evicted (flow limit)"),
            UnusableReason::StreamResync => f.write_str("TCP bytes skipped to find a SIP start line"),
            UnusableReason::TooDeep => f.write_str("tunnels nested too deep"),
        }
    }
}

/// Traffic that was decoded but carries no SIP; counted so nothing disappears unexplained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OtherTraffic {
    /// Link-layer frames that are not IP (ARP, LLC, LLDP, ...).
    NotIp,
    /// IP packets of a protocol other than UDP, TCP, SCTP or a tunnel (ICMP, ...).
    OtherIpProtocol,
    /// UDP datagrams whose payload is not SIP (RTP, DNS, ...).
    UdpNotSip,
    /// TCP segments without payload, or whose stream is not SIP (HTTP, ...).
    TcpNotSip,
    /// SCTP packets without a SIP DATA chunk.
    SctpNotSip,
    /// TCP segments of encrypted streams (see [`Summary::skipped_streams`]).
    Encrypted,
}

impl fmt::Display for OtherTraffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OtherTraffic::NotIp => "not IP",
            OtherTraffic::OtherIpProtocol => "other IP protocol",
            OtherTraffic::UdpNotSip => "UDP, not SIP",
            OtherTraffic::TcpNotSip => "TCP, not SIP or no payload",
            OtherTraffic::SctpNotSip => "SCTP, not SIP",
            OtherTraffic::Encrypted => "encrypted (TLS)",
        })
    }
}

/// Why a stream was not inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// TLS records: SIP over TLS cannot be read without keys.
    Tls,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Tls => f.write_str("TLS (encrypted, not inspected)"),
        }
    }
}

/// A TCP stream (one direction) that was seen but not inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedStream {
    /// Why.
    pub reason: SkipReason,
    /// Sender of this direction.
    pub src: SocketAddr,
    /// Receiver of this direction.
    pub dst: SocketAddr,
    /// Frame where the stream was recognised.
    pub first_frame: u64,
    /// Segments with payload seen in this direction (the first one included).
    pub packets: u64,
    /// Payload bytes seen in this direction, retransmissions excluded.
    pub bytes: u64,
}

/// What a capture contained, available from [`CaptureReader::summary`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Packets read from the file.
    pub packets: u64,
    /// SIP messages yielded (well-formed and malformed).
    pub messages: u64,
    /// Of those, messages that could not be parsed ([`Outcome::Malformed`]).
    pub malformed: u64,
    /// Of those, messages that parsed with invalid header values ([`Outcome::Invalid`]).
    pub invalid: u64,
    /// Distinct flows (transport and unordered address pair) that carried SIP.
    pub flows: u64,
    /// Encrypted or otherwise uninspected streams, in the order they were seen.
    pub skipped_streams: Vec<SkippedStream>,
    /// Packets that could not be used, by reason; for the stream reasons (gap, eviction, resync)
    /// the number of times it happened.
    pub unusable: BTreeMap<UnusableReason, u64>,
    /// Packets that were understood and carry no SIP, by kind.
    pub other: BTreeMap<OtherTraffic, u64>,
}

/// Bounds on the state kept while reading; all have defaults ([`Limits::default`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open TCP directions; beyond this the least recently active eighth is evicted (default 65,536).
    pub max_streams: usize,
    /// Bytes buffered per TCP direction, in order and out of order together (default 1 MiB); a
    /// direction that needs more has a gap (counted) and resumes at its earliest waiting segment.
    pub max_stream_buffer: usize,
    /// Bytes buffered by all TCP directions together (default 256 MiB); beyond this the least
    /// recently active directions are evicted.
    pub max_buffered_bytes: usize,
    /// Incomplete IP fragment sets; the oldest is dropped beyond this (default 1,024).
    pub max_fragment_sets: usize,
    /// Bytes of one fragment set (default 65,535 + headers: 70,000).
    pub max_fragment_bytes: usize,
    /// Capture time after which an incomplete fragment set is dropped (default 30 s).
    pub fragment_timeout: Duration,
    /// Limits handed to the SIP parser and framer.
    pub sip: sipaccord_sip::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_streams: 65_536,
            max_stream_buffer: 1 << 20,
            max_buffered_bytes: 256 << 20,
            max_fragment_sets: 1_024,
            max_fragment_bytes: 70_000,
            fragment_timeout: Duration::from_secs(30),
            sip: sipaccord_sip::Limits::default(),
        }
    }
}

/// Errors reading a capture file. After one is returned the iterator ends.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is neither pcap nor pcapng.
    #[error("{path}: not a pcap or pcapng file")]
    NotACapture {
        /// The file.
        path: PathBuf,
    },
    /// The file ends in the middle of a record (everything before it was yielded).
    #[error("{path}: capture truncated at byte offset {offset} (record incomplete)")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Byte offset of the incomplete record.
        offset: u64,
    },
    /// A record is invalid; nothing after it can be read.
    #[error("{path}: invalid record at byte offset {offset}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Byte offset of the invalid record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}
