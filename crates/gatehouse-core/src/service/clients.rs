//! Registered OAuth clients: made, listed, rotated and deleted by an
//! admin; authenticated at the token, introspection and revocation
//! endpoints.
//!
//! Authentication is on the hot path of machine traffic (every
//! client-credentials grant), so clients are cached in memory like API
//! keys: at most `max_entries`, each trusted for `ttl`. A rotation or
//! deletion on this node drops the entry at once. On other nodes a deleted
//! client or an ended old secret stops working within `ttl` (default
//! 30 s); a new secret works at once (a secret that fails against the
//! cached record makes it be read again, at most once a second). Unknown
//! ids are cached too, so a flood of made-up client ids costs one query
//! per id and `ttl`.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;

use super::issue::FIRST_PARTY_CLIENT;
use super::ttl_map::TtlMap;
use super::{Deps, TenantContext};
use crate::audit::Event;
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::oauth::client::{self, ClientSpec, mint_client_id, mint_secret};
use crate::oauth::{ClientRecord, ClientType};
use crate::{Error, Result};

/// How the client cache behaves, and how long a rotated secret lives on.
#[derive(Debug, Clone, Copy)]
pub struct ClientSettings {
    pub cache_ttl: Duration,
    pub cache_max_entries: usize,
    /// How long the previous secret stays valid after a rotation.
    pub secret_overlap: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(30),
            cache_max_entries: 10_000,
            secret_overlap: Duration::from_secs(24 * 3600),
        }
    }
}

/// The longest overlap a rotation may ask for: 30 days.
const MAX_OVERLAP_SECS: i64 = 30 * 24 * 3600;

/// What a request presented to say which client it is (RFC 6749 §2.3).
#[derive(Debug, Default)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    /// `None` for a public client (or the first-party one).
    pub secret: Option<SecretString>,
    /// `client_secret_basic` (the answer to a failure then carries the
    /// client's own scheme, RFC 6749 §5.2).
    pub via_basic: bool,
}

/// Who is asking, once authenticated.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The tenant's own apps (`/login`, the password grant): no
    /// registration, no secret, client id `gatehouse`.
    FirstParty,
    Registered(Arc<ClientRecord>),
}

impl Caller {
    pub fn client_id(&self) -> &str {
        match self {
            Caller::FirstParty => FIRST_PARTY_CLIENT,
            Caller::Registered(c) => &c.id,
        }
    }

    /// The registered client, if it is confidential (authenticated with
    /// its secret).
    pub fn confidential(&self) -> Option<&ClientRecord> {
        match self {
            Caller::Registered(c) if !c.is_public() => Some(c),
            _ => None,
        }
    }
}

/// A client as the admin API and `gatehouse client list` show it: never
/// its secret or hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: ClientType,
    pub grants: Vec<String>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// How it authenticates at the token endpoint (RFC 7591 §2 names):
    /// `client_secret_basic` (or `_post`) with a secret, `none` if public.
    pub token_endpoint_auth_method: &'static str,
    /// Until when the secret from before the last rotation still works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<UnixTime>,
    pub created_at: UnixTime,
}

impl From<&ClientRecord> for ClientView {
    fn from(c: &ClientRecord) -> Self {
        Self {
            client_id: c.id.clone(),
            name: c.name.clone(),
            client_type: c.client_type,
            grants: c.grants.iter().map(|g| g.as_str().to_string()).collect(),
            scopes: c.scopes.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            token_endpoint_auth_method: match c.client_type {
                ClientType::Confidential => "client_secret_basic",
                ClientType::Public => "none",
            },
            previous_secret_expires_at: c.previous_secret_expires_at,
            created_at: c.created_at,
        }
    }
}

/// A client just made, or a secret just rotated: the only time the secret
/// exists outside the caller.
#[derive(Debug)]
pub struct ClientWithSecret {
    pub client: ClientView,
    pub client_secret: Option<SecretString>,
}

impl Serialize for ClientWithSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use secrecy::ExposeSecret;
        #[derive(Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            client: &'a ClientView,
            #[serde(skip_serializing_if = "Option::is_none")]
            client_secret: Option<&'a str>,
        }
        Shown {
            client: &self.client,
            client_secret: self.client_secret.as_ref().map(|c| c.expose_secret()),
        }
        .serialize(s)
    }
}

