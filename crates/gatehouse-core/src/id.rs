//! Identifiers and random secrets.
//!
//! Ids are UUIDv7 text: sortable by creation time, unguessable enough for
//! identifiers (never used as secrets), and the same text in every backend.
//! Secrets (refresh tokens, HMAC keys) come straight from the OS generator.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::{Error, Result};

/// A new time-ordered identifier for a row (user, tenant, session).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Internal(format!("the OS random generator failed: {e}")))?;
    Ok(buf)
}

/// `N` random bytes as unpadded base64url text, safe in URLs, headers and forms.
pub fn random_token<const N: usize>() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<N>()?))
}
