//! Generated flows.
