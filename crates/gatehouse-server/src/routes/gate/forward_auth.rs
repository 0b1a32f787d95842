//! `GET {iss}/auth`: the forward-auth endpoint for nginx `auth_request`,
//! Traefik ForwardAuth, Caddy `forward_auth` and Envoy ext_authz.
//!
//! A thin adapter over core's gate: it reads the credential, asks the gate,
//! and renders the decision: 200 with identity headers the gateway copies
//! to the upstream, 401 with an RFC 6750 challenge, or 403.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use gatehouse_core::service::gate::{Credential, Decision, GateRequest, Identity};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{TenantCtx, bearer_token};
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
    TenantCtx(ctx): TenantCtx,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let query: AuthQuery = serde_urlencoded::from_str(raw_query.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::bad_request("the query string is malformed"))?;
    let check_session = match query.session.as_deref() {
        None => false,
        Some("check") => true,
        Some(_) => return Err(ApiError::bad_request("`session` accepts only `check`")),
    };
    let request = GateRequest {
        credential: bearer_token(&headers).map(Credential::Bearer),
        check_session,
    };
    match state.services.gate.decide(&ctx, request).await? {
        Decision::Allow(identity) => Ok(identity_response(&identity)),
        Decision::Challenge(challenge) => Err(ApiError::from_challenge(challenge)),
        Decision::Deny(reason) => Err(ApiError::forbidden(reason)),
    }
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
pub(crate) fn identity_response(identity: &Identity) -> Response {
    let claims = &identity.claims;
    let headers: [(&str, Option<&str>); 6] = [
        ("x-auth-subject", Some(&claims.sub)),
        ("x-auth-username", claims.preferred_username.as_deref()),
        ("x-auth-email", claims.email.as_deref()),
        ("x-auth-scope", Some(&claims.scope)),
        ("x-auth-tenant", Some(&identity.tenant)),
        ("x-auth-credential", Some(identity.credential.as_str())),
    ];
    let mut response = Json(claims).into_response();
    let out = response.headers_mut();
    for (name, value) in headers {
        if let Some(v) = value {
            out.insert(HeaderName::from_static(name), header_safe(v));
        }
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
