//! [`Verifier`]: one issuer's tokens, checked by `gatehouse-jwt` against
//! keys from a remote JWKS cache, a fixed JWKS document, or an HS256 shared
//! secret; and [`VerifierBuilder`], which configures it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_jwt::{KeySet, MAX_TOKEN_BYTES, VerifyingKey};
use serde::de::DeserializeOwned;

use crate::claims::AccessClaims;
use crate::clock::{Clock, SystemClock, unix_seconds};
use crate::error::{BuildError, InvalidToken, RefreshError, VerifyError};
use crate::jwks::{CacheSettings, KeyCacheStats, Location, RemoteKeys};

/// Checks Gatehouse access tokens of one issuer (one tenant).
///
/// Every check is `gatehouse-jwt`'s, the code Gatehouse itself verifies
/// with: the algorithm is the key's (never the header's, never `none`), keys
/// come only from the issuer (never from the token's `jwk`/`jku`/`x5c`),
/// `typ` must be `at+jwt`, and `iss`, `aud`, `exp`, `nbf` and `iat` are
/// checked with a small leeway. This crate adds where the keys come from.
///
/// Cheap to clone (one `Arc`); clones share the key cache. Build one per
/// issuer at start-up with [`Verifier::builder`] and hand clones around
/// (axum state, the [`AuthLayer`](crate::AuthLayer)).
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audiences: Vec<String>,
    leeway_secs: i64,
    clock: Arc<dyn Clock>,
    keys: Keys,
    #[cfg(feature = "introspect")]
    introspection: Option<crate::introspect::Introspector>,
}

enum Keys {
    Fixed(KeySet),
    Shared(SharedSecret),
    Remote(Arc<RemoteKeys>),
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = match &self.inner.keys {
            Keys::Fixed(_) => "fixed JWKS",
            Keys::Shared(_) => "HS256 shared secret",
            Keys::Remote(_) => "remote JWKS",
        };
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Starts configuring a verifier for `issuer`, the tenant's issuer URL
    /// (`{public_url}/t/{tenant}`, exactly as tokens carry it in `iss`).
    ///
    /// By default the keys are found through the issuer's discovery
    /// document and the accepted audience is the issuer itself, which is
    /// what Gatehouse puts in `aud` unless the tenant names audiences.
    pub fn builder(issuer: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder::new(issuer.into())
    }

