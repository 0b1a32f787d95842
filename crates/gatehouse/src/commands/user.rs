//! `gatehouse user add|list|show|disable|enable|delete|grant|revoke|
//! sessions|revoke-sessions`: through the same core calls as
//! `/admin/t/{tenant}/users` (`services.users`). With `--json` a command
//! prints what that API answers; without, lines for a person.

use std::io::Write;

use gatehouse_core::service::Services;
use gatehouse_core::service::user_admin::SessionView;
use gatehouse_core::user::{Registration, User};
use gatehouse_server::Config;
use secrecy::SecretString;
use serde_json::json;

use super::client::{label, when};
use crate::CliResult;
use crate::cli::{Access, UserCommand};

pub async fn run(config: &Config, cmd: UserCommand, access: Access) -> CliResult<()> {
    let services = crate::services(config, access).await?;
    let mut out = std::io::stdout();
    let tenant_of = |name: String| {
        let tenants = services.tenants.clone();
        async move { tenants.find(&name).await }
    };
    match cmd {
        UserCommand::Add {
            tenant,
            username,
            email,
            first_name,
            last_name,
        } => {
            let tenant = tenant_of(tenant).await?;
            let password = read_password()?;
            let user = services
                .accounts
                .register(
                    &tenant,
                    Registration {
                        username,
                        password,
                        email,
                        first_name,
                        last_name,
                    },
                )
                .await?;
            writeln!(out, "{}", serde_json::to_string(&user)?)?;
        }
        // Without a page flag: every user, one JSON line each, as before.
        UserCommand::List {
            tenant,
            search: None,
            limit: None,
            cursor: None,
            json: false,
        } => {
            let tenant = tenant_of(tenant).await?;
            for user in services.accounts.list(&tenant).await? {
                writeln!(out, "{}", serde_json::to_string(&user)?)?;
            }
        }
        UserCommand::List {
            tenant,
            search,
            limit,
            cursor,
            json,
        } => {
            let ctx = services.contexts.get(&tenant).await?;
            let page = services
                .users
                .list(&ctx, cursor, search.as_deref(), limit)
                .await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&page)?)?;
            } else {
                for user in &page.users {
                    writeln!(out, "{}", serde_json::to_string(user)?)?;
                }
                // On stderr: the lines above stay one user each for a pipe.
                if let Some(next) = &page.next_cursor {
                    eprintln!("more users: add --cursor {next}");
                }
            }
        }
        UserCommand::Show { tenant, user, json } => {
            let ctx = services.contexts.get(&tenant).await?;
            let user = services.users.get(&ctx, &user).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&user)?)?;
            } else {
                print_user(&mut out, &user)?;
            }
        }
        UserCommand::Disable { tenant, user, json } => {
            set_disabled(&services, &mut out, &tenant, &user, true, json).await?;
        }
        UserCommand::Unlock { tenant, user, json } => {
            let ctx = services.contexts.get(&tenant).await?;
            let user = services.users.unlock(&ctx, &user).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&user)?)?;
            } else {
                writeln!(out, "unlocked user {} ({})", user.username, user.id)?;
            }
        }
        UserCommand::Enable { tenant, user, json } => {
            set_disabled(&services, &mut out, &tenant, &user, false, json).await?;
        }
        UserCommand::Delete { tenant, user, json } => {
            let tenant = tenant_of(tenant).await?;
            let id = services.accounts.find(&tenant, &user).await?.id;
            services.accounts.delete(&tenant, &id).await?;
            if json {
                writeln!(out, "{}", json!({ "deleted": id }))?;
            } else {
                writeln!(out, "deleted user {id}")?;
            }
        }
        UserCommand::Sessions { tenant, user, json } => {
            let ctx = services.contexts.get(&tenant).await?;
            let sessions = services.users.sessions(&ctx, &user).await?;
            if json {
                writeln!(out, "{}", json!({ "sessions": sessions }))?;
            } else {
                print_sessions(&mut out, &sessions)?;
            }
        }
        UserCommand::RevokeSessions {
            tenant,
            user,
            session,
            json,
        } => {
            let ctx = services.contexts.get(&tenant).await?;
            let revoked = services
                .users
                .revoke_sessions(&ctx, &user, session.as_deref())
                .await?;
            if json {
                writeln!(out, "{}", json!({ "revoked": revoked }))?;
            } else {
                let s = if revoked == 1 { "" } else { "s" };
                writeln!(out, "ended {revoked} session{s} of {user}")?;
            }
        }
        UserCommand::Grant { tenant, user, role } => {
            let tenant = tenant_of(tenant).await?;
            let id = services.accounts.find(&tenant, &user).await?.id;
            let user = services.accounts.grant_role(&tenant, &id, &role).await?;
            print_roles(&mut out, &user)?;
        }
        UserCommand::Revoke { tenant, user, role } => {
            let tenant = tenant_of(tenant).await?;
            let id = services.accounts.find(&tenant, &user).await?.id;
            let user = services.accounts.revoke_role(&tenant, &id, &role).await?;
            print_roles(&mut out, &user)?;
        }
    }
    Ok(())
}

