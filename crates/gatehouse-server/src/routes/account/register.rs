//! `POST {iss}/register`: self-service sign-up.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use gatehouse_core::user::{Registration, User};
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{AppJson, TenantCtx};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{tenant}/register", post(register))
}

/// Unknown fields are refused so a typo (`"emial"`) is reported, not dropped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    username: String,
    password: SecretString,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

async fn register(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppJson(body): AppJson<RegisterBody>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let registration = Registration {
        username: body.username,
        password: body.password,
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
    };
    let user = state
        .services
        .accounts
        .register(ctx.tenant(), registration)
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}
