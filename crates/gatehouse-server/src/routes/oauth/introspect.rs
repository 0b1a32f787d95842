//! `POST {iss}/introspect` (RFC 7662) and `POST {iss}/revoke` (RFC 7009),
//! form encoded, with client authentication as at the token endpoint.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use gatehouse_core::error::OAuthError;
use secrecy::SecretString;
use serde::Deserialize;

use super::client_auth;
use crate::error::ApiResult;
use crate::extract::{AppForm, TenantCtx};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/introspect", post(introspect))
        .route("/t/{tenant}/revoke", post(revoke))
}

/// Both endpoints' form (§2.1 of each RFC). `token_type_hint` is left
/// unread: both kinds of token are tried whatever it says, as both RFCs
/// allow.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = TokenOfClient)]
struct TokenForm {
    /// An access or refresh token (required).
    #[schema(value_type = Option<String>)]
    token: Option<SecretString>,
    /// `client_secret_post`, or a public client (revocation only).
    client_id: Option<String>,
    #[schema(value_type = Option<String>)]
    client_secret: Option<SecretString>,
}

fn token_of(form_token: Option<SecretString>) -> ApiResult<SecretString> {
    form_token.ok_or_else(|| OAuthError::InvalidRequest("the form needs a `token`".into()).into())
}

#[utoipa::path(
    post,
    path = "/t/{tenant}/introspect",
    operation_id = "introspect",
    tag = "oauth",
    summary = "Token introspection (RFC 7662)",
    description = "For an authenticated confidential client: whether a token is active, and what it is.",
    params(crate::openapi::TenantPath),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "`active`, and for an active token its facts; never cached.",
            body = crate::openapi::schemas::Introspection),
        (status = 400, description = "The form is malformed or has no `token` (`invalid_request`).",
            body = crate::openapi::schemas::ErrorBody),
        (status = 401, description = "The client could not be authenticated, or is public (`invalid_client`).",
            body = crate::openapi::schemas::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The Basic challenge."))),
        crate::openapi::BodyLimits, crate::openapi::TenantRoute, crate::openapi::RateLimited,
    )
)]
async fn introspect(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
    AppForm(form): AppForm<TokenForm>,
) -> ApiResult<Response> {
    let presented = client_auth::presented(&headers, form.client_id, form.client_secret)?;
    let caller = state.services.clients.authenticate(&ctx, presented).await?;
    let token = token_of(form.token)?;
    let answer = state
        .services
        .introspect
        .introspect(&ctx, &caller, &token)
        .await?;
    let mut response = Json(answer).into_response();
    // An introspection answer is about a secret; nobody should keep it.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// §2.2: 200 whether or not the token was known.
#[utoipa::path(
    post,
    path = "/t/{tenant}/revoke",
    operation_id = "revoke",
    tag = "oauth",
    summary = "Token revocation (RFC 7009)",
    description = "Revokes a refresh token (and its session) or an access token's session. \
        200 whether or not the token was known (§2.2).",
    params(crate::openapi::TenantPath),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "Done (or there was nothing to revoke)."),
        (status = 400, description = "The form is malformed or has no `token` (`invalid_request`).",
            body = crate::openapi::schemas::ErrorBody),
        (status = 401, description = "The client could not be authenticated (`invalid_client`).",
            body = crate::openapi::schemas::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The Basic challenge."))),
        crate::openapi::BodyLimits, crate::openapi::TenantRoute, crate::openapi::RateLimited,
    )
)]
async fn revoke(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
    AppForm(form): AppForm<TokenForm>,
) -> ApiResult<StatusCode> {
    let presented = client_auth::presented(&headers, form.client_id, form.client_secret)?;
    let caller = state.services.clients.authenticate(&ctx, presented).await?;
    let token = token_of(form.token)?;
    state
        .services
        .introspect
        .revoke(&ctx, &caller, &token)
        .await?;
    Ok(StatusCode::OK)
}
