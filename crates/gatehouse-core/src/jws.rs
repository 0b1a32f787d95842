//! The signature layer of verification: a public (or, for HS256, shared)
//! key bound to one algorithm, and the check of a compact JWS against it.
//!
//! RFC 8725 §3.1: the algorithm belongs to the key, not to the token. A key
//! is made from a JWK only if it names one of our five algorithms and its
//! type, curve, `use` and `key_ops` agree with it; a token is checked only
//! with the algorithm of the key it names.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{DecodingKey, Header};

use crate::algorithm::SigningAlgorithm;
use crate::{Error, Result};

/// Tokens we issue are well under 2 KiB; 8 KiB leaves room for many roles
/// and bounds the work an attacker can make us do.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A key that verifies signatures of exactly one algorithm.
pub struct VerifyingKey {
    pub kid: Option<String>,
    pub algorithm: SigningAlgorithm,
    decoding: DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn bad_key(reason: &str) -> Error {
    Error::invalid("jwk", reason.to_string())
}

impl VerifyingKey {
    pub(crate) fn new(
        kid: Option<String>,
        algorithm: SigningAlgorithm,
        decoding: DecodingKey,
    ) -> Self {
        Self {
            kid,
            algorithm,
            decoding,
        }
    }

    /// A verifying key from a JWK, strictly: the JWK must name its `alg`
    /// (one of ours), be of the matching type and curve, and, if it says
    /// so, be meant for signature verification.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        let algorithm = match jwk.common.key_algorithm {
            Some(KeyAlgorithm::RS256) => SigningAlgorithm::RS256,
            Some(KeyAlgorithm::PS256) => SigningAlgorithm::PS256,
            Some(KeyAlgorithm::ES256) => SigningAlgorithm::ES256,
            Some(KeyAlgorithm::EdDSA) => SigningAlgorithm::EdDSA,
            Some(KeyAlgorithm::HS256) => SigningAlgorithm::HS256,
            Some(_) => return Err(bad_key("the key's algorithm is not one Gatehouse accepts")),
            None => return Err(bad_key("the key does not name its algorithm (alg)")),
        };
        if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
            return Err(bad_key("the key is not meant for signatures (use)"));
        }
        if let Some(ops) = &jwk.common.key_operations
            && !ops.iter().any(|op| matches!(op, KeyOperations::Verify))
        {
            return Err(bad_key("the key is not meant for verification (key_ops)"));
        }
        let type_ok = match (&jwk.algorithm, algorithm) {
            (AlgorithmParameters::RSA(_), SigningAlgorithm::RS256 | SigningAlgorithm::PS256) => {
                true
            }
            (AlgorithmParameters::EllipticCurve(p), SigningAlgorithm::ES256) => {
                p.curve == EllipticCurve::P256
            }
            (AlgorithmParameters::OctetKeyPair(p), SigningAlgorithm::EdDSA) => {
                p.curve == EllipticCurve::Ed25519
            }
            (AlgorithmParameters::OctetKey(p), SigningAlgorithm::HS256) => {
                // RFC 7518 §3.2: an HS256 key must have at least 256 bits.
                URL_SAFE_NO_PAD
                    .decode(p.value.trim_end_matches('='))
                    .is_ok_and(|k| k.len() >= 32)
            }
            _ => false,
        };
        if !type_ok {
            return Err(bad_key(
                "the key's type or curve does not fit its algorithm",
            ));
        }
        let decoding =
            DecodingKey::from_jwk(jwk).map_err(|_| bad_key("the key parameters are malformed"))?;
        Ok(Self::new(jwk.common.key_id.clone(), algorithm, decoding))
    }

    /// Checks `signature` (base64url, as in a JWS) over `message` with this
    /// key's algorithm. Malformed input is simply `false`.
    pub fn verify_signature(&self, message: &[u8], signature_b64: &str) -> bool {
        jsonwebtoken::crypto::verify(signature_b64, message, &self.decoding, self.algorithm.jwt())
            .unwrap_or(false)
    }
}

/// A compact JWS whose signature has been checked.
#[derive(Debug)]
pub struct VerifiedJws {
    pub header: Header,
    pub payload: Vec<u8>,
}

/// The reason a token whose signature does not verify is refused; the
/// OpenFaaS compatibility format tells this failure apart from the others.
pub const BAD_SIGNATURE: &str = "the token signature is invalid";

/// The `iss` a token claims, read *before* verification and only to choose
/// which tenant's keys to verify it with (the root-level compatibility
/// routes carry no tenant in the path). Verification then checks `iss`
/// against that tenant, so a lying `iss` gains nothing.
pub fn unverified_issuer(token: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Iss {
        iss: String,
    }
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let payload_b64 = token.split('.').nth(1)?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
    serde_json::from_slice::<Iss>(&payload).ok().map(|c| c.iss)
}

fn invalid(reason: &str) -> Error {
    Error::InvalidToken(reason.to_string())
}

/// Checks a compact JWS (RFC 7515 §7.1). `find_key` is given the parsed
/// header and returns the key to use, which fixes the algorithm: a header
/// `alg` that differs from it is refused before any cryptography runs.
///
/// Refused outright: more or fewer than three parts, oversized input,
/// headers that carry keys or key locations (`jwk`, `jku`, `x5u`, `x5c`),
/// critical extensions (`crit`, so also unencoded payloads), compression
/// (`zip`), encryption (`enc`) and nested tokens (`cty`).
pub fn verify_compact<'k>(
    token: &str,
    find_key: impl FnOnce(&Header) -> Result<&'k VerifyingKey>,
) -> Result<VerifiedJws> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid("the token is too large"));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("the token is not a compact JWS (three parts)"));
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| invalid("the token header is not base64url"))?;
    // Strict parse first: unknown algorithms and duplicate members fail here.
    let header: Header = serde_json::from_slice(&header_json)
        .map_err(|_| invalid("the token header is malformed or names an unknown algorithm"))?;
    // Refused parameters are refused by name, whatever their value: a JSON
    // `null` would otherwise slip through as "absent".
    let members: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header_json)
        .map_err(|_| invalid("the token header is malformed"))?;
    if REFUSED_HEADER_PARAMETERS
        .iter()
        .any(|name| members.contains_key(*name))
    {
        return Err(invalid(
            "the token header carries a parameter that is not accepted",
        ));
    }
    let key = find_key(&header)?;
    if header.alg != key.algorithm.jwt() {
        return Err(invalid("the token's algorithm does not match its key"));
    }
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    let signing_input = &token.as_bytes()[..signing_input_len];
    if !key.verify_signature(signing_input, signature_b64) {
        return Err(invalid(BAD_SIGNATURE));
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| invalid("the token payload is not base64url"))?;
    Ok(VerifiedJws { header, payload })
}

/// Header parameters that make a token carry its own key or key location
/// (`jwk`, `jku`, `x5u`, `x5c`; RFC 8725 §3.10), demand extensions we do not
/// implement (`crit`, and so RFC 7797 `b64`), compress (`zip`), encrypt
/// (`enc`) or nest (`cty`) the payload.
const REFUSED_HEADER_PARAMETERS: [&str; 9] = [
    "jwk", "jku", "x5u", "x5c", "crit", "b64", "zip", "enc", "cty",
];
