//! `sipaccord check`, `fmt` and `sheet` on the project's agreement fixtures.

use crate::{sipaccord, stdout};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_exit_codes_and_diagnostics() {
    let ok = sipaccord(&["check", "fixtures/interop/telegent-acme.agreement"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let bad = sipaccord(&["check", "fixtures/agreements/err/A0013-literal-never-matches.agreement"]);
    assert_eq!(bad.status.code(), Some(1));
    insta::assert_snapshot!(stderr(&bad));
    let missing = sipaccord(&["check", "fixtures/agreements/ok/minimal.agreement", "no-such.agreement"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).starts_with("sipaccord: cannot read no-such.agreement: "), "{}", stderr(&missing));
}

#[test]
fn check_emits_the_compiled_contract_as_json() {
    let out = sipaccord(&["check", "--emit", "json", "fixtures/interop/telegent-acme.agreement"]);
    assert_eq!(out.status.code(), Some(0));
    let contract: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(contract["name"], "telegent-acme");
    assert_eq!(contract["version"], 3);
    assert_eq!(contract["peers"].as_array().unwrap().len(), 2);
    assert_eq!(contract["correlations"][0]["name"], "hairpin");
}

#[test]
fn fmt_check_shows_a_diff_and_fmt_rewrites_idempotently() {
    let dir = std::env::temp_dir().join(format!("sipaccord-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a.agreement");
    let source =
        std::fs::read_to_string(crate::workspace_root().join("fixtures/interop/telegent-acme.agreement")).unwrap();
    std::fs::write(&file, source.replace("  max 1\n", "      max   1\n")).unwrap();
    let path = file.to_str().unwrap();
    let check = sipaccord(&["fmt", "--check", path]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stdout(&check).contains("-      max   1\n+  max 1\n"), "{}", stdout(&check));
    assert_eq!(sipaccord(&["fmt", path]).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), source);
    assert_eq!(sipaccord(&["fmt", "--check", path]).status.code(), Some(0));
    std::fs::write(&file, "agreement \"x\" version 1\npeer a {\n").unwrap();
    let broken = sipaccord(&["fmt", path]);
    assert_eq!(broken.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "agreement \"x\" version 1\npeer a {\n",
        "never rewrites a file with syntax errors"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sheet_in_markdown_and_html() {
    let md = sipaccord(&["sheet", "fixtures/interop/telegent-acme.agreement"]);
    assert_eq!(md.status.code(), Some(0));
    insta::assert_snapshot!(stdout(&md));
    let html = sipaccord(&["sheet", "--format", "html", "fixtures/interop/telegent-acme.agreement"]);
    assert_eq!(html.status.code(), Some(0));
    assert!(stdout(&html).contains("<table"));
    let bad = sipaccord(&["sheet", "fixtures/agreements/err/A0013-literal-never-matches.agreement"]);
    assert_eq!(bad.status.code(), Some(2));
}
