//! `sipaccord scenario`: write a SIPp scenario whose calls carry what the agreement asks of one side.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use sipaccord_live::compose::{Composer, Violation};
use sipaccord_live::scenario::{self, ScenarioOptions};
use sipaccord_live::session;

use crate::Outcome;

/// Arguments of `sipaccord scenario`.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The agreement file.
    #[arg(short, long, value_name = "AGREEMENT")]
    agreement: PathBuf,
    /// The peer whose calls the scenario places.
    #[arg(long = "as", value_name = "PEER")]
    me: String,
    /// The peer called (needed only when the agreement has more than two peers).
    #[arg(long = "to", value_name = "PEER")]
    them: Option<String>,
    /// Break one rule on purpose: the place findings print for it, `LINE` or `LINE:COLUMN` of an
    /// obligation, an `on` rule (its first `must`) or a header declaration.
    #[arg(long, value_name = "RULE")]
    violate: Option<String>,
    /// Pause between the ACK and the BYE.
    #[arg(long, value_name = "D", value_parser = super::live::parse_duration, default_value = "1s")]
    hold: std::time::Duration,
    /// Write the scenario here instead of standard output.
    #[arg(short, long, value_name = "FILE.xml")]
    output: Option<PathBuf>,
}

/// Writes the scenario; exit 2 when the agreement, a peer or the rule to break cannot be used.
pub fn run(args: &ScenarioArgs) -> anyhow::Result<Outcome> {
    let (contract, agreement_name) = super::load_contract(&args.agreement)?;
    let (me, them) = session::peers(&contract, &args.me, args.them.as_deref()).map_err(anyhow::Error::msg)?;
    let mut composer = Composer::new(&contract, me, them);
    if let Some(spec) = &args.violate {
        let violation = Violation::resolve(&contract, spec).map_err(|e| anyhow::anyhow!("--violate {spec}: {e}"))?;
        composer = composer.violating(violation);
    }
    let options = ScenarioOptions { hold_ms: args.hold.as_millis() as u64, agreement_file: agreement_name };
    let xml = scenario::write(&composer, &options).map_err(anyhow::Error::msg)?;
    match &args.output {
        Some(path) => std::fs::write(path, xml).with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{xml}"),
    }
    Ok(Outcome::Clean)
}
