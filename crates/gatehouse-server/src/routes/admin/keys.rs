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
#[derive(Serialize)]
pub struct KeyView {
    kid: String,
    algorithm: SigningAlgorithm,
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

async fn list_keys(
    State(state): State<AppState>,
    AppPath(tenant): AppPath<String>,
) -> ApiResult<Json<Vec<KeyView>>> {
    let tenant = state.services.tenants.find(&tenant).await?;
    let keys = state.services.signing_keys.list(&tenant).await?;
    Ok(Json(keys.iter().map(KeyView::from).collect()))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    /// Change the tenant's algorithm: the successor is of this type.
    algorithm: Option<String>,
    /// Sign with the successor at once (compromised key) instead of after
    /// the pre-publication window.
    #[serde(default)]
    immediately: bool,
}

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
