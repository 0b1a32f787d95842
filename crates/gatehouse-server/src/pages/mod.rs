//! The hosted pages: server-rendered HTML that works without JavaScript
//! (the sign-in form of the authorization endpoint, the signed-out page,
//! and the error page for requests that must not be sent back to a
//! client). Every value is HTML-escaped where it is written; the pages
//! load nothing from anywhere (inline styles only, no scripts), may not
//! be framed, and are never cached.

pub(crate) mod account;
pub(crate) mod cookies;
pub(crate) mod sign_in;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::service::TenantContext;

use crate::error::ApiError;
use crate::extract::TenantCtx;
use crate::state::AppState;

/// The tenant of a hosted page's path; an unknown one is an error page,
/// not the JSON answer an API route gives.
pub(crate) struct PageTenant(pub Arc<TenantContext>);

impl FromRequestParts<AppState> for PageTenant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        TenantCtx::from_request_parts(parts, state)
            .await
            .map(|TenantCtx(ctx)| PageTenant(ctx))
            .map_err(error_page)
    }
}

/// `&`, `<`, `>`, `"` and `'` as entities: safe in text and in quoted
/// attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One page: its status, title (already plain text; escaped here), the
/// escaped HTML of its body, and headers to add (cookies).
pub(crate) struct Page {
    pub status: StatusCode,
    pub title: String,
    pub body: String,
    pub headers: HeaderMap,
}

impl Page {
    pub fn new(status: StatusCode, title: impl Into<String>, body: String) -> Self {
        Self {
            status,
            title: title.into(),
            body,
            headers: HeaderMap::new(),
        }
    }
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;\
font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f3f4f6;color:#111827}\
main{width:100%;max-width:24rem;background:#fff;border:1px solid #d1d5db;border-radius:12px;padding:2rem;\
box-shadow:0 1px 3px rgba(0,0,0,.08)}\
h1{font-size:1.4rem;margin:0 0 .25rem}\
.lead{margin:0 0 1.5rem;color:#4b5563}\
label{display:block;font-weight:600;margin:1rem 0 .35rem}\
input[type=text],input[type=password]{width:100%;padding:.6rem .7rem;font:inherit;border:1px solid #9ca3af;border-radius:8px}\
input:focus,button:focus{outline:3px solid #2563eb;outline-offset:1px}\
input[aria-invalid=true]{border-color:#b91c1c}\
button{margin-top:1.5rem;width:100%;padding:.7rem;font:inherit;font-weight:600;color:#fff;background:#1d4ed8;\
border:0;border-radius:8px;cursor:pointer}\
button:hover{background:#1e40af}\
.hint{margin:.35rem 0 0;font-size:.85rem;color:#4b5563}\
.error{margin:0 0 1rem;padding:.7rem .8rem;border-radius:8px;background:#fef2f2;color:#991b1b;border:1px solid #fecaca}\
footer{margin-top:1rem;font-size:.8rem;color:#6b7280}";

/// The page as a response: HTML, `no-store`, no framing (clickjacking on
/// a password form), no referrer (the URL carries the OAuth request), and
/// a CSP that allows nothing but the inline style. `form-action` is left
/// open on purpose: after the post, the browser follows a redirect to the
/// client's own origin, which Chromium checks against `form-action`.
pub(crate) fn render(page: Page) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n\
         <footer>Gatehouse</footer>\n</body>\n</html>\n",
        title = escape(&page.title),
        body = page.body,
    );
    let mut response = (page.status, html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    for (name, value) in page.headers.iter() {
        h.append(name.clone(), value.clone());
    }
    response
}

/// A failure shown to a person instead of a client: the status and the
/// sentence of the one status table ([`ApiError`]), as a page. A 5xx says
/// only that it failed (its detail goes to the log, as for JSON), and a
/// 503 keeps its `Retry-After`.
pub(crate) fn error_page(error: impl Into<ApiError>) -> Response {
    let error: ApiError = error.into();
    let (title, sentence) = if error.status.is_server_error() {
        (
            "Something went wrong",
            if error.status == StatusCode::SERVICE_UNAVAILABLE {
                "The sign-in service is busy right now. Please try again in a moment.".to_string()
            } else {
                "The sign-in service could not handle this request. It has been logged.".to_string()
            },
        )
    } else {
        (
            "This sign-in request cannot be completed",
            sentence_case(&error.description),
        )
    };
    let body = format!(
        "<main aria-labelledby=\"title\">\n<h1 id=\"title\">{}</h1>\n<p class=\"error\" role=\"alert\">{}</p>\n\
         <p>Go back to the application you came from and try again.</p>\n</main>",
        escape(title),
        escape(&sentence),
    );
    let mut page = Page::new(error.status, title, body);
    if let Some(secs) = error.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        page.headers.insert(header::RETRY_AFTER, v);
    }
    let mut response = render(page);
    if let Some(detail) = error.detail {
        response
            .extensions_mut()
            .insert(crate::error::ServerFault(detail));
    }
    response
}

/// "the client is unknown" → "The client is unknown."
pub(crate) fn sentence_case(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
