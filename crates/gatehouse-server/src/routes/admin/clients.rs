//! `/admin/t/{tenant}/clients`: register, list, show, delete OAuth clients
//! and rotate their secrets. A secret appears in the answer to `POST` and
//! `rotate-secret` and nowhere else, ever.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use gatehouse_core::oauth::client::ClientSpec;
use gatehouse_core::service::clients::{ClientView, ClientWithSecret};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppBytes, AppJson, AppPath, TenantCtx};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/t/{tenant}/clients", get(list).post(create))
        .route(
            "/admin/t/{tenant}/clients/{client_id}",
            get(show).delete(delete),
        )
        .route(
            "/admin/t/{tenant}/clients/{client_id}/rotate-secret",
            post(rotate_secret),
        )
}

/// A secret is in this answer: no cache may keep it.
fn no_store() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h
}

/// `{name, type, grants, scopes, redirect_uris, post_logout_redirect_uris}`
/// → 201 with `client_id` and (confidential) `client_secret`.
async fn create(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppJson(spec): AppJson<ClientSpec>,
) -> ApiResult<(StatusCode, HeaderMap, Json<ClientWithSecret>)> {
    let made = state.services.clients.create(&ctx, spec).await?;
    Ok((StatusCode::CREATED, no_store(), Json(made)))
}

async fn list(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
) -> ApiResult<Json<Vec<ClientView>>> {
    Ok(Json(state.services.clients.list(&ctx).await?))
}

async fn show(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, client_id)): AppPath<(String, String)>,
) -> ApiResult<Json<ClientView>> {
    Ok(Json(state.services.clients.show(&ctx, &client_id).await?))
}

/// Also revokes every session issued to the client.
async fn delete(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, client_id)): AppPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.services.clients.delete(&ctx, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Optional body `{"overlap": "24h"}` (or seconds): how long the old
/// secret keeps working; the configured `client_secret_overlap` if absent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    overlap: Option<Overlap>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Overlap {
    Seconds(i64),
    Text(String),
}

async fn rotate_secret(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, client_id)): AppPath<(String, String)>,
    AppBytes(body): AppBytes,
) -> ApiResult<(HeaderMap, Json<ClientWithSecret>)> {
    let overlap_secs = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let parsed: RotateBody = serde_json::from_slice(&body).map_err(|_| {
            ApiError::bad_request(
                "the body must be empty or {\"overlap\": \"24h\"} (a duration, or seconds)",
            )
        })?;
        match parsed.overlap {
            None => None,
            Some(Overlap::Seconds(s)) => Some(s),
            Some(Overlap::Text(t)) => Some(
                humantime_serde::re::humantime::parse_duration(&t)
                    .map(|d| d.as_secs() as i64)
                    .map_err(|_| {
                        ApiError::bad_request("overlap must be a duration like 24h or 30m")
                    })?,
            ),
        }
    };
    let rotated = state
        .services
        .clients
        .rotate_secret(&ctx, &client_id, overlap_secs)
        .await?;
    Ok((no_store(), Json(rotated)))
}
