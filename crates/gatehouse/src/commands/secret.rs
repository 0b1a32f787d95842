//! `gatehouse secret set|list|delete`: named tenant secrets (webhook
//! signing secrets), through the same core calls as
//! `/admin/t/{tenant}/secrets`. A value is printed only when Gatehouse
//! generated it, once.

use std::io::Write;

use gatehouse_core::service::tenant_secrets::SecretValue;
use gatehouse_server::Config;
use secrecy::ExposeSecret;

use crate::CliResult;
use crate::cli::{Access, SecretCommand};

pub async fn run(config: &Config, cmd: SecretCommand, access: Access) -> CliResult<()> {
    let mut out = std::io::stdout();
    match cmd {
        SecretCommand::Set {
            tenant,
            name,
            generate,
        } => {
            // Read before anything is opened, so a missing value writes nothing.
            let value = if generate {
                SecretValue::Generate
            } else {
                SecretValue::Given(super::read_secret_line(
                    "no value given: pipe it on standard input, e.g. `echo \"$SECRET\" | gatehouse secret set NAME`, or use --generate",
                )?)
            };
            let services = crate::services(config, access).await?;
            let ctx = services.contexts.get(&tenant).await?;
            match services.secrets.put(&ctx, &name, value).await? {
                Some(generated) => writeln!(out, "{}", generated.expose_secret())?,
                None => writeln!(out, "set secret {name} for tenant {}", ctx.name())?,
            }
        }
        SecretCommand::List { tenant } => {
            let services = crate::services(config, access).await?;
            let ctx = services.contexts.get(&tenant).await?;
            for secret in services.secrets.names(&ctx).await? {
                writeln!(out, "{}", serde_json::to_string(&secret)?)?;
            }
        }
        SecretCommand::Delete { tenant, name } => {
            let services = crate::services(config, access).await?;
            let ctx = services.contexts.get(&tenant).await?;
            services.secrets.delete(&ctx, &name).await?;
            writeln!(out, "deleted secret {name}")?;
        }
    }
    Ok(())
}
