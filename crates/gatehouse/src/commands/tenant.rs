//! `gatehouse tenant create|list`.

use std::io::Write;

use gatehouse_core::tenant::TenantSpec;
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
        } => {
            let spec = TenantSpec {
                algorithm: algorithm.as_deref().map(str::parse).transpose()?,
                access_ttl_secs: access_ttl.map(|d| d.as_secs() as i64),
                audiences,
            };
            let t = services.tenants.create(&name, spec).await?;
            writeln!(
                out,
                "created tenant {} ({}, access tokens {}s), issuer {}",
                t.name,
                t.algorithm,
                t.access_ttl_secs,
                services.contexts.issuer_of(&t.name)
            )?;
        }
        TenantCommand::List => {
            for t in services.tenants.list().await? {
                writeln!(
                    out,
                    "{}\t{}\t{}s\t{}",
                    t.name,
                    t.algorithm,
                    t.access_ttl_secs,
                    services.contexts.issuer_of(&t.name)
                )?;
            }
        }
    }
    Ok(())
}
