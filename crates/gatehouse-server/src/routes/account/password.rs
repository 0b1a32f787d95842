//! Passwords: `POST {iss}/password/forgot` asks for a reset link (the same
//! 202 whether or not the account exists); `{iss}/password/reset` is the
//! page the link opens (`GET`) and where the new password goes (`POST`,
//! as JSON from an app or as the page's form); `POST {iss}/password`
//! changes the password of the signed-in user.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gatehouse_core::Error;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, REALM};
use crate::extract::{AppJson, BodyKind, JsonOrForm, TenantCtx, bearer_token};
use crate::pages::account::{reset_done, reset_form};
use crate::pages::cookies::{CookieScope, csrf_for, csrf_matches};
use crate::pages::{PageTenant, error_page, render};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/password/forgot", post(forgot))
        .route("/t/{tenant}/password/reset", get(reset_page).post(reset))
        .route("/t/{tenant}/password", post(change))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForgotBody {
    email: Option<String>,
    username: Option<String>,
}

/// 202, always the same body, at once: the lookup and the mail run in the
/// background.
async fn forgot(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    JsonOrForm(body, _): JsonOrForm<ForgotBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = match (body.username, body.email) {
        (Some(u), _) if !u.trim().is_empty() => u,
        (_, Some(e)) if !e.trim().is_empty() => e,
        _ => return Err(ApiError::bad_request("send an `email` or a `username`")),
    };
    state.services.passwords.forgot(ctx, &name);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "accepted",
            "message": "If an account matches, a link to reset its password has been mailed to its address."
        })),
    ))
}

#[derive(Deserialize)]
struct TokenParam {
    token: Option<String>,
}

/// The form the mailed link opens.
async fn reset_page(
    PageTenant(ctx): PageTenant,
    headers: HeaderMap,
    Query(param): Query<TokenParam>,
) -> Response {
    form(
        &ctx,
        &headers,
        param.token.as_deref().unwrap_or(""),
        None,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    token: SecretString,
    new_password: SecretString,
    /// Only from the page's form.
    csrf_token: Option<String>,
}

async fn reset(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
    JsonOrForm(body, kind): JsonOrForm<ResetBody>,
) -> Response {
    let passwords = &state.services.passwords;
    match kind {
        BodyKind::Json => match passwords.reset(&ctx, &body.token, body.new_password).await {
            Ok(_) => Json(json!({"status": "password_reset"})).into_response(),
            Err(e) => ApiError::from(e).into_response(),
        },
        // The page's form: answered with pages, and CSRF-checked (a
        // cross-site form would otherwise set a password it chose).
        BodyKind::Form => {
            let token = body.token.expose_secret().to_string();
            if !csrf_matches(&headers, body.csrf_token.as_deref()) {
                return form(
                    &ctx,
                    &headers,
                    &token,
                    Some("This form expired or did not come from this page. Please try again."),
                    StatusCode::FORBIDDEN,
                );
            }
            match passwords.reset(&ctx, &body.token, body.new_password).await {
                Ok(_) => render(reset_done(ctx.tenant().shown_name())),
                // The password broke a rule: the same link may try again.
                Err(Error::InvalidInput { message, .. }) => form(
                    &ctx,
                    &headers,
                    &token,
                    Some(&message),
                    StatusCode::BAD_REQUEST,
                ),
                Err(e) => error_page(e),
            }
        }
    }
}

fn form(
    ctx: &gatehouse_core::service::TenantContext,
    headers: &HeaderMap,
    token: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (csrf, cookie) = match csrf_for(headers, &CookieScope::of_issuer(ctx.issuer())) {
        Ok(t) => t,
        Err(e) => return error_page(e),
    };
    let action = format!("{}/password/reset", ctx.issuer());
    let mut page = reset_form(
        status,
        ctx.tenant().shown_name(),
        &action,
        token,
        &csrf,
        error,
    );
    if let Some(cookie) = cookie {
        page.headers.append(header::SET_COOKIE, cookie);
    }
    render(page)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    current_password: SecretString,
    new_password: SecretString,
}

/// 204; the user's other sessions end, this one stays.
async fn change(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
    AppJson(body): AppJson<ChangeBody>,
) -> ApiResult<StatusCode> {
    let token = bearer_token(&headers).ok_or_else(|| ApiError::challenge(REALM, None))?;
    state
        .services
        .passwords
        .change(
            &ctx,
            token.expose_secret(),
            body.current_password,
            body.new_password,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
