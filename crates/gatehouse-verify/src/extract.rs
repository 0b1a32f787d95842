//! The axum extractors: [`CurrentUser`] (knock's `current_user`, for
//! Rust) and [`Claims<T>`] (the verified payload as your own type).
//!
//! Both take the [`Verifier`] from the router's state (`Verifier:
//! FromRef<S>`). Behind an [`AuthLayer`](crate::AuthLayer) they reuse what
//! the layer verified instead of verifying again.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::claims::AccessClaims;
use crate::rejection::AuthRejection;
use crate::verifier::{Verifier, payload_as};

/// The user (or client) a verified access token speaks for: an axum
/// extractor that answers 401 when the request carries no valid Gatehouse
/// token.
///
/// ```
/// use axum::{Router, routing::get};
/// use gatehouse_verify::{CurrentUser, Verifier};
///
/// async fn me(user: CurrentUser) -> String {
///     format!("hello {}", user.username().unwrap_or(user.id()))
/// }
///
/// fn app(verifier: Verifier) -> Router {
///     Router::new().route("/me", get(me)).with_state(verifier)
/// }
/// ```
///
/// It dereferences to its [`AccessClaims`]. Behind an
/// [`AuthLayer`](crate::AuthLayer) it is also in the request's extensions,
/// so `Extension<CurrentUser>` works without the verifier in the state.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    claims: Arc<AccessClaims>,
}

impl CurrentUser {
    pub(crate) fn new(claims: AccessClaims) -> Self {
        Self {
            claims: Arc::new(claims),
        }
    }

    /// The user's stable id (`sub`).
    pub fn id(&self) -> &str {
        &self.claims.sub
    }

    /// The user's `preferred_username`, if the token carries one.
    pub fn username(&self) -> Option<&str> {
        self.claims.preferred_username.as_deref()
    }

    /// The user's email, if the token carries one.
    pub fn email(&self) -> Option<&str> {
        self.claims.email.as_deref()
    }

    /// Every claim of the token.
    pub fn claims(&self) -> &AccessClaims {
        &self.claims
    }

    /// `Ok` if `scope` was granted, else the 403 `insufficient_scope`
    /// refusal, for handlers: `user.require_scope("notes:write")?;`.
    pub fn require_scope(&self, scope: &str) -> Result<(), AuthRejection> {
        if self.claims.has_scope(scope) {
            Ok(())
        } else {
            Err(AuthRejection::scope(scope))
        }
    }

    /// `Ok` if the user holds `role`, else the 403 `insufficient_scope`
    /// refusal.
    pub fn require_role(&self, role: &str) -> Result<(), AuthRejection> {
        if self.claims.has_role(role) {
            Ok(())
        } else {
            Err(AuthRejection::role(role))
        }
    }
}

impl Deref for CurrentUser {
    type Target = AccessClaims;
    fn deref(&self) -> &AccessClaims {
        &self.claims
    }
}

/// The token text that was verified for this request, kept beside the
/// [`CurrentUser`] so [`Claims<T>`] can read its payload without verifying
/// again. Private: the token is a credential.
#[derive(Clone)]
pub(crate) struct VerifiedToken(pub(crate) Arc<str>);

impl<S> FromRequestParts<S> for CurrentUser
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let verifier = Verifier::from_ref(state);
        let (user, token) = authenticate(&verifier, &parts.headers).await?;
        parts.extensions.insert(user.clone());
        parts.extensions.insert(token);
        Ok(user)
    }
}

/// The verified token's claims as your own type `T` (extra claims, or only
/// those you need); `Claims` alone is `Claims<AccessClaims>`. Every check
/// has run before `T` is read; a payload that does not fit `T` is a 401.
///
/// ```
/// use axum::{Router, routing::get};
/// use gatehouse_verify::{Claims, Verifier};
///
/// #[derive(serde::Deserialize)]
/// struct Mine {
///     sub: String,
///     tenant_plan: Option<String>,
/// }
///
/// async fn plan(Claims(mine): Claims<Mine>) -> String {
///     format!("{} is on {:?}", mine.sub, mine.tenant_plan)
/// }
///
/// fn app(verifier: Verifier) -> Router {
///     Router::new().route("/plan", get(plan)).with_state(verifier)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T = AccessClaims>(pub T);

impl<S, T> FromRequestParts<S> for Claims<T>
where
    Verifier: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let verifier = Verifier::from_ref(state);
        let token = match parts.extensions.get::<VerifiedToken>() {
            Some(token) => token.clone(),
            None => {
                let (user, token) = authenticate(&verifier, &parts.headers).await?;
                parts.extensions.insert(user);
                parts.extensions.insert(token.clone());
                token
            }
        };
        payload_as(&token.0)
            .map(Claims)
            .map_err(|e| AuthRejection::verify(e, verifier.retry_after_secs()))
    }
}

/// Verifies the request's bearer token: the one path of the extractors and
/// the layer.
pub(crate) async fn authenticate(
    verifier: &Verifier,
    headers: &HeaderMap,
) -> Result<(CurrentUser, VerifiedToken), AuthRejection> {
    let token = bearer_token(headers).ok_or_else(AuthRejection::missing_token)?;
    let claims = verifier
        .verify(token)
        .await
        .map_err(|e| AuthRejection::verify(e, verifier.retry_after_secs()))?;
    Ok((CurrentUser::new(claims), VerifiedToken(Arc::from(token))))
}

/// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme
/// is case-insensitive, RFC 7235 §2.1), as Gatehouse itself reads it.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_forms() {
        let token = |v: &str| {
            let mut h = HeaderMap::new();
            if let Ok(v) = v.parse() {
                h.insert(header::AUTHORIZATION, v);
            }
            bearer_token(&h).map(str::to_string)
        };
        assert_eq!(token("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(token("BEARER abc").as_deref(), Some("abc"));
        assert_eq!(token("Basic abc"), None);
        assert_eq!(token("Bearer"), None);
        assert_eq!(token("Bearer   "), None);
        assert_eq!(token("abc"), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
