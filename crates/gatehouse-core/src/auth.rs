//! The decisions of Gatehouse: create tenants, register users, log them in,
//! refresh and end sessions. Each flow reads and writes only through the
//! [`Store`] port and takes time only from the injected [`Clock`].

use std::sync::Arc;

use secrecy::SecretString;

use crate::clock::{Clock, UnixTime};
use crate::id::{new_id, random_token};
use crate::keyring::TenantKeyring;
use crate::keys::{KeyState, SigningKeyRecord};
use crate::password::{PasswordHash, PasswordHasher, validate_password};
use crate::refresh::{self, Consumed};
use crate::session::{DEFAULT_SESSION_TTL_SECS, Session};
use crate::store::Store;
use crate::tenant::{DEFAULT_ACCESS_TTL_SECS, Tenant, TenantName, TenantSpec, issuer_url};
use crate::token::{AccessClaims, Audience, TokenResponse, is_valid_scope};
use crate::user::{self, LoginName, Registration, User};
use crate::verify::{DEFAULT_LEEWAY_SECS, verify_access_token};
use crate::{Error, Result};

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
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            refresh_ttl_secs: 14 * 24 * 3600,
            session_ttl_secs: DEFAULT_SESSION_TTL_SECS,
            leeway_secs: DEFAULT_LEEWAY_SECS,
        }
    }
}

/// The flows, with their collaborators. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct Auth {
    store: Arc<dyn Store>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    settings: AuthSettings,
}

impl Auth {
    pub fn new(
        store: Arc<dyn Store>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
        settings: AuthSettings,
    ) -> Self {
        Self {
            store,
            hasher,
            clock,
            settings,
        }
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
        // RSA key generation takes tens of milliseconds: off the async threads.
        let key = blocking(move || {
            SigningKeyRecord::generate(&tenant_id, algorithm, KeyState::Current, now)
        })
        .await??;
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
        let tenant = self
            .store
            .tenant_by_name(name)
            .await?
            .ok_or_else(|| Error::TenantNotFound(name.to_string()))?;
        let records = self.store.keys_for_tenant(&tenant.id).await?;
        let issuer = issuer_url(public_url, &tenant.name);
        // Loading parses PEM and derives public keys: CPU work, but short.
        TenantKeyring::new(tenant, issuer, &records)
    }

    // ---- users ---------------------------------------------------------

    pub async fn register(&self, tenant: &Tenant, reg: Registration) -> Result<User> {
        user::validate_username(&reg.username)?;
        let email = user::non_empty(reg.email);
        if let Some(email) = &email {
            user::validate_email(email)?;
        }
        let first_name = user::non_empty(reg.first_name);
        let last_name = user::non_empty(reg.last_name);
        for (field, value) in [("first_name", &first_name), ("last_name", &last_name)] {
            if let Some(v) = value {
                user::validate_name(field, v)?;
            }
        }
        validate_password(&reg.password)?;

        let hasher = self.hasher.clone();
        let password = reg.password;
        let password_hash = blocking(move || hasher.hash(&password)).await??;
        let user = User {
            id: new_id(),
            tenant_id: tenant.id.clone(),
            username: reg.username,
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
    pub async fn authenticate(
        &self,
        tenant: &Tenant,
        login: &LoginName,
        password: SecretString,
    ) -> Result<User> {
        let user = self.store.user_by_login(&tenant.id, login).await?;
        let hash: PasswordHash = match &user {
            Some(u) => u.password_hash.clone(),
            None => self.hasher.dummy_hash().clone(),
        };
        let hasher = self.hasher.clone();
        let matches = blocking(move || hasher.verify(&password, &hash)).await?;
        match user {
            Some(u) if matches => Ok(u),
            _ => Err(Error::InvalidCredentials),
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

    /// Offline verification with this instance's clock and leeway.
    pub fn verify(&self, keyring: &TenantKeyring, token: &str) -> Result<AccessClaims> {
        verify_access_token(keyring, token, self.clock.now(), self.settings.leeway_secs)
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
        let claims = AccessClaims {
            iss: keyring.issuer.clone(),
            sub: user.id.clone(),
            aud: Audience::from_list(keyring.audiences()),
            exp: now + ttl,
            iat: now,
            nbf: now,
            jti: random_token::<16>()?,
            client_id: session.client_id.clone(),
            sid: Some(session.id.clone()),
            scope: session.scope.clone(),
            preferred_username: Some(user.username.clone()),
            email: user.email.clone(),
            given_name: user.first_name.clone(),
            family_name: user.last_name.clone(),
            roles: user.roles.clone(),
        };
        Ok(TokenResponse {
            access_token: SecretString::from(keyring.sign(&claims)?),
            expires_in: ttl,
            refresh_token,
            scope: session.scope.clone(),
        })
    }
}

/// Runs CPU-heavy work (argon2, RSA key generation) off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("blocking task failed: {e}")))
}
