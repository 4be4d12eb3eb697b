//! Parser benchmark: sipaccord-sip against rsip 0.4 on the same realistic messages.
//!
//! Groups (every benchmark reports `Throughput::Bytes`; `cargo xtask bench-report` turns the medians
//! into messages/s, MB/s and sipaccord/rsip ratios):
//!
//! - `a_split`: framing and header split of one datagram: `Message::parse` (and rsip's
//!   `SipMessage::try_from`, which does its own split into untyped headers, for reference);
//! - `a_frame`: `frame_stream` on a buffer holding one message (where does it end?);
//! - `a_stream`: every message back to back in one TCP-like buffer, framed with `frame_stream` and
//!   parsed with `Message::parse_stream`, message after message;
//! - `b_typed`: parse plus typed access to the top Via's branch, the From tag, the To tag, Call-ID and
//!   CSeq, through sipaccord's typed views and through rsip's typed headers.
//!
//! The messages are the files in `benches/messages/` plus the longest RFC 4475 torture message, read
//! in place from `../shared/torture/rfc4475/longreq.dat` beside the checkout. Before measuring, each
//! message is parsed by both parsers and the five typed values are compared; a message rsip rejects is
//! benchmarked for sipaccord only, and the run says so.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rsip::prelude::*;
use sipaccord_sip::{frame_stream, Framing, Limits, Message};

/// One benchmark input.
struct Sample {
    name: &'static str,
    bytes: Vec<u8>,
    /// Whether rsip 0.4 parses the message and reads the five typed headers from it.
    rsip_ok: bool,
}

/// The messages written for this benchmark (CRLF line endings, exact Content-Length).
const MESSAGES: &[(&str, &[u8])] = &[
    ("invite_sdp", include_bytes!("messages/invite_sdp.sip")),
    ("invite", include_bytes!("messages/invite.sip")),
    ("ringing_180", include_bytes!("messages/ringing_180.sip")),
    ("ok_200_sdp", include_bytes!("messages/ok_200_sdp.sip")),
    ("ack", include_bytes!("messages/ack.sip")),
    ("bye", include_bytes!("messages/bye.sip")),
    ("register_auth", include_bytes!("messages/register_auth.sip")),
    ("options", include_bytes!("messages/options.sip")),
];

/// The longest RFC 4475 torture message, read in place (never copied into this repository).
fn longreq_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/torture/rfc4475/longreq.dat")
}

/// The five typed values both parsers are asked for, as owned text for comparison.
#[derive(Debug, PartialEq, Eq)]
struct Typed {
    branch: Option<String>,
    from_tag: Option<String>,
    to_tag: Option<String>,
    call_id: String,
    cseq: u32,
}

/// sipaccord: parse, then read the five values through the typed views. Returns the total length of
/// the values read (so nothing can be optimised away), or `None` when something fails.
fn sipaccord_typed(bytes: &[u8]) -> Option<usize> {
    let msg = Message::parse(bytes).ok()?;
    let via = msg.via().ok()??;
    let from = msg.from().ok()??;
    let to = msg.to().ok()??;
    let call_id = msg.call_id().ok()??;
    let cseq = msg.cseq().ok()??;
    Some(
        via.branch().map_or(0, str::len)
            + from.tag().map_or(0, str::len)
            + to.tag().map_or(0, str::len)
            + call_id.len()
            + cseq.number as usize,
    )
}

/// rsip: `SipMessage::try_from(&[u8])`, then the same five values through rsip's typed headers.
fn rsip_typed(bytes: &[u8]) -> Option<usize> {
    let msg = rsip::SipMessage::try_from(bytes).ok()?;
    let via = msg.via_header().ok()?.typed().ok()?;
    let from = msg.from_header().ok()?.typed().ok()?;
    let to = msg.to_header().ok()?.typed().ok()?;
    let call_id = msg.call_id_header().ok()?;
    let cseq = msg.cseq_header().ok()?.typed().ok()?;
    Some(
        via.branch().map_or(0, |b| b.value().len())
            + from.tag().map_or(0, |t| t.value().len())
            + to.tag().map_or(0, |t| t.value().len())
            + call_id.value().len()
            + cseq.seq as usize,
    )
}

fn sipaccord_values(bytes: &[u8]) -> Result<Typed, String> {
    let msg = Message::parse(bytes).map_err(|e| e.to_string())?;
    let via = msg.via().map_err(|e| e.to_string())?.ok_or("no Via")?;
    let from = msg.from().map_err(|e| e.to_string())?.ok_or("no From")?;
    let to = msg.to().map_err(|e| e.to_string())?.ok_or("no To")?;
    let call_id = msg.call_id().map_err(|e| e.to_string())?.ok_or("no Call-ID")?;
    let cseq = msg.cseq().map_err(|e| e.to_string())?.ok_or("no CSeq")?;
    Ok(Typed {
        branch: via.branch().map(str::to_owned),
        from_tag: from.tag().map(str::to_owned),
        to_tag: to.tag().map(str::to_owned),
        call_id: call_id.to_owned(),
        cseq: cseq.number,
    })
}

