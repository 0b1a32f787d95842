//! Building and running a node: bind the listener (port 0 in tests), make
//! sure the `default` tenant exists, serve until a shutdown future resolves,
//! letting in-flight requests finish.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::rotation::RotationPolicy;
use gatehouse_core::service::account_links::AccountLinkSettings;
use gatehouse_core::service::api_keys::ApiKeyCacheSettings;
use gatehouse_core::service::authorize::AuthorizeSettings;
use gatehouse_core::service::basic_auth::BasicCacheSettings;
use gatehouse_core::service::clients::ClientSettings;
use gatehouse_core::service::verified_tokens::VerifiedTokenCacheSettings;
use gatehouse_core::service::{ContextCacheSettings, LockoutPolicy, Services, Settings};
use gatehouse_core::store::PassThrough;
use gatehouse_core::telemetry::StoreMetrics;
use gatehouse_core::tenant::{DEFAULT_TENANT, TenantName};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::proxy::{Proxy, ProxySettings};
use crate::routes::app;
use crate::state::{AppState, CompatSettings, Inner};

pub use gatehouse_core::service::Parts;

pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
    /// Proxy mode's listener and its forwarder, when configured.
    proxy: Option<(TcpListener, Proxy)>,
    /// How often this node looks for due key rotations.
    key_check_interval: Duration,
    /// How long audit events are kept (the hourly pruning).
    audit_retention: Duration,
    /// The `metrics_listen` listener (only `/metrics`), when configured.
    metrics_listener: Option<TcpListener>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {address}: {reason}")]
    Bind { address: String, reason: String },
    #[error("cannot prepare the default tenant: {0}")]
    DefaultTenant(gatehouse_core::Error),
    #[error("{0}")]
    MasterKey(gatehouse_core::Error),
    #[error("cannot start the password-hashing pool: {0}")]
    HashingPool(gatehouse_core::Error),
    #[error("proxy mode cannot use the tenant {tenant}: {reason} (set --proxy-tenant)")]
    ProxyTenant { tenant: String, reason: String },
    #[error("cannot start proxy mode: {0}")]
    Proxy(String),
    #[error("cannot set up mail: {0}")]
    Mail(crate::mail::MailError),
    #[error("cannot set up metrics: {0}")]
    Metrics(String),
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

async fn bind(address: &str) -> Result<(TcpListener, SocketAddr), StartError> {
    let failed = |e: std::io::Error| StartError::Bind {
        address: address.to_string(),
        reason: e.to_string(),
    };
    let listener = TcpListener::bind(address).await.map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    Ok((listener, bound))
}

impl Application {
    pub async fn build(config: &Config, parts: Parts) -> Result<Self, StartError> {
        let (listener, address) = bind(&config.listen).await?;
        // Derived after binding so port 0 yields the real port.
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let state = prepare_state(config, parts, &public_url).await?;
        let proxy = match (&config.proxy_listen, ProxySettings::from_config(config)) {
            (Some(proxy_listen), Some(settings)) => {
                // A tenant that does not exist would make every request a
                // 404: refuse to start instead.
                if let Err(e) = state.services.contexts.get(&settings.tenant).await {
                    return Err(StartError::ProxyTenant {
                        tenant: settings.tenant,
                        reason: e.to_string(),
                    });
                }
                let (proxy_listener, _) = bind(proxy_listen).await?;
                let proxy = Proxy::new(state.clone(), settings)
                    .map_err(|e| StartError::Proxy(e.to_string()))?;
                Some((proxy_listener, proxy))
            }
            _ => None,
        };
        let metrics_listener = match &config.metrics_listen {
            Some(metrics_listen) => Some(bind(metrics_listen).await?.0),
            None => None,
        };
        Ok(Self {
            listener,
            address,
            state,
            proxy,
            key_check_interval: config.key_check_interval,
            audit_retention: config.audit_retention,
            metrics_listener,
        })
    }

