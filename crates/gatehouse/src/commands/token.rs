//! `gatehouse token verify`: the same verifier `/auth` uses, offline.

use gatehouse_server::Config;

use crate::CliResult;
use crate::cli::TokenCommand;

pub async fn run(config: &Config, cmd: TokenCommand) -> CliResult<()> {
    let TokenCommand::Verify { jwt, tenant } = cmd;
    let auth = crate::auth(config).await?;
    let keyring = auth
        .load_keyring(&tenant, &crate::public_url(config))
        .await?;
    let claims = auth
        .verify(&keyring, jwt.trim())
        .map_err(|e| format!("the token is not valid: {e}"))?;
    println!("{}", serde_json::to_string_pretty(&claims)?);
    Ok(())
}
