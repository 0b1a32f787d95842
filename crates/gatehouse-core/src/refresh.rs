//! Refresh tokens: opaque, 256 random bits, stored only as a SHA-256 hash,
//! rotated at every use.
//!
//! A fast hash is right here (unlike for passwords): the token has 256 bits
//! of entropy, so there is nothing to brute-force, and lookups by hash keep
//! the comparison inside the database's index rather than in our code.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::Result;
use crate::clock::UnixTime;
use crate::id::random_token;

/// A refresh token as stored: the hash, never the token.
#[derive(Debug, Clone)]
pub struct RefreshRecord {
    pub token_hash: String,
    /// Checked on every use, so a token never works at another tenant.
    pub tenant_id: String,
    pub session_id: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Set, atomically, by the first use; a second use finds it set.
    pub used_at: Option<UnixTime>,
}

/// What the store found when asked to consume a token.
#[derive(Debug)]
pub enum Consumed {
    /// Unused until now; it is now marked used and the caller may issue a successor.
    Fresh(RefreshRecord),
    /// Used before: RFC 9700 §4.14.2 says the whole session must be revoked.
    AlreadyUsed(RefreshRecord),
    NotFound,
}

/// A newly minted token and the record to store for it.
pub struct NewRefreshToken {
    pub token: SecretString,
    pub record: RefreshRecord,
}

pub fn mint(
    tenant_id: &str,
    session_id: &str,
    now: UnixTime,
    expires_at: UnixTime,
) -> Result<NewRefreshToken> {
    let token = SecretString::from(random_token::<32>()?);
    let record = RefreshRecord {
        token_hash: hash(&token),
        tenant_id: tenant_id.to_string(),
        session_id: session_id.to_string(),
        created_at: now,
        expires_at,
        used_at: None,
    };
    Ok(NewRefreshToken { token, record })
}

/// Hex SHA-256 of the token text: the lookup key in the store.
pub fn hash(token: &SecretString) -> String {
    hex::encode(Sha256::digest(token.expose_secret().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_and_stored_hashed() {
        let t = mint("t", "s", 0, 10).unwrap();
        // 32 bytes → 43 base64url characters without padding.
        assert_eq!(t.token.expose_secret().len(), 43);
        assert_eq!(t.record.token_hash.len(), 64);
        assert_ne!(t.record.token_hash, t.token.expose_secret());
        assert_ne!(
            mint("t", "s", 0, 10).unwrap().record.token_hash,
            t.record.token_hash
        );
    }
}
