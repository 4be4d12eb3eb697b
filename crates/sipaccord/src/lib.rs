//! The `sipaccord` command line: argument parsing and dispatch. Each command lives in `commands/`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status: everything conformed / parsed.
const EXIT_OK: u8 = 0;
/// Exit status: findings at error level, or malformed input found.
const EXIT_FINDINGS: u8 = 1;
/// Exit status: the input could not be used (unreadable file, bad arguments).
const EXIT_UNUSABLE: u8 = 2;

/// Agree custom SIP headers with a partner operator, and prove from captures and live calls that both
/// sides keep the agreement.
#[derive(Debug, Parser)]
#[command(name = "sipaccord", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compile agreement files and print their diagnostics.
    Check(commands::agreement::CheckArgs),
    /// Rewrite agreement files in canonical form.
    Fmt(commands::agreement::FmtArgs),
    /// Print the sign-off sheet both operators review.
    Sheet(commands::agreement::SheetArgs),
    /// Parse raw SIP message files (one message per file, datagram rules) and print each parse.
    Parse(commands::parse::ParseArgs),
    /// List every SIP message found in pcap and pcapng captures.
    Messages(commands::messages::MessagesArgs),
    /// Validate pcap/pcapng captures against an agreement and report every breach.
    Replay(commands::replay::ReplayArgs),
    /// Take one side of a live interop session: answer the other side's calls and validate every
    /// message as it arrives.
    Live(commands::live::LiveArgs),
    /// Place calls to the other side carrying what the agreement asks of ours, and validate what comes
    /// back.
    Call(commands::live::CallArgs),
    /// Send OPTIONS to each SBC of the other side and report reachability and round-trip time.
    Probe(commands::live::ProbeArgs),
    /// Write a SIPp scenario whose calls carry what the agreement asks of one side (or break a rule).
    Scenario(commands::scenario::ScenarioArgs),
}

/// What a command found, mapped to the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Exit 0.
    Clean,
    /// Exit 1.
    Findings,
    /// Exit 2.
    Unusable,
}

impl Outcome {
    fn code(self) -> u8 {
        match self {
            Outcome::Clean => EXIT_OK,
            Outcome::Findings => EXIT_FINDINGS,
            Outcome::Unusable => EXIT_UNUSABLE,
        }
    }
}

/// Runs a parsed command line and maps its outcome to the exit status.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Check(args) => commands::agreement::check(&args),
        Command::Fmt(args) => commands::agreement::fmt(&args),
        Command::Sheet(args) => commands::agreement::sheet_command(&args),
        Command::Parse(args) => commands::parse::run(&args),
        Command::Messages(args) => commands::messages::run(&args),
        Command::Replay(args) => commands::replay::run(&args),
        Command::Live(args) => commands::live::run(&args),
        Command::Call(args) => commands::live::call(&args),
        Command::Probe(args) => commands::live::probe(&args),
        Command::Scenario(args) => commands::scenario::run(&args),
    };
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => {
            eprintln!("sipaccord: {err:#}");
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}
