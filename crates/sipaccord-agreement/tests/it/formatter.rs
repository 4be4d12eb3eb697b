//! Formatter: canonical output, idempotent, comments kept, refuses syntax errors.

use sipaccord_agreement::{compile, format, Code};

use crate::fixture_files;

#[test]
fn formatting_is_idempotent_and_keeps_meaning() {
    for (_, path, src) in fixture_files("ok") {
        let once = format(&src).expect("formats");
        let twice = format(&once).expect("formats again");
        assert_eq!(once, twice, "{path} not idempotent");
        let a = serde_json::to_value(compile(&src, "f").contract.expect("compiles")).expect("json");
        let mut b = serde_json::to_value(compile(&once, "f").contract.expect("formatted compiles")).expect("json");
        // Origins move with the layout; everything else must stay the same.
        strip_origins(&mut b);
        let mut a = a;
        strip_origins(&mut a);
        assert_eq!(a, b, "{path} changed meaning");
    }
}

fn strip_origins(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove("origin");
            m.remove("text");
            m.remove("matcher_text");
            m.remove("value_source");
            m.values_mut().for_each(strip_origins);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_origins),
        _ => {}
    }
}

#[test]
fn canonical_indentation_and_spacing() {
    let src = "# top\nagreement   \"x\"  version 1\n\n\n\npeer a {\n      sbc 192.0.2.1 ,192.0.2.2   # two\n}\npeer b { sbc 192.0.2.3 }\ntype t = integer( 1..5 )\nheader X-A {\nvalue   name-addr( user : e164 )\n\n}\non INVITE if ( has X-A ) { must have X-A in (\"a\",\"b\") }\ncorrelate c {\ninbound  =  INVITE from a\n    outbound=INVITE from b\n  match outbound.ruri.user==inbound.ruri.user within 5s\n}\n";
    let out = format(src).expect("formats");
    assert_eq!(
        out,
        "# top\nagreement \"x\" version 1\n\npeer a {\n  sbc 192.0.2.1, 192.0.2.2 # two\n}\npeer b { sbc 192.0.2.3 }\ntype t = integer(1..5)\nheader X-A {\n  value name-addr(user: e164)\n}\non INVITE if (has X-A) { must have X-A in (\"a\", \"b\") }\ncorrelate c {\n  inbound = INVITE from a\n  outbound = INVITE from b\n  match outbound.ruri.user == inbound.ruri.user within 5s\n}\n"
    );
    assert_eq!(format(&out).expect("formats"), out);
}

#[test]
fn refuses_syntax_errors() {
    let err = format("agreement \"x\" version 1\npeer a { sbc }\n").expect_err("syntax error");
    assert!(err.iter().all(|d| d.code == Code::Syntax));
    assert_eq!(err.len(), 1);
}

/// Found by fuzzing: vertical tabs and other control characters before a diagnostic's span made
/// the snippet renderer subtract past zero (a panic with overflow checks, a garbled margin without).
#[test]
fn control_characters_in_the_source_render() {
    let src = format!(
        "h.\n{}\u{1a}{}{}unexpected character ```cter ``r X-Hops {{{} sbc hea1der X-Hops {{ val98ue short }}\n",
        "\u{b}".repeat(39),
        "\u{b}".repeat(4),
        "\t".repeat(20),
        "\t".repeat(12),
    );
    let compiled = sipaccord_agreement::compile(&src, "fuzz.agreement");
    assert!(!compiled.diagnostics.is_empty());
    let text = sipaccord_agreement::render(&compiled.diagnostics, &src, "fuzz.agreement", false);
    assert!(text.contains("fuzz.agreement:"), "{text}");
}

/// Found by fuzzing too: a diagnostic pointing at the first of a long run of vertical tabs that
/// starts a line longer than the terminal width (the run may not read as leading whitespace).
#[test]
fn a_diagnostic_inside_leading_control_characters_renders() {
    let src = format!(
        "agreement \"a\" version 1\n{} a yf( has X-Flag )and{}all-forms\n",
        "\u{b}".repeat(75),
        "\t".repeat(90)
    );
    let compiled = sipaccord_agreement::compile(&src, "fuzz.agreement");
    let at_tab =
        compiled.diagnostics.iter().find(|d| d.primary.span.start == 24).expect("a diagnostic at the first tab");
    let text = sipaccord_agreement::render(std::slice::from_ref(at_tab), &src, "fuzz.agreement", false);
    assert!(text.contains("fuzz.agreement:2:1"), "{text}");
}
