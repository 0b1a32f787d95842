//! `gatehouse user add|list|delete`.

use std::io::Write;

use gatehouse_core::user::Registration;
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
    }
    Ok(())
}

fn read_password() -> CliResult<SecretString> {
    super::read_secret_line(
        "no password given: pipe it on standard input, e.g. `echo \"$PW\" | gatehouse user add alice`",
    )
}
