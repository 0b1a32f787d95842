//! Why a token or a key is refused: one variant per reason, so callers match
//! on the reason instead of comparing sentences.
//!
//! The `Display` texts are what Gatehouse sends as `error_description`
//! (RFC 6750 §3), so they are part of its HTTP contract: change one only
//! with the tests that read it.

/// Why an access token is refused, in the order the checks run (see
/// [`crate::verify_access_token`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Longer than [`crate::MAX_TOKEN_BYTES`]: refused before any parsing.
    #[error("the token is too large")]
    TooLarge,
    /// Not exactly three dot-separated parts (RFC 7515 §7.1).
    #[error("the token is not a compact JWS (three parts)")]
    NotCompact,
    /// The header part is not strict base64url (RFC 7515 §2).
    #[error("the token header is not base64url")]
    HeaderNotBase64,
    /// The header is not a JOSE header we read: bad JSON, a duplicate
    /// member, a wrongly typed member or an `alg` nobody knows.
    #[error("the token header is malformed or names an unknown algorithm")]
    MalformedHeader,
    /// The header is not a JSON object of members.
    #[error("the token header is malformed")]
    HeaderNotAnObject,
    /// The header carries one of [`crate::jws::REFUSED_HEADER_PARAMETERS`]
    /// (named here for logs; the description does not say which).
    #[error("the token header carries a parameter that is not accepted")]
    RefusedHeaderParameter {
        /// The refused parameter.
        name: &'static str,
    },
    /// RFC 9068 §4: `typ` is not `at+jwt` (or `application/at+jwt`).
    #[error("the token is not an access token (typ must be at+jwt)")]
    NotAnAccessToken,
    /// No `kid` header: there is no key to choose.
    #[error("the token names no signing key (kid)")]
    NoKid,
    /// The `kid` is not among the key set's keys.
    #[error("the token was not signed by a key of this tenant")]
    UnknownKey,
    /// The header's `alg` is not the algorithm of the key its `kid` names
    /// (RFC 8725 §3.1).
    #[error("the token's algorithm does not match its key")]
    AlgorithmMismatch,
    /// The signature does not verify with the named key.
    #[error("the token signature is invalid")]
    BadSignature,
    /// The payload part is not strict base64url.
    #[error("the token payload is not base64url")]
    PayloadNotBase64,
    /// The payload is not a claims object with every required claim well
    /// typed (see [`crate::AccessClaims`]).
    #[error("the token lacks a required claim or has a malformed one")]
    MalformedClaims,
    /// `iss` is not the key set's issuer.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// No `aud` is one of the key set's audiences.
    #[error("the token is not meant for this audience")]
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` or `iat` lies in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
}

/// Why a key (a JWK, or an HS256 secret) cannot verify anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The JWK names an algorithm Gatehouse does not offer.
    #[error("the key's algorithm is not one Gatehouse accepts")]
    UnsupportedAlgorithm,
    /// The JWK has no `alg`: without it the key would take its algorithm
    /// from the token (RFC 8725 §3.1).
    #[error("the key does not name its algorithm (alg)")]
    NoAlgorithm,
    /// `use` says something other than `sig`.
    #[error("the key is not meant for signatures (use)")]
    NotForSignatures,
    /// `key_ops` does not include `verify`.
    #[error("the key is not meant for verification (key_ops)")]
    NotForVerification,
    /// The key type or curve does not fit `alg` (an HS256 key shorter than
    /// 256 bits included, RFC 7518 §3.2).
    #[error("the key's type or curve does not fit its algorithm")]
    TypeMismatch,
    /// The key parameters do not decode.
    #[error("the key parameters are malformed")]
    Malformed,
    /// An HS256 secret shorter than 256 bits (RFC 7518 §3.2).
    #[error("an HS256 secret must have at least 256 bits")]
    ShortSecret,
}
