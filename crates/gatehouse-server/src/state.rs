//! What every handler can reach: the use cases and the node's settings.
//! Cloned per request, so everything sits behind one `Arc`.

use std::sync::Arc;

use gatehouse_core::service::Services;
use secrecy::SecretString;

use crate::client_ip::ClientIpSettings;
use crate::mail::MailStatus;
use crate::rate_limit::RateLimits;
use crate::telemetry::Metrics;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// The use cases, and the tenant contexts they serve.
    pub services: Services,
    /// `None` closes the admin API.
    pub admin_token: Option<SecretString>,
    /// Token lifetimes of the replaced systems' formats.
    pub compat: CompatSettings,
    /// Where mails go (SMTP or the log): `/readyz` shows it, shutdown
    /// stops its sender.
    pub mail: MailStatus,
    /// Which peers' forwarding headers are believed: how the client's
    /// address, which sessions record and rate limits count, is decided.
    pub client_ip: ClientIpSettings,
    /// The buckets of the rate-limited routes, per client address.
    pub rate_limits: RateLimits,
    /// Prometheus metrics; `None` (the default) when they are off.
    pub metrics: Option<Metrics>,
}

/// The replaced systems' formats: token lifetimes, and which root routes
/// (which carry no tenant in the path) are served.
#[derive(Debug, Clone, Copy)]
pub struct CompatSettings {
    pub openfaas_token_ttl_secs: i64,
    pub knock_token_ttl_secs: i64,
    /// knock's `POST /user_token` (tenant `default`).
    pub knock_root: bool,
    /// The domain service's `POST /login`, `GET /refresh`, `GET /auth`.
    pub domain_root: bool,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// The base URL issuers derive from.
    pub fn public_url(&self) -> &str {
        self.services.contexts.public_url()
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
