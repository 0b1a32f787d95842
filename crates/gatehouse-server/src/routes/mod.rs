//! The route table. Each module owns the routes of one concept and exposes
//! `router()`; this file merges them and adds what every route shares
//! (body limit, tracing, panic guard, JSON 404/405).

pub(crate) mod account;
pub(crate) mod admin;
pub(crate) mod compat;
pub(crate) mod discovery;
pub(crate) mod gate;
pub(crate) mod guard;
pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod oauth;
pub(crate) mod openapi;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use discovery::JWKS_MAX_AGE_SECS;

use crate::error::{ApiError, ServerFault};
use crate::state::AppState;

/// Request bodies above this are refused with 413 before being parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every request's id: taken from the client's `X-Request-Id` or made
/// (a UUID), carried in the request's span so each log line can be traced
/// to its request, and returned in the answer.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP surface (DESIGN.md "HTTP surface"), one feature each.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        // {iss} = {public_url}/t/{tenant}
        .merge(account::router()) //   {iss}/register, /login, /logout
        .merge(oauth::router()) //     {iss}/token, /introspect, /revoke, /userinfo, /authorize, /end_session
        .merge(gate::router()) //      {iss}/auth, {iss}/auth/{*path}
        .merge(guard::user_router()) // {iss}/apikeys (a user's own)
        .merge(discovery::router()) // {iss}/.well-known/{jwks.json,openid-configuration}
        .merge(admin::router(state.clone())) // /admin/..., behind the admin token
        .merge(health::router()) //    /healthz, /readyz
        .merge(openapi::router()) //   /openapi.json
        // The replaced systems' formats: {iss}/compat/openfaas/*,
        // {iss}/user_token, and (switchable) /user_token, /login, /refresh, /auth
        .merge(compat::router(state.compat))
        // Per client address, by route group (`rate_limit::classify`).
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::rate_limit::enforce,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Audit events recorded below know the client (inside `identify`).
        .layer(middleware::from_fn(audit_origin))
        // The client's address, decided once (socket, trusted proxies).
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::client_ip::identify,
        ));
    // /metrics here only behind its token (else on metrics_listen, or off).
    let routes = match &state.metrics {
        Some(m) if m.token.is_some() => routes.merge(metrics::router()),
        _ => routes,
    };
    let http_metrics = state.metrics.is_some().then_some("unmatched");
    observed(routes, http_metrics).with_state(state)
}

/// What every listener's requests share (the API's and proxy mode's): the
/// request id, taken or made and passed on; a span per request; the log
/// line of each 5xx's detail; a panic answered as a 500; with metrics on
/// (`http_metrics`: the route label of requests no route matched), each
/// request counted and timed by its route template, outermost so a
/// panic's 500 counts too.
pub(crate) fn observed<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    http_metrics: Option<&'static str>,
) -> Router<S> {
    let router = router
        .layer(middleware::from_fn(log_server_faults))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::internal("a handler panicked").into_response()
        }));
    match http_metrics {
        Some(unmatched) => router.layer(middleware::from_fn_with_state(
            unmatched,
            crate::telemetry::record_http,
        )),
        None => router,
    }
}

/// The span of one request: method, path and request id (never the query,
/// which may carry a token).
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}

/// Runs the request with its client (address, `User-Agent`) as the origin
/// of any audit event recorded while serving it.
async fn audit_origin(request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let origin = match crate::extract::ClientOrigin::from_request_parts(&mut parts, &()).await {
        Ok(crate::extract::ClientOrigin(origin)) => origin,
        Err(never) => match never {},
    };
    gatehouse_core::audit::with_origin(origin, next.run(Request::from_parts(parts, body))).await
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
