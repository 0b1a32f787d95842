//! The signature layer of verification: a public (or, for HS256, shared)
//! key bound to one algorithm, and the check of a compact JWS against it.
//!
//! RFC 8725 §3.1: the algorithm belongs to the key, not to the token. A key
//! is made from a JWK only if it names one of our five algorithms and its
//! type, curve, `use` and `key_ops` agree with it; a token is checked only
//! with the algorithm of the key it names.

use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{DecodingKey, Header};

use crate::algorithm::SigningAlgorithm;
use crate::error::{KeyError, TokenError};

/// Tokens we issue are well under 2 KiB; 8 KiB leaves room for many roles
/// and bounds the work an attacker can make us do.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// RFC 7518 §3.2: an HS256 key must have at least 256 bits.
const MIN_HS256_SECRET_BYTES: usize = 32;

/// Header parameters that make a token carry its own key or key location
/// (`jwk`, `jku`, `x5u`, `x5c`; RFC 8725 §3.10), demand extensions we do not
/// implement (`crit`, and so RFC 7797 `b64`), compress (`zip`), encrypt
/// (`enc`) or nest (`cty`) the payload. Refused by name, whatever the value.
pub const REFUSED_HEADER_PARAMETERS: [&str; 9] = [
    "jwk", "jku", "x5u", "x5c", "crit", "b64", "zip", "enc", "cty",
];

/// A key that verifies signatures of exactly one algorithm.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The JWK `kid`, by which a token names this key.
    kid: Option<String>,
    algorithm: SigningAlgorithm,
    decoding: DecodingKey,
    /// RS256 and PS256: the RSA public key parsed once (modulus, exponent,
    /// Montgomery context), so a verification does not rebuild it from the
    /// JWK components as `jsonwebtoken` does on every call (about a fifth
    /// of an RS256 verification). Same aws-lc parameters and rules as
    /// that path; `None` falls back to it.
    rsa: Option<Arc<ParsedPublicKey>>,
}

impl std::fmt::Debug for VerifyingKey {
    /// The key material stays out of logs (it is a secret for HS256).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// A verifying key from a JWK, strictly: the JWK must name its `alg`
    /// (one of ours), be of the matching type and curve, and, if it says
    /// so, be meant for signature verification.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let algorithm = match jwk.common.key_algorithm {
            Some(KeyAlgorithm::RS256) => SigningAlgorithm::RS256,
            Some(KeyAlgorithm::PS256) => SigningAlgorithm::PS256,
            Some(KeyAlgorithm::ES256) => SigningAlgorithm::ES256,
            Some(KeyAlgorithm::EdDSA) => SigningAlgorithm::EdDSA,
            Some(KeyAlgorithm::HS256) => SigningAlgorithm::HS256,
            Some(_) => return Err(KeyError::UnsupportedAlgorithm),
            None => return Err(KeyError::NoAlgorithm),
        };
        if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
            return Err(KeyError::NotForSignatures);
        }
        if let Some(ops) = &jwk.common.key_operations
            && !ops.iter().any(|op| matches!(op, KeyOperations::Verify))
        {
            return Err(KeyError::NotForVerification);
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
            (AlgorithmParameters::OctetKey(p), SigningAlgorithm::HS256) => URL_SAFE_NO_PAD
                .decode(p.value.trim_end_matches('='))
                .is_ok_and(|k| k.len() >= MIN_HS256_SECRET_BYTES),
            _ => false,
        };
        if !type_ok {
            return Err(KeyError::TypeMismatch);
        }
        let decoding = DecodingKey::from_jwk(jwk).map_err(|_| KeyError::Malformed)?;
        let rsa = match &jwk.algorithm {
            AlgorithmParameters::RSA(p) => prepared_rsa(algorithm, &p.n, &p.e),
            _ => None,
        };
        Ok(Self {
            kid: jwk.common.key_id.clone(),
            algorithm,
            decoding,
            rsa,
        })
    }

    /// An HS256 key from the shared secret itself (which has no public JWK
    /// to publish). At least 256 bits, as RFC 7518 §3.2 requires.
    pub fn hs256(kid: Option<String>, secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HS256_SECRET_BYTES {
            return Err(KeyError::ShortSecret);
        }
        Ok(Self {
            kid,
            algorithm: SigningAlgorithm::HS256,
            decoding: DecodingKey::from_secret(secret),
            rsa: None,
        })
    }

    /// The `kid` a token names this key by, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// Checks `signature_b64` (base64url, as in a JWS) over `message` with
    /// this key's algorithm. Malformed input is simply `false`.
    pub fn verify_signature(&self, message: &[u8], signature_b64: &str) -> bool {
        if let Some(rsa) = &self.rsa {
            // The same decoding as `jsonwebtoken::crypto::verify`.
            return URL_SAFE_NO_PAD
                .decode(signature_b64)
                .is_ok_and(|signature| rsa.verify_sig(message, &signature).is_ok());
        }
        jsonwebtoken::crypto::verify(
            signature_b64,
            message,
            &self.decoding,
            self.algorithm.jsonwebtoken(),
        )
        .unwrap_or(false)
    }
}

/// The RSA key of a JWK's `n` and `e` (base64url), parsed for `algorithm`'s
/// aws-lc parameters: those `jsonwebtoken` verifies RS256 and PS256 with.
fn prepared_rsa(algorithm: SigningAlgorithm, n: &str, e: &str) -> Option<Arc<ParsedPublicKey>> {
    let params = match algorithm {
        SigningAlgorithm::RS256 => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        SigningAlgorithm::PS256 => &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA256,
        _ => return None,
    };
    let n = URL_SAFE_NO_PAD.decode(n).ok()?;
    let e = URL_SAFE_NO_PAD.decode(e).ok()?;
    RsaPublicKeyComponents {
        n: &n[..],
        e: &e[..],
    }
    .to_parsed_public_key(params)
    .ok()
    .map(Arc::new)
}

/// A compact JWS whose signature has been checked.
#[derive(Debug)]
pub struct VerifiedJws {
    /// The parsed protected header.
    pub header: Header,
    /// The decoded payload, not yet interpreted.
    pub payload: Vec<u8>,
}

/// The `iss` a token claims, read *before* verification and only to choose
/// which issuer's keys to verify it with (Gatehouse's root-level
/// compatibility routes carry no tenant in the path). Verification then
/// checks `iss` against that key set, so a lying `iss` gains nothing.
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
    find_key: impl FnOnce(&Header) -> Result<&'k VerifyingKey, TokenError>,
) -> Result<VerifiedJws, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::NotCompact);
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| TokenError::HeaderNotBase64)?;
    // Strict parse first: unknown algorithms and duplicate members fail here.
    let header: Header =
        serde_json::from_slice(&header_json).map_err(|_| TokenError::MalformedHeader)?;
    // Refused parameters are refused by name, whatever their value: a JSON
    // `null` would otherwise slip through as "absent".
    let members: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header_json).map_err(|_| TokenError::HeaderNotAnObject)?;
    if let Some(name) = REFUSED_HEADER_PARAMETERS
        .into_iter()
        .find(|name| members.contains_key(*name))
    {
        return Err(TokenError::RefusedHeaderParameter { name });
    }
    let key = find_key(&header)?;
    if header.alg != key.algorithm.jsonwebtoken() {
        return Err(TokenError::AlgorithmMismatch);
    }
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    let signing_input = &token.as_bytes()[..signing_input_len];
    if !key.verify_signature(signing_input, signature_b64) {
        return Err(TokenError::BadSignature);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| TokenError::PayloadNotBase64)?;
    Ok(VerifiedJws { header, payload })
}
