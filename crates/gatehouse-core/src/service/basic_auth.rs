//! Basic credentials (RFC 7617) against the tenant's users, through the
//! same password check as login (the bounded hashing pool).
//!
//! A function called 100 times a second with the same Basic credentials
//! must not run argon2 100 times, so a success is remembered for `ttl`
//! (default 10 s; 0 turns it off), keyed by an HMAC of tenant, username
//! and password under a key made at start and never stored: the cache
//! holds no password and no unkeyed hash of one. Deleting the user (or,
//! later, changing their password) drops their entries on this node; on
//! other nodes they end within `ttl`. Failures are never cached, so every
//! wrong guess costs a full hash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::hmac;
use secrecy::{ExposeSecret, SecretString};

use super::api_keys::Principal;
use super::password_login::PasswordLogin;
use super::ttl_map::TtlMap;
use super::{Deps, TenantContext};
use crate::id::random_bytes;
use crate::user::LoginName;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy)]
pub struct BasicCacheSettings {
    pub ttl: Duration,
    pub max_entries: usize,
}

impl Default for BasicCacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            max_entries: 10_000,
        }
    }
}

struct Cached {
    tenant_id: String,
    user: Principal,
}

type Checking = Mutex<HashMap<Vec<u8>, Arc<tokio::sync::Mutex<()>>>>;

fn lock(
    checking: &Checking,
) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Arc<tokio::sync::Mutex<()>>>> {
    // A panic elsewhere cannot leave the map inconsistent: use it anyway.
    checking.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes a credential's turn from [`BasicAuth::checking`] when dropped.
struct Done<'a> {
    checking: &'a Checking,
    slot: &'a [u8],
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        lock(self.checking).remove(self.slot);
    }
}

#[derive(Clone)]
pub struct BasicAuth {
    login: PasswordLogin,
    key: Arc<hmac::Key>,
    /// By the keyed hash of (tenant, username, password).
    cache: Arc<TtlMap<Vec<u8>, Cached>>,
    /// One password check at a time per credential: when a cached success
    /// expires under load, the concurrent requests with the same
    /// credentials wait for one check to refill the entry instead of each
    /// queueing its own argon2 run (which overflowed the hashing pool into
    /// 503s at every expiry, bench/README.md). Entries live only while a
    /// check runs, so there are at most as many as requests in flight.
    checking: Arc<Checking>,
}

impl BasicAuth {
    pub(crate) fn new(deps: Arc<Deps>, login: PasswordLogin) -> Result<Self> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &random_bytes::<32>()?);
        let settings = deps.settings.basic_cache;
        Ok(Self {
            login,
            key: Arc::new(key),
            cache: Arc::new(TtlMap::new(settings.ttl, settings.max_entries)),
            checking: Arc::default(),
        })
    }

    /// The user, if `username` and `password` are theirs. `username` may
    /// also be an email (it holds an `@`).
    pub(crate) async fn check(
        &self,
        ctx: &TenantContext,
        username: &str,
        password: SecretString,
    ) -> Result<Option<Principal>> {
        let tenant = ctx.tenant();
        let slot = self.slot(&tenant.id, username, &password);
        if let Some(user) = self.cache.with_fresh(&slot, |c| c.user.clone()) {
            return Ok(Some(user));
        }
        let turn = {
            let mut checking = lock(&self.checking);
            Arc::clone(checking.entry(slot.clone()).or_default())
        };
        // The entry goes when this check ends, even if its request is
        // dropped half-way (a client that hung up).
        let _done = Done {
            checking: &self.checking,
            slot: &slot,
        };
        let _turn = turn.lock().await;
        // Whoever checked before us may have filled the entry.
        if let Some(user) = self.cache.with_fresh(&slot, |c| c.user.clone()) {
            return Ok(Some(user));
        }
        self.check_password(ctx, username, password, &slot).await
    }

    async fn check_password(
        &self,
        ctx: &TenantContext,
        username: &str,
        password: SecretString,
        slot: &[u8],
    ) -> Result<Option<Principal>> {
        let tenant = ctx.tenant();
        let login = if username.contains('@') {
            LoginName::Email(username.to_string())
        } else {
            LoginName::Username(username.to_string())
        };
        let user = match self.login.authenticate(tenant, &login, password).await {
            Ok(user) => Principal::from(&user),
            // Refused credentials, whatever the reason: a challenge.
            Err(
                Error::InvalidCredentials
                | Error::AccountLocked { .. }
                | Error::AccountDisabled
                | Error::EmailNotVerified { .. },
            ) => return Ok(None),
            Err(e) => return Err(e),
        };
        let cached = Cached {
            tenant_id: tenant.id.clone(),
            user: user.clone(),
        };
        self.cache.insert(slot.to_vec(), cached);
        Ok(Some(user))
    }

    /// Ends every cached success of a user.
    pub fn forget_user(&self, tenant_id: &str, user_id: &str) {
        self.cache
            .remove_where(|_, c| c.tenant_id == tenant_id && c.user.id == user_id);
    }

    fn slot(&self, tenant_id: &str, username: &str, password: &SecretString) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.key);
        // Lengths first, so no two (username, password) pairs share bytes.
        for part in [tenant_id, username, password.expose_secret()] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        ctx.sign().as_ref().to_vec()
    }
}
