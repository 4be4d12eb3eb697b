//! End-to-end tests of the `sipaccord` binary. Fixtures come from the project's own `fixtures/`.

mod agreement;
mod live;
mod messages;
mod parse;
mod replay;

use std::path::PathBuf;
use std::process::Output;

/// The workspace root, so tests pass paths as a user would type them.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the binary from the workspace root.
pub fn sipaccord(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sipaccord"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("run sipaccord")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn cli_definition_is_consistent() {
    use clap::CommandFactory;
    sipaccord::Cli::command().debug_assert();
}
