//! `gatehouse token verify`: the same verifier `/auth` uses, offline.

use std::io::Write;

use gatehouse_server::Config;

use crate::CliResult;
use crate::cli::{Access, TokenCommand};

pub async fn run(config: &Config, cmd: TokenCommand, access: Access) -> CliResult<()> {
    let TokenCommand::Verify { jwt, tenant } = cmd;
    let auth = crate::auth(config, access).await?;
    let keyring = auth
        .load_keyring(&tenant, &crate::public_url(config))
        .await?;
    let claims = auth
        .verify(&keyring, jwt.trim())
        .map_err(|e| format!("the token is not valid: {e}"))?;
    writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string_pretty(&claims)?
    )?;
    Ok(())
}
