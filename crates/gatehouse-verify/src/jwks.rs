//! The remote key set: an issuer's JWKS, fetched (through its discovery
//! document or from a configured URL), cached for as long as
//! `Cache-Control` allows, revalidated with its `ETag`, refreshed in the
//! background before it goes stale, and refetched early for a `kid` it does
//! not hold.
//!
//! Three bounds keep it honest:
//! - **No hammering.** Every fetch, whatever asks for it (the background
//!   task, a stale set, a token with an unknown `kid`), starts at most once
//!   per `refetch_interval`; requests that want one meanwhile share the one
//!   in flight or are answered from what is cached. A flood of tokens with
//!   random `kid`s therefore costs the issuer one request per interval.
//! - **Stale, but not forever.** When the issuer does not answer, the last
//!   good set keeps serving until `max_stale` past its freshness; after
//!   that nothing verifies until the issuer answers again (fail closed).
//! - **Bounded reads.** Bodies over 256 KiB, redirects and slow answers
//!   (`http_timeout`) are failures, never waits without end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime};

use gatehouse_jwt::KeySet;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::Deserialize;
use tokio::runtime::Handle;
use tokio::sync::Notify;

use crate::clock::{Clock, elapsed};
use crate::http::{FetchError, Fetched, HttpClient};

/// How long a set is fresh when the issuer says nothing (Gatehouse says
/// `max-age=300`).
const DEFAULT_FRESHNESS: Duration = Duration::from_secs(300);
/// The longest freshness believed, whatever the issuer says: a key removed
/// from the JWKS should not linger for weeks.
const MAX_FRESHNESS: Duration = Duration::from_secs(24 * 3600);
/// The background task looks at the clock at least this often, so a clock
/// that jumps (or a test's manual clock) is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Where the keys are found.
#[derive(Debug, Clone)]
pub(crate) enum Location {
    /// `{issuer}/.well-known/openid-configuration`, whose `jwks_uri` names
    /// the key set.
    Discovery(String),
    /// The JWKS URL itself.
    Jwks(String),
}

/// The cache's tunables (see [`crate::VerifierBuilder`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CacheSettings {
    pub refetch_interval: Duration,
    pub max_stale: Duration,
}

/// What the verifier's issuer published, as of one fetch.
pub(crate) struct Snapshot {
    pub keys: KeySet,
    /// Bumped by every successful contact (new body or 304), so a request
    /// that waited for a fetch can tell one happened.
    generation: u64,
    etag: Option<String>,
    /// When the background task refreshes it (four fifths of its life).
    refresh_at: SystemTime,
    /// Until when it is fresh; past this, requests trigger a refresh.
    fresh_until: SystemTime,
    /// Until when it may be used at all; past this, fail closed.
    usable_until: SystemTime,
}

/// Counters of the key cache's traffic with the issuer, for metrics and
/// tests (from [`crate::Verifier::key_cache_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyCacheStats {
    /// JWKS requests sent (discovery requests not counted).
    pub jwks_requests: u64,
    /// Fetches that failed (unreachable, bad status, malformed answer).
    pub failed_fetches: u64,
    /// Answers with a key set in the body (200).
    pub key_sets_loaded: u64,
    /// Answers "not modified" (304) to a revalidation.
    pub revalidations: u64,
}

#[derive(Default)]
struct Counters {
    jwks_requests: AtomicU64,
    failed_fetches: AtomicU64,
    key_sets_loaded: AtomicU64,
    revalidations: AtomicU64,
}

/// The one fetch at a time, and what the rate limit needs to know.
#[derive(Default)]
struct FetchState {
    last_attempt: Option<SystemTime>,
    last_error: Option<FetchError>,
    generation: u64,
}

/// What the discovery document told us.
#[derive(Debug, Clone)]
struct Discovered {
    jwks_uri: String,
    #[cfg_attr(not(feature = "introspect"), allow(dead_code))]
    introspection_endpoint: Option<String>,
}

pub(crate) struct RemoteKeys {
    issuer: String,
    audiences: Vec<String>,
    location: Location,
    http: HttpClient,
    clock: Arc<dyn Clock>,
    settings: CacheSettings,
    /// The runtime the builder ran in: background work is spawned there,
    /// whichever executor polls a verification.
    runtime: Handle,
    current: RwLock<Option<Arc<Snapshot>>>,
    /// Held for the whole of a fetch: fetches never overlap, and whoever
    /// waited finds the fresh set instead of fetching again.
    fetch: tokio::sync::Mutex<FetchState>,
    discovered: Mutex<Option<Discovered>>,
    /// A request-triggered refresh is under way (one is enough).
    refreshing: AtomicBool,
    /// Tells the background task to end when the last verifier is dropped.
    shutdown: Arc<Notify>,
    counters: Counters,
}

