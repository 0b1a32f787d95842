//! `POST {iss}/login`: JSON username-or-email and password → token response.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use gatehouse_core::token::TokenResponse;
use gatehouse_core::user::LoginName;
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, ClientOrigin, TenantCtx};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{tenant}/login", post(login))
}

/// The user is named by `username` or by `email`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    #[schema(example = "alice")]
    username: Option<String>,
    email: Option<String>,
    #[schema(value_type = String, example = "long-and-unguessable-1")]
    password: SecretString,
    /// Space-separated scopes to ask for (RFC 6749 §3.3).
    scope: Option<String>,
}

/// Names the user by username, else by email.
pub(crate) fn login_name(username: Option<String>, email: Option<String>) -> ApiResult<LoginName> {
    match (username, email) {
        (Some(u), _) if !u.is_empty() => Ok(LoginName::Username(u)),
        (_, Some(e)) if !e.is_empty() => Ok(LoginName::Email(e)),
        _ => Err(ApiError::bad_request(
            "a `username` or an `email` is required",
        )),
    }
}

#[utoipa::path(
    post,
    path = "/t/{tenant}/login",
    operation_id = "login",
    tag = "account",
    summary = "Sign in with a password",
    description = "Checks the password and starts a session: an access token (JWT) and a refresh token.",
    params(crate::openapi::TenantPath),
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in; never cached (`Cache-Control: no-store`).",
            body = crate::openapi::schemas::TokenResponse,
            links(
                ("refresh" = (operation_id = "token",
                    parameters(("tenant" = "$request.path.tenant")),
                    request_body = json!({"grant_type": "refresh_token", "refresh_token": "$response.body#/refresh_token"}),
                    description = "Rotate the refresh token for new tokens.")),
                ("logout" = (operation_id = "logout",
                    parameters(("tenant" = "$request.path.tenant")),
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}),
                    description = "End the session.")),
                ("userinfo" = (operation_id = "userinfo_get",
                    parameters(("tenant" = "$request.path.tenant"), ("header.Authorization" = "Bearer {$response.body#/access_token}")),
                    description = "Read the user's claims with the access token.")),
            )),
        (status = 401, description = "The name or password is wrong (`invalid_grant`; one answer for both).",
            body = crate::openapi::schemas::ErrorBody),
        (status = 403, description = "The password matched but the account is disabled (`account_disabled`) \
            or its email is not verified yet (`email_not_verified`).", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::TenantRoute, crate::openapi::RateLimited,
    )
)]
async fn login(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    ClientOrigin(origin): ClientOrigin,
    AppJson(body): AppJson<LoginBody>,
) -> ApiResult<Response> {
    let name = login_name(body.username, body.email)?;
    let tokens = state
        .services
        .sessions
        .login(&ctx, &name, body.password, body.scope.as_deref(), &origin)
        .await?;
    Ok(token_response(tokens))
}

/// RFC 6749 §5.1: token responses must not be cached.
pub(crate) fn token_response(tokens: TokenResponse) -> Response {
    let mut response = Json(tokens).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
