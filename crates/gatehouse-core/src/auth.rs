//! The decisions of Gatehouse: create tenants, register users, log them in,
//! refresh and end sessions. Each flow reads and writes only through the
//! [`Store`] port and takes time only from the injected [`Clock`].

use std::sync::Arc;

use gatehouse_jwt::{DEFAULT_LEEWAY_SECS, verify_access_token};
use secrecy::{ExposeSecret, SecretString};

use crate::algorithm::SigningAlgorithm;
use crate::clock::{Clock, UnixTime};
use crate::crypto::password::release_thread_memory;
use crate::crypto::pool::{HashingPool, PoolSettings};
use crate::id::{new_id, random_token};
use crate::keyring::TenantKeyring;
use crate::keys::{KeyState, SigningKeyRecord};
use crate::legacy_hash;
use crate::password::{PasswordHash, PasswordHasher, validate_password};
use crate::refresh::{self, Consumed};
use crate::rotation::{self, KeyAction, RotationPolicy};
use crate::sealing::MasterKeys;
use crate::session::{DEFAULT_SESSION_TTL_SECS, Session};
use crate::store::{Store, StoreError, UniqueField};
use crate::tenant::{DEFAULT_ACCESS_TTL_SECS, Tenant, TenantName, TenantSpec, issuer_url};
use crate::token::{AccessClaims, Audience, TokenResponse, is_valid_scope};
use crate::user::{self, ImportedUser, LoginName, Registration, User};
use crate::{Error, Result, TokenUnusable};

/// The `client_id` of tokens from the first-party `/login` and password
/// grant, until OAuth clients are registered per tenant.
pub const FIRST_PARTY_CLIENT: &str = "gatehouse";

/// Scope granted when a login asks for none.
pub const DEFAULT_SCOPE: &str = "openid profile email";

/// Tunables of the flows, from configuration.
#[derive(Debug, Clone)]
pub struct AuthSettings {
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
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            refresh_ttl_secs: 14 * 24 * 3600,
            session_ttl_secs: DEFAULT_SESSION_TTL_SECS,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            rotation: RotationPolicy::default(),
            pool: PoolSettings::default(),
        }
    }
}

/// The flows, with their collaborators. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct Auth {
    store: Arc<dyn Store>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    /// Seals new private keys and opens stored ones.
    master: Arc<MasterKeys>,
    /// Where every password check and hash runs: bounded CPU and memory.
    pool: Arc<HashingPool>,
    settings: AuthSettings,
}

impl Auth {
    pub fn new(
        store: Arc<dyn Store>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
        master: Arc<MasterKeys>,
        settings: AuthSettings,
    ) -> Result<Self> {
        let pool = Arc::new(HashingPool::start(settings.pool, release_thread_memory)?);
        Ok(Self {
            store,
            hasher,
            clock,
            master,
            pool,
            settings,
        })
    }

    /// The hashing pool, for its counters.
    pub fn hashing_pool(&self) -> &HashingPool {
        &self.pool
    }

