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
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppBytes, TenantKeys, bearer_token};
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
    TenantKeys(keyring): TenantKeys,
    headers: HeaderMap,
    AppBytes(body): AppBytes,
) -> ApiResult<StatusCode> {
    if let Some(token) = bearer_token(&headers) {
        // A JWT has three dot-separated parts; a refresh token has none.
        if token.expose_secret().contains('.') {
            let claims = state
                .auth
                .verify(&keyring, token.expose_secret())
                .map_err(|e| ApiError::from(e).in_realm(&keyring.issuer))?;
            if let Some(sid) = claims.sid {
                state.auth.logout_session(&sid).await?;
            }
        } else {
            state.auth.logout_refresh(&keyring, &token).await?;
        }
        return Ok(StatusCode::NO_CONTENT);
    }
    if body.is_empty() {
        return Err(ApiError::missing_token(&keyring.issuer));
    }
    let parsed: LogoutBody = serde_json::from_slice(&body).map_err(|_| {
        ApiError::bad_request(
            "send `Authorization: Bearer <token>` or a JSON body {\"refresh_token\": \"...\"}",
        )
    })?;
    // RFC 7009 §2.2 spirit: an unknown token is not worth an error.
    state
        .auth
        .logout_refresh(&keyring, &parsed.refresh_token)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
