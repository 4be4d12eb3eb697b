//! Project tasks: `cargo xtask <task>`.

mod captures;

use std::process::Command;

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci            install what the tests need (Debian, as root) and run the test suite, as CI does
  bench-parse   run the parser benchmark (sipaccord-sip against rsip on the same messages)
  captures [NAME...]
                record the project's captures (captures/telegent-acme/) with SIPp and tcpdump on loopback";

fn main() -> Result<()> {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        Some("ci") => run("bash", &[".ci/run"]),
        Some("captures") => captures::run(&workspace_root(), &std::env::args().skip(2).collect::<Vec<_>>()),
        Some("bench-parse") => run("cargo", &["bench", "-p", "sipaccord-sip", "--bench", "parse"]),
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let status = Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("{program} {} failed with {status}", args.join(" "));
    }
    Ok(())
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
