//! `gatehouse token verify`: the same verifier `/auth` uses, offline.

use std::io::Write;

use gatehouse_server::Config;

use crate::CliResult;
use crate::cli::{Access, TokenCommand};

pub async fn run(config: &Config, cmd: TokenCommand, access: Access) -> CliResult<()> {
    let TokenCommand::Verify { jwt, tenant } = cmd;
    let services = crate::services(config, access).await?;
    let ctx = services.contexts.get(&tenant).await?;
    let claims = services
        .gate
        .verify(&ctx, jwt.trim())
        .map_err(|e| format!("the token is not valid: {e}"))?;
    writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string_pretty(&claims)?
    )?;
    Ok(())
}
