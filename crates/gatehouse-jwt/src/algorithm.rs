//! The signing algorithms Gatehouse offers (DESIGN.md "Tokens").
//!
//! The set is closed on purpose: `none` and every algorithm not listed here
//! cannot be named, so they cannot be configured or accepted.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the five JWS algorithms (RFC 7518 §3, RFC 8037) a Gatehouse
/// tenant signs with, and so the only ones a [`crate::VerifyingKey`] is
/// ever bound to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys: the default, because
    /// every gateway and JWT library verifies it.
    #[default]
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519 (RFC 8037).
    EdDSA,
    /// HMAC-SHA-256 with a shared secret, never published in JWKS.
    HS256,
}

impl SigningAlgorithm {
    /// Every algorithm, the default first.
    pub const ALL: [SigningAlgorithm; 5] = [
        SigningAlgorithm::RS256,
        SigningAlgorithm::PS256,
        SigningAlgorithm::ES256,
        SigningAlgorithm::EdDSA,
        SigningAlgorithm::HS256,
    ];

    /// The name as a JWS header's `alg` (and a JWK's `alg`) spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::RS256 => "RS256",
            SigningAlgorithm::PS256 => "PS256",
            SigningAlgorithm::ES256 => "ES256",
            SigningAlgorithm::EdDSA => "EdDSA",
            SigningAlgorithm::HS256 => "HS256",
        }
    }

    /// Whether verifying needs a secret (so nothing may be published).
    pub fn is_symmetric(self) -> bool {
        self == SigningAlgorithm::HS256
    }

    /// The same algorithm as `jsonwebtoken` names it, for signing and for
    /// the signature check.
    pub fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            SigningAlgorithm::PS256 => jsonwebtoken::Algorithm::PS256,
            SigningAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            SigningAlgorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            SigningAlgorithm::HS256 => jsonwebtoken::Algorithm::HS256,
        }
    }
}

impl From<SigningAlgorithm> for jsonwebtoken::Algorithm {
    fn from(alg: SigningAlgorithm) -> Self {
        alg.jsonwebtoken()
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`SigningAlgorithm::ALL`] (exactly spelled).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported algorithm `{0}`; use one of RS256, PS256, ES256, EdDSA, HS256")]
pub struct UnsupportedAlgorithm(pub String);

impl FromStr for SigningAlgorithm {
    type Err = UnsupportedAlgorithm;

    /// Exact names only (as they appear in a JWT header), so `rs256` or
    /// `none` are refused rather than guessed at.
    fn from_str(s: &str) -> Result<Self, UnsupportedAlgorithm> {
        SigningAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnsupportedAlgorithm(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_exact_names_only() {
        for alg in SigningAlgorithm::ALL {
            assert_eq!(alg.as_str().parse::<SigningAlgorithm>().unwrap(), alg);
        }
        assert!("none".parse::<SigningAlgorithm>().is_err());
        assert!("rs256".parse::<SigningAlgorithm>().is_err());
        assert!("HS512".parse::<SigningAlgorithm>().is_err());
    }

    #[test]
    fn the_parse_error_names_the_choices() {
        let e = "none".parse::<SigningAlgorithm>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported algorithm `none`; use one of RS256, PS256, ES256, EdDSA, HS256"
        );
    }
}
