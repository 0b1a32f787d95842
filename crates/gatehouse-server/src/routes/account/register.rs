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
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    /// Letters, digits and printable ASCII symbols; unique in the tenant
    /// (case-insensitively).
    #[schema(example = "alice")]
    username: String,
    /// At least the tenant's minimum (8 by default); not a well-known
    /// breached password, nor the username or email.
    #[schema(value_type = String, min_length = 8, example = "long-and-unguessable-1")]
    password: SecretString,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// 201 with the user; 202 with a fixed sentence when the tenant requires
/// a verified email (the same answer whether or not the name was taken).
#[utoipa::path(
    post,
    path = "/t/{tenant}/register",
    operation_id = "register",
    tag = "account",
    summary = "Sign up",
    description = "Creates a user with a password. When the tenant requires a verified email, \
        answers 202 with the same sentence whether or not the name was taken, and mails a link.",
    params(crate::openapi::TenantPath),
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The user was created.", body = crate::openapi::schemas::User,
            links(("login" = (operation_id = "login",
                parameters(("tenant" = "$request.path.tenant")),
                request_body = json!({"username": "$request.body#/username", "password": "$request.body#/password"}),
                description = "Sign in as the new user.")))),
        (status = 202, description = "The tenant requires a verified email: a link was mailed if the account could be created.",
            body = crate::openapi::schemas::Accepted),
        (status = 409, description = "The username or email is taken (`conflict`).", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::TenantRoute, crate::openapi::RateLimited,
    )
)]
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
