//! `gatehouse import`: users from a JSON-lines or CSV file, or from the
//! Ruby functions' MySQL table, with the password hashes they have (see
//! `gatehouse_core::legacy_hash`).
//!
//! Each line stands alone: a bad line is reported with its number and the
//! rest go on. A rerun skips the users already present, so fixing the
//! reported lines and running the same command again is safe. If the
//! store fails mid-way, the import stops and says how far it got.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use gatehouse_core::Error;
use gatehouse_core::service::accounts::Imported;
use gatehouse_server::Config;

use crate::CliResult;
use crate::cli::{Access, ImportArgs, ImportFormat};
use crate::import::{Record, files, mysql};

pub async fn run(config: &Config, args: ImportArgs, access: Access) -> CliResult<()> {
    let records = match (&args.file, &args.from_mysql) {
        (Some(path), None) => read_file(path, args.format)?,
        (None, Some(url)) => {
            let table = args.table.as_deref().unwrap_or("users");
            mysql::read_table(url, table).await?
        }
        _ => return Err("name one source: a FILE, or --from-mysql URL [--table users]".into()),
    };
    let services = crate::services(config, access).await?;
    let tenant = services.tenants.find(&args.tenant).await?;

    let mut created: BTreeMap<&'static str, usize> = BTreeMap::new();
    let (mut present, mut refused, mut last_written) = (0usize, 0usize, None);
    for Record { line, user } in records {
        let outcome = match user {
            Ok(user) => services.accounts.import(&tenant, user).await,
            Err(reason) => Err(Error::invalid("line", reason)),
        };
        match outcome {
            Ok(Imported::Created(kind)) => {
                *created.entry(kind.as_str()).or_default() += 1;
                last_written = Some(line);
            }
            Ok(Imported::AlreadyPresent) => present += 1,
            Err(Error::InvalidInput { field, message }) => {
                refused += 1;
                let field = if field == "line" {
                    String::new()
                } else {
                    format!("{field}: ")
                };
                report(format_args!("line {line}: refused: {field}{message}"));
            }
            Err(e @ Error::Conflict(_)) => {
                let message = e.to_string();
                refused += 1;
                report(format_args!("line {line}: refused: {message}"));
            }
            Err(fatal) => {
                let fatal = match fatal {
                    Error::Unavailable(_) => {
                        "the database is unavailable or did not answer in time".to_string()
                    }
                    other => other.to_string(),
                };
                let written: usize = created.values().sum();
                let upto =
                    last_written.map_or(String::new(), |l| format!(", the last at line {l}"));
                return Err(format!(
                    "stopped at line {line}: {fatal}. {written} users were written before it{upto}; \
                     run the same command again once this is fixed (users already imported are skipped)"
                )
                .into());
            }
        }
    }
    let written: usize = created.values().sum();
    let kinds = created
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    writeln!(
        std::io::stdout(),
        "imported {written} users into tenant {}{}; {present} already present; {refused} lines refused",
        args.tenant,
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({kinds})")
        },
    )?;
    if refused > 0 {
        return Err(format!(
            "{refused} lines were refused (listed above); the others were imported"
        )
        .into());
    }
    Ok(())
}

/// One refused line, on standard error. A closed stderr must not stop an
/// import half-way (as `eprintln!` would, by panicking), so a failed write
/// is dropped: the summary and the exit status still say lines were refused.
fn report(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn read_file(path: &Path, format: Option<ImportFormat>) -> CliResult<Vec<Record>> {
    let format = match format {
        Some(f) => f,
        None => match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "ndjson" | "json") => ImportFormat::Jsonl,
            Some("csv") => ImportFormat::Csv,
            _ => {
                return Err(format!(
                    "cannot tell the format of {} from its name; add --format jsonl or --format csv",
                    path.display()
                )
                .into());
            }
        },
    };
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok(match format {
        ImportFormat::Jsonl => files::read_jsonl(file),
        ImportFormat::Csv => files::read_csv(file),
    })
}
