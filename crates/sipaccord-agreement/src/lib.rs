//! Compiler for the header agreement language.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
