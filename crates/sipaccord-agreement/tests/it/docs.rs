//! Every ```agreement block in docs/agreement-language.md compiles, or fails with the code it names.

use sipaccord_agreement::{compile, render, Code};

use crate::root;

#[test]
fn doc_examples_behave_as_documented() {
    let doc = std::fs::read_to_string(root().join("docs/agreement-language.md")).expect("docs/agreement-language.md");
    let mut blocks = 0;
    let mut documented = vec![];
    let mut lines = doc.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```agreement") else {
            continue;
        };
        let mut src = String::new();
        for (_, l) in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            src.push_str(l);
            src.push('\n');
        }
        blocks += 1;
        let name = format!("docs/agreement-language.md:{}", n + 1);
        let c = compile(&src, &name);
        let shown = render(&c.diagnostics, &src, &name, false);
        match info.strip_prefix(",fails ") {
            Some(code) => {
                let code = code.trim();
                documented.push(code.to_string());
                assert!(
                    c.diagnostics.iter().any(|d| d.code.as_str() == code),
                    "{name}: expected {code}, got:\n{shown}"
                );
            }
            None => {
                assert!(info.is_empty(), "{name}: unknown info string {info:?}");
                assert!(c.diagnostics.is_empty(), "{name}: expected a clean compile, got:\n{shown}");
            }
        }
    }
    assert!(blocks > 10, "only {blocks} agreement blocks found");
    for code in Code::ALL {
        assert!(documented.iter().any(|c| c == code.as_str()), "{} has no failing example in the docs", code.as_str());
    }
}

#[test]
fn codes_are_sequential_and_stable() {
    for (n, code) in Code::ALL.iter().enumerate() {
        assert_eq!(code.as_str(), format!("A{:04}", n + 1));
    }
    assert_eq!(Code::UndeclaredHeader.severity(), sipaccord_agreement::Severity::Warning);
    assert_eq!(Code::UnusedHeader.severity(), sipaccord_agreement::Severity::Warning);
    assert_eq!(Code::ALL.iter().filter(|c| c.severity() == sipaccord_agreement::Severity::Warning).count(), 2);
}
