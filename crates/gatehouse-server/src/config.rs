//! The configuration of a node: one typed struct, layered as DESIGN.md says
//! (defaults, then `gatehouse.toml`, then `GATEHOUSE_*` variables, then
//! flags; each later layer wins).

use std::fmt;
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use gatehouse_core::crypto::pool::PoolSettings;
use gatehouse_core::password::Argon2Params;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::client_ip::{ForwardedHeader, TrustedProxies};
use crate::rate_limit::RateLimitSettings;

/// Environment variables are `GATEHOUSE_` + the field name in capitals;
/// nested fields use `__` (`GATEHOUSE_ARGON2__MEMORY_KIB`).
pub const ENV_PREFIX: &str = "GATEHOUSE_";

/// `Debug` is written by hand (below) so that the database URL's password
/// and the secrets never reach a log line or a panic message.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port (tests).
    pub listen: String,
    /// `sqlite://PATH` (default), `postgres://…` or `mysql://…`. May carry
    /// a password: `Debug` shows it as `***`.
    pub database_url: String,
    /// Base URL clients reach this node at; issuer URLs derive from it.
    /// Defaults to `http://<listen address>`.
    pub public_url: Option<String>,
    /// Bearer token of the admin API; the admin API is closed without it.
    #[serde(skip_serializing)]
    pub admin_token: Option<SecretString>,
    /// Master key(s) sealing the private signing keys: 32 bytes base64url,
    /// comma-separated, the first one sealing. Unset: a key file.
    #[serde(skip_serializing)]
    pub master_key: Option<SecretString>,
    /// Where the master key lives when `master_key` is unset. Default:
    /// `gatehouse.master.key` beside the SQLite database, made (mode 0600)
    /// on first start.
    pub master_key_file: Option<String>,
    /// An AWS Secrets Manager secret (ARN or name) holding the master
    /// key(s), read once at start with the AWS credential chain, so a
    /// Lambda function keeps no key in its environment. Used when
    /// `master_key` is unset; its `AWSPREVIOUS` version, if any, is kept
    /// as an old key for rotation. Not itself a secret.
    pub master_key_secret: Option<String>,
    /// How long a signing key signs before its successor takes over.
    #[serde(with = "humantime_serde")]
    pub key_rotation_period: Duration,
    /// How long a successor is published before it signs; must exceed the
    /// JWKS cache lifetime plus the keyring cache TTL.
    #[serde(with = "humantime_serde")]
    pub key_prepublish: Duration,
    /// How often each node checks whether a key step is due.
    #[serde(with = "humantime_serde")]
    pub key_check_interval: Duration,
    /// Password hashing cost.
    pub argon2: Argon2Params,
    /// The fixed pool every password check runs on (`[hash_pool]`,
    /// `GATEHOUSE_HASH_POOL__WORKERS`, `__QUEUE`, `__MAX_WAIT`): at most
    /// `workers` checks at once, each holding the argon2 memory; beyond the
    /// queue, requests get 503 with `Retry-After` at once.
    pub hash_pool: PoolSettings,
    /// Lifetime of one refresh token (each rotation issues a fresh one).
    #[serde(with = "humantime_serde")]
    pub refresh_ttl: Duration,
    /// Absolute lifetime of a session, however often it is refreshed.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// Clock skew tolerated when checking `exp` and `nbf`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// How long a node trusts its cached copy of a tenant's keys before
    /// reading them again. Bounds how late a new key is seen by other nodes.
    #[serde(with = "humantime_serde")]
    pub keyring_cache_ttl: Duration,
    /// How long a checked API key is trusted before it is read again:
    /// bounds how late a revocation made on another node takes effect.
    #[serde(with = "humantime_serde")]
    pub api_key_cache_ttl: Duration,
    /// How long a successful Basic check is remembered (0 s: never), so a
    /// function called often does not run argon2 on every call.
    #[serde(with = "humantime_serde")]
    pub basic_cache_ttl: Duration,
    /// How many access tokens whose signature was checked are remembered,
    /// so one presented again costs a hash lookup, not a verification
    /// (0: none). Session checks, rules and expiry still apply every time.
    pub verified_token_cache: usize,
    /// How long a node trusts its cached copy of an OAuth client: bounds
    /// how late a secret rotation or a deletion made on another node is
    /// seen (this node sees its own at once).
    #[serde(with = "humantime_serde")]
    pub client_cache_ttl: Duration,
    /// How long a client's previous secret keeps working after
    /// `rotate-secret`, so the services holding it can move over.
    #[serde(with = "humantime_serde")]
    pub client_secret_overlap: Duration,
    /// Lifetime of an authorization code (at most 60 s).
    #[serde(with = "humantime_serde")]
    pub authorization_code_ttl: Duration,
    /// How long a browser stays signed in on the hosted login page.
    #[serde(with = "humantime_serde")]
    pub browser_session_ttl: Duration,
    /// How long an email verification link works.
    #[serde(with = "humantime_serde")]
    pub email_verification_ttl: Duration,
    /// How long a password reset link works.
    #[serde(with = "humantime_serde")]
    pub password_reset_ttl: Duration,
    /// Failed password attempts in a row that lock an account.
    pub lockout_threshold: u32,
    /// How long the first lock lasts; each further lock in a row lasts
    /// twice as long, up to `lockout_max_duration`.
    #[serde(with = "humantime_serde")]
    pub lockout_duration: Duration,
    #[serde(with = "humantime_serde")]
    pub lockout_max_duration: Duration,
    /// How long audit events are kept.
    #[serde(with = "humantime_serde")]
    pub audit_retention: Duration,
    /// Connections in the database pool.
    pub db_max_connections: u32,
    /// How long a request waits for the database before answering 503.
    #[serde(with = "humantime_serde")]
    pub db_timeout: Duration,
    /// Log filter (`info`, `gatehouse=debug,tower_http=debug`, …).
    pub log: String,
    /// `text` (default) or `json`: one JSON object a line, each line of a
    /// request carrying its `request_id` (the `X-Request-Id` answered).
    pub log_format: LogFormat,
    /// Bearer token of `GET /metrics` on the main listener; unset, the
    /// main listener has no `/metrics`. A secret: `Debug` hides it.
    #[serde(skip_serializing)]
    pub metrics_token: Option<SecretString>,
    /// A second address serving only `GET /metrics`, without a token (for
    /// a scraper on a private network). Unset: no such listener.
    pub metrics_listen: Option<String>,
    /// Lifetime of the tokens of the OpenFaaS functions' login format
    /// (`/compat/openfaas/login`); the Ruby functions used 4 hours.
    #[serde(with = "humantime_serde")]
    pub compat_openfaas_token_ttl: Duration,
    /// Lifetime of knock's tokens (`/user_token`); knock's default is a day.
    #[serde(with = "humantime_serde")]
    pub compat_knock_token_ttl: Duration,
    /// Serve knock's `POST /user_token` at the root (tenant `default`).
    pub compat_knock_root: bool,
    /// Serve the domain service's `POST /login`, `GET /refresh` and
    /// `GET /auth` at the root.
    pub compat_domain_root: bool,
    /// `gatehouse lambda` refuses SQLite (each Lambda instance would have
    /// its own users and keys on its own ephemeral disk) unless this is set.
    pub lambda_allow_sqlite: bool,
    /// The tenant whose tokens `gatehouse lambda-authorizer` accepts.
    pub authorizer_tenant: String,
    /// Proxy mode: a second address on which every request is judged by
    /// the gate (the policies of `proxy_tenant`) and, if it may pass,
    /// forwarded to `upstream` with the identity headers. Unset: no proxy.
    pub proxy_listen: Option<String>,
    /// Where proxy mode forwards to: `http://host:port[/prefix]` (the
    /// OpenFaaS gateway, a function, any HTTP service).
    pub upstream: Option<String>,
    /// The tenant whose policies and credentials proxy mode applies.
    pub proxy_tenant: String,
    /// The largest body proxy mode buffers (only for HMAC rules, which
    /// sign the body); a larger one is refused with 413.
    pub proxy_max_body_bytes: usize,
    /// How long proxy mode waits to connect to the upstream (then 502).
    #[serde(with = "humantime_serde")]
    pub proxy_connect_timeout: Duration,
    /// How long proxy mode waits for the upstream's answer to start, and
    /// between two chunks of it (then 504), and for a buffered request
    /// body to arrive (then 408).
    #[serde(with = "humantime_serde")]
    pub proxy_timeout: Duration,
    /// Requests proxy mode forwards at once; beyond, 503 + `Retry-After`.
    pub proxy_max_in_flight: usize,
    /// The proxies in front of this node (comma-separated CIDRs or
    /// addresses, or a list): only from them is `forwarded_header`
    /// believed to name the client. Empty: the socket's peer is the
    /// client, whatever a header says.
    pub trusted_proxies: TrustedProxies,
    /// The header the trusted proxies set: `x-forwarded-for` (default) or
    /// `forwarded` (RFC 7239). The other is never read.
    pub forwarded_header: ForwardedHeader,
    /// Requests per client address on the routes that guess passwords,
    /// create accounts, mint tokens and send mail (`[rate_limits]`,
    /// `GATEHOUSE_RATE_LIMITS__LOGIN=20/min burst 10`, …); 429 beyond.
    pub rate_limits: RateLimitSettings,
    /// The mail server: `smtp://host` (STARTTLS if offered),
    /// `smtp://user:pass@host?tls=required`, `smtps://user:pass@host`
    /// (implicit TLS), `smtp://host?tls=none`. Unset: mails go to the log.
    /// A secret (its password): `Debug` shows it as `***`.
    #[serde(skip_serializing)]
    pub smtp_url: Option<SecretString>,
    /// The From of mails whose tenant has no `mail_from` of its own.
    pub smtp_from: String,
    /// A directory of mail templates overriding the built-in ones, file
    /// by file (`reset_password.subject.txt`, `reset_password.txt`,
    /// `reset_password.html`, …).
    pub mail_templates: Option<String>,
    /// Mails waiting for the mail server at most; beyond, a mail is
    /// dropped (logged, counted) rather than held in memory.
    pub mail_queue_capacity: usize,
    /// The first wait after the mail server could not be reached; it
    /// doubles at each failure in a row, up to `mail_backoff_max`.
    #[serde(with = "humantime_serde")]
    pub mail_backoff_min: Duration,
    /// The longest wait between two tries.
    #[serde(with = "humantime_serde")]
    pub mail_backoff_max: Duration,
    /// A mail not delivered this long after it was asked for is given up
    /// (an error in the log).
    #[serde(with = "humantime_serde")]
    pub mail_retry_max: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://gatehouse.db".into(),
            public_url: None,
            admin_token: None,
            master_key: None,
            master_key_file: None,
            master_key_secret: None,
            key_rotation_period: Duration::from_secs(30 * 24 * 3600),
            key_prepublish: Duration::from_secs(24 * 3600),
            key_check_interval: Duration::from_secs(60),
            argon2: Argon2Params::default(),
            hash_pool: PoolSettings::default(),
            refresh_ttl: Duration::from_secs(14 * 24 * 3600),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            leeway: Duration::from_secs(30),
            keyring_cache_ttl: Duration::from_secs(60),
            api_key_cache_ttl: Duration::from_secs(30),
            verified_token_cache: 16_384,
            basic_cache_ttl: Duration::from_secs(10),
            client_cache_ttl: Duration::from_secs(30),
            client_secret_overlap: Duration::from_secs(24 * 3600),
            authorization_code_ttl: Duration::from_secs(60),
            browser_session_ttl: Duration::from_secs(12 * 3600),
            email_verification_ttl: Duration::from_secs(24 * 3600),
            password_reset_ttl: Duration::from_secs(30 * 60),
            lockout_threshold: 10,
            lockout_duration: Duration::from_secs(60),
            lockout_max_duration: Duration::from_secs(3600),
            audit_retention: Duration::from_secs(90 * 24 * 3600),
            db_max_connections: 8,
            db_timeout: Duration::from_secs(5),
            log: "info".into(),
            log_format: LogFormat::Text,
            metrics_token: None,
            metrics_listen: None,
            compat_openfaas_token_ttl: Duration::from_secs(4 * 3600),
            compat_knock_token_ttl: Duration::from_secs(24 * 3600),
            compat_knock_root: true,
            compat_domain_root: true,
            lambda_allow_sqlite: false,
            authorizer_tenant: "default".into(),
            proxy_listen: None,
            upstream: None,
            proxy_tenant: "default".into(),
            proxy_max_body_bytes: 1024 * 1024,
            proxy_connect_timeout: Duration::from_secs(5),
            proxy_timeout: Duration::from_secs(30),
            proxy_max_in_flight: 256,
            trusted_proxies: TrustedProxies::default(),
            forwarded_header: ForwardedHeader::default(),
            rate_limits: RateLimitSettings::default(),
            smtp_url: None,
            smtp_from: "Gatehouse <no-reply@localhost>".into(),
            mail_templates: None,
            mail_queue_capacity: 1000,
            mail_backoff_min: Duration::from_secs(1),
            mail_backoff_max: Duration::from_secs(5 * 60),
            mail_retry_max: Duration::from_secs(24 * 3600),
        }
    }
}

