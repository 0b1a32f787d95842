//! `gatehouse serve`: migrate, make sure tenant `default` and its key exist,
//! serve until SIGINT/SIGTERM.

use gatehouse_server::Application;
use gatehouse_server::Config;
use gatehouse_server::startup::shutdown_signal;

use crate::CliResult;
use crate::cli::Access;

pub async fn run(config: &Config) -> CliResult<()> {
    let parts = crate::parts(config, Access::ReadWrite).await?;
    let app = Application::build(config, parts).await?;
    tracing::info!(
        listen = %app.address(),
        issuer = %app.default_issuer(),
        database = %gatehouse_store::DatabaseUrl::parse(&config.database_url)?,
        admin_api = if config.admin_token.is_some() { "open" } else { "closed" },
        "gatehouse is listening"
    );
    if let (Some(proxy), Some(upstream)) = (app.proxy_address(), &config.upstream) {
        tracing::info!(
            listen = %proxy,
            upstream = %upstream,
            tenant = %config.proxy_tenant,
            "proxy mode is listening"
        );
    }
    app.run_until(shutdown_signal()).await?;
    tracing::info!("gatehouse stopped");
    Ok(())
}
