//! "May this request pass?" for gateways: adapters over core's gate.

pub(crate) mod forward_auth;

use axum::Router;
use axum::http::HeaderMap;
use gatehouse_core::service::gate::HeaderLookup;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(forward_auth::router()) // ANY {iss}/auth, ANY {iss}/auth/{*path}
}

/// An HTTP request's headers as the gate reads them: the first value of a
/// name; a value that is not visible ASCII text is absent.
pub(crate) struct HttpHeaders<'h>(pub &'h HeaderMap);

impl HeaderLookup for HttpHeaders<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}
