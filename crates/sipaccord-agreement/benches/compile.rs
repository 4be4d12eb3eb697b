//! Compile time of large generated agreements: `sizes` headers, each with a value grammar, and as many
//! rules that use them. Throughput is reported in bytes of agreement text; compile time should grow
//! linearly with the size (same bytes/s at every size).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// An agreement with `n` declared headers and `n` rules, in the style of the language reference.
fn generated(n: usize) -> String {
    let mut s = String::from(
        "agreement \"generated\" version 1\n\
         peer op { sbc 192.0.2.1, 192.0.2.2:5060 ; media 192.0.2.0/24 }\n\
         peer partner { sbc 198.51.100.1 ; media 198.51.100.0/24 ; transport udp, tcp }\n\
         type e164 = /\\+[1-9][0-9]{6,14}/\n",
    );
    for i in 0..n {
        let value = match i % 4 {
            0 => "token".to_owned(),
            1 => format!("\"a{i}\" | \"b{i}\""),
            2 => "name-addr(user: e164) params { tag: token }".to_owned(),
            _ => "integer(0..65535)".to_owned(),
        };
        s.push_str(&format!("header X-Gen-{i} {{\n  value {value}\n  max 2\n}}\n"));
        let method = ["INVITE", "UPDATE", "MESSAGE", "OPTIONS"][i % 4];
        s.push_str(&format!(
            "on initial {method} from partner if has X-Gen-{i} {{\n  must have X-Gen-{i}\n  should not have X-Forbidden-{i}-*\n}}\n"
        ));
    }
    s
}

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    for n in [250, 1_000, 4_000] {
        let source = generated(n);
        assert!(sipaccord_agreement::compile(&source, "generated.agreement").contract.is_some());
        group.throughput(Throughput::Bytes(source.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &source, |b, source| {
            b.iter(|| sipaccord_agreement::compile(std::hint::black_box(source), "generated.agreement"))
        });
    }
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
