//! `sipaccord check`, `fmt` and `sheet`: the commands that work on agreement files alone.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use sipaccord_agreement::{compile, format, render, sheet, Compiled, SheetFormat};

use crate::Outcome;

/// Arguments of `sipaccord check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the compiled contract as JSON (for files without errors).
    #[arg(long, value_enum)]
    emit: Option<Emit>,
    /// Agreement files.
    #[arg(required = true, value_name = "AGREEMENT")]
    files: Vec<PathBuf>,
}

/// What `check --emit` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// The compiled contract.
    Json,
}

/// Arguments of `sipaccord fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Do not rewrite: exit 1 and show a diff when a file is not formatted.
    #[arg(long)]
    check: bool,
    /// Agreement files.
    #[arg(required = true, value_name = "AGREEMENT")]
    files: Vec<PathBuf>,
}

/// Arguments of `sipaccord sheet`.
#[derive(Debug, Args)]
pub struct SheetArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Sheet::Md)]
    format: Sheet,
    /// The agreement file.
    #[arg(value_name = "AGREEMENT")]
    file: PathBuf,
}

/// Sign-off sheet formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Sheet {
    /// Markdown.
    Md,
    /// A standalone HTML page.
    Html,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Reads a file; an unreadable one is reported on stderr and makes the outcome "unusable", and the
/// caller goes on with the next file.
fn read_or_report(path: &Path, outcome: &mut Outcome) -> Option<String> {
    match read(path) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("sipaccord: {e:#}");
            *outcome = (*outcome).max(Outcome::Unusable);
            None
        }
    }
}

fn colour() -> bool {
    std::io::stderr().is_terminal()
}

/// Compiles each file and prints its diagnostics on stderr.
pub fn check(args: &CheckArgs) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::Clean;
    for path in &args.files {
        let name = path.display().to_string();
        let Some(source) = read_or_report(path, &mut outcome) else { continue };
        let Compiled { contract, diagnostics } = compile(&source, &name);
        if !diagnostics.is_empty() {
            eprint!("{}", render(&diagnostics, &source, &name, colour()));
        }
        match contract {
            Some(c) => {
                if args.emit == Some(Emit::Json) {
                    println!("{}", serde_json::to_string_pretty(&c)?);
                }
            }
            None => outcome = outcome.max(Outcome::Findings),
        }
    }
    Ok(outcome)
}

/// Rewrites files in canonical form, or with `--check` shows what would change.
pub fn fmt(args: &FmtArgs) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::Clean;
    for path in &args.files {
        let name = path.display().to_string();
        let Some(source) = read_or_report(path, &mut outcome) else { continue };
        let formatted = match format(&source) {
            Ok(f) => f,
            Err(diagnostics) => {
                eprint!("{}", render(&diagnostics, &source, &name, colour()));
                eprintln!("sipaccord: {name} has syntax errors; not formatted");
                outcome = outcome.max(Outcome::Findings);
                continue;
            }
        };
        if formatted == source {
            continue;
        }
        if args.check {
            print!("{}", line_diff(&name, &source, &formatted));
            outcome = outcome.max(Outcome::Findings);
        } else {
            std::fs::write(path, formatted).with_context(|| format!("cannot write {name}"))?;
        }
    }
    Ok(outcome)
}

/// A minimal unified-style diff: the changed lines, each with its line number.
fn line_diff(name: &str, old: &str, new: &str) -> String {
    let mut out = format!("--- {name}\n+++ {name} (formatted)\n");
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    for i in 0..a.len().max(b.len()) {
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                out.push_str(&format!("@@ line {} @@\n", i + 1));
                if let Some(x) = x {
                    out.push_str(&format!("-{x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("+{y}\n"));
                }
            }
        }
    }
    out
}

/// Prints the sign-off sheet.
pub fn sheet_command(args: &SheetArgs) -> anyhow::Result<Outcome> {
    let name = args.file.display().to_string();
    let source = read(&args.file)?;
    let compiled = compile(&source, &name);
    let Some(contract) = compiled.contract else {
        eprint!("{}", render(&compiled.diagnostics, &source, &name, colour()));
        anyhow::bail!("{name} has errors; no sheet");
    };
    let format = match args.format {
        Sheet::Md => SheetFormat::Markdown,
        Sheet::Html => SheetFormat::Html,
    };
    print!("{}", sheet(&contract, format));
    Ok(Outcome::Clean)
}
