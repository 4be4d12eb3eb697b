//! Integration tests for the agreement compiler.

mod docs;
mod eval;
mod fixtures;
mod formatter;
mod patterns;
mod values;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `*.agreement` file in a fixtures folder, sorted, as (stem, display path, source).
pub fn fixture_files(kind: &str) -> Vec<(String, String, String)> {
    let dir = root().join("fixtures/agreements").join(kind);
    let mut out: Vec<(String, String, String)> = std::fs::read_dir(&dir)
        .expect("fixtures folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "agreement"))
        .map(|p| {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            let shown = format!("fixtures/agreements/{kind}/{stem}.agreement");
            let src = std::fs::read_to_string(&p).expect("readable fixture");
            (stem, shown, src)
        })
        .collect();
    out.sort();
    out
}
