//! `{iss}/verify-email`: a mailed verification link. `GET ?token=` (the
//! link, opened in a browser) answers a page; `POST {token}` answers JSON;
//! `POST /resend {email}` asks for a new link and answers the same
//! whether or not the address has an account.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::extract::{JsonOrForm, TenantCtx};
use crate::pages::account::verified;
use crate::pages::{PageTenant, render};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/verify-email", get(by_link).post(by_api))
        .route("/t/{tenant}/verify-email/resend", post(resend))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TokenParam {
    /// The token of the mailed link.
    #[param(value_type = Option<String>)]
    token: Option<SecretString>,
}

#[utoipa::path(
    get,
    path = "/t/{tenant}/verify-email",
    operation_id = "verify_email_page",
    tag = "account",
    summary = "Follow a mailed verification link (hosted page)",
    params(crate::openapi::TenantPath, TokenParam),
    responses(
        (status = 200, description = "The address is verified.", content_type = "text/html", body = String),
        (status = 400, description = "The link has no token, or it is unknown, used or expired.", content_type = "text/html", body = String),
        (status = 404, description = "No tenant has this name.", content_type = "text/html", body = String),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to come back.", content_type = "text/html", body = String),
        (status = 503, description = "The store cannot be reached; try again shortly.", content_type = "text/html", body = String),
    )
)]
async fn by_link(
    State(state): State<AppState>,
    PageTenant(ctx): PageTenant,
    Query(param): Query<TokenParam>,
) -> Response {
    let shown = ctx.tenant().shown_name().to_string();
    let Some(token) = param.token else {
        return render(verified(&shown, Err("the link has no token")));
    };
    match state.services.verifications.verify(&ctx, &token).await {
        Ok(v) => render(verified(&shown, Ok(&v.email))),
        Err(gatehouse_core::Error::AccountLink(why)) => render(verified(&shown, Err(why))),
        Err(e) => crate::pages::error_page(e),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    /// The token of the mailed link.
    #[schema(value_type = String)]
    token: SecretString,
}

#[utoipa::path(
    post,
    path = "/t/{tenant}/verify-email",
    operation_id = "verify_email",
    tag = "account",
    summary = "Verify an email address with the token of its link",
    params(crate::openapi::TenantPath),
    request_body(content(
        (VerifyBody = "application/json"),
        (VerifyBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The address is verified.", body = crate::openapi::schemas::EmailVerified),
        crate::openapi::JsonBody, crate::openapi::TenantRoute, crate::openapi::RateLimited,
    )
)]
async fn by_api(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    JsonOrForm(body, _): JsonOrForm<VerifyBody>,
) -> ApiResult<Json<Value>> {
    let v = state
        .services
        .verifications
        .verify(&ctx, &body.token)
        .await?;
    Ok(Json(
        json!({"verified": true, "user_id": v.user_id, "email": v.email}),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ResendBody {
    email: String,
}

/// 202, always the same body.
#[utoipa::path(
    post,
    path = "/t/{tenant}/verify-email/resend",
    operation_id = "resend_verification",
    tag = "account",
    summary = "Mail a new verification link",
    description = "Answers the same whether or not the address has an account that needs confirming.",
    params(crate::openapi::TenantPath),
    request_body(content(
        (ResendBody = "application/json"),
        (ResendBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 202, description = "A link was mailed if an account needs it.", body = crate::openapi::schemas::Accepted),
        crate::openapi::JsonBody, crate::openapi::TenantRoute, crate::openapi::RateLimited,
    )
)]
async fn resend(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    JsonOrForm(body, _): JsonOrForm<ResendBody>,
) -> (StatusCode, Json<Value>) {
    state.services.verifications.resend(ctx, &body.email);
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "accepted",
            "message": "If an account with this address still needs confirming, a new link has been mailed to it."
        })),
    )
}
