//! The `sipaccord` binary.

use clap::Parser;

fn main() -> std::process::ExitCode {
    sipaccord::run(sipaccord::Cli::parse())
}
