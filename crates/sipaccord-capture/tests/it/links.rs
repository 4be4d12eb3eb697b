//! Link types, tunnels and encapsulations built by hand: SLL2, NULL, loopback, pcapng with several
//! interfaces, HEPv3 over UDP and TCP, GTP-U, SCTP, and a mutation run that must never panic.

use std::time::Duration;

use sipaccord_capture::{CaptureReader, Transport};

use crate::corpus::corpus_dir;
use crate::pcap::*;

fn udp4(message: &[u8]) -> Vec<u8> {
    ipv4(A4, B4, 17, (0, 0, false), &udp(5060, 5060, message))
}

#[test]
fn linux_sll2_null_and_loopback_link_types() {
    let message = sip_message(21);
    let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0];
    sll2.extend_from_slice(&udp4(&message));
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(&udp4(&message));
    let mut lo = 2u32.to_be_bytes().to_vec();
    lo.extend_from_slice(&udp4(&message));
    for (link, frame) in [(276, sll2), (0, null), (108, lo)] {
        let (found, error, summary) = read(pcap_file(link, &[frame]));
        assert!(error.is_none());
        assert_eq!(found.len(), 1, "link type {link}: {summary:?}");
        assert_eq!(found[0].bytes.as_ref(), &message[..]);
    }
}

#[test]
fn pcapng_with_two_interfaces_of_different_link_types_and_resolutions() {
    let message = sip_message(22);
    let frames = vec![(0, ether(0x0800, &udp4(&message))), (1, udp4(&sip_message(23)))];
    let (found, error, _) = read(pcapng_file(&[1, 101], &frames));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].timestamp, Duration::from_secs(1_700_000_000));
    assert_eq!(found[1].timestamp, Duration::from_nanos(1_700_000_000_000_000_001));
    assert_eq!(found[1].frame, 2);
    assert!(found[1].first_line().starts_with("INVITE "));
}

#[test]
fn hep3_over_udp_and_over_tcp() {
    let message = sip_message(24);
    let frame = ether(0x0800, &ipv4(A4, B4, 17, (0, 0, false), &udp(9060, 9060, &hep3(17, &message))));
    let (found, _, _) = read(pcap_file(1, &[frame]));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].bytes.as_ref(), &message[..]);
    assert_eq!(found[0].dst.to_string(), "10.0.0.2:5070");
    assert_eq!(found[0].timestamp, Duration::from_millis(1_600_000_000_250));
    // Two HEP packets in one TCP stream, split across segments.
    let mut stream = hep3(6, &message);
    stream.extend_from_slice(&hep3(6, &sip_message(25)));
    let frames = vec![
        tcp4_frame(7, SYN, b""),
        tcp4_frame(8, PSH_ACK, &stream[..50]),
        tcp4_frame(8 + 50, PSH_ACK, &stream[50..]),
    ];
    let (found, _, _) = read(pcap_file(1, &frames));
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|m| m.transport == Transport::Tcp && m.is_well_formed()));
}

#[test]
fn gtp_u_with_an_extension_header() {
    let message = sip_message(26);
    let inner = ipv6(A6, B6, 17, &udp(5060, 5060, &message));
    // Flags: version 1, PT, E; message type G-PDU; then seq, N-PDU, next extension (0x85, one word).
    let mut gtp = vec![0x34, 0xff];
    gtp.extend_from_slice(&((4 + 4 + inner.len()) as u16).to_be_bytes());
    gtp.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0, 0, 0]);
    gtp.extend_from_slice(&inner);
    let frame = ether(0x0800, &ipv4(A4, B4, 17, (0, 0, false), &udp(2152, 2152, &gtp)));
    let (found, _, summary) = read(pcap_file(1, &[frame]));
    assert_eq!(found.len(), 1, "{summary:?}");
    assert_eq!(found[0].src.ip().to_string(), "2001:db8::1");
}

#[test]
fn sctp_data_chunks_with_a_retransmission() {
    let message = sip_message(27);
    let chunk = |tsn: u32| {
        let mut c = vec![0, 0x03];
        c.extend_from_slice(&((16 + message.len()) as u16).to_be_bytes());
        c.extend_from_slice(&tsn.to_be_bytes());
        c.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        c.extend_from_slice(&message);
        c.resize(c.len().div_ceil(4) * 4, 0);
        let mut p = vec![0x13, 0xc4, 0x13, 0xc4, 0, 0, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(&c);
        ether(0x0800, &ipv4(A4, B4, 132, (0, 0, false), &p))
    };
    let (found, _, _) = read(pcap_file(1, &[chunk(100), chunk(100), chunk(101)]));
    assert_eq!(found.len(), 2, "the retransmitted TSN 100 counts once");
    assert!(found.iter().all(|m| m.transport == Transport::Sctp));

    // One message in three I-DATA chunks (B, middle, E), in three packets.
    let thirds = [&message[..100], &message[100..200], &message[200..]];
    let frames: Vec<Vec<u8>> = thirds
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let flags = match i {
                0 => 0x02,
                2 => 0x01,
                _ => 0x00,
            };
            let mut c = vec![64, flags];
            c.extend_from_slice(&((20 + part.len()) as u16).to_be_bytes());
            c.extend_from_slice(&(500 + i as u32).to_be_bytes());
            c.extend_from_slice(&[0, 3, 0, 0, 0, 0, 0, 9, 0, 0, 0, i as u8]);
            c.extend_from_slice(part);
            c.resize(c.len().div_ceil(4) * 4, 0);
            let mut p = vec![0x13, 0xc4, 0x13, 0xc4, 0, 0, 0, 1, 0, 0, 0, 0];
            p.extend_from_slice(&c);
            ether(0x0800, &ipv4(A4, B4, 132, (0, 0, false), &p))
        })
        .collect();
    let (found, _, _) = read(pcap_file(1, &frames));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].bytes.as_ref(), &message[..]);
    assert_eq!(found[0].frame, 3);
}

