//! Password hashes written by the systems Gatehouse replaces, accepted on
//! import so users keep their passwords. A legacy hash is only ever
//! verified: at the first successful login [`crate::auth::Auth`] replaces
//! it with an argon2id hash (see [`PasswordHasher::needs_rehash`]).
//!
//! Formats, as their reference implementations write them:
//! - unsalted SHA-256, 64 hex digits (the OpenFaaS Ruby functions'
//!   `Digest::SHA2.new << password`);
//! - bcrypt `$2a$` / `$2b$` / `$2y$` (Rails `has_secure_password`, knock,
//!   Node and PHP bcrypt);
//! - Django `pbkdf2_sha256$<iterations>$<salt>$<base64>`;
//! - scrypt, as Django writes it (`scrypt$<n>$<salt>$<r>$<p>$<base64>`) or
//!   as a PHC string (`$scrypt$ln=..,r=..,p=..$<salt>$<hash>`);
//! - argon2 PHC strings (`$argon2id$`, `$argon2i$`, `$argon2d$`), which the
//!   argon2 hasher verifies with the parameters they carry.
//!
//! [`PasswordHasher::needs_rehash`]: crate::password::PasswordHasher::needs_rehash

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Imported cost parameters above these are refused at import, with the
/// reason: a hash is data from another system, and one absurd cost must not
/// let a login request pin a hashing worker for seconds (or, for scrypt and
/// argon2, take hundreds of MiB). Each cap is the current default of the
/// ecosystem the hashes come from, so real exports import; the time one
/// check takes at each cap is measured in bench/README.md ("Legacy hash
/// caps"). Every check runs on the bounded hashing pool.
///
/// Django 6.0's default (Django 5.2: 1,000,000).
pub const MAX_PBKDF2_ITERATIONS: u32 = 1_200_000;
/// Rails' `has_secure_password` and knock default to 12; Node and PHP to 10.
pub const MAX_BCRYPT_COST: u32 = 12;
/// scrypt's work is `N × r × p` and its memory `128 × N × r` bytes: Django's
/// default (N = 2^14, r = 8, p = 5) is 16 MiB and N·r·p = 655,360; the cap,
/// 2^20, is 1.6× that (N = 2^15, r = 8, p = 4).
pub const MAX_SCRYPT_N_R_P: u64 = 1 << 20;
/// Memory of one scrypt check: 64 MiB (N = 2^16 at r = 8).
pub const MAX_SCRYPT_MEMORY_BYTES: u64 = 64 << 20;
/// argon2-cffi's default is m = 64 MiB, t = 3 (p = 4, computed one lane
/// after another here).
pub const MAX_ARGON2_MEMORY_KIB: u32 = 64 * 1024;
pub const MAX_ARGON2_MEMORY_TIMES_ITERATIONS: u64 = 64 * 1024 * 3;

/// The family a stored hash belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Argon2,
    Sha256,
    Bcrypt,
    Pbkdf2Sha256,
    Scrypt,
}

impl HashKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HashKind::Argon2 => "argon2",
            HashKind::Sha256 => "sha256",
            HashKind::Bcrypt => "bcrypt",
            HashKind::Pbkdf2Sha256 => "pbkdf2_sha256",
            HashKind::Scrypt => "scrypt",
        }
    }
}

pub const SUPPORTED_FORMATS: &str = "unsalted SHA-256 hex, bcrypt $2a$/$2b$/$2y$, \
    Django pbkdf2_sha256$ or scrypt$, scrypt PHC ($scrypt$) or argon2 PHC ($argon2id$)";

/// A parsed legacy hash: everything needed to check a password against it.
enum Legacy {
    Sha256([u8; 32]),
    Bcrypt(String),
    Pbkdf2Sha256 {
        iterations: u32,
        salt: String,
        hash: Vec<u8>,
    },
    DjangoScrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: String,
        hash: Vec<u8>,
    },
    ScryptPhc(String),
}

