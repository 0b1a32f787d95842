//! The `gatehouse` binary as a library: configuration, wiring and one
//! function per subcommand, shared by `main.rs` and the tests.

pub mod cli;
mod commands;
pub mod import;
pub mod lambda;
mod master_key;

use std::io::Write;
use std::sync::Arc;

use gatehouse_core::clock::SystemClock;
use gatehouse_core::password::Argon2Hasher;
use gatehouse_core::service::Services;
use gatehouse_core::store::Store;
use gatehouse_core::tenant::DEFAULT_TENANT;
use gatehouse_server::Config;
use gatehouse_server::config::LogFormat;
use gatehouse_server::startup::{Parts, settings};
use gatehouse_store::{DatabaseUrl, OpenError, StoreOptions};

use crate::cli::{Access, Cli, Command};

/// The audit log of the command's services, flushed before the process
/// ends (a command records events like the server, in the background).
static AUDIT: std::sync::OnceLock<gatehouse_core::service::audit_log::AuditLog> =
    std::sync::OnceLock::new();

/// Any failure of a command, printed as one line.
pub type CliResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub async fn run(cli: Cli) -> CliResult<()> {
    let mut overrides = serde_json::to_value(&cli.global)?;
    // `serve`'s own flags are configuration too (absent ones skipped).
    if let (Command::Serve(args), Some(map)) = (&cli.command, overrides.as_object_mut())
        && let serde_json::Value::Object(flags) = serde_json::to_value(args)?
    {
        map.extend(flags);
    }
    let config = Config::load(cli.global.config.as_deref(), overrides)?;
    init_logging(&config, matches!(cli.command, Command::Serve(_)));
    for var in Config::unknown_env_vars() {
        tracing::warn!(variable = %var, "unknown GATEHOUSE_* variable ignored");
    }

    let access = cli.command.access();
    match cli.command {
        Command::Serve(_) => commands::serve::run(&config).await?,
        Command::Migrate => {
            open_store(&config, access).await?;
            writeln!(
                std::io::stdout(),
                "the database {} is up to date",
                DatabaseUrl::parse(&config.database_url)?
            )?;
        }
        Command::Tenant(cmd) => commands::tenant::run(&config, cmd, access).await?,
        Command::User(cmd) => commands::user::run(&config, cmd, access).await?,
        Command::Client(cmd) => commands::client::run(&config, cmd, access).await?,
        Command::Key(cmd) => commands::key::run(&config, cmd, access).await?,
        Command::Token(cmd) => commands::token::run(&config, cmd, access).await?,
        Command::Policy(cmd) => commands::policy::run(&config, cmd, access).await?,
        Command::ApiKey(cmd) => commands::apikey::run(&config, cmd, access).await?,
        Command::Secret(cmd) => commands::secret::run(&config, cmd, access).await?,
        Command::Events(args) => commands::events::run(&config, args, access).await?,
        Command::Import(args) => commands::import::run(&config, args, access).await?,
        Command::Invoke { action, tenant } => {
            commands::invoke::run(&config, action, &tenant).await?
        }
        Command::Lambda => lambda::run_http(&config).await?,
        Command::LambdaAuthorizer => lambda::run_authorizer(&config).await?,
    }
    // Audit events a command recorded are written before the process ends
    // (bounded: a database that went away must not hang the command).
    if let Some(audit) = AUDIT.get() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), audit.flush()).await;
    }
    // Whatever is still buffered must reach the reader, or say why not.
    std::io::stdout().flush()?;
    Ok(())
}

/// Whether `error`, or any error beneath it, is a write to a pipe whose
/// reader has gone (`gatehouse user list | head`). Rust ignores SIGPIPE,
/// so this arrives as an error from the write instead of ending the
/// process; `main` then exits quietly, as a command killed by SIGPIPE would.
pub fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(io) = error.downcast_ref::<std::io::Error>() {
        if io.kind() == std::io::ErrorKind::BrokenPipe {
            return true;
        }
        // An io::Error wrapping another reports the wrapped one's source
        // as its own, skipping the wrapped error itself: look at it here.
        if io.get_ref().is_some_and(|inner| is_broken_pipe(inner)) {
            return true;
        }
    }
    error.source().is_some_and(is_broken_pipe)
}