impl Drop for RemoteKeys {
    fn drop(&mut self) {
        // A permit is stored if the task is not waiting right now.
        self.shutdown.notify_one();
    }
}

impl RemoteKeys {
    /// Makes the cache and starts its background task on `runtime`; the
    /// first fetch starts at once.
    pub(crate) fn start(
        issuer: String,
        audiences: Vec<String>,
        location: Location,
        http: HttpClient,
        clock: Arc<dyn Clock>,
        settings: CacheSettings,
        runtime: Handle,
    ) -> Arc<Self> {
        let shutdown = Arc::new(Notify::new());
        let keys = Arc::new(Self {
            issuer,
            audiences,
            location,
            http,
            clock,
            settings,
            runtime: runtime.clone(),
            current: RwLock::new(None),
            fetch: tokio::sync::Mutex::new(FetchState::default()),
            discovered: Mutex::new(None),
            refreshing: AtomicBool::new(false),
            shutdown: shutdown.clone(),
            counters: Counters::default(),
        });
        runtime.spawn(refresh_loop(Arc::downgrade(&keys), shutdown));
        keys
    }

    fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn stats(&self) -> KeyCacheStats {
        let c = &self.counters;
        KeyCacheStats {
            jwks_requests: c.jwks_requests.load(Ordering::Relaxed),
            failed_fetches: c.failed_fetches.load(Ordering::Relaxed),
            key_sets_loaded: c.key_sets_loaded.load(Ordering::Relaxed),
            revalidations: c.revalidations.load(Ordering::Relaxed),
        }
    }

    /// What a client refused for want of keys is told to wait, in seconds.
    #[cfg(feature = "axum")]
    pub(crate) fn retry_after_secs(&self) -> u64 {
        self.settings.refetch_interval.as_secs().max(1)
    }

