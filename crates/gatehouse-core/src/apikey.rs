//! API keys: long-lived credentials a caller sends instead of a token.
//!
//! A key reads `ghk_<id>_<secret>`: a prefix anyone (and a secret
//! scanner) recognises, the key's id (32 hex digits, the row to look up),
//! and 32 random bytes as base64url (256 bits). Only the SHA-256 of the
//! secret part is stored: a slow KDF buys nothing against 256 random bits
//! and would cost every request an argon2 run. The hash is compared in
//! constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::Result;
use crate::clock::UnixTime;
use crate::id::random_bytes;

/// What every key starts with.
pub const PREFIX: &str = "ghk_";
const ID_LEN: usize = 32;
const SECRET_LEN: usize = 43; // base64url of 32 bytes, unpadded

/// A key as stored: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// Hex SHA-256 of the secret part.
    pub secret_hash: String,
    pub scopes: Vec<String>,
    /// The user the key acts as; `None` for a service key.
    pub user_id: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
}

impl ApiKeyRecord {
    pub fn is_expired(&self, now: UnixTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// Whether `secret` is this key's, in constant time.
    pub fn secret_matches(&self, secret: &SecretString) -> bool {
        let presented = hash_secret(secret);
        presented
            .as_bytes()
            .ct_eq(self.secret_hash.as_bytes())
            .into()
    }
}

/// A new key: the text shown once, and its parts.
pub struct MintedKey {
    pub id: String,
    /// The whole key, `ghk_<id>_<secret>`.
    pub key: SecretString,
    pub secret_hash: String,
}

/// Makes a new key.
pub fn mint() -> Result<MintedKey> {
    let id = hex::encode(random_bytes::<16>()?);
    let secret = SecretString::from(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?));
    let key = SecretString::from(format!("{PREFIX}{id}_{}", secret.expose_secret()));
    Ok(MintedKey {
        id,
        secret_hash: hash_secret(&secret),
        key,
    })
}

/// A presented key split into its id and secret; `None` if it is not
/// shaped like one of ours (then it is not looked up at all).
pub fn parse(presented: &str) -> Option<(String, SecretString)> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_at_checked(ID_LEN)?;
    let secret = secret.strip_prefix('_')?;
    let is_hex = id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let is_b64 = secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (is_hex && secret.len() == SECRET_LEN && is_b64)
        .then(|| (id.to_string(), SecretString::from(secret.to_string())))
}

/// Whether a bearer credential looks like an API key rather than a JWT.
pub fn looks_like_key(presented: &str) -> bool {
    presented.starts_with(PREFIX)
}

fn hash_secret(secret: &SecretString) -> String {
    hex::encode(Sha256::digest(secret.expose_secret().as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_minted_key_parses_back_and_matches_only_its_hash() {
        let m = mint().unwrap();
        let text = m.key.expose_secret();
        assert!(
            text.starts_with("ghk_") && text.len() == 4 + 32 + 1 + 43,
            "{text}"
        );
        let (id, secret) = parse(text).unwrap();
        assert_eq!(id, m.id);
        let record = ApiKeyRecord {
            id,
            tenant_id: "t".into(),
            name: "n".into(),
            secret_hash: m.secret_hash.clone(),
            scopes: vec![],
            user_id: None,
            created_at: 0,
            expires_at: Some(10),
            last_used_at: None,
        };
        assert!(record.secret_matches(&secret));
        let other = mint().unwrap();
        let (_, other_secret) = parse(other.key.expose_secret()).unwrap();
        assert!(!record.secret_matches(&other_secret));
        assert!(!record.is_expired(9) && record.is_expired(10));
        // The stored hash is not the secret.
        assert!(!text.contains(&m.secret_hash));
    }

    #[test]
    fn things_that_are_not_keys_are_not_parsed() {
        let m = mint().unwrap();
        let good = m.key.expose_secret().to_string();
        for bad in [
            String::new(),
            "ghk_".into(),
            "eyJhbGciOi.x.y".into(),
            good.replacen("ghk_", "ghx_", 1),
            format!("{good}x"),
            good[..good.len() - 1].to_string(),
            good.replacen('_', "-", 2),
            good.to_uppercase(),
            format!("{}é", &good[..good.len() - 2]),
        ] {
            assert!(parse(&bad).is_none(), "{bad}");
        }
    }
}