/// Every field but the secrets: the database URL with its password (and
/// any password-like query parameter) as `***`, and only whether
/// `admin_token` and `master_key` are set. The destructuring names every
/// field, so a new one does not compile until someone decides here whether
/// it may be shown.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Config {
            listen,
            database_url,
            public_url,
            admin_token,
            master_key,
            master_key_file,
            master_key_secret,
            key_rotation_period,
            key_prepublish,
            key_check_interval,
            argon2,
            hash_pool,
            refresh_ttl,
            session_ttl,
            leeway,
            keyring_cache_ttl,
            api_key_cache_ttl,
            verified_token_cache,
            basic_cache_ttl,
            client_cache_ttl,
            client_secret_overlap,
            authorization_code_ttl,
            browser_session_ttl,
            email_verification_ttl,
            password_reset_ttl,
            lockout_threshold,
            lockout_duration,
            lockout_max_duration,
            audit_retention,
            db_max_connections,
            db_timeout,
            log,
            log_format,
            metrics_token,
            metrics_listen,
            compat_openfaas_token_ttl,
            compat_knock_token_ttl,
            compat_knock_root,
            compat_domain_root,
            lambda_allow_sqlite,
            authorizer_tenant,
            proxy_listen,
            upstream,
            proxy_tenant,
            proxy_max_body_bytes,
            proxy_connect_timeout,
            proxy_timeout,
            proxy_max_in_flight,
            trusted_proxies,
            forwarded_header,
            rate_limits,
            smtp_url,
            smtp_from,
            mail_templates,
            mail_queue_capacity,
            mail_backoff_min,
            mail_backoff_max,
            mail_retry_max,
        } = self;
        let set = |s: &Option<SecretString>| if s.is_some() { "Some(***)" } else { "None" };
        f.debug_struct("Config")
            .field("listen", listen)
            .field("database_url", &redacted_url(database_url))
            .field("public_url", &public_url.as_deref().map(redacted_url))
            .field("admin_token", &format_args!("{}", set(admin_token)))
            .field("master_key", &format_args!("{}", set(master_key)))
            .field("master_key_file", master_key_file)
            .field("master_key_secret", master_key_secret)
            .field("key_rotation_period", key_rotation_period)
            .field("key_prepublish", key_prepublish)
            .field("key_check_interval", key_check_interval)
            .field("argon2", argon2)
            .field("hash_pool", hash_pool)
            .field("refresh_ttl", refresh_ttl)
            .field("session_ttl", session_ttl)
            .field("leeway", leeway)
            .field("keyring_cache_ttl", keyring_cache_ttl)
            .field("api_key_cache_ttl", api_key_cache_ttl)
            .field("verified_token_cache", verified_token_cache)
            .field("basic_cache_ttl", basic_cache_ttl)
            .field("client_cache_ttl", client_cache_ttl)
            .field("client_secret_overlap", client_secret_overlap)
            .field("authorization_code_ttl", authorization_code_ttl)
            .field("browser_session_ttl", browser_session_ttl)
            .field("email_verification_ttl", email_verification_ttl)
            .field("password_reset_ttl", password_reset_ttl)
            .field("lockout_threshold", lockout_threshold)
            .field("lockout_duration", lockout_duration)
            .field("lockout_max_duration", lockout_max_duration)
            .field("audit_retention", audit_retention)
            .field("db_max_connections", db_max_connections)
            .field("db_timeout", db_timeout)
            .field("log", log)
            .field("log_format", log_format)
            .field("metrics_token", &format_args!("{}", set(metrics_token)))
            .field("metrics_listen", metrics_listen)
            .field("compat_openfaas_token_ttl", compat_openfaas_token_ttl)
            .field("compat_knock_token_ttl", compat_knock_token_ttl)
            .field("compat_knock_root", compat_knock_root)
            .field("compat_domain_root", compat_domain_root)
            .field("lambda_allow_sqlite", lambda_allow_sqlite)
            .field("authorizer_tenant", authorizer_tenant)
            .field("proxy_listen", proxy_listen)
            .field("upstream", &upstream.as_deref().map(redacted_url))
            .field("proxy_tenant", proxy_tenant)
            .field("proxy_max_body_bytes", proxy_max_body_bytes)
            .field("proxy_connect_timeout", proxy_connect_timeout)
            .field("proxy_timeout", proxy_timeout)
            .field("proxy_max_in_flight", proxy_max_in_flight)
            .field("trusted_proxies", trusted_proxies)
            .field("forwarded_header", forwarded_header)
            .field("rate_limits", rate_limits)
            .field(
                "smtp_url",
                &smtp_url.as_ref().map(|u| redacted_url(u.expose_secret())),
            )
            .field("smtp_from", smtp_from)
            .field("mail_templates", mail_templates)
            .field("mail_queue_capacity", mail_queue_capacity)
            .field("mail_backoff_min", mail_backoff_min)
            .field("mail_backoff_max", mail_backoff_max)
            .field("mail_retry_max", mail_retry_max)
            .finish()
    }
}

