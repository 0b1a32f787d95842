//! The hosted pages' two cookies: the browser sign-in (`gatehouse_session`,
//! lives as long as the sign-in) and the sign-in form's CSRF token
//! (`gatehouse_csrf`, for the browser session). Both are HttpOnly,
//! SameSite=Lax, scoped to the tenant's issuer path (tenants on one host
//! never see each other's) and `Secure` when the public URL is https.

use axum::http::{HeaderMap, HeaderValue, header};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

pub(crate) use gatehouse_core::oauth::browser::COOKIE as SESSION;
pub(crate) const CSRF: &str = "gatehouse_csrf";

/// The value of cookie `name` among the request's `Cookie` headers. Only
/// values that could be ours (base64url, at most 64 characters) are taken,
/// so nothing odd reaches a hash or a comparison.
pub(crate) fn read(headers: &HeaderMap, name: &str) -> Option<SecretString> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(|v| SecretString::from(v.to_string()))
}

/// This browser's CSRF token for a form: the one its cookie holds, or a
/// new one and the `Set-Cookie` that gives it (double-submit: the form
/// carries it back and [`csrf_matches`] compares).
pub(crate) fn csrf_for(
    headers: &HeaderMap,
    scope: &CookieScope,
) -> Result<(String, Option<HeaderValue>), gatehouse_core::Error> {
    if let Some(existing) = read(headers, CSRF) {
        return Ok((existing.expose_secret().to_string(), None));
    }
    let token = gatehouse_core::id::random_token::<32>()?;
    let cookie = scope.set(CSRF, &token, None);
    Ok((token, cookie))
}

/// The form's token equals the cookie's. The cookie is SameSite=Lax, so
/// another site's form posting here arrives without it.
pub(crate) fn csrf_matches(headers: &HeaderMap, sent: Option<&str>) -> bool {
    match (read(headers, CSRF), sent) {
        (Some(cookie), Some(sent)) => {
            bool::from(cookie.expose_secret().as_bytes().ct_eq(sent.as_bytes()))
        }
        _ => false,
    }
}

/// Where a tenant's cookies live: its issuer's path (`/t/default`).
pub(crate) struct CookieScope {
    path: String,
    secure: bool,
}

impl CookieScope {
    pub fn of_issuer(issuer: &str) -> Self {
        let (path, secure) = match url::Url::parse(issuer) {
            Ok(u) => (u.path().to_string(), u.scheme() == "https"),
            Err(_) => ("/".to_string(), false),
        };
        Self { path, secure }
    }

    /// `Set-Cookie` for `name=value`, for `max_age` seconds (`None`: until
    /// the browser closes).
    pub fn set(&self, name: &str, value: &str, max_age: Option<i64>) -> Option<HeaderValue> {
        let mut cookie = format!("{name}={value}; Path={}; HttpOnly; SameSite=Lax", self.path);
        if let Some(secs) = max_age {
            cookie.push_str(&format!("; Max-Age={secs}"));
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        HeaderValue::from_str(&cookie).ok()
    }

    /// `Set-Cookie` that deletes `name`.
    pub fn clear(&self, name: &str) -> Option<HeaderValue> {
        self.set(name, "", Some(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_plausible_values_of_the_named_cookie() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            "a=1; gatehouse_csrf=abc_DEF-9".parse().unwrap(),
        );
        h.append(header::COOKIE, "gatehouse_session=x y".parse().unwrap());
        assert_eq!(read(&h, CSRF).unwrap().expose_secret(), "abc_DEF-9");
        assert!(read(&h, SESSION).is_none());
        assert!(read(&h, "missing").is_none());
    }

    #[test]
    fn cookies_follow_the_issuer() {
        let https = CookieScope::of_issuer("https://auth.example/base/t/acme");
        let v = https.set(SESSION, "v", Some(60)).unwrap();
        assert_eq!(
            v.to_str().unwrap(),
            "gatehouse_session=v; Path=/base/t/acme; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        let http = CookieScope::of_issuer("http://127.0.0.1:8080/t/default");
        assert!(
            !http
                .clear(CSRF)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}
