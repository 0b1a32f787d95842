//! Password rules and hashing.
//!
//! Rules follow NIST SP 800-63B §5.1.1.2: a length window and nothing else
//! (no composition rules). Hashes are argon2id PHC strings at the OWASP
//! parameters by default (m = 19456 KiB, t = 2, p = 1).

use std::fmt;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash as PhcHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Checks the only rule a password has: its length in characters.
pub fn validate_password(password: &SecretString) -> Result<()> {
    let chars = password.expose_secret().chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(Error::invalid(
            "password",
            format!(
                "the password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters long"
            ),
        ));
    }
    Ok(())
}

/// A stored password hash (a PHC string). Its `Debug` prints nothing, so a
/// user struct can be logged without leaking it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// Hashes and checks passwords. A trait so tests can count calls (the
/// login path must do exactly one verification whether or not the user
/// exists) and lower the cost.
///
/// Both methods are CPU-bound for tens of milliseconds; callers run them on
/// a blocking thread (see [`crate::auth`]).
pub trait PasswordHasher: Send + Sync + 'static {
    fn hash(&self, password: &SecretString) -> Result<PasswordHash>;
    /// `true` only if `password` matches `hash`. A malformed hash is `false`.
    fn verify(&self, password: &SecretString, hash: &PasswordHash) -> bool;
    /// A valid hash of a random password, verified against when the user is
    /// unknown so both paths cost the same.
    fn dummy_hash(&self) -> &PasswordHash;
    /// Whether a hash that just verified should be replaced by a fresh
    /// [`hash`](Self::hash): true for hashes made with other parameters or
    /// another algorithm. Legacy (imported) hashes are always replaced;
    /// the caller handles those before asking.
    fn needs_rehash(&self, _hash: &PasswordHash) -> bool {
        false
    }
}

/// argon2id cost parameters, configurable (`[argon2]` in gatehouse.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// OWASP Password Storage Cheat Sheet, argon2id option 2.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

pub struct Argon2Hasher {
    argon2: Argon2<'static>,
    params: Params,
    dummy: OnceLock<PasswordHash>,
}

impl Argon2Hasher {
    pub fn new(params: Argon2Params) -> Result<Self> {
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| Error::invalid("argon2", format!("invalid argon2 parameters: {e}")))?;
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()),
            params,
            dummy: OnceLock::new(),
        })
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &SecretString) -> Result<PasswordHash> {
        let salt = SaltString::generate(&mut OsRng);
        let phc = self
            .argon2
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map_err(|e| Error::Internal(format!("argon2 hashing failed: {e}")))?;
        Ok(PasswordHash(phc.to_string()))
    }

    fn verify(&self, password: &SecretString, hash: &PasswordHash) -> bool {
        // The parameters come from the PHC string, so hashes made under
        // older settings keep verifying after the cost is raised.
        match PhcHash::new(&hash.0) {
            Ok(parsed) => self
                .argon2
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let Ok(parsed) = PhcHash::new(&hash.0) else {
            return true;
        };
        let same_params = Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == self.params.m_cost()
                && p.t_cost() == self.params.t_cost()
                && p.p_cost() == self.params.p_cost()
        });
        parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13.into())
            || !same_params
    }

    fn dummy_hash(&self) -> &PasswordHash {
        self.dummy.get_or_init(|| {
            let random = crate::id::random_token::<16>()
                .unwrap_or_else(|_| "gatehouse-dummy-password".to_string());
            // Hashing cannot fail with valid parameters and a generated
            // salt; if it somehow did, an unparsable hash still makes
            // `verify` return false, which is the only property we need.
            self.hash(&SecretString::from(random))
                .unwrap_or_else(|_| PasswordHash(String::new()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn length_window_counts_characters_not_bytes() {
        assert!(validate_password(&secret("1234567")).is_err());
        assert!(validate_password(&secret("12345678")).is_ok());
        assert!(validate_password(&secret("ääääääää")).is_ok());
        assert!(validate_password(&secret(&"x".repeat(1024))).is_ok());
        assert!(validate_password(&secret(&"x".repeat(1025))).is_err());
    }

    /// The real OWASP cost, at least once in the suite.
    #[test]
    fn owasp_argon2id_round_trip() {
        let hasher = Argon2Hasher::new(Argon2Params::default()).unwrap();
        let hash = hasher.hash(&secret("correct horse")).unwrap();
        assert!(hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify(&secret("correct horse"), &hash));
        assert!(!hasher.verify(&secret("wrong horse"), &hash));
        assert!(!hasher.verify(&secret("x"), &PasswordHash("garbage".into())));
        assert!(!hasher.verify(&secret("correct horse"), hasher.dummy_hash()));
        assert_eq!(format!("{hash:?}"), "PasswordHash([redacted])");
        assert!(!hasher.needs_rehash(&hash));
        // The same password under a lower cost verifies, and asks to be
        // upgraded to the configured one.
        let cheap = Argon2Hasher::new(Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let old = cheap.hash(&secret("correct horse")).unwrap();
        assert!(hasher.verify(&secret("correct horse"), &old));
        assert!(hasher.needs_rehash(&old));
        assert!(hasher.needs_rehash(&PasswordHash("garbage".into())));
    }
}