/// A URL fit for logs: the password of its user info and the values of
/// password-like query parameters (`?password=`, `sslpassword=`, …, which
/// PostgreSQL accepts) replaced by `***`. Anything else that is not a plain
/// `scheme://host/…` URL keeps only its scheme, since where a secret might
/// sit in it cannot be told (`sqlite:file.db`, a path, is kept whole).
fn redacted_url(raw: &str) -> String {
    let scheme_only = |scheme: &str| format!("{scheme}://***");
    let mut url = match url::Url::parse(raw) {
        Ok(url) if !url.cannot_be_a_base() => url,
        Ok(url) if url.scheme() == "sqlite" => return raw.to_string(),
        Ok(url) => return scheme_only(url.scheme()),
        Err(_) => {
            return match raw.split_once(':') {
                Some((scheme, _))
                    if !scheme.is_empty()
                        && scheme
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
                {
                    scheme_only(scheme)
                }
                _ => "***".to_string(),
            };
        }
    };
    let has_password = url.password().is_some();
    if has_password {
        // Fails only for URLs that cannot have a password, and this one has one.
        let _ = url.set_password(Some("***"));
    }
    let mut secret_in_query = false;
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let key = k.to_ascii_lowercase();
            let secret = ["pass", "secret", "token", "key"]
                .iter()
                .any(|word| key.contains(word));
            secret_in_query |= secret;
            let v = if secret { "***".into() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    if secret_in_query {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // Unchanged text stays as written (`Url` would add a trailing `/`).
    if has_password || secret_in_query {
        url.to_string()
    } else {
        raw.to_string()
    }
}

/// How log lines are written (`--log-format`, `GATEHOUSE_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line (`tracing-subscriber`'s format), for log
    /// shippers: the event's fields, and the spans it happened in, the
    /// `request` span with its `request_id` among them.
    Json,
}

/// The shortest metrics token accepted: a guessable one would publish
/// what the series tell.
const MIN_METRICS_TOKEN_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Builds the configuration from its layers. `overrides` are the
    /// command-line flags that were given (serialised with absent flags
    /// skipped), and win over everything else.
    pub fn load<T: Serialize>(toml_file: Option<&Path>, overrides: T) -> Result<Self, ConfigError> {
        let file = toml_file.unwrap_or(Path::new("gatehouse.toml"));
        if toml_file.is_some() && !file.exists() {
            return Err(ConfigError(format!(
                "the configuration file {} does not exist",
                file.display()
            )));
        }
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Serialized::defaults(secret_files(&secrets_dir())))
            .merge(Env::prefixed(ENV_PREFIX).split("__").filter(|k| {
                let key = k.as_str().to_ascii_lowercase();
                known_key(&key) && key != SECRETS_DIR_KEY
            }))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError(
                "public_url must start with http:// or https:// (set GATEHOUSE_PUBLIC_URL)".into(),
            ));
        }
        // A node may answer from a context up to twice keyring_cache_ttl
        // old (a stale one serves while its reload runs).
        let min_prepublish =
            crate::routes::JWKS_MAX_AGE_SECS as u64 + 2 * self.keyring_cache_ttl.as_secs();
        if self.key_prepublish.as_secs() <= min_prepublish {
            return Err(ConfigError(format!(
                "key_prepublish must be longer than the JWKS cache lifetime plus twice \
                 keyring_cache_ttl ({min_prepublish} s), so every verifier knows a key before it signs"
            )));
        }
        if self.key_rotation_period <= self.key_prepublish {
            return Err(ConfigError(
                "key_rotation_period must be longer than key_prepublish".into(),
            ));
        }
        if self.hash_pool.queue == 0 {
            return Err(ConfigError(
                "hash_pool.queue must be at least 1 (GATEHOUSE_HASH_POOL__QUEUE)".into(),
            ));
        }
        match (&self.proxy_listen, &self.upstream) {
            (Some(_), None) => {
                return Err(ConfigError(
                    "proxy_listen needs an upstream to forward to (--upstream or GATEHOUSE_UPSTREAM)"
                        .into(),
                ));
            }
            (_, Some(upstream)) => {
                let parsed = url::Url::parse(upstream).ok();
                let Some(parsed) = parsed.filter(|u| u.scheme() == "http" && u.host().is_some())
                else {
                    return Err(ConfigError(
                        "upstream must be an http://host[:port][/prefix] URL (proxy mode speaks \
                         plain HTTP to the upstream; put TLS in front of Gatehouse, not behind it)"
                            .into(),
                    ));
                };
                if !parsed.username().is_empty() || parsed.password().is_some() {
                    return Err(ConfigError(
                        "upstream must not carry credentials: the client's own `Authorization` \
                         goes to the upstream"
                            .into(),
                    ));
                }
                if parsed.query().is_some() || parsed.fragment().is_some() {
                    return Err(ConfigError(
                        "upstream must not carry a query or fragment; each request brings its own"
                            .into(),
                    ));
                }
            }
            (None, None) => {}
        }
        if self.proxy_max_in_flight == 0 {
            return Err(ConfigError(
                "proxy_max_in_flight must be at least 1 (GATEHOUSE_PROXY_MAX_IN_FLIGHT)".into(),
            ));
        }
        if self.authorization_code_ttl.is_zero() || self.authorization_code_ttl.as_secs() > 60 {
            return Err(ConfigError(
                "authorization_code_ttl must be between 1 s and 60 s (RFC 6749 §4.1.2: short-lived)"
                    .into(),
            ));
        }
        if self.lockout_threshold == 0 || self.lockout_duration.is_zero() {
            return Err(ConfigError(
                "lockout_threshold and lockout_duration must be at least 1 (a soft-lock cannot be turned off)"
                    .into(),
            ));
        }
        if self.lockout_max_duration < self.lockout_duration {
            return Err(ConfigError(
                "lockout_max_duration must not be shorter than lockout_duration".into(),
            ));
        }
        if self.db_max_connections == 0 {
            return Err(ConfigError("db_max_connections must be at least 1".into()));
        }
        self.rate_limits.validate().map_err(ConfigError)?;
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().trim().len() < MIN_METRICS_TOKEN_LEN)
        {
            return Err(ConfigError(format!(
                "metrics_token must be at least {MIN_METRICS_TOKEN_LEN} characters \
                 (GATEHOUSE_METRICS_TOKEN; e.g. `openssl rand -hex 32`)"
            )));
        }
        self.validate_mail()?;
        Ok(())
    }

    /// The mail settings (the messages never repeat `smtp_url`).
    fn validate_mail(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.smtp_url {
            crate::mail::SmtpUrl::parse(url.expose_secret())
                .map_err(|e| ConfigError(format!("{e} (GATEHOUSE_SMTP_URL)")))?;
        }
        if self.smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError(
                "smtp_from must be a mail address, e.g. `Gatehouse <no-reply@example.com>` \
                 (GATEHOUSE_SMTP_FROM)"
                    .into(),
            ));
        }
        if self.mail_queue_capacity == 0 {
            return Err(ConfigError(
                "mail_queue_capacity must be at least 1 (GATEHOUSE_MAIL_QUEUE_CAPACITY)".into(),
            ));
        }
        if self.mail_backoff_min.is_zero() || self.mail_backoff_min > self.mail_backoff_max {
            return Err(ConfigError(
                "mail_backoff_min must be above 0 s and at most mail_backoff_max".into(),
            ));
        }
        if self.mail_retry_max.is_zero() {
            return Err(ConfigError("mail_retry_max must be above 0 s".into()));
        }
        Ok(())
    }

    /// `GATEHOUSE_*` variables this version does not understand; worth a
    /// warning, since a typo would otherwise be silently ignored.
    pub fn unknown_env_vars() -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter_map(|k| {
                let rest = k.strip_prefix(ENV_PREFIX)?;
                (!known_key(&rest.to_ascii_lowercase()) && !rest.starts_with("TEST_")).then_some(k)
            })
            .collect()
    }
}

