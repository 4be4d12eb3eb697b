//! Value checks as the replay runner makes them (`ValueType::matches` on one header value), for the
//! types and shapes of the example agreement's headers: a token, a name-addr whose user is an E.164
//! regex, a bare parameter list, a name-addr with parameters, and two literals. `matches_general`
//! (the parsers' reading) alongside, for comparison. For instruction counts, run the bench binary
//! under `valgrind --tool=callgrind`.

use criterion::{criterion_group, criterion_main, Criterion};
use sipaccord_agreement::ValueType;

fn ty(decl: &str) -> ValueType {
    let src = format!(
        "agreement \"v\" version 1\npeer a {{ sbc 192.0.2.1 }}\npeer b {{ sbc 192.0.2.2 }}\n\
         type e164x = /\\+[1-9][0-9]{{6,14}}/\nheader X-T {{ value {decl} }}\non INVITE {{ may have X-T }}\n"
    );
    let c = sipaccord_agreement::compile(&src, "v.agreement");
    c.contract.expect("compiles").headers[0].value.clone().expect("value")
}

fn values(c: &mut Criterion) {
    let cases: &[(&str, &str, &[u8])] = &[
        ("token", "token", b"acme-mobile-01"),
        ("name-addr", "name-addr(user: e164x)", b"<sip:+4915112345678@acme.example>"),
        (
            "params",
            "params { icid-value: token required, icid-generated-at: host, orig-ioi: token, term-ioi: token }",
            b"icid-value=1234bc9876e;icid-generated-at=127.0.20.1;orig-ioi=acme",
        ),
        (
            "name-addr-params",
            "name-addr params { sescase: \"orig\" | \"term\", regstate: \"reg\" | \"unreg\" }",
            b"<sip:+4915112345678@acme.example>;sescase=orig",
        ),
        ("literals", "\"fmc\" | \"none\"", b"fmc"),
    ];
    let mut group = c.benchmark_group("values");
    for (name, decl, value) in cases {
        let t = ty(decl);
        assert!(t.matches(value) && t.matches_general(value), "{decl}");
        group.bench_function(*name, |b| b.iter(|| std::hint::black_box(&t).matches(std::hint::black_box(value))));
        group.bench_function(format!("{name}/parsers"), |b| {
            b.iter(|| std::hint::black_box(&t).matches_general(std::hint::black_box(value)))
        });
    }
    group.finish();
}

criterion_group!(benches, values);
criterion_main!(benches);
