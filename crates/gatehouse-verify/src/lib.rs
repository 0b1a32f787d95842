//! Verify Gatehouse access tokens in your own Rust service.
//!
//! A Rails service behind knock wrote `before_action :authenticate_user`
//! and had `current_user`. This crate is that for Rust services behind
//! Gatehouse: one [`Verifier`] per issuer, an axum extractor
//! ([`CurrentUser`], [`Claims<T>`]) and a tower layer ([`AuthLayer`],
//! [`require_scope`], [`require_role`]).
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use gatehouse_verify::{CurrentUser, Verifier, require_role};
//!
//! async fn me(user: CurrentUser) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({
//!         "id": user.id(),
//!         "username": user.username(),
//!         "scopes": user.scopes().collect::<Vec<_>>(),
//!     }))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The tenant's issuer URL, exactly as Gatehouse writes it in `iss`.
//!     let verifier = Verifier::builder("http://127.0.0.1:8080/t/default").build()?;
//!
//!     let admin = Router::new()
//!         .route("/admin/stats", get(|| async { "only for admins" }))
//!         .route_layer(require_role("admin"))
//!         .route_layer(verifier.layer());
//!     let app = Router::new()
//!         .route("/me", get(me))
//!         .merge(admin)
//!         .with_state(verifier);
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! `GET /me` with `Authorization: Bearer <access token>` answers the
//! user; without a valid token it answers 401 with `WWW-Authenticate:
//! Bearer error="invalid_token", ...` and Gatehouse's error body,
//! `{"error": "invalid_token", "error_description": "the token has expired"}`.
//!
//! # What is checked
//!
//! Verification is `gatehouse-jwt`'s, the code Gatehouse itself verifies
//! with, so a service and Gatehouse never disagree about a token:
//!
//! - the signature, with the algorithm of the key the `kid` names (RFC 8725
//!   §3.1): no `none`, no algorithm switching, no HS256 keyed with a public
//!   key;
//! - keys only from the issuer: headers carrying `jwk`, `jku`, `x5u`,
//!   `x5c`, `crit` and the like are refused outright;
//! - `typ: at+jwt` (RFC 9068 §4), so an ID token is not an access token;
//! - `iss` exactly the configured issuer, and an `aud` among the accepted
//!   audiences (by default the issuer), so another tenant's token fails;
//! - `exp`, `nbf` and `iat` with a 30-second leeway
//!   ([`VerifierBuilder::leeway`]), against an injectable [`Clock`].
//!
//! # Where the keys come from
//!
//! By default from the issuer's discovery document
//! (`{issuer}/.well-known/openid-configuration`, whose `issuer` must match),
//! else from [`VerifierBuilder::jwks_url`]. The key set is cached as
//! `Cache-Control` allows, revalidated with its `ETag`, and refreshed in
//! the background before it goes stale. A token naming a `kid` the cache
//! lacks (a rotated key) triggers one refetch, but fetches never start more
//! than once per [`VerifierBuilder::refetch_interval`], so a flood of
//! random `kid`s cannot hammer Gatehouse. When Gatehouse cannot be reached,
//! the last good set keeps serving for [`VerifierBuilder::max_stale`] past
//! its freshness; after that requests are refused with 503 until it comes
//! back (fail closed).
//!
//! An HS256 tenant publishes no keys: give the verifier its shared secret
//! ([`VerifierBuilder::shared_secret`]). A service with its keys in its
//! configuration can give a fixed JWKS ([`VerifierBuilder::jwks`]).
//!
//! # Revocation
//!
//! Offline verification accepts a token until it expires, even after its
//! session was ended. With the `introspect` feature,
//! [`VerifierBuilder::introspection`] also asks Gatehouse's RFC 7662
//! endpoint (with a short cache), so revoked tokens are refused within
//! seconds.
//!
//! # Features
//!
//! - `axum` (default): the extractors and layers.
//! - `rustls` (default): HTTPS to the issuer (rustls, Mozilla's roots).
//! - `introspect`: RFC 7662 introspection.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache_control;
mod claims;
mod clock;
mod error;
mod http;
mod jwks;
mod verifier;

#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "introspect")]
mod introspect;
#[cfg(feature = "axum")]
mod layer;
#[cfg(feature = "axum")]
mod rejection;

pub use claims::AccessClaims;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{BuildError, InvalidToken, Reason, RefreshError, VerifyError};
pub use jwks::KeyCacheStats;
pub use verifier::{Verifier, VerifierBuilder};

#[cfg(feature = "axum")]
pub use extract::{Claims, CurrentUser};
#[cfg(feature = "axum")]
pub use layer::{AuthLayer, Authenticate, Require, RequireLayer, require_role, require_scope};
#[cfg(feature = "axum")]
pub use rejection::AuthRejection;
