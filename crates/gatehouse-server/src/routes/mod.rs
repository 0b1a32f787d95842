//! The route table. Each module owns the routes of one concept and exposes
//! `router()`; this file merges them and adds what every route shares
//! (body limit, tracing, panic guard, JSON 404/405).

mod admin;
mod admin_keys;
mod compat;
mod discovery;
mod forward_auth;
mod health;
mod login;
mod logout;
mod register;
mod token;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use discovery::JWKS_MAX_AGE_SECS;

use crate::error::{ApiError, ServerFault};
use crate::state::AppState;

/// Request bodies above this are refused with 413 before being parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP surface (DESIGN.md "HTTP surface").
pub fn app(state: AppState) -> Router {
    Router::new()
        // {iss} = {public_url}/t/{tenant}
        .merge(register::router()) //  POST {iss}/register
        .merge(login::router()) //     POST {iss}/login
        .merge(token::router()) //     POST {iss}/token
        .merge(logout::router()) //    POST {iss}/logout
        .merge(forward_auth::router()) // GET {iss}/auth
        .merge(discovery::router()) // GET {iss}/.well-known/{jwks.json,openid-configuration}
        .merge(admin::router()) //     /admin/tenants
        .merge(admin_keys::router()) // /admin/t/{tenant}/keys
        .merge(health::router()) //    /healthz, /readyz
        // The replaced systems' formats: {iss}/compat/openfaas/*,
        // /user_token, {iss}/user_token, /login, /refresh, /auth
        .merge(compat::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(log_server_faults))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::internal("a handler panicked").into_response()
        }))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("there is no such route; see the README for the HTTP surface")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "this route does not accept that method",
    )
}

/// Logs the detail of 5xx answers, which the client never sees.
async fn log_server_faults(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    if let Some(ServerFault(detail)) = response.extensions().get::<ServerFault>()
        && response.status().is_server_error()
    {
        tracing::error!(%method, %path, status = response.status().as_u16(), %detail, "request failed");
    }
    response
}
