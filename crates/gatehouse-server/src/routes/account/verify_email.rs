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

#[derive(Deserialize)]
struct TokenParam {
    token: Option<SecretString>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    token: SecretString,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResendBody {
    email: String,
}

/// 202, always the same body.
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
