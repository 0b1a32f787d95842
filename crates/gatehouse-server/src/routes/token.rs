//! `POST {iss}/token`: the OAuth 2.0 token endpoint (RFC 6749 §3.2), form
//! encoded. Grants: `password` (§4.3) and `refresh_token` (§6).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use gatehouse_core::Error;
use secrecy::SecretString;
use serde::Deserialize;

use super::login::{login_name, token_response};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AppForm, TenantKeys};
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
    TenantKeys(keyring): TenantKeys,
    AppForm(form): AppForm<TokenForm>,
) -> ApiResult<Response> {
    let tokens = match form.grant_type.as_deref() {
        Some("password") => {
            let name = login_name(form.username, None)
                .map_err(|_| ApiError::bad_request("the password grant needs `username`"))?;
            let password = form
                .password
                .ok_or_else(|| ApiError::bad_request("the password grant needs `password`"))?;
            state
                .auth
                .login(&keyring, &name, password, form.scope.as_deref())
                .await
        }
        Some("refresh_token") => {
            let refresh = form.refresh_token.ok_or_else(|| {
                ApiError::bad_request("the refresh_token grant needs `refresh_token`")
            })?;
            state.auth.refresh(&keyring, &refresh).await
        }
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "the grant type `{}` is not supported here; use `password` or `refresh_token`",
                    other.chars().take(64).collect::<String>()
                ),
            ));
        }
        None => return Err(ApiError::bad_request("the form needs a `grant_type`")),
    };
    match tokens {
        Ok(tokens) => Ok(token_response(tokens)),
        // RFC 6749 §5.2: bad resource-owner credentials are `invalid_grant`
        // with 400 at the token endpoint (the JSON /login answers 401).
        Err(Error::InvalidCredentials) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Error::InvalidCredentials.to_string(),
        )),
        Err(e) => Err(e.into()),
    }
}
