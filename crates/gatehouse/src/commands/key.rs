//! `gatehouse key list|secret`.

use gatehouse_core::Error;
use gatehouse_core::keys::KeyState;
use gatehouse_server::Config;
use secrecy::ExposeSecret;

use crate::CliResult;
use crate::cli::KeyCommand;

pub async fn run(config: &Config, cmd: KeyCommand) -> CliResult<()> {
    let auth = crate::auth(config).await?;
    let (KeyCommand::List { tenant } | KeyCommand::Secret { tenant }) = &cmd;
    let t = auth
        .store()
        .tenant_by_name(tenant)
        .await?
        .ok_or_else(|| Error::TenantNotFound(tenant.clone()))?;
    let keys = auth.store().keys_for_tenant(&t.id).await?;
    match cmd {
        KeyCommand::List { .. } => {
            for k in keys {
                println!(
                    "{}\t{}\t{}\t{}",
                    k.kid,
                    k.algorithm,
                    k.state.as_str(),
                    k.created_at
                );
            }
        }
        KeyCommand::Secret { .. } => {
            let key = keys
                .iter()
                .find(|k| k.state == KeyState::Current && k.algorithm.is_symmetric())
                .ok_or("this tenant signs with a public-key algorithm; verify against its JWKS URL instead")?;
            println!("{}", key.private_material.expose_secret());
        }
    }
    Ok(())
}
