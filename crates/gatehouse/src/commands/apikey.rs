//! `gatehouse apikey create|list|revoke`: the admin API's core calls
//! (`/admin/t/{tenant}/apikeys`), printing the same JSON it answers.

use std::io::Write;

use gatehouse_core::service::api_keys::{ApiKeyView, CreatedApiKeyView, NewApiKey};
use gatehouse_server::Config;

use crate::CliResult;
use crate::cli::{Access, ApiKeyCommand};

pub async fn run(config: &Config, cmd: ApiKeyCommand, access: Access) -> CliResult<()> {
    let services = crate::services(config, access).await?;
    let mut out = std::io::stdout();
    match cmd {
        ApiKeyCommand::Create {
            tenant,
            name,
            scopes,
            expires_in,
            user,
        } => {
            let ctx = services.contexts.get(&tenant).await?;
            // Seconds, as the API takes them; core checks the range.
            let expires_in = expires_in
                .map(|d| i64::try_from(d.as_secs()))
                .transpose()
                .map_err(|_| "--expires-in is too long")?;
            let new = NewApiKey {
                name,
                scopes: (!scopes.is_empty()).then_some(scopes),
                expires_in,
                user,
            };
            let created = services.api_keys.create(&ctx, new).await?;
            // The only time the key is shown.
            writeln!(
                out,
                "{}",
                serde_json::to_string(&CreatedApiKeyView::from(&created))?
            )?;
        }
        ApiKeyCommand::List { tenant, user } => {
            let ctx = services.contexts.get(&tenant).await?;
            let user_id = match user {
                Some(u) => Some(services.accounts.find(ctx.tenant(), &u).await?.id),
                None => None,
            };
            for key in services.api_keys.list(&ctx, user_id.as_deref()).await? {
                writeln!(out, "{}", serde_json::to_string(&ApiKeyView::from(&key))?)?;
            }
        }
        ApiKeyCommand::Revoke { tenant, id } => {
            let ctx = services.contexts.get(&tenant).await?;
            services.api_keys.revoke(&ctx, &id, None).await?;
            writeln!(out, "revoked API key {id}")?;
        }
    }
    Ok(())
}