    /// The issuer whose tokens this verifier accepts.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Verifies `token` (the bare token, without `Bearer `) and returns its
    /// claims.
    ///
    /// Waits for the network only when it must: before the first key set
    /// has arrived, when the cached set is past its stale bound, for a `kid`
    /// the cached set lacks (at most one fetch per refetch interval), and,
    /// if introspection is configured, on an introspection cache miss.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        let claims = self.check(token).await?;
        #[cfg(feature = "introspect")]
        self.introspect(token, claims.exp).await?;
        Ok(AccessClaims::from_jwt(claims))
    }

    /// Verifies `token` like [`Verifier::verify`], then reads its payload
    /// as your own claims type `T` (extra claims, or fewer): every check
    /// has run by then. A payload that does not fit `T` is an invalid token
    /// ([`Reason::Malformed`](crate::Reason::Malformed)).
    pub async fn verify_as<T: DeserializeOwned>(&self, token: &str) -> Result<T, VerifyError> {
        self.verify(token).await?;
        payload_as(token)
    }

    /// Fetches the key set now, unless one was fetched within the refetch
    /// interval; returns why not if that failed. A service can call it at
    /// start-up to fail fast when Gatehouse cannot be reached, or from a
    /// readiness probe. A no-op for a fixed key set or a shared secret.
    pub async fn refresh(&self) -> Result<(), RefreshError> {
        match &self.inner.keys {
            Keys::Remote(remote) => remote.refresh().await.map_err(|e| RefreshError {
                message: e.to_string(),
            }),
            Keys::Fixed(_) | Keys::Shared(_) => Ok(()),
        }
    }

    /// The key cache's traffic with the issuer so far (all zero for a fixed
    /// key set or a shared secret).
    pub fn key_cache_stats(&self) -> KeyCacheStats {
        match &self.inner.keys {
            Keys::Remote(remote) => remote.stats(),
            Keys::Fixed(_) | Keys::Shared(_) => KeyCacheStats::default(),
        }
    }

    /// How long clients are told to wait (`Retry-After`) when keys are
    /// unavailable.
    #[cfg(feature = "axum")]
    pub(crate) fn retry_after_secs(&self) -> u64 {
        match &self.inner.keys {
            Keys::Remote(remote) => remote.retry_after_secs(),
            Keys::Fixed(_) | Keys::Shared(_) => 1,
        }
    }

    /// The offline checks, all of them `gatehouse_jwt::verify_access_token`.
    async fn check(&self, token: &str) -> Result<gatehouse_jwt::AccessClaims, VerifyError> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let secs = unix_seconds(now);
        let verify = |keys: &KeySet| {
            gatehouse_jwt::verify_access_token(keys, token, secs, inner.leeway_secs)
                .map_err(InvalidToken::jwt)
        };
        let result = match &inner.keys {
            Keys::Fixed(keys) => verify(keys),
            Keys::Shared(secret) => verify(&secret.key_set(token, inner)),
            Keys::Remote(remote) => {
                let snapshot = remote
                    .usable(now)
                    .await
                    .map_err(|_| VerifyError::KeysUnavailable)?;
                match verify(&snapshot.keys) {
                    // A key published after our fetch (a rotation): one
                    // fetch, rate-limited, then the verdict stands.
                    Err(e) if e.is_unknown_key() => match remote.newer_than(&snapshot).await {
                        Some(newer) => verify(&newer.keys),
                        None => Err(e),
                    },
                    other => other,
                }
            }
        };
        Ok(result?)
    }

    #[cfg(feature = "introspect")]
    async fn introspect(&self, token: &str, exp: i64) -> Result<(), VerifyError> {
        let inner = &*self.inner;
        let Some(introspection) = &inner.introspection else {
            return Ok(());
        };
        let endpoint = || match &inner.keys {
            Keys::Remote(remote) => remote.introspection_endpoint(),
            Keys::Fixed(_) | Keys::Shared(_) => None,
        };
        let fallback = || format!("{}/introspect", inner.issuer);
        match introspection
            .is_active(token, exp, inner.clock.now(), || {
                endpoint().unwrap_or_else(fallback)
            })
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(InvalidToken::inactive().into()),
            Err(()) => Err(VerifyError::IntrospectionUnavailable),
        }
    }
}

/// The verified token's payload as `T`.
pub(crate) fn payload_as<T: DeserializeOwned>(token: &str) -> Result<T, VerifyError> {
    let payload = token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .ok_or_else(InvalidToken::unfit)?;
    serde_json::from_slice(&payload).map_err(|_| InvalidToken::unfit().into())
}

/// An HS256 tenant's secret, as `gatehouse key secret` prints it (decoded).
struct SharedSecret(Vec<u8>);

impl SharedSecret {
    /// A key set holding the secret under the `kid` the token names.
    ///
    /// Gatehouse gives the secret out without its `kid`, so the secret is
    /// offered under whatever `kid` the token names; the algorithm stays
    /// bound to the key (HS256 only) and every other check is unchanged.
    /// The header is read here only for the `kid`; `gatehouse-jwt` parses
    /// it strictly again and decides.
    fn key_set(&self, token: &str, inner: &Inner) -> KeySet {
        let key = header_kid(token).and_then(|kid| VerifyingKey::hs256(Some(kid), &self.0).ok());
        KeySet::new(
            inner.issuer.clone(),
            inner.audiences.clone(),
            key.into_iter().collect(),
        )
    }
}

fn header_kid(token: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Kid {
        kid: String,
    }
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
    serde_json::from_slice::<Kid>(&header).ok().map(|h| h.kid)
}

/// Text that must not reach logs: `Debug` prints nothing of it.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a verifier's keys come from.
#[derive(Debug, Clone)]
enum Source {
    Discovery,
    JwksUrl(String),
    Jwks(String),
    SharedSecret(Secret),
}

