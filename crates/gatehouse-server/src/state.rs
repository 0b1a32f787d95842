//! What every handler can reach: the domain flows, the key cache and the
//! node's settings. Cloned per request, so everything sits behind one `Arc`.

use std::sync::Arc;

use gatehouse_core::auth::Auth;
use secrecy::SecretString;

use crate::keyring_cache::KeyringCache;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub auth: Auth,
    pub keyrings: KeyringCache,
    /// Base URL of this node as clients see it; issuers derive from it.
    pub public_url: String,
    /// `None` closes the admin API.
    pub admin_token: Option<SecretString>,
    /// Token lifetimes of the replaced systems' formats.
    pub compat: CompatSettings,
}

/// Lifetimes, in seconds, of the tokens the compatibility endpoints issue.
#[derive(Debug, Clone, Copy)]
pub struct CompatSettings {
    pub openfaas_token_ttl_secs: i64,
    pub knock_token_ttl_secs: i64,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
