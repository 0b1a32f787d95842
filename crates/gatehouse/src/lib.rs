//! The `gatehouse` binary as a library: configuration, wiring and one
//! function per subcommand, shared by `main.rs` and the tests.

pub mod cli;
mod commands;
pub mod import;
pub mod lambda;
mod master_key;

use std::sync::Arc;

use gatehouse_core::auth::Auth;
use gatehouse_core::clock::SystemClock;
use gatehouse_core::password::Argon2Hasher;
use gatehouse_core::store::Store;
use gatehouse_core::tenant::DEFAULT_TENANT;
use gatehouse_server::Config;
use gatehouse_server::startup::{Parts, auth_settings};
use gatehouse_store::{DatabaseUrl, StoreOptions};

use crate::cli::{Cli, Command};

/// Any failure of a command, printed as one line.
pub type CliResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub async fn run(cli: Cli) -> CliResult<()> {
    let mut overrides = serde_json::to_value(&cli.global)?;
    if let (Command::Serve(args), Some(map)) = (&cli.command, overrides.as_object_mut())
        && let Some(listen) = &args.listen
    {
        map.insert("listen".into(), listen.clone().into());
    }
    let config = Config::load(cli.global.config.as_deref(), overrides)?;
    init_logging(&config, matches!(cli.command, Command::Serve(_)));
    for var in Config::unknown_env_vars() {
        tracing::warn!(variable = %var, "unknown GATEHOUSE_* variable ignored");
    }

    match cli.command {
        Command::Serve(_) => commands::serve::run(&config).await,
        Command::Migrate => {
            open_store(&config).await?;
            println!(
                "the database {} is up to date",
                DatabaseUrl::parse(&config.database_url)?
            );
            Ok(())
        }
        Command::Tenant(cmd) => commands::tenant::run(&config, cmd).await,
        Command::User(cmd) => commands::user::run(&config, cmd).await,
        Command::Key(cmd) => commands::key::run(&config, cmd).await,
        Command::Token(cmd) => commands::token::run(&config, cmd).await,
        Command::Import(args) => commands::import::run(&config, args).await,
        Command::Invoke { action, tenant } => commands::invoke::run(&config, action, &tenant).await,
        Command::Lambda => lambda::run_http(&config).await,
        Command::LambdaAuthorizer => lambda::run_authorizer(&config).await,
    }
}

/// Opens the configured store: the one place the binary names a backend.
pub(crate) async fn open_store(config: &Config) -> CliResult<Arc<dyn Store>> {
    let url = DatabaseUrl::parse(&config.database_url)?;
    let options = StoreOptions {
        max_connections: config.db_max_connections,
        acquire_timeout: config.db_timeout,
    };
    Ok(gatehouse_store::open(&url, &options).await?)
}

/// The production collaborators: the configured store, argon2id at the
/// configured cost, the wall clock.
pub(crate) async fn parts(config: &Config) -> CliResult<Parts> {
    Ok(Parts {
        store: open_store(config).await?,
        hasher: Arc::new(Argon2Hasher::new(config.argon2)?),
        clock: Arc::new(SystemClock),
        master: Arc::new(master_key::load(config)?),
    })
}

/// The domain flows for commands that run without a server. Like `serve`,
/// it makes sure tenant `default` exists, so `gatehouse user add` works on
/// a fresh database before the server ever ran.
pub(crate) async fn auth(config: &Config) -> CliResult<Auth> {
    let p = parts(config).await?;
    let auth = Auth::new(p.store, p.hasher, p.clock, p.master, auth_settings(config))?;
    auth.check_master_keys().await?;
    auth.ensure_tenant(DEFAULT_TENANT).await?;
    Ok(auth)
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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
