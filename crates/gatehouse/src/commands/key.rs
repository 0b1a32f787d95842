//! `gatehouse key list|rotate|rewrap|secret`.

use std::io::Write;

use gatehouse_server::Config;
use secrecy::ExposeSecret;

use crate::CliResult;
use crate::cli::{Access, KeyCommand};

pub async fn run(config: &Config, cmd: KeyCommand, access: Access) -> CliResult<()> {
    let services = crate::services(config, access).await?;
    let tenants = &services.tenants;
    let mut out = std::io::stdout();
    match cmd {
        KeyCommand::List { tenant } => {
            let tenant = tenants.find(&tenant).await?;
            for k in services.signing_keys.list(&tenant).await? {
                writeln!(
                    out,
                    "{}\t{}\t{}\tcreated {}\tactivated {}\tretired {}",
                    k.kid,
                    k.algorithm,
                    k.state.as_str(),
                    k.created_at,
                    k.activated_at.map_or("-".into(), |t| t.to_string()),
                    k.retired_at.map_or("-".into(), |t| t.to_string()),
                )?;
            }
        }
        KeyCommand::Rotate {
            tenant,
            algorithm,
            immediately,
        } => {
            let algorithm = algorithm.as_deref().map(str::parse).transpose()?;
            let found = tenants.find(&tenant).await?;
            let next = services
                .signing_keys
                .rotate(&found, algorithm, immediately)
                .await?;
            if immediately {
                writeln!(
                    out,
                    "key {} ({}) now signs for tenant {tenant}",
                    next.kid, next.algorithm
                )?;
            } else {
                writeln!(
                    out,
                    "key {} ({}) is published and signs for tenant {tenant} after {}s",
                    next.kid,
                    next.algorithm,
                    services.settings().rotation.prepublish_secs
                )?;
            }
        }
        KeyCommand::Rewrap => {
            let n = services.signing_keys.rewrap(false).await?;
            writeln!(out, "re-sealed {n} signing keys with the first master key")?;
        }
        KeyCommand::Secret { tenant } => {
            let tenant = tenants.find(&tenant).await?;
            let secret = services.signing_keys.shared_secret(&tenant).await?.ok_or(
                "this tenant signs with a public-key algorithm; verify against its JWKS URL instead",
            )?;
            writeln!(out, "{}", secret.expose_secret())?;
        }
    }
    Ok(())
}
