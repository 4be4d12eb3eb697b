//! Errors that make a message malformed, and warnings that do not.

use std::fmt;

/// A place in the message: 1-based line and column (column counted in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// 1-based line number.
    pub line: u32,
    /// 1-based byte column within the line.
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a message is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Nothing but line endings (or nothing at all).
    #[error("empty message")]
    Empty,
    /// The message is larger than [`crate::Limits::max_message_size`].
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// Bytes seen so far.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// More header lines than [`crate::Limits::max_headers`].
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The limit in force.
        limit: usize,
    },
    /// A line longer than [`crate::Limits::max_line_length`].
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// The first line is neither a request line nor a status line.
    #[error("malformed start line: {0}")]
    StartLine(&'static str),
    /// A version other than SIP/2.0.
    #[error("unsupported SIP version `{0}`")]
    Version(String),
    /// A status code outside 100-699 or not three digits.
    #[error("status code `{0}` is not a number from 100 to 699")]
    StatusCode(String),
    /// The method is not an RFC 3261 token.
    #[error("method `{0}` is not a token")]
    Method(String),
    /// The Request-URI is malformed.
    #[error("malformed Request-URI: {0}")]
    RequestUri(String),
    /// A header line without a colon.
    #[error("header line has no colon")]
    MissingColon,
    /// The header name is not a token.
    #[error("header name `{0}` is not a token")]
    HeaderName(String),
    /// A continuation line (starting with whitespace) before any header.
    #[error("continuation line before the first header")]
    OrphanContinuation,
    /// The headers are not closed by an empty line.
    #[error("headers are not terminated by an empty line (message truncated?)")]
    UnterminatedHeaders,
    /// A Content-Length that is not a non-negative decimal number.
    #[error("Content-Length `{0}` is not a non-negative number")]
    ContentLength(String),
    /// Several Content-Length values that disagree, on a stream where framing depends on them.
    #[error("several Content-Length values disagree ({0})")]
    ConflictingContentLength(String),
    /// The body is shorter than Content-Length says.
    #[error("body has {present} bytes but Content-Length says {declared}")]
    BodyTooShort {
        /// What Content-Length declared.
        declared: usize,
        /// What the message holds.
        present: usize,
    },
    /// A header value that does not follow its grammar.
    #[error("malformed {header}: {reason}")]
    HeaderValue {
        /// The header's canonical name.
        header: String,
        /// What is wrong.
        reason: String,
    },
    /// CSeq names a different method than the request line.
    #[error("CSeq method `{cseq}` does not match the request method `{method}`")]
    CseqMethodMismatch {
        /// Method in CSeq.
        cseq: String,
        /// Method in the request line.
        method: String,
    },
}

/// A malformed message: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {kind}")]
pub struct ParseError {
    /// Where the problem is.
    pub position: Position,
    /// What the problem is.
    pub kind: ErrorKind,
}

impl ParseError {
    pub(crate) fn new(kind: ErrorKind, line: u32, column: u32) -> Self {
        ParseError { position: Position { line, column }, kind }
    }
}

/// A protocol problem that leaves the message usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WarningKind {
    /// A header RFC 3261 8.1.1 (or 20) makes mandatory is absent.
    #[error("mandatory header {0} is missing")]
    MissingHeader(&'static str),
    /// A single-value header appears with several values.
    #[error("{header} appears {count} times but allows one value")]
    SeveralValues {
        /// Canonical name.
        header: &'static str,
        /// How many values were seen.
        count: usize,
    },
    /// Several Content-Length headers; the first was used to find the body.
    #[error("several Content-Length values ({values}); the body was framed by the first")]
    SeveralContentLengths {
        /// The values as written, comma-separated.
        values: String,
    },
    /// Bytes after the body in a datagram, ignored as RFC 3261 18.3 says.
    #[error("{0} bytes after the body ignored")]
    TrailingBytes(usize),
    /// A body present without Content-Length (the rest of the datagram was taken as the body).
    #[error("no Content-Length; the rest of the datagram ({0} bytes) is the body")]
    NoContentLength(usize),
    /// A CR inside a header value that is not part of a line ending (RFC 3261 allows CR only in folding).
    #[error("{0} has a bare CR inside its value")]
    BareCarriageReturn(String),
    /// Lines end with a bare LF instead of CRLF.
    #[error("lines end with LF instead of CRLF")]
    BareLineFeed,
}

/// A warning and the header line it concerns (line 1 is the start line; 0 for the message as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct Warning {
    /// 1-based line, 0 when the warning is about the whole message.
    pub line: u32,
    /// What was noticed.
    pub kind: WarningKind,
}
