//! `gatehouse key list|rotate|rewrap|secret`.

use std::io::Write;

use gatehouse_core::keys::KeyState;
use gatehouse_server::Config;
use secrecy::ExposeSecret;

use crate::CliResult;
use crate::cli::{Access, KeyCommand};

pub async fn run(config: &Config, cmd: KeyCommand, access: Access) -> CliResult<()> {
    let auth = crate::auth(config, access).await?;
    let mut out = std::io::stdout();
    match cmd {
        KeyCommand::List { tenant } => {
            for k in auth.list_keys(&tenant).await? {
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
            let next = auth.rotate_key(&tenant, algorithm, immediately).await?;
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
                    auth.settings().rotation.prepublish_secs
                )?;
            }
        }
        KeyCommand::Rewrap => {
            let n = auth.rewrap_keys(false).await?;
            writeln!(out, "re-sealed {n} signing keys with the first master key")?;
        }
        KeyCommand::Secret { tenant } => {
            let keys = auth.list_keys(&tenant).await?;
            let key = keys
                .iter()
                .find(|k| k.state == KeyState::Current && k.algorithm.is_symmetric())
                .ok_or("this tenant signs with a public-key algorithm; verify against its JWKS URL instead")?;
            let master = crate::master_key::load(config, access)?;
            writeln!(out, "{}", key.open(&master)?.expose_secret())?;
        }
    }
    Ok(())
}
