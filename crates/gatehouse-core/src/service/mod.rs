//! The use cases, one module each. Every adapter (HTTP routes, the CLI,
//! the Lambda entries, the bench) calls these, never the raw store:
//!
//! | module | owns |
//! |---|---|
//! | [`tenants`] | creating, finding and listing tenants |
//! | [`tenant_context`] | the per-node cache of ready-to-serve tenants |
//! | [`signing_keys`] | key generation, rotation, master-key checks and rewrap |
//! | [`accounts`] | registering, importing, listing and deleting users |
//! | [`password_login`] | checking a password (the dummy check, hash upgrades) |
//! | [`sessions`] | login, refresh with rotation, logout, session checks |
//! | [`issue`] | the one place claims are built and tokens signed |
//! | [`gate`] | "may this request pass?": credential → identity → decision |
//! | [`clients`] | registered OAuth clients: CRUD, secret rotation, authentication |
//! | [`grants`] | the token endpoint: client credentials, code exchange, refresh, password |
//! | [`authorize`] | the authorization endpoint: checks, hosted sign-in, codes |
//! | [`introspection`] | RFC 7662 introspection and RFC 7009 revocation |
//! | [`userinfo`] | the OIDC UserInfo endpoint |
//! | [`end_session`] | OIDC RP-initiated logout |
//!
//! Each flow reads and writes only through the [`Store`] port and takes
//! time only from the injected [`Clock`].

pub mod account_links;
pub mod accounts;
pub mod api_keys;
pub mod audit_log;
pub mod authorize;
pub mod basic_auth;
pub mod clients;
pub mod email_verification;
pub mod end_session;
pub mod gate;
pub mod grants;
pub mod introspection;
pub mod issue;
pub mod password_login;
pub mod passwords;
pub mod policies;
pub mod sessions;
pub mod signing_keys;
pub mod tenant_context;
pub mod tenant_secrets;
pub mod tenants;
mod ttl_map;
pub mod user_admin;
pub mod userinfo;
pub mod verified_tokens;

use std::sync::Arc;

use crate::Result;
use crate::clock::{Clock, UnixTime};
use crate::crypto::password::{PasswordHasher, release_thread_memory};
use crate::crypto::pool::{HashingPool, PoolSettings};
use crate::mail::{LogMailer, Mailer};
use crate::rotation::RotationPolicy;
use crate::sealing::MasterKeys;
use crate::session::DEFAULT_SESSION_TTL_SECS;
use crate::store::Store;
use gatehouse_jwt::DEFAULT_LEEWAY_SECS;

pub use tenant_context::{ContextCacheSettings, TenantContext, TenantContexts};

/// The collaborators a node is made of, handed in by the binary or a test:
/// this is where a test swaps the hasher (to count calls) or the clock.
pub struct Parts {
    pub store: Arc<dyn Store>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
    /// Seals and opens private signing keys.
    pub master: Arc<MasterKeys>,
}

/// Tunables of the use cases, from configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Lifetime of one refresh token; each rotation starts a new one, capped
    /// by the session's absolute expiry.
    pub refresh_ttl_secs: i64,
    /// Absolute lifetime of a session.
    pub session_ttl_secs: i64,
    /// Allowed clock skew when checking `exp` / `nbf`.
    pub leeway_secs: i64,
    /// How signing keys age.
    pub rotation: RotationPolicy,
    /// The password-hashing pool's size and patience.
    pub pool: PoolSettings,
    /// How tenant contexts are cached.
    pub contexts: ContextCacheSettings,
    pub api_keys: api_keys::ApiKeyCacheSettings,
    pub basic_cache: basic_auth::BasicCacheSettings,
    /// The client cache and secret-rotation overlap.
    pub clients: clients::ClientSettings,
    /// Code and browser sign-in lifetimes.
    pub authorize: authorize::AuthorizeSettings,
    /// Verification, reset and invitation links.
    pub account_links: account_links::AccountLinkSettings,
    /// The account soft-lock.
    pub lockout: LockoutPolicy,
    /// How many access-token verifications are remembered.
    pub verified_tokens: verified_tokens::VerifiedTokenCacheSettings,
}

/// The account soft-lock (ASVS 2.2.1: at most 100 failed attempts per
/// hour per account): after `threshold` failures in a row the account is
/// locked for `lock_secs[0]`, then each further lock in a row for the next
/// duration, the last one repeating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub threshold: i64,
    pub lock_secs: Vec<i64>,
}

