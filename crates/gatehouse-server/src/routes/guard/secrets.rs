//! `/admin/t/{tenant}/secrets`: named webhook secrets. `PUT …/{name}` with
//! `{"value": "…"}` or `{"generate": true}` (the generated value is in
//! that response only), `DELETE …/{name}`, `GET` lists names only.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use gatehouse_core::service::tenant_secrets::{SecretName, SecretValue};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, AppPath, TenantCtx};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/t/{tenant}/secrets", get(list))
        .route("/admin/t/{tenant}/secrets/{name}", put(set).delete(remove))
}

/// `{"value": "…"}` or `{"generate": true}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SecretValue)]
struct SetBody {
    #[schema(value_type = Option<String>)]
    value: Option<SecretString>,
    #[serde(default)]
    generate: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SecretSet)]
struct SetAnswer {
    name: String,
    /// Only when Gatehouse generated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

#[utoipa::path(
    put,
    path = "/admin/t/{tenant}/secrets/{name}",
    operation_id = "admin_set_secret",
    tag = "admin",
    summary = "Set a named webhook secret",
    description = "Sealed at rest. A generated value is in this answer only.",
    params(crate::openapi::TenantPath, ("name" = String, Path, description = "The secret's name, as policies name it.")),
    security(("admin_token" = [])),
    request_body = SetBody,
    responses(
        (status = 200, description = "Set; `value` when Gatehouse generated it.", body = SetAnswer,
            links(("delete" = (operation_id = "admin_delete_secret",
                parameters(("tenant" = "$request.path.tenant"), ("name" = "$response.body#/name")),
                description = "Delete the secret.")))),
        crate::openapi::JsonBody, crate::openapi::AdminTenantRoute,
    )
)]
async fn set(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, name)): AppPath<(String, String)>,
    AppJson(body): AppJson<SetBody>,
) -> ApiResult<(StatusCode, axum::Json<SetAnswer>)> {
    let value = match (body.value, body.generate) {
        (Some(v), false) => SecretValue::Given(v),
        (None, true) => SecretValue::Generate,
        _ => {
            return Err(ApiError::bad_request(
                "send either {\"value\": \"...\"} or {\"generate\": true}",
            ));
        }
    };
    let generated = state.services.secrets.put(&ctx, &name, value).await?;
    Ok((
        StatusCode::OK,
        axum::Json(SetAnswer {
            name,
            value: generated.map(|v| v.expose_secret().to_string()),
        }),
    ))
}

#[utoipa::path(
    delete,
    path = "/admin/t/{tenant}/secrets/{name}",
    operation_id = "admin_delete_secret",
    tag = "admin",
    summary = "Delete a named webhook secret",
    params(crate::openapi::TenantPath, ("name" = String, Path, description = "The secret's name.")),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "The name breaks the rules (1 to 64 letters, digits, `_`, `.` or `-`).",
            body = crate::openapi::schemas::ErrorBody),
        (status = 404, description = "No tenant has this name, or it has no secret of this name.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn remove(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, name)): AppPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.services.secrets.delete(&ctx, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
struct SecretList {
    #[schema(value_type = Vec<crate::openapi::schemas::SecretName>)]
    secrets: Vec<SecretName>,
}

#[utoipa::path(
    get,
    path = "/admin/t/{tenant}/secrets",
    operation_id = "admin_list_secrets",
    tag = "admin",
    summary = "The tenant's webhook secrets (names only)",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Their names and ages, never their values.", body = SecretList),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn list(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
) -> ApiResult<axum::Json<SecretList>> {
    Ok(axum::Json(SecretList {
        secrets: state.services.secrets.names(&ctx).await?,
    }))
}
