//! One module per subcommand.

pub mod import;
pub mod invoke;
pub mod key;
pub mod serve;
pub mod tenant;
pub mod token;
pub mod user;
