//! `GET {iss}/auth`: the forward-auth endpoint for nginx `auth_request`,
//! Traefik ForwardAuth, Caddy `forward_auth` and Envoy ext_authz.
//!
//! It verifies the bearer JWT offline against the cached keyring (no
//! database read) and answers 200 with identity headers the gateway copies
//! to the upstream, or 401 with an RFC 6750 challenge.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use gatehouse_core::token::AccessClaims;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{TenantKeys, bearer_token};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    // Gateways differ in the method of the sub-request; accept any.
    Router::new().route("/t/{tenant}/auth", any(forward_auth))
}

#[derive(Deserialize)]
struct AuthQuery {
    /// `session=check`: also confirm in the store that the token's session
    /// is still active, so a logged-out session fails at once rather than
    /// when its access token expires. Costs one database read.
    session: Option<String>,
}

async fn forward_auth(
    State(state): State<AppState>,
    TenantKeys(keyring): TenantKeys,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let query: AuthQuery = serde_urlencoded::from_str(raw_query.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::bad_request("the query string is malformed"))?;
    let token = bearer_token(&headers).ok_or_else(|| ApiError::missing_token(&keyring.issuer))?;
    let claims = state
        .auth
        .verify(&keyring, token.expose_secret())
        .map_err(|e| ApiError::from(e).in_realm(&keyring.issuer))?;
    match query.session.as_deref() {
        None => {}
        Some("check") => {
            let active = match &claims.sid {
                Some(sid) => state.auth.session_active(&keyring.tenant, sid).await?,
                None => false,
            };
            if !active {
                let ended =
                    gatehouse_core::Error::from(gatehouse_core::TokenUnusable::SessionEnded);
                return Err(ApiError::from(ended).in_realm(&keyring.issuer));
            }
        }
        Some(_) => return Err(ApiError::bad_request("`session` accepts only `check`")),
    }

    Ok(identity_response(&claims, keyring.tenant.name.as_str()))
}

/// 200 with the verified claims as the body and the identity headers a
/// gateway copies to the upstream.
pub(crate) fn identity_response(claims: &AccessClaims, tenant: &str) -> Response {
    let identity: [(&str, Option<&str>); 5] = [
        ("x-auth-subject", Some(&claims.sub)),
        ("x-auth-username", claims.preferred_username.as_deref()),
        ("x-auth-email", claims.email.as_deref()),
        ("x-auth-scope", Some(&claims.scope)),
        ("x-auth-tenant", Some(tenant)),
    ];
    let mut response = Json(claims).into_response();
    let out = response.headers_mut();
    for (name, value) in identity {
        // Values are validated at registration (no control characters), so
        // this only skips what a header cannot carry at all.
        if let Some(v) = value.and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok()) {
            out.insert(HeaderName::from_static(name), v);
        }
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
