//! The one place a refusal becomes an HTTP answer, in Gatehouse's error
//! format: a JSON body `{"error": "...", "error_description": "..."}` and,
//! for 401 and 403, the RFC 6750 §3 `WWW-Authenticate` challenge.
//!
//! | refusal | status | `error` |
//! |---|---|---|
//! | no bearer token | 401 | `invalid_request` (bare `Bearer` challenge, §3.1) |
//! | invalid token | 401 | `invalid_token` |
//! | scope or role missing | 403 | `insufficient_scope` |
//! | keys or introspection unavailable | 503 + `Retry-After` | `temporarily_unavailable` |

use std::fmt;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{InvalidToken, VerifyError};

/// Why a request was refused by an extractor or a layer of this crate. It
/// is the extractors' `Rejection` and converts into the response above;
/// its `Display` is the `error_description`.
#[derive(Debug, Clone)]
pub struct AuthRejection {
    kind: Kind,
    /// For 503: what `Retry-After` says.
    retry_after_secs: u64,
}

#[derive(Debug, Clone)]
enum Kind {
    MissingToken,
    Verify(VerifyError),
    Scope(String),
    Role(String),
}

impl AuthRejection {
    pub(crate) fn missing_token() -> Self {
        Self::of(Kind::MissingToken)
    }

    pub(crate) fn verify(error: VerifyError, retry_after_secs: u64) -> Self {
        Self {
            kind: Kind::Verify(error),
            retry_after_secs,
        }
    }

    pub(crate) fn scope(scope: &str) -> Self {
        Self::of(Kind::Scope(scope.to_string()))
    }

    pub(crate) fn role(role: &str) -> Self {
        Self::of(Kind::Role(role.to_string()))
    }

    fn of(kind: Kind) -> Self {
        Self {
            kind,
            retry_after_secs: 1,
        }
    }

    /// The HTTP status this refusal is answered with.
    pub fn status(&self) -> StatusCode {
        match &self.kind {
            Kind::MissingToken | Kind::Verify(VerifyError::Invalid(_)) => StatusCode::UNAUTHORIZED,
            Kind::Scope(_) | Kind::Role(_) => StatusCode::FORBIDDEN,
            Kind::Verify(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `error` code of the JSON body.
    pub fn error_code(&self) -> &'static str {
        match &self.kind {
            Kind::MissingToken => "invalid_request",
            Kind::Verify(VerifyError::Invalid(_)) => "invalid_token",
            Kind::Scope(_) | Kind::Role(_) => "insufficient_scope",
            Kind::Verify(_) => "temporarily_unavailable",
        }
    }

    /// The verifier's error, when the token was presented and refused.
    pub fn verify_error(&self) -> Option<&VerifyError> {
        match &self.kind {
            Kind::Verify(e) => Some(e),
            _ => None,
        }
    }

    /// The invalid token's reason, when that is why.
    pub fn invalid_token(&self) -> Option<&InvalidToken> {
        self.verify_error().and_then(VerifyError::invalid_token)
    }

    /// RFC 6750 §3: the challenge, with its error attributes.
    fn challenge(&self) -> Option<String> {
        let description = quote_safe(&self.to_string());
        match &self.kind {
            // §3.1: a request without credentials gets no error code.
            Kind::MissingToken => Some("Bearer".to_string()),
            Kind::Verify(VerifyError::Invalid(_)) => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{description}\""
            )),
            Kind::Scope(scope) => Some(format!(
                "Bearer error=\"insufficient_scope\", error_description=\"{description}\", scope=\"{}\"",
                quote_safe(scope)
            )),
            Kind::Role(_) => Some(format!(
                "Bearer error=\"insufficient_scope\", error_description=\"{description}\""
            )),
            Kind::Verify(_) => None,
        }
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::MissingToken => {
                f.write_str("this request needs an `Authorization: Bearer <token>` header")
            }
            Kind::Verify(e) => e.fmt(f),
            Kind::Scope(scope) => write!(f, "this request needs the scope `{scope}`"),
            Kind::Role(role) => write!(f, "this request needs the role `{role}`"),
        }
    }
}

impl std::error::Error for AuthRejection {}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.error_code(),
            "error_description": self.to_string(),
        });
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge() {
            // A description that cannot be a header value still gets a
            // challenge (RFC 6750 §3: a 401 always carries one).
            let value = HeaderValue::from_str(&challenge)
                .unwrap_or_else(|_| HeaderValue::from_static("Bearer error=\"invalid_token\""));
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(self.retry_after_secs),
            );
        }
        response
    }
}

/// Characters that would end a quoted-string early or break the header.
fn quote_safe(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_hostile_scope_cannot_break_the_challenge() {
        let r = AuthRejection::scope("a\", error=\"none\r\nX-Evil: 1").into_response();
        let challenge = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert_eq!(challenge.matches('"').count() % 2, 0);
        assert!(!challenge.contains('\n'));
        assert!(!challenge.contains("error=\"none\""));
    }

    #[test]
    fn unavailable_keys_are_a_503_with_retry_after() {
        let r = AuthRejection::verify(VerifyError::KeysUnavailable, 10).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "10");
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    }
}
