//! Gatehouse as AWS Lambda functions:
//!
//! - `gatehouse lambda`: the whole HTTP router behind API Gateway (REST
//!   API payload 1.0 and HTTP API payload 2.0), through `lambda_http`;
//! - `gatehouse lambda-authorizer`: an API Gateway Lambda authorizer that
//!   verifies the bearer token offline (see [`authorizer`]).
//!
//! Both build the same state as `serve`, minus the listener. The store must
//! be shared by every instance: DynamoDB (no VPC, no database server, no
//! connections for Lambda's concurrency to run out of), PostgreSQL or
//! MySQL. SQLite on Lambda's ephemeral disk would give each instance its
//! own users and keys, so it is refused unless
//! `GATEHOUSE_LAMBDA_ALLOW_SQLITE=true` says that is meant (a demo, a
//! single reserved instance with a mounted EFS volume). The master key may
//! come from Secrets Manager (`GATEHOUSE_MASTER_KEY_SECRET`), so the
//! function's environment holds no key.

pub mod authorizer;
pub mod http;

use gatehouse_server::startup::{maintain_keys, prepare_state};
use gatehouse_server::{AppState, Config};
use gatehouse_store::DatabaseUrl;

use crate::CliResult;
use crate::cli::Access;

/// The variable the Lambda runtime sets; without it there is no Lambda
/// runtime API to poll, and `lambda_runtime` would panic.
const RUNTIME_API_VAR: &str = "AWS_LAMBDA_RUNTIME_API";

/// Checks what a Lambda deployment needs before anything is opened.
pub fn check_config(config: &Config) -> CliResult<()> {
    let url = DatabaseUrl::parse(&config.database_url)?;
    if url.scheme() == "sqlite" && !config.lambda_allow_sqlite {
        return Err(
            "SQLite is refused on AWS Lambda: each instance would keep its own users \
                    and keys on its own ephemeral disk. Set GATEHOUSE_DATABASE_URL to a \
                    dynamodb://TABLE (no VPC needed), postgres:// or mysql:// URL, or \
                    GATEHOUSE_LAMBDA_ALLOW_SQLITE=true if one instance with its own database is \
                    really what you want"
                .into(),
        );
    }
    if config.public_url.is_none() {
        return Err(
            "GATEHOUSE_PUBLIC_URL must be set on AWS Lambda: it is the issuer of every \
                    token (the API's URL, e.g. https://abc123.execute-api.us-east-1.amazonaws.com)"
                .into(),
        );
    }
    Ok(())
}

/// The state a Lambda instance serves from: built once per cold start and
/// reused by every invocation the instance handles.
pub async fn state(config: &Config) -> CliResult<AppState> {
    check_config(config)?;
    let public_url = crate::public_url(config);
    let state = prepare_state(
        config,
        crate::parts(config, Access::ReadWrite).await?,
        &public_url,
    )
    .await?;
    // Runs between invocations while the instance is thawed: good enough,
    // since any node (or `gatehouse key`) may apply a due key step.
    tokio::spawn(maintain_keys(state.clone(), config.key_check_interval));
    Ok(state)
}

fn require_runtime() -> CliResult<()> {
    if std::env::var_os(RUNTIME_API_VAR).is_none() {
        return Err(format!(
            "this command runs inside AWS Lambda ({RUNTIME_API_VAR} is not set); \
             use `gatehouse serve` elsewhere"
        )
        .into());
    }
    Ok(())
}

/// `gatehouse lambda`.
pub async fn run_http(config: &Config) -> CliResult<()> {
    require_runtime()?;
    let state = state(config).await?;
    lambda_http::run(http::service(gatehouse_server::app(state)))
        .await
        .map_err(|e| format!("the Lambda runtime stopped: {e}").into())
}

/// `gatehouse lambda-authorizer`.
pub async fn run_authorizer(config: &Config) -> CliResult<()> {
    require_runtime()?;
    let state = state(config).await?;
    let tenant = config.authorizer_tenant.clone();
    let handler = lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let state = state.clone();
            let tenant = tenant.clone();
            async move { authorizer::handle(&state, &tenant, &event.payload).await }
        },
    );
    lambda_runtime::run(handler)
        .await
        .map_err(|e| format!("the Lambda runtime stopped: {e}").into())
}
