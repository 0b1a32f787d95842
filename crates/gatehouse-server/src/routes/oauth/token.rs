//! `POST {iss}/token`: the OAuth 2.0 token endpoint (RFC 6749 §3.2), form
//! encoded. Grants: `authorization_code` (§4.1.3, with PKCE),
//! `client_credentials` (§4.4), `refresh_token` (§6) and, for the tenant's
//! own first-party client only, `password` (§4.3).

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use gatehouse_core::service::grants::TokenRequest;
use secrecy::SecretString;
use serde::Deserialize;

use super::client_auth;
use crate::error::ApiResult;
use crate::extract::{AppForm, ClientOrigin, TenantCtx};
use crate::routes::account::token_response;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{tenant}/token", post(token))
}

/// Unknown fields are ignored (§3.2: "The authorization server MUST
/// ignore unrecognized request parameters"); a repeated one is refused.
#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<SecretString>,
    redirect_uri: Option<String>,
    code_verifier: Option<SecretString>,
    refresh_token: Option<SecretString>,
    username: Option<String>,
    password: Option<SecretString>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
}

async fn token(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    ClientOrigin(origin): ClientOrigin,
    headers: HeaderMap,
    AppForm(form): AppForm<TokenForm>,
) -> ApiResult<Response> {
    let client = client_auth::presented(&headers, form.client_id, form.client_secret)?;
    let request = TokenRequest {
        grant_type: form.grant_type,
        code: form.code,
        redirect_uri: form.redirect_uri,
        code_verifier: form.code_verifier,
        refresh_token: form.refresh_token,
        username: form.username,
        password: form.password,
        scope: form.scope,
    };
    let tokens = state
        .services
        .token
        .exchange(&ctx, client, request, &origin)
        .await?;
    Ok(token_response(tokens))
}
