//! The `sipaccord` binary.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    sipaccord::run(sipaccord::Cli::parse())
}
