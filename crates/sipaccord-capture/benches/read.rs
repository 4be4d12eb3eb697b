//! Capture reading throughput (bytes/s of capture and messages/s) on the largest corpus files.
//! The corpus is read in place from `../shared/corpus`; run with `cargo bench -p sipaccord-capture`.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sipaccord_capture::CaptureReader;

const FILES: &[&str] = &[
    "heplify/sip_ipv4_tcp_fragmented.pcap",
    "heplify/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap",
    "heplify/erspan_sip_ipv4_udp.pcapng",
];

fn read(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(dir.is_dir(), "the shared corpus is missing: expected {}", dir.display());
    let mut group = c.benchmark_group("read");
    for name in FILES {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).expect("read capture");
        let messages =
            CaptureReader::from_reader(name, std::io::Cursor::new(bytes.clone())).expect("capture").count() as u64;
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("{name} bytes"), |b| {
            b.iter(|| CaptureReader::from_reader(name, std::io::Cursor::new(bytes.clone())).expect("capture").count())
        });
        group.throughput(Throughput::Elements(messages));
        group.bench_function(format!("{name} messages"), |b| {
            b.iter(|| CaptureReader::from_reader(name, std::io::Cursor::new(bytes.clone())).expect("capture").count())
        });
    }
    group.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
