//! The Rails knock gem's token endpoint: `POST /user_token` (tenant
//! `default`) and `POST {iss}/user_token`, with
//! `{"auth": {"email": …, "password": …}}` → 201 `{"jwt": …}`.
//!
//! As knock does, wrong credentials get 404 (knock's `head :not_found`);
//! here with a JSON body, which knock clients ignore. The token's `sub` is
//! the user's id, which an import keeps from the old system, so Rails code
//! that looked users up by `sub` keeps working. It lives a day, knock's
//! default (`compat_knock_token_ttl`), and has no refresh token: knock had
//! none.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use gatehouse_core::Error;
use gatehouse_core::service::TenantContext;
use gatehouse_core::tenant::DEFAULT_TENANT;
use gatehouse_core::user::LoginName;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::{lenient_json, no_store};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AppBytes, TenantCtx};
use crate::state::AppState;

/// `POST /user_token`, for tenant `default`.
pub fn root_router() -> Router<AppState> {
    Router::new().route("/user_token", post(default_tenant))
}

/// `POST {iss}/user_token`.
pub fn tenant_router() -> Router<AppState> {
    Router::new().route("/t/{tenant}/user_token", post(named_tenant))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = KnockRequest)]
struct Body {
    auth: Credentials,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = KnockCredentials)]
struct Credentials {
    email: String,
    #[schema(value_type = String)]
    password: SecretString,
}

#[utoipa::path(
    post,
    path = "/user_token",
    operation_id = "knock_user_token",
    tag = "compat",
    summary = "Rails knock's token endpoint, tenant `default`",
    description = "`{\"auth\": {\"email\", \"password\"}}` → 201 `{\"jwt\"}`, `sub` the user's id. \
        Served unless `compat_knock_root` is off.",
    request_body(content = Body, content_type = "application/json"),
    responses(
        (status = 201, description = "The token (a day, no refresh token, as knock); never cached.", body = crate::openapi::schemas::KnockToken),
        (status = 400, description = "The body is not JSON, or lacks a field.", body = crate::openapi::schemas::ErrorBody),
        (status = 403, description = "The password matched but the account is disabled or unverified.", body = crate::openapi::schemas::ErrorBody),
        (status = 404, description = "No user has this email and password (knock's answer), or no tenant has this name.",
            body = crate::openapi::schemas::ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::StoreRoute,
        crate::openapi::RateLimited,
    )
)]
async fn default_tenant(
    State(state): State<AppState>,
    AppBytes(body): AppBytes,
) -> ApiResult<Response> {
    let ctx = state.services.contexts.get(DEFAULT_TENANT).await?;
    user_token(&state, ctx, &body).await
}

#[utoipa::path(
    post,
    path = "/t/{tenant}/user_token",
    operation_id = "knock_tenant_user_token",
    tag = "compat",
    summary = "Rails knock's token endpoint",
    description = "`{\"auth\": {\"email\", \"password\"}}` → 201 `{\"jwt\"}`, `sub` the user's id.",
    params(crate::openapi::TenantPath),
    request_body(content = Body, content_type = "application/json"),
    responses(
        (status = 201, description = "The token (a day, no refresh token, as knock); never cached.", body = crate::openapi::schemas::KnockToken),
        (status = 400, description = "The body is not JSON, or lacks a field.", body = crate::openapi::schemas::ErrorBody),
        (status = 403, description = "The password matched but the account is disabled or unverified.", body = crate::openapi::schemas::ErrorBody),
        (status = 404, description = "No user has this email and password (knock's answer), or no tenant has this name.",
            body = crate::openapi::schemas::ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::StoreRoute,
        crate::openapi::RateLimited,
    )
)]
async fn named_tenant(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppBytes(body): AppBytes,
) -> ApiResult<Response> {
    user_token(&state, ctx, &body).await
}

async fn user_token(state: &AppState, ctx: Arc<TenantContext>, body: &[u8]) -> ApiResult<Response> {
    let body: Body = lenient_json(body).map_err(ApiError::bad_request)?;
    let name = LoginName::Email(body.auth.email);
    let user = match state
        .services
        .password_login
        .authenticate(ctx.tenant(), &name, body.auth.password)
        .await
    {
        Ok(user) => user,
        // A lock answers as a wrong password, as everywhere.
        Err(Error::InvalidCredentials | Error::AccountLocked { .. }) => {
            return Err(ApiError::not_found(
                "no user has this email and password (knock answers 404)",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let issue = &state.services.issue;
    let claims = issue.stateless_claims(&ctx, &user, state.compat.knock_token_ttl_secs, 0)?;
    let jwt = issue.sign(&ctx, &claims)?;
    gatehouse_core::service::issue::issued(&ctx, gatehouse_core::telemetry::Grant::CompatKnock);
    Ok(no_store(
        (StatusCode::CREATED, Json(json!({ "jwt": jwt }))).into_response(),
    ))
}
