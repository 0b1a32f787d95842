//! A tenant's own accounts: sign-up, password login and logout, email
//! verification, forgotten and changed passwords, and the signed-in
//! user's profile and sessions. (The OAuth 2.0 token endpoint is in
//! `oauth`.)

pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod me;
pub(crate) mod password;
pub(crate) mod register;
pub(crate) mod verify_email;

use axum::Router;

use crate::state::AppState;

pub(crate) use login::token_response;
pub(crate) use me::{SessionList, present};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(register::router()) // POST {iss}/register
        .merge(login::router()) //    POST {iss}/login
        .merge(logout::router()) //   POST {iss}/logout
        .merge(verify_email::router()) // {iss}/verify-email, /verify-email/resend
        .merge(password::router()) // {iss}/password, /password/forgot, /password/reset
        .merge(me::router()) //       {iss}/me, {iss}/sessions
}