impl LockoutPolicy {
    /// Locks of `first` seconds doubling up to `max`.
    pub fn doubling(threshold: i64, first: i64, max: i64) -> Self {
        let mut lock_secs = Vec::new();
        let mut secs = first.max(1);
        while secs < max && lock_secs.len() < 32 {
            lock_secs.push(secs);
            secs = secs.saturating_mul(2);
        }
        lock_secs.push(max.max(1));
        Self {
            threshold: threshold.max(1),
            lock_secs,
        }
    }
}

impl Default for LockoutPolicy {
    /// 10 failures; 1 minute doubling to 1 hour. Worst case for an account
    /// under attack: 10 guesses, then 10 per lock (1+2+4+8+16+32 minutes,
    /// then one per hour): well under ASVS's 100 an hour.
    fn default() -> Self {
        Self::doubling(10, 60, 3600)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            refresh_ttl_secs: 14 * 24 * 3600,
            session_ttl_secs: DEFAULT_SESSION_TTL_SECS,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            rotation: RotationPolicy::default(),
            pool: PoolSettings::default(),
            contexts: ContextCacheSettings::default(),
            api_keys: api_keys::ApiKeyCacheSettings::default(),
            basic_cache: basic_auth::BasicCacheSettings::default(),
            clients: clients::ClientSettings::default(),
            authorize: authorize::AuthorizeSettings::default(),
            account_links: account_links::AccountLinkSettings::default(),
            lockout: LockoutPolicy::default(),
            verified_tokens: verified_tokens::VerifiedTokenCacheSettings::default(),
        }
    }
}

/// What every use case shares; one per node, behind an `Arc`.
pub(crate) struct Deps {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) hasher: Arc<dyn PasswordHasher>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) master: Arc<MasterKeys>,
    /// Where account mails go (never waited for).
    pub(crate) mailer: Arc<dyn Mailer>,
    /// Where security events go (never waited for).
    pub(crate) audit: audit_log::AuditLog,
    /// Where every password check and hash runs: bounded CPU and memory.
    pub(crate) pool: HashingPool,
    /// Access tokens whose signature this node already checked.
    pub(crate) verified_tokens: verified_tokens::VerifiedTokens,
    pub(crate) settings: Settings,
}

impl Deps {
    pub(crate) fn now(&self) -> UnixTime {
        self.clock.now()
    }
}

/// The use cases of one node, wired to one store. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub tenants: tenants::Tenants,
    pub signing_keys: signing_keys::SigningKeys,
    pub accounts: accounts::Accounts,
    pub password_login: password_login::PasswordLogin,
    pub sessions: sessions::Sessions,
    pub issue: issue::Issuer,
    pub gate: gate::Gate,
    pub api_keys: api_keys::ApiKeys,
    pub secrets: tenant_secrets::TenantSecrets,
    pub policies: policies::Policies,
    pub clients: clients::Clients,
    pub token: grants::TokenEndpoint,
    pub authorize: authorize::Authorize,
    pub introspect: introspection::Introspect,
    pub userinfo: userinfo::UserInfoEndpoint,
    pub end_session: end_session::EndSession,
    pub verifications: email_verification::EmailVerifications,
    pub passwords: passwords::Passwords,
    pub users: user_admin::UserAdmin,
    links: account_links::AccountLinks,
    /// The tenants this node serves, cached.
    pub contexts: Arc<TenantContexts>,
    deps: Arc<Deps>,
}

impl Services {
    /// Wires the use cases; starts the hashing pool's workers.
    /// `public_url` is the base every issuer URL derives from. Mails go to
    /// the log ([`LogMailer`]); a server with SMTP uses [`Services::build`].
    pub fn new(parts: Parts, settings: Settings, public_url: &str) -> Result<Self> {
        Self::build(parts, settings, public_url, Arc::new(LogMailer))
    }

