//! The agreement compiler on arbitrary text: compiling, rendering the diagnostics, formatting and
//! (for files that compile) writing the sign-off sheet must never panic, and formatting must be
//! idempotent whenever it succeeds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipaccord_agreement::{compile, format, render, sheet, SheetFormat};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    let compiled = compile(source, "fuzz.agreement");
    let _ = render(&compiled.diagnostics, source, "fuzz.agreement", false);
    if let Some(contract) = &compiled.contract {
        let _ = sheet(contract, SheetFormat::Markdown);
        let _ = sheet(contract, SheetFormat::Html);
    }
    if let Ok(once) = format(source) {
        let twice = format(&once).expect("formatted output parses");
        assert_eq!(once, twice, "formatting is idempotent");
    }
});