/// (tenant id, client id) → the client, or `None` for "no such client".
type ClientCache = TtlMap<(String, String), Option<Arc<ClientRecord>>>;

#[derive(Clone)]
pub struct Clients {
    deps: Arc<Deps>,
    cache: Arc<ClientCache>,
    /// Clients re-read after a failed secret, for a second: bounds the
    /// store reads a flood of wrong secrets can cause.
    refetched: Arc<TtlMap<(String, String), ()>>,
}

/// The one sentence of every failed client authentication.
fn invalid_client() -> Error {
    OAuthError::InvalidClient(
        "the client could not be authenticated: unknown client, wrong secret, or no secret sent"
            .into(),
    )
    .into()
}

impl Clients {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        let s = deps.settings.clients;
        Self {
            cache: Arc::new(TtlMap::new(s.cache_ttl, s.cache_max_entries)),
            refetched: Arc::new(TtlMap::new(Duration::from_secs(1), s.cache_max_entries)),
            deps,
        }
    }

    /// Registers a client; a confidential one gets its secret, shown once.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn create(&self, ctx: &TenantContext, spec: ClientSpec) -> Result<ClientWithSecret> {
        let spec = spec.validate()?;
        let (secret, secret_hash) = match spec.client_type {
            ClientType::Confidential => {
                let (secret, hash) = mint_secret()?;
                (Some(secret), Some(hash))
            }
            ClientType::Public => (None, None),
        };
        let record = ClientRecord {
            id: mint_client_id()?,
            tenant_id: ctx.tenant().id.clone(),
            name: spec.name,
            client_type: spec.client_type,
            grants: spec.grants,
            scopes: spec.scopes,
            redirect_uris: spec.redirect_uris,
            post_logout_redirect_uris: spec.post_logout_redirect_uris,
            secret_hash,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            created_at: self.deps.now(),
        };
        self.deps.store.insert_client(&record).await?;
        tracing::info!(client_id = %record.id, name = %record.name, "client registered");
        self.deps.audit.record(
            ctx.tenant(),
            Event::success("client.created")
                .actor("admin")
                .subject(record.id.clone()),
        );
        Ok(ClientWithSecret {
            client: ClientView::from(&record),
            client_secret: secret,
        })
    }

    pub async fn list(&self, ctx: &TenantContext) -> Result<Vec<ClientView>> {
        let clients = self.deps.store.list_clients(&ctx.tenant().id).await?;
        Ok(clients.iter().map(ClientView::from).collect())
    }

    pub async fn show(&self, ctx: &TenantContext, client_id: &str) -> Result<ClientView> {
        let record = self
            .deps
            .store
            .client(&ctx.tenant().id, client_id)
            .await?
            .ok_or(Error::NotFound("the client"))?;
        Ok(ClientView::from(&record))
    }

    /// Deletes the client and revokes every session issued to it.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name(), client_id))]
    pub async fn delete(&self, ctx: &TenantContext, client_id: &str) -> Result<()> {
        let deleted = self
            .deps
            .store
            .delete_client(&ctx.tenant().id, client_id, self.deps.now())
            .await?;
        self.forget(ctx, client_id);
        if !deleted {
            return Err(Error::NotFound("the client"));
        }
        tracing::info!("client deleted; its sessions are revoked");
        self.deps.audit.record(
            ctx.tenant(),
            Event::success("client.deleted")
                .actor("admin")
                .subject(client_id),
        );
        Ok(())
    }

    /// A new secret; the old one stays valid for `overlap` (the configured
    /// default when `None`), so services can move over without an outage.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name(), client_id))]
    pub async fn rotate_secret(
        &self,
        ctx: &TenantContext,
        client_id: &str,
        overlap_secs: Option<i64>,
    ) -> Result<ClientWithSecret> {
        let overlap =
            overlap_secs.unwrap_or(self.deps.settings.clients.secret_overlap.as_secs() as i64);
        if !(0..=MAX_OVERLAP_SECS).contains(&overlap) {
            return Err(Error::invalid(
                "overlap",
                "the overlap must be between 0 seconds and 30 days",
            ));
        }
        let store = &self.deps.store;
        let tenant_id = &ctx.tenant().id;
        let record = store
            .client(tenant_id, client_id)
            .await?
            .ok_or(Error::NotFound("the client"))?;
        let Some(expected) = record.secret_hash.clone() else {
            return Err(Error::invalid(
                "client_id",
                "a public client has no secret to rotate",
            ));
        };
        let (secret, hash) = mint_secret()?;
        let now = self.deps.now();
        if !store
            .rotate_client_secret(tenant_id, client_id, &expected, &hash, now + overlap)
            .await?
        {
            return Err(Error::Contended(
                "the secret was rotated at the same moment by another request; try again",
            ));
        }
        self.forget(ctx, client_id);
        let rotated = ClientRecord {
            secret_hash: Some(hash),
            previous_secret_hash: Some(expected),
            previous_secret_expires_at: Some(now + overlap),
            ..record
        };
        tracing::info!(overlap_secs = overlap, "client secret rotated");
        self.deps.audit.record(
            ctx.tenant(),
            Event::success("client.secret_rotated")
                .actor("admin")
                .subject(client_id),
        );
        Ok(ClientWithSecret {
            client: ClientView::from(&rotated),
            client_secret: Some(secret),
        })
    }

    /// Authenticates the caller of the token, introspection or revocation
    /// endpoint. No client named: the first-party client. A registered
    /// confidential client must prove its secret; a public one only names
    /// itself (what it may then do is limited by the grant it asks for).
    pub async fn authenticate(
        &self,
        ctx: &TenantContext,
        presented: ClientCredentials,
    ) -> Result<Caller> {
        let Some(client_id) = presented.client_id.filter(|c| !c.is_empty()) else {
            return match presented.secret {
                Some(_) => Err(invalid_client()),
                None => Ok(Caller::FirstParty),
            };
        };
        if client_id == FIRST_PARTY_CLIENT {
            return match presented.secret {
                Some(_) => Err(invalid_client()),
                None => Ok(Caller::FirstParty),
            };
        }
        let client = self
            .find(ctx, &client_id)
            .await?
            .ok_or_else(invalid_client)?;
        if self.proves(&client, presented.secret.as_ref()) {
            return Ok(Caller::Registered(client));
        }
        // The cached record may predate a rotation made on another node
        // (or by the CLI): read it once more, at most once a second per
        // client, so a flood of wrong secrets stays off the store.
        if self.refetched_recently(ctx, &client_id) {
            return Err(invalid_client());
        }
        self.forget(ctx, &client_id);
        let fresh = self
            .find(ctx, &client_id)
            .await?
            .ok_or_else(invalid_client)?;
        if self.proves(&fresh, presented.secret.as_ref()) {
            Ok(Caller::Registered(fresh))
        } else {
            Err(invalid_client())
        }
    }

    /// A confidential client proves its secret; a public one only names itself.
    fn proves(&self, client: &ClientRecord, secret: Option<&SecretString>) -> bool {
        match (secret, client.client_type) {
            (Some(secret), ClientType::Confidential) => {
                client.secret_matches(secret, self.deps.now())
            }
            (None, ClientType::Public) => true,
            _ => false,
        }
    }

    /// Whether this client's record was re-read after a failed secret in
    /// the last second (and marks it so if not).
    fn refetched_recently(&self, ctx: &TenantContext, client_id: &str) -> bool {
        let key = (ctx.tenant().id.clone(), client_id.to_string());
        if self.refetched.with_fresh(&key, |_| ()).is_some() {
            return true;
        }
        self.refetched.insert(key, ());
        false
    }

    /// The client, from the cache when fresh. `None`: no such client in
    /// this tenant.
    pub async fn find(
        &self,
        ctx: &TenantContext,
        client_id: &str,
    ) -> Result<Option<Arc<ClientRecord>>> {
        // Ids are hex (base64url before); anything else is never looked up.
        if client_id.is_empty()
            || client_id.len() > 64
            || !client_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Ok(None);
        }
        let key = (ctx.tenant().id.clone(), client_id.to_string());
        if let Some(hit) = self.cache.with_fresh(&key, |c| c.clone()) {
            return Ok(hit);
        }
        let found = self
            .deps
            .store
            .client(&ctx.tenant().id, client_id)
            .await?
            .map(Arc::new);
        self.cache.insert(key, found.clone());
        Ok(found)
    }

    fn forget(&self, ctx: &TenantContext, client_id: &str) {
        self.cache
            .remove(&(ctx.tenant().id.clone(), client_id.to_string()));
    }
}

/// Re-exported for adapters that hash presented secrets themselves.
pub use client::hash_secret;
