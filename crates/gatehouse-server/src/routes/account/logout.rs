//! `POST {iss}/logout`: ends the session of the presented token, given as
//! `Authorization: Bearer <access or refresh token>` or as a JSON body
//! `{"refresh_token": "..."}`.
//!
//! Access tokens already issued stay valid offline until they expire (15
//! minutes by default); the session's refresh tokens stop working at once.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult, REALM};
use crate::extract::{AppBytes, TenantCtx, bearer_token};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{tenant}/logout", post(logout))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LogoutBody {
    #[schema(value_type = String)]
    refresh_token: SecretString,
}

#[utoipa::path(
    post,
    path = "/t/{tenant}/logout",
    operation_id = "logout",
    tag = "account",
    summary = "Sign out",
    description = "Ends the session of the token presented as `Authorization: Bearer <access or refresh token>`, \
        or of the refresh token in the body. The session's refresh tokens stop at once; access tokens \
        already issued stay valid offline until they expire. An unknown refresh token is not an error.",
    params(crate::openapi::TenantPath,
        ("Authorization" = Option<String>, Header, description = "`Bearer <access or refresh token>`; then no body is needed.")),
    request_body(content = LogoutBody, description = "Without a bearer token: the refresh token of the session to end.",
        content_type = "application/json"),
    responses(
        (status = 204, description = "The session is over."),
        (status = 401, description = "Neither a bearer token nor a body was sent, or the bearer token is not valid (`invalid_token`).",
            body = crate::openapi::schemas::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The RFC 6750 challenge."))),
        crate::openapi::RawBody, crate::openapi::TenantRoute,
    )
)]
async fn logout(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
    AppBytes(body): AppBytes,
) -> ApiResult<StatusCode> {
    let sessions = &state.services.sessions;
    if let Some(token) = bearer_token(&headers) {
        sessions.logout(&ctx, &token).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    if body.is_empty() {
        return Err(ApiError::challenge(REALM, None));
    }
    let parsed: LogoutBody = serde_json::from_slice(&body).map_err(|_| {
        ApiError::bad_request(
            "send `Authorization: Bearer <token>` or a JSON body {\"refresh_token\": \"...\"}",
        )
    })?;
    // RFC 7009 §2.2 spirit: an unknown token is not worth an error.
    sessions.logout_refresh(&ctx, &parsed.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}