/// Names the kind of a hash string and checks that it is well formed, so an
/// import can refuse a line before writing anything. The error is a
/// sentence fit for the import report; it never repeats the hash.
pub fn classify(hash: &str) -> Result<HashKind, String> {
    if hash.starts_with("$argon2") {
        let parsed = argon2::password_hash::PasswordHash::new(hash)
            .map_err(|e| format!("the argon2 PHC string is malformed ({e})"))?;
        let params = argon2::Params::try_from(&parsed);
        let complete = argon2::Algorithm::try_from(parsed.algorithm).is_ok()
            && params.is_ok()
            && parsed.salt.is_some()
            && parsed.hash.is_some();
        if !complete {
            return Err(
                "the argon2 PHC string lacks its algorithm, parameters, salt or hash".into(),
            );
        }
        if let Ok(p) = params
            && (p.m_cost() > MAX_ARGON2_MEMORY_KIB
                || u64::from(p.m_cost()) * u64::from(p.t_cost())
                    > MAX_ARGON2_MEMORY_TIMES_ITERATIONS)
        {
            return Err(format!(
                "the argon2 cost (m={} KiB, t={}) is above what Gatehouse accepts \
                 (m at most {MAX_ARGON2_MEMORY_KIB} KiB, m×t at most \
                 {MAX_ARGON2_MEMORY_TIMES_ITERATIONS})",
                p.m_cost(),
                p.t_cost()
            ));
        }
        return Ok(HashKind::Argon2);
    }
    parse(hash).map(|legacy| match legacy {
        Legacy::Sha256(_) => HashKind::Sha256,
        Legacy::Bcrypt(_) => HashKind::Bcrypt,
        Legacy::Pbkdf2Sha256 { .. } => HashKind::Pbkdf2Sha256,
        Legacy::DjangoScrypt { .. } | Legacy::ScryptPhc(_) => HashKind::Scrypt,
    })
}

/// Whether a stored hash is one this module verifies (anything but argon2).
pub fn is_legacy(hash: &str) -> bool {
    !hash.starts_with("$argon2")
}

/// `true` only if `password` matches the legacy `hash`. A malformed or
/// unsupported hash is `false`.
pub fn verify(password: &SecretString, hash: &str) -> bool {
    let password = password.expose_secret().as_bytes();
    match parse(hash) {
        Ok(Legacy::Sha256(expected)) => {
            bool::from(Sha256::digest(password).as_slice().ct_eq(&expected))
        }
        Ok(Legacy::Bcrypt(h)) => bcrypt::verify(password, &h).unwrap_or(false),
        Ok(Legacy::Pbkdf2Sha256 {
            iterations,
            salt,
            hash,
        }) => {
            let mut out = vec![0u8; hash.len()];
            pbkdf2::pbkdf2_hmac::<Sha256>(password, salt.as_bytes(), iterations, &mut out);
            bool::from(out.ct_eq(&hash))
        }
        Ok(Legacy::DjangoScrypt {
            log_n,
            r,
            p,
            salt,
            hash,
        }) => {
            let Ok(params) = scrypt::Params::new(log_n, r, p, hash.len()) else {
                return false;
            };
            let mut out = vec![0u8; hash.len()];
            scrypt::scrypt(password, salt.as_bytes(), &params, &mut out).is_ok()
                && bool::from(out.ct_eq(&hash))
        }
        Ok(Legacy::ScryptPhc(h)) => {
            use scrypt::password_hash::{PasswordHash, PasswordVerifier};
            PasswordHash::new(&h)
                .is_ok_and(|parsed| scrypt::Scrypt.verify_password(password, &parsed).is_ok())
        }
        Err(_) => false,
    }
}

