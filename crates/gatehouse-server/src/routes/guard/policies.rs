//! `/admin/t/{tenant}/policies`: the tenant's route rules, replaced whole
//! (`PUT`; a malformed list is refused with the rule and the reason, and
//! nothing changes) and read back (`GET`).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use gatehouse_core::policy::{Policy, PolicyDocument};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppBytes, TenantCtx};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/t/{tenant}/policies", get(show).put(replace))
}

async fn show(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
) -> ApiResult<axum::Json<PolicyDocument>> {
    Ok(axum::Json(state.services.policies.current(&ctx).clone()))
}

async fn replace(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppBytes(body): AppBytes,
) -> ApiResult<axum::Json<PolicyDocument>> {
    // Parsed here from the raw text, so every mistake is reported in the
    // policy's own words (rule and reason), not as a generic JSON error.
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the policy must be UTF-8 JSON"))?;
    let policy = Policy::parse_json(text).map_err(|e| ApiError::bad_request(e.to_string()))?;
    state.services.policies.replace(&ctx, &policy).await?;
    Ok(axum::Json(policy.document().clone()))
}
