//! What a verifier needs to know about an issuer: its URL, the audiences it
//! issues for, and its published keys. A JWKS document (RFC 7517 §5) fills
//! the keys; Gatehouse's own keyring yields one for each tenant.

use jsonwebtoken::jwk::JwkSet;

use crate::jws::VerifyingKey;

/// The public side of one issuer, everything [`crate::verify_access_token`]
/// checks a token against. It holds no private key (an HS256 secret aside,
/// which is shared by nature).
#[derive(Debug, Clone)]
pub struct KeySet {
    /// The exact `iss` accepted (RFC 7519 §4.1.1, compared as a string).
    pub issuer: String,
    /// The `aud` values accepted; a token must name at least one. Empty
    /// accepts no token at all.
    pub audiences: Vec<String>,
    /// The keys a token may name by `kid`; a key without a `kid` is never
    /// chosen. If two keys share a `kid`, the first one is used.
    pub keys: Vec<VerifyingKey>,
}

impl KeySet {
    /// A key set from keys already made.
    pub fn new(issuer: impl Into<String>, audiences: Vec<String>, keys: Vec<VerifyingKey>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences,
            keys,
        }
    }

    /// A key set from an issuer's JWKS document, keeping only the keys that
    /// can verify a Gatehouse access token: those [`VerifyingKey::from_jwk`]
    /// accepts (an `alg` of ours, type and curve to match, meant for
    /// verification) and that have a `kid`. A `kid` that more than one JWK
    /// claims is ambiguous, so all of its keys are left out. Keys that
    /// are left out are simply not there: a token naming one is refused as
    /// signed by an unknown key.
    pub fn from_jwks(issuer: impl Into<String>, audiences: Vec<String>, jwks: &JwkSet) -> Self {
        let kid_count = |kid: &str| {
            jwks.keys
                .iter()
                .filter(|j| j.common.key_id.as_deref() == Some(kid))
                .count()
        };
        let keys = jwks
            .keys
            .iter()
            .filter(|jwk| {
                jwk.common
                    .key_id
                    .as_deref()
                    .is_some_and(|k| kid_count(k) == 1)
            })
            .filter_map(|jwk| VerifyingKey::from_jwk(jwk).ok())
            .collect();
        Self::new(issuer, audiences, keys)
    }

    /// The key a token's `kid` names; the only way the verifier finds one.
    pub fn key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.iter().find(|k| k.kid() == Some(kid))
    }
}
