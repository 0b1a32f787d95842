//! `{iss}/auth`: the forward-auth endpoint for every common gateway.
//!
//! - `GET|POST {iss}/auth`: the original request is named by headers:
//!   `X-Forwarded-Method` + `X-Forwarded-Uri` (+ `X-Forwarded-Host`), as
//!   Traefik ForwardAuth and Caddy `forward_auth` send them, or
//!   `X-Original-Method` + `X-Original-URI`, as the nginx `auth_request`
//!   snippet sets them. Without them the sub-request itself is judged
//!   (method as sent, path `/`).
//! - `ANY {iss}/auth/{*path}`: the original method and path are the
//!   request's own, after the prefix, as Envoy's HTTP ext_authz
//!   (`path_prefix`) sends them.
//!
//! A thin adapter over core's gate: it reads the original request, asks
//! the gate, and renders the decision: 200 with identity headers the
//! gateway copies to the upstream, 401 with the rule's challenge, or 403.
//! A body sent along (Envoy `with_request_body`, or a POST of it) is handed
//! to the gate for HMAC rules.

use std::borrow::Cow;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use gatehouse_core::service::TenantContext;
use gatehouse_core::service::gate::{Credential, Decision, Gate, GateRequest, Identity};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use super::HttpHeaders;
use crate::error::{ApiError, ApiResult};
use crate::extract::{TenantCtx, has_body};
use crate::routes::MAX_BODY_BYTES;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    // Gateways differ in the method of the sub-request; accept any.
    Router::new()
        .route("/t/{tenant}/auth", any(forward_auth))
        .route("/t/{tenant}/auth/{*path}", any(envoy_auth))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AuthQuery {
    /// `session=check`: also confirm in the store that the token's session
    /// is still active, so a logged-out session fails at once rather than
    /// when its access token expires. Costs one database read.
    session: Option<String>,
}

#[utoipa::path(
    method(get, post, put, patch, delete, options, head),
    path = "/t/{tenant}/auth",
    operation_id = "forward_auth",
    tag = "gate",
    summary = "Forward auth: may this request pass?",
    description = "For nginx `auth_request`, Traefik ForwardAuth and Caddy `forward_auth`: any method. \
        The original request is named by `X-Forwarded-Method` + `X-Forwarded-Uri` (Traefik, Caddy) or \
        `X-Original-Method` + `X-Original-URI` (nginx); without them the sub-request itself is judged. \
        The credential is read from `Authorization` (Bearer JWT or API key, Basic) or `X-API-Key`; \
        a body sent along is checked by HMAC rules.",
    params(crate::openapi::TenantPath, AuthQuery,
        ("X-Forwarded-Method" = Option<String>, Header, description = "The original method (Traefik, Caddy)."),
        ("X-Forwarded-Uri" = Option<String>, Header, description = "The original path and query (Traefik, Caddy)."),
        ("X-Original-Method" = Option<String>, Header, description = "The original method (nginx)."),
        ("X-Original-URI" = Option<String>, Header, description = "The original path and query (nginx)."),
    ),
    security((), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 200, description = "The request may pass. The identity is in the `X-Auth-*` headers the gateway \
            copies upstream (`X-Auth-Subject`, `-Username`, `-Email`, `-Scope`, `-Roles`, `-Tenant`, \
            `-Credential`, `-Key-Id`; non-ASCII percent-encoded) and in the body.",
            body = crate::openapi::schemas::GateIdentity,
            headers(
                ("X-Auth-Subject" = String, description = "The user's id."),
                ("X-Auth-Tenant" = String, description = "The tenant."),
                ("X-Auth-Credential" = String, description = "`jwt`, `api_key`, `basic`, `hmac` or `public`."),
            )),
        (status = 400, description = "The query is malformed (`invalid_request`).", body = crate::openapi::schemas::ErrorBody),
        (status = 401, description = "The rule needs credentials and none (or invalid ones) came: \
            `WWW-Authenticate` offers the rule's schemes (Bearer, Basic).",
            body = crate::openapi::schemas::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The rule's challenges."))),
        (status = 403, description = "The credential is valid but may not pass: a scope or role is missing, \
            the rule denies, or an HMAC signature does not verify (`access_denied`, `insufficient_scope`).",
            body = crate::openapi::schemas::ErrorBody),
        crate::openapi::TenantRoute,
    )
)]
async fn forward_auth(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    method: Method,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let query: AuthQuery = serde_urlencoded::from_str(raw_query.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::bad_request("the query string is malformed"))?;
    let check_session = match query.session.as_deref() {
        None => false,
        Some("check") => true,
        Some(_) => return Err(ApiError::bad_request("`session` accepts only `check`")),
    };
    let lookup = HttpHeaders(&headers);
    let original_method = first_header(&headers, &[X_FORWARDED_METHOD, X_ORIGINAL_METHOD])
        .unwrap_or(method.as_str())
        .to_string();
    let original_uri = first_header(&headers, &[X_FORWARDED_URI, X_ORIGINAL_URI]).unwrap_or("/");
    let gate = &state.services.gate;
    let body = body_if_wanted(gate, &ctx, &original_method, original_uri, &headers, body).await?;
    let request = GateRequest {
        method: &original_method,
        path: original_uri,
        credential: Credential::from_headers(&lookup),
        headers: &lookup,
        body: body.as_deref(),
        check_session,
    };
    render(gate.decide(&ctx, request).await?)
}

