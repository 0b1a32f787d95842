//! `GET|POST {iss}/userinfo` (OpenID Connect Core §5.3) with
//! `Authorization: Bearer <access token>`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use secrecy::ExposeSecret;

use crate::error::{ApiError, ApiResult, REALM};
use crate::extract::{TenantCtx, bearer_token};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{tenant}/userinfo", get(userinfo).post(userinfo))
}

#[utoipa::path(
    method(get, post),
    path = "/t/{tenant}/userinfo",
    operation_id = "userinfo",
    tag = "oauth",
    summary = "OpenID Connect UserInfo",
    description = "OIDC Core §5.3: the claims the access token's scopes open (`openid` required). \
        Checks the session too: a token of a session that ended stops answering at once.",
    params(crate::openapi::TenantPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's claims; never cached.", body = crate::openapi::schemas::UserInfo),
        (status = 403, description = "The token lacks the `openid` scope (`insufficient_scope`).",
            body = crate::openapi::schemas::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The RFC 6750 challenge."))),
        crate::openapi::BearerRoute, crate::openapi::TenantRoute,
    )
)]
async fn userinfo(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let token = bearer_token(&headers).ok_or_else(|| ApiError::challenge(REALM, None))?;
    let claims = state
        .services
        .userinfo
        .claims(&ctx, token.expose_secret())
        .await?;
    let mut response = Json(claims).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
