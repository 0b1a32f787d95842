//! The ports: what the domain needs from persistence, as small capability
//! traits. `gatehouse-store` implements them per backend; the server only
//! ever holds an `Arc<dyn Store>`.
//!
//! Each method is one atomic step. Where a rule needs atomicity (a tenant
//! never exists without a signing key; a refresh token is consumed at most
//! once) the method is shaped so the backend can do it in one transaction
//! or one conditional UPDATE.

use async_trait::async_trait;

use secrecy::SecretString;

use crate::algorithm::SigningAlgorithm;
use crate::clock::UnixTime;
use crate::keys::SigningKeyRecord;
use crate::password::PasswordHash;
use crate::refresh::{Consumed, RefreshRecord};
use crate::session::Session;
use crate::tenant::Tenant;
use crate::user::{LoginName, User};

/// Which uniqueness rule a write broke; recognised by constraint name in
/// each backend, never by reading the error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    TenantName,
    Username,
    Email,
    /// A user id kept from an import is another user's.
    UserId,
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint violated: {0:?}")]
    Conflict(UniqueField),
    /// Connection refused, pool timed out, database shutting down.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A value the database cannot hold (a NUL, which PostgreSQL refuses;
    /// text longer than its column), refused before it reached the
    /// driver or as the driver reported it. Names what it was, never the
    /// value (it may be a secret). Core checks input before it gets here;
    /// this is the store's own line of defence.
    #[error("the database cannot store {0}")]
    Unstorable(&'static str),
    /// Anything else: a bug or a corrupt row.
    #[error("store error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates the tenant together with its first signing key, atomically.
    async fn create_tenant(&self, tenant: &Tenant, first_key: &SigningKeyRecord)
    -> StoreResult<()>;
    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>>;
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
    /// The algorithm of the tenant's future keys (a rotation changes it).
    async fn set_tenant_algorithm(
        &self,
        tenant_id: &str,
        algorithm: SigningAlgorithm,
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with `Conflict(Username | Email)` if either is taken in the
    /// tenant (case-insensitively).
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn user_by_login(&self, tenant_id: &str, login: &LoginName) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self, tenant_id: &str) -> StoreResult<Vec<User>>;
    /// Replaces the user's password hash if it is still `old` (an upgrade
    /// from a legacy or cheaper hash at login); `false` if it was not.
    async fn update_password_hash(
        &self,
        tenant_id: &str,
        user_id: &str,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> StoreResult<bool>;
    /// Deletes the user and their sessions; `false` if there was no such user.
    async fn delete_user(&self, tenant_id: &str, user_id: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Fails with `Conflict` if the tenant already has a key in the same
    /// `next` or `current` state (at most one of each): the loser of a race
    /// between nodes learns the step was done.
    async fn insert_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// All keys of the tenant that are still published (any state).
    async fn keys_for_tenant(&self, tenant_id: &str) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Atomically: `current_kid` current → retired, `next_kid` next →
    /// current. `false` (and no change) if either was no longer in that state.
    async fn promote_key(
        &self,
        tenant_id: &str,
        next_kid: &str,
        current_kid: &str,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Deletes a key if it is `retired`; `false` if it was not.
    async fn remove_retired_key(&self, tenant_id: &str, kid: &str) -> StoreResult<bool>;
    /// Deletes the tenant's `next` key, if any (it never signed).
    async fn remove_next_key(&self, tenant_id: &str) -> StoreResult<bool>;
    /// Replaces a key's sealed material if it still is `expected` (rewrap).
    async fn replace_key_material(
        &self,
        kid: &str,
        expected: &SecretString,
        replacement: &SecretString,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Creates a session and its first refresh token, atomically.
    async fn create_session(&self, session: &Session, first: &RefreshRecord) -> StoreResult<()>;
    async fn session(&self, session_id: &str) -> StoreResult<Option<Session>>;
    /// Marks the session revoked; `false` if it did not exist or already was.
    async fn revoke_session(&self, session_id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Marks the token used if it was unused, in one atomic step, and says
    /// which of the two it was. Concurrent callers with one token: exactly
    /// one sees `Fresh`.
    async fn consume_refresh_token(
        &self,
        tenant_id: &str,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Consumed>;
    async fn insert_refresh_token(&self, record: &RefreshRecord) -> StoreResult<()>;
}

/// Everything a Gatehouse node needs from its database.
#[async_trait]
pub trait Store: TenantStore + UserStore + KeyStore + SessionStore {
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}
