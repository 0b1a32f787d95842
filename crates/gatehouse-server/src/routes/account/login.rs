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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: Option<String>,
    email: Option<String>,
    password: SecretString,
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
