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
#[utoipa::path(
    post,
    path = "/admin/t/{tenant}/clients",
    operation_id = "admin_create_client",
    tag = "admin",
    summary = "Register an OAuth client",
    description = "A confidential client's secret is in this answer and nowhere else, ever.",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    request_body = crate::openapi::schemas::ClientSpec,
    responses(
        (status = 201, description = "The client, with its secret if confidential; never cached.",
            body = crate::openapi::schemas::ClientWithSecret,
            links(
                ("show" = (operation_id = "admin_show_client",
                    parameters(("tenant" = "$request.path.tenant"), ("client_id" = "$response.body#/client_id")))),
                ("rotate_secret" = (operation_id = "admin_rotate_client_secret",
                    parameters(("tenant" = "$request.path.tenant"), ("client_id" = "$response.body#/client_id")))),
                ("delete" = (operation_id = "admin_delete_client",
                    parameters(("tenant" = "$request.path.tenant"), ("client_id" = "$response.body#/client_id")))),
            )),
        crate::openapi::JsonBody, crate::openapi::AdminTenantRoute,
    )
)]
async fn create(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppJson(spec): AppJson<ClientSpec>,
) -> ApiResult<(StatusCode, HeaderMap, Json<ClientWithSecret>)> {
    let made = state.services.clients.create(&ctx, spec).await?;
    Ok((StatusCode::CREATED, no_store(), Json(made)))
}

#[utoipa::path(
    get,
    path = "/admin/t/{tenant}/clients",
    operation_id = "admin_list_clients",
    tag = "admin",
    summary = "The tenant's OAuth clients",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The clients, never their secrets.", body = Vec<crate::openapi::schemas::ClientView>),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn list(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
) -> ApiResult<Json<Vec<ClientView>>> {
    Ok(Json(state.services.clients.list(&ctx).await?))
}

#[utoipa::path(
    get,
    path = "/admin/t/{tenant}/clients/{client_id}",
    operation_id = "admin_show_client",
    tag = "admin",
    summary = "One OAuth client",
    params(crate::openapi::TenantPath, ("client_id" = String, Path, description = "The client's id.")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The client, never its secret.", body = crate::openapi::schemas::ClientView),
        (status = 404, description = "No tenant has this name, or it has no such client.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn show(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, client_id)): AppPath<(String, String)>,
) -> ApiResult<Json<ClientView>> {
    Ok(Json(state.services.clients.show(&ctx, &client_id).await?))
}

/// Also revokes every session issued to the client.
#[utoipa::path(
    delete,
    path = "/admin/t/{tenant}/clients/{client_id}",
    operation_id = "admin_delete_client",
    tag = "admin",
    summary = "Delete an OAuth client",
    description = "Also revokes every session issued to it.",
    params(crate::openapi::TenantPath, ("client_id" = String, Path, description = "The client's id.")),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No tenant has this name, or it has no such client.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
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
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SecretRotation)]
struct RotateBody {
    overlap: Option<Overlap>,
}

/// A duration (`"24h"`, `"30m"`) or seconds.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = SecretOverlap)]
enum Overlap {
    Seconds(i64),
    Text(String),
}

#[utoipa::path(
    post,
    path = "/admin/t/{tenant}/clients/{client_id}/rotate-secret",
    operation_id = "admin_rotate_client_secret",
    tag = "admin",
    summary = "Give a confidential client a new secret",
    description = "The old secret keeps working for `overlap` (the configured `client_secret_overlap` if absent). \
        The body is optional.",
    params(crate::openapi::TenantPath, ("client_id" = String, Path, description = "The client's id.")),
    security(("admin_token" = [])),
    request_body(content = Option<RotateBody>, content_type = "application/json"),
    responses(
        (status = 200, description = "The client with its new secret; never cached.", body = crate::openapi::schemas::ClientWithSecret),
        (status = 400, description = "The body does not parse, `overlap` is not a duration, or the client is public.",
            body = crate::openapi::schemas::ErrorBody),
        (status = 404, description = "No tenant has this name, or it has no such client.", body = crate::openapi::schemas::ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
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
