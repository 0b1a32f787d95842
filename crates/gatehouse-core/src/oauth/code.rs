//! Authorization codes (RFC 6749 §4.1.2): single-use, short-lived, bound
//! to the client, the exact redirect URI and the PKCE challenge. Like
//! refresh tokens, only their SHA-256 is stored.

use secrecy::SecretString;

use crate::Result;
use crate::clock::UnixTime;
use crate::id::random_token;
use crate::refresh;

/// The longest a code lives (RFC 6749 §4.1.2 recommends at most ten
/// minutes; an exchange takes a second).
pub const MAX_CODE_TTL_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// Hex SHA-256 of the code.
    pub code_hash: String,
    pub tenant_id: String,
    pub client_id: String,
    pub user_id: String,
    /// The `redirect_uri` of the authorization request, if it named one
    /// (the token request must then repeat it exactly, §4.1.3).
    pub redirect_uri: Option<String>,
    /// The granted scope, space-separated.
    pub scope: String,
    /// The S256 PKCE challenge (RFC 7636 §4.2), if one was sent.
    pub code_challenge: Option<String>,
    /// OIDC `nonce`, echoed into the ID token.
    pub nonce: Option<String>,
    /// When the user last entered their password (OIDC `auth_time`).
    pub auth_time: UnixTime,
    /// The browser sign-in the code came from (the ID token's `sid`).
    pub browser_session_id: String,
    /// The session the exchange creates, chosen now so a second use of
    /// the code can revoke what the first one issued (§4.1.2).
    pub session_id: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// What the store found when asked to consume a code.
#[derive(Debug)]
pub enum CodeConsumed {
    /// Unused until now; it is now marked used.
    Fresh(AuthorizationCode),
    /// Used before: the grant fails and what the first use issued is revoked.
    AlreadyUsed(AuthorizationCode),
    NotFound,
}

/// A new code (256 random bits) and its hash.
pub fn mint() -> Result<(SecretString, String)> {
    let code = SecretString::from(random_token::<32>()?);
    let hash = refresh::hash(&code);
    Ok((code, hash))
}

/// The lookup key of a presented code.
pub fn hash(code: &SecretString) -> String {
    refresh::hash(code)
}
