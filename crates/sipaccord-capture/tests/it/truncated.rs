//! A capture cut in the middle of a record yields everything before the cut, then an error that
//! names the byte offset of the incomplete record.

use sipaccord_capture::{CaptureError, CaptureReader};

use crate::corpus::corpus_dir;
use crate::pcap::read;

/// Start offsets of every record: pcap packet records, or pcapng blocks.
fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    if bytes[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        let big = bytes[8..12] == [0x1a, 0x2b, 0x3c, 0x4d];
        let mut at = 0;
        while at + 8 <= bytes.len() {
            starts.push(at);
            let w = [bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]];
            at += if big { u32::from_be_bytes(w) } else { u32::from_le_bytes(w) } as usize;
        }
    } else {
        let mut at = 24;
        while at + 16 <= bytes.len() {
            starts.push(at);
            let w = [bytes[at + 8], bytes[at + 9], bytes[at + 10], bytes[at + 11]];
            at += 16 + u32::from_le_bytes(w) as usize;
        }
    }
    starts
}

fn check_cut(name: &str) {
    let bytes = std::fs::read(corpus_dir().join(name)).expect("read corpus capture");
    let (full, error, _) = read(bytes.clone());
    assert!(error.is_none(), "{name}: {error:?}");
    let starts = record_starts(&bytes);
    // Cut in the middle of a record about two thirds into the file, and right after a record header.
    for (index, inside) in [(starts.len() * 2 / 3, 10), (starts.len() / 2, 1)] {
        let record = starts[index];
        let cut = record + inside;
        let (found, error, _) = read(bytes[..cut].to_vec());
        match error {
            Some(CaptureError::Truncated { offset, path }) => {
                assert_eq!(offset, record as u64, "{name}: cut at {cut}");
                assert_eq!(path.to_str(), Some("generated.pcap"));
            }
            other => panic!("{name}: cut at {cut}: expected a truncation error, got {other:?}"),
        }
        // Records before the cut are frames 1..=index (pcap), so every message completed by them
        // is still found, identical.
        let complete = |m: &&sipaccord_capture::SipMessage| m.is_parsed();
        let got: Vec<_> = found.iter().filter(complete).map(|m| (m.frame, m.bytes.clone())).collect();
        let first_frame_lost = if bytes[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            // pcapng: count packet blocks before the cut.
            starts[..index].iter().filter(|&&s| matches!(bytes[s], 2 | 3 | 6)).count() as u64 + 1
        } else {
            index as u64 + 1
        };
        let want: Vec<_> = full
            .iter()
            .filter(complete)
            .filter(|m| m.frame < first_frame_lost)
            .map(|m| (m.frame, m.bytes.clone()))
            .collect();
        assert!(!want.is_empty(), "{name}: the cut leaves messages before it");
        assert_eq!(got, want, "{name}: cut at {cut}");
    }
}

#[test]
fn truncated_pcap_yields_everything_before_the_cut() {
    check_cut("heplify/sip_ipv4_tcp_fragmented.pcap");
}

#[test]
fn truncated_pcapng_yields_everything_before_the_cut() {
    check_cut("heplify/erspan_sip_ipv4_udp.pcapng");
}

#[test]
fn truncated_file_on_disk_names_file_and_offset() {
    let bytes = std::fs::read(corpus_dir().join("sngrep/aaa.pcap")).expect("read corpus capture");
    let path = std::env::temp_dir().join(format!("sipaccord-capture-truncated-{}.pcap", std::process::id()));
    std::fs::write(&path, &bytes[..bytes.len() - 7]).expect("write temp file");
    let mut reader = CaptureReader::open(&path).expect("open");
    let items: Vec<_> = (&mut reader).collect();
    std::fs::remove_file(&path).expect("remove temp file");
    let last = items.last().expect("items");
    let message = match last {
        Err(e) => e.to_string(),
        Ok(m) => panic!("expected an error last, got frame {}", m.frame),
    };
    assert!(message.contains(&path.display().to_string()) && message.contains("byte offset"), "{message}");
    assert_eq!(items.iter().filter(|i| i.is_err()).count(), 1);
    assert!(items.len() > 70, "most of aaa.pcap's 81 messages come before the cut: {}", items.len());
    // The header alone, cut short.
    let short = CaptureReader::from_reader("short.pcap", std::io::Cursor::new(bytes[..10].to_vec()));
    assert!(matches!(short, Err(CaptureError::Truncated { offset: 0, .. })), "{short:?}");
    let not = CaptureReader::from_reader("x.txt", std::io::Cursor::new(b"hello world, not a capture".to_vec()));
    assert!(matches!(not, Err(CaptureError::NotACapture { .. })));
}

/// A reader that hands out at most `step` bytes per call, to exercise short reads.
struct Trickle {
    bytes: Vec<u8>,
    at: usize,
    step: usize,
}

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn short_reads_large_records_and_oversized_records() {
    use crate::pcap::{ether, ipv4, pcap_file, sip_message, udp, A4, B4};
    let sip = |n| ether(0x0800, &ipv4(A4, B4, 17, (0, 0, false), &udp(5060, 5060, &sip_message(n))));
    // A record larger than the read buffer (1 MB of non-SIP UDP) between two SIP datagrams.
    let big = ether(0x0800, &ipv4(A4, B4, 17, (0, 0, false), &udp(7000, 7000, &vec![0x55; 1 << 20])));
    let bytes = pcap_file(1, &[sip(1), big, sip(2)]);
    let (found, error, summary) = read(bytes.clone());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(found.len(), 2);
    assert_eq!(summary.packets, 3);
    // The same bytes a few at a time.
    for step in [1, 7, 4096] {
        let reader = CaptureReader::from_reader("trickle.pcap", Trickle { bytes: bytes.clone(), at: 0, step })
            .expect("a pcap header");
        let items: Vec<_> = reader.collect();
        assert_eq!(items.len(), 2, "step {step}");
        assert!(items.iter().all(Result::is_ok), "step {step}");
    }
    // A record that says it holds more than 8,000,000 bytes is reported as truncated where it starts,
    // after everything before it, whether or not the bytes are there.
    let mut bytes = pcap_file(1, &[sip(1)]);
    let huge_at = bytes.len();
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&8_000_000u32.to_le_bytes());
    bytes.extend_from_slice(&8_000_000u32.to_le_bytes());
    let (found, error, _) = read(bytes.clone());
    assert_eq!(found.len(), 1);
    assert!(matches!(error, Some(CaptureError::Truncated { offset, .. }) if offset == huge_at as u64), "{error:?}");
    bytes.resize(huge_at + 16 + 8_000_000, 0);
    let (found, error, _) = read(bytes);
    assert_eq!(found.len(), 1);
    assert!(matches!(error, Some(CaptureError::Truncated { offset, .. }) if offset == huge_at as u64), "{error:?}");
}