fn parse(hash: &str) -> Result<Legacy, String> {
    if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hash, &mut digest)
            .map_err(|_| "the SHA-256 hex digest is malformed".to_string())?;
        return Ok(Legacy::Sha256(digest));
    }
    if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
        // `$2?$cc$` + 22 salt + 31 hash characters.
        let cost_ok = hash
            .get(4..6)
            .and_then(|c| c.parse::<u32>().ok())
            .is_some_and(|c| (4..=31).contains(&c));
        if hash.len() != 60 || !cost_ok || hash.as_bytes().get(6) != Some(&b'$') {
            return Err("the bcrypt hash is malformed (expected 60 characters)".into());
        }
        if let Some(cost) = hash.get(4..6).and_then(|c| c.parse::<u32>().ok())
            && cost > MAX_BCRYPT_COST
        {
            return Err(format!(
                "the bcrypt cost {cost} is above what Gatehouse accepts (at most {MAX_BCRYPT_COST})"
            ));
        }
        return Ok(Legacy::Bcrypt(hash.to_string()));
    }
    if let Some(rest) = hash.strip_prefix("pbkdf2_sha256$") {
        let parts: Vec<&str> = rest.split('$').collect();
        let [iterations, salt, b64] = parts.as_slice() else {
            return Err(
                "the pbkdf2_sha256 hash must be pbkdf2_sha256$<iterations>$<salt>$<hash>".into(),
            );
        };
        let iterations: u32 = iterations
            .parse()
            .ok()
            .filter(|i| (1..=MAX_PBKDF2_ITERATIONS).contains(i))
            .ok_or_else(|| {
                format!(
                    "the pbkdf2_sha256 iteration count must be 1 to {MAX_PBKDF2_ITERATIONS} \
                     (higher costs are above what Gatehouse accepts)"
                )
            })?;
        let hash = decode_digest(b64, "pbkdf2_sha256")?;
        return Ok(Legacy::Pbkdf2Sha256 {
            iterations,
            salt: salt.to_string(),
            hash,
        });
    }
    if let Some(rest) = hash.strip_prefix("scrypt$") {
        let parts: Vec<&str> = rest.split('$').collect();
        let [n, salt, r, p, b64] = parts.as_slice() else {
            return Err("the Django scrypt hash must be scrypt$<n>$<salt>$<r>$<p>$<hash>".into());
        };
        let n: u64 = n
            .parse()
            .map_err(|_| "the scrypt work factor is not a number".to_string())?;
        let (r, p): (u32, u32) = match (r.parse(), p.parse()) {
            (Ok(r), Ok(p)) => (r, p),
            _ => return Err("the scrypt block size and parallelism must be numbers".into()),
        };
        let log_n = scrypt_log_n(n, r, p)?;
        let hash = decode_digest(b64, "scrypt")?;
        return Ok(Legacy::DjangoScrypt {
            log_n,
            r,
            p,
            salt: salt.to_string(),
            hash,
        });
    }
    if hash.starts_with("$scrypt$") {
        let parsed = scrypt::password_hash::PasswordHash::new(hash)
            .map_err(|e| format!("the scrypt PHC string is malformed ({e})"))?;
        let params = scrypt::Params::try_from(&parsed)
            .map_err(|e| format!("the scrypt PHC parameters are not accepted ({e})"))?;
        check_scrypt_cost(params.log_n(), params.r(), params.p())?;
        return Ok(Legacy::ScryptPhc(hash.to_string()));
    }
    Err(format!(
        "the password hash is not in a supported format (supported: {SUPPORTED_FORMATS})"
    ))
}

fn scrypt_log_n(n: u64, r: u32, p: u32) -> Result<u8, String> {
    if n < 2 || !n.is_power_of_two() {
        return Err("the scrypt work factor must be a power of two".into());
    }
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| "scrypt n is too large")?;
    if r == 0 || p == 0 {
        return Err("the scrypt block size and parallelism must be at least 1".into());
    }
    check_scrypt_cost(log_n, r, p)?;
    Ok(log_n)
}

/// The caps on scrypt's work (`N·r·p`) and memory (`128·N·r` bytes).
fn check_scrypt_cost(log_n: u8, r: u32, p: u32) -> Result<(), String> {
    let n = 1u64.checked_shl(u32::from(log_n)).unwrap_or(u64::MAX);
    let work = n.saturating_mul(u64::from(r)).saturating_mul(u64::from(p));
    let memory = n.saturating_mul(u64::from(r)).saturating_mul(128);
    if work > MAX_SCRYPT_N_R_P || memory > MAX_SCRYPT_MEMORY_BYTES {
        return Err(format!(
            "the scrypt cost (N={n}, r={r}, p={p}) is above what Gatehouse accepts \
             (N·r·p at most {MAX_SCRYPT_N_R_P}, 128·N·r at most {MAX_SCRYPT_MEMORY_BYTES} bytes)"
        ));
    }
    Ok(())
}

