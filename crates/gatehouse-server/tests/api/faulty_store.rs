//! A store wrapper that counts calls and can be switched off, to prove
//! which requests touch the database and how the server behaves without it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::keys::SigningKeyRecord;
use gatehouse_core::password::PasswordHash;
use gatehouse_core::refresh::{Consumed, RefreshRecord};
use gatehouse_core::session::Session;
use gatehouse_core::store::{
    KeyStore, SessionStore, Store, StoreError, StoreResult, TenantStore, UserStore,
};
use gatehouse_core::tenant::Tenant;
use gatehouse_core::user::{LoginName, User};
use secrecy::SecretString;

pub struct FaultyStore {
    inner: Arc<dyn Store>,
    pub down: AtomicBool,
    pub calls: AtomicUsize,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            down: AtomicBool::new(false),
            calls: AtomicUsize::new(0),
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn enter(&self) -> StoreResult<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("switched off by the test".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl TenantStore for FaultyStore {
    async fn create_tenant(&self, t: &Tenant, k: &SigningKeyRecord) -> StoreResult<()> {
        self.enter()?;
        self.inner.create_tenant(t, k).await
    }
    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        self.enter()?;
        self.inner.tenant_by_name(name).await
    }
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.enter()?;
        self.inner.list_tenants().await
    }
    async fn set_tenant_algorithm(&self, t: &str, a: SigningAlgorithm) -> StoreResult<()> {
        self.enter()?;
        self.inner.set_tenant_algorithm(t, a).await
    }
}

#[async_trait]
impl UserStore for FaultyStore {
    async fn create_user(&self, u: &User) -> StoreResult<()> {
        self.enter()?;
        self.inner.create_user(u).await
    }
    async fn user_by_login(&self, t: &str, l: &LoginName) -> StoreResult<Option<User>> {
        self.enter()?;
        self.inner.user_by_login(t, l).await
    }
    async fn user_by_id(&self, t: &str, id: &str) -> StoreResult<Option<User>> {
        self.enter()?;
        self.inner.user_by_id(t, id).await
    }
    async fn list_users(&self, t: &str) -> StoreResult<Vec<User>> {
        self.enter()?;
        self.inner.list_users(t).await
    }
    async fn update_password_hash(
        &self,
        t: &str,
        id: &str,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> StoreResult<bool> {
        self.enter()?;
        self.inner.update_password_hash(t, id, old, new).await
    }
    async fn delete_user(&self, t: &str, id: &str) -> StoreResult<bool> {
        self.enter()?;
        self.inner.delete_user(t, id).await
    }
}

#[async_trait]
impl KeyStore for FaultyStore {
    async fn insert_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        self.enter()?;
        self.inner.insert_key(k).await
    }
    async fn keys_for_tenant(&self, t: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        self.enter()?;
        self.inner.keys_for_tenant(t).await
    }
    async fn promote_key(
        &self,
        t: &str,
        next: &str,
        cur: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.enter()?;
        self.inner.promote_key(t, next, cur, now).await
    }
    async fn remove_retired_key(&self, t: &str, kid: &str) -> StoreResult<bool> {
        self.enter()?;
        self.inner.remove_retired_key(t, kid).await
    }
    async fn remove_next_key(&self, t: &str) -> StoreResult<bool> {
        self.enter()?;
        self.inner.remove_next_key(t).await
    }
    async fn replace_key_material(
        &self,
        kid: &str,
        expected: &SecretString,
        replacement: &SecretString,
    ) -> StoreResult<bool> {
        self.enter()?;
        self.inner
            .replace_key_material(kid, expected, replacement)
            .await
    }
}

#[async_trait]
impl SessionStore for FaultyStore {
    async fn create_session(&self, s: &Session, r: &RefreshRecord) -> StoreResult<()> {
        self.enter()?;
        self.inner.create_session(s, r).await
    }
    async fn session(&self, id: &str) -> StoreResult<Option<Session>> {
        self.enter()?;
        self.inner.session(id).await
    }
    async fn revoke_session(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        self.enter()?;
        self.inner.revoke_session(id, now).await
    }
    async fn consume_refresh_token(
        &self,
        t: &str,
        h: &str,
        now: UnixTime,
    ) -> StoreResult<Consumed> {
        self.enter()?;
        self.inner.consume_refresh_token(t, h, now).await
    }
    async fn insert_refresh_token(&self, r: &RefreshRecord) -> StoreResult<()> {
        self.enter()?;
        self.inner.insert_refresh_token(r).await
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn ping(&self) -> StoreResult<()> {
        self.enter()?;
        self.inner.ping().await
    }
}
