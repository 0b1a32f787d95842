//! The tenant context: everything a request of one tenant needs (the
//! tenant, its issuer URL, accepted audiences, its keys), built once per
//! tenant and kept in memory, so the hot path (`/auth`, and signing at
//! `/login`) reads no database.
//!
//! Every route, compatibility route, Lambda entry and CLI command gets its
//! tenant here, the same way:
//! - a fresh entry is trusted for `ttl` (default 60 s), which bounds how
//!   long a key, policy or webhook secret changed by another node stays
//!   unseen on this one (this node drops its entry at once);
//! - names that cannot be tenants never reach the database, and names that
//!   were looked up and not found are remembered for `negative_ttl`, in a
//!   map of bounded size, so a flood of random tenant names costs memory
//!   and queries only up to that bound;
//! - loads are single-flight: many requests for a tenant whose entry
//!   expired wait for one load instead of each running their own;
//! - an entry past its `ttl` but younger than twice that is served while
//!   one background task reloads it, so a request never waits for a
//!   reload of a tenant in use, and each entry's `ttl` is shortened by up
//!   to a fifth (a spread fixed per load), so 10,000 tenants loaded in the
//!   same second do not all reload in the same second a minute later
//!   (bench/scale.sh saw `/auth` throughput fall by 3 to 10x for 20 s
//!   every minute before both);
//! - a reload that finds the same issuer, audiences and keys keeps the
//!   keyring's generation, so `/auth`'s remembered verdicts survive it;
//! - when reloading fails because the database is away, the stale entry
//!   keeps serving: verification needs only public keys, which do not go
//!   bad when the database does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::Deps;
use super::ttl_map::TtlMap;
use crate::keyring::TenantKeyring;
use crate::policy::Policy;
use crate::tenant::{Tenant, TenantName, issuer_url};
use crate::{Error, Result};

/// One tenant, ready to serve: cheap to clone out of the cache (`Arc`).
pub struct TenantContext {
    keyring: TenantKeyring,
    /// The route policy (empty: any valid access token passes).
    policy: Policy,
    /// The webhook secrets, opened, by name.
    secrets: HashMap<String, SecretString>,
}

impl std::fmt::Debug for TenantContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secrets' names only.
        f.debug_struct("TenantContext")
            .field("keyring", &self.keyring)
            .field("rules", &self.policy.document().rules.len())
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TenantContext {
    pub fn new(keyring: TenantKeyring) -> Self {
        Self {
            keyring,
            policy: Policy::default(),
            secrets: HashMap::new(),
        }
    }

    /// The tenant's route policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The values of the named secrets that exist, in the order named.
    pub fn secrets_named(&self, names: &[String]) -> Vec<SecretString> {
        names
            .iter()
            .filter_map(|n| self.secrets.get(n).cloned())
            .collect()
    }

    pub fn tenant(&self) -> &Tenant {
        &self.keyring.tenant
    }

    pub fn name(&self) -> &str {
        self.keyring.tenant.name.as_str()
    }

    /// `{public_url}/t/{tenant}`: the `iss` of every token it signs, and
    /// the realm of its challenges.
    pub fn issuer(&self) -> &str {
        &self.keyring.issuer
    }

    /// The signing and verifying keys, and the JWKS they publish.
    pub fn keyring(&self) -> &TenantKeyring {
        &self.keyring
    }
}

/// How the cache behaves; from configuration.
#[derive(Debug, Clone, Copy)]
pub struct ContextCacheSettings {
    /// How long a loaded context is trusted before it is read again.
    pub ttl: Duration,
    /// How long "no such tenant" is remembered.
    pub negative_ttl: Duration,
    /// How many unknown names are remembered at most; past that the
    /// oldest are forgotten.
    pub max_negative: usize,
}

impl Default for ContextCacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(10),
            max_negative: 1024,
        }
    }
}

struct Entry {
    context: Arc<TenantContext>,
    loaded_at: Instant,
    /// `ttl` less this load's share of the spread.
    fresh_for: Duration,
}

/// How old a cached entry is.
enum Age {
    /// Younger than its `fresh_for`: served as it is.
    Fresh,
    /// Younger than twice the `ttl`: served while a reload runs.
    Stale,
    /// Older: reloaded before it serves (unless the database is away).
    Expired,
}

