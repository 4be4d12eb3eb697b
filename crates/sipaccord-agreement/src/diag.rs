//! Diagnostics: stable codes, severities, spans, labels and help lines.

use serde::Serialize;

/// A byte range in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file compiles, but probably not as meant.
    Warning,
    /// The file does not compile.
    Error,
}

/// A stable diagnostic code. The number never changes meaning once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Code {
    /// A0001: syntax error.
    Syntax,
    /// A0002: the `agreement "NAME" version N` line is missing or not first.
    MissingAgreement,
    /// A0003: a peer is referenced but not declared.
    UndeclaredPeer,
    /// A0004: a type is referenced but not declared (or refers to itself).
    UndeclaredType,
    /// A0005: two peers with the same name.
    DuplicatePeer,
    /// A0006: two types with the same name.
    DuplicateType,
    /// A0007: two header declarations for the same header.
    DuplicateHeader,
    /// A0008: a regular expression does not compile.
    InvalidRegex,
    /// A0009: an address or range is not valid.
    InvalidAddress,
    /// A0010: the same address is given to two peers.
    AddressInTwoPeers,
    /// A0011: `must echo` in a request rule.
    EchoInRequestRule,
    /// A0012: `must have H` and `must not have H` for the same messages.
    ConflictingObligations,
    /// A0013: a literal can never match the header's declared type.
    LiteralNeverMatches,
    /// A0014: a selector can never match a message.
    SelectorNeverMatches,
    /// A0015: fewer than two peers.
    TooFewPeers,
    /// A0016: a prefix pattern outside `must not have` / `should not have`.
    PrefixNotAllowed,
    /// A0017 (warning): a non-standard header used in a rule but not declared.
    UndeclaredHeader,
    /// A0018 (warning): a declared header that no rule uses.
    UnusedHeader,
    /// A0019: a field that is not available where it is used.
    FieldNotAvailable,
    /// A0020: a value that is out of range or not one of the allowed words.
    InvalidValue,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 20] = [
        Code::Syntax,
        Code::MissingAgreement,
        Code::UndeclaredPeer,
        Code::UndeclaredType,
        Code::DuplicatePeer,
        Code::DuplicateType,
        Code::DuplicateHeader,
        Code::InvalidRegex,
        Code::InvalidAddress,
        Code::AddressInTwoPeers,
        Code::EchoInRequestRule,
        Code::ConflictingObligations,
        Code::LiteralNeverMatches,
        Code::SelectorNeverMatches,
        Code::TooFewPeers,
        Code::PrefixNotAllowed,
        Code::UndeclaredHeader,
        Code::UnusedHeader,
        Code::FieldNotAvailable,
        Code::InvalidValue,
    ];

    /// The code as printed: `A0001`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "A0001",
            Code::MissingAgreement => "A0002",
            Code::UndeclaredPeer => "A0003",
            Code::UndeclaredType => "A0004",
            Code::DuplicatePeer => "A0005",
            Code::DuplicateType => "A0006",
            Code::DuplicateHeader => "A0007",
            Code::InvalidRegex => "A0008",
            Code::InvalidAddress => "A0009",
            Code::AddressInTwoPeers => "A0010",
            Code::EchoInRequestRule => "A0011",
            Code::ConflictingObligations => "A0012",
            Code::LiteralNeverMatches => "A0013",
            Code::SelectorNeverMatches => "A0014",
            Code::TooFewPeers => "A0015",
            Code::PrefixNotAllowed => "A0016",
            Code::UndeclaredHeader => "A0017",
            Code::UnusedHeader => "A0018",
            Code::FieldNotAvailable => "A0019",
            Code::InvalidValue => "A0020",
        }
    }

    /// The severity this code always has.
    pub fn severity(self) -> Severity {
        match self {
            Code::UndeclaredHeader | Code::UnusedHeader => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// A span with a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub message: String,
}

/// One compiler message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One-line summary.
    pub message: String,
    /// The offending text.
    pub primary: Label,
    /// Related places (e.g. the first declaration of a duplicate).
    pub secondary: Vec<Label>,
    /// How to fix it, where known.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with the code's severity.
    pub fn new(code: Code, message: impl Into<String>, span: Span, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary: Label { span, message: label.into() },
            secondary: Vec::new(),
            help: None,
        }
    }

    /// Adds a related place.
    pub fn with_secondary(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label { span, message: label.into() });
        self
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = source.get(line_start..offset).map_or(1, |s| s.chars().count() + 1);
    (line, col)
}
