//! One module per subcommand.

pub mod messages;
pub mod parse;
pub mod replay;
