//! The one mapping from failures to HTTP answers.
//!
//! Every error body is `{"error": code, "error_description": sentence}`
//! (RFC 6749 §5.2 shape). A 401 always carries `WWW-Authenticate`
//! (RFC 6750 §3). A 5xx body is generic; its detail travels to the logging
//! middleware in a response extension, so converting an error has no side
//! effects and the detail never reaches the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::Error;
use gatehouse_core::error::OAuthError;
use gatehouse_core::service::gate::{Challenge, ChallengeScheme};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    /// For 401s: the challenge. Filled in by [`ApiError::into_response`]
    /// when a 401 has none.
    pub challenge: Option<String>,
    /// Further challenges, each its own `WWW-Authenticate` line (a route
    /// that takes both Bearer and Basic offers both). Boxed: rare, and it
    /// keeps every `Result<_, ApiError>` small.
    pub more_challenges: Option<Box<Vec<String>>>,
    /// For 503s and 429s: how many seconds the client should wait
    /// (`Retry-After`, RFC 9110 §10.2.3).
    pub retry_after: Option<u64>,
    /// For 5xx: what really happened, for the log only.
    pub detail: Option<String>,
}

/// The detail of a server fault, attached to the response for the logger.
#[derive(Debug, Clone)]
pub struct ServerFault(pub String);

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            challenge: None,
            more_challenges: None,
            retry_after: None,
            detail: None,
        }
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    /// A 401 with its RFC 6750 §3 challenge: the one place a challenge is
    /// written. `error` is why the presented token failed; `None` when the
    /// request carried none (§3.1: a bare challenge, no error code).
    pub fn challenge(realm: &str, error: Option<String>) -> Self {
        match error {
            Some(description) => {
                let challenge = format!(
                    "Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"{}\"",
                    quote_safe(realm),
                    quote_safe(&description)
                );
                Self {
                    challenge: Some(challenge),
                    ..Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
                }
            }
            None => Self {
                challenge: Some(format!("Bearer realm=\"{}\"", quote_safe(realm))),
                ..Self::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request",
                    "this request needs an `Authorization: Bearer <token>` header",
                )
            },
        }
    }

    /// The gate's challenge: Bearer in the tenant realm, Basic in the
    /// rule's realm (RFC 7617 §2, with `charset="UTF-8"`), in the rule's
    /// order. The first carries the error; the others are bare offers.
    pub fn from_challenge(challenge: Challenge) -> Self {
        let basic =
            |realm: &str| format!("Basic realm=\"{}\", charset=\"UTF-8\"", quote_safe(realm));
        let mut schemes = challenge.schemes.iter();
        let mut error = match schemes.next() {
            // Basic first: no RFC 6750 error attributes in it.
            Some(ChallengeScheme::Basic { realm }) => {
                let (code, description) = match challenge.error {
                    Some(e) => ("invalid_credentials", e),
                    None => (
                        "invalid_request",
                        "this request needs credentials (`Authorization: Basic`)".to_string(),
                    ),
                };
                Self {
                    challenge: Some(basic(realm)),
                    ..Self::new(StatusCode::UNAUTHORIZED, code, description)
                }
            }
            _ => Self::challenge(REALM, challenge.error),
        };
        let more: Vec<String> = schemes
            .map(|scheme| match scheme {
                ChallengeScheme::Bearer => format!("Bearer realm=\"{}\"", quote_safe(REALM)),
                ChallengeScheme::Basic { realm } => basic(realm),
            })
            .collect();
        error.more_challenges = (!more.is_empty()).then(|| Box::new(more));
        error
    }

    /// A valid credential that may not pass.
    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "access_denied", description)
    }

    /// Too many requests from this client on a rate-limited route
    /// (RFC 6585 §4): 429, and when a request would pass again.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests from this address; retry in {retry_after_secs} s"),
            )
        }
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self {
            detail: Some(detail.into()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the server failed to handle this request; it has been logged",
            )
        }
    }
}

/// The realm of every tenant's 401s (RFC 7235 §2.2); the admin API has
/// its own, so a client can tell which credential was refused.
pub const REALM: &str = "gatehouse";
pub const ADMIN_REALM: &str = "gatehouse-admin";

/// What a client is told to wait when the store is away: long enough for a
/// failover, short enough not to strand a login.
const STORE_RETRY_AFTER_SECS: u64 = 2;

