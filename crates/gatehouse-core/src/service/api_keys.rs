//! API keys: made by an admin (for a service, or acting as a user) or by
//! users for themselves, listed without their secrets, revoked at once.
//!
//! Checking a key is on the gate's hot path, so checked keys are cached in
//! memory: at most `max_entries`, each trusted for `ttl`. A revocation on
//! this node drops the entry at once; on other nodes it takes effect
//! within `ttl` (default 30 s). Unknown ids are cached too, so a flood of
//! made-up keys costs one query per id and `ttl`, not one per request.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::ttl_map::TtlMap;
use super::{Deps, TenantContext};
use crate::apikey::{self, ApiKeyRecord};
use crate::audit::Event;
use crate::clock::UnixTime;
use crate::token::is_valid_scope;
use crate::user::{LoginName, User};
use crate::{Error, Result};

/// How the key cache behaves; from configuration.
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyCacheSettings {
    pub ttl: Duration,
    pub max_entries: usize,
}

impl Default for ApiKeyCacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            max_entries: 10_000,
        }
    }
}

/// Longest key lifetime accepted: ten years.
const MAX_EXPIRES_IN_SECS: i64 = 10 * 365 * 24 * 3600;
/// `last_used_at` is written at most this often per key and node.
const TOUCH_EVERY_SECS: i64 = 60;

/// What to make.
#[derive(Debug, Default)]
pub struct NewApiKey {
    pub name: String,
    /// `None`: no scopes (a service key), or the user's token's scopes (a
    /// key a user makes for themselves).
    pub scopes: Option<Vec<String>>,
    pub expires_in: Option<i64>,
    /// The user it acts as: an id or a username (admin only).
    pub user: Option<String>,
}

/// A key just made: the only time its text exists outside the caller.
pub struct CreatedApiKey {
    pub record: ApiKeyRecord,
    pub key: SecretString,
}

/// A key as the admin API and `gatehouse apikey list` show it: never its
/// secret or hash. One shape, so the two cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// The user's id, for a key that acts as one.
    pub user: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
}

impl From<&ApiKeyRecord> for ApiKeyView {
    fn from(k: &ApiKeyRecord) -> Self {
        Self {
            id: k.id.clone(),
            name: k.name.clone(),
            scopes: k.scopes.clone(),
            user: k.user_id.clone(),
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A key just made, as shown once (`POST …/apikeys`, `gatehouse apikey
/// create`): its view and the key itself.
#[derive(serde::Serialize)]
pub struct CreatedApiKeyView {
    #[serde(flatten)]
    pub view: ApiKeyView,
    pub key: String,
}

impl From<&CreatedApiKey> for CreatedApiKeyView {
    fn from(created: &CreatedApiKey) -> Self {
        Self {
            view: ApiKeyView::from(&created.record),
            key: created.key.expose_secret().to_string(),
        }
    }
}

/// A user as the gate reports them (a key's owner, a Basic caller).
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub roles: Vec<String>,
}

impl From<&User> for Principal {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            roles: u.roles.clone(),
        }
    }
}

/// A key that checked out.
#[derive(Debug, Clone)]
pub struct VerifiedKey {
    pub record: ApiKeyRecord,
    pub owner: Option<Principal>,
}

struct Cached {
    /// `None`: no key of this id in the tenant.
    found: Option<VerifiedKey>,
    touched_at: Option<UnixTime>,
}

#[derive(Clone)]
pub struct ApiKeys {
    deps: Arc<Deps>,
    /// By (tenant id, key id).
    cache: Arc<TtlMap<(String, String), Cached>>,
}

