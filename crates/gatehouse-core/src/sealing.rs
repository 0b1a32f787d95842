//! Encryption at rest of private signing material with a master key.
//!
//! AES-256-GCM (aws-lc-rs) with a random 96-bit nonce per seal; we seal a
//! handful of keys per tenant per year, far below the 2^32 seals per master
//! key at which random nonces would start to risk a collision. The key's
//! `kid` and tenant are the associated data, so a sealed blob moved to
//! another row fails to open instead of silently becoming that row's key.
//!
//! Several master keys may be configured (comma-separated): the first seals,
//! every one opens, so the master key itself can be rotated
//! (`gatehouse key rewrap`).
//!
//! Sealed text: `ghk1.<master key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::id::random_bytes;
use crate::{Error, Result};

const PREFIX: &str = "ghk1";

/// One 256-bit master key and its public id (a hash prefix, so the sealed
/// text says which key sealed it without revealing anything).
pub struct MasterKey {
    id: String,
    key: RandomizedNonceKey,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != 32 {
            return Err(Error::invalid(
                "master_key",
                "a master key must be 32 bytes, written as 43 base64url characters",
            ));
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, bytes)
            .map_err(|_| Error::Internal("AES-256-GCM key setup failed".into()))?;
        let id = hex::encode(&Sha256::digest(bytes)[..4]);
        Ok(Self { id, key })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The configured master keys; the first is the one that seals.
#[derive(Debug)]
pub struct MasterKeys {
    keys: Vec<MasterKey>,
}

impl MasterKeys {
    /// Parses `key[,older_key...]`, each 32 bytes in base64url (padding and
    /// surrounding whitespace tolerated).
    pub fn parse(text: &str) -> Result<Self> {
        let keys = text
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                let bytes = URL_SAFE_NO_PAD
                    .decode(k.trim_end_matches('='))
                    .map_err(|_| {
                        Error::invalid("master_key", "a master key must be base64url text")
                    })?;
                MasterKey::from_bytes(&bytes)
            })
            .collect::<Result<Vec<_>>>()?;
        if keys.is_empty() {
            return Err(Error::invalid("master_key", "no master key was given"));
        }
        Ok(Self { keys })
    }

    /// A fresh master key as text, for a new key file.
    pub fn generate_text() -> Result<String> {
        Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
    }

    /// The id of the key that seals.
    pub fn primary_id(&self) -> &str {
        // `parse` guarantees at least one key.
        self.keys.first().map(|k| k.id.as_str()).unwrap_or_default()
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String> {
        let primary = self
            .keys
            .first()
            .ok_or_else(|| Error::Internal("no master key configured".into()))?;
        let mut in_out = plaintext.to_vec();
        let nonce = primary
            .key
            .seal_in_place_append_tag(Aad::from(context.as_bytes()), &mut in_out)
            .map_err(|_| Error::Internal("sealing a key failed".into()))?;
        let mut blob = nonce.as_ref().to_vec();
        blob.extend_from_slice(&in_out);
        Ok(format!(
            "{PREFIX}.{}.{}",
            primary.id,
            URL_SAFE_NO_PAD.encode(blob)
        ))
    }

    /// Opens what [`seal`](Self::seal) made with any configured key and the
    /// same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<SecretString> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(PREFIX), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Internal("a stored key is not in sealed form".into()));
        };
        let key = self.keys.iter().find(|k| k.id == key_id).ok_or_else(|| {
            Error::MasterKey(format!(
                "a signing key was sealed with master key {key_id}, which is not configured \
                 (configured: {})",
                self.ids().join(", ")
            ))
        })?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| Error::Internal("a sealed key is not base64url".into()))?;
        if blob.len() < NONCE_LEN {
            return Err(Error::Internal("a sealed key is truncated".into()));
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| Error::Internal("a sealed key has a bad nonce".into()))?;
        let mut in_out = ciphertext.to_vec();
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut in_out)
            .map_err(|_| {
                Error::MasterKey(format!(
                    "a signing key does not open with master key {key_id}: wrong key or tampered data"
                ))
            })?;
        let text = String::from_utf8(plain.to_vec())
            .map_err(|_| Error::Internal("an opened key is not text".into()))?;
        Ok(SecretString::from(text))
    }

    /// Whether `sealed` was sealed by the primary key (else `rewrap` would
    /// re-seal it).
    pub fn is_sealed_by_primary(&self, sealed: &str) -> bool {
        sealed
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|rest| rest.starts_with(&format!("{}.", self.primary_id())))
    }

    pub fn is_sealed(text: &str) -> bool {
        text.starts_with(&format!("{PREFIX}."))
    }

    fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n)
            .map(|_| MasterKeys::generate_text().unwrap())
            .collect()
    }

    #[test]
    fn round_trip_bound_to_context() {
        let k = keys(1);
        let mk = MasterKeys::parse(&k[0]).unwrap();
        let sealed = mk
            .seal(b"-----BEGIN PRIVATE KEY-----", "tenant/kid")
            .unwrap();
        assert!(MasterKeys::is_sealed(&sealed));
        assert!(!sealed.contains("BEGIN"));
        use secrecy::ExposeSecret;
        assert_eq!(
            mk.open(&sealed, "tenant/kid").unwrap().expose_secret(),
            "-----BEGIN PRIVATE KEY-----"
        );
        assert!(
            mk.open(&sealed, "tenant/other-kid").is_err(),
            "moved to another row"
        );
    }

    #[test]
    fn older_keys_open_the_first_seals_and_a_wrong_key_says_so() {
        let k = keys(2);
        let old = MasterKeys::parse(&k[1]).unwrap();
        let sealed = old.seal(b"secret", "c").unwrap();
        let rotated = MasterKeys::parse(&format!("{}, {}", k[0], k[1])).unwrap();
        assert!(rotated.open(&sealed, "c").is_ok());
        assert!(!rotated.is_sealed_by_primary(&sealed));
        assert!(rotated.is_sealed_by_primary(&rotated.seal(b"x", "c").unwrap()));
        let wrong = MasterKeys::parse(&k[0]).unwrap();
        let err = wrong.open(&sealed, "c").unwrap_err();
        assert!(matches!(err, Error::MasterKey(_)), "{err}");
    }

    #[test]
    fn malformed_master_keys_are_refused() {
        assert!(MasterKeys::parse("").is_err());
        assert!(MasterKeys::parse("short").is_err());
        assert!(MasterKeys::parse("!!!!").is_err());
    }
}
