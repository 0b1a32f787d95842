//! Password rules and hashing.
//!
//! Rules follow NIST SP 800-63B §5.1.1.2: a length window and nothing else
//! (no composition rules). Hashes are argon2id PHC strings at the OWASP
//! parameters by default (m = 19456 KiB, t = 2, p = 1).

use std::cell::RefCell;
use std::fmt;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash as PhcHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::legacy_hash::MAX_ARGON2_MEMORY_KIB;
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
/// Both methods are CPU-bound for tens of milliseconds and hold the argon2
/// memory while they run; callers run them on the hashing pool
/// ([`super::pool`]), never on an async worker or an unbounded thread pool.
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

thread_local! {
    /// This thread's argon2 working memory, kept between hashes so that a
    /// hashing worker allocates it once, not 19 MiB per login (which the
    /// allocator would then keep in per-thread arenas). The pool's workers
    /// are the only threads that hash under load; each frees its memory
    /// after an idle spell ([`release_thread_memory`]).
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The smallest reservation for the working memory: 32 MiB of address
/// space, of which only the blocks a hash uses are ever touched (RSS).
///
/// Why: glibc serves requests at or above its mmap threshold with their
/// own mapping, and gives a freed mapping straight back to the system. But
/// it raises that threshold to the size of each mapping freed, so the next
/// 19 MiB request would come from a per-thread arena instead, and arenas
/// keep freed memory: measured, RSS stayed at the peak of a login burst.
/// The threshold never rises above 32 MiB on 64-bit systems
/// (`DEFAULT_MMAP_THRESHOLD_MAX`, mallopt(3)), so a reservation of at least
/// that much is always its own mapping, and releasing it returns the memory.
const MIN_RESERVED_BLOCKS: usize = (32 << 20) / Block::SIZE;

/// Runs `f` over `count` blocks of this thread's working memory, growing it
/// if needed.
fn with_blocks<T>(count: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    BLOCKS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut blocks) => {
            if blocks.len() < count {
                if blocks.capacity() < count {
                    // Reserve, then touch only what this hash needs.
                    *blocks = Vec::with_capacity(count.max(MIN_RESERVED_BLOCKS));
                }
                blocks.resize(count, Block::default());
            }
            f(&mut blocks[..count])
        }
        // Not reachable (hashing does not re-enter itself); a fresh buffer
        // keeps it correct if it ever is.
        Err(_) => f(&mut vec![Block::default(); count]),
    })
}

/// Frees this thread's argon2 working memory; the hashing pool calls it on
/// a worker that has been idle for a while, so memory goes back to the
/// system after a burst.
pub fn release_thread_memory() {
    BLOCKS.with(|cell| {
        if let Ok(mut blocks) = cell.try_borrow_mut() {
            *blocks = Vec::new();
        }
    });
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

/// Checks `password` against a parsed argon2 PHC hash with the parameters
/// it carries, in this thread's reused memory. A hash that would need more
/// than `max_memory_kib` is refused unchecked: no stored row may make one
/// check take gigabytes.
fn verify_phc(password: &[u8], parsed: &PhcHash<'_>, max_memory_kib: u32) -> bool {
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    if params.m_cost() > max_memory_kib {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let computed = with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password, salt, &mut out, blocks)
    });
    computed.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &SecretString) -> Result<PasswordHash> {
        let failed = |e: &dyn fmt::Display| Error::Internal(format!("argon2 hashing failed: {e}"));
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_buf = [0u8; 64];
        let raw_salt = salt.decode_b64(&mut salt_buf).map_err(|e| failed(&e))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        with_blocks(self.params.block_count(), |blocks| {
            self.argon2.hash_password_into_with_memory(
                password.expose_secret().as_bytes(),
                raw_salt,
                &mut out,
                blocks,
            )
        })
        .map_err(|e| failed(&e))?;
        let phc = PhcHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| failed(&e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
        };
        Ok(PasswordHash(phc.to_string()))
    }

    fn verify(&self, password: &SecretString, hash: &PasswordHash) -> bool {
        // The parameters come from the PHC string, so hashes made under
        // older settings keep verifying after the cost is raised.
        match PhcHash::new(&hash.0) {
            Ok(parsed) => verify_phc(
                password.expose_secret().as_bytes(),
                &parsed,
                self.params.m_cost().max(MAX_ARGON2_MEMORY_KIB),
            ),
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
        // What the reused-memory path writes, the crate's own verifier reads.
        use argon2::PasswordVerifier;
        let parsed = PhcHash::new(&hash.0).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        release_thread_memory();
        assert!(hasher.verify(&secret("correct horse"), &hash));
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
