//! Live interop sessions: sipaccord takes one side of a SIP interconnect, answers or places calls
//! with what the agreement asks of that side, and validates every message as it arrives, with the
//! same decoder and runner replay uses.
//!
//! - [`session`] runs `sipaccord live`: UDP and TCP listeners that answer as a UAS ([`uas`]), HEPv3
//!   listeners for mirrored traffic, findings as they happen, a summary at the end.
//! - [`compose`] completes the messages our side sends with the headers the agreement asks for.
//! - [`monitor`] records every packet ([`recorder`], pcapng) and evaluates it; [`wire`] builds
//!   the packets, so a replay of the recording gives the same findings.
//!
//! This crate does I/O: sockets and the recording file.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod compose;
pub mod monitor;
pub mod recorder;
pub mod scenario;
pub mod server;
pub mod session;
pub mod uac;
pub mod uas;
pub mod wire;
