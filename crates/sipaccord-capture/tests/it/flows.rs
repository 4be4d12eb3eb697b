//! Generated flows: TCP reassembly under reordering, duplication and overlap; IP fragments out of
//! order; several messages per segment; a message split at every byte.

use std::net::SocketAddr;

use sipaccord_capture::{OtherTraffic, Outcome, SkipReason, Transport, UnusableReason};

use crate::pcap::*;

const ISN: u32 = 0xffff_ff00; // close to the wrap, so sequence arithmetic wraps mid-stream

fn stream_of(messages: &[Vec<u8>]) -> Vec<u8> {
    messages.concat()
}

fn bodies(found: &[sipaccord_capture::SipMessage]) -> Vec<Vec<u8>> {
    found.iter().map(|m| m.bytes.to_vec()).collect()
}

#[test]
fn tcp_shuffled_duplicated_overlapping_segments_yield_each_message_once() {
    let messages: Vec<Vec<u8>> = (1..=4).map(sip_message).collect();
    let stream = stream_of(&messages);
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        // Cut the stream into segments of 1 to 300 bytes.
        let mut segments = Vec::new();
        let mut at = 0;
        while at < stream.len() {
            let len = (1 + rng.below(300)).min(stream.len() - at);
            segments.push((at, stream[at..at + len].to_vec()));
            at += len;
        }
        // Retransmissions, and overlapping segments that straddle the cuts.
        for _ in 0..segments.len() / 2 {
            let i = rng.below(segments.len());
            segments.push(segments[i].clone());
            let start = rng.below(stream.len());
            let end = (start + 1 + rng.below(400)).min(stream.len());
            segments.push((start, stream[start..end].to_vec()));
        }
        rng.shuffle(&mut segments);
        let mut frames = vec![tcp4_frame(ISN, SYN, b"")];
        for (off, data) in &segments {
            frames.push(tcp4_frame(ISN.wrapping_add(1).wrapping_add(*off as u32), PSH_ACK, data));
        }
        let (found, error, summary) = read(pcap_file(1, &frames));
        assert!(error.is_none(), "seed {seed}: {error:?}");
        assert_eq!(bodies(&found), messages, "seed {seed}");
        assert!(found.iter().all(|m| m.is_well_formed() && m.transport == Transport::Tcp), "seed {seed}");
        assert_eq!(summary.messages, 4);
        assert_eq!(summary.flows, 1);
        assert_eq!(summary.packets, frames.len() as u64);
    }
}

#[test]
fn several_messages_in_one_segment_and_keepalives_between() {
    let messages: Vec<Vec<u8>> = (1..=3).map(sip_message).collect();
    let mut payload = b"\r\n\r\n".to_vec();
    payload.extend_from_slice(&messages[0]);
    payload.extend_from_slice(b"\r\n\r\n");
    payload.extend_from_slice(&messages[1]);
    payload.extend_from_slice(&messages[2]);
    let frames = vec![tcp4_frame(ISN, SYN, b""), tcp4_frame(ISN.wrapping_add(1), PSH_ACK, &payload)];
    let (found, error, _) = read(pcap_file(1, &frames));
    assert!(error.is_none());
    assert_eq!(bodies(&found), messages);
    assert!(found.iter().all(|m| m.frame == 2));
    let src: SocketAddr = "10.0.0.1:40000".parse().expect("address");
    let dst: SocketAddr = "10.0.0.2:5060".parse().expect("address");
    assert!(found.iter().all(|m| m.src == src && m.dst == dst));
    assert_eq!(found[0].timestamp.as_secs(), 1_700_000_001);
}

#[test]
fn a_message_split_at_every_byte_boundary() {
    let message = sip_message(7);
    for cut in 1..message.len() {
        let frames = vec![
            tcp4_frame(ISN, SYN, b""),
            tcp4_frame(ISN.wrapping_add(1), PSH_ACK, &message[..cut]),
            tcp4_frame(ISN.wrapping_add(1 + cut as u32), PSH_ACK, &message[cut..]),
        ];
        let (found, error, summary) = read(pcap_file(1, &frames));
        assert!(error.is_none());
        assert_eq!(found.len(), 1, "cut at {cut}");
        assert_eq!(found[0].bytes.as_ref(), &message[..], "cut at {cut}");
        assert_eq!(found[0].frame, 3, "the frame that completed it, cut at {cut}");
        assert_eq!(summary.malformed, 0);
    }
}

