//! The domain's errors. Each variant says what went wrong in domain terms
//! and carries no HTTP; the server's one status table maps them to
//! statuses and error codes.

use gatehouse_jwt::{TokenError, UnsupportedAlgorithm};

use crate::store::{StoreError, UniqueField};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent something that breaks a rule; the message names the
    /// field and the rule, and is safe to show.
    #[error("{message}")]
    InvalidInput {
        field: &'static str,
        message: String,
    },

    /// A uniqueness rule would be broken (username, email, tenant name).
    #[error("{}", conflict_sentence(*.0))]
    Conflict(UniqueField),

    /// Another writer changed the same thing at the same moment (two
    /// rotations at once); trying again is the answer.
    #[error("{0}")]
    Contended(&'static str),

    #[error("the tenant `{0}` does not exist")]
    TenantNotFound(String),

    #[error("{0} was not found")]
    NotFound(&'static str),

    /// Wrong password or unknown user: deliberately one variant, so the two
    /// cases cannot be told apart by any caller.
    #[error("the username or password is incorrect")]
    InvalidCredentials,

    /// The account is soft-locked after repeated failures: answered as a
    /// wrong password (a right one is refused too), plus when to retry.
    #[error("the username or password is incorrect")]
    AccountLocked {
        retry_after_secs: u64,
        /// Refused at the OAuth token endpoint (answered as `invalid_grant`).
        oauth: bool,
    },

    /// The password was right, but an admin disabled the account. Only
    /// said after the password matched, so it tells an attacker nothing.
    #[error("this account is disabled; ask the administrator")]
    AccountDisabled,

    /// The password was right, but the tenant requires a verified email
    /// and this one is not (yet).
    #[error(
        "the email address of this account is not verified; use the link mailed to it, or ask for a new one at {resend}"
    )]
    EmailNotVerified { resend: String },

    /// A single-use account link (verification, reset, invitation) that
    /// cannot be used: the sentence says why.
    #[error("{0}")]
    AccountLink(&'static str),

    /// An OAuth grant that cannot be honoured (RFC 6749 §5.2 `invalid_grant`).
    #[error(transparent)]
    Grant(#[from] GrantError),

    /// An access token that fails verification (RFC 6750 §3.1 `invalid_token`).
    #[error(transparent)]
    Token(#[from] TokenError),

    /// An access token that verifies but cannot be used for what was asked,
    /// because what it stands for is gone (also `invalid_token`).
    #[error(transparent)]
    TokenUnusable(#[from] TokenUnusable),

    /// A request the OAuth 2.0 token endpoint refuses as such.
    #[error(transparent)]
    OAuth(#[from] OAuthError),

    /// Stored keys cannot be opened with the configured master key(s).
    #[error("{0}")]
    MasterKey(String),

    /// Too much work is waiting (the password-hashing pool is full, or this
    /// request waited too long for it): refused at once rather than left to
    /// time out. The client may retry after `retry_after_secs`.
    #[error("the service is busy; retry in {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },

    /// The store cannot be reached right now; the request may be retried.
    #[error("the service is temporarily unavailable")]
    Unavailable(String),

    /// A fault on our side. The text is for the log, never for the client.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a grant failed (RFC 6749 §5.2 `invalid_grant`): each a sentence
/// safe to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The password grant's resource-owner credentials are wrong.
    #[error("the username or password is incorrect")]
    InvalidCredentials,
    #[error("the refresh token is not valid")]
    UnknownRefreshToken,
    /// RFC 9700 §4.14.2: a rotated refresh token came back.
    #[error("the refresh token was already used; its session has been revoked")]
    RefreshTokenReused,
    #[error("the refresh token has expired")]
    RefreshTokenExpired,
    #[error("the session has ended")]
    SessionEnded,
    #[error("the user no longer exists")]
    UserGone,
    /// The refresh token was issued to another client (§6).
    #[error("the refresh token was issued to another client")]
    RefreshTokenOtherClient,
    #[error("the authorization code is not valid")]
    UnknownCode,
    /// §4.1.2: a second use; what the first issued is revoked.
    #[error("the authorization code was already used; the tokens issued for it have been revoked")]
    CodeReused,
    #[error("the authorization code has expired")]
    CodeExpired,
    #[error("the authorization code was issued to another client")]
    CodeOtherClient,
    /// §4.1.3: `redirect_uri` must repeat the authorization request's.
    #[error("the redirect_uri does not match the one of the authorization request")]
    RedirectUriMismatch,
    /// RFC 7636 §4.6.
    #[error("the code_verifier does not match the code_challenge")]
    PkceMismatch,
    #[error("the authorization request sent a code_challenge, so the code_verifier is required")]
    PkceVerifierMissing,
    /// RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
    #[error("the authorization request sent no code_challenge, so no code_verifier may be sent")]
    PkceVerifierUnexpected,
}

/// The token endpoint's own refusals (RFC 6749 §5.2 codes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// `invalid_request`: a parameter is missing or repeated.
    #[error("{0}")]
    InvalidRequest(String),
    /// `unsupported_grant_type`.
    #[error(
        "the grant type `{0}` is not supported here; use authorization_code, client_credentials, refresh_token or password"
    )]
    UnsupportedGrantType(String),
    /// `invalid_client` (401 with a Basic challenge): the client could not
    /// be authenticated. One sentence for every cause, so a caller cannot
    /// tell an unknown client from a wrong secret.
    #[error("{0}")]
    InvalidClient(String),
    /// `unauthorized_client`: the client may not use this grant.
    #[error("{0}")]
    UnauthorizedClient(String),
    /// `invalid_scope`.
    #[error("{0}")]
    InvalidScope(String),
    /// RFC 6750 §3.1 `insufficient_scope` (403): a valid token lacking a
    /// scope the endpoint needs.
    #[error("{0}")]
    InsufficientScope(String),
}

fn conflict_sentence(field: UniqueField) -> &'static str {
    match field {
        UniqueField::TenantName => "a tenant with this name already exists",
        UniqueField::Username => "this username is already taken",
        UniqueField::Email => "this email is already registered",
        UniqueField::UserId => "the id is already taken by another user",
        UniqueField::Other => "this record already exists",
    }
}

impl Error {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field,
            message: message.into(),
        }
    }
}

/// Why a verified access token still cannot be used: the domain's reasons,
/// next to the verifier's [`TokenError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenUnusable {
    /// A machine token (no `sid`) cannot be refreshed.
    #[error("the token has no session to refresh")]
    NoSession,
    /// The token's session was ended (logout, reuse detection) or expired.
    #[error("the token's session has ended")]
    SessionEnded,
    /// The user the token names was deleted.
    #[error("the user no longer exists")]
    UserGone,
}

impl From<UnsupportedAlgorithm> for Error {
    fn from(e: UnsupportedAlgorithm) -> Self {
        Error::invalid("algorithm", e.to_string())
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(field) => Error::Conflict(field),
            StoreError::Unavailable(detail) => Error::Unavailable(detail),
            // Bad input that got past the checks of core: still the
            // caller's, so a 400, never a 500.
            StoreError::Unstorable(what) => Error::invalid(
                "input",
                format!("the request holds {what}, which cannot be stored"),
            ),
            StoreError::Backend(detail) => Error::Internal(detail),
        }
    }
}
