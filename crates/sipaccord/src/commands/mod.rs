//! One module per subcommand, and what several of them share.

pub mod agreement;
pub mod live;
pub mod messages;
pub mod parse;
pub mod replay;
pub mod scenario;

use std::io::IsTerminal as _;
use std::path::Path;

use anyhow::Context as _;
use sipaccord_agreement::Contract;

/// Reads and compiles an agreement; any error is printed like `sipaccord check` prints it and makes
/// the command unusable (exit 2). Returns the contract and the file name as given.
pub fn load_contract(path: &Path) -> anyhow::Result<(Contract, String)> {
    let agreement_name = path.display().to_string();
    let source = std::fs::read_to_string(path).with_context(|| format!("cannot read {agreement_name}"))?;
    let compiled = sipaccord_agreement::compile(&source, &agreement_name);
    let Some(contract) = compiled.contract else {
        let colour = std::io::stderr().is_terminal();
        let errors: Vec<_> = compiled.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
        eprint!("{}", sipaccord_agreement::render(&errors, &source, &agreement_name, colour));
        anyhow::bail!("{agreement_name} has {} error(s); run `sipaccord check {agreement_name}`", errors.len());
    };
    Ok((contract, agreement_name))
}
