//! OAuth 2.0 and OpenID Connect: the token endpoint, introspection and
//! revocation, userinfo, the authorization endpoint with its hosted
//! sign-in page, and RP-initiated logout.

mod authorize;
mod client_auth;
mod end_session;
mod introspect;
mod token;
mod userinfo;

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