    /// As [`Services::new`], with the mailer the account flows hand their
    /// mails to.
    pub fn build(
        parts: Parts,
        settings: Settings,
        public_url: &str,
        mailer: Arc<dyn Mailer>,
    ) -> Result<Self> {
        crate::crypto::prepared_signers::install();
        let pool = HashingPool::start(settings.pool, release_thread_memory)?;
        let audit = audit_log::AuditLog::start(parts.store.clone(), parts.clock.clone());
        let deps = Arc::new(Deps {
            audit,
            store: parts.store,
            hasher: parts.hasher,
            clock: parts.clock,
            master: parts.master,
            mailer,
            pool,
            verified_tokens: verified_tokens::VerifiedTokens::new(settings.verified_tokens),
            settings,
        });
        let contexts = Arc::new(TenantContexts::new(
            deps.clone(),
            public_url,
            deps.settings.contexts,
        ));
        let issue = issue::Issuer::new(deps.clone());
        let password_login = password_login::PasswordLogin::new(deps.clone());
        let api_keys = api_keys::ApiKeys::new(deps.clone());
        let basic_auth = basic_auth::BasicAuth::new(deps.clone(), password_login.clone())?;
        let clients = clients::Clients::new(deps.clone());
        let sessions = sessions::Sessions::new(deps.clone(), password_login.clone(), issue.clone());
        let links = account_links::AccountLinks::new(deps.clone());
        let verifications =
            email_verification::EmailVerifications::new(deps.clone(), links.clone());
        let accounts = accounts::Accounts::new(deps.clone(), api_keys.clone(), basic_auth.clone());
        Ok(Self {
            tenants: tenants::Tenants::new(deps.clone()),
            signing_keys: signing_keys::SigningKeys::new(deps.clone()),
            passwords: passwords::Passwords::new(
                deps.clone(),
                links.clone(),
                password_login.clone(),
                api_keys.clone(),
                basic_auth.clone(),
            ),
            users: user_admin::UserAdmin::new(
                deps.clone(),
                accounts.clone(),
                links.clone(),
                verifications.clone(),
            ),
            accounts,
            verifications,
            links,
            token: grants::TokenEndpoint::new(
                deps.clone(),
                clients.clone(),
                sessions.clone(),
                issue.clone(),
            ),
            authorize: authorize::Authorize::new(
                deps.clone(),
                clients.clone(),
                password_login.clone(),
            ),
            introspect: introspection::Introspect::new(deps.clone()),
            userinfo: userinfo::UserInfoEndpoint::new(deps.clone()),
            end_session: end_session::EndSession::new(deps.clone(), clients.clone()),
            clients,
            sessions,
            gate: gate::Gate::new(deps.clone(), api_keys.clone(), basic_auth),
            secrets: tenant_secrets::TenantSecrets::new(deps.clone(), contexts.clone()),
            policies: policies::Policies::new(deps.clone(), contexts.clone()),
            api_keys,
            password_login,
            issue,
            contexts,
            deps,
        })
    }

    /// `POST {iss}/register`: see [`accounts::Accounts::sign_up`].
    pub async fn sign_up(
        &self,
        ctx: &TenantContext,
        registration: crate::user::Registration,
    ) -> Result<accounts::SignUp> {
        self.accounts
            .sign_up(ctx, &self.verifications, &self.links, registration)
            .await
    }

    pub fn settings(&self) -> &Settings {
        &self.deps.settings
    }

    /// The audit log (record, flush).
    pub fn audit(&self) -> &audit_log::AuditLog {
        &self.deps.audit
    }

    /// A page of the tenant's audit events.
    pub async fn events(
        &self,
        ctx: &TenantContext,
        query: crate::store::EventQuery,
    ) -> Result<audit_log::EventPage> {
        self.deps
            .audit
            .list(self.deps.store.as_ref(), ctx.tenant(), query)
            .await
    }

    /// Deletes audit events older than the retention (background work).
    pub async fn prune_audit(&self, retention_secs: i64) -> Result<u64> {
        audit_log::prune(
            self.deps.store.as_ref(),
            self.deps.clock.as_ref(),
            retention_secs,
        )
        .await
    }

    /// A cheap round trip to the store, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        Ok(self.deps.store.ping().await?)
    }

    /// The hashing pool, for its counters.
    pub fn hashing_pool(&self) -> &HashingPool {
        &self.deps.pool
    }

    /// Starts computing the dummy hash on the pool (once) and returns at
    /// once: a full-cost argon2id run (about 17 ms and its 19 MiB) is most
    /// of a node's start-up, and nothing but a password check needs it.
    /// Password checks wait for it, known user or not (see
    /// `password_login`), so the timing rule holds from the first request.
    pub fn warm_up(&self) {
        let deps = self.deps.clone();
        tokio::spawn(async move {
            let hasher = deps.hasher.clone();
            let warmed = deps
                .pool
                .run(move || {
                    hasher.dummy_hash();
                })
                .await;
            if let Err(e) = warmed {
                // The first password check computes it instead.
                tracing::warn!(error = %e, "the password-hash warm-up did not run");
            }
        });
    }

    pub fn now(&self) -> UnixTime {
        self.deps.now()
    }
}

/// Runs rare CPU-heavy work (RSA key generation at a rotation) off the
/// async workers. Password work goes to the bounded pool instead.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::Error::Internal(format!("blocking task failed: {e}")))
}