    /// Computes the dummy hash on the pool (once), so the first unknown-user
    /// login does not pay for it and the timing rule holds from the start.
    pub async fn warm_up(&self) -> Result<()> {
        let hasher = self.hasher.clone();
        self.pool
            .run(move || {
                hasher.dummy_hash();
            })
            .await
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    // ---- tenants -------------------------------------------------------

    pub async fn create_tenant(&self, name: &str, spec: TenantSpec) -> Result<Tenant> {
        let name = TenantName::parse(name)?;
        spec.validate()?;
        let now = self.clock.now();
        let tenant = Tenant {
            id: new_id(),
            name,
            algorithm: spec.algorithm.unwrap_or_default(),
            access_ttl_secs: spec.access_ttl_secs.unwrap_or(DEFAULT_ACCESS_TTL_SECS),
            audiences: spec.audiences,
            created_at: now,
        };
        let algorithm = tenant.algorithm;
        let tenant_id = tenant.id.clone();
        let key = self
            .generate_key(&tenant_id, algorithm, KeyState::Current, now)
            .await?;
        self.store.create_tenant(&tenant, &key).await?;
        tracing::info!(tenant = %tenant.name, algorithm = %tenant.algorithm, kid = %key.kid, "tenant created");
        Ok(tenant)
    }

    /// Creates the tenant with default settings unless it exists; safe when
    /// several nodes start at once (the loser of the race reads the winner's).
    pub async fn ensure_tenant(&self, name: &str) -> Result<Tenant> {
        if let Some(t) = self.store.tenant_by_name(name).await? {
            return Ok(t);
        }
        match self.create_tenant(name, TenantSpec::default()).await {
            Err(Error::Conflict(_)) => {
                self.store.tenant_by_name(name).await?.ok_or_else(|| {
                    Error::Internal(format!("tenant {name} vanished after conflict"))
                })
            }
            other => other,
        }
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        Ok(self.store.list_tenants().await?)
    }

    /// Loads a tenant and its keys, ready to sign and verify.
    pub async fn load_keyring(&self, name: &str, public_url: &str) -> Result<TenantKeyring> {
        let tenant = self.tenant(name).await?;
        let records = self.store.keys_for_tenant(&tenant.id).await?;
        let issuer = issuer_url(public_url, &tenant.name);
        // Loading parses PEM and derives public keys: CPU work, but short.
        TenantKeyring::new(tenant, issuer, &records, &self.master)
    }

    // ---- signing keys --------------------------------------------------

    /// RSA key generation takes tens of milliseconds: off the async threads.
    async fn generate_key(
        &self,
        tenant_id: &str,
        algorithm: SigningAlgorithm,
        state: KeyState,
        now: UnixTime,
    ) -> Result<SigningKeyRecord> {
        let master = self.master.clone();
        let tenant_id = tenant_id.to_string();
        blocking(move || SigningKeyRecord::generate(&tenant_id, algorithm, state, now, &master))
            .await?
    }

    async fn tenant(&self, name: &str) -> Result<Tenant> {
        // A name no tenant can have (raw path text: a NUL, a slash) is not looked up.
        TenantName::parse(name).map_err(|_| Error::TenantNotFound(name.to_string()))?;
        self.store
            .tenant_by_name(name)
            .await?
            .ok_or_else(|| Error::TenantNotFound(name.to_string()))
    }

    /// Applies whatever key steps are due for one tenant (see
    /// [`crate::rotation`]); returns whether anything changed. Safe to run
    /// on every node at once: each step is a conditional write and the
    /// losers of a race find it done.
    pub async fn maintain_keys(&self, tenant: &Tenant) -> Result<bool> {
        let now = self.clock.now();
        let keys = self.store.keys_for_tenant(&tenant.id).await?;
        let mut changed = false;
        for action in rotation::plan(tenant, &keys, &self.settings.rotation, now) {
            let done = match &action {
                KeyAction::CreateNext => {
                    let key = self
                        .generate_key(&tenant.id, tenant.algorithm, KeyState::Next, now)
                        .await?;
                    match self.store.insert_key(&key).await {
                        Ok(()) => true,
                        Err(StoreError::Conflict(_)) => false,
                        Err(e) => return Err(e.into()),
                    }
                }
                KeyAction::Promote {
                    next_kid,
                    current_kid,
                } => {
                    self.store
                        .promote_key(&tenant.id, next_kid, current_kid, now)
                        .await?
                }
                KeyAction::Remove { kid } => self.store.remove_retired_key(&tenant.id, kid).await?,
            };
            if done {
                tracing::info!(tenant = %tenant.name, ?action, "signing key step applied");
            }
            changed |= done;
        }
        Ok(changed)
    }

    /// Key maintenance for every tenant; returns the names of the tenants
    /// whose keys changed. One tenant's failure does not stop the others.
    pub async fn maintain_all_keys(&self) -> Result<Vec<String>> {
        let mut changed = Vec::new();
        for tenant in self.store.list_tenants().await? {
            match self.maintain_keys(&tenant).await {
                Ok(true) => changed.push(tenant.name.to_string()),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(tenant = %tenant.name, error = %e, "key maintenance failed")
                }
            }
        }
        Ok(changed)
    }

