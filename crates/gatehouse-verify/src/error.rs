//! Why a token is refused, why keys could not be had, and why a verifier
//! could not be built.
//!
//! The sentences a refused token carries are `gatehouse-jwt`'s, the ones
//! Gatehouse itself sends as `error_description`, so a client sees the same
//! reason from a downstream service as from Gatehouse.

use std::fmt;

/// What kind of fault made a token invalid; the [`InvalidToken`]'s
/// `Display` says it in a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Not a well-formed token: wrong shape or encoding, a refused header
    /// parameter (`jwk`, `jku`, `x5c`, `crit`, ...), too large, or claims
    /// missing or mistyped.
    Malformed,
    /// The `typ` header is not `at+jwt`: an ID token or another JWT.
    NotAnAccessToken,
    /// No key of the issuer has the token's `kid` (or it names none).
    UnknownKey,
    /// The signature does not verify, or the header's `alg` is not the
    /// algorithm of the key it names.
    BadSignature,
    /// Issued by another issuer (another tenant, another Gatehouse).
    WrongIssuer,
    /// Not meant for this service's audience.
    WrongAudience,
    /// Expired.
    Expired,
    /// Not valid yet (`nbf` or `iat` in the future beyond the leeway).
    NotYetValid,
    /// Gatehouse's introspection endpoint says the token is no longer
    /// active (its session was ended or revoked).
    Inactive,
}

/// Where an [`InvalidToken`] comes from: the verifier's own reason, or
/// introspection's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Jwt(gatehouse_jwt::TokenError),
    #[cfg_attr(not(feature = "introspect"), allow(dead_code))]
    Inactive,
    /// Verified, but the payload does not fit the caller's claims type.
    Unfit,
}

/// A token that is not valid. Answered with 401 `invalid_token` (RFC 6750
/// §3.1) by the extractors; its `Display` is the `error_description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidToken {
    source: Source,
}

impl InvalidToken {
    /// What kind of fault it is.
    pub fn reason(&self) -> Reason {
        use gatehouse_jwt::TokenError as E;
        match self.source {
            Source::Inactive => Reason::Inactive,
            Source::Unfit => Reason::Malformed,
            Source::Jwt(e) => match e {
                E::NotAnAccessToken => Reason::NotAnAccessToken,
                E::NoKid | E::UnknownKey => Reason::UnknownKey,
                E::AlgorithmMismatch | E::BadSignature => Reason::BadSignature,
                E::WrongIssuer => Reason::WrongIssuer,
                E::WrongAudience => Reason::WrongAudience,
                E::Expired => Reason::Expired,
                E::NotYetValid => Reason::NotYetValid,
                _ => Reason::Malformed,
            },
        }
    }

    pub(crate) fn jwt(e: gatehouse_jwt::TokenError) -> Self {
        Self {
            source: Source::Jwt(e),
        }
    }

    #[cfg(feature = "introspect")]
    pub(crate) fn inactive() -> Self {
        Self {
            source: Source::Inactive,
        }
    }

    pub(crate) fn unfit() -> Self {
        Self {
            source: Source::Unfit,
        }
    }

    /// Whether the verifier found no key for the token's `kid`: the one
    /// fault a fresher key set could cure.
    pub(crate) fn is_unknown_key(&self) -> bool {
        self.source == Source::Jwt(gatehouse_jwt::TokenError::UnknownKey)
    }
}

impl fmt::Display for InvalidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Jwt(e) => e.fmt(f),
            Source::Inactive => f.write_str("the token is no longer active"),
            Source::Unfit => f.write_str("the token lacks a claim this service needs"),
        }
    }
}

impl std::error::Error for InvalidToken {}

/// Why [`Verifier::verify`](crate::Verifier::verify) did not return claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is not valid (401 `invalid_token`).
    #[error("{0}")]
    Invalid(InvalidToken),
    /// The issuer's keys cannot be had: never fetched yet, or the last good
    /// set is older than the bound set by
    /// [`VerifierBuilder::max_stale`](crate::VerifierBuilder::max_stale) and
    /// the issuer does not answer. Nothing is accepted until it does (503).
    #[error("the issuer's signing keys are unavailable, so no token can be checked now")]
    KeysUnavailable,
    /// Introspection was asked for and the issuer did not answer it (503).
    #[cfg(feature = "introspect")]
    #[error(
        "the issuer's introspection endpoint cannot be reached, so no token can be checked now"
    )]
    IntrospectionUnavailable,
}

impl VerifyError {
    /// The [`InvalidToken`], if that is what this is.
    pub fn invalid_token(&self) -> Option<&InvalidToken> {
        match self {
            VerifyError::Invalid(e) => Some(e),
            _ => None,
        }
    }
}

impl From<InvalidToken> for VerifyError {
    fn from(e: InvalidToken) -> Self {
        VerifyError::Invalid(e)
    }
}

/// Why a [`VerifierBuilder`](crate::VerifierBuilder) could not build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A URL (the issuer, a JWKS or introspection URL) is not an absolute
    /// `http` or `https` URL.
    #[error("{what} is not an absolute http(s) URL: {reason}")]
    InvalidUrl {
        /// Which URL.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The HS256 shared secret is not base64url, or shorter than 256 bits.
    #[error("the shared secret {0}")]
    InvalidSecret(&'static str),
    /// The fixed JWKS document does not parse.
    #[error("the JWKS document is not valid: {0}")]
    InvalidJwks(String),
    /// No audience would be accepted (an empty audience was given).
    #[error("an audience must not be empty")]
    EmptyAudience,
    /// A remote key set needs a tokio runtime for its background refresh;
    /// build the verifier inside one.
    #[error("a verifier that fetches keys must be built inside a tokio runtime")]
    NoRuntime,
    /// The HTTP client could not be made (TLS set-up).
    #[error("the HTTP client cannot be made: {0}")]
    Http(String),
}

/// Why the key set could not be fetched, from
/// [`Verifier::refresh`](crate::Verifier::refresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshError {
    pub(crate) message: String,
}

impl fmt::Display for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RefreshError {}