fn decode_digest(b64: &str, kind: &str) -> Result<Vec<u8>, String> {
    let hash = STANDARD
        .decode(b64)
        .map_err(|_| format!("the {kind} digest is not valid base64"))?;
    if !(16..=128).contains(&hash.len()) {
        return Err(format!("the {kind} digest must be 16 to 128 bytes"));
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    //! Hand-made vectors only; the reference tools' output is checked in
    //! the import tests (`crates/gatehouse/tests/import.rs`).
    use super::*;

    fn pw(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn sha256_hex_matches_in_either_case() {
        // sha256("password")
        let h = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
        assert_eq!(classify(h), Ok(HashKind::Sha256));
        assert!(verify(&pw("password"), h));
        assert!(verify(&pw("password"), &h.to_uppercase()));
        assert!(!verify(&pw("Password"), h));
    }

    #[test]
    fn bcrypt_prefixes_and_rust_made_hash() {
        let h = bcrypt::hash("hunter22", 4).unwrap();
        assert_eq!(classify(&h), Ok(HashKind::Bcrypt));
        assert!(verify(&pw("hunter22"), &h));
        assert!(!verify(&pw("hunter23"), &h));
        for prefix in ["$2a$", "$2y$"] {
            let other = format!("{prefix}{}", &h[4..]);
            assert!(verify(&pw("hunter22"), &other), "{prefix}");
        }
        assert!(classify("$2b$10$short").is_err());
    }

    #[test]
    fn pbkdf2_and_scrypt_round_trip() {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"s3cret-pw", b"NaCl", 1000, &mut out);
        let h = format!("pbkdf2_sha256$1000$NaCl${}", STANDARD.encode(out));
        assert_eq!(classify(&h), Ok(HashKind::Pbkdf2Sha256));
        assert!(verify(&pw("s3cret-pw"), &h));
        assert!(!verify(&pw("s3cret-px"), &h));

        let mut out = [0u8; 64];
        let params = scrypt::Params::new(10, 8, 1, 64).unwrap();
        scrypt::scrypt(b"s3cret-pw", b"pepper", &params, &mut out).unwrap();
        let h = format!("scrypt$1024$pepper$8$1${}", STANDARD.encode(out));
        assert_eq!(classify(&h), Ok(HashKind::Scrypt));
        assert!(verify(&pw("s3cret-pw"), &h));
        assert!(!verify(&pw("s3cret-px"), &h));
    }

    #[test]
    fn refuses_unsupported_and_absurd_costs() {
        for bad in [
            "",
            "md5$abc$def",
            "5e88",
            "pbkdf2_sha256$99999999999$salt$AAAA",
            "pbkdf2_sha256$1000$salt$not base64!",
            "scrypt$1000$salt$8$1$AAAAAAAAAAAAAAAAAAAAAA==",
            "scrypt$2097152$salt$8$1$AAAAAAAAAAAAAAAAAAAAAA==",
            // Just above each cap.
            "pbkdf2_sha256$1200001$salt$AAAAAAAAAAAAAAAAAAAAAA==",
            "scrypt$131072$salt$8$1$AAAAAAAAAAAAAAAAAAAAAA==",
            "scrypt$32768$salt$8$5$AAAAAAAAAAAAAAAAAAAAAA==",
            "$2b$13$abcdefghijklmnopqrstuu5l6nKx8NbjZNAYT0dQzr6Ka3zt5tZa2",
            "$argon2id$v=19$m=131072,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=65536,t=4,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$nonsense",
        ] {
            assert!(classify(bad).is_err(), "{bad}");
            assert!(!verify(&pw("whatever1"), bad), "{bad}");
        }
        // At each cap: accepted.
        for ok in [
            "pbkdf2_sha256$1200000$salt$AAAAAAAAAAAAAAAAAAAAAA==",
            "scrypt$32768$salt$8$4$AAAAAAAAAAAAAAAAAAAAAA==",
            // Django's own default.
            "scrypt$16384$salt$8$5$AAAAAAAAAAAAAAAAAAAAAA==",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert!(classify(ok).is_ok(), "{ok}: {:?}", classify(ok));
        }
        let bcrypt_12 = format!("$2b$12${}", &bcrypt::hash("x", 4).unwrap()[7..]);
        assert_eq!(classify(&bcrypt_12), Ok(HashKind::Bcrypt));
        let reason =
            classify("$2b$13$abcdefghijklmnopqrstuu5l6nKx8NbjZNAYT0dQzr6Ka3zt5tZa2").unwrap_err();
        assert!(
            reason.contains("cost 13") && reason.contains("at most 12"),
            "{reason}"
        );
        let msg = classify("md5$abc$def").unwrap_err();
        assert!(msg.contains("not in a supported format") && !msg.contains("abc"));
    }
}
