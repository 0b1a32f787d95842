//! `/admin/t/{tenant}/policies`: the tenant's route rules, replaced whole
//! (`PUT`; a malformed list is refused with the rule and the reason, and
//! nothing changes) and read back (`GET`).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use gatehouse_core::policy::{Policy, PolicyDocument, PolicyFormat};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppBytes, TenantCtx};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/t/{tenant}/policies", get(show).put(replace))
}

#[utoipa::path(
    get,
    path = "/admin/t/{tenant}/policies",
    operation_id = "admin_policies",
    tag = "admin",
    summary = "The tenant's route policy",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The rules, in order.", body = crate::openapi::schemas::PolicyDocument),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn show(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
) -> ApiResult<axum::Json<PolicyDocument>> {
    Ok(axum::Json(state.services.policies.current(&ctx).clone()))
}

#[utoipa::path(
    put,
    path = "/admin/t/{tenant}/policies",
    operation_id = "admin_replace_policies",
    tag = "admin",
    summary = "Replace the tenant's route policy, whole",
    description = "Atomic: a list with any mistake is refused with the rule and the reason, and nothing changes.",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    request_body = crate::openapi::schemas::PolicyDocument,
    responses(
        (status = 200, description = "The policy now in force.", body = crate::openapi::schemas::PolicyDocument),
        (status = 400, description = "The list does not parse, or a rule is wrong (named, with the reason).",
            body = crate::openapi::schemas::ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn replace(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppBytes(body): AppBytes,
) -> ApiResult<axum::Json<PolicyDocument>> {
    // Parsed from the raw body, so every mistake is reported in the
    // policy's own words (rule and reason), not as a generic JSON error;
    // `gatehouse policy set` parses its file with the same call.
    let policy = Policy::parse(&body, PolicyFormat::Json)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    state.services.policies.replace(&ctx, &policy).await?;
    Ok(axum::Json(policy.document().clone()))
}
