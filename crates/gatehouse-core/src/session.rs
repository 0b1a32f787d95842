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
    /// Where it was opened from, as the user's session list shows it.
    pub origin: Origin,
    pub created_at: UnixTime,
    /// The last refresh-token rotation (`None`: never refreshed).
    pub last_refreshed_at: Option<UnixTime>,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

/// The client a session was opened from: its IP address (the socket's, or
/// a trusted proxy's `X-Forwarded-For`) and its `User-Agent`, clipped.
/// Shown to the user and admins; never used to decide anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Origin {
    /// Longest `User-Agent` kept (browsers send about 150 bytes).
    pub const MAX_USER_AGENT_CHARS: usize = 256;

    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Self {
        Self {
            ip: ip.filter(|ip| ip.len() <= 64),
            user_agent: user_agent.map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(Self::MAX_USER_AGENT_CHARS)
                    .collect()
            }),
        }
    }
}

impl Session {
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}