#[test]
fn a_stream_picked_up_mid_message_resynchronises_on_the_next_start_line() {
    let messages: Vec<Vec<u8>> = (1..=2).map(sip_message).collect();
    // No SYN; the first segment is the tail of a message the capture missed.
    let mut payload = b"a=sendrecv\r\n".to_vec();
    payload.extend_from_slice(&messages[0]);
    let frames =
        vec![tcp4_frame(5000, PSH_ACK, &payload), tcp4_frame(5000 + payload.len() as u32, PSH_ACK, &messages[1])];
    let (found, _, summary) = read(pcap_file(1, &frames));
    assert_eq!(bodies(&found), messages);
    assert_eq!(summary.unusable.get(&UnusableReason::StreamResync), Some(&1));
}

#[test]
fn an_unfinished_message_at_the_end_is_reported_as_malformed() {
    let message = sip_message(3);
    let frames =
        vec![tcp4_frame(ISN, SYN, b""), tcp4_frame(ISN.wrapping_add(1), PSH_ACK, &message[..message.len() - 5])];
    let (found, _, summary) = read(pcap_file(1, &frames));
    assert_eq!(found.len(), 1);
    assert!(matches!(&found[0].outcome, Outcome::Malformed(r) if r.contains("incomplete")), "{:?}", found[0].outcome);
    assert_eq!(found[0].frame, 2);
    assert_eq!(summary.malformed, 1);
}

#[test]
fn ipv4_fragments_out_of_order_are_reassembled() {
    let message = sip_message(11);
    let datagram = udp(5060, 5060, &message);
    // Fragments of 64 bytes (a multiple of 8), delivered last first, with one duplicated.
    let chunks: Vec<(usize, &[u8])> = datagram.chunks(64).enumerate().map(|(i, c)| (i * 64, c)).collect();
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for &(off, chunk) in chunks.iter().rev() {
        let more = off + chunk.len() < datagram.len();
        frames.push(ether(0x0800, &ipv4(A4, B4, 17, (0x1234, off, more), chunk)));
    }
    frames.insert(2, frames[1].clone());
    let (found, error, summary) = read(pcap_file(1, &frames));
    assert!(error.is_none());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].bytes.as_ref(), &message[..]);
    assert_eq!(found[0].transport, Transport::Udp);
    assert_eq!(found[0].frame, frames.len() as u64, "completed by the last fragment");
    assert!(summary.unusable.is_empty(), "{summary:?}");
}

#[test]
fn ipv6_fragments_out_of_order_after_a_hop_by_hop_header() {
    let message = sip_message(12);
    let datagram = udp(5062, 5060, &message);
    let chunks: Vec<(usize, &[u8])> = datagram.chunks(96).enumerate().map(|(i, c)| (i * 96, c)).collect();
    let mut frames = Vec::new();
    for &(off, chunk) in chunks.iter().rev() {
        let more = off + chunk.len() < datagram.len();
        // Hop-by-hop options (8 bytes of padding), then the fragment header, then the chunk.
        let mut ext = vec![44, 0, 1, 4, 0, 0, 0, 0];
        let word = (off as u16) | u16::from(more);
        ext.extend_from_slice(&[17, 0]);
        ext.extend_from_slice(&word.to_be_bytes());
        ext.extend_from_slice(&0xabcd_0001u32.to_be_bytes());
        ext.extend_from_slice(chunk);
        frames.push(ether(0x86dd, &ipv6(A6, B6, 0, &ext)));
    }
    let (found, error, _) = read(pcap_file(1, &frames));
    assert!(error.is_none());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].bytes.as_ref(), &message[..]);
    assert_eq!(found[0].src, "[2001:db8::1]:5062".parse::<SocketAddr>().expect("address"));
}

#[test]
fn fragments_that_never_complete_are_counted() {
    let message = sip_message(13);
    let datagram = udp(5060, 5060, &message);
    let frames = vec![ether(0x0800, &ipv4(A4, B4, 17, (9, 0, true), &datagram[..64]))];
    let (found, _, summary) = read(pcap_file(1, &frames));
    assert!(found.is_empty());
    assert_eq!(summary.unusable.get(&UnusableReason::FragmentTimeout), Some(&1));
}

