//! "May this request pass?" for gateways: adapters over core's gate.

pub(crate) mod forward_auth;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(forward_auth::router()) // ANY {iss}/auth
}