#[utoipa::path(
    method(get, post, put, patch, delete, options, head),
    path = "/t/{tenant}/auth/{path}",
    operation_id = "forward_auth_path",
    tag = "gate",
    summary = "Forward auth with the original path appended (Envoy ext_authz)",
    description = "Envoy's HTTP ext_authz (`path_prefix`): the original method and path are this request's own, \
        after the prefix `/t/{tenant}/auth`. Otherwise as `/t/{tenant}/auth`.",
    params(crate::openapi::TenantPath,
        ("path" = String, Path, description = "The original path (it may hold further `/` segments), with its query.")),
    security((), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 200, description = "The request may pass. The identity is in the `X-Auth-*` headers the gateway \
            copies upstream (`X-Auth-Subject`, `-Username`, `-Email`, `-Scope`, `-Roles`, `-Tenant`, \
            `-Credential`, `-Key-Id`; non-ASCII percent-encoded) and in the body.",
            body = crate::openapi::schemas::GateIdentity,
            headers(
                ("X-Auth-Subject" = String, description = "The user's id."),
                ("X-Auth-Tenant" = String, description = "The tenant."),
                ("X-Auth-Credential" = String, description = "`jwt`, `api_key`, `basic`, `hmac` or `public`."),
            )),
        (status = 400, description = "The path is malformed (`invalid_request`).", body = crate::openapi::schemas::ErrorBody),
        (status = 401, description = "The rule needs credentials and none (or invalid ones) came: \
            `WWW-Authenticate` offers the rule's schemes (Bearer, Basic).",
            body = crate::openapi::schemas::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The rule's challenges."))),
        (status = 403, description = "The credential is valid but may not pass: a scope or role is missing, \
            the rule denies, or an HMAC signature does not verify (`access_denied`, `insufficient_scope`).",
            body = crate::openapi::schemas::ErrorBody),
        crate::openapi::TenantRoute,
    )
)]
async fn envoy_auth(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    Path((_, path)): Path<(String, String)>,
    method: Method,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let lookup = HttpHeaders(&headers);
    // The path as the client sent it, query included (Envoy appends the
    // original path to the prefix unchanged).
    let original = match raw_query {
        Some(q) => format!("/{path}?{q}"),
        None => format!("/{path}"),
    };
    let gate = &state.services.gate;
    let body = body_if_wanted(gate, &ctx, method.as_str(), &original, &headers, body).await?;
    let request = GateRequest {
        method: method.as_str(),
        path: &original,
        credential: Credential::from_headers(&lookup),
        headers: &lookup,
        body: body.as_deref(),
        check_session: false,
    };
    render(gate.decide(&ctx, request).await?)
}

/// The body, read only when there is one and the rule this request
/// matches checks an HMAC signature over it: a gateway's sub-request
/// rarely carries one, and an ignored body costs nothing. At most
/// [`MAX_BODY_BYTES`], as every route.
async fn body_if_wanted(
    gate: &Gate,
    ctx: &TenantContext,
    method: &str,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Option<Bytes>> {
    if !has_body(headers) || !gate.wants_body(ctx, method, path) {
        return Ok(None);
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the body is larger than the 64 KiB this endpoint accepts (or broke off)",
            )
        })?;
    Ok((!bytes.is_empty()).then_some(bytes))
}