/// Opens the configured store: the one place the binary names a backend.
/// A read-only command never creates a missing SQLite file; it says where
/// it looked and how to point it at the right one.
pub(crate) async fn open_store(config: &Config, access: Access) -> CliResult<Arc<dyn Store>> {
    let url = DatabaseUrl::parse(&config.database_url)?;
    let options = StoreOptions {
        max_connections: config.db_max_connections,
        acquire_timeout: config.db_timeout,
        create_if_missing: access == Access::ReadWrite,
    };
    gatehouse_store::open(&url, &options)
        .await
        .map_err(|e| match e {
            OpenError::NotFound { .. } => format!(
                "{e}; point --database-url or GATEHOUSE_DATABASE_URL at the database the server uses"
            )
            .into(),
            other => other.into(),
        })
}

/// The production collaborators: the configured store, argon2id at the
/// configured cost, the wall clock, the master key. The store is opened
/// first, so a read-only command in the wrong directory names the missing
/// database rather than the missing key file beside it; a key from AWS
/// Secrets Manager is read first instead, so a wrong secret name stops
/// the start before a DynamoDB table is created.
pub(crate) async fn parts(config: &Config, access: Access) -> CliResult<Parts> {
    let early = match &config.master_key_secret {
        Some(_) if config.master_key.is_none() => Some(master_key::load(config, access).await?),
        _ => None,
    };
    let store = open_store(config, access).await?;
    let master = match early {
        Some(keys) => keys,
        None => master_key::load(config, access).await?,
    };
    Ok(Parts {
        store,
        hasher: Arc::new(Argon2Hasher::new(config.argon2)?),
        clock: Arc::new(SystemClock),
        master: Arc::new(master),
    })
}

/// The use cases for commands that run without a server. A command that
/// writes makes sure tenant `default` exists, like `serve`, so `gatehouse
/// user add` works on a fresh database before the server ever ran; one that
/// only reads writes nothing.
pub(crate) async fn services(config: &Config, access: Access) -> CliResult<Services> {
    let services = Services::new(
        parts(config, access).await?,
        settings(config),
        &public_url(config),
    )?;
    services.signing_keys.check_master_keys().await?;
    let _ = AUDIT.set(services.audit().clone());
    if access == Access::ReadWrite {
        services.tenants.ensure(DEFAULT_TENANT).await?;
    }
    Ok(services)
}

/// The base URL issuers derive from, when no server has bound a port.
pub(crate) fn public_url(config: &Config) -> String {
    config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen))
}

fn init_logging(config: &Config, serving: bool) {
    use tracing_subscriber::EnvFilter;
    // Commands print their results on stdout; only warnings go to the log.
    let default = if serving { config.log.as_str() } else { "warn" };
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_new(default))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let logger = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        // Each line: the event's fields, and in `spans` every span it
        // happened in, outermost first: a request's carries `request_id`.
        LogFormat::Json => logger.json().try_init(),
        // Colour codes only for a person at a terminal, not in log files.
        LogFormat::Text => logger
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn a_broken_pipe_is_found_however_deep() {
        let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        assert!(is_broken_pipe(&pipe));
        let wrapped = io::Error::other(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&wrapped));
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(pipe);
        assert!(is_broken_pipe(boxed.as_ref()));
        assert!(!is_broken_pipe(&io::Error::from(io::ErrorKind::NotFound)));
        let text: Box<dyn std::error::Error + Send + Sync> = "Broken pipe".into();
        assert!(!is_broken_pipe(text.as_ref()), "only the kind counts");
    }
}
