//! Extractors that answer bad input in Gatehouse's error format instead of
//! axum's plain-text rejections.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use gatehouse_core::service::TenantContext;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ADMIN_REALM, ApiError};
use crate::state::AppState;

/// `Json<T>` whose rejections are JSON errors: 415 without a JSON content
/// type, 413 over the body limit, 400 naming the problem otherwise (axum
/// would say 422 for a missing field; RFC 6749 clients expect 400).
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(AppJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "the body must be JSON, sent with `Content-Type: application/json`",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(format!(
            "the body is not valid JSON: {}",
            serde_reason(&e.body_text())
        )),
        JsonRejection::JsonDataError(e) => ApiError::bad_request(format!(
            "the body does not fit this endpoint: {}",
            serde_reason(&e.body_text())
        )),
        other => body_rejection(other.status(), other.body_text()),
    }
}

/// `Form<T>` (application/x-www-form-urlencoded, as RFC 6749 requires at the
/// token endpoint) with the same treatment.
pub struct AppForm<T>(pub T);

impl<T, S> FromRequest<S> for AppForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(AppForm(v)),
            Err(FormRejection::InvalidFormContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                "the body must be sent as `Content-Type: application/x-www-form-urlencoded`",
            )),
            Err(e @ FormRejection::FailedToDeserializeForm(_))
            | Err(e @ FormRejection::FailedToDeserializeFormBody(_)) => {
                Err(ApiError::bad_request(format!(
                    "the form does not fit this endpoint: {}",
                    serde_reason(&e.body_text())
                )))
            }
            Err(other) => Err(body_rejection(other.status(), other.body_text())),
        }
    }
}

/// A body that may come as JSON (API clients) or as a form (the hosted
/// pages, `curl -d`): chosen by `Content-Type`, with the same JSON error
/// answers as [`AppJson`] and [`AppForm`]. `.1` says which it was, so a
/// route can answer a form with a page.
pub struct JsonOrForm<T>(pub T, pub BodyKind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Form,
}

impl<T, S> FromRequest<S> for JsonOrForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            let AppForm(v) = AppForm::<T>::from_request(req, state).await?;
            Ok(JsonOrForm(v, BodyKind::Form))
        } else {
            let AppJson(v) = AppJson::<T>::from_request(req, state).await?;
            Ok(JsonOrForm(v, BodyKind::Json))
        }
    }
}

/// The raw body, for routes whose body is optional or of several kinds,
/// with the body limit answered as JSON 413 like everywhere else.
pub struct AppBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for AppBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(AppBytes)
            .map_err(|r| body_rejection(r.status(), r.body_text()))
    }
}

/// `Path<T>` whose rejections (e.g. a segment that is not UTF-8) are JSON.
pub struct AppPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| AppPath(v))
            .map_err(|_| ApiError::bad_request("the path is malformed (it must be UTF-8 text)"))
    }
}

/// `Query<T>` whose rejections (an unknown or repeated parameter, a
/// value of the wrong type) are JSON 400s naming the parameter.
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| AppQuery(v))
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "the query does not fit this endpoint: {}",
                    serde_reason(&e.body_text())
                ))
            })
    }
}

fn body_rejection(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "invalid_request",
            "the body is larger than the 64 KiB this endpoint accepts",
        )
    } else if status.is_client_error() {
        ApiError::bad_request(format!(
            "the body could not be read: {}",
            serde_reason(&text)
        ))
    } else {
        ApiError::internal(text)
    }
}

/// Turns axum's rejection text into a sentence naming the field and the
/// rule, without echoing the offending value (it may be a password).
///
/// axum's text is `<its own sentence>: <field path>: <serde message>`, or
/// without the path when the problem is at the top level.
fn serde_reason(text: &str) -> String {
    let detail = text.split_once(": ").map_or(text, |(_, rest)| rest);
    let detail = detail.split(" at line ").next().unwrap_or(detail);
    let sentence = if detail.starts_with("missing field") || detail.starts_with("unknown field") {
        detail.to_string()
    } else if let Some((path, message)) = detail.split_once(": ") {
        // "invalid type: integer `42`, expected a string" → "expected a string"
        match message.rsplit_once(", expected ") {
            Some((_, expected)) => format!("field `{path}`: expected {expected}"),
            None => format!("field `{path}` has a value that is not accepted"),
        }
    } else {
        match detail.rsplit_once(", expected ") {
            Some((_, expected)) => format!("expected {expected}"),
            None => detail.to_string(),
        }
    };
    sentence.chars().take(200).collect()
}