    /// Starts a rotation now: publishes a successor (of `algorithm`, which
    /// becomes the tenant's algorithm, if given). It signs after the
    /// pre-publication window, or at once with `immediately` (for a
    /// compromised key: verifiers with a cached JWKS will reject new tokens
    /// until their cache expires).
    pub async fn rotate_key(
        &self,
        tenant_name: &str,
        algorithm: Option<SigningAlgorithm>,
        immediately: bool,
    ) -> Result<SigningKeyRecord> {
        let mut tenant = self.tenant(tenant_name).await?;
        if let Some(alg) = algorithm
            && alg != tenant.algorithm
        {
            self.store.set_tenant_algorithm(&tenant.id, alg).await?;
            tenant.algorithm = alg;
        }
        // A pending successor never signed, so replacing it is harmless.
        self.store.remove_next_key(&tenant.id).await?;
        let now = self.clock.now();
        let next = self
            .generate_key(&tenant.id, tenant.algorithm, KeyState::Next, now)
            .await?;
        self.store.insert_key(&next).await?;
        if immediately {
            let keys = self.store.keys_for_tenant(&tenant.id).await?;
            let current = keys
                .iter()
                .find(|k| k.state == KeyState::Current)
                .ok_or_else(|| {
                    Error::Internal(format!("tenant {tenant_name} has no current key"))
                })?;
            if !self
                .store
                .promote_key(&tenant.id, &next.kid, &current.kid, now)
                .await?
            {
                return Err(Error::Conflict(
                    "another rotation ran at the same time; try again".into(),
                ));
            }
        }
        tracing::info!(tenant = %tenant.name, kid = %next.kid, algorithm = %tenant.algorithm, immediately, "key rotation started");
        Ok(next)
    }

    pub async fn list_keys(&self, tenant_name: &str) -> Result<Vec<SigningKeyRecord>> {
        let tenant = self.tenant(tenant_name).await?;
        Ok(self.store.keys_for_tenant(&tenant.id).await?)
    }

    /// Opens every stored key with the configured master keys. Run at
    /// start, before anything is written, so a wrong master key stops the
    /// node with a clear message and changes nothing.
    pub async fn check_master_keys(&self) -> Result<usize> {
        let mut opened = 0;
        for tenant in self.store.list_tenants().await? {
            for key in self.store.keys_for_tenant(&tenant.id).await? {
                key.open(&self.master).map_err(|e| match e {
                    Error::MasterKey(m) => Error::MasterKey(format!(
                        "{m}; the node will not start (check GATEHOUSE_MASTER_KEY or the key file)"
                    )),
                    other => other,
                })?;
                opened += 1;
            }
        }
        Ok(opened)
    }

    /// Seals every key with the primary master key (after a master-key
    /// rotation), or with `only_unsealed`, just keys stored in the clear by
    /// an older version. Returns how many were rewritten.
    pub async fn rewrap_keys(&self, only_unsealed: bool) -> Result<usize> {
        self.check_master_keys().await?;
        let mut rewritten = 0;
        for tenant in self.store.list_tenants().await? {
            for key in self.store.keys_for_tenant(&tenant.id).await? {
                if only_unsealed && MasterKeys::is_sealed(key.private_material.expose_secret()) {
                    continue;
                }
                if let Some(sealed) = key.resealed(&self.master)?
                    && self
                        .store
                        .replace_key_material(&key.kid, &key.private_material, &sealed)
                        .await?
                {
                    rewritten += 1;
                }
            }
        }
        Ok(rewritten)
    }

    // ---- users ---------------------------------------------------------

    pub async fn register(&self, tenant: &Tenant, reg: Registration) -> Result<User> {
        let (username, email, first_name, last_name) =
            user::validate_profile(&reg.username, reg.email, reg.first_name, reg.last_name)?;
        validate_password(&reg.password)?;

        let hasher = self.hasher.clone();
        let password = reg.password;
        let password_hash = self.pool.run(move || hasher.hash(&password)).await??;
        let user = User {
            id: new_id(),
            tenant_id: tenant.id.clone(),
            username,
            email,
            first_name,
            last_name,
            roles: Vec::new(),
            password_hash,
            created_at: self.clock.now(),
        };
        self.store.create_user(&user).await?;
        tracing::info!(tenant = %tenant.name, user_id = %user.id, "user registered");
        Ok(user)
    }