impl ApiKeys {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        let settings = deps.settings.api_keys;
        Self {
            deps,
            cache: Arc::new(TtlMap::new(settings.ttl, settings.max_entries)),
        }
    }

    /// Makes a key as an admin: for a service, or acting as `new.user`.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn create(&self, ctx: &TenantContext, new: NewApiKey) -> Result<CreatedApiKey> {
        let tenant = ctx.tenant();
        let owner = match &new.user {
            Some(name_or_id) => Some(self.find_user(&tenant.id, name_or_id).await?),
            None => None,
        };
        let scopes = new.scopes.clone().unwrap_or_default();
        self.insert(ctx, &new, scopes, owner.as_ref()).await
    }

    /// Makes a key for the user whose token this is: it acts as them, with
    /// at most the scopes their token holds.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn create_for_user(
        &self,
        ctx: &TenantContext,
        user_id: &str,
        token_scope: &str,
        new: NewApiKey,
    ) -> Result<CreatedApiKey> {
        if new.user.is_some() {
            return Err(Error::invalid(
                "user",
                "a key you make acts as you; `user` is for admins",
            ));
        }
        let held: Vec<String> = token_scope.split_whitespace().map(String::from).collect();
        let scopes = match &new.scopes {
            Some(asked) => {
                if let Some(extra) = asked.iter().find(|s| !held.contains(s)) {
                    return Err(Error::invalid(
                        "scopes",
                        format!("your token does not hold the scope `{extra}`, so your key cannot"),
                    ));
                }
                asked.clone()
            }
            None => held,
        };
        let user = self
            .deps
            .store
            .user_by_id(&ctx.tenant().id, user_id)
            .await?
            .ok_or(Error::TokenUnusable(crate::TokenUnusable::UserGone))?;
        self.insert(ctx, &new, scopes, Some(&user)).await
    }

    async fn insert(
        &self,
        ctx: &TenantContext,
        new: &NewApiKey,
        scopes: Vec<String>,
        owner: Option<&User>,
    ) -> Result<CreatedApiKey> {
        check_name(&new.name)?;
        check_scopes(&scopes)?;
        let now = self.deps.now();
        let expires_at = match new.expires_in {
            None => None,
            Some(s) if (1..=MAX_EXPIRES_IN_SECS).contains(&s) => Some(now + s),
            Some(_) => {
                return Err(Error::invalid(
                    "expires_in",
                    format!("expires_in is 1 to {MAX_EXPIRES_IN_SECS} seconds"),
                ));
            }
        };
        let minted = apikey::mint()?;
        let record = ApiKeyRecord {
            id: minted.id,
            tenant_id: ctx.tenant().id.clone(),
            name: new.name.clone(),
            secret_hash: minted.secret_hash,
            scopes,
            user_id: owner.map(|u| u.id.clone()),
            created_at: now,
            expires_at,
            last_used_at: None,
        };
        self.deps.store.insert_api_key(&record).await?;
        // A cached "no such key" for this id must not outlive its creation.
        self.forget(&record.tenant_id, &record.id);
        tracing::info!(tenant = %ctx.name(), key_id = %record.id, user_id = ?record.user_id, "API key created");
        self.deps.audit.record(
            ctx.tenant(),
            Event::success("apikey.created").subject(record.id.clone()),
        );
        Ok(CreatedApiKey {
            record,
            key: minted.key,
        })
    }

    /// The tenant's keys, or one user's. Never their secrets (the store
    /// has none).
    pub async fn list(
        &self,
        ctx: &TenantContext,
        user_id: Option<&str>,
    ) -> Result<Vec<ApiKeyRecord>> {
        Ok(self
            .deps
            .store
            .list_api_keys(&ctx.tenant().id, user_id)
            .await?)
    }

    /// Revokes a key (only one of `user_id`'s, when given): refused from
    /// this moment on this node, within the cache bound on the others.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn revoke(&self, ctx: &TenantContext, id: &str, user_id: Option<&str>) -> Result<()> {
        let tenant_id = &ctx.tenant().id;
        let deleted = self
            .deps
            .store
            .delete_api_key(tenant_id, id, user_id)
            .await?;
        self.forget(tenant_id, id);
        if deleted {
            tracing::info!(tenant = %ctx.name(), key_id = %id, "API key revoked");
            self.deps
                .audit
                .record(ctx.tenant(), Event::success("apikey.revoked").subject(id));
            Ok(())
        } else {
            Err(Error::NotFound("the API key"))
        }
    }

    /// Drops every cached key of a user (deleted, or their password
    /// changed).
    pub fn forget_user(&self, tenant_id: &str, user_id: &str) {
        self.cache.remove_where(|(t, _), c| {
            t == tenant_id
                && c.found
                    .as_ref()
                    .is_some_and(|k| k.record.user_id.as_deref() == Some(user_id))
        });
    }

    /// The key `presented` stands for, if it is a live key of this tenant.
    pub(crate) async fn verify(
        &self,
        ctx: &TenantContext,
        presented: &str,
    ) -> Result<Option<VerifiedKey>> {
        let Some((id, secret)) = apikey::parse(presented) else {
            return Ok(None);
        };
        let tenant_id = ctx.tenant().id.clone();
        let key = (tenant_id.clone(), id.clone());
        let now = self.deps.now();
        let found = match self.cache.with_fresh(&key, |c| c.found.clone()) {
            Some(found) => found,
            None => {
                let found = self.load(&tenant_id, &id).await?;
                let cached = Cached {
                    found: found.clone(),
                    touched_at: None,
                };
                self.cache.insert(key.clone(), cached);
                found
            }
        };
        let Some(found) = found else {
            return Ok(None);
        };
        if !found.record.secret_matches(&secret) || found.record.is_expired(now) {
            return Ok(None);
        }
        self.touch(&key, now);
        Ok(Some(found))
    }

    async fn load(&self, tenant_id: &str, id: &str) -> Result<Option<VerifiedKey>> {
        let store = &self.deps.store;
        let Some(record) = store.api_key(tenant_id, id).await? else {
            return Ok(None);
        };
        let owner = match &record.user_id {
            Some(user_id) => match store.user_by_id(tenant_id, user_id).await? {
                Some(u) => Some(Principal::from(&u)),
                // The user is gone (their keys go with them).
                None => return Ok(None),
            },
            None => None,
        };
        Ok(Some(VerifiedKey { record, owner }))
    }

    fn forget(&self, tenant_id: &str, id: &str) {
        self.cache.remove(&(tenant_id.to_string(), id.to_string()));
    }

    /// Records the use in the background, at most once a minute per key:
    /// the decision does not wait for a write.
    fn touch(&self, key: &(String, String), now: UnixTime) {
        let due = self.cache.with_fresh(key, |c| {
            let due = c.touched_at.is_none_or(|at| now - at >= TOUCH_EVERY_SECS);
            if due {
                c.touched_at = Some(now);
            }
            due
        });
        if due == Some(true)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let store = self.deps.store.clone();
            let (tenant_id, id) = key.clone();
            runtime.spawn(async move {
                if let Err(e) = store.touch_api_key(&tenant_id, &id, now).await {
                    tracing::debug!(error = %e, key_id = %id, "recording an API key's use failed");
                }
            });
        }
    }

    async fn find_user(&self, tenant_id: &str, name_or_id: &str) -> Result<User> {
        let store = &self.deps.store;
        if let Some(u) = store.user_by_id(tenant_id, name_or_id).await? {
            return Ok(u);
        }
        store
            .user_by_login(tenant_id, &LoginName::Username(name_or_id.to_string()))
            .await?
            .ok_or(Error::NotFound("the user"))
    }
}

fn check_name(name: &str) -> Result<()> {
    let chars = name.chars().count();
    if chars == 0 || chars > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "a key's name is 1 to 100 characters, without control characters",
        ));
    }
    Ok(())
}

fn check_scopes(scopes: &[String]) -> Result<()> {
    if scopes.len() > 64 || !scopes.iter().all(|s| !s.contains(' ') && is_valid_scope(s)) {
        return Err(Error::invalid(
            "scopes",
            "scopes are up to 64 scope tokens (RFC 6749 §3.3: printable ASCII, no spaces, quotes or backslashes)",
        ));
    }
    Ok(())
}
