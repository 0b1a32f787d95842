//! `GET|POST {iss}/authorize`: the authorization endpoint (RFC 6749
//! §4.1.1, OIDC Core §3.1.2) and its hosted sign-in page.
//!
//! GET checks the request and either redirects at once (a code for a
//! browser already signed in, or an error for the client) or shows the
//! form. The form posts back here with the request in hidden fields, the
//! credentials and the CSRF token; the request is checked again, the CSRF
//! token compared with its cookie, the password checked on the hashing
//! pool, and the browser sent on with a code and its sign-in cookie.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_core::Error;
use gatehouse_core::service::TenantContext;
use gatehouse_core::service::authorize::{Authorization, AuthorizationRequest, Step};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::AppBytes;
use crate::pages::cookies::{self, CookieScope, SESSION, csrf_for, csrf_matches};
use crate::pages::sign_in::{SignInForm, page};
use crate::pages::{PageTenant, error_page, render};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{tenant}/authorize", get(start).post(sign_in))
}

/// What the sign-in form posts: the credentials, the CSRF token, and the
/// authorization request it was shown for.
#[derive(Deserialize)]
struct SignInFields {
    username: Option<String>,
    password: Option<SecretString>,
    csrf_token: Option<String>,
    #[serde(flatten)]
    request: AuthorizationRequest,
}

const WRONG_CREDENTIALS: &str = "The username or password is incorrect.";
const CSRF_FAILED: &str =
    "This sign-in form expired or did not come from this page. Please sign in again.";
const ACCOUNT_DISABLED: &str = "This account is disabled. Ask the administrator.";
const EMAIL_NOT_VERIFIED: &str =
    "Confirm your email address first: follow the link we mailed to it.";
const MISSING_CREDENTIALS: &str = "Enter your username or email, and your password.";

#[utoipa::path(
    get,
    path = "/t/{tenant}/authorize",
    operation_id = "authorize",
    tag = "oauth",
    summary = "The authorization endpoint (hosted sign-in page)",
    description = "RFC 6749 §4.1.1 with PKCE, OIDC Core §3.1.2. Redirects at once (a code for a browser \
        already signed in, or an error for the client), or shows the sign-in form.",
    params(crate::openapi::TenantPath, crate::openapi::schemas::AuthorizationRequest),
    responses(
        (status = 200, description = "The sign-in form (it sets a CSRF cookie).", content_type = "text/html", body = String),
        (status = 302, description = "To the client's `redirect_uri` with a `code` or an `error`, and `state` and `iss`.",
            headers(("Location" = String, description = "Where the browser goes."))),
        (status = 400, description = "The request is malformed or refused before a client could be trusted \
            with the answer (unknown client, unregistered `redirect_uri`): an error page.", content_type = "text/html", body = String),
        (status = 404, description = "No tenant has this name.", content_type = "text/html", body = String),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to come back.", content_type = "text/html", body = String),
        (status = 503, description = "The store cannot be reached; try again shortly.", content_type = "text/html", body = String),
    )
)]
async fn start(
    State(state): State<AppState>,
    PageTenant(ctx): PageTenant,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    // RFC 6749 §3.1: a parameter sent twice is refused (serde says so).
    let request: AuthorizationRequest =
        match serde_urlencoded::from_str(query.as_deref().unwrap_or("")) {
            Ok(r) => r,
            Err(_) => return error_page(repeated_or_malformed()),
        };
    let cookie = cookies::read(&headers, SESSION);
    match state
        .services
        .authorize
        .start(&ctx, &request, cookie.as_ref())
        .await
    {
        Ok(Step::Redirect(url)) => redirect(StatusCode::FOUND, &url, None),
        Ok(Step::SignIn(authorization)) => {
            let username = authorization.login_hint.clone();
            form(
                &ctx,
                &headers,
                &authorization,
                &request,
                username.as_deref(),
                None,
                StatusCode::OK,
            )
        }
        Err(e) => error_page(e),
    }
}

