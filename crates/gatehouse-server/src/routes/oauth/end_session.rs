//! `GET|POST {iss}/end_session`: OpenID Connect RP-initiated logout. Ends
//! the browser's sign-in (and the sessions that came from it), deletes its
//! cookie, and sends the browser to the client's registered
//! `post_logout_redirect_uri` or shows that it is signed out.

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use gatehouse_core::service::TenantContext;
use gatehouse_core::service::end_session::{AfterLogout, LogoutRequest};

use super::authorize::redirect;
use crate::error::ApiError;
use crate::extract::AppBytes;
use crate::pages::cookies::{self, CookieScope, SESSION};
use crate::pages::sign_in::signed_out;
use crate::pages::{PageTenant, error_page, render};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{tenant}/end_session", get(by_query).post(by_form))
}

#[utoipa::path(
    get,
    path = "/t/{tenant}/end_session",
    operation_id = "end_session",
    tag = "oauth",
    summary = "RP-initiated logout",
    description = "Ends the browser's sign-in and the sessions that came from it, deletes its cookie, and \
        sends the browser to the client's registered `post_logout_redirect_uri` or shows that it is signed out.",
    params(crate::openapi::TenantPath, crate::openapi::schemas::LogoutRequest),
    responses(
        (status = 200, description = "Signed out.", content_type = "text/html", body = String),
        (status = 302, description = "To the client's `post_logout_redirect_uri`, with `state`.",
            headers(("Location" = String, description = "Where the browser goes."))),
        (status = 400, description = "The request is malformed or refused before a client could be trusted \
            with the answer (unknown client, unregistered `redirect_uri`): an error page.", content_type = "text/html", body = String),
        (status = 404, description = "No tenant has this name.", content_type = "text/html", body = String),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to come back.", content_type = "text/html", body = String),
        (status = 503, description = "The store cannot be reached; try again shortly.", content_type = "text/html", body = String),
    )
)]
async fn by_query(
    State(state): State<AppState>,
    PageTenant(ctx): PageTenant,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let request = serde_urlencoded::from_str(query.as_deref().unwrap_or(""));
    end(state, ctx, headers, request.ok()).await
}

/// §2: the OP must accept POST with form-encoded parameters too.
#[utoipa::path(
    post,
    path = "/t/{tenant}/end_session",
    operation_id = "end_session_form",
    tag = "oauth",
    summary = "RP-initiated logout, form posted",
    params(crate::openapi::TenantPath),
    request_body(content = crate::openapi::schemas::LogoutRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Signed out.", content_type = "text/html", body = String),
        (status = 302, description = "To the client's `post_logout_redirect_uri`, with `state`.",
            headers(("Location" = String, description = "Where the browser goes."))),
        (status = 400, description = "The request is malformed or refused before a client could be trusted \
            with the answer (unknown client, unregistered `redirect_uri`): an error page.", content_type = "text/html", body = String),
        (status = 404, description = "No tenant has this name.", content_type = "text/html", body = String),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to come back.", content_type = "text/html", body = String),
        (status = 503, description = "The store cannot be reached; try again shortly.", content_type = "text/html", body = String),
    )
)]
async fn by_form(
    State(state): State<AppState>,
    PageTenant(ctx): PageTenant,
    headers: HeaderMap,
    body: Result<AppBytes, ApiError>,
) -> Response {
    let request = body
        .ok()
        .and_then(|AppBytes(b)| serde_urlencoded::from_bytes(&b).ok());
    end(state, ctx, headers, request).await
}

async fn end(
    state: AppState,
    ctx: Arc<TenantContext>,
    headers: HeaderMap,
    request: Option<LogoutRequest>,
) -> Response {
    let Some(request) = request else {
        return error_page(ApiError::bad_request(
            "the logout request is malformed: a parameter is repeated or not text",
        ));
    };
    let cookie = cookies::read(&headers, SESSION);
    let after = match state
        .services
        .end_session
        .end(&ctx, &request, cookie.as_ref())
        .await
    {
        Ok(after) => after,
        Err(e) => return error_page(e),
    };
    let clear = CookieScope::of_issuer(ctx.issuer()).clear(SESSION);
    match after {
        AfterLogout::Redirect(url) => redirect(StatusCode::FOUND, &url, clear),
        AfterLogout::SignedOutPage => {
            let mut page = signed_out(ctx.tenant().shown_name());
            if let Some(clear) = clear {
                page.headers.append(header::SET_COOKIE, clear);
            }
            render(page)
        }
    }
}
