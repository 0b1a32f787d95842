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
use crate::pages::account::{reset_done, reset_form, reset_unusable};
use crate::pages::cookies::{CookieScope, csrf_for, csrf_matches};
use crate::pages::{PageTenant, error_page, render};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/password/forgot", post(forgot))
        .route("/t/{tenant}/password/reset", get(reset_page).post(reset))
        .route("/t/{tenant}/password", post(change))
}

/// The account, by `email` or by `username`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ForgotBody {
    email: Option<String>,
    username: Option<String>,
}

/// 202, always the same body, at once: the lookup and the mail run in the
/// background.
#[utoipa::path(
    post,
    path = "/t/{tenant}/password/forgot",
    operation_id = "forgot_password",
    tag = "account",
    summary = "Ask for a password-reset link",
    description = "Answers the same, at once, whether or not the account exists; the link is mailed in the background.",
    params(crate::openapi::TenantPath),
    request_body(content(
        (ForgotBody = "application/json"),
        (ForgotBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 202, description = "A link was mailed if an account matches.", body = crate::openapi::schemas::Accepted),
        crate::openapi::JsonBody, crate::openapi::TenantRoute, crate::openapi::RateLimited,
    )
)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TokenParam {
    /// The token of the mailed link.
    token: Option<String>,
}

/// The form the mailed link opens.
#[utoipa::path(
    get,
    path = "/t/{tenant}/password/reset",
    operation_id = "reset_password_page",
    tag = "account",
    summary = "The password-reset form a mailed link opens (hosted page)",
    params(crate::openapi::TenantPath, TokenParam),
    responses(
        (status = 200, description = "The form (it sets a CSRF cookie).", content_type = "text/html", body = String),
        (status = 400, description = "The query is malformed.", content_type = "text/html", body = String),
        (status = 404, description = "No tenant has this name.", content_type = "text/html", body = String),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to come back.", content_type = "text/html", body = String),
        (status = 503, description = "The store cannot be reached; try again shortly.", content_type = "text/html", body = String),
    )
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    /// The token of the mailed link.
    #[schema(value_type = String)]
    token: SecretString,
    #[schema(value_type = String)]
    new_password: SecretString,
    /// Only from the page's form.
    csrf_token: Option<String>,
}

#[utoipa::path(
    post,
    path = "/t/{tenant}/password/reset",
    operation_id = "reset_password",
    tag = "account",
    summary = "Set a new password with the token of a reset link",
    description = "As JSON (an app) the answers are JSON; as the hosted form (form-encoded, with its \
        `csrf_token`) they are pages. Every session of the user ends.",
    params(crate::openapi::TenantPath),
    request_body(content(
        (ResetBody = "application/json"),
        (ResetBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The password is set.", content(
            (crate::openapi::schemas::PasswordReset = "application/json"),
            (String = "text/html"),
        )),
        (status = 400, description = "The body is malformed, the link is unknown, used or expired (`invalid_link`), \
            or the password breaks a rule.", content(
            (crate::openapi::schemas::ErrorBody = "application/json"),
            (String = "text/html"),
        )),
        (status = 403, description = "The form's CSRF token does not match its cookie (the form again).",
            content_type = "text/html", body = String),
        (status = 404, description = "No tenant has this name (`tenant_not_found`), or the link's user is gone.", content(
            (crate::openapi::schemas::ErrorBody = "application/json"),
            (String = "text/html"),
        )),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to come back.", content(
            (crate::openapi::schemas::ErrorBody = "application/json"),
            (String = "text/html"),
        )),
        (status = 503, description = "The store cannot be reached, or the hashing pool is full; `Retry-After` says when to retry.", content(
            (crate::openapi::schemas::ErrorBody = "application/json"),
            (String = "text/html"),
        )),
        crate::openapi::BodyLimits,
    )
)]
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
                Err(Error::AccountLink(why)) => render(reset_unusable(why)),
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
        ctx.tenant().settings.min_password_chars(),
    );
    if let Some(cookie) = cookie {
        page.headers.append(header::SET_COOKIE, cookie);
    }
    render(page)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    #[schema(value_type = String)]
    current_password: SecretString,
    #[schema(value_type = String)]
    new_password: SecretString,
}

/// 204; the user's other sessions end, this one stays.
#[utoipa::path(
    post,
    path = "/t/{tenant}/password",
    operation_id = "change_password",
    tag = "account",
    summary = "Change the signed-in user's password",
    description = "Needs the current password. The user's other sessions end; this one stays.",
    params(crate::openapi::TenantPath),
    security(("bearer" = [])),
    request_body = ChangeBody,
    responses(
        (status = 204, description = "The password is changed."),
        (status = 401, description = "No valid bearer token (`invalid_request`, `invalid_token`), or the current \
            password is wrong (`invalid_grant`).", body = crate::openapi::schemas::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "The challenge."))),
        (status = 403, description = "The account is disabled (`account_disabled`).", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::TenantRoute, crate::openapi::RateLimited,
    )
)]
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