#[utoipa::path(
    post,
    path = "/t/{tenant}/authorize",
    operation_id = "authorize_sign_in",
    tag = "oauth",
    summary = "The hosted sign-in form's post",
    description = "Checks the request again, the CSRF token against its cookie, and the password; \
        then sends the browser on with a code and its sign-in cookie.",
    params(crate::openapi::TenantPath),
    request_body(content = crate::openapi::schemas::SignInForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The form again, with what was wrong (wrong name or password).", content_type = "text/html", body = String),
        (status = 303, description = "To the client's `redirect_uri` with a `code` (or an `error`).",
            headers(("Location" = String, description = "Where the browser goes."))),
        (status = 403, description = "The form again: its CSRF token does not match, or the account is disabled \
            or unverified.", content_type = "text/html", body = String),
        (status = 400, description = "The request is malformed or refused before a client could be trusted \
            with the answer (unknown client, unregistered `redirect_uri`): an error page.", content_type = "text/html", body = String),
        (status = 404, description = "No tenant has this name.", content_type = "text/html", body = String),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to come back.", content_type = "text/html", body = String),
        (status = 503, description = "The store cannot be reached; try again shortly.", content_type = "text/html", body = String),
    )
)]
async fn sign_in(
    State(state): State<AppState>,
    PageTenant(ctx): PageTenant,
    headers: HeaderMap,
    body: Result<AppBytes, ApiError>,
) -> Response {
    let fields: SignInFields = match body
        .ok()
        .and_then(|AppBytes(b)| serde_urlencoded::from_bytes(&b).ok())
    {
        Some(f) => f,
        None => return error_page(repeated_or_malformed()),
    };
    let authorize = &state.services.authorize;
    let authorization = match authorize.check(&ctx, &fields.request).await {
        Ok(Ok(a)) => a,
        Ok(Err(refusal)) => return redirect(StatusCode::SEE_OTHER, &refusal, None),
        Err(e) => return error_page(e),
    };
    let username = fields.username.as_deref().map(str::trim).unwrap_or("");
    let show_again = |message: &str, status: StatusCode| {
        form(
            &ctx,
            &headers,
            &authorization,
            &fields.request,
            Some(username),
            Some(message),
            status,
        )
    };
    if !csrf_matches(&headers, fields.csrf_token.as_deref()) {
        return show_again(CSRF_FAILED, StatusCode::FORBIDDEN);
    }
    let password = match fields.password {
        Some(p) if !username.is_empty() && !p.expose_secret().is_empty() => p,
        _ => return show_again(MISSING_CREDENTIALS, StatusCode::BAD_REQUEST),
    };
    match authorize
        .sign_in(&ctx, &authorization, username, password)
        .await
    {
        Ok(signed_in) => {
            let scope = CookieScope::of_issuer(ctx.issuer());
            let cookie = scope.set(
                SESSION,
                signed_in.cookie.expose_secret(),
                Some(signed_in.cookie_max_age),
            );
            redirect(StatusCode::SEE_OTHER, &signed_in.redirect, cookie)
        }
        // One message for a wrong password and an unknown user.
        // A soft-lock answers as a wrong password (a right one too).
        Err(Error::InvalidCredentials | Error::AccountLocked { .. }) => {
            show_again(WRONG_CREDENTIALS, StatusCode::OK)
        }
        // Said only after the password matched.
        Err(Error::AccountDisabled) => show_again(ACCOUNT_DISABLED, StatusCode::FORBIDDEN),
        Err(Error::EmailNotVerified { .. }) => {
            show_again(EMAIL_NOT_VERIFIED, StatusCode::FORBIDDEN)
        }
        Err(e) => error_page(e),
    }
}

fn repeated_or_malformed() -> ApiError {
    ApiError::bad_request(
        "the authorization request is malformed: a parameter is repeated or not text",
    )
}

/// The sign-in form, with the CSRF token of this browser's cookie (a new
/// one, and its cookie, when it has none).
fn form(
    ctx: &TenantContext,
    headers: &HeaderMap,
    authorization: &Authorization,
    request: &AuthorizationRequest,
    username: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (token, new_cookie) = match csrf_for(headers, &CookieScope::of_issuer(ctx.issuer())) {
        Ok(t) => t,
        Err(e) => return error_page(e),
    };
    let shown = SignInForm {
        tenant: ctx.tenant().shown_name(),
        client: &authorization.client.name,
        action: format!("{}/authorize", ctx.issuer()),
        request,
        csrf_token: &token,
        username,
        error,
    };
    let mut page = page(status, &shown);
    if let Some(cookie) = new_cookie {
        page.headers.append(header::SET_COOKIE, cookie);
    }
    render(page)
}

/// A redirect the browser follows; never cached (it may carry a code).
pub(super) fn redirect(status: StatusCode, url: &str, cookie: Option<HeaderValue>) -> Response {
    let Ok(location) = HeaderValue::from_str(url) else {
        return error_page(ApiError::internal("a redirect URL is not a header value"));
    };
    let mut response = status.into_response();
    let h = response.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Some(cookie) = cookie {
        h.append(header::SET_COOKIE, cookie);
    }
    response
}
