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

use crate::account_token::{AccountToken, TokenConsumed, TokenPurpose};
use crate::algorithm::SigningAlgorithm;
use crate::apikey::ApiKeyRecord;
use crate::audit::AuditEvent;
use crate::clock::UnixTime;
use crate::keys::SigningKeyRecord;
use crate::oauth::{AuthorizationCode, BrowserSession, ClientRecord, CodeConsumed};
use crate::password::PasswordHash;
use crate::refresh::{Consumed, RefreshRecord};
use crate::session::Session;
use crate::tenant::{Tenant, TenantSettings};
use crate::tenant_secret::TenantSecret;
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

/// Declares the port traits and, from the same list, [`PassThrough`]: a
/// store that forwards every method to another after asking a [`Hook`].
/// Test stores (fault injection, call counting) are a `Hook`, so adding a
/// port method never means editing a hand-written wrapper.
macro_rules! store_ports {
    ($(
        $(#[$trait_attr:meta])*
        trait $port:ident {
            $(
                $(#[$method_attr:meta])*
                fn $method:ident(&self $(, $arg:ident: $arg_ty:ty)* $(,)?) -> $ret:ty;
            )*
        }
    )*) => {
        $(
            $(#[$trait_attr])*
            #[async_trait]
            pub trait $port: Send + Sync {
                $(
                    $(#[$method_attr])*
                    async fn $method(&self $(, $arg: $arg_ty)*) -> $ret;
                )*
            }

            #[async_trait]
            impl<H: Hook> $port for PassThrough<H> {
                $(
                    async fn $method(&self $(, $arg: $arg_ty)*) -> $ret {
                        self.hook.before(stringify!($method))?;
                        let started = std::time::Instant::now();
                        let result = self.inner.$method($($arg),*).await;
                        self.hook
                            .after(stringify!($method), started.elapsed(), result.as_ref().err());
                        result
                    }
                )*
            }
        )*
    };
}

store_ports! {
trait TenantStore {
    /// Creates the tenant together with its first signing key, atomically.
    fn create_tenant(&self, tenant: &Tenant, first_key: &SigningKeyRecord)
    -> StoreResult<()>;
    fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>>;
    fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
    /// The algorithm of the tenant's future keys (a rotation changes it).
    fn set_tenant_algorithm(
        &self,
        tenant_id: &str,
        algorithm: SigningAlgorithm,
    ) -> StoreResult<()>;
    /// The name the hosted pages show; `None` shows the tenant's name.
    fn set_tenant_display_name(
        &self,
        tenant_id: &str,
        display_name: Option<&str>,
    ) -> StoreResult<()>;
    /// Replaces the tenant's settings document.
    fn set_tenant_settings(&self, tenant_id: &str, settings: &TenantSettings) -> StoreResult<()>;
}

trait UserStore {
    /// Fails with `Conflict(Username | Email)` if either is taken in the
    /// tenant (case-insensitively).
    fn create_user(&self, user: &User) -> StoreResult<()>;
    fn user_by_login(&self, tenant_id: &str, login: &LoginName) -> StoreResult<Option<User>>;
    fn user_by_id(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>>;
    fn list_users(&self, tenant_id: &str) -> StoreResult<Vec<User>>;
    /// Replaces the user's password hash if it is still `old` (an upgrade
    /// from a legacy or cheaper hash at login); `false` if it was not.
    fn update_password_hash(
        &self,
        tenant_id: &str,
        user_id: &str,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> StoreResult<bool>;
    /// Replaces the user's roles; `false` if there was no such user.
    fn set_user_roles(&self, tenant_id: &str, user_id: &str, roles: &[String]) -> StoreResult<bool>;
    /// Deletes the user and their sessions; `false` if there was no such user.
    fn delete_user(&self, tenant_id: &str, user_id: &str) -> StoreResult<bool>;
    /// Replaces what may change of a user: email (and its key), first and
    /// last name, roles, `email_verified`, `disabled`. Never the id,
    /// tenant, username, password hash or creation time. Fails with
    /// `Conflict(Email)` if the email is another user's of the tenant;
    /// `false` if there was no such user.
    fn update_user(&self, user: &User) -> StoreResult<bool>;
    /// One page of the tenant's users in id order (stable while users are
    /// added: a cursor is the last id seen), optionally only those whose
    /// username key or email key starts with `query.prefix`.
    fn list_users_page(&self, tenant_id: &str, query: &UserQuery) -> StoreResult<Vec<User>>;
}

trait LockoutStore {
    /// Claims one password attempt on the user, atomically, before the
    /// password is checked (so no more than `threshold` checks ever run
    /// between locks, however many arrive at once). Refused, changing
    /// nothing, while `locked_until > now`. Otherwise the failure count
    /// goes up by one; when it reaches `threshold` it goes back to zero,
    /// the lock count goes up by one and the user is locked until
    /// `now + lock_secs[min(lock count before, len - 1)]`.
    fn claim_login_attempt(
        &self,
        tenant_id: &str,
        user_id: &str,
        now: UnixTime,
        threshold: i64,
        lock_secs: &[i64],
    ) -> StoreResult<LoginAttempt>;
    /// After a success, a reset or an admin's unlock: no failures, no lock.
    fn clear_login_failures(&self, tenant_id: &str, user_id: &str) -> StoreResult<()>;
    /// Gives back an attempt that was claimed but never checked (the
    /// hashing pool shed it): an `Allowed` count is taken back if the user
    /// is still not locked and has failures; an `Allowed` that locked the
    /// account lifts that lock, if it is still the one it set
    /// (`locked_until` unchanged), leaving `threshold - 1` failures and the
    /// lock count as before. Anything else changes nothing. So load never
    /// locks anyone out.
    fn release_login_attempt(
        &self,
        tenant_id: &str,
        user_id: &str,
        attempt: LoginAttempt,
        threshold: i64,
        now: UnixTime,
    ) -> StoreResult<()>;
}

trait AuditStore {
    /// Appends events (a batch from the audit buffer), atomically.
    fn append_events(&self, events: &[AuditEvent]) -> StoreResult<()>;
    /// The tenant's events matching the query, newest first.
    fn list_events(&self, tenant_id: &str, query: &EventQuery) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes events (of every tenant) older than `before`, at most
    /// `limit` of them per call (pruning never holds a long lock); how many.
    fn prune_events(&self, before: UnixTime, limit: u32) -> StoreResult<u64>;
}

trait AccountTokenStore {
    /// Stores a single-use account link; links that expired before
    /// `prune_before` may be deleted in the same call.
    fn insert_account_token(&self, token: &AccountToken, prune_before: UnixTime) -> StoreResult<()>;
    /// Marks the link of this purpose used if it was unused, atomically,
    /// and says which it was (exactly one of any concurrent callers sees
    /// `Fresh`). Tenant-scoped.
    fn consume_account_token(
        &self,
        tenant_id: &str,
        purpose: TokenPurpose,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<TokenConsumed>;
}

trait KeyStore {
    /// Fails with `Conflict` if the tenant already has a key in the same
    /// `next` or `current` state (at most one of each): the loser of a race
    /// between nodes learns the step was done.
    fn insert_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// All keys of the tenant that are still published (any state).
    fn keys_for_tenant(&self, tenant_id: &str) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Atomically: `current_kid` current → retired, `next_kid` next →
    /// current. `false` (and no change) if either was no longer in that state.
    fn promote_key(
        &self,
        tenant_id: &str,
        next_kid: &str,
        current_kid: &str,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Deletes a key if it is `retired`; `false` if it was not.
    fn remove_retired_key(&self, tenant_id: &str, kid: &str) -> StoreResult<bool>;
    /// Deletes the tenant's `next` key, if any (it never signed).
    fn remove_next_key(&self, tenant_id: &str) -> StoreResult<bool>;
    /// Replaces a key's sealed material if it still is `expected` (rewrap).
    fn replace_key_material(
        &self,
        tenant_id: &str,
        kid: &str,
        expected: &SecretString,
        replacement: &SecretString,
    ) -> StoreResult<bool>;
}

trait SessionStore {
    /// Creates a session and its first refresh token (if it has one),
    /// atomically.
    fn create_session(&self, session: &Session, first: Option<&RefreshRecord>) -> StoreResult<()>;
    fn session(&self, tenant_id: &str, session_id: &str) -> StoreResult<Option<Session>>;
    /// Marks the session revoked; `false` if it did not exist (in this
    /// tenant) or already was.
    fn revoke_session(&self, tenant_id: &str, session_id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Marks the token used if it was unused, in one atomic step, and says
    /// which of the two it was. Concurrent callers with one token: exactly
    /// one sees `Fresh`.
    fn consume_refresh_token(
        &self,
        tenant_id: &str,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Consumed>;
    fn insert_refresh_token(&self, record: &RefreshRecord) -> StoreResult<()>;
    /// The token's record without consuming it (introspection, revocation).
    fn refresh_token(&self, tenant_id: &str, token_hash: &str) -> StoreResult<Option<RefreshRecord>>;
    /// Records a refresh-token rotation of the session (`last_refreshed_at`).
    fn touch_session(&self, tenant_id: &str, session_id: &str, now: UnixTime) -> StoreResult<()>;
    /// The user's sessions that are neither revoked nor expired at `now`,
    /// newest first.
    fn list_user_sessions(&self, tenant_id: &str, user_id: &str, now: UnixTime) -> StoreResult<Vec<Session>>;
    /// Revokes every session of the user but `keep` (the caller's own, on a
    /// password change) and ends every browser sign-in of the user, in one
    /// transaction; the number of sessions revoked.
    fn revoke_user_sessions(
        &self,
        tenant_id: &str,
        user_id: &str,
        keep: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<u64>;
}

    trait ClientStore {
        fn insert_client(&self, client: &ClientRecord) -> StoreResult<()>;
        fn client(&self, tenant_id: &str, client_id: &str) -> StoreResult<Option<ClientRecord>>;
        fn list_clients(&self, tenant_id: &str) -> StoreResult<Vec<ClientRecord>>;
        /// Deletes the client and revokes the sessions issued to it, in one
        /// transaction; `false` if there was no such client.
        fn delete_client(&self, tenant_id: &str, client_id: &str, now: UnixTime) -> StoreResult<bool>;
        /// If the client's secret hash is still `expected`: it becomes the
        /// previous one (valid until `previous_expires_at`) and `new_hash`
        /// the current. `false` (and no change) otherwise.
        fn rotate_client_secret(
            &self,
            tenant_id: &str,
            client_id: &str,
            expected: &str,
            new_hash: &str,
            previous_expires_at: UnixTime,
        ) -> StoreResult<bool>;
    }

    trait AuthorizationStore {
        /// Stores a new code; codes that expired before `prune_before` may
        /// be deleted in the same call, so the table never grows unbounded.
        fn insert_authorization_code(&self, code: &AuthorizationCode, prune_before: UnixTime) -> StoreResult<()>;
        /// Marks the code used if it was unused, atomically, and says which
        /// it was (exactly one of any concurrent callers sees `Fresh`).
        fn consume_authorization_code(&self, tenant_id: &str, code_hash: &str, now: UnixTime) -> StoreResult<CodeConsumed>;
        fn create_browser_session(&self, session: &BrowserSession) -> StoreResult<()>;
        /// The browser sign-in whose cookie hashes to `token_hash`.
        fn browser_session(&self, tenant_id: &str, token_hash: &str) -> StoreResult<Option<BrowserSession>>;
        /// Ends the browser sign-in `id` and revokes every session that
        /// descends from it, in one transaction; `false` if it did not
        /// exist or had already ended.
        fn end_browser_session(&self, tenant_id: &str, id: &str, now: UnixTime) -> StoreResult<bool>;
    }

    trait PolicyStore {
        /// The tenant's route policy as the JSON document it was set with;
        /// `None` if it never was.
        fn policy_document(&self, tenant_id: &str) -> StoreResult<Option<String>>;
        /// Replaces the tenant's policy document, atomically.
        fn put_policy_document(&self, tenant_id: &str, document: &str, now: UnixTime) -> StoreResult<()>;
    }

    trait SecretStore {
        /// Creates the secret or replaces the one of that name, atomically.
        fn put_secret(&self, secret: &TenantSecret) -> StoreResult<()>;
        /// All of the tenant's secrets, sealed, by name.
        fn secrets(&self, tenant_id: &str) -> StoreResult<Vec<TenantSecret>>;
        /// `false` if there was no such secret.
        fn delete_secret(&self, tenant_id: &str, name: &str) -> StoreResult<bool>;
    }

    trait ApiKeyStore {
        fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()>;
        fn api_key(&self, tenant_id: &str, id: &str) -> StoreResult<Option<ApiKeyRecord>>;
        /// The tenant's keys, or only those acting as `user_id`.
        fn list_api_keys(&self, tenant_id: &str, user_id: Option<&str>) -> StoreResult<Vec<ApiKeyRecord>>;
        /// Deletes the key (only if it acts as `user_id`, when given);
        /// `false` if there was no such key.
        fn delete_api_key(&self, tenant_id: &str, id: &str, user_id: Option<&str>) -> StoreResult<bool>;
        /// Records a use (best effort; at most once a minute per key is
        /// the caller's business).
        fn touch_api_key(&self, tenant_id: &str, id: &str, now: UnixTime) -> StoreResult<()>;
    }
}

/// A page of users (`UserStore::list_users_page`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Only users whose id sorts after this one (the cursor).
    pub after: Option<String>,
    /// Only users whose username key or email key (lowercase, see
    /// `crate::user::username_key`) starts with this, matched literally.
    pub prefix: Option<String>,
    /// At most this many (1 to 200; core clamps it).
    pub limit: u32,
}

/// What claiming a password attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// The password may be checked; `locked_until` is set when this
    /// attempt was the one that locked the account (it is still checked,
    /// and a success lifts the lock).
    Allowed { locked_until: Option<UnixTime> },
    /// Locked: the password must not be checked.
    Locked { until: UnixTime },
    /// No such user.
    NoUser,
}

/// A page of audit events (`AuditStore::list_events`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub kind: Option<String>,
    pub subject: Option<String>,
    /// Only events at or after this time.
    pub since: Option<UnixTime>,
    /// Only events older than this event id (the cursor; ids are
    /// time-ordered UUIDv7).
    pub before_id: Option<String>,
    pub limit: u32,
}

/// Everything a Gatehouse node needs from its database.
#[async_trait]
pub trait Store:
    TenantStore
    + UserStore
    + KeyStore
    + SessionStore
    + PolicyStore
    + SecretStore
    + ApiKeyStore
    + ClientStore
    + AuthorizationStore
    + AccountTokenStore
    + LockoutStore
    + AuditStore
{
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}

/// What a [`PassThrough`] asks before each call it forwards.
pub trait Hook: Send + Sync {
    /// Called with the port method's name (`"create_user"`); an error is
    /// returned to the caller instead of calling through.
    fn before(&self, method: &'static str) -> StoreResult<()>;

    /// Called after each call that went through, with how long the inner
    /// store took and its error, if any (metrics time the store here).
    fn after(
        &self,
        method: &'static str,
        elapsed: std::time::Duration,
        error: Option<&StoreError>,
    ) {
        let _ = (method, elapsed, error);
    }
}

/// A store that forwards every port method to `inner`, between
/// [`Hook::before`] and [`Hook::after`]. Generated from the port list by `store_ports!`.
pub struct PassThrough<H> {
    pub inner: std::sync::Arc<dyn Store>,
    pub hook: H,
}

impl<H: Hook> PassThrough<H> {
    pub fn new(inner: std::sync::Arc<dyn Store>, hook: H) -> Self {
        Self { inner, hook }
    }
}

#[async_trait]
impl<H: Hook> Store for PassThrough<H> {
    async fn ping(&self) -> StoreResult<()> {
        self.hook.before("ping")?;
        let started = std::time::Instant::now();
        let result = self.inner.ping().await;
        self.hook
            .after("ping", started.elapsed(), result.as_ref().err());
        result
    }
}
