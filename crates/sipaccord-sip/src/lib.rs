//! A zero-copy SIP message parser.
//!
//! [`Message::parse`] splits one message (datagram rules, RFC 3261 18.3) into its start line, headers in
//! wire order and body, borrowing every part from the caller's buffer. Typed views (Via, From/To, CSeq,
//! Contact, URIs, ...) are computed only when asked, and [`Message::validate`] runs every grammar check
//! this crate knows. [`frame_stream`] finds message boundaries on TCP.
//!
//! The crate does no I/O and never panics on any input; hard [`Limits`] bound the work per message.
//!
//! ```
//! let msg = sipaccord_sip::Message::parse(b"OPTIONS sip:bob@example.com SIP/2.0\r\nCall-ID: a1\r\n\r\n")?;
//! assert_eq!(msg.method(), Some("OPTIONS"));
//! assert_eq!(msg.call_id()?, Some("a1"));
//! # Ok::<(), sipaccord_sip::ParseError>(())
//! ```
#![deny(unsafe_code)] // allowed in `text` alone, with its invariant written there
#![warn(missing_docs)]

mod error;
mod framing;
mod message;
mod names;
pub mod plain;
mod quick;
mod scan;
mod search;
mod text;
mod uri;
mod validate;
mod views;

pub use error::{ErrorKind, ParseError, Position, Warning, WarningKind};
pub use framing::{find_start_line, frame_stream, is_start_line, looks_like_sip, Framing};
pub use message::{unfold, Header, HeaderBuffer, Layout, Limits, Message, RequestLine, StartLine, StatusLine};
pub use names::{same_header_name, KnownHeader, Shape};
pub use scan::{ListItems, Param, Params};
pub use uri::{unescape, Host, Scheme, Uri};
pub use validate::{Found, Validation};
pub use views::{parse_call_id, parse_u32, CSeq, Contact, ContentType, NameAddr, Via};

/// Parses a datagram and validates it: the message and its warnings, or the first error.
pub fn parse_checked(input: &[u8]) -> Result<(Message<'_>, Vec<Warning>), ParseError> {
    let message = Message::parse(input)?;
    let mut validation = message.validate();
    if validation.errors.is_empty() {
        Ok((message, validation.warnings))
    } else {
        Err(validation.errors.swap_remove(0))
    }
}
