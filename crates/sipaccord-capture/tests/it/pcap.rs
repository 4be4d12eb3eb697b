//! Building packets and pcap files in tests, so no external tool is needed.

use std::net::{Ipv4Addr, Ipv6Addr};

use sipaccord_capture::{CaptureError, CaptureReader, Limits, SipMessage, Summary};

pub const A4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
pub const B6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

pub const SYN: u8 = 0x02;
pub const PSH_ACK: u8 = 0x18;

/// One SIP request with a body, distinct per `n` so messages can be told apart.
pub fn sip_message(n: u32) -> Vec<u8> {
    let body = format!("v=0\r\no=- {n} 1 IN IP4 10.0.0.1\r\ns=-\r\n");
    format!(
        "INVITE sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK{n}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@example.com>;tag={n}\r\n\
         To: <sip:bob@example.com>\r\n\
         Call-ID: call-{n}@10.0.0.1\r\n\
         CSeq: {n} INVITE\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// An Ethernet frame around an IP packet.
pub fn ether(ethertype: u16, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

/// An IPv4 header and payload; `frag` is (identification, offset in bytes, more fragments).
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, frag: (u16, usize, bool), payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&(total as u16).to_be_bytes());
    h.extend_from_slice(&frag.0.to_be_bytes());
    let flags = (frag.1 / 8) as u16 | if frag.2 { 0x2000 } else { 0 };
    h.extend_from_slice(&flags.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h.extend_from_slice(payload);
    h
}

/// An IPv6 header followed by `ext_and_payload` (whose first header is `next`).
pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, ext_and_payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(ext_and_payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h.extend_from_slice(ext_and_payload);
    h
}

/// A UDP header and payload (checksum left zero).
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(payload);
    h
}

/// A TCP header (no options) and payload.
pub fn tcp(sport: u16, dport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&seq.to_be_bytes());
    h.extend_from_slice(&0u32.to_be_bytes());
    h.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    h.extend_from_slice(payload);
    h
}

/// An Ethernet/IPv4/TCP frame from A4:5060 to B4:5060.
pub fn tcp4_frame(seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    ether(0x0800, &ipv4(A4, B4, 6, (0, 0, false), &tcp(40000, 5060, seq, flags, payload)))
}

/// A classic pcap file (microsecond timestamps, one second apart) of frames of one link type.
pub fn pcap_file(link: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    pcap_file_snap(link, frames.iter().map(|f| (f.clone(), f.len())).collect())
}

/// As [`pcap_file`], with an original length per frame (to model snaplen truncation).
pub fn pcap_file_snap(link: u32, frames: Vec<(Vec<u8>, usize)>) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&0i32.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&link.to_le_bytes());
    for (i, (data, orig)) in frames.iter().enumerate() {
        f.extend_from_slice(&(1_700_000_000 + i as u32).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(&(*orig as u32).to_le_bytes());
        f.extend_from_slice(data);
    }
    f
}

/// Reads a capture held in memory: the messages, the error that ended it (if any) and the summary.
pub fn read(bytes: Vec<u8>) -> (Vec<SipMessage>, Option<CaptureError>, Summary) {
    read_with(bytes, Limits::default())
}

/// As [`read`], with explicit limits.
/// Every capture read this way is also read with `for_each_message`, which must agree.
pub fn read_with(bytes: Vec<u8>, limits: Limits) -> (Vec<SipMessage>, Option<CaptureError>, Summary) {
    crate::lend::assert_lent_as_iterated("generated.pcap", || {
        CaptureReader::from_reader("generated.pcap", std::io::Cursor::new(bytes.clone()))
            .expect("a pcap header")
            .with_limits(limits)
    });
    let reader = CaptureReader::from_reader("generated.pcap", std::io::Cursor::new(bytes)).expect("a pcap header");
    let mut reader = reader.with_limits(limits);
    let mut messages = Vec::new();
    let mut error = None;
    for item in &mut reader {
        match item {
            Ok(m) => messages.push(m),
            Err(e) => {
                assert!(error.is_none(), "a second error after {error:?}: {e}");
                error = Some(e);
            }
        }
    }
    (messages, error, reader.summary().clone())
}

/// A small deterministic pseudo-random generator (xorshift), so shuffles are reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// A pcapng file: one interface per entry of `links` (with `if_tsresol` 9, nanoseconds, on the
/// second interface), then one Enhanced Packet Block per (interface, frame).
pub fn pcapng_file(links: &[u16], frames: &[(u32, Vec<u8>)]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, ty: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&total.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        out.extend_from_slice(&total.to_le_bytes());
    }
    let mut f = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut f, 0x0a0d_0d0a, &shb);
    for (i, link) in links.iter().enumerate() {
        let mut idb = Vec::new();
        idb.extend_from_slice(&link.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&65535u32.to_le_bytes());
        if i == 1 {
            // if_tsresol = 9 (nanoseconds), then opt_endofopt.
            idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        }
        block(&mut f, 1, &idb);
    }
    for (n, (interface, data)) in frames.iter().enumerate() {
        let units: u64 = if *interface == 1 { 1_700_000_000_000_000_000 } else { 1_700_000_000_000_000 } + n as u64;
        let mut epb = Vec::new();
        epb.extend_from_slice(&interface.to_le_bytes());
        epb.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(units as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        epb.resize(epb.len().div_ceil(4) * 4, 0);
        block(&mut f, 6, &epb);
    }
    f
}

/// A HEPv3 packet carrying `payload` from 10.0.0.1:5060 to 10.0.0.2:5070 over `proto`.
pub fn hep3(proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut chunks = Vec::new();
    let mut chunk = |ty: u16, v: &[u8]| {
        chunks.extend_from_slice(&0u16.to_be_bytes());
        chunks.extend_from_slice(&ty.to_be_bytes());
        chunks.extend_from_slice(&((6 + v.len()) as u16).to_be_bytes());
        chunks.extend_from_slice(v);
    };
    chunk(1, &[2]);
    chunk(2, &[proto]);
    chunk(3, &A4.octets());
    chunk(4, &B4.octets());
    chunk(7, &5060u16.to_be_bytes());
    chunk(8, &5070u16.to_be_bytes());
    chunk(9, &1_600_000_000u32.to_be_bytes());
    chunk(10, &250_000u32.to_be_bytes());
    chunk(11, &[1]);
    chunk(15, payload);
    let mut p = b"HEP3".to_vec();
    p.extend_from_slice(&((6 + chunks.len()) as u16).to_be_bytes());
    p.extend_from_slice(&chunks);
    p
}