/// Configures a [`Verifier`]; made by [`Verifier::builder`].
///
/// ```
/// use std::time::Duration;
/// use gatehouse_verify::Verifier;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), gatehouse_verify::BuildError> {
/// let verifier = Verifier::builder("https://auth.example.com/t/acme")
///     .audience("https://api.example.com")
///     .refetch_interval(Duration::from_secs(30))
///     .max_stale(Duration::from_secs(3600))
///     .build()?;
/// # Ok(())
/// # }
/// ```
pub struct VerifierBuilder {
    issuer: String,
    audiences: Vec<String>,
    source: Source,
    leeway: Duration,
    clock: Arc<dyn Clock>,
    refetch_interval: Duration,
    max_stale: Duration,
    http_timeout: Duration,
    #[cfg(feature = "introspect")]
    introspection: Option<crate::introspect::Settings>,
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("source", &self.source)
            .field("leeway", &self.leeway)
            .field("refetch_interval", &self.refetch_interval)
            .field("max_stale", &self.max_stale)
            .field("http_timeout", &self.http_timeout)
            .finish_non_exhaustive()
    }
}

/// Default leeway for `exp`, `nbf` and `iat`: Gatehouse's own.
const DEFAULT_LEEWAY: Duration = Duration::from_secs(gatehouse_jwt::DEFAULT_LEEWAY_SECS as u64);
const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
const DEFAULT_MAX_STALE: Duration = Duration::from_secs(15 * 60);
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);

impl VerifierBuilder {
    fn new(issuer: String) -> Self {
        Self {
            issuer,
            audiences: Vec::new(),
            source: Source::Discovery,
            leeway: DEFAULT_LEEWAY,
            clock: Arc::new(SystemClock),
            refetch_interval: DEFAULT_REFETCH_INTERVAL,
            max_stale: DEFAULT_MAX_STALE,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
            #[cfg(feature = "introspect")]
            introspection: None,
        }
    }

