//! One module per subcommand.

pub mod apikey;
pub mod client;
pub mod events;
pub mod import;
pub mod invoke;
pub mod key;
pub mod policy;
pub mod secret;
pub mod serve;
pub mod tenant;
pub mod token;
pub mod user;

use std::io::BufRead;

use secrecy::SecretString;

use crate::CliResult;

/// One line from standard input, without its line ending: how a password
/// or secret reaches a command (never argv, where `ps` would show it).
/// `missing` is the error when there is none.
pub(crate) fn read_secret_line(missing: &str) -> CliResult<SecretString> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let value = line.trim_end_matches(['\r', '\n']).to_string();
    if value.is_empty() {
        return Err(missing.into());
    }
    Ok(SecretString::from(value))
}
