//! `POST {iss}/register`: self-service sign-up.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use gatehouse_core::service::accounts::SignUp;
use gatehouse_core::user::Registration;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

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

/// 201 with the user; 202 with a fixed sentence when the tenant requires
/// a verified email (the same answer whether or not the name was taken).
async fn register(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppJson(body): AppJson<RegisterBody>,
) -> ApiResult<Response> {
    let registration = Registration {
        username: body.username,
        password: body.password,
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
    };
    Ok(match state.services.sign_up(&ctx, registration).await? {
        SignUp::Created(user) => (StatusCode::CREATED, Json(user)).into_response(),
        SignUp::PendingVerification => (
            StatusCode::ACCEPTED,
            Json(json!({
                "status": "verification_pending",
                "message": "If the account could be created, a confirmation link was mailed to its address; \
                            sign in after following it.",
            })),
        )
            .into_response(),
    })
}
