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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBody {
    value: Option<SecretString>,
    #[serde(default)]
    generate: bool,
}

#[derive(Serialize)]
struct SetAnswer {
    name: String,
    /// Only when Gatehouse generated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

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

async fn remove(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, name)): AppPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.services.secrets.delete(&ctx, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct SecretList {
    secrets: Vec<SecretName>,
}

async fn list(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
) -> ApiResult<axum::Json<SecretList>> {
    Ok(axum::Json(SecretList {
        secrets: state.services.secrets.names(&ctx).await?,
    }))
}
