//! `gatehouse invoke register|login|verify`: one request on stdin, its
//! answer on stdout, for OpenFaaS's classic watchdog (which forks the
//! process per request and pipes the body through it), like the Ruby
//! functions Gatehouse replaces.
//!
//! The request goes through the very router `serve` runs, at
//! `/t/{tenant}/compat/openfaas/{action}`, so the answers are those of the
//! HTTP endpoints. Exit status 0 for every answer the original gave
//! (including `{"error": ...}`), 1 for server faults, so the watchdog
//! answers 500 only when something is really broken.

use std::io::{Read, Write};

use axum::body::Body;
use axum::http::{Method, Request};
use gatehouse_server::startup::{prepare_state, run_key_maintenance};
use gatehouse_server::{Config, app};
use tower::ServiceExt;

use crate::CliResult;
use crate::cli::{Access, InvokeAction};

/// The routes' own body limit; more is refused before it is read whole.
const MAX_STDIN_BYTES: u64 = gatehouse_server::routes::MAX_BODY_BYTES as u64;

pub async fn run(config: &Config, action: InvokeAction, tenant: &str) -> CliResult<()> {
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut input)?;
    let (status, answer) = answer(config, action, tenant, input).await?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&answer)?;
    stdout.write_all(b"\n")?;
    stdout.flush()?;
    if status.is_server_error() {
        return Err(format!("the request failed with status {}", status.as_u16()).into());
    }
    Ok(())
}

/// The status and body the router gives to one invocation.
async fn answer(
    config: &Config,
    action: InvokeAction,
    tenant: &str,
    input: Vec<u8>,
) -> CliResult<(axum::http::StatusCode, Vec<u8>)> {
    let public_url = crate::public_url(config);
    let state = prepare_state(
        config,
        crate::parts(config, Access::ReadWrite).await?,
        &public_url,
    )
    .await?;
    // No process lives long enough for the background task; one pass per
    // invocation keeps rotation going when only functions serve a tenant.
    run_key_maintenance(&state).await;
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/t/{tenant}/compat/openfaas/{}", action.path()))
        .body(Body::from(input))?;
    let response = app(state).oneshot(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, body.to_vec()))
}
