//! One module per subcommand.

pub mod agreement;
pub mod messages;
pub mod parse;
pub mod replay;
