//! Browser sign-ins: the cookie the hosted login page sets, so the next
//! authorization request of the same browser skips the form. The cookie
//! holds 256 random bits; only their SHA-256 is stored.

use crate::clock::UnixTime;

/// The cookie's name; its path is the tenant's issuer path, so tenants on
/// one host never see each other's.
pub const COOKIE: &str = "gatehouse_session";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// The ID token's `sid` (OIDC Front-Channel Logout §3 sense).
    pub id: String,
    /// Hex SHA-256 of the cookie value.
    pub token_hash: String,
    pub tenant_id: String,
    pub user_id: String,
    /// When the password was entered (OIDC `auth_time`).
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

impl BrowserSession {
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}
