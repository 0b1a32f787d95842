//! A tenant's own accounts: sign-up, password login, the OAuth 2.0 token
//! endpoint and logout.

mod login;
mod logout;
mod register;
mod token;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(register::router()) // POST {iss}/register
        .merge(login::router()) //    POST {iss}/login
        .merge(token::router()) //    POST {iss}/token
        .merge(logout::router()) //   POST {iss}/logout
}
