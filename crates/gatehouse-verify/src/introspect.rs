//! RFC 7662 token introspection, for services that want revocation
//! checked: after the offline checks pass, the issuer is asked whether the
//! token is still active, and the answer is cached briefly.
//!
//! The cache is keyed by the token's SHA-256, never the token itself, and
//! holds at most [`MAX_ENTRIES`] answers. "Active" is trusted for the
//! configured few seconds (capped at the token's expiry); "inactive" until
//! the token expires, since a revoked token never comes back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper::StatusCode;
use hyper::header::HeaderValue;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::http::HttpClient;
use crate::verifier::Secret;

/// Enough for the active tokens of a busy service; a full cache drops its
/// expired answers, then everything, rather than grow.
const MAX_ENTRIES: usize = 10_000;

/// The builder's introspection settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub client_id: String,
    pub client_secret: Secret,
    pub endpoint: Option<String>,
    pub cache_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            client_secret: Secret(String::new()),
            endpoint: None,
            cache_ttl: Duration::from_secs(10),
        }
    }
}

struct Answer {
    active: bool,
    until: SystemTime,
}

pub(crate) struct Introspector {
    http: HttpClient,
    endpoint: Option<String>,
    /// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1),
    /// marked sensitive so it stays out of logs.
    authorization: HeaderValue,
    cache_ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], Answer>>,
}

impl Introspector {
    pub(crate) fn new(http: HttpClient, settings: Settings) -> Self {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = format!(
            "{}:{}",
            encode(&settings.client_id),
            encode(&settings.client_secret.0)
        );
        let mut authorization =
            HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(credentials)))
                // Base64 text is always a valid header value.
                .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
        authorization.set_sensitive(true);
        Self {
            http,
            endpoint: settings.endpoint,
            authorization,
            cache_ttl: settings.cache_ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the issuer says `token` (already verified offline, expiring
    /// at `exp`) is active; `Err` when it cannot be asked.
    /// `discovered_endpoint` is only called on a cache miss.
    pub(crate) async fn is_active(
        &self,
        token: &str,
        exp: i64,
        now: SystemTime,
        discovered_endpoint: impl FnOnce() -> String,
    ) -> Result<bool, ()> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(answer) = self.lock().get(&key)
            && now < answer.until
        {
            return Ok(answer.active);
        }
        let endpoint = self.endpoint.clone().unwrap_or_else(discovered_endpoint);
        let active = self.ask(&endpoint, token).await?;
        let expires = UNIX_EPOCH + Duration::from_secs(u64::try_from(exp).unwrap_or(0));
        let until = if active {
            (now + self.cache_ttl).min(expires)
        } else {
            expires
        };
        let mut cache = self.lock();
        if cache.len() >= MAX_ENTRIES {
            cache.retain(|_, a| now < a.until);
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(key, Answer { active, until });
        Ok(active)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Answer>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One introspection request (RFC 7662 §2.1).
    async fn ask(&self, endpoint: &str, token: &str) -> Result<bool, ()> {
        #[derive(Deserialize)]
        struct Response {
            active: bool,
        }
        let form = [("token", token), ("token_type_hint", "access_token")];
        let answer = self
            .http
            .post_form(endpoint, &self.authorization, &form)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e,
                    "cannot ask the introspection endpoint; refusing tokens meanwhile");
            })?;
        if answer.status != StatusCode::OK {
            // 401 here means this service's client credentials are wrong.
            tracing::warn!(
                endpoint,
                status = answer.status.as_u16(),
                "the introspection endpoint refused; refusing tokens meanwhile"
            );
            return Err(());
        }
        let answer: Response = serde_json::from_slice(&answer.body).map_err(|e| {
            tracing::warn!(endpoint, error = %e, "the introspection answer is not RFC 7662 JSON");
        })?;
        Ok(answer.active)
    }
}
