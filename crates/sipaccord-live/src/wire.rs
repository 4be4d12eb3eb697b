//! Raw IP packets for what a live session sends and receives.
//!
//! A live session is evaluated and recorded as packets, exactly as a capture of it would be replayed:
//! every datagram, TCP read and TCP write becomes an IPv4 or IPv6 packet (pcap link type 101, raw IP)
//! that goes both into the recording and through the same decoder replay uses.
//! TCP connections get a handshake, sequence numbers that follow the bytes sent, and a FIN at close,
//! so tshark follows the streams too.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// pcap link type of the packets built here: raw IPv4 or IPv6, no link-layer header.
pub const LINK_TYPE_RAW_IP: u32 = 101;

/// Largest TCP payload put in one packet (an IPv4 packet's length field is 16 bits).
const MAX_SEGMENT: usize = 65_000;

const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_PSH: u8 = 0x08;
const TCP_ACK: u8 = 0x10;

/// Builds packets and keeps the TCP sequence numbers of open connections.
#[derive(Debug, Default)]
pub struct PacketBuilder {
    /// Next sequence number per direction (source, destination).
    next_seq: HashMap<(SocketAddr, SocketAddr), u32>,
    ip_id: u16,
}

impl PacketBuilder {
    /// A builder with no open connections.
    pub fn new() -> PacketBuilder {
        PacketBuilder::default()
    }

    /// A UDP datagram. Payloads too large for one IP packet are cut at 65,507 bytes (no SIP message
    /// that large can be sent over UDP anyway).
    pub fn udp(&mut self, src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
        let payload = &payload[..payload.len().min(65_507)];
        let mut segment = Vec::with_capacity(8 + payload.len());
        segment.extend_from_slice(&src.port().to_be_bytes());
        segment.extend_from_slice(&dst.port().to_be_bytes());
        segment.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        segment.extend_from_slice(&[0, 0]);
        segment.extend_from_slice(payload);
        let sum = transport_checksum(src.ip(), dst.ip(), 17, &segment);
        // 0 means "no checksum" in UDP; a computed 0 is sent as all ones.
        segment[6..8].copy_from_slice(&(if sum == 0 { 0xffff } else { sum }).to_be_bytes());
        self.ip(src.ip(), dst.ip(), 17, &segment)
    }

    /// The three packets of a TCP handshake between `client` and `server`; starts tracking both
    /// directions (a connection reusing the pair starts afresh).
    pub fn tcp_open(&mut self, client: SocketAddr, server: SocketAddr) -> Vec<Vec<u8>> {
        let client_isn = initial_sequence(client, server);
        let server_isn = initial_sequence(server, client);
        let syn = self.tcp_packet(client, server, client_isn, 0, TCP_SYN, &[]);
        let syn_ack = self.tcp_packet(server, client, server_isn, client_isn.wrapping_add(1), TCP_SYN | TCP_ACK, &[]);
        let ack = self.tcp_packet(client, server, client_isn.wrapping_add(1), server_isn.wrapping_add(1), TCP_ACK, &[]);
        self.next_seq.insert((client, server), client_isn.wrapping_add(1));
        self.next_seq.insert((server, client), server_isn.wrapping_add(1));
        vec![syn, syn_ack, ack]
    }