/// `ttl` shortened by up to a fifth, by an amount fixed by `seed` (the
/// load's generation), so entries loaded together expire apart.
fn spread(ttl: Duration, seed: u64) -> Duration {
    // Fibonacci hashing spreads consecutive generations evenly.
    let fraction = (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
    ttl.saturating_sub(ttl.mul_f64(0.2 * fraction))
}

/// The per-node cache of tenant contexts.
pub struct TenantContexts {
    deps: Arc<Deps>,
    public_url: String,
    settings: ContextCacheSettings,
    entries: RwLock<HashMap<String, Entry>>,
    /// Unknown tenant names, remembered for `negative_ttl`.
    missing: TtlMap<String, ()>,
    /// One lock per tenant being loaded: the single flight.
    loading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl TenantContexts {
    pub(crate) fn new(deps: Arc<Deps>, public_url: &str, settings: ContextCacheSettings) -> Self {
        Self {
            deps,
            public_url: public_url.trim_end_matches('/').to_string(),
            settings,
            entries: RwLock::new(HashMap::new()),
            missing: TtlMap::new(settings.negative_ttl, settings.max_negative),
            loading: Mutex::new(HashMap::new()),
        }
    }

    /// The base URL issuers derive from.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The issuer URL of a tenant name: the one place it is derived.
    pub fn issuer_of(&self, name: &TenantName) -> String {
        issuer_url(&self.public_url, name)
    }

    /// The context of tenant `name`, from memory when fresh.
    pub async fn get(self: &Arc<Self>, name: &str) -> Result<Arc<TenantContext>> {
        let not_found = || Error::TenantNotFound(name.to_string());
        // Names that cannot exist never reach the database.
        TenantName::parse(name).map_err(|_| not_found())?;
        let cached = self.lookup(name);
        match &cached {
            Some((context, Age::Fresh)) => return Ok(context.clone()),
            Some((context, Age::Stale)) if self.reload_in_background(name) => {
                return Ok(context.clone());
            }
            _ => {}
        }
        if self.known_missing(name) {
            return Err(not_found());
        }
        // Single flight: the first caller loads, the others wait for it and
        // then find the fresh entry.
        let flight = self.flight(name);
        let _turn = flight.lock().await;
        if let Some((context, Age::Fresh)) = self.lookup(name) {
            return Ok(context);
        }
        let outcome = self.load(name).await;
        self.land(name);
        match outcome {
            Ok(context) => Ok(context),
            Err(Error::TenantNotFound(n)) => {
                self.remember_missing(name);
                Err(Error::TenantNotFound(n))
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
    /// change made by this node, or a tenant created here).
    pub fn invalidate(&self, name: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(name);
        }
        self.missing.remove(&name.to_string());
    }

    async fn load(&self, name: &str) -> Result<Arc<TenantContext>> {
        let tenant = self
            .deps
            .store
            .tenant_by_name(name)
            .await?
            .ok_or_else(|| Error::TenantNotFound(name.to_string()))?;
        let records = self.deps.store.keys_for_tenant(&tenant.id).await?;
        let issuer = self.issuer_of(&tenant.name);
        // Loading parses PEM and derives public keys: CPU work, but short.
        let policy = match self.deps.store.policy_document(&tenant.id).await? {
            // Stored only after it parsed; failing now is a corrupt row.
            Some(doc) => Policy::parse_json(&doc).map_err(|e| {
                Error::Internal(format!("the stored policy of `{name}` does not parse: {e}"))
            })?,
            None => Policy::default(),
        };
        let mut secrets = HashMap::new();
        for secret in self.deps.store.secrets(&tenant.id).await? {
            secrets.insert(secret.name.clone(), secret.open(&self.deps.master)?);
        }
        let mut keyring = TenantKeyring::new(tenant, issuer, &records, &self.deps.master)?;
        if let Some((previous, _)) = self.lookup(name) {
            keyring.keep_generation_if_same(previous.keyring());
        }
        let fresh_for = spread(self.settings.ttl, keyring.generation());
        let context = Arc::new(TenantContext {
            keyring,
            policy,
            secrets,
        });
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(
                name.to_string(),
                Entry {
                    context: context.clone(),
                    loaded_at: Instant::now(),
                    fresh_for,
                },
            );
        }
        Ok(context)
    }

    fn lookup(&self, name: &str) -> Option<(Arc<TenantContext>, Age)> {
        let entries = self.entries.read().ok()?;
        entries.get(name).map(|e| {
            let age = e.loaded_at.elapsed();
            let age = if age < e.fresh_for {
                Age::Fresh
            } else if age < self.settings.ttl.saturating_mul(2) {
                Age::Stale
            } else {
                Age::Expired
            };
            (e.context.clone(), age)
        })
    }

    /// Starts one background reload of `name` unless one is running (then
    /// the stale entry serves until it lands); false when no task can be
    /// started here (no Tokio runtime), so the caller reloads itself.
    fn reload_in_background(self: &Arc<Self>, name: &str) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let flight = self.flight(name);
        let Ok(turn) = flight.clone().try_lock_owned() else {
            return true; // being reloaded
        };
        let this = self.clone();
        let name = name.to_string();
        runtime.spawn(async move {
            match this.load(&name).await {
                Ok(_) => {}
                Err(Error::TenantNotFound(_)) => this.invalidate(&name),
                // The stale entry keeps serving; the next request retries.
                Err(e) => tracing::warn!(tenant = %name, error = %e, "background reload failed"),
            }
            drop(turn);
            this.land(&name);
            drop(flight);
        });
        true
    }

    fn known_missing(&self, name: &str) -> bool {
        self.missing.with_fresh(&name.to_string(), |_| ()).is_some()
    }

    fn remember_missing(&self, name: &str) {
        self.missing.insert(name.to_string(), ());
    }

    fn flight(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.loading.lock() {
            Ok(mut loading) => loading.entry(name.to_string()).or_default().clone(),
            // A poisoned map only loses the single-flight property.
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The load of `name` is over: forget its flight lock once nobody else
    /// waits on it, so the map holds only tenants being loaded.
    fn land(&self, name: &str) {
        if let Ok(mut loading) = self.loading.lock()
            && loading
                .get(name)
                .is_some_and(|lock| Arc::strong_count(lock) <= 2)
        {
            loading.remove(name);
        }
    }
}
