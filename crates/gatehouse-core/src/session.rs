//! Sessions: one login, and every access and refresh token that descends
//! from it. Revoking the session ends them all (refresh immediately, access
//! tokens at their short expiry, or at once under `session=check`).

use crate::clock::UnixTime;

/// Absolute lifetime of a session: refresh rotation can extend it up to
/// here and no further, so a stolen refresh token is not valid forever.
pub const DEFAULT_SESSION_TTL_SECS: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone)]
pub struct Session {
    /// The `sid` claim of its access tokens.
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    /// The OAuth client it was issued to (`client_id` claim).
    pub client_id: String,
    /// Granted scope, space-separated (RFC 6749 §3.3).
    pub scope: String,
    /// The browser sign-in it came from (the authorization code flow);
    /// ending that sign-in (RP-initiated logout) revokes this session.
    pub browser_session_id: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

impl Session {
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}
