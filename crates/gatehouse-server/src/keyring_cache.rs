//! Each node keeps every tenant's keyring in memory, so the hot path
//! (`/auth`, and signing at `/login`) reads no database.
//!
//! An entry is trusted for `ttl` (default 60 s), which bounds how long a key
//! added by another node stays unseen here. When reloading fails because the
//! database is away, the stale entry keeps serving: verification needs only
//! public keys, which do not go bad when the database does.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use gatehouse_core::auth::Auth;
use gatehouse_core::keyring::TenantKeyring;
use gatehouse_core::tenant::TenantName;
use gatehouse_core::{Error, Result};

pub struct KeyringCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, Entry>>,
}

struct Entry {
    keyring: Arc<TenantKeyring>,
    loaded_at: Instant,
}

impl KeyringCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The keyring of tenant `name`, from memory when fresh.
    pub async fn get(
        &self,
        auth: &Auth,
        public_url: &str,
        name: &str,
    ) -> Result<Arc<TenantKeyring>> {
        // Names that cannot exist never reach the database.
        TenantName::parse(name).map_err(|_| Error::TenantNotFound(name.to_string()))?;
        let cached = self.lookup(name);
        if let Some((keyring, fresh)) = &cached
            && *fresh
        {
            return Ok(keyring.clone());
        }
        match auth.load_keyring(name, public_url).await {
            Ok(keyring) => {
                let keyring = Arc::new(keyring);
                self.store(name, keyring.clone());
                Ok(keyring)
            }
            Err(Error::Unavailable(detail)) => match cached {
                Some((stale, _)) => {
                    tracing::warn!(tenant = name, %detail, "database unavailable; serving cached keys");
                    Ok(stale)
                }
                None => Err(Error::Unavailable(detail)),
            },
            Err(e) => Err(e),
        }
    }

    /// Drops a tenant's entry so the next request reloads it (after a key
    /// change made by this node).
    pub fn invalidate(&self, name: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(name);
        }
    }

    fn lookup(&self, name: &str) -> Option<(Arc<TenantKeyring>, bool)> {
        let entries = self.entries.read().ok()?;
        entries
            .get(name)
            .map(|e| (e.keyring.clone(), e.loaded_at.elapsed() < self.ttl))
    }

    fn store(&self, name: &str, keyring: Arc<TenantKeyring>) {
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(
                name.to_string(),
                Entry {
                    keyring,
                    loaded_at: Instant::now(),
                },
            );
        }
    }
}
