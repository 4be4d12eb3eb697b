//! Compiler for the sipaccord header agreement language.
//!
//! The pipeline is a set of phases, each a module: [`lexer`] (text to tokens), [`parser`] (tokens to
//! an [`ast`] with a byte span on every node; never gives up, returns a tree plus diagnostics),
//! [`check`] (name resolution, checks and lowering to a [`Contract`]). [`format()`] rewrites a file
//! canonically, [`sheet()`] renders the sign-off sheet, and [`render`] prints diagnostics.
//!
//! **This crate does no I/O**: it takes source text and a file name and returns values.
//!
//! ```
//! let src = "agreement \"demo\" version 1\n\
//!            peer a { sbc 192.0.2.1 }\n\
//!            peer b { sbc 192.0.2.2 }\n\
//!            header X-Kind { value \"voice\" | \"video\" }\n\
//!            on INVITE from a { must have X-Kind }\n";
//! let compiled = sipaccord_agreement::compile(src, "demo.agreement");
//! assert!(compiled.diagnostics.is_empty());
//! let contract = compiled.contract.expect("no errors");
//! let kind = contract.header("x-kind").and_then(|h| h.value.as_ref()).expect("declared");
//! assert!(kind.matches(b"video") && !kind.matches(b"fax"));
//!
//! let broken = sipaccord_agreement::compile("peer a { sbc 192.0.2.300 }", "broken.agreement");
//! let text = sipaccord_agreement::render(&broken.diagnostics, "peer a { sbc 192.0.2.300 }", "broken.agreement", false);
//! assert!(text.contains("error[A0009]"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
mod bytes;
pub mod check;
pub mod contract;
pub mod diag;
pub mod eval;
pub mod format;
pub mod grammar;
pub mod lexer;
pub mod parser;
pub mod render;
pub mod sheet;

pub use contract::*;
pub use diag::{Code, Diagnostic, Label, Severity, Span};
pub use eval::{MessageFacts, Messages};
pub use format::format;
pub use render::render;
pub use sheet::{sheet, SheetFormat};

/// The result of compiling one file.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The contract; `None` when there are errors.
    pub contract: Option<Contract>,
    /// Every error and warning, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Compiles an agreement. `file` is used only in origins and messages.
pub fn compile(source: &str, file: &str) -> Compiled {
    let (tree, mut diagnostics) = parser::parse(source);
    let syntax_errors = diagnostics.iter().any(|d| d.code == Code::Syntax);
    let contract = check::lower(source, file, &tree, &mut diagnostics);
    if syntax_errors {
        // Items dropped by error recovery would otherwise cause follow-on reports.
        diagnostics.retain(|d| !matches!(d.code, Code::TooFewPeers | Code::MissingAgreement | Code::UnusedHeader));
    }
    let contract = if diagnostics.iter().any(Diagnostic::is_error) { None } else { contract };
    diagnostics.sort_by_key(|d| (d.primary.span.start, d.code));
    diagnostics.dedup();
    Compiled { contract, diagnostics }
}
