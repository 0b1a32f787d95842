//! The admin API: every route under `/admin` sits behind one guard, the
//! admin token (`GATEHOUSE_ADMIN_TOKEN`; closed without it).

pub(crate) mod clients;
pub(crate) mod events;
pub(crate) mod keys;
pub(crate) mod roles;
pub(crate) mod tenants;
pub(crate) mod users;

use axum::Router;
use axum::middleware;

use crate::extract::require_admin;
use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(tenants::router()) // /admin/tenants
        .merge(keys::router()) //    /admin/t/{tenant}/keys
        .merge(clients::router()) // /admin/t/{tenant}/clients
        .merge(roles::router()) //   /admin/t/{tenant}/users/{user}/roles
        .merge(events::router()) //  /admin/t/{tenant}/events
        .merge(users::router()) //   /admin/t/{tenant}/users[/{user}[/sessions]]
        .merge(super::guard::admin_router()) // /admin/t/{tenant}/{policies,secrets,apikeys}
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}