/// Where OpenFaaS mounts a function's secrets, one file per secret.
pub const OPENFAAS_SECRETS_DIR: &str = "/var/openfaas/secrets";

/// The secrets that may come from files, and their file names: OpenFaaS
/// (and Docker or Kubernetes) mount each secret as a file named after it.
const SECRET_FILES: &[(&str, &str)] = &[
    ("database_url", "gatehouse-database-url"),
    ("master_key", "gatehouse-master-key"),
    ("admin_token", "gatehouse-admin-token"),
    ("smtp_url", "gatehouse-smtp-url"),
    ("metrics_token", "gatehouse-metrics-token"),
];

/// `GATEHOUSE_SECRETS_DIR` is read before the configuration is built (it
/// says where part of it lives), so it is not a `Config` field.
const SECRETS_DIR_KEY: &str = "secrets_dir";

/// `GATEHOUSE_SECRETS_DIR`, else the OpenFaaS mount point.
fn secrets_dir() -> std::path::PathBuf {
    std::env::var_os("GATEHOUSE_SECRETS_DIR")
        .map(Into::into)
        .unwrap_or_else(|| OPENFAAS_SECRETS_DIR.into())
}

/// The secrets found as files in `dir`, as a configuration layer below the
/// variables (a variable that is set wins). Trailing newlines, which
/// `echo … > file` and `faas-cli secret create --from-literal` leave or
/// not, are dropped.
fn secret_files(dir: &Path) -> std::collections::BTreeMap<&'static str, String> {
    SECRET_FILES
        .iter()
        .filter_map(|(key, file)| {
            let text = std::fs::read_to_string(dir.join(file)).ok()?;
            let value = text.trim_end_matches(['\r', '\n']).to_string();
            (!value.is_empty()).then_some((*key, value))
        })
        .collect()
}