    /// The introspection endpoint the discovery document named, once read.
    #[cfg(feature = "introspect")]
    pub(crate) fn introspection_endpoint(&self) -> Option<String> {
        self.discovered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|d| d.introspection_endpoint.clone())
    }

    /// The key set to verify with at `now`: the cached one while it may be
    /// used (starting a refresh in the background once it is stale), else
    /// whatever a fetch brings. An error means no set may be used.
    pub(crate) async fn usable(
        self: &Arc<Self>,
        now: SystemTime,
    ) -> Result<Arc<Snapshot>, FetchError> {
        match self.snapshot() {
            Some(s) if now < s.usable_until => {
                if now >= s.fresh_until {
                    self.refresh_in_background(s.generation);
                }
                Ok(s)
            }
            other => self.fetch(other.map(|s| s.generation)).await,
        }
    }

    /// A newer set than `seen`, for a token whose `kid` `seen` lacks: one
    /// fetch if the rate limit allows it (or the result of one that ran
    /// meanwhile); `None` if nothing newer can be had now.
    pub(crate) async fn newer_than(&self, seen: &Snapshot) -> Option<Arc<Snapshot>> {
        match self.fetch(Some(seen.generation)).await {
            Ok(s) if s.generation != seen.generation => Some(s),
            _ => None,
        }
    }

    /// Fetches now unless the rate limit forbids it; for
    /// [`crate::Verifier::refresh`].
    pub(crate) async fn refresh(&self) -> Result<(), FetchError> {
        let seen = self.snapshot().map(|s| s.generation);
        self.fetch(seen).await.map(|_| ())
    }

    fn refresh_in_background(self: &Arc<Self>, seen: u64) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = Arc::clone(self);
        self.runtime.spawn(async move {
            let _ = me.fetch(Some(seen)).await;
            me.refreshing.store(false, Ordering::Release);
        });
    }

    /// The one way a fetch happens. `seen` is the generation the caller
    /// last saw: if another fetch succeeded while this one waited for the
    /// lock, its result is returned instead of fetching again.
    async fn fetch(&self, seen: Option<u64>) -> Result<Arc<Snapshot>, FetchError> {
        let mut state = self.fetch.lock().await;
        if let Some(s) = self.snapshot()
            && Some(s.generation) != seen
        {
            return Ok(s);
        }
        let now = self.clock.now();
        let interval = self.settings.refetch_interval;
        if let Some(last) = state.last_attempt
            // A clock that went backwards does not block fetching.
            && now >= last
            && elapsed(last, now) < interval
        {
            return Err(FetchError::RateLimited {
                interval,
                last: state
                    .last_error
                    .as_ref()
                    .map_or_else(|| "succeeded".to_string(), ToString::to_string),
            });
        }
        state.last_attempt = Some(now);
        let previous = self.snapshot();
        match self.fetch_once(previous.as_deref()).await {
            Ok(update) => {
                state.generation += 1;
                state.last_error = None;
                let snapshot = Arc::new(self.snapshot_of(update, previous, state.generation));
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(snapshot.clone());
                Ok(snapshot)
            }
            Err(e) => {
                self.counters.failed_fetches.fetch_add(1, Ordering::Relaxed);
                match &previous {
                    Some(_) => tracing::warn!(issuer = %self.issuer, error = %e,
                        "cannot refresh the issuer's keys; serving the last good set"),
                    None => tracing::warn!(issuer = %self.issuer, error = %e,
                        "cannot fetch the issuer's keys; no token can be verified yet"),
                }
                state.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    fn snapshot_of(
        &self,
        update: Update,
        previous: Option<Arc<Snapshot>>,
        generation: u64,
    ) -> Snapshot {
        let confirmed_at = self.clock.now();
        let (keys, etag, freshness) = match (update, previous) {
            (
                Update::Loaded {
                    keys,
                    etag,
                    freshness,
                },
                _,
            ) => (keys, etag, freshness),
            (Update::NotModified { freshness }, Some(previous)) => {
                (previous.keys.clone(), previous.etag.clone(), freshness)
            }
            // A 304 is only taken when a set is held (`HttpClient::get`).
            (Update::NotModified { freshness }, None) => (
                KeySet::new(self.issuer.clone(), self.audiences.clone(), Vec::new()),
                None,
                freshness,
            ),
        };
        let life = freshness
            .unwrap_or(DEFAULT_FRESHNESS)
            .clamp(self.settings.refetch_interval, MAX_FRESHNESS);
        let fresh_until = confirmed_at + life;
        Snapshot {
            keys,
            generation,
            etag,
            refresh_at: confirmed_at + life.mul_f64(0.8),
            fresh_until,
            usable_until: fresh_until + self.settings.max_stale,
        }
    }

    async fn fetch_once(&self, previous: Option<&Snapshot>) -> Result<Update, FetchError> {
        let url = self.jwks_url().await?;
        self.counters.jwks_requests.fetch_add(1, Ordering::Relaxed);
        let etag = previous.and_then(|p| p.etag.as_deref());
        match self.http.get(&url, etag).await? {
            Fetched::NotModified { freshness } => {
                self.counters.revalidations.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(issuer = %self.issuer, "the issuer's keys are unchanged");
                Ok(Update::NotModified { freshness })
            }
            Fetched::Body {
                bytes,
                etag,
                freshness,
            } => {
                let jwks = parse_jwks(&bytes).map_err(|reason| FetchError::Malformed {
                    url: url.clone(),
                    what: "a JWKS document",
                    reason,
                })?;
                let keys = KeySet::from_jwks(self.issuer.clone(), self.audiences.clone(), &jwks);
                self.counters
                    .key_sets_loaded
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(issuer = %self.issuer, keys = keys.keys.len(),
                    "loaded the issuer's keys");
                Ok(Update::Loaded {
                    keys,
                    etag,
                    freshness,
                })
            }
        }
    }

    /// The JWKS URL: configured, or read once from the discovery document.
    async fn jwks_url(&self) -> Result<String, FetchError> {
        let discovery_url = match &self.location {
            Location::Jwks(url) => return Ok(url.clone()),
            Location::Discovery(url) => url,
        };
        if let Some(d) = self
            .discovered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            return Ok(d.jwks_uri.clone());
        }
        let malformed = |reason: String| FetchError::Malformed {
            url: discovery_url.clone(),
            what: "an OpenID discovery document",
            reason,
        };
        let Fetched::Body { bytes, .. } = self.http.get(discovery_url, None).await? else {
            return Err(malformed("304 to a request that had no ETag".into()));
        };
        #[derive(Deserialize)]
        struct Document {
            issuer: String,
            jwks_uri: String,
            #[serde(default)]
            introspection_endpoint: Option<String>,
        }
        let doc: Document = serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
        // OIDC Discovery §4.3: the document must name the very issuer it
        // was fetched for, or its keys are someone else's.
        if doc.issuer != self.issuer {
            return Err(FetchError::IssuerMismatch {
                expected: self.issuer.clone(),
                found: doc.issuer,
            });
        }
        crate::verifier::check_url(&doc.jwks_uri)
            .map_err(|reason| malformed(format!("jwks_uri: {reason}")))?;
        let discovered = Discovered {
            jwks_uri: doc.jwks_uri,
            introspection_endpoint: doc
                .introspection_endpoint
                .filter(|u| crate::verifier::check_url(u).is_ok()),
        };
        let url = discovered.jwks_uri.clone();
        *self.discovered.lock().unwrap_or_else(|e| e.into_inner()) = Some(discovered);
        Ok(url)
    }

    /// How long the background task may sleep before the next refresh.
    fn next_refresh_in(&self) -> Duration {
        match self.snapshot() {
            None => Duration::ZERO,
            Some(s) => s
                .refresh_at
                .duration_since(self.clock.now())
                .unwrap_or(Duration::ZERO),
        }
    }
}

enum Update {
    Loaded {
        keys: KeySet,
        etag: Option<String>,
        freshness: Option<Duration>,
    },
    NotModified {
        freshness: Option<Duration>,
    },
}

/// The background refresher: fetches the first set at once, then each set
/// again at four fifths of its life, and after a failure retries once per
/// refetch interval. It holds the cache only weakly, and ends when the last
/// verifier is dropped.
async fn refresh_loop(keys: Weak<RemoteKeys>, shutdown: Arc<Notify>) {
    let mut retry_in: Option<Duration> = None;
    loop {
        let wait = {
            let Some(keys) = keys.upgrade() else { return };
            retry_in.unwrap_or_else(|| keys.next_refresh_in())
        };
        tokio::select! {
            () = tokio::time::sleep(wait.min(MAX_SLEEP)) => {}
            () = shutdown.notified() => return,
        }
        let Some(keys) = keys.upgrade() else { return };
        if retry_in.is_none() && !keys.next_refresh_in().is_zero() {
            continue;
        }
        let seen = keys.snapshot().map(|s| s.generation);
        retry_in = match keys.fetch(seen).await {
            Ok(_) => None,
            Err(_) => Some(keys.settings.refetch_interval),
        };
    }
}

/// A JWKS document, read key by key: one key this parser does not know
/// (another `kty`, a newer member) does not cost the others. A `kid` that
/// more than one entry claims is ambiguous, so every entry with it is left
/// out, known or not.
pub(crate) fn parse_jwks(bytes: &[u8]) -> Result<JwkSet, String> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let doc: Document = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let kid = |v: &serde_json::Value| v.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for k in doc.keys.iter().filter_map(kid) {
        *counts.entry(k).or_default() += 1;
    }
    let keys = doc
        .keys
        .into_iter()
        .filter(|v| kid(v).is_some_and(|k| counts.get(&k) == Some(&1)))
        .filter_map(|v| serde_json::from_value::<Jwk>(v).ok())
        .collect();
    Ok(JwkSet { keys })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn unknown_and_ambiguous_keys_are_left_out() {
        let doc = serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "good", "use": "sig",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "quantum", "kid": "future"},
            {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "twice",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "nonsense", "kid": "twice"},
        ]});
        let set = parse_jwks(doc.to_string().as_bytes()).unwrap();
        let kids: Vec<_> = set
            .keys
            .iter()
            .filter_map(|k| k.common.key_id.clone())
            .collect();
        assert!(kids.contains(&"good".to_string()), "{kids:?}");
        assert!(!kids.contains(&"twice".to_string()), "{kids:?}");
        // Whatever parsed, only the good key can verify.
        let keys = KeySet::from_jwks("i", vec!["i".into()], &set);
        assert_eq!(keys.keys.len(), 1);
        assert_eq!(keys.keys[0].kid(), Some("good"));
    }

    #[test]
    fn a_document_without_keys_is_refused() {
        assert!(parse_jwks(b"{}").is_err());
        assert!(parse_jwks(b"[]").is_err());
        assert!(parse_jwks(b"{\"keys\": []}").unwrap().keys.is_empty());
    }
}
