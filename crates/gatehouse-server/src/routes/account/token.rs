//! `POST {iss}/token`: the OAuth 2.0 token endpoint (RFC 6749 §3.2), form
//! encoded. Grants: `password` (§4.3) and `refresh_token` (§6).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use gatehouse_core::error::OAuthError;
use secrecy::SecretString;
use serde::Deserialize;

use super::login::{login_name, token_response};
use crate::error::ApiResult;
use crate::extract::{AppForm, TenantCtx};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{tenant}/token", post(token))
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    refresh_token: Option<SecretString>,
    username: Option<String>,
    password: Option<SecretString>,
    scope: Option<String>,
    // Other fields (`client_id`, …) are ignored until clients are
    // registered per tenant.
}

async fn token(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppForm(form): AppForm<TokenForm>,
) -> ApiResult<Response> {
    let sessions = &state.services.sessions;
    let tokens = match form.grant_type.as_deref() {
        Some("password") => {
            let name = login_name(form.username, None).map_err(|_| {
                OAuthError::InvalidRequest("the password grant needs `username`".into())
            })?;
            let password = form.password.ok_or_else(|| {
                OAuthError::InvalidRequest("the password grant needs `password`".into())
            })?;
            sessions
                .password_grant(&ctx, &name, password, form.scope.as_deref())
                .await?
        }
        Some("refresh_token") => {
            let refresh = form.refresh_token.ok_or_else(|| {
                OAuthError::InvalidRequest("the refresh_token grant needs `refresh_token`".into())
            })?;
            sessions.refresh(&ctx, &refresh).await?
        }
        Some(other) => {
            return Err(OAuthError::UnsupportedGrantType(other.chars().take(64).collect()).into());
        }
        None => {
            return Err(OAuthError::InvalidRequest("the form needs a `grant_type`".into()).into());
        }
    };
    Ok(token_response(tokens))
}