fn rsip_values(bytes: &[u8]) -> Result<Typed, String> {
    let msg = rsip::SipMessage::try_from(bytes).map_err(|e| format!("message: {e}"))?;
    let via = msg.via_header().and_then(|h| h.typed()).map_err(|e| format!("Via: {e}"))?;
    let from = msg.from_header().and_then(|h| h.typed()).map_err(|e| format!("From: {e}"))?;
    let to = msg.to_header().and_then(|h| h.typed()).map_err(|e| format!("To: {e}"))?;
    let call_id = msg.call_id_header().map_err(|e| format!("Call-ID: {e}"))?;
    let cseq = msg.cseq_header().and_then(|h| h.typed()).map_err(|e| format!("CSeq: {e}"))?;
    Ok(Typed {
        branch: via.branch().map(|b| b.value().to_owned()),
        from_tag: from.tag().map(|t| t.value().to_owned()),
        to_tag: to.tag().map(|t| t.value().to_owned()),
        call_id: call_id.value().to_owned(),
        cseq: cseq.seq,
    })
}

/// Loads every message and checks both parsers on it before anything is measured.
fn samples() -> Vec<Sample> {
    let mut inputs: Vec<(&'static str, Vec<u8>)> = MESSAGES.iter().map(|(n, b)| (*n, b.to_vec())).collect();
    let longreq = longreq_path();
    match std::fs::read(&longreq) {
        Ok(bytes) => inputs.push(("torture_longreq", bytes)),
        Err(e) => eprintln!("note: {} not read ({e}); torture_longreq is not benchmarked", longreq.display()),
    }
    let mut out = Vec::new();
    for (name, bytes) in inputs {
        let ours = match sipaccord_values(&bytes) {
            Ok(v) => v,
            Err(e) => panic!("benchmark message {name} does not parse with sipaccord-sip: {e}"),
        };
        if let Ok(msg) = Message::parse(&bytes) {
            assert_eq!(msg.len(), bytes.len(), "{name}: Content-Length does not match the body");
            let errors = msg.validate().errors;
            assert!(errors.is_empty(), "{name} is not well-formed: {errors:?}");
        }
        let rsip_ok = match rsip_values(&bytes) {
            Ok(theirs) => {
                assert_eq!(ours, theirs, "{name}: sipaccord-sip and rsip read different values");
                true
            }
            Err(e) => {
                let e: String = e.lines().next().unwrap_or_default().chars().take(100).collect();
                eprintln!("note: rsip 0.4 rejects {name} ({e}...); it is benchmarked for sipaccord-sip only");
                false
            }
        };
        out.push(Sample { name, bytes, rsip_ok });
    }
    eprintln!(
        "messages: {}",
        out.iter().map(|s| format!("{} ({} B)", s.name, s.bytes.len())).collect::<Vec<_>>().join(", ")
    );
    out
}

fn benches(c: &mut Criterion) {
    let samples = samples();
    let limits = Limits::default();

    let mut group = c.benchmark_group("a_split");
    for s in &samples {
        group.throughput(Throughput::Bytes(s.bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("sipaccord", s.name), &s.bytes[..], |b, bytes| {
            b.iter(|| Message::parse(black_box(bytes)).ok())
        });
        if s.rsip_ok {
            group.bench_with_input(BenchmarkId::new("rsip", s.name), &s.bytes[..], |b, bytes| {
                b.iter(|| rsip::SipMessage::try_from(black_box(bytes)).ok())
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("a_frame");
    for s in &samples {
        assert_eq!(frame_stream(&s.bytes, &limits), Ok(Framing::Complete(s.bytes.len())), "{}", s.name);
        group.throughput(Throughput::Bytes(s.bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("sipaccord", s.name), &s.bytes[..], |b, bytes| {
            b.iter(|| frame_stream(black_box(bytes), &limits).ok())
        });
    }
    group.finish();

    // A TCP-like stream: every message back to back, framed then parsed one after the other.
    let stream: Vec<u8> = samples.iter().flat_map(|s| s.bytes.iter().copied()).collect();
    assert_eq!(frame_and_parse_all(&stream, &limits), samples.len(), "stream framing lost messages");
    let mut group = c.benchmark_group("a_stream");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("sipaccord", format!("all_{}_messages", samples.len())),
        &stream[..],
        |b, bytes| b.iter(|| frame_and_parse_all(black_box(bytes), &limits)),
    );
    group.finish();

    let mut group = c.benchmark_group("b_typed");
    for s in &samples {
        group.throughput(Throughput::Bytes(s.bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("sipaccord", s.name), &s.bytes[..], |b, bytes| {
            b.iter(|| sipaccord_typed(black_box(bytes)))
        });
        if s.rsip_ok {
            group.bench_with_input(BenchmarkId::new("rsip", s.name), &s.bytes[..], |b, bytes| {
                b.iter(|| rsip_typed(black_box(bytes)))
            });
        }
    }
    group.finish();
}

/// Frames and parses every message in `buf`; the number of messages parsed.
fn frame_and_parse_all(mut buf: &[u8], limits: &Limits) -> usize {
    let mut count = 0;
    while let Ok(Framing::Complete(len)) = frame_stream(buf, limits) {
        if Message::parse_stream(&buf[..len], limits).is_err() {
            break;
        }
        count += 1;
        buf = &buf[len..];
    }
    count
}

fn config() -> Criterion {
    // Short runs keep the whole benchmark under ~5 minutes on a 2-core machine; command-line options
    // (`--measurement-time`, `--warm-up-time`, `--sample-size`) still override these.
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = parse;
    config = config();
    targets = benches
}
criterion_main!(parse);
