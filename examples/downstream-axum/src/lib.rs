//! A tiny downstream service guarded by `gatehouse-verify`: what a Rust
//! service behind Gatehouse writes instead of assembling a JWKS fetcher,
//! a cache and the token checks itself.
//!
//! | route | guard |
//! |---|---|
//! | `GET /healthz` | none |
//! | `GET /me` | the `CurrentUser` extractor: who the token speaks for |
//! | `GET /claims` | the `Claims<T>` extractor: every claim, as JSON |
//! | `GET /admin/stats` | `AuthLayer` + `require_role("admin")` |
//!
//! `main.rs` runs it from environment variables; the integration test
//! (`tests/against_gatehouse.rs`) runs it against a real Gatehouse.

use std::future::Future;

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use gatehouse_verify::{Claims, CurrentUser, Verifier, require_role};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The service's routes, guarded by `verifier`.
pub fn app(verifier: Verifier) -> Router {
    let admin = Router::new()
        .route("/admin/stats", get(stats))
        .route_layer(require_role("admin"))
        // Outermost: it verifies, then the role is checked.
        .route_layer(verifier.layer());
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/me", get(me))
        .route("/claims", get(claims))
        .merge(admin)
        .with_state(verifier)
}

/// Serves [`app`] on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    verifier: Verifier,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(verifier))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn me(user: CurrentUser) -> Json<Value> {
    Json(json!({
        "sub": user.id(),
        "username": user.username(),
        "email": user.email(),
        "scope": user.scope,
        "roles": user.roles,
        "client_id": user.client_id,
    }))
}

async fn claims(Claims(claims): Claims<Value>) -> Json<Value> {
    Json(claims)
}

async fn stats(
    State(verifier): State<Verifier>,
    Extension(user): Extension<CurrentUser>,
) -> Json<Value> {
    let keys = verifier.key_cache_stats();
    Json(json!({
        "asked_by": user.id(),
        "jwks_requests": keys.jwks_requests,
        "key_sets_loaded": keys.key_sets_loaded,
    }))
}