    /// Accepts tokens whose `aud` names `audience`. Call it once per
    /// audience; the first call replaces the default (the issuer). A token
    /// must name at least one accepted audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Fetches the keys from this JWKS URL instead of looking it up in the
    /// issuer's discovery document.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.source = Source::JwksUrl(url.into());
        self
    }

    /// Verifies with this fixed JWKS document (its JSON text) and never
    /// fetches: for services that ship the keys with their configuration,
    /// and for tests.
    pub fn jwks(mut self, document: impl Into<String>) -> Self {
        self.source = Source::Jwks(document.into());
        self
    }

    /// Verifies an HS256 tenant's tokens with its shared secret, the
    /// base64url text `gatehouse key secret --tenant NAME` prints. Nothing
    /// is fetched. The secret verifies HS256 only, under whatever `kid` the
    /// token names: after the tenant's key is rotated, hand in the new one.
    pub fn shared_secret(mut self, secret: impl Into<String>) -> Self {
        self.source = Source::SharedSecret(Secret(secret.into()));
        self
    }

    /// The clock skew allowed on `exp`, `nbf` and `iat` (default 30 s, as
    /// Gatehouse allows).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Where "now" comes from: the token times and the key cache's ages are
    /// read from it (default [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The least time between two fetches of the key set, whatever asks
    /// for one: a token with a `kid` the cached set lacks, a stale set, the
    /// background refresh, a retry after a failure (default 10 s). This is
    /// what keeps a flood of random `kid`s from becoming a flood of
    /// requests to Gatehouse; it is also the shortest freshness believed
    /// from `Cache-Control`.
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// How long past its freshness (`Cache-Control: max-age`) the last good
    /// key set keeps serving while the issuer cannot be reached (default 15
    /// minutes, Gatehouse's default access-token lifetime). After that, no
    /// token verifies until the issuer answers again: the verifier fails
    /// closed rather than trusting keys that may have been withdrawn.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// The time limit of each request to the issuer (default 5 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Also asks the issuer's introspection endpoint (RFC 7662) whether
    /// each token is still active, so a token whose session was ended or
    /// revoked is refused before it expires. Authenticates as this
    /// confidential client (client_secret_basic). Answers are cached for a
    /// short while ([`VerifierBuilder::introspection_cache`]); when the
    /// endpoint cannot be reached, tokens are refused (503), not waved
    /// through.
    ///
    /// The endpoint is the one the discovery document names, else
    /// `{issuer}/introspect`; see [`VerifierBuilder::introspection_endpoint`].
    #[cfg(feature = "introspect")]
    pub fn introspection(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        let settings = self.introspection.take().unwrap_or_default();
        self.introspection = Some(crate::introspect::Settings {
            client_id: client_id.into(),
            client_secret: Secret(client_secret.into()),
            ..settings
        });
        self
    }

    /// The introspection endpoint, when it is not the discovered one.
    /// Takes effect with [`VerifierBuilder::introspection`].
    #[cfg(feature = "introspect")]
    pub fn introspection_endpoint(mut self, url: impl Into<String>) -> Self {
        let settings = self.introspection.get_or_insert_with(Default::default);
        settings.endpoint = Some(url.into());
        self
    }

    /// How long an introspection answer "active" is trusted (default 10 s;
    /// never past the token's expiry). A revoked token may pass for this
    /// long. "Inactive" is remembered until the token expires. Takes effect
    /// with [`VerifierBuilder::introspection`].
    #[cfg(feature = "introspect")]
    pub fn introspection_cache(mut self, ttl: Duration) -> Self {
        let settings = self.introspection.get_or_insert_with(Default::default);
        settings.cache_ttl = ttl;
        self
    }

    /// Builds the verifier. A verifier that fetches keys must be built
    /// inside a tokio runtime: it starts fetching at once, in the
    /// background, and keeps its set fresh until the last clone is dropped.
    pub fn build(self) -> Result<Verifier, BuildError> {
        check_url(&self.issuer).map_err(|reason| BuildError::InvalidUrl {
            what: "the issuer",
            reason,
        })?;
        if self.audiences.iter().any(String::is_empty) {
            return Err(BuildError::EmptyAudience);
        }
        let audiences = if self.audiences.is_empty() {
            vec![self.issuer.clone()]
        } else {
            self.audiences
        };
        let leeway_secs = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        let needs_http = matches!(self.source, Source::Discovery | Source::JwksUrl(_));
        #[cfg(feature = "introspect")]
        let needs_http = needs_http || self.introspection.is_some();
        let http = if needs_http {
            Some(crate::http::client(self.http_timeout)?)
        } else {
            None
        };
        let keys = match self.source {
            Source::Jwks(document) => {
                let jwks = crate::jwks::parse_jwks(document.as_bytes())
                    .map_err(BuildError::InvalidJwks)?;
                Keys::Fixed(KeySet::from_jwks(
                    self.issuer.clone(),
                    audiences.clone(),
                    &jwks,
                ))
            }
            Source::SharedSecret(secret) => {
                let bytes = URL_SAFE_NO_PAD
                    .decode(secret.0.trim().trim_end_matches('='))
                    .map_err(|_| BuildError::InvalidSecret("is not base64url text"))?;
                VerifyingKey::hs256(None, &bytes)
                    .map_err(|_| BuildError::InvalidSecret("must have at least 256 bits"))?;
                Keys::Shared(SharedSecret(bytes))
            }
            Source::Discovery | Source::JwksUrl(_) => {
                let location = match self.source {
                    Source::JwksUrl(url) => {
                        check_url(&url).map_err(|reason| BuildError::InvalidUrl {
                            what: "the JWKS URL",
                            reason,
                        })?;
                        Location::Jwks(url)
                    }
                    _ => Location::Discovery(format!(
                        "{}/.well-known/openid-configuration",
                        self.issuer.trim_end_matches('/')
                    )),
                };
                let runtime =
                    tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
                let http = match &http {
                    Some(http) => http.clone(),
                    None => crate::http::client(self.http_timeout)?,
                };
                Keys::Remote(RemoteKeys::start(
                    self.issuer.clone(),
                    audiences.clone(),
                    location,
                    http,
                    self.clock.clone(),
                    CacheSettings {
                        refetch_interval: self.refetch_interval,
                        max_stale: self.max_stale,
                    },
                    runtime,
                ))
            }
        };
        #[cfg(feature = "introspect")]
        let introspection = match (self.introspection, &http) {
            (Some(settings), Some(http)) => {
                if let Some(url) = &settings.endpoint {
                    check_url(url).map_err(|reason| BuildError::InvalidUrl {
                        what: "the introspection endpoint",
                        reason,
                    })?;
                }
                // Only an endpoint without credentials was configured.
                if settings.client_id.is_empty() {
                    None
                } else {
                    Some(crate::introspect::Introspector::new(http.clone(), settings))
                }
            }
            _ => None,
        };
        #[cfg(not(feature = "introspect"))]
        let _ = http;
        Ok(Verifier {
            inner: Arc::new(Inner {
                issuer: self.issuer,
                audiences,
                leeway_secs,
                clock: self.clock,
                keys,
                #[cfg(feature = "introspect")]
                introspection,
            }),
        })
    }
}