    /// Adds a user moved over from another system, keeping their password
    /// hash (see [`legacy_hash`]) and, if given, their old id (so `sub`
    /// stays what downstream services know). Rerunning an import is safe: a
    /// user whose username is already present is left as it is.
    pub async fn import_user(&self, tenant: &Tenant, import: ImportedUser) -> Result<Imported> {
        let (username, email, first_name, last_name) = user::validate_profile(
            &import.username,
            import.email,
            import.first_name,
            import.last_name,
        )?;
        let id = match user::non_empty(import.id) {
            Some(id) => {
                user::validate_user_id(&id)?;
                id
            }
            None => new_id(),
        };
        let kind = legacy_hash::classify(&import.password_hash)
            .map_err(|m| Error::invalid("password_hash", m))?;
        let login = LoginName::Username(username.clone());
        if self
            .store
            .user_by_login(&tenant.id, &login)
            .await?
            .is_some()
        {
            return Ok(Imported::AlreadyPresent);
        }
        let user = User {
            id,
            tenant_id: tenant.id.clone(),
            username,
            email,
            first_name,
            last_name,
            roles: import.roles,
            password_hash: PasswordHash(import.password_hash),
            created_at: self.clock.now(),
        };
        match self.store.create_user(&user).await {
            Ok(()) => Ok(Imported::Created(kind)),
            // Lost a race with a concurrent import of the same name.
            Err(StoreError::Conflict(UniqueField::Username)) => Ok(Imported::AlreadyPresent),
            Err(StoreError::Conflict(UniqueField::Other)) => Err(Error::Conflict(
                "the id is already taken by another user".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list_users(&self, tenant: &Tenant) -> Result<Vec<User>> {
        Ok(self.store.list_users(&tenant.id).await?)
    }

    pub async fn delete_user(&self, tenant: &Tenant, user_id: &str) -> Result<()> {
        if self.store.delete_user(&tenant.id, user_id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("the user"))
        }
    }

    /// Checks a password. Exactly one hash verification runs whether or not
    /// the user exists (against a dummy hash when not), so neither the
    /// answer nor its timing tells an attacker which usernames exist.
    ///
    /// A legacy hash (imported from the system Gatehouse replaced) or an
    /// argon2 hash under other parameters is replaced by a fresh argon2id
    /// hash once the password has matched: the only moment the password is
    /// known. An imported user's first login therefore costs one extra hash.
    /// A legacy check also runs the dummy argon2 verification, so it is
    /// never cheaper than the answer for an unknown user (slower legacy
    /// hashes, such as bcrypt at cost 12, can still be told apart by time
    /// until their first login upgrades them).
    pub async fn authenticate(
        &self,
        tenant: &Tenant,
        login: &LoginName,
        password: SecretString,
    ) -> Result<User> {
        // A name no user can have is an unknown user's, without a lookup.
        let user = match login.lookup_key() {
            Some(_) => self.store.user_by_login(&tenant.id, login).await?,
            None => None,
        };
        let stored: Option<PasswordHash> = user.as_ref().map(|u| u.password_hash.clone());
        let hasher = self.hasher.clone();
        let (matches, upgraded) = self
            .pool
            .run(move || {
                // The dummy is read here, on the worker: the first call hashes.
                let hash = stored.as_ref().unwrap_or_else(|| hasher.dummy_hash());
                let (matches, stale) = if legacy_hash::is_legacy(&hash.0) {
                    // An unsalted SHA-256 check takes microseconds; without the
                    // dummy argon2 run beside it, a quick "no" would tell that an
                    // imported user of that name exists.
                    let _ = hasher.verify(&password, hasher.dummy_hash());
                    (legacy_hash::verify(&password, &hash.0), true)
                } else {
                    let ok = hasher.verify(&password, hash);
                    (ok, ok && hasher.needs_rehash(hash))
                };
                let upgraded = (matches && stale).then(|| hasher.hash(&password));
                (matches, upgraded)
            })
            .await?;
        let mut user = match user {
            Some(u) if matches => u,
            _ => return Err(Error::InvalidCredentials),
        };
        if let Some(new_hash) = upgraded {
            self.upgrade_hash(tenant, &mut user, new_hash?).await;
        }
        Ok(user)
    }

    /// Stores an upgraded hash. A failure is logged, not returned: the
    /// login itself succeeded, and the next one tries again.
    async fn upgrade_hash(&self, tenant: &Tenant, user: &mut User, new: PasswordHash) {
        // Conditional on the hash this login verified (the one `user` holds).
        match self
            .store
            .update_password_hash(&tenant.id, &user.id, &user.password_hash, &new)
            .await
        {
            Ok(true) => {
                tracing::info!(tenant = %tenant.name, user_id = %user.id, "password hash upgraded to argon2id");
                user.password_hash = new;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(tenant = %tenant.name, user_id = %user.id, error = %e, "password hash upgrade failed; will retry at next login")
            }
        }
    }

    // ---- sessions and tokens -------------------------------------------

    /// Password login: a new session, an access token and a refresh token.
    pub async fn login(
        &self,
        keyring: &TenantKeyring,
        login: &LoginName,
        password: SecretString,
        scope: Option<&str>,
    ) -> Result<TokenResponse> {
        let scope = match scope {
            Some(s) if !is_valid_scope(s) => {
                return Err(Error::invalid(
                    "scope",
                    "the scope is not a valid list of scope tokens",
                ));
            }
            Some(s) => s.to_string(),
            None => DEFAULT_SCOPE.to_string(),
        };
        let user = self.authenticate(&keyring.tenant, login, password).await?;
        let now = self.clock.now();
        let session = Session {
            id: new_id(),
            tenant_id: keyring.tenant.id.clone(),
            user_id: user.id.clone(),
            client_id: FIRST_PARTY_CLIENT.to_string(),
            scope,
            created_at: now,
            expires_at: now + self.settings.session_ttl_secs,
            revoked_at: None,
        };
        let refresh = refresh::mint(
            &keyring.tenant.id,
            &session.id,
            now,
            self.refresh_expiry(&session, now),
        )?;
        self.store.create_session(&session, &refresh.record).await?;
        self.token_response(keyring, &user, &session, refresh.token, now)
    }

    /// RFC 6749 §6 with rotation: the presented token is consumed and a new
    /// one issued. Presenting a consumed token revokes the whole session
    /// (RFC 9700 §4.14.2), because either the client or a thief holds a
    /// copy and we cannot tell which.
    pub async fn refresh(
        &self,
        keyring: &TenantKeyring,
        token: &SecretString,
    ) -> Result<TokenResponse> {
        let now = self.clock.now();
        let hash = refresh::hash(token);
        let record = match self
            .store
            .consume_refresh_token(&keyring.tenant.id, &hash, now)
            .await?
        {
            Consumed::NotFound => {
                return Err(Error::InvalidGrant("the refresh token is not valid".into()));
            }
            Consumed::AlreadyUsed(record) => {
                self.store.revoke_session(&record.session_id, now).await?;
                tracing::warn!(
                    tenant = %keyring.tenant.name,
                    session_id = %record.session_id,
                    "refresh token reused; session revoked"
                );
                return Err(Error::InvalidGrant(
                    "the refresh token was already used; its session has been revoked".into(),
                ));
            }
            Consumed::Fresh(record) => record,
        };
        if now >= record.expires_at {
            return Err(Error::InvalidGrant("the refresh token has expired".into()));
        }
        let session = self
            .store
            .session(&record.session_id)
            .await?
            .filter(|s| s.is_active(now))
            .ok_or_else(|| Error::InvalidGrant("the session has ended".into()))?;
        let user = self
            .store
            .user_by_id(&keyring.tenant.id, &session.user_id)
            .await?
            .ok_or_else(|| Error::InvalidGrant("the user no longer exists".into()))?;
        let next = refresh::mint(
            &keyring.tenant.id,
            &session.id,
            now,
            self.refresh_expiry(&session, now),
        )?;
        self.store.insert_refresh_token(&next.record).await?;
        self.token_response(keyring, &user, &session, next.token, now)
    }

    /// Ends the session named by a verified access token's `sid`.
    pub async fn logout_session(&self, session_id: &str) -> Result<()> {
        self.store
            .revoke_session(session_id, self.clock.now())
            .await?;
        Ok(())
    }

    /// Ends the session a refresh token belongs to (RFC 7009 spirit: an
    /// unknown token is not an error worth telling the caller about).
    pub async fn logout_refresh(
        &self,
        keyring: &TenantKeyring,
        token: &SecretString,
    ) -> Result<bool> {
        let now = self.clock.now();
        let hash = refresh::hash(token);
        match self
            .store
            .consume_refresh_token(&keyring.tenant.id, &hash, now)
            .await?
        {
            Consumed::Fresh(r) | Consumed::AlreadyUsed(r) => {
                self.store.revoke_session(&r.session_id, now).await?;
                Ok(true)
            }
            Consumed::NotFound => Ok(false),
        }
    }

    /// Whether a session is still active: the store read behind
    /// `/auth?session=check`.
    pub async fn session_active(&self, tenant: &Tenant, session_id: &str) -> Result<bool> {
        let now = self.clock.now();
        Ok(self
            .store
            .session(session_id)
            .await?
            .is_some_and(|s| s.tenant_id == tenant.id && s.is_active(now)))
    }

    /// Offline verification (`gatehouse-jwt`, over the keyring's public
    /// key set) with this instance's clock and leeway.
    pub fn verify(&self, keyring: &TenantKeyring, token: &str) -> Result<AccessClaims> {
        let (now, leeway) = (self.clock.now(), self.settings.leeway_secs);
        Ok(verify_access_token(keyring.key_set(), token, now, leeway)?)
    }

    fn refresh_expiry(&self, session: &Session, now: UnixTime) -> UnixTime {
        (now + self.settings.refresh_ttl_secs).min(session.expires_at)
    }

    fn token_response(
        &self,
        keyring: &TenantKeyring,
        user: &User,
        session: &Session,
        refresh_token: SecretString,
        now: UnixTime,
    ) -> Result<TokenResponse> {
        let ttl = keyring.tenant.access_ttl_secs;
        let claims = self.claims_for(keyring, user, Some(session), now, now + ttl)?;
        Ok(TokenResponse {
            access_token: SecretString::from(keyring.sign(&claims)?),
            expires_in: ttl,
            refresh_token,
            scope: session.scope.clone(),
        })
    }

    /// The claims of an access token for `user`, valid from `iat` to `exp`.
    fn claims_for(
        &self,
        keyring: &TenantKeyring,
        user: &User,
        session: Option<&Session>,
        iat: UnixTime,
        exp: UnixTime,
    ) -> Result<AccessClaims> {
        Ok(AccessClaims {
            iss: keyring.issuer.clone(),
            sub: user.id.clone(),
            aud: Audience::from_list(keyring.audiences()),
            exp,
            iat,
            nbf: iat,
            jti: random_token::<16>()?,
            client_id: session.map_or(FIRST_PARTY_CLIENT.to_string(), |s| s.client_id.clone()),
            sid: session.map(|s| s.id.clone()),
            scope: session.map_or(DEFAULT_SCOPE.to_string(), |s| s.scope.clone()),
            preferred_username: Some(user.username.clone()),
            email: user.email.clone(),
            given_name: user.first_name.clone(),
            family_name: user.last_name.clone(),
            roles: user.roles.clone(),
        })
    }

    // ---- compatibility formats -----------------------------------------

    /// Claims for the replaced systems' token formats (OpenFaaS functions,
    /// knock): a token with no session and no refresh token, living `ttl`
    /// seconds, with `iat`/`nbf` moved `backdate` seconds into the past as
    /// the OpenFaaS functions did for clock skew. The caller adds its
    /// format's own claims and signs with [`TenantKeyring::sign`]. These
    /// are ordinary access tokens too: `/auth` accepts them.
    pub fn stateless_claims(
        &self,
        keyring: &TenantKeyring,
        user: &User,
        ttl: i64,
        backdate: i64,
    ) -> Result<AccessClaims> {
        let now = self.clock.now();
        self.claims_for(keyring, user, None, now - backdate, now + ttl)
    }

    /// A fresh access token for the session of a still-valid one (the
    /// domain service's `GET /refresh`). The session must be active and
    /// the user must still exist; the token's lifetime is the tenant's.
    pub async fn reissue_access_token(
        &self,
        keyring: &TenantKeyring,
        token: &str,
    ) -> Result<(SecretString, i64)> {
        let claims = self.verify(keyring, token)?;
        let sid = claims.sid.ok_or(TokenUnusable::NoSession)?;
        let now = self.clock.now();
        let session = self
            .store
            .session(&sid)
            .await?
            .filter(|s| s.tenant_id == keyring.tenant.id && s.is_active(now))
            .ok_or(TokenUnusable::SessionEnded)?;
        let user = self
            .store
            .user_by_id(&keyring.tenant.id, &session.user_id)
            .await?
            .ok_or(TokenUnusable::UserGone)?;
        let ttl = keyring.tenant.access_ttl_secs;
        let claims = self.claims_for(keyring, &user, Some(&session), now, now + ttl)?;
        Ok((SecretString::from(keyring.sign(&claims)?), ttl))
    }
}

/// What [`Auth::import_user`] did with one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// Written, with a hash of this kind.
    Created(legacy_hash::HashKind),
    /// A user of that username was already there; nothing was written.
    AlreadyPresent,
}

/// Runs rare CPU-heavy work (RSA key generation at a rotation) off the
/// async workers. Password work goes to the bounded pool instead.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("blocking task failed: {e}")))
}
