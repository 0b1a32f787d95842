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
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
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

/// What a header value may carry as it is: printable ASCII and the space.
/// Everything else (controls, DEL, every byte of a non-ASCII character)
/// and `%` itself become `%XX` of the UTF-8 bytes, uppercase hex
/// (RFC 3986 §2.1). HTTP carries header bytes, and proxies and frameworks
/// read them as Latin-1 (RFC 9110 §5.5), so raw UTF-8 arrives upstream
/// garbled: `ü-user` as `Ã¼-user`. Encoded, it arrives as `%C3%BC-user`,
/// which any URL decoder turns back into `ü-user`; the JSON body keeps the
/// raw value.
const HEADER_ESCAPES: &AsciiSet = &CONTROLS.add(b'%');

/// `value` in the ASCII-safe form of [`HEADER_ESCAPES`].
pub(crate) fn header_safe(value: &str) -> HeaderValue {
    let encoded = utf8_percent_encode(value, HEADER_ESCAPES).to_string();
    // Only printable ASCII and spaces remain, which a header always holds.
    HeaderValue::from_str(&encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// 200 with the verified claims as the body and the identity headers a
/// gateway copies to the upstream, each in the ASCII-safe form of
/// [`header_safe`].
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
        if let Some(v) = value {
            out.insert(HeaderName::from_static(name), header_safe(v));
        }
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