/// Top-level keys (lowercase) that map to `Config` fields. Variables reserved
/// for later features are accepted silently so upgrades do not warn.
fn known_key(key: &str) -> bool {
    const KEYS: &[&str] = &[
        "listen",
        "database_url",
        "public_url",
        "admin_token",
        "master_key",
        "master_key_file",
        "master_key_secret",
        "key_rotation_period",
        "key_prepublish",
        "key_check_interval",
        "argon2",
        "hash_pool",
        "refresh_ttl",
        "session_ttl",
        "leeway",
        "keyring_cache_ttl",
        "api_key_cache_ttl",
        "verified_token_cache",
        "basic_cache_ttl",
        "client_cache_ttl",
        "client_secret_overlap",
        "authorization_code_ttl",
        "browser_session_ttl",
        "email_verification_ttl",
        "password_reset_ttl",
        "lockout_threshold",
        "lockout_duration",
        "lockout_max_duration",
        "audit_retention",
        "db_max_connections",
        "db_timeout",
        "log",
        "log_format",
        "metrics_token",
        "metrics_listen",
        "compat_openfaas_token_ttl",
        "compat_knock_token_ttl",
        "compat_knock_root",
        "compat_domain_root",
        SECRETS_DIR_KEY,
        "lambda_allow_sqlite",
        "authorizer_tenant",
        "proxy_listen",
        "upstream",
        "proxy_tenant",
        "proxy_max_body_bytes",
        "proxy_connect_timeout",
        "proxy_timeout",
        "proxy_max_in_flight",
        "trusted_proxies",
        "forwarded_header",
        "rate_limits",
        "smtp_url",
        "smtp_from",
        "mail_templates",
        "mail_queue_capacity",
        "mail_backoff_min",
        "mail_backoff_max",
        "mail_retry_max",
    ];
    let top = key
        .split("__")
        .next()
        .unwrap_or(key)
        .split('.')
        .next()
        .unwrap_or(key);
    KEYS.contains(&top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Flags {
        #[serde(skip_serializing_if = "Option::is_none")]
        listen: Option<String>,
    }

    #[test]
    fn flags_win_and_defaults_fill_in() {
        let c = Config::load(
            None,
            Flags {
                listen: Some("127.0.0.1:0".into()),
            },
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:0");
        assert_eq!(c.argon2, Argon2Params::default());
        let c = Config::load(None, Flags { listen: None }).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
    }

    #[test]
    fn proxy_mode_needs_a_plain_http_upstream() {
        let with = |listen: Option<&str>, upstream: Option<&str>| Config {
            proxy_listen: listen.map(String::from),
            upstream: upstream.map(String::from),
            ..Config::default()
        };
        assert!(with(None, None).validate().is_ok());
        assert!(
            with(Some("127.0.0.1:8081"), Some("http://127.0.0.1:8080/prefix"))
                .validate()
                .is_ok()
        );
        for (upstream, says) in [
            (None, "needs an upstream"),
            (Some("https://fn.example"), "http://"),
            (Some("127.0.0.1:8080"), "http://"),
            (Some("http://u:p@fn.example"), "credentials"),
            (Some("http://fn.example/?a=1"), "query"),
        ] {
            let e = with(Some("127.0.0.1:8081"), upstream)
                .validate()
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{upstream:?}: {e}");
            assert!(!e.contains(":p@"), "{e}");
        }
    }

    #[test]
    fn rate_limits_and_trusted_proxies_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gatehouse.toml");
        let load = |text: &str| {
            std::fs::write(&file, text).unwrap();
            Config::load(Some(&file), Flags { listen: None })
        };
        let c = load(
            "trusted_proxies = \"10.0.0.0/8, fd00::/8\"\n\
             forwarded_header = \"forwarded\"\n\
             [rate_limits]\nlogin = \"5/s burst 2\"\ntoken = \"off\"\npages = 0\n",
        )
        .unwrap();
        assert!(c.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.trusted_proxies.contains("11.1.2.3".parse().unwrap()));
        assert_eq!(c.forwarded_header, ForwardedHeader::Forwarded);
        assert_eq!(c.rate_limits.login.to_string(), "5/s burst 2");
        assert!(c.rate_limits.token.is_off() && c.rate_limits.pages.is_off());
        assert_eq!(c.rate_limits.register.to_string(), "10/min", "default kept");
        let c = load("trusted_proxies = [\"127.0.0.1\", \"::1\"]\n").unwrap();
        assert!(c.trusted_proxies.contains("::1".parse().unwrap()));
        assert_eq!(c.rate_limits, RateLimitSettings::default());
        assert!(format!("{c:?}").contains("login: Limit"), "{c:?}");
        for (text, says) in [
            ("trusted_proxies = \"10.0.0.0/33\"", "10.0.0.0/33"),
            ("[rate_limits]\nlogin = \"20/day\"", "20/day"),
            ("[rate_limits]\nlogin = 20", "20/min"),
            ("[rate_limits]\nlogn = \"20/min\"", "logn"),
        ] {
            let e = load(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        assert!(
            Config::load(
                Some(Path::new("/nonexistent/g.toml")),
                Flags { listen: None }
            )
            .is_err()
        );
    }

    #[test]
    fn secrets_come_from_files_named_as_openfaas_mounts_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gatehouse-admin-token"), "s3cret-admin\n").unwrap();
        std::fs::write(dir.path().join("gatehouse-database-url"), "").unwrap();
        let found = secret_files(dir.path());
        assert_eq!(
            found.get("admin_token").map(String::as_str),
            Some("s3cret-admin")
        );
        assert!(
            !found.contains_key("database_url"),
            "an empty file is no secret"
        );
        assert!(!found.contains_key("master_key"));
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = Config {
            database_url: "postgres://gh:s3cret-db@db.internal:5432/gatehouse?sslmode=require"
                .into(),
            admin_token: Some(SecretString::from("hunter2hunter2".to_string())),
            master_key: Some(SecretString::from(
                "bWFzdGVyLWtleS0zMi1ieXRlcy1sb25nLTAwMDAwMDA".to_string(),
            )),
            ..Config::default()
        };
        let debug = format!("{c:?}");
        for secret in ["s3cret-db", "hunter2", "bWFzdGVyLWtleS0"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(
            debug.contains("postgres://gh:***@db.internal:5432/gatehouse?sslmode=require"),
            "{debug}"
        );
        assert!(debug.contains("admin_token: Some(***)"), "{debug}");
        assert!(debug.contains("listen: \"127.0.0.1:8080\""), "{debug}");
        let pretty = format!("{c:#?}");
        assert!(!pretty.contains("s3cret-db") && !pretty.contains("hunter2"));
    }

    #[test]
    fn smtp_url_is_a_secret_checked_without_being_repeated() {
        let with = |url: &str| Config {
            smtp_url: Some(SecretString::from(url.to_string())),
            ..Config::default()
        };
        let c = with("smtps://mailer:s3cret-smtp@mail.example:465");
        assert!(c.validate().is_ok());
        let debug = format!("{c:?}");
        assert!(!debug.contains("s3cret-smtp"), "{debug}");
        assert!(
            debug.contains("smtps://mailer:***@mail.example:465"),
            "{debug}"
        );
        let e = with("smtp://mailer:s3cret-smtp@mail.example")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("tls=required") && !e.contains("s3cret"), "{e}");
        let e = Config {
            smtp_from: "not an address".into(),
            ..Config::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("smtp_from"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("gatehouse-smtp-url"),
            "smtps://u:p@mail.example\n",
        )
        .unwrap();
        assert_eq!(
            secret_files(dir.path()).get("smtp_url").map(String::as_str),
            Some("smtps://u:p@mail.example")
        );
    }

    #[test]
    fn the_metrics_token_is_a_secret_of_some_length() {
        let c = Config {
            metrics_token: Some(SecretString::from("s3cret-metrics-token-01".to_string())),
            metrics_listen: Some("127.0.0.1:9090".into()),
            log_format: LogFormat::Json,
            ..Config::default()
        };
        assert!(c.validate().is_ok());
        let debug = format!("{c:?}");
        assert!(!debug.contains("s3cret-metrics"), "{debug}");
        assert!(debug.contains("metrics_token: Some(***)"), "{debug}");
        assert!(debug.contains("log_format: Json"), "{debug}");
        let e = Config {
            metrics_token: Some(SecretString::from("short".to_string())),
            ..Config::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("metrics_token") && !e.contains("short"), "{e}");
        assert!(known_key("metrics_token") && known_key("log_format"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gatehouse-metrics-token"), "from-a-file\n").unwrap();
        assert_eq!(
            secret_files(dir.path())
                .get("metrics_token")
                .map(String::as_str),
            Some("from-a-file")
        );
    }

    #[test]
    fn the_log_format_is_text_or_json() {
        #[derive(Serialize)]
        struct Format {
            log_format: &'static str,
        }
        let c = Config::load(None, Format { log_format: "json" }).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(Config::default().log_format, LogFormat::Text);
        assert!(Config::load(None, Format { log_format: "xml" }).is_err());
    }

    #[test]
    fn urls_lose_their_passwords_wherever_they_sit() {
        assert_eq!(
            redacted_url("mysql://gh:p%40ss@db/gh"),
            "mysql://gh:***@db/gh"
        );
        assert_eq!(
            redacted_url("postgres://db/gh?user=gh&password=s3cret&sslmode=require"),
            "postgres://db/gh?user=gh&password=***&sslmode=require"
        );
        assert_eq!(
            redacted_url("sqlite://gatehouse.db"),
            "sqlite://gatehouse.db"
        );
        assert_eq!(redacted_url("sqlite:gatehouse.db"), "sqlite:gatehouse.db");
        assert_eq!(
            redacted_url("postgres://user:s3cret@[bad"),
            "postgres://***"
        );
        assert_eq!(redacted_url("user:s3cret@host/db"), "user://***");
        assert_eq!(redacted_url("s3cret"), "***");
    }
}
