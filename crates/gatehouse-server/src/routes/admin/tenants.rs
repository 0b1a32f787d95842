//! `/admin/tenants`: create and list tenants.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::tenant::{Tenant, TenantSpec};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::AppJson;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/tenants", get(list_tenants).post(create_tenant))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTenant {
    name: String,
    algorithm: Option<String>,
    /// Access-token lifetime, e.g. `"15m"` or `"1h"`.
    access_ttl: Option<String>,
    #[serde(default)]
    audiences: Vec<String>,
}

#[derive(Serialize)]
struct TenantView {
    name: String,
    issuer: String,
    algorithm: SigningAlgorithm,
    access_ttl_secs: i64,
    audiences: Vec<String>,
    created_at: i64,
}

impl TenantView {
    fn new(state: &AppState, t: Tenant) -> Self {
        Self {
            issuer: state.services.contexts.issuer_of(&t.name),
            name: t.name.to_string(),
            algorithm: t.algorithm,
            access_ttl_secs: t.access_ttl_secs,
            audiences: t.audiences,
            created_at: t.created_at,
        }
    }
}

async fn create_tenant(
    State(state): State<AppState>,
    AppJson(body): AppJson<CreateTenant>,
) -> ApiResult<(StatusCode, Json<TenantView>)> {
    let algorithm = body
        .algorithm
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(gatehouse_core::Error::from)?;
    let access_ttl_secs = body.access_ttl.as_deref().map(parse_ttl).transpose()?;
    let spec = TenantSpec {
        algorithm,
        access_ttl_secs,
        audiences: body.audiences,
    };
    let tenant = state.services.tenants.create(&body.name, spec).await?;
    // It may have been looked up (and remembered as missing) before.
    state.services.contexts.invalidate(tenant.name.as_str());
    Ok((StatusCode::CREATED, Json(TenantView::new(&state, tenant))))
}

async fn list_tenants(State(state): State<AppState>) -> ApiResult<Json<Vec<TenantView>>> {
    let tenants = state.services.tenants.list().await?;
    Ok(Json(
        tenants
            .into_iter()
            .map(|t| TenantView::new(&state, t))
            .collect(),
    ))
}

/// `"15m"`, `"1h"`, `"900s"` → seconds.
pub fn parse_ttl(text: &str) -> ApiResult<i64> {
    humantime_serde::re::humantime::parse_duration(text)
        .map(|d| d.as_secs() as i64)
        .map_err(|_| ApiError::bad_request("access_ttl must be a duration like 15m or 1h"))
}
