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

#[derive(Deserialize)]
struct LogoutBody {
    refresh_token: SecretString,
}

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
