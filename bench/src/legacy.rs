//! `legacy-caps`: what one password check costs at each imported-hash cap
//! (`gatehouse_core::legacy_hash::MAX_*`), and at today's argon2id cost,
//! on one thread. A check against a wrong digest does the full work, so no
//! reference tool is needed to make the hashes.

use std::time::Instant;

use gatehouse_core::legacy_hash::{self, MAX_BCRYPT_COST, MAX_PBKDF2_ITERATIONS};
use gatehouse_core::password::{Argon2Hasher, Argon2Params, PasswordHash, PasswordHasher};
use secrecy::SecretString;

use crate::BenchResult;

/// Median milliseconds of `runs` checks of each kind at its cap.
pub fn run(runs: usize) -> BenchResult<Vec<(String, f64)>> {
    let zeros = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let cases: Vec<(String, String)> = vec![
        (
            format!("pbkdf2_sha256, {MAX_PBKDF2_ITERATIONS} iterations"),
            format!("pbkdf2_sha256${MAX_PBKDF2_ITERATIONS}$somesalt${zeros}"),
        ),
        (
            format!("bcrypt, cost {MAX_BCRYPT_COST}"),
            format!("$2b${MAX_BCRYPT_COST}$abcdefghijklmnopqrstuu5l6nKx8NbjZNAYT0dQzr6Ka3zt5tZa2"),
        ),
        (
            "bcrypt, cost 10".to_string(),
            "$2b$10$abcdefghijklmnopqrstuu5l6nKx8NbjZNAYT0dQzr6Ka3zt5tZa2".to_string(),
        ),
        (
            "scrypt, N=2^15 r=8 p=4 (cap)".to_string(),
            format!("scrypt$32768$somesalt$8$4${zeros}"),
        ),
        (
            "scrypt, N=2^14 r=8 p=5 (Django default)".to_string(),
            format!("scrypt$16384$somesalt$8$5${zeros}"),
        ),
        (
            "scrypt, N=2^16 r=8 p=1 (memory cap)".to_string(),
            format!("scrypt$65536$somesalt$8$1${zeros}"),
        ),
        (
            "argon2id m=64 MiB t=3 p=4 (cap)".to_string(),
            "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
        ),
        (
            "argon2id m=19 MiB t=2 p=1 (today's default)".to_string(),
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
        ),
    ];
    let argon2 = Argon2Hasher::new(Argon2Params::default())?;
    let password = SecretString::from("bench-password-123".to_string());
    let mut out = Vec::new();
    for (name, hash) in cases {
        legacy_hash::classify(&hash).map_err(|e| format!("{name}: {e}"))?;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let matched = if legacy_hash::is_legacy(&hash) {
                legacy_hash::verify(&password, &hash)
            } else {
                argon2.verify(&password, &PasswordHash(hash.clone()))
            };
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            if matched {
                return Err(format!("{name}: a wrong digest matched").into());
            }
        }
        times.sort_by(f64::total_cmp);
        out.push((name, times[times.len() / 2]));
    }
    Ok(out)
}
