//! `GET /metrics`: the Prometheus text exposition. On the main listener
//! only when `metrics_token` is set (a Bearer token, compared in constant
//! time like the admin token); on `metrics_listen`, an address only the
//! scraper should reach, without one. Off by default: the series tell how
//! busy a node is and how its logins go, which is nobody else's business.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::extract::{bearer_token, same_secret};
use crate::state::AppState;
use crate::telemetry::Metrics;

/// The realm of `/metrics`' Bearer challenge.
const METRICS_REALM: &str = "gatehouse-metrics";

/// The Prometheus text format (exposition format 0.0.4).
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `/metrics` on the main listener, behind the metrics token. Merged only
/// when the token is set.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(guarded))
}

/// The whole of the `metrics_listen` listener: `/metrics` without a token.
pub fn listener_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(open))
        .fallback(|| async { ApiError::not_found("this listener serves only /metrics") })
        .with_state(state)
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "health",
    summary = "Prometheus metrics",
    description = "The text exposition format. Served here only when `metrics_token` is set, behind it \
        as a Bearer token (else on `metrics_listen`, or not at all).",
    security(("metrics_token" = [])),
    responses(
        (status = 200, description = "The metrics.", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 401, description = "No metrics token, or a wrong one.", body = crate::openapi::schemas::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The challenge, realm `gatehouse-metrics`."))),
        (status = 404, description = "Metrics are off on this listener.", body = crate::openapi::schemas::ErrorBody),
    )
)]
async fn guarded(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some((metrics, expected)) = state
        .metrics
        .as_ref()
        .and_then(|m| m.token.as_ref().map(|t| (m, t)))
    else {
        return ApiError::not_found("metrics are off on this listener").into_response();
    };
    match bearer_token(&headers) {
        None => ApiError::challenge(METRICS_REALM, None).into_response(),
        Some(given) if same_secret(expected, &given) => exposition(metrics, &state),
        Some(_) => {
            ApiError::challenge(METRICS_REALM, Some("the metrics token is not valid".into()))
                .into_response()
        }
    }
}

async fn open(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(metrics) => exposition(metrics, &state),
        None => ApiError::not_found("metrics are off").into_response(),
    }
}

fn exposition(metrics: &Metrics, state: &AppState) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        metrics.render(state),
    )
        .into_response()
}
