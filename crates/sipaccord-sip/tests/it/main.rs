//! Integration tests of the SIP message crate. Test data from the shared folder beside the checkout
//! (`../shared/torture`, `../shared/corpus`) is read in place, never copied.

mod framing;
mod properties;
mod torture;

use std::path::PathBuf;

/// `../shared` relative to the workspace root; panics with the path when it is missing.
pub fn shared_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        dir.join("torture/EXPECTED.tsv").is_file(),
        "these tests read the shared test data from {} (the `shared` folder beside the checkout), which is missing",
        dir.display()
    );
    dir
}