/// An absolute `http`/`https` URL, or why not.
pub(crate) fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    match url.scheme() {
        "http" | "https" if url.has_host() => Ok(()),
        "http" | "https" => Err("it has no host".into()),
        other => Err(format!("the scheme {other:?} is not http or https")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(check_url("https://auth.example.com/t/acme").is_ok());
        assert!(check_url("http://127.0.0.1:8080/t/default").is_ok());
        assert!(check_url("/t/default").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("ftp://example.com").is_err());
    }

    #[test]
    fn remote_keys_need_a_runtime() {
        let e = Verifier::builder("http://127.0.0.1:1/t/x")
            .build()
            .unwrap_err();
        assert_eq!(e, BuildError::NoRuntime);
    }

    #[test]
    fn a_fixed_key_set_or_a_secret_needs_no_runtime() {
        assert!(
            Verifier::builder("http://127.0.0.1:1/t/x")
                .jwks(r#"{"keys": []}"#)
                .build()
                .is_ok()
        );
        let secret = URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert!(
            Verifier::builder("http://127.0.0.1:1/t/x")
                .shared_secret(secret)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn bad_configuration_is_refused_at_build() {
        let b = || Verifier::builder("http://127.0.0.1:1/t/x");
        assert!(matches!(
            Verifier::builder("not a url").jwks("{}").build(),
            Err(BuildError::InvalidUrl { .. })
        ));
        assert!(matches!(
            b().jwks("{}").build(),
            Err(BuildError::InvalidJwks(_))
        ));
        assert_eq!(
            b().shared_secret("c2hvcnQ").build().unwrap_err(),
            BuildError::InvalidSecret("must have at least 256 bits")
        );
        assert_eq!(
            b().shared_secret("not base64url!").build().unwrap_err(),
            BuildError::InvalidSecret("is not base64url text")
        );
        assert_eq!(
            b().audience("")
                .jwks(r#"{"keys": []}"#)
                .build()
                .unwrap_err(),
            BuildError::EmptyAudience
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let secret = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let builder = Verifier::builder("http://127.0.0.1:1/t/x").shared_secret(secret.clone());
        assert!(!format!("{builder:?}").contains(&secret));
        let verifier = builder.build().unwrap();
        assert!(!format!("{verifier:?}").contains(&secret));
    }

    #[test]
    fn the_kid_is_read_leniently_and_only_the_kid() {
        let h = |json: &str| format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(json));
        assert_eq!(
            header_kid(&h(r#"{"kid":"k1","alg":"HS256"}"#)).as_deref(),
            Some("k1")
        );
        assert_eq!(header_kid(&h(r#"{"alg":"HS256"}"#)), None);
        assert_eq!(header_kid(&h(r#"{"kid":1}"#)), None);
        assert_eq!(header_kid("%%%.e30.sig"), None);
    }
}
