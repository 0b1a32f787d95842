//! `gatehouse user add|list|delete|grant|revoke`.

use std::io::Write;

use gatehouse_core::user::{Registration, User};
use gatehouse_server::Config;
use secrecy::SecretString;

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
        UserCommand::List { tenant } => {
            let tenant = tenant_of(tenant).await?;
            for user in services.accounts.list(&tenant).await? {
                writeln!(out, "{}", serde_json::to_string(&user)?)?;
            }
        }
        UserCommand::Delete { tenant, user } => {
            let tenant = tenant_of(tenant).await?;
            let id = services.accounts.find(&tenant, &user).await?.id;
            services.accounts.delete(&tenant, &id).await?;
            writeln!(out, "deleted user {id}")?;
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