#[test]
fn snaplen_truncation_is_counted_not_hidden() {
    let message = sip_message(14);
    let frame = ether(0x0800, &ipv4(A4, B4, 17, (0, 0, false), &udp(5060, 5060, &message)));
    let cut = frame[..40].to_vec();
    let (found, _, summary) = read(pcap_file_snap(1, vec![(cut, frame.len())]));
    assert!(found.is_empty());
    assert_eq!(summary.unusable.get(&UnusableReason::TruncatedBySnaplen), Some(&1));
}

#[test]
fn tls_streams_are_reported_with_their_endpoints() {
    let record = [0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5];
    let frames = vec![tcp4_frame(ISN, SYN, b""), tcp4_frame(ISN.wrapping_add(1), PSH_ACK, &record)];
    let (found, _, summary) = read(pcap_file(1, &frames));
    assert!(found.is_empty());
    assert_eq!(summary.skipped_streams.len(), 1);
    let s = &summary.skipped_streams[0];
    assert_eq!(
        (s.reason, s.src.to_string(), s.dst.to_string(), s.first_frame),
        (SkipReason::Tls, "10.0.0.1:40000".into(), "10.0.0.2:5060".into(), 2)
    );
    assert_eq!(summary.other.get(&OtherTraffic::Encrypted), Some(&1));
    assert_eq!((s.packets, s.bytes), (1, 10));
}

#[test]
fn http_on_the_sip_port_is_not_sip() {
    let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let frames = vec![tcp4_frame(ISN, SYN, b""), tcp4_frame(ISN.wrapping_add(1), PSH_ACK, request)];
    let (found, _, summary) = read(pcap_file(1, &frames));
    assert!(found.is_empty());
    assert_eq!(summary.other.get(&OtherTraffic::TcpNotSip), Some(&2));
}

#[test]
fn sip_over_websocket_frames() {
    let upgrade = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
    let message = sip_message(15);
    // A masked text frame with a 16-bit length.
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut frame = vec![0x81, 0x80 | 126];
    frame.extend_from_slice(&(message.len() as u16).to_be_bytes());
    frame.extend_from_slice(&key);
    frame.extend(message.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    let mut payload = upgrade.to_vec();
    payload.extend_from_slice(&frame[..10]);
    let frames = vec![
        tcp4_frame(ISN, SYN, b""),
        tcp4_frame(ISN.wrapping_add(1), PSH_ACK, &payload),
        tcp4_frame(ISN.wrapping_add(1 + payload.len() as u32), PSH_ACK, &frame[10..]),
    ];
    let (found, _, _) = read(pcap_file(1, &frames));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].transport, Transport::WebSocket);
    assert_eq!(found[0].bytes.as_ref(), &message[..]);
    assert_eq!(found[0].frame, 3);
}

#[test]
fn sip_in_udp_over_vlan_gre_and_raw_ip_link_types() {
    let message = sip_message(16);
    let inner = ipv4(A4, B4, 17, (0, 0, false), &udp(5060, 5080, &message));
    // QinQ, then GRE (IPv4 payload) inside IPv4.
    let mut gre = vec![0, 0, 0x08, 0x00];
    gre.extend_from_slice(&inner);
    let outer = ipv4(B4, A4, 47, (0, 0, false), &gre);
    let mut tagged = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x00];
    tagged.extend_from_slice(&outer);
    let (found, _, _) = read(pcap_file(1, &[tagged]));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].dst.port(), 5080);
    let (found, _, _) = read(pcap_file(101, std::slice::from_ref(&inner)));
    assert_eq!(found.len(), 1);
    let (found, _, summary) = read(pcap_file(147, &[inner]));
    assert!(found.is_empty());
    assert_eq!(summary.unusable.get(&UnusableReason::UnsupportedLinkType(147)), Some(&1));
}

