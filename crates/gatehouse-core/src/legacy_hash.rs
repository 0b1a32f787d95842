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

/// Imported cost parameters above these are refused: a hash is data from
/// another system, and one absurd iteration count must not let a login
/// request pin a CPU for minutes.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_SCRYPT_LOG_N: u8 = 20;
const MAX_SCRYPT_R_TIMES_P: u64 = 64;

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
        let complete = argon2::Algorithm::try_from(parsed.algorithm).is_ok()
            && argon2::Params::try_from(&parsed).is_ok()
            && parsed.salt.is_some()
            && parsed.hash.is_some();
        return if complete {
            Ok(HashKind::Argon2)
        } else {
            Err("the argon2 PHC string lacks its algorithm, parameters, salt or hash".into())
        };
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
                format!("the pbkdf2_sha256 iteration count must be 1 to {MAX_PBKDF2_ITERATIONS}")
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
        if params.log_n() > MAX_SCRYPT_LOG_N
            || u64::from(params.r()) * u64::from(params.p()) > MAX_SCRYPT_R_TIMES_P
        {
            return Err("the scrypt cost parameters are larger than Gatehouse accepts".into());
        }
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
    if log_n > MAX_SCRYPT_LOG_N
        || r == 0
        || p == 0
        || u64::from(r) * u64::from(p) > MAX_SCRYPT_R_TIMES_P
    {
        return Err("the scrypt cost parameters are larger than Gatehouse accepts".into());
    }
    Ok(log_n)
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
            "$argon2id$nonsense",
        ] {
            assert!(classify(bad).is_err(), "{bad}");
            assert!(!verify(&pw("whatever1"), bad), "{bad}");
        }
        let msg = classify("md5$abc$def").unwrap_err();
        assert!(msg.contains("not in a supported format") && !msg.contains("abc"));
    }
}
