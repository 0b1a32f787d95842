//! `gatehouse tenant create|list|set`.

use std::io::Write;

use gatehouse_core::tenant::{EmailVerification, Tenant, TenantSettings, TenantSpec};
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
            clear_display_name,
            email_verification,
            mail_from,
            clear_mail_from,
        } => {
            // Checked before anything is written: a mistyped mode changes
            // nothing, not even the display name given beside it.
            let mode = email_verification
                .as_deref()
                .map(EmailVerification::parse)
                .transpose()?;
            TenantSettings {
                email_verification: mode.unwrap_or_default(),
                mail_from: mail_from.clone(),
                ..TenantSettings::default()
            }
            .validate()?;
            // clap lets through at most one of --display-name and
            // --clear-display-name (and of the mail_from pair).
            let mut t = if display_name.is_some() || clear_display_name {
                services
                    .tenants
                    .set_display_name(&name, display_name.as_deref())
                    .await?
            } else {
                services.tenants.find(&name).await?
            };
            let settings_changed = mode.is_some() || mail_from.is_some() || clear_mail_from;
            if settings_changed {
                let mut settings = t.settings.clone();
                if let Some(mode) = mode {
                    settings.email_verification = mode;
                }
                if mail_from.is_some() || clear_mail_from {
                    settings.mail_from = mail_from.filter(|f| !f.is_empty());
                }
                t = services.tenants.set_settings(&name, settings).await?;
            }
            if display_name.is_some() || clear_display_name {
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
            if settings_changed {
                writeln!(
                    out,
                    "tenant {}: email_verification {}, mails from {}",
                    t.name,
                    t.settings.email_verification.as_str(),
                    t.settings
                        .mail_from
                        .as_deref()
                        .unwrap_or("the server's smtp_from")
                )?;
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