/// Characters that would break out of a quoted-string in a header.
fn quote_safe(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

impl From<gatehouse_core::error::OAuthError> for ApiError {
    fn from(e: gatehouse_core::error::OAuthError) -> Self {
        Error::from(e).into()
    }
}

/// The status table: domain failure → HTTP.
impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidInput { message, .. } => ApiError::bad_request(message),
            Error::Conflict(_) | Error::Contended(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            Error::TenantNotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "tenant_not_found", e.to_string())
            }
            Error::NotFound(what) => ApiError::not_found(format!("{what} was not found")),
            // The same answer as a wrong password (a right one is refused
            // too while the lock lasts), plus when to try again.
            Error::AccountLocked {
                retry_after_secs,
                oauth,
            } => ApiError {
                retry_after: Some(retry_after_secs),
                ..if oauth {
                    ApiError::new(StatusCode::BAD_REQUEST, "invalid_grant", e.to_string())
                } else {
                    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_grant", e.to_string())
                }
            },
            Error::AccountDisabled => {
                ApiError::new(StatusCode::FORBIDDEN, "account_disabled", e.to_string())
            }
            Error::EmailNotVerified { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "email_not_verified", e.to_string())
            }
            Error::AccountLink(sentence) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_link", sentence)
            }
            Error::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_grant", e.to_string())
            }
            // RFC 6749 §5.2: every grant failure, wrong resource-owner
            // credentials included, is a 400 at the token endpoint.
            Error::Grant(grant) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_grant", grant.to_string())
            }
            Error::Token(_) | Error::TokenUnusable(_) => {
                ApiError::challenge(REALM, Some(e.to_string()))
            }
            Error::OAuth(OAuthError::InvalidRequest(message)) => ApiError::bad_request(message),
            Error::OAuth(ref unsupported @ OAuthError::UnsupportedGrantType(_)) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                unsupported.to_string(),
            ),
            // RFC 6749 §5.2: a failed client authentication is 401 with the
            // scheme the client may authenticate with.
            Error::OAuth(OAuthError::InvalidClient(message)) => ApiError {
                challenge: Some(format!("Basic realm=\"{REALM}\", charset=\"UTF-8\"")),
                ..ApiError::new(StatusCode::UNAUTHORIZED, "invalid_client", message)
            },
            Error::OAuth(OAuthError::UnauthorizedClient(message)) => {
                ApiError::new(StatusCode::BAD_REQUEST, "unauthorized_client", message)
            }
            Error::OAuth(OAuthError::InvalidScope(message)) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_scope", message)
            }
            // RFC 6750 §3.1: 403, and the challenge says which error.
            Error::OAuth(OAuthError::InsufficientScope(message)) => ApiError {
                challenge: Some(format!(
                    "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", error_description=\"{}\"",
                    quote_safe(&message)
                )),
                ..ApiError::new(StatusCode::FORBIDDEN, "insufficient_scope", message)
            },
            Error::Unavailable(detail) => ApiError {
                detail: Some(detail),
                retry_after: Some(STORE_RETRY_AFTER_SECS),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the service is temporarily unavailable; retry shortly",
                )
            },
            // Load shedding: no detail worth logging per request (the pool
            // logs a warning), the client is told when to come back.
            Error::Overloaded { retry_after_secs } => ApiError {
                retry_after: Some(retry_after_secs),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    format!(
                        "the server is busy checking other passwords; retry in {retry_after_secs} s"
                    ),
                )
            },
            Error::Internal(detail) | Error::MasterKey(detail) => ApiError::internal(detail),
        }
    }
}

/// Proxy mode's own failures (whether a request may pass is the gate's
/// decision, rendered by `admit`).
impl From<crate::proxy::ProxyError> for ApiError {
    fn from(e: crate::proxy::ProxyError) -> Self {
        use crate::proxy::ProxyError as P;
        let description = e.to_string();
        match e {
            P::BodyTooLarge { .. } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                description,
            ),
            P::BodyTimeout { .. } => {
                ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", description)
            }
            P::BodyBroken => ApiError::bad_request(description),
            P::Busy { retry_after_secs } => ApiError {
                retry_after: Some(retry_after_secs),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    description,
                )
            },
            // The upstream's address and the transport's words are for the
            // log; the client learns which side failed.
            P::Unreachable(detail) => ApiError {
                detail: Some(detail),
                ..ApiError::new(StatusCode::BAD_GATEWAY, "bad_gateway", description)
            },
            P::Timeout { ref detail, .. } => ApiError {
                detail: Some(detail.clone()),
                ..ApiError::new(StatusCode::GATEWAY_TIMEOUT, "gateway_timeout", description)
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({
            "error": self.code,
            "error_description": self.description,
        }));
        let mut response = (self.status, body).into_response();
        // A 401 always carries a challenge (RFC 9110 §15.5.2); others (a
        // 403 insufficient_scope) when they have one.
        let challenge = match self.challenge {
            Some(c) => Some(c),
            None if self.status == StatusCode::UNAUTHORIZED => {
                Some("Bearer realm=\"gatehouse\"".to_string())
            }
            None => None,
        };
        if let Some(challenge) = challenge {
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            for more in self.more_challenges.iter().flat_map(|m| m.iter()) {
                if let Ok(v) = HeaderValue::from_str(more) {
                    response.headers_mut().append(header::WWW_AUTHENTICATE, v);
                }
            }
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Some(detail) = self.detail {
            response.extensions_mut().insert(ServerFault(detail));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