#[test]
fn limits_evict_streams_and_fragment_sets_and_say_so() {
    let message = sip_message(30);
    // Three connections, each holding half a message, with room for two directions.
    let mut frames = Vec::new();
    for port in [40001u16, 40002, 40003] {
        let seg = tcp(port, 5060, 100, PSH_ACK, &message[..message.len() / 2]);
        frames.push(ether(0x0800, &ipv4(A4, B4, 6, (0, 0, false), &seg)));
    }
    let limits = sipaccord_capture::Limits { max_streams: 2, ..Default::default() };
    let (found, _, summary) = read_with(pcap_file(1, &frames), limits);
    assert_eq!(summary.unusable.get(&UnusableReason::StreamEvicted), Some(&1));
    // The evicted one and the two left at the end: each partial message is reported, once.
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|m| !m.is_parsed()));
    assert_eq!(found[0].src.port(), 40001, "the least recently active is evicted first");

    // Fragment sets beyond the limit: the oldest is dropped and counted.
    let datagram = udp(5060, 5060, &message);
    let frames: Vec<Vec<u8>> =
        (0..3u16).map(|id| ether(0x0800, &ipv4(A4, B4, 17, (id, 0, true), &datagram[..64]))).collect();
    let limits = sipaccord_capture::Limits { max_fragment_sets: 2, ..Default::default() };
    let (_, _, summary) = read_with(pcap_file(1, &frames), limits);
    assert_eq!(summary.unusable.get(&UnusableReason::FragmentLimit), Some(&1));
    assert_eq!(summary.unusable.get(&UnusableReason::FragmentTimeout), Some(&2), "left at the end");
}

#[test]
fn a_tls_stream_picked_up_mid_record_is_still_reported() {
    // The tail of one record, then two whole application-data records.
    let mut payload = vec![0x42; 37];
    for len in [20u16, 9] {
        payload.extend_from_slice(&[0x17, 0x03, 0x03]);
        payload.extend_from_slice(&len.to_be_bytes());
        payload.extend(std::iter::repeat_n(0xa5, usize::from(len)));
    }
    let frames = vec![tcp4_frame(77, PSH_ACK, &payload)];
    let (found, _, summary) = read(pcap_file(1, &frames));
    assert!(found.is_empty());
    assert_eq!(summary.skipped_streams.len(), 1);
    assert_eq!(summary.skipped_streams[0].reason, SkipReason::Tls);
}

#[test]
fn a_folded_line_that_reads_as_content_length_frames_as_before() {
    // Framing reads the continuation line ` l: 3` as a Content-Length (it conflicts with the real
    // one), the parser as part of X-A's value: the reader keeps the framing's verdict.
    let folded = b"OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP a.example.com;branch=z9hG4bK1\r\n\
From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: folded\r\nCSeq: 1 OPTIONS\r\n\
X-A: x\r\n l: 3\r\nContent-Length: 0\r\n\r\n";
    let mut payload = folded.to_vec();
    payload.extend_from_slice(&sip_message(2));
    let frames = vec![tcp4_frame(ISN, SYN, b""), tcp4_frame(ISN.wrapping_add(1), PSH_ACK, &payload)];
    let (found, error, _) = read(pcap_file(1, &frames));
    assert!(error.is_none());
    assert_eq!(found.len(), 2);
    match &found[0].outcome {
        Outcome::Malformed(reason) => assert!(reason.contains("Content-Length"), "{reason}"),
        other => panic!("expected malformed, got {other:?}"),
    }
    assert!(found[1].is_well_formed(), "{:?}", found[1].outcome);
    assert_eq!(found[1].bytes.as_ref(), &sip_message(2)[..]);

    // Folded without a colon: framed by Content-Length, well-formed.
    let folded = b"OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP a.example.com;branch=z9hG4bK1\r\n\
From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: folded\r\nCSeq: 1 OPTIONS\r\n\
Subject: a\r\n b\r\nContent-Length: 3\r\n\r\nabc";
    let mut payload = folded.to_vec();
    payload.extend_from_slice(&sip_message(2));
    let frames = vec![tcp4_frame(ISN, SYN, b""), tcp4_frame(ISN.wrapping_add(1), PSH_ACK, &payload)];
    let (found, error, _) = read(pcap_file(1, &frames));
    assert!(error.is_none());
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].bytes.as_ref(), &folded[..]);
    assert!(found[0].is_well_formed(), "{:?}", found[0].outcome);
}