    /// Data sent from `src` to `dst` on an open connection (one packet per 65,000 bytes).
    pub fn tcp_data(&mut self, src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<Vec<u8>> {
        let mut packets = Vec::with_capacity(1 + payload.len() / MAX_SEGMENT);
        for chunk in payload.chunks(MAX_SEGMENT) {
            let seq = self.advance(src, dst, chunk.len() as u32);
            let ack = self.next_seq.get(&(dst, src)).copied().unwrap_or(0);
            packets.push(self.tcp_packet(src, dst, seq, ack, TCP_ACK | TCP_PSH, chunk));
        }
        packets
    }

    /// The FIN `src` sends when it closes the connection; forgets the connection when both sides have
    /// closed it.
    pub fn tcp_close(&mut self, src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
        let seq = self.advance(src, dst, 1);
        let ack = self.next_seq.get(&(dst, src)).copied().unwrap_or(0);
        let packet = self.tcp_packet(src, dst, seq, ack, TCP_FIN | TCP_ACK, &[]);
        self.next_seq.remove(&(src, dst));
        packet
    }

    /// Returns the sequence number of the next byte from `src` and moves it on by `len`.
    fn advance(&mut self, src: SocketAddr, dst: SocketAddr, len: u32) -> u32 {
        let next = self.next_seq.entry((src, dst)).or_insert_with(|| initial_sequence(src, dst));
        let seq = *next;
        *next = next.wrapping_add(len);
        seq
    }

    fn tcp_packet(&mut self, src: SocketAddr, dst: SocketAddr, seq: u32, ack: u32, flags: u8, data: &[u8]) -> Vec<u8> {
        let mut segment = Vec::with_capacity(20 + data.len());
        segment.extend_from_slice(&src.port().to_be_bytes());
        segment.extend_from_slice(&dst.port().to_be_bytes());
        segment.extend_from_slice(&seq.to_be_bytes());
        segment.extend_from_slice(&ack.to_be_bytes());
        segment.push(5 << 4);
        segment.push(flags);
        segment.extend_from_slice(&65_535u16.to_be_bytes());
        segment.extend_from_slice(&[0, 0, 0, 0]);
        segment.extend_from_slice(data);
        let sum = transport_checksum(src.ip(), dst.ip(), 6, &segment);
        segment[16..18].copy_from_slice(&sum.to_be_bytes());
        self.ip(src.ip(), dst.ip(), 6, &segment)
    }

    /// Wraps a transport segment in an IPv4 or IPv6 header. A mixed pair (IPv4 to IPv6) cannot
    /// happen on one socket; it is written as IPv6 with the IPv4 address mapped.
    fn ip(&mut self, src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> Vec<u8> {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                self.ip_id = self.ip_id.wrapping_add(1);
                let mut p = Vec::with_capacity(20 + segment.len());
                p.extend_from_slice(&[0x45, 0]);
                p.extend_from_slice(&((20 + segment.len()) as u16).to_be_bytes());
                p.extend_from_slice(&self.ip_id.to_be_bytes());
                p.extend_from_slice(&[0x40, 0, 64, protocol, 0, 0]);
                p.extend_from_slice(&s.octets());
                p.extend_from_slice(&d.octets());
                let sum = !fold(sum_words(&p[..20], 0));
                p[10..12].copy_from_slice(&sum.to_be_bytes());
                p.extend_from_slice(segment);
                p
            }
            _ => {
                let mut p = Vec::with_capacity(40 + segment.len());
                p.extend_from_slice(&[0x60, 0, 0, 0]);
                p.extend_from_slice(&(segment.len() as u16).to_be_bytes());
                p.extend_from_slice(&[protocol, 64]);
                p.extend_from_slice(&v6(src).octets());
                p.extend_from_slice(&v6(dst).octets());
                p.extend_from_slice(segment);
                p
            }
        }
    }
}

fn v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// A per-connection initial sequence number that differs between connections but is reproducible.
fn initial_sequence(src: SocketAddr, dst: SocketAddr) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in src.to_string().bytes().chain([b'>']).chain(dst.to_string().bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

fn sum_words(data: &[u8], mut sum: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for w in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([w[0], w[1]])));
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The UDP/TCP checksum over the pseudo-header and the segment.
fn transport_checksum(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> u16 {
    let mut sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => sum_words(&d.octets(), sum_words(&s.octets(), 0)),
        _ => sum_words(&v6(dst).octets(), sum_words(&v6(src).octets(), 0)),
    };
    sum = sum.wrapping_add(u32::from(protocol)).wrapping_add(segment.len() as u32);
    !fold(sum_words(segment, sum))
}
