//! `GET {iss}/.well-known/jwks.json` (RFC 7517) and
//! `GET {iss}/.well-known/openid-configuration` (OIDC Discovery 1.0 §4).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::extract::TenantCtx;
use crate::state::AppState;

/// How long verifiers may cache the key set. The configuration refuses a
/// key pre-publication window that is not longer, so caches pick up a new
/// key before it signs.
pub const JWKS_MAX_AGE_SECS: u32 = 300;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/.well-known/jwks.json", get(jwks))
        .route(
            "/t/{tenant}/.well-known/openid-configuration",
            get(openid_configuration),
        )
}

/// The key set, with a strong ETag so caches revalidate with
/// `If-None-Match` and get 304 when nothing changed (RFC 9110 §13.1.2).
#[utoipa::path(
    get,
    path = "/t/{tenant}/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "discovery",
    summary = "The tenant's public keys (JWKS)",
    description = "RFC 7517. Cacheable for five minutes, with a strong `ETag`: `If-None-Match` gets 304 when nothing changed.",
    params(crate::openapi::TenantPath,
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of a cached key set.")),
    responses(
        (status = 200, description = "The key set.", body = crate::openapi::schemas::Jwks,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "The cached key set is still current.", headers(("ETag" = String))),
        crate::openapi::TenantRoute,
    )
)]
async fn jwks(TenantCtx(ctx): TenantCtx, headers: HeaderMap) -> Response {
    let keyring = ctx.keyring();
    let etag = keyring.jwks_etag();
    let unchanged = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*");
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            keyring.jwks_json().to_string(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECS}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    response
}

/// Lists exactly what is implemented (OIDC Discovery 1.0 §3, RFC 8414):
/// the code flow with S256 PKCE and nothing implicit; the tenant's one
/// signing algorithm for ID tokens as for access tokens.
#[utoipa::path(
    get,
    path = "/t/{tenant}/.well-known/openid-configuration",
    operation_id = "openid_configuration",
    tag = "discovery",
    summary = "OpenID Connect discovery",
    description = "OIDC Discovery 1.0 §4 / RFC 8414: exactly what is implemented, and Gatehouse's own endpoints.",
    params(crate::openapi::TenantPath),
    responses(
        (status = 200, description = "The issuer's metadata.", body = crate::openapi::schemas::Discovery),
        crate::openapi::TenantRoute,
    )
)]
async fn openid_configuration(TenantCtx(ctx): TenantCtx) -> Response {
    let iss = ctx.issuer();
    // Every algorithm a published key signs with (two during a rotation
    // that changes it), the signing key's first.
    let mut algorithms: Vec<String> = Vec::new();
    for key in ctx.keyring().keys() {
        let name = key.algorithm.to_string();
        if !algorithms.contains(&name) {
            algorithms.push(name);
        }
    }
    let secret_methods = ["client_secret_basic", "client_secret_post"];
    let mut response = Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "introspection_endpoint": format!("{iss}/introspect"),
        "revocation_endpoint": format!("{iss}/revoke"),
        "end_session_endpoint": format!("{iss}/end_session"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token", "password"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": secret_methods,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "azp",
            "preferred_username", "name", "given_name", "family_name", "email", "roles"
        ],
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        // Gatehouse's own endpoints, so clients need only the issuer URL.
        "registration_endpoint_gatehouse": format!("{iss}/register"),
        "login_endpoint_gatehouse": format!("{iss}/login"),
        "logout_endpoint_gatehouse": format!("{iss}/logout"),
        "forward_auth_endpoint_gatehouse": format!("{iss}/auth"),
    }))
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECS}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
}