/// `disable` and `enable`: disabling ends the user's sessions at once
/// (core's rule, as for the admin API).
async fn set_disabled(
    services: &Services,
    out: &mut impl Write,
    tenant: &str,
    user: &str,
    disable: bool,
    json: bool,
) -> CliResult<()> {
    let ctx = services.contexts.get(tenant).await?;
    let user = services.users.set_disabled(&ctx, user, disable).await?;
    if json {
        writeln!(out, "{}", serde_json::to_string(&user)?)?;
    } else if disable {
        writeln!(
            out,
            "disabled user {} ({}): their sessions have ended and their logins are refused",
            user.username, user.id
        )?;
    } else {
        writeln!(out, "enabled user {} ({})", user.username, user.id)?;
    }
    Ok(())
}

/// One user on labelled lines.
fn print_user(out: &mut impl Write, u: &User) -> CliResult<()> {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    label(out, "id", &u.id)?;
    label(out, "username", &u.username)?;
    label(out, "email", u.email.as_deref().unwrap_or(""))?;
    label(out, "email_verified", yes_no(u.email_verified))?;
    label(out, "first_name", u.first_name.as_deref().unwrap_or(""))?;
    label(out, "last_name", u.last_name.as_deref().unwrap_or(""))?;
    label(out, "roles", &u.roles.join(" "))?;
    label(out, "disabled", yes_no(u.disabled))?;
    label(out, "created_at", &when(u.created_at))?;
    Ok(())
}

/// One session a line: id, created, last refreshed, client, IP, user
/// agent, tab-separated (`-` for what is not known).
fn print_sessions(out: &mut impl Write, sessions: &[SessionView]) -> CliResult<()> {
    writeln!(out, "id\tcreated\tlast_refreshed\tclient\tip\tuser_agent")?;
    for s in sessions {
        // A user agent is the client's text: no tab or line break of its
        // own may shift the columns.
        let agent: String = s
            .user_agent
            .as_deref()
            .unwrap_or("-")
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{agent}",
            s.id,
            when(s.created_at),
            s.last_refreshed_at.map(when).as_deref().unwrap_or("-"),
            s.client_id,
            s.ip.as_deref().unwrap_or("-"),
        )?;
    }
    Ok(())
}

/// The user's roles after a change: `alice (ID) roles: admin billing`.
fn print_roles(out: &mut impl Write, user: &User) -> CliResult<()> {
    let roles = if user.roles.is_empty() {
        "(none)".to_string()
    } else {
        user.roles.join(" ")
    };
    writeln!(out, "{} ({}) roles: {roles}", user.username, user.id)?;
    Ok(())
}

fn read_password() -> CliResult<SecretString> {
    super::read_secret_line(
        "no password given: pipe it on standard input, e.g. `echo \"$PW\" | gatehouse user add alice`",
    )
}
