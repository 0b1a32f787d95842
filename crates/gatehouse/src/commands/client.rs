//! `gatehouse client create|list|show|delete|rotate-secret`: OAuth clients,
//! through the same core calls as `/admin/t/{tenant}/clients`. With
//! `--json` a command prints the JSON that API answers; without, labelled
//! lines for a person. A secret is printed by `create` and `rotate-secret`
//! only, once: Gatehouse keeps only its hash.

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use gatehouse_core::clock::UnixTime;
use gatehouse_core::oauth::client::ClientSpec;
use gatehouse_core::service::clients::{ClientView, ClientWithSecret};
use gatehouse_server::Config;
use secrecy::ExposeSecret;

use crate::CliResult;
use crate::cli::{Access, ClientCommand};

pub async fn run(config: &Config, cmd: ClientCommand, access: Access) -> CliResult<()> {
    let mut out = std::io::stdout();
    match cmd {
        ClientCommand::Create {
            tenant,
            name,
            client_type,
            grants,
            scopes,
            redirect_uris,
            post_logout_redirect_uris,
            json,
        } => {
            let spec = ClientSpec {
                name,
                client_type,
                grants: split_list(&grants),
                scopes: split_list(&scopes),
                redirect_uris,
                post_logout_redirect_uris,
                // `--type` says it; the admin API also takes the RFC 7591
                // `token_endpoint_auth_method`, which adds nothing here.
                ..ClientSpec::default()
            };
            // Core checks the spec again when it registers the client; this
            // first check only makes sure a mistyped command writes nothing,
            // not even a new database.
            spec.clone().validate()?;
            let services = crate::services(config, access).await?;
            let ctx = services.contexts.get(&tenant).await?;
            let made = services.clients.create(&ctx, spec).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&made)?)?;
            } else {
                let c = &made.client;
                writeln!(
                    out,
                    "created {} client {:?} in tenant {}",
                    c.client_type.as_str(),
                    c.name,
                    ctx.name()
                )?;
                label(&mut out, "grants", &c.grants.join(" "))?;
                label(&mut out, "scopes", &c.scopes.join(" "))?;
                print_secret(&mut out, &made)?;
                if made.client_secret.is_none() {
                    writeln!(
                        out,
                        "(a public client has no secret: it proves itself with PKCE)"
                    )?;
                }
            }
        }
        ClientCommand::List { tenant, json } => {
            let services = crate::services(config, access).await?;
            let ctx = services.contexts.get(&tenant).await?;
            let clients = services.clients.list(&ctx).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&clients)?)?;
            } else {
                for c in &clients {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}",
                        c.client_id,
                        c.name,
                        c.client_type.as_str(),
                        c.grants.join(","),
                        or_dash(&c.scopes.join(" ")),
                    )?;
                }
            }
        }
        ClientCommand::Show {
            tenant,
            client_id,
            json,
        } => {
            let services = crate::services(config, access).await?;
            let ctx = services.contexts.get(&tenant).await?;
            let c = services.clients.show(&ctx, &client_id).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&c)?)?;
            } else {
                print_client(&mut out, &c)?;
            }
        }
        ClientCommand::Delete { tenant, client_id } => {
            let services = crate::services(config, access).await?;
            let ctx = services.contexts.get(&tenant).await?;
            services.clients.delete(&ctx, &client_id).await?;
            writeln!(
                out,
                "deleted client {client_id}; the sessions issued to it are revoked"
            )?;
        }
        ClientCommand::RotateSecret {
            tenant,
            client_id,
            overlap,
            json,
        } => {
            // Seconds, as core takes them; core checks the range. `None`:
            // the configured `client_secret_overlap`.
            let overlap_secs = overlap
                .map(|d| i64::try_from(d.as_secs()))
                .transpose()
                .map_err(|_| "--overlap is too long")?;
            let services = crate::services(config, access).await?;
            let ctx = services.contexts.get(&tenant).await?;
            let rotated = services
                .clients
                .rotate_secret(&ctx, &client_id, overlap_secs)
                .await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&rotated)?)?;
            } else {
                writeln!(
                    out,
                    "rotated the secret of client {:?}",
                    rotated.client.name
                )?;
                print_secret(&mut out, &rotated)?;
                if let Some(until) = rotated.client.previous_secret_expires_at {
                    writeln!(out, "The previous secret works until {}.", when(until))?;
                }
            }
        }
    }
    Ok(())
}

/// `--grants a,b --grants "c d"` → `[a, b, c, d]`: commas and spaces both
/// separate, as in a scope string (RFC 6749 §3.3), and a flag may repeat.
fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// The client id and, if there is one, the secret, on labelled lines, and
/// the warning that it is the only time.
fn print_secret(out: &mut impl Write, made: &ClientWithSecret) -> CliResult<()> {
    label(out, "client_id", &made.client.client_id)?;
    if let Some(secret) = &made.client_secret {
        label(out, "client_secret", secret.expose_secret())?;
        writeln!(
            out,
            "Copy the secret now: Gatehouse stores only its hash and cannot show it again."
        )?;
    }
    Ok(())
}

fn print_client(out: &mut impl Write, c: &ClientView) -> CliResult<()> {
    label(out, "client_id", &c.client_id)?;
    label(out, "name", &c.name)?;
    label(out, "type", c.client_type.as_str())?;
    label(
        out,
        "token_endpoint_auth_method",
        c.token_endpoint_auth_method,
    )?;
    label(out, "grants", &c.grants.join(" "))?;
    label(out, "scopes", &c.scopes.join(" "))?;
    labels(out, "redirect_uris", &c.redirect_uris)?;
    labels(
        out,
        "post_logout_redirect_uris",
        &c.post_logout_redirect_uris,
    )?;
    if let Some(until) = c.previous_secret_expires_at {
        label(out, "previous_secret_valid_until", &when(until))?;
    }
    label(out, "created_at", &when(c.created_at))?;
    Ok(())
}

/// `name:` padded so the values line up; `-` for an empty value.
pub(crate) fn label(out: &mut impl Write, name: &str, value: &str) -> CliResult<()> {
    let name = format!("{name}:");
    writeln!(out, "{name:<28} {}", or_dash(value))?;
    Ok(())
}

/// One value a line, the name on the first (URIs may hold what a
/// separator would).
fn labels(out: &mut impl Write, name: &str, values: &[String]) -> CliResult<()> {
    let Some((first, rest)) = values.split_first() else {
        return label(out, name, "");
    };
    label(out, name, first)?;
    for value in rest {
        writeln!(out, "{:<28} {value}", "")?;
    }
    Ok(())
}

fn or_dash(value: &str) -> &str {
    if value.is_empty() { "-" } else { value }
}

/// A Unix time as RFC 3339 (UTC), or the plain number if it predates 1970.
pub(crate) fn when(t: UnixTime) -> String {
    match u64::try_from(t) {
        Ok(secs) => {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
        }
        Err(_) => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_commas_and_spaces_across_repeats() {
        let given = [
            "a,b".to_string(),
            " c  d ".to_string(),
            "e, f,,".to_string(),
        ];
        assert_eq!(split_list(&given), ["a", "b", "c", "d", "e", "f"]);
        assert!(split_list(&[String::new()]).is_empty());
    }
}
