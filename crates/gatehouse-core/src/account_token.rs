//! Single-use account links: email verification, password reset and
//! invitations. Each is 256 random bits mailed as a link, stored only as
//! its SHA-256 (like refresh tokens), bound to one user and one purpose,
//! and used up atomically by the first request that presents it.

use crate::clock::UnixTime;

/// What a link may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Confirms `email` belongs to the user.
    VerifyEmail,
    /// Sets a new password (a forgotten one).
    ResetPassword,
    /// Sets the first password of an invited user.
    Invite,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
            TokenPurpose::Invite => "invite",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "verify_email" => Some(TokenPurpose::VerifyEmail),
            "reset_password" => Some(TokenPurpose::ResetPassword),
            "invite" => Some(TokenPurpose::Invite),
            _ => None,
        }
    }
}

/// A link as stored: the hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountToken {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    pub tenant_id: String,
    pub user_id: String,
    pub purpose: TokenPurpose,
    /// The address the link was mailed to (the user's email when it was
    /// sent). A verification link confirms it, and a reset or invitation
    /// link proves it too; either counts only if it still is the user's.
    /// (`None` on reset and invitation links stored before they kept it.)
    pub email: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// What the store found when asked to use a link up.
#[derive(Debug)]
pub enum TokenConsumed {
    /// Unused until now; now used.
    Fresh(AccountToken),
    /// Used before (or by a concurrent request that won).
    AlreadyUsed(AccountToken),
    NotFound,
}
