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
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = TokenRequest)]
struct TokenForm {
    /// `authorization_code`, `client_credentials`, `refresh_token` or `password`.
    #[schema(example = "refresh_token")]
    grant_type: Option<String>,
    /// `authorization_code`: the code.
    #[schema(value_type = Option<String>)]
    code: Option<SecretString>,
    /// `authorization_code`: as sent to `/authorize`.
    redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier (RFC 7636).
    #[schema(value_type = Option<String>)]
    code_verifier: Option<SecretString>,
    /// `refresh_token`: the refresh token (single use).
    #[schema(value_type = Option<String>)]
    refresh_token: Option<SecretString>,
    /// `password`: the user's name.
    username: Option<String>,
    /// `password`: the user's password.
    #[schema(value_type = Option<String>)]
    password: Option<SecretString>,
    scope: Option<String>,
    /// `client_secret_post`, or a public client.
    client_id: Option<String>,
    /// `client_secret_post`.
    #[schema(value_type = Option<String>)]
    client_secret: Option<SecretString>,
}

#[utoipa::path(
    post,
    path = "/t/{tenant}/token",
    operation_id = "token",
    tag = "oauth",
    summary = "The OAuth 2.0 token endpoint",
    description = "RFC 6749 §3.2, form encoded. Grants: `authorization_code` (with PKCE), \
        `client_credentials`, `refresh_token` (rotated at every use; a reused one revokes its session), \
        and `password` for the tenant's own first-party client. Clients authenticate with HTTP Basic \
        (`client_secret_basic`) or in the form (`client_secret_post`).",
    params(crate::openapi::TenantPath),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "The tokens; never cached.", body = crate::openapi::schemas::TokenResponse,
            links(("refresh" = (operation_id = "token",
                parameters(("tenant" = "$request.path.tenant")),
                request_body = json!({"grant_type": "refresh_token", "refresh_token": "$response.body#/refresh_token"}),
                description = "Rotate the new refresh token once more.")))),
        (status = 400, description = "RFC 6749 §5.2: `invalid_request`, `invalid_grant` (a wrong, used, expired \
            or revoked code, refresh token or password), `unsupported_grant_type`, `unauthorized_client` or `invalid_scope`.",
            body = crate::openapi::schemas::ErrorBody),
        (status = 401, description = "The client could not be authenticated (`invalid_client`); `WWW-Authenticate: Basic`.",
            body = crate::openapi::schemas::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The Basic challenge."))),
        (status = 403, description = "Password grant: the password matched but the account is disabled \
            (`account_disabled`) or its email is unverified (`email_not_verified`).",
            body = crate::openapi::schemas::ErrorBody),
        crate::openapi::BodyLimits, crate::openapi::TenantRoute, crate::openapi::RateLimited,
    )
)]
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
