//! `CaptureReader::for_each_message` lends the messages the iterator yields, in the same order, with
//! the same outcome and the same parse; the summary and the final error are the same too.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sipaccord_capture::{CaptureReader, MessageRef, Outcome, SipMessage, Transport};
use sipaccord_sip::{KnownHeader, Message, Warning};

use crate::corpus::corpus_dir;

/// One header as owned parts: name, value, known, line, offset, value offset.
type OwnedHeader = (Vec<u8>, Vec<u8>, Option<KnownHeader>, u32, u32, u32);

/// What a parse gave, owned: method, status, headers, body, length, framing warnings.
type OwnedParse = (Option<String>, Option<u16>, Vec<OwnedHeader>, Vec<u8>, usize, Vec<Warning>);

#[derive(Debug, PartialEq)]
struct Owned {
    file: PathBuf,
    frame: u64,
    timestamp: Duration,
    src: std::net::SocketAddr,
    dst: std::net::SocketAddr,
    transport: Transport,
    bytes: Vec<u8>,
    first_line: String,
    outcome: Outcome,
    parsed: Option<OwnedParse>,
}

fn owned_parse(m: &Message<'_>) -> OwnedParse {
    let headers = m
        .headers()
        .iter()
        .map(|h| (h.name.to_vec(), h.value.to_vec(), h.known, h.line, h.offset, h.value_offset))
        .collect();
    (m.method().map(str::to_string), m.status(), headers, m.body().to_vec(), m.len(), m.framing_warnings().to_vec())
}

fn from_lent(m: &MessageRef<'_>) -> Owned {
    // What the reader's validation found is what the parse's readers answer.
    if let Some(p) = m.parsed {
        assert!(m.found.call_id(p).is_none_or(|c| c == p.call_id_bytes().ok().flatten()), "frame {}", m.frame);
        assert!(m.found.from_tag(p).is_none_or(|t| t == p.from_tag_bytes()), "frame {}", m.frame);
        assert!(m.found.to_tag(p).is_none_or(|t| t == p.to_tag_bytes()), "frame {}", m.frame);
        assert!(m.found.cseq(p).is_none_or(|c| c == p.cseq().ok().flatten()), "frame {}", m.frame);
    }
    Owned {
        file: m.file.to_path_buf(),
        frame: m.frame,
        timestamp: m.timestamp,
        src: m.src,
        dst: m.dst,
        transport: m.transport,
        bytes: m.bytes.to_vec(),
        first_line: m.first_line().into_owned(),
        outcome: m.outcome.clone(),
        parsed: m.parsed.map(owned_parse),
    }
}

fn from_message(m: &SipMessage) -> Owned {
    Owned {
        file: m.file.to_path_buf(),
        frame: m.frame,
        timestamp: m.timestamp,
        src: m.src,
        dst: m.dst,
        transport: m.transport,
        bytes: m.bytes.to_vec(),
        first_line: m.first_line(),
        outcome: m.outcome.clone(),
        parsed: m.parse().ok().as_ref().map(owned_parse),
    }
}

/// Reads a capture both ways and asserts they agree; returns the number of messages.
pub fn assert_lent_as_iterated(what: &str, make: impl Fn() -> CaptureReader) -> usize {
    let mut reader = make();
    let mut iterated = Vec::new();
    let mut error = None;
    for item in &mut reader {
        match item {
            Ok(m) => iterated.push(from_message(&m)),
            Err(e) => error = Some(e.to_string()),
        }
    }
    let summary = reader.summary().clone();

    let mut reader = make();
    let mut lent = Vec::new();
    let lent_error = reader
        .for_each_message(|m| {
            lent.push(from_lent(m));
            ControlFlow::Continue(())
        })
        .map(|e| e.to_string());
    assert_eq!(lent_error, error, "{what}: the error");
    assert_eq!(reader.summary(), &summary, "{what}: the summary");
    assert_eq!(lent.len(), iterated.len(), "{what}: the number of messages");
    for (l, i) in lent.iter().zip(&iterated) {
        assert_eq!(l, i, "{what}: frame {}", i.frame);
    }

    // Stopping early lends exactly the first messages, after some were taken from the iterator.
    if iterated.len() >= 3 {
        let mut reader = make();
        let first = reader.next().expect("a first item").expect("a message");
        assert_eq!(from_message(&first), iterated[0], "{what}: the first message");
        let mut taken = Vec::new();
        let error = reader.for_each_message(|m| {
            taken.push(from_lent(m));
            if taken.len() == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(error.is_none(), "{what}: no error when stopped early");
        assert_eq!(taken[..], iterated[1..3], "{what}: the messages lent after the first");
    }
    iterated.len()
}

fn captures_in(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            captures_in(&path, found);
        } else if path.extension().is_some_and(|e| e == "pcap" || e == "pcapng") {
            found.push(path);
        }
    }
}

#[test]
fn every_capture_is_lent_as_the_iterator_yields_it() {
    let mut files = Vec::new();
    captures_in(&corpus_dir(), &mut files);
    captures_in(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../captures"), &mut files);
    assert!(files.len() >= 50, "found only {} captures", files.len());
    let mut total = 0;
    for path in &files {
        total += assert_lent_as_iterated(&path.display().to_string(), || CaptureReader::open(path).expect("open"));
    }
    assert!(total > 1000, "only {total} messages");
}
