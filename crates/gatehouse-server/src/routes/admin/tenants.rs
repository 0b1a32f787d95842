//! `/admin/tenants`: create and list tenants.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::tenant::{EmailVerification, Tenant, TenantSpec};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, AppPath};
use crate::routes::account::present;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/tenants", get(list_tenants).post(create_tenant))
        .route("/admin/tenants/{name}", patch(update_tenant))
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
    /// The name the hosted login page shows (default: the name).
    display_name: Option<String>,
}

#[derive(Serialize)]
struct TenantView {
    name: String,
    issuer: String,
    algorithm: SigningAlgorithm,
    access_ttl_secs: i64,
    audiences: Vec<String>,
    /// What the hosted pages show.
    display_name: String,
    /// `off`, `optional` or `required`.
    email_verification: &'static str,
    mail_from: Option<String>,
    created_at: i64,
}

impl TenantView {
    fn new(state: &AppState, t: Tenant) -> Self {
        Self {
            issuer: state.services.contexts.issuer_of(&t.name),
            name: t.name.to_string(),
            algorithm: t.algorithm,
            access_ttl_secs: t.access_ttl_secs,
            display_name: t.shown_name().to_string(),
            email_verification: t.settings.email_verification.as_str(),
            mail_from: t.settings.mail_from.clone(),
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
        display_name: body.display_name,
    };
    let tenant = state.services.tenants.create(&body.name, spec).await?;
    // It may have been looked up (and remembered as missing) before.
    state.services.contexts.invalidate(tenant.name.as_str());
    Ok((StatusCode::CREATED, Json(TenantView::new(&state, tenant))))
}

/// `{"display_name": "Acme"}` sets it, `{"display_name": null}` clears it;
/// `email_verification` (`off`, `optional`, `required`) and `mail_from`
/// change the tenant's settings. Absent fields stay as they are.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateTenant {
    #[serde(default, deserialize_with = "present")]
    display_name: Option<Option<String>>,
    email_verification: Option<String>,
    #[serde(default, deserialize_with = "present")]
    mail_from: Option<Option<String>>,
}

async fn update_tenant(
    State(state): State<AppState>,
    AppPath(name): AppPath<String>,
    AppJson(body): AppJson<UpdateTenant>,
) -> ApiResult<Json<TenantView>> {
    let tenants = &state.services.tenants;
    let mut tenant = match body.display_name {
        Some(display_name) => {
            tenants
                .set_display_name(&name, display_name.as_deref())
                .await?
        }
        None => tenants.find(&name).await?,
    };
    if body.email_verification.is_some() || body.mail_from.is_some() {
        let mut settings = tenant.settings.clone();
        if let Some(mode) = body.email_verification.as_deref() {
            settings.email_verification = EmailVerification::parse(mode)?;
        }
        if let Some(from) = body.mail_from {
            settings.mail_from = from.filter(|f| !f.is_empty());
        }
        tenant = tenants.set_settings(&name, settings).await?;
    }
    state.services.contexts.invalidate(tenant.name.as_str());
    Ok(Json(TenantView::new(&state, tenant)))
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
