//! `/admin/t/{tenant}/keys`: list a tenant's signing keys (public facts
//! only) and start a rotation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::keys::{KeyState, SigningKeyRecord};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppBytes, AppPath};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/t/{tenant}/keys", get(list_keys))
        .route("/admin/t/{tenant}/keys/rotate", post(rotate))
}

/// What may be shown of a key: never its material.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SigningKey)]
pub struct KeyView {
    kid: String,
    #[schema(value_type = crate::openapi::schemas::SigningAlgorithm)]
    algorithm: SigningAlgorithm,
    /// `next` (published, not signing yet), `current` (signing) or
    /// `retired` (published until its tokens expire).
    #[schema(value_type = String)]
    state: KeyState,
    created_at: i64,
    activated_at: Option<i64>,
    retired_at: Option<i64>,
}

impl From<&SigningKeyRecord> for KeyView {
    fn from(k: &SigningKeyRecord) -> Self {
        Self {
            kid: k.kid.clone(),
            algorithm: k.algorithm,
            state: k.state,
            created_at: k.created_at,
            activated_at: k.activated_at,
            retired_at: k.retired_at,
        }
    }
}

#[utoipa::path(
    get,
    path = "/admin/t/{tenant}/keys",
    operation_id = "admin_list_keys",
    tag = "admin",
    summary = "The tenant's signing keys (public facts only)",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The keys; never their material.", body = Vec<KeyView>),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn list_keys(
    State(state): State<AppState>,
    AppPath(tenant): AppPath<String>,
) -> ApiResult<Json<Vec<KeyView>>> {
    let tenant = state.services.tenants.find(&tenant).await?;
    let keys = state.services.signing_keys.list(&tenant).await?;
    Ok(Json(keys.iter().map(KeyView::from).collect()))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = KeyRotation)]
struct RotateBody {
    /// Change the tenant's algorithm: the successor is of this type.
    algorithm: Option<String>,
    /// Sign with the successor at once (compromised key) instead of after
    /// the pre-publication window.
    #[serde(default)]
    immediately: bool,
}

#[utoipa::path(
    post,
    path = "/admin/t/{tenant}/keys/rotate",
    operation_id = "admin_rotate_key",
    tag = "admin",
    summary = "Start a key rotation",
    description = "Makes the successor key: published at once, signing after the pre-publication window \
        (or at once with `immediately`). The body is optional.",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    request_body(content = Option<RotateBody>, content_type = "application/json"),
    responses(
        (status = 201, description = "The successor key.", body = KeyView),
        (status = 400, description = "The body does not parse, or the algorithm is unknown.", body = crate::openapi::schemas::ErrorBody),
        (status = 409, description = "Another rotation of this tenant is under way (`conflict`).", body = crate::openapi::schemas::ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn rotate(
    State(state): State<AppState>,
    AppPath(tenant): AppPath<String>,
    AppBytes(body): AppBytes,
) -> ApiResult<(StatusCode, Json<KeyView>)> {
    // The body is optional: an empty POST rotates with the current settings.
    let body: RotateBody = if body.is_empty() {
        RotateBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "the body does not fit this endpoint: {}",
                e.to_string().split(" at line").next().unwrap_or_default()
            ))
        })?
    };
    let algorithm = body
        .algorithm
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(gatehouse_core::Error::from)?;
    let tenant = state.services.tenants.find(&tenant).await?;
    let next = state
        .services
        .signing_keys
        .rotate(&tenant, algorithm, body.immediately)
        .await?;
    state.services.contexts.invalidate(tenant.name.as_str());
    Ok((StatusCode::CREATED, Json(KeyView::from(&next))))
}
