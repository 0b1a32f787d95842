//! `/admin/tenants`: create and list tenants.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::tenant::{EmailVerification, Tenant, TenantSettings, TenantSpec};
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateTenant {
    /// 1 to 63 of `a-z`, `0-9`, `-`; not starting or ending with `-`.
    name: String,
    /// `RS256` (default), `PS256`, `ES256`, `EdDSA` or `HS256`.
    algorithm: Option<String>,
    /// Access-token lifetime, e.g. `"15m"` or `"1h"`.
    access_ttl: Option<String>,
    #[serde(default)]
    audiences: Vec<String>,
    /// The name the hosted login page shows (default: the name).
    display_name: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Tenant)]
struct TenantView {
    name: String,
    issuer: String,
    #[schema(value_type = crate::openapi::schemas::SigningAlgorithm)]
    algorithm: SigningAlgorithm,
    access_ttl_secs: i64,
    audiences: Vec<String>,
    /// What the hosted pages show.
    display_name: String,
    /// `off`, `optional` or `required`.
    email_verification: &'static str,
    mail_from: Option<String>,
    password_min_length: u32,
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
            password_min_length: t.settings.min_password_chars(),
            audiences: t.audiences,
            created_at: t.created_at,
        }
    }
}

#[utoipa::path(
    post,
    path = "/admin/tenants",
    operation_id = "admin_create_tenant",
    tag = "admin",
    summary = "Create a tenant",
    description = "With its first signing key. Its issuer is `{public_url}/t/{name}`.",
    security(("admin_token" = [])),
    request_body = CreateTenant,
    responses(
        (status = 201, description = "The tenant.", body = TenantView,
            links(("update" = (operation_id = "admin_update_tenant",
                parameters(("name" = "$response.body#/name")),
                description = "Change its settings.")))),
        (status = 409, description = "A tenant has this name (`conflict`).", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::AdminRoute,
    )
)]
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
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateTenant {
    #[serde(default, deserialize_with = "present")]
    display_name: Option<Option<String>>,
    email_verification: Option<String>,
    #[serde(default, deserialize_with = "present")]
    mail_from: Option<Option<String>>,
    /// The shortest new password accepted (8 to 128); `null` for 8.
    #[serde(default, deserialize_with = "present_u32")]
    password_min_length: Option<Option<u32>>,
}

fn present_u32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

#[utoipa::path(
    patch,
    path = "/admin/tenants/{name}",
    operation_id = "admin_update_tenant",
    tag = "admin",
    summary = "Change a tenant's settings",
    description = "`display_name`, `email_verification` (`off`, `optional`, `required`), `mail_from` \
        and `password_min_length` (8 to 128); \
        absent fields stay, `null` clears. A patch with a bad value changes nothing.",
    params(("name" = String, Path, description = "The tenant's name.")),
    security(("admin_token" = [])),
    request_body = UpdateTenant,
    responses(
        (status = 200, description = "The tenant.", body = TenantView),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::AdminRoute,
    )
)]
async fn update_tenant(
    State(state): State<AppState>,
    AppPath(name): AppPath<String>,
    AppJson(body): AppJson<UpdateTenant>,
) -> ApiResult<Json<TenantView>> {
    let tenants = &state.services.tenants;
    // Every value is checked before anything is written: a patch with a
    // bad one changes nothing, not even the display name beside it.
    let mode = body
        .email_verification
        .as_deref()
        .map(EmailVerification::parse)
        .transpose()?;
    let mail_from = body.mail_from.map(|from| from.filter(|f| !f.is_empty()));
    let min_length = body.password_min_length;
    if mail_from.is_some() || min_length.is_some() {
        TenantSettings {
            mail_from: mail_from.clone().flatten(),
            password_min_length: min_length.flatten(),
            ..TenantSettings::default()
        }
        .validate()?;
    }
    let mut tenant = match body.display_name {
        Some(display_name) => {
            tenants
                .set_display_name(&name, display_name.as_deref())
                .await?
        }
        None => tenants.find(&name).await?,
    };
    if mode.is_some() || mail_from.is_some() || min_length.is_some() {
        let mut settings = tenant.settings.clone();
        if let Some(mode) = mode {
            settings.email_verification = mode;
        }
        if let Some(from) = mail_from {
            settings.mail_from = from;
        }
        if let Some(min) = min_length {
            settings.password_min_length = min;
        }
        tenant = tenants.set_settings(&name, settings).await?;
    }
    state.services.contexts.invalidate(tenant.name.as_str());
    Ok(Json(TenantView::new(&state, tenant)))
}

#[utoipa::path(
    get,
    path = "/admin/tenants",
    operation_id = "admin_list_tenants",
    tag = "admin",
    summary = "Every tenant",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The tenants.", body = Vec<TenantView>),
        crate::openapi::AdminRoute,
    )
)]
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
