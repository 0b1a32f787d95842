//! OAuth 2.0 and OpenID Connect: the token endpoint, introspection and
//! revocation, userinfo, the authorization endpoint with its hosted
//! sign-in page, and RP-initiated logout.

pub(crate) mod authorize;
mod client_auth;
pub(crate) mod end_session;
pub(crate) mod introspect;
pub(crate) mod token;
pub(crate) mod userinfo;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(token::router()) //       POST {iss}/token
        .merge(introspect::router()) //  POST {iss}/introspect, POST {iss}/revoke
        .merge(userinfo::router()) //    GET|POST {iss}/userinfo
        .merge(authorize::router()) //   GET|POST {iss}/authorize (hosted sign-in)
        .merge(end_session::router()) // GET|POST {iss}/end_session
}
