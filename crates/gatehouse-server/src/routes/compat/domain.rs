//! The domain-based service's routes, at the root:
//!
//! - `POST /login {domain, username, password}` → `{token, refresh_token}`,
//!   where `domain` names the tenant;
//! - `GET /refresh` with the token in `Authorization` → `{token}`, a fresh
//!   access token of the same session (the session must still be active);
//! - `GET /auth` with the token in `Authorization` → 200 with the identity
//!   headers of `{iss}/auth`, or 403.
//!
//! These paths carry no tenant, so the tenant is the one the token's `iss`
//! names; the token is then verified against that tenant's keys and issuer.
//! `Authorization` may hold `Bearer <token>` or the bare token, as the
//! original's clients sent it.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::service::TenantContext;
use gatehouse_core::service::gate::{Credential, Decision, GateRequest};
use gatehouse_core::user::LoginName;
use gatehouse_jwt::unverified_issuer;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::{lenient_json, no_store};
use crate::error::{ApiError, ApiResult, REALM};
use crate::extract::{AppBytes, ClientOrigin, bearer_or_bare};
use crate::routes::gate::HttpHeaders;
use crate::routes::gate::forward_auth::identity_response;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/refresh", get(refresh))
        .route("/auth", get(auth))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = DomainCredentials)]
struct LoginBody {
    /// The tenant's name.
    domain: String,
    username: String,
    #[schema(value_type = String)]
    password: SecretString,
}

#[utoipa::path(
    post,
    path = "/login",
    operation_id = "domain_login",
    tag = "compat",
    summary = "The domain-based service's login",
    description = "`{domain, username, password}`, `domain` naming the tenant, read as JSON whatever the \
        content type. Served unless `compat_domain_root` is off.",
    request_body(content = LoginBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The access and refresh tokens; never cached.", body = crate::openapi::schemas::DomainLogin,
            links(("refresh" = (operation_id = "domain_refresh",
                parameters(("header.Authorization" = "$response.body#/token")),
                description = "A fresh access token of the session.")))),
        (status = 400, description = "The body is not JSON, or lacks a field.", body = crate::openapi::schemas::ErrorBody),
        (status = 401, description = "The name or password is wrong (`invalid_grant`).", body = crate::openapi::schemas::ErrorBody),
        (status = 403, description = "The password matched but the account is disabled or unverified.", body = crate::openapi::schemas::ErrorBody),
        (status = 404, description = "No tenant has the `domain`'s name.", body = crate::openapi::schemas::ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::StoreRoute, crate::openapi::RateLimited,
    )
)]
async fn login(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    AppBytes(body): AppBytes,
) -> ApiResult<Response> {
    let body: LoginBody = lenient_json(&body).map_err(ApiError::bad_request)?;
    let ctx = state.services.contexts.get(&body.domain).await?;
    let tokens = state
        .services
        .sessions
        .login(
            &ctx,
            &LoginName::Username(body.username),
            body.password,
            None,
            &origin,
        )
        .await?;
    let response = Json(json!({
        "token": tokens.access_token.expose_secret(),
        "refresh_token": tokens.refresh_token.as_ref().map(|t| t.expose_secret()),
    }));
    Ok(no_store(response.into_response()))
}

#[utoipa::path(
    get,
    path = "/refresh",
    operation_id = "domain_refresh",
    tag = "compat",
    summary = "The domain-based service's refresh",
    description = "A fresh access token of the same session, for the token in `Authorization` \
        (its `iss` names the tenant); the session must still be active.",
    params(("Authorization" = Option<String>, Header, description = "`Bearer <token>`, or the bare token.")),
    responses(
        (status = 200, description = "The new access token; never cached.", body = crate::openapi::schemas::DomainRefresh),
        (status = 401, description = "No token, or it is not valid, or its session ended.", body = crate::openapi::schemas::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The RFC 6750 challenge."))),
        (status = 403, description = "The account is disabled.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::StoreRoute, crate::openapi::RateLimited,
    )
)]
async fn refresh(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let token = authorization_token(&headers).ok_or_else(|| ApiError::challenge(REALM, None))?;
    let ctx = tenant_of(&state, token.expose_secret())
        .await?
        .ok_or_else(|| {
            ApiError::challenge(
                REALM,
                Some("the token's issuer is not a tenant of this service".into()),
            )
        })?;
    let (token, _ttl) = state
        .services
        .sessions
        .reissue(&ctx, token.expose_secret())
        .await?;
    Ok(no_store(
        Json(json!({ "token": token.expose_secret() })).into_response(),
    ))
}

/// The original answered 403 to anything but a valid token: every
/// decision other than allow is rendered as that 403.
#[utoipa::path(
    get,
    path = "/auth",
    operation_id = "domain_auth",
    tag = "compat",
    summary = "The domain-based service's auth check",
    description = "200 with the identity headers of `{iss}/auth` for a valid token in `Authorization` \
        (its `iss` names the tenant); 403 for anything else, as the original.",
    params(("Authorization" = Option<String>, Header, description = "`Bearer <token>`, or the bare token.")),
    responses(
        (status = 200, description = "The token is valid; the identity is in the `X-Auth-*` headers and the body.",
            body = crate::openapi::schemas::GateIdentity),
        (status = 403, description = "No token, or it may not pass.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::StoreRoute,
    )
)]
async fn auth(
    State(state): State<AppState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let token = authorization_token(&headers).ok_or_else(|| {
        ApiError::forbidden("this request needs a token in the Authorization header")
    })?;
    let ctx = tenant_of(&state, token.expose_secret())
        .await?
        .ok_or_else(|| ApiError::forbidden("the token's issuer is not a tenant of this service"))?;
    let lookup = HttpHeaders(&headers);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = GateRequest {
        method: method.as_str(),
        path,
        credential: Some(Credential::Bearer(token)),
        headers: &lookup,
        body: None,
        check_session: false,
    };
    match state.services.gate.decide(&ctx, request).await? {
        Decision::Allow(identity) => Ok(identity_response(&identity)),
        Decision::Challenge(c) => Err(ApiError::forbidden(
            c.error
                .unwrap_or_else(|| "a valid token is required".into()),
        )),
        Decision::Deny(reason) => Err(ApiError::forbidden(reason)),
    }
}

/// `Authorization: Bearer <token>`, or the bare token.
fn authorization_token(headers: &HeaderMap) -> Option<SecretString> {
    bearer_or_bare(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The tenant whose issuer the token names, if it is one of ours. Only a
/// store failure is an error.
async fn tenant_of(state: &AppState, token: &str) -> ApiResult<Option<Arc<TenantContext>>> {
    let Some(iss) = unverified_issuer(token) else {
        return Ok(None);
    };
    let Some(name) = iss.strip_prefix(&format!("{}/t/", state.public_url())) else {
        return Ok(None);
    };
    if name.is_empty() || name.contains('/') {
        return Ok(None);
    }
    match state.services.contexts.get(name).await {
        Ok(ctx) => Ok(Some(ctx)),
        Err(gatehouse_core::Error::TenantNotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
