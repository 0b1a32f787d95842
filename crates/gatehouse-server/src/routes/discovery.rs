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

/// Lists only what exists: no authorization endpoint yet, so no response
/// types; no ID tokens yet, so no ID-token algorithms.
async fn openid_configuration(TenantCtx(ctx): TenantCtx) -> Response {
    let iss = ctx.issuer();
    let mut response = Json(json!({
        "issuer": iss,
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "token_endpoint": format!("{iss}/token"),
        "grant_types_supported": ["password", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": [],
        "subject_types_supported": ["public"],
        "scopes_supported": ["openid", "profile", "email"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "scope", "client_id",
            "preferred_username", "email", "given_name", "family_name", "roles"
        ],
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
