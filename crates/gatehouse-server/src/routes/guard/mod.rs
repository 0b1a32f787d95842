//! What guarding functions needs besides the gate itself: route policies,
//! webhook secrets and API keys.

pub(crate) mod api_keys;
pub(crate) mod policies;
pub(crate) mod secrets;

use axum::Router;

use crate::state::AppState;

/// The admin half (mounted under the admin guard).
pub fn admin_router() -> Router<AppState> {
    Router::new()
        .merge(policies::router()) //       GET|PUT /admin/t/{tenant}/policies
        .merge(secrets::router()) //        /admin/t/{tenant}/secrets[/{name}]
        .merge(api_keys::admin_router()) // /admin/t/{tenant}/apikeys[/{id}]
}

/// The self-service half: a user's own API keys.
pub fn user_router() -> Router<AppState> {
    api_keys::user_router() // GET|POST {iss}/apikeys, DELETE {iss}/apikeys/{id}
}
