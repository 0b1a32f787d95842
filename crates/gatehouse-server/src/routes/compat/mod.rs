//! The formats of the systems Gatehouse replaces, so their clients move
//! over without edits (DESIGN.md "The replaced systems' clients"):
//!
//! - [`openfaas`]: the OpenFaaS Ruby register/login/verify functions;
//! - [`knock`]: the Rails knock gem's `POST /user_token`;
//! - [`domain`]: the domain-based service's `/login`, `/refresh`, `/auth`.
//!
//! Each speaks its original's request and answer shapes, which are not
//! Gatehouse's own: bodies are read leniently (unknown fields ignored, no
//! content type required), as the originals did.

pub mod domain;
pub mod knock;
pub mod openfaas;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::state::{AppState, CompatSettings};

/// The compatibility routes. Those under `{iss}` are always served; the
/// root ones, which carry no tenant in the path and so claim paths a user
/// may want for something else, are each switchable off in configuration
/// (`compat_knock_root`, `compat_domain_root`; both on by default).
pub fn router(settings: CompatSettings) -> Router<AppState> {
    let mut router = Router::new()
        .merge(openfaas::router()) // {iss}/compat/openfaas/*
        .merge(knock::tenant_router()); // {iss}/user_token
    if settings.knock_root {
        router = router.merge(knock::root_router()); // /user_token
    }
    if settings.domain_root {
        router = router.merge(domain::router()); // /login, /refresh, /auth
    }
    router
}

/// Tokens in an answer: no cache may keep it (RFC 6749 §5.1).
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Parses a body the way the originals did: any JSON object with at least
/// the fields needed, whatever the content type. The error is a sentence
/// that names the problem without echoing the body (it may hold a password).
fn lenient_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => "the body is not valid JSON".to_string(),
        Category::Data => {
            let text = e.to_string();
            let text = text.split(" at line ").next().unwrap_or(&text);
            if text.starts_with("missing field") {
                format!(
                    "the body lacks a field: {}",
                    text.trim_start_matches("missing field ")
                )
            } else if let Some((_, expected)) = text.rsplit_once(", expected ") {
                format!("a field has the wrong type: expected {expected}")
            } else {
                "the body does not have the fields this endpoint needs".to_string()
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        username: String,
    }

    #[test]
    fn lenient_json_explains_without_echoing() {
        assert!(lenient_json::<Body>(br#"{"username":"a","extra":1}"#).is_ok());
        assert_eq!(
            lenient_json::<Body>(b"{nope").unwrap_err(),
            "the body is not valid JSON"
        );
        assert_eq!(
            lenient_json::<Body>(b"{}").unwrap_err(),
            "the body lacks a field: `username`"
        );
        let e = lenient_json::<Body>(br#"{"username":42}"#).unwrap_err();
        assert!(e.contains("expected a string") && !e.contains("42"), "{e}");
    }
}
