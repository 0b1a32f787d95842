//! `gatehouse tenant create|list|set`.

use std::io::Write;

use gatehouse_core::tenant::{Tenant, TenantSpec};
use gatehouse_server::Config;

use crate::CliResult;
use crate::cli::{Access, TenantCommand};

pub async fn run(config: &Config, cmd: TenantCommand, access: Access) -> CliResult<()> {
    let services = crate::services(config, access).await?;
    let mut out = std::io::stdout();
    match cmd {
        TenantCommand::Create {
            name,
            algorithm,
            access_ttl,
            audiences,
            display_name,
        } => {
            let spec = TenantSpec {
                algorithm: algorithm.as_deref().map(str::parse).transpose()?,
                access_ttl_secs: access_ttl
                    .map(|d| i64::try_from(d.as_secs()))
                    .transpose()
                    .map_err(|_| "--access-ttl is too long")?,
                audiences,
                display_name,
            };
            let t = services.tenants.create(&name, spec).await?;
            writeln!(
                out,
                "created tenant {} ({}, access tokens {}s{}), issuer {}",
                t.name,
                t.algorithm,
                t.access_ttl_secs,
                shown_as(&t),
                services.contexts.issuer_of(&t.name)
            )?;
        }
        TenantCommand::List => {
            for t in services.tenants.list().await? {
                writeln!(
                    out,
                    "{}\t{}\t{}s\t{}\t{}",
                    t.name,
                    t.algorithm,
                    t.access_ttl_secs,
                    services.contexts.issuer_of(&t.name),
                    t.display_name.as_deref().unwrap_or("-"),
                )?;
            }
        }
        TenantCommand::Set {
            name,
            display_name,
            clear_display_name: _,
        } => {
            // clap lets through exactly one of --display-name and
            // --clear-display-name: no name given means clear it.
            let t = services
                .tenants
                .set_display_name(&name, display_name.as_deref())
                .await?;
            match &t.display_name {
                Some(shown) => writeln!(
                    out,
                    "tenant {} is shown as {shown:?} on the hosted pages",
                    t.name
                )?,
                None => writeln!(
                    out,
                    "tenant {} is shown by its name on the hosted pages",
                    t.name
                )?,
            }
        }
    }
    Ok(())
}

/// `, shown as "Acme Corp"` when the tenant has a display name.
fn shown_as(t: &Tenant) -> String {
    t.display_name
        .as_deref()
        .map(|d| format!(", shown as {d:?}"))
        .unwrap_or_default()
}
