//! `/healthz` (the process answers) and `/readyz` (and its store does).
//! `/readyz` also details mail (`mail`: mode, reachable, queue), which
//! never makes a node unready: a mail server that is down only delays
//! mails, and taking the node out of rotation would fail every request.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "health",
    summary = "Liveness: the process answers",
    responses((status = 200, description = "Alive.", body = crate::openapi::schemas::Health)),
)]
async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "health",
    summary = "Readiness: the store answers",
    description = "Also details mail (`mail`), which never makes a node unready.",
    responses(
        (status = 200, description = "Ready.", body = crate::openapi::schemas::Readiness),
        (status = 503, description = "The store cannot be reached.", body = crate::openapi::schemas::Readiness),
    ),
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let mail = state.mail.readiness();
    match state.services.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "ready", "mail": mail})),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({"status": "unavailable", "error": "temporarily_unavailable",
                            "error_description": "the store cannot be reached", "mail": mail}),
                ),
            )
        }
    }
}
