//! Truncated files.