/// The tenant named in the path (`/t/{tenant}/...`), ready to serve: the
/// one way every tenant route gets its tenant.
pub struct TenantCtx(pub Arc<TenantContext>);

impl FromRequestParts<AppState> for TenantCtx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("no tenant in the path"))?;
        let name = params
            .iter()
            .find(|(k, _)| *k == "tenant")
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| ApiError::not_found("no tenant in the path"))?;
        Ok(TenantCtx(state.services.contexts.get(&name).await?))
    }
}

/// Where a request comes from, as a new session records it: the client's
/// address as [`crate::client_ip`] decided it for this request (the same
/// the rate limits counted: the peer, or what a trusted proxy forwarded)
/// and the `User-Agent`.
pub struct ClientOrigin(pub gatehouse_core::session::Origin);

impl<S: Send + Sync> FromRequestParts<S> for ClientOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Outside the API router (no `identify` layer), only the peer
        // counts: no header is trusted there.
        let ip = match parts.extensions.get::<crate::client_ip::ClientIp>() {
            Some(client) => client.0,
            None => crate::client_ip::peer_of(&parts.extensions).map(|ip| ip.to_canonical()),
        }
        .map(|ip| ip.to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        Ok(ClientOrigin(gatehouse_core::session::Origin::new(
            ip, user_agent,
        )))
    }
}

/// The token of an `Authorization: Bearer` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<SecretString> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    bearer_scheme(scheme, token)
}

/// The token of `Bearer <token>`, or of a bare token with no scheme, as the
/// replaced systems' clients sent it (the root-level compatibility routes,
/// the Lambda authorizer). Another scheme is no token.
pub fn bearer_or_bare(value: &str) -> Option<SecretString> {
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, token)) => bearer_scheme(scheme, token),
        None => (!value.is_empty()).then(|| SecretString::from(value.to_string())),
    }
}

fn bearer_scheme(scheme: &str, token: &str) -> Option<SecretString> {
    // RFC 7235 §2.1: the scheme is case-insensitive.
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then(|| SecretString::from(token.to_string()))
}

/// Whether a presented token is the configured one (the admin and
/// metrics tokens): digests compared in constant time, so neither the
/// length nor the first differing byte shows in the timing.
pub(crate) fn same_secret(expected: &SecretString, given: &SecretString) -> bool {
    let a = Sha256::digest(expected.expose_secret().as_bytes());
    let b = Sha256::digest(given.expose_secret().as_bytes());
    bool::from(a.ct_eq(&b))
}

/// The admin API's one guard, layered over every `/admin` route: the
/// caller must hold the admin token.
pub async fn require_admin(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(expected) = &state.admin_token else {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "the admin API is closed: start the server with GATEHOUSE_ADMIN_TOKEN set to open it",
        )
        .into_response();
    };
    let Some(given) = bearer_token(request.headers()) else {
        return ApiError::challenge(ADMIN_REALM, None).into_response();
    };
    if same_secret(expected, &given) {
        next.run(request).await
    } else {
        ApiError::challenge(ADMIN_REALM, Some("the admin token is not valid".into()))
            .into_response()
    }
}

/// Whether the client sent a body at all (RFC 9112 §6.3): without
/// `Transfer-Encoding` or a non-zero `Content-Length` there is none to
/// read (and proxy mode must not send an empty chunked one upstream).
pub(crate) fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_forms() {
        let token = |v: &str| bearer_or_bare(v).map(|t| t.expose_secret().to_string());
        assert_eq!(token("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(token("abc").as_deref(), Some("abc"));
        assert_eq!(token("Basic abc"), None);
        assert_eq!(token(""), None);
    }
}