fn first_header<'h>(headers: &'h HeaderMap, names: &[HeaderName]) -> Option<&'h str> {
    names
        .iter()
        .find_map(|n| headers.get(n).and_then(|v| v.to_str().ok()))
}

// Traefik and Caddy name the original request with these, nginx with the
// `X-Original-*` pair.
const X_FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
const X_ORIGINAL_METHOD: HeaderName = HeaderName::from_static("x-original-method");
const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
const X_ORIGINAL_URI: HeaderName = HeaderName::from_static("x-original-uri");

/// Forward auth's answer: the identity, or the refusal of [`admit`].
fn render(decision: Decision) -> ApiResult<Response> {
    admit(decision).map(|identity| identity_response(&identity))
}

/// The one mapping of a decision to HTTP, for forward auth and proxy mode:
/// the identity that may pass, or the 401 with the rule's challenge, or
/// the 403 with its reason.
pub(crate) fn admit(decision: Decision) -> ApiResult<Box<Identity>> {
    match decision {
        Decision::Allow(identity) => Ok(identity),
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
    // Borrowed when nothing needed escaping (the usual case).
    let encoded: Cow<'_, str> = utf8_percent_encode(value, HEADER_ESCAPES).into();
    // Only printable ASCII and spaces remain, which a header always holds.
    HeaderValue::from_str(&encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The identity headers a gateway copies to the upstream (and proxy mode
/// sets), each in the ASCII-safe form of [`header_safe`]. Absent facts
/// are absent headers.
pub(crate) fn identity_headers(identity: &Identity) -> Vec<(HeaderName, HeaderValue)> {
    let scope = identity.scope();
    let roles = identity.roles.join(" ");
    let headers: [(&'static str, Option<&str>); 8] = [
        ("x-auth-subject", identity.subject.as_deref()),
        ("x-auth-username", identity.username.as_deref()),
        ("x-auth-email", identity.email.as_deref()),
        (
            "x-auth-scope",
            (!scope.is_empty()).then_some(scope.as_str()),
        ),
        (
            "x-auth-roles",
            (!roles.is_empty()).then_some(roles.as_str()),
        ),
        ("x-auth-tenant", Some(&identity.tenant)),
        ("x-auth-credential", Some(identity.credential.as_str())),
        ("x-auth-key-id", identity.key_id.as_deref()),
    ];
    headers
        .into_iter()
        .filter_map(|(name, value)| Some((HeaderName::from_static(name), header_safe(value?))))
        .collect()
}

/// The body of a pass for credentials other than a JWT (whose body is
/// its verified claims): the identity itself.
#[derive(Serialize)]
struct IdentityBody<'a> {
    sub: Option<&'a str>,
    preferred_username: Option<&'a str>,
    email: Option<&'a str>,
    scope: String,
    roles: &'a [String],
    tenant: &'a str,
    credential: &'static str,
    key_id: Option<&'a str>,
    rule: Option<&'a str>,
}

/// 200 with the identity headers, and as the body a JWT's verified claims
/// or, for other credentials, the identity itself. Built straight into
/// one buffer and one header map sized for it: this is `/auth`'s answer
/// to every request that passes.
pub(crate) fn identity_response(identity: &Identity) -> Response {
    let body = match &identity.claims {
        Some(claims) => serde_json::to_vec(&**claims),
        None => serde_json::to_vec(&IdentityBody {
            sub: identity.subject.as_deref(),
            preferred_username: identity.username.as_deref(),
            email: identity.email.as_deref(),
            scope: identity.scope(),
            roles: &identity.roles,
            tenant: &identity.tenant,
            credential: identity.credential.as_str(),
            key_id: identity.key_id.as_deref(),
            rule: identity.rule.as_deref(),
        }),
    };
    let body = match body {
        Ok(body) => body,
        Err(e) => return ApiError::internal(format!("identity body: {e}")).into_response(),
    };
    let mut response = Response::new(Body::from(body));
    let out = response.headers_mut();
    out.reserve(12);
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in identity_headers(identity) {
        out.insert(name, value);
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