    /// Where the `metrics_listen` listener listens, when it is on.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Where proxy mode listens, when it is on.
    pub fn proxy_address(&self) -> Option<SocketAddr> {
        self.proxy
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn public_url(&self) -> &str {
        self.state.public_url()
    }

    /// The issuer URL of the `default` tenant.
    pub fn default_issuer(&self) -> String {
        // DEFAULT_TENANT is a valid name by construction.
        match TenantName::parse(DEFAULT_TENANT) {
            Ok(name) => self.state.services.contexts.issuer_of(&name),
            Err(_) => format!("{}/t/{DEFAULT_TENANT}", self.state.public_url()),
        }
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then stops accepting and waits for
    /// in-flight requests to finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let maintenance = tokio::spawn(maintain_keys(self.state.clone(), self.key_check_interval));
        let pruning = tokio::spawn(prune_audit(self.state.clone(), self.audit_retention));
        let mail = self.state.mail.clone();
        let audit = self.state.services.audit().clone();
        // One shutdown for both listeners.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        // Forgets idle clients' buckets every minute; ends with the shutdown.
        tokio::spawn(crate::rate_limit::sweep(
            self.state.clone(),
            stopped.clone(),
        ));
        // The metrics listener stops with the others; a scrape in flight
        // finishes.
        let metrics_server = self.metrics_listener.map(|listener| {
            let app = crate::routes::metrics::listener_app(self.state.clone());
            tokio::spawn(
                axum::serve(listener, app)
                    .with_graceful_shutdown(until_stopped(stopped.clone()))
                    .into_future(),
            )
        });
        let api = axum::serve(
            self.listener,
            app(self.state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(until_stopped(stopped.clone()));
        let result = match self.proxy {
            Some((listener, proxy)) => {
                let proxied = axum::serve(
                    listener,
                    proxy
                        .router()
                        .into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(until_stopped(stopped));
                tokio::try_join!(api.into_future(), proxied.into_future()).map(|_| ())
            }
            None => api.await,
        };
        maintenance.abort();
        pruning.abort();
        // What was recorded before the shutdown is written.
        self_audit_flush(&audit).await;
        if let Some(server) = metrics_server {
            match server.await {
                Ok(Err(e)) => tracing::warn!(error = %e, "the metrics listener failed"),
                Err(e) => tracing::warn!(error = %e, "the metrics listener's task failed"),
                Ok(Ok(())) => {}
            }
        }
        // After the last request: the mail it asked for is in the queue.
        mail.shutdown().await;
        result
    }
}

/// Everything a node needs except a listener: checks the master keys,
/// makes sure the `default` tenant exists and builds the shared state. The
/// HTTP server, the Lambda handler and `gatehouse invoke` all start here.
pub async fn prepare_state(
    config: &Config,
    mut parts: Parts,
    public_url: &str,
) -> Result<AppState, StartError> {
    let metrics = crate::telemetry::Metrics::from_config(config).map_err(StartError::Metrics)?;
    if let Some(metrics) = &metrics {
        // Every store call timed and its failures counted, by port method.
        parts.store = Arc::new(PassThrough::new(parts.store, StoreMetrics));
        // Here rather than in `run_until`, so a Lambda instance's histogram
        // samples are folded too; it ends with the runtime.
        tokio::spawn(crate::telemetry::upkeep(metrics.clone()));
    }
    // SMTP through the queue, or the log (with a loud warning).
    let mail = crate::mail::start(config).map_err(StartError::Mail)?;
    let services = Services::build(parts, settings(config), public_url, mail.mailer)
        .map_err(StartError::HashingPool)?;
    // Before anything is written, `rewrap` opens every stored key with the
    // configured master key (a wrong one stops the node, changing
    // nothing); then it seals keys an older version stored in the clear.
    let sealed = services
        .signing_keys
        .rewrap(true)
        .await
        .map_err(StartError::MasterKey)?;
    if sealed > 0 {
        tracing::info!(
            keys = sealed,
            "sealed signing keys stored in the clear by an older version"
        );
    }
    services
        .tenants
        .ensure(DEFAULT_TENANT)
        .await
        .map_err(StartError::DefaultTenant)?;
    services.warm_up();
    Ok(AppState::new(Inner {
        services,
        admin_token: config.admin_token.clone(),
        compat: CompatSettings {
            openfaas_token_ttl_secs: secs(config.compat_openfaas_token_ttl),
            knock_token_ttl_secs: secs(config.compat_knock_token_ttl),
            knock_root: config.compat_knock_root,
            domain_root: config.compat_domain_root,
        },
        mail: mail.status,
        client_ip: crate::client_ip::ClientIpSettings {
            trusted_proxies: config.trusted_proxies.clone(),
            header: config.forwarded_header,
        },
        rate_limits: crate::rate_limit::RateLimits::new(&config.rate_limits),
        metrics,
    }))
}

/// Every node runs this: applies due key steps (see
/// `gatehouse_core::rotation`) and drops its cached keyring of any tenant
/// whose keys changed. Other nodes see the change within their keyring
/// cache TTL, which the pre-publication window exceeds.
pub async fn maintain_keys(state: AppState, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        run_key_maintenance(&state).await;
    }
}

/// Every node deletes audit events past their retention once an hour, in
/// small batches (see `gatehouse_core::service::audit_log::prune`), off
/// every request's path.
async fn prune_audit(state: AppState, retention: Duration) {
    let mut ticker = tokio::time::interval(Duration::from_secs(3600));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match state.services.prune_audit(secs(retention)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "audit events past their retention pruned"),
            Err(e) => tracing::warn!(error = %e, "audit pruning skipped"),
        }
    }
}

async fn self_audit_flush(audit: &gatehouse_core::service::audit_log::AuditLog) {
    // Bounded: a store that is away must not hold the shutdown.
    let _ = tokio::time::timeout(Duration::from_secs(5), audit.flush()).await;
}

/// One pass of key maintenance over every tenant (what the background task
/// does each tick; tests call it after moving their clock).
pub async fn run_key_maintenance(state: &AppState) {
    match state.services.signing_keys.maintain_all().await {
        Ok(changed) => {
            for tenant in changed {
                state.services.contexts.invalidate(&tenant);
            }
        }
        Err(e) => tracing::warn!(error = %e, "key maintenance skipped"),
    }
}

/// The domain settings a configuration implies; also used by the CLI so
/// both apply the same rules.
pub fn settings(config: &Config) -> Settings {
    Settings {
        refresh_ttl_secs: secs(config.refresh_ttl),
        session_ttl_secs: secs(config.session_ttl),
        leeway_secs: secs(config.leeway),
        rotation: RotationPolicy {
            period_secs: secs(config.key_rotation_period),
            prepublish_secs: secs(config.key_prepublish),
            leeway_secs: secs(config.leeway),
        },
        pool: config.hash_pool,
        contexts: ContextCacheSettings {
            ttl: config.keyring_cache_ttl,
            ..ContextCacheSettings::default()
        },
        api_keys: ApiKeyCacheSettings {
            ttl: config.api_key_cache_ttl,
            ..ApiKeyCacheSettings::default()
        },
        basic_cache: BasicCacheSettings {
            ttl: config.basic_cache_ttl,
            ..BasicCacheSettings::default()
        },
        clients: ClientSettings {
            cache_ttl: config.client_cache_ttl,
            secret_overlap: config.client_secret_overlap,
            ..ClientSettings::default()
        },
        authorize: AuthorizeSettings {
            code_ttl_secs: secs(config.authorization_code_ttl),
            browser_session_ttl_secs: secs(config.browser_session_ttl),
        },
        account_links: AccountLinkSettings {
            verify_email_ttl_secs: secs(config.email_verification_ttl),
            reset_password_ttl_secs: secs(config.password_reset_ttl),
            ..AccountLinkSettings::default()
        },
        verified_tokens: VerifiedTokenCacheSettings {
            max_entries: config.verified_token_cache,
        },
        lockout: LockoutPolicy::doubling(
            i64::from(config.lockout_threshold),
            secs(config.lockout_duration),
            secs(config.lockout_max_duration),
        ),
    }
}

/// Resolves on SIGINT or SIGTERM: what `gatehouse serve` shuts down on.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
