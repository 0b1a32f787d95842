//! A tenant's own accounts: sign-up, password login and logout. (The
//! OAuth 2.0 token endpoint is in `oauth`.)

mod login;
mod logout;
mod register;

use axum::Router;

use crate::state::AppState;

pub(crate) use login::token_response;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(register::router()) // POST {iss}/register
        .merge(login::router()) //    POST {iss}/login
        .merge(logout::router()) //   POST {iss}/logout
}
