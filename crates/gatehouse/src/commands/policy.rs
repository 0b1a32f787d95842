//! `gatehouse policy set|show`: the same parser and the same core calls as
//! `PUT` and `GET /admin/t/{tenant}/policies`, so the two cannot disagree.

use std::io::{Read, Write};
use std::path::Path;

use gatehouse_core::policy::{Policy, PolicyFormat};
use gatehouse_server::Config;

use crate::CliResult;
use crate::cli::{Access, PolicyCommand, PolicyFormatArg};

pub async fn run(config: &Config, cmd: PolicyCommand, access: Access) -> CliResult<()> {
    let mut out = std::io::stdout();
    match cmd {
        PolicyCommand::Set { tenant, file } => {
            // Checked before the database is opened: a malformed file
            // changes nothing, not even by creating a database.
            let policy = read_policy(&file)?;
            let services = crate::services(config, access).await?;
            let ctx = services.contexts.get(&tenant).await?;
            services.policies.replace(&ctx, &policy).await?;
            let n = policy.document().rules.len();
            let rules = if n == 1 { "rule" } else { "rules" };
            writeln!(out, "set {n} {rules} for tenant {}", ctx.name())?;
        }
        PolicyCommand::Show { tenant, format } => {
            let services = crate::services(config, access).await?;
            let ctx = services.contexts.get(&tenant).await?;
            let document = services.policies.current(&ctx);
            match format {
                PolicyFormatArg::Json => {
                    writeln!(out, "{}", serde_json::to_string_pretty(document)?)?
                }
                PolicyFormatArg::Toml => write!(out, "{}", document.to_toml()?)?,
            }
        }
    }
    Ok(())
}

/// The policy in `file` (`-`: JSON on standard input), its format told by
/// the extension, parsed as the admin API parses a request body.
fn read_policy(file: &Path) -> CliResult<Policy> {
    let (bytes, format) = if file == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read the policy from standard input: {e}"))?;
        (bytes, PolicyFormat::Json)
    } else {
        let extension = file
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let format = match extension.as_deref() {
            Some("json") => PolicyFormat::Json,
            Some("toml") => PolicyFormat::Toml,
            _ => {
                return Err(format!(
                    "cannot tell the format of {}: name it *.json or *.toml, or pipe JSON to `-`",
                    file.display()
                )
                .into());
            }
        };
        let bytes =
            std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        (bytes, format)
    };
    Ok(Policy::parse(&bytes, format)?)
}
