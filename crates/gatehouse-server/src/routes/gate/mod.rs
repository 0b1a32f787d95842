//! "May this request pass?" for gateways: adapters over core's gate.

pub(crate) mod forward_auth;

use axum::Router;
use axum::http::{HeaderMap, HeaderName, header};
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
        // The names every forward-auth request asks for, as constants: a
        // `&str` name is parsed and validated on each lookup.
        let value = match name {
            "authorization" => self.0.get(header::AUTHORIZATION),
            "x-api-key" => self.0.get(&X_API_KEY),
            _ => self.0.get(name),
        };
        value.and_then(|v| v.to_str().ok())
    }
}

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
