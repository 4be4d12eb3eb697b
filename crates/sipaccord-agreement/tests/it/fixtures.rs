//! Snapshots of every fixture: compiled contract and sheets for `ok/`, rendered diagnostics for `err/`.

use sipaccord_agreement::{compile, render, sheet, Code, SheetFormat};

use crate::fixture_files;

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn ok_fixtures_compile_cleanly() {
    let files = fixture_files("ok");
    assert!(files.len() >= 3);
    for (stem, path, src) in files {
        let c = compile(&src, &path);
        assert!(c.diagnostics.is_empty(), "{path}:\n{}", render(&c.diagnostics, &src, &path, false));
        let contract = c.contract.expect("contract for a clean file");
        let json = serde_json::to_string_pretty(&contract).expect("serialisable");
        settings().bind(|| {
            insta::assert_snapshot!(format!("ok-{stem}-contract"), json);
            insta::assert_snapshot!(format!("ok-{stem}-sheet-md"), sheet(&contract, SheetFormat::Markdown));
            insta::assert_snapshot!(format!("ok-{stem}-sheet-html"), sheet(&contract, SheetFormat::Html));
            insta::assert_snapshot!(
                format!("ok-{stem}-formatted"),
                sipaccord_agreement::format(&src).expect("formats")
            );
        });
    }
}

#[test]
fn err_fixtures_report_their_code() {
    let files = fixture_files("err");
    for (stem, path, src) in &files {
        let c = compile(src, path);
        assert!(!c.diagnostics.is_empty(), "{path} produced no diagnostics");
        if let Some(code) = stem.split('-').next().filter(|c| c.starts_with('A')) {
            assert!(c.diagnostics.iter().any(|d| d.code.as_str() == code), "{path} did not report {code}");
        }
        let text = render(&c.diagnostics, src, path, false);
        settings().bind(|| insta::assert_snapshot!(format!("err-{stem}"), text));
    }
    // At least one fixture per code.
    for code in Code::ALL {
        assert!(files.iter().any(|(s, _, _)| s.starts_with(code.as_str())), "no err fixture for {}", code.as_str());
    }
}

#[test]
fn one_run_reports_every_recoverable_error() {
    let (_, path, src) = fixture_files("err").into_iter().find(|f| f.0 == "multiple-errors").expect("fixture");
    let c = compile(&src, &path);
    let mut codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code.as_str()).collect();
    codes.sort();
    assert_eq!(codes, ["A0003", "A0008", "A0010", "A0011", "A0012"]);
    assert!(c.contract.is_none());
}

#[test]
fn rules_keep_their_origin() {
    let (_, path, src) = fixture_files("ok").into_iter().find(|f| f.0 == "telegent-acme").expect("fixture");
    let c = compile(&src, &path).contract.expect("compiles");
    let rule = &c.rules[0];
    assert_eq!((rule.origin.line, rule.origin.column), (54, 1));
    assert_eq!(rule.origin.text, "on initial INVITE from acme");
    let o = &rule.obligations[3];
    assert_eq!((o.origin.line, o.origin.column), (58, 3));
    assert_eq!(o.origin.text, "must not have X-Telegent-*");
    assert_eq!(o.origin.file, path);
}

#[test]
fn colour_rendering_differs_only_by_escapes() {
    let (_, path, src) = fixture_files("err").into_iter().find(|f| f.0 == "A0003-undeclared-peer").expect("fixture");
    let c = compile(&src, &path);
    let plain = render(&c.diagnostics, &src, &path, false);
    let coloured = render(&c.diagnostics, &src, &path, true);
    assert!(coloured.contains("\x1b["));
    let mut stripped = String::new();
    let mut in_esc = false;
    for ch in coloured.chars() {
        match (in_esc, ch) {
            (false, '\x1b') => in_esc = true,
            (true, 'm') => in_esc = false,
            (true, _) => {}
            (false, c) => stripped.push(c),
        }
    }
    assert_eq!(stripped, plain);
}

#[test]
fn never_panics_on_truncated_or_mangled_input() {
    let mut sources: Vec<String> = fixture_files("ok").into_iter().chain(fixture_files("err")).map(|f| f.2).collect();
    sources.push("\"\\".into());
    sources.push("on response to { must have }".into());
    sources.push("[::1 peer { sbc [ } }} }{ /(/ \u{e9}\u{1F600}".into());
    for src in &sources {
        let cuts: Vec<usize> = (0..=src.len()).filter(|&i| src.is_char_boundary(i)).collect();
        for &i in cuts.iter().step_by(2) {
            let part = &src[..i];
            let c = compile(part, "cut");
            let _ = render(&c.diagnostics, part, "cut", false);
            let _ = sipaccord_agreement::format(part);
            // Dropping a byte in the middle exercises recovery from every position.
            if let Some(&j) = cuts.iter().find(|&&j| j > i).filter(|_| i % 4 == 0) {
                let mangled = format!("{}{}", &src[..i], &src[j..]);
                let c = compile(&mangled, "mangled");
                let _ = render(&c.diagnostics, &mangled, "mangled", false);
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let head = "agreement \"d\" version 1\npeer a { sbc 192.0.2.1 }\npeer b { sbc 192.0.2.2 }\n";
    let deep_expr =
        format!("{head}on INVITE if {}has X-A{} {{ may have X-A }}\n", "(not ".repeat(5000), ")".repeat(5000));
    let c = compile(&deep_expr, "deep");
    assert!(c.diagnostics.iter().any(|d| d.code == Code::Syntax && d.message.contains("levels of nesting")));
    let deep_type = format!(
        "{head}header X-A {{ value {}token{} }}\non INVITE {{ may have X-A }}\n",
        "uri(user: ".repeat(5000),
        ")".repeat(5000)
    );
    let c = compile(&deep_type, "deep");
    assert!(c.diagnostics.iter().any(|d| d.code == Code::Syntax));
    let mut chain = head.to_string();
    for n in 0..5000 {
        chain.push_str(&format!("type t{n} = t{}\n", n + 1));
    }
    chain.push_str("type t5000 = token\nheader X-A { value t0 }\non INVITE { may have X-A }\n");
    let c = compile(&chain, "chain");
    assert!(c.diagnostics.iter().any(|d| d.code == Code::InvalidValue && d.message.contains("nested too deeply")));
}