#[test]
fn mutated_captures_never_panic() {
    let dir = corpus_dir();
    for name in ["heplify/sip_ipv4_tcp_retrans.pcap", "sngrep/ipv6frag.pcap", "heplify/erspan_sip_ipv4_udp.pcapng"] {
        let original = std::fs::read(dir.join(name)).expect("read corpus capture");
        let mut rng = Rng(0x5eed);
        for round in 0..60 {
            let mut bytes = original.clone();
            for _ in 0..1 + rng.below(40) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.below(256) as u8;
            }
            if round % 5 == 0 {
                bytes.truncate(rng.below(bytes.len()));
            }
            if let Ok(reader) = CaptureReader::from_reader(name, std::io::Cursor::new(bytes)) {
                let items = reader.count();
                assert!(items < 100_000);
            }
        }
    }
}

#[test]
fn packet_decoder_without_a_file() {
    let mut decoder = sipaccord_capture::PacketDecoder::new("live", sipaccord_capture::Limits::default());
    let message = sip_message(40);
    let frame = decoder.push_frame(101, Duration::from_secs(5), &udp4(&message), 0);
    assert_eq!(frame, 1);
    let found = decoder.pop().expect("a message");
    assert_eq!((found.frame, found.timestamp, found.file.to_str()), (1, Duration::from_secs(5), Some("live")));
    assert_eq!(decoder.push_hep(Duration::from_secs(6), &hep3(17, &message)), 2);
    let found = decoder.pop().expect("a HEP message");
    assert_eq!(found.dst.port(), 5070);
    decoder.push_hep(Duration::from_secs(7), b"HEP3 not really");
    decoder.finish();
    assert!(decoder.pop().is_none());
    assert_eq!(decoder.summary().messages, 2);
    assert_eq!(decoder.summary().unusable.values().sum::<u64>(), 1);
}

#[test]
fn thousands_of_stacked_tags_and_tunnels_do_not_exhaust_the_stack() {
    let message = sip_message(41);
    let mut frame = vec![0u8; 12];
    for _ in 0..10_000 {
        frame.extend_from_slice(&[0x81, 0x00, 0, 1]);
    }
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&udp4(&message));
    // IP-in-IP nested far deeper than the decoder follows.
    let mut nested = udp4(&message);
    for _ in 0..100 {
        nested = ipv4(A4, B4, 4, (0, 0, false), &nested);
    }
    let (found, _, summary) = read(pcap_file(1, &[frame, ether(0x0800, &nested)]));
    assert_eq!(found.len(), 1);
    assert_eq!(summary.unusable.get(&sipaccord_capture::UnusableReason::TooDeep), Some(&1));
}

#[test]
fn random_frames_on_every_link_type_never_panic() {
    let mut rng = Rng(0xdec0de);
    let seed_frames = [
        ether(0x0800, &udp4(&sip_message(42))),
        tcp4_frame(1, PSH_ACK, &sip_message(43)),
        ether(0x86dd, &ipv6(A6, B6, 17, &udp(5060, 5060, &sip_message(44)))),
    ];
    let mut decoder = sipaccord_capture::PacketDecoder::new("random", sipaccord_capture::Limits::default());
    for round in 0..3000 {
        let link = [0u32, 1, 9, 12, 50, 51, 101, 108, 113, 228, 229, 276][round % 12];
        let mut frame = seed_frames[rng.below(seed_frames.len())].clone();
        // Mostly corrupt the headers, where the decoder's decisions are.
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(frame.len().min(80));
            frame[at] = rng.below(256) as u8;
        }
        frame.truncate(rng.below(frame.len() + 1));
        let orig = frame.len() + rng.below(2) * 100;
        decoder.push_frame(link, Duration::from_secs(round as u64), &frame, orig);
        while decoder.pop().is_some() {}
    }
    decoder.finish();
    while decoder.pop().is_some() {}
    assert_eq!(decoder.summary().packets, 3000);
}
