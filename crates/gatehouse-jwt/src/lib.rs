//! Gatehouse's token verifier, on its own: the signing algorithms, the JWS
//! layer, the claims of an access token, and [`verify_access_token`] over a
//! public [`KeySet`] — an issuer, the audiences it serves, and the keys a
//! JWKS document publishes.
//!
//! Nothing here needs a private key, a password hash, a database or an async
//! runtime, so a downstream Rust service verifies Gatehouse tokens offline
//! with exactly the checks Gatehouse itself applies:
//!
//! ```
//! use gatehouse_jwt::{DEFAULT_LEEWAY_SECS, KeySet, verify_access_token};
//! use jsonwebtoken::jwk::JwkSet;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let jwks_body = r#"{"keys": []}"#;
//! # let token = "not-a-token";
//! let iss = "http://127.0.0.1:8080/t/default";
//! // The body of GET {iss}/.well-known/jwks.json, fetched and cached by your service.
//! let jwks: JwkSet = serde_json::from_str(&jwks_body)?;
//! let keys = KeySet::from_jwks(iss, vec![iss.to_string()], &jwks);
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
//! match verify_access_token(&keys, &token, now, DEFAULT_LEEWAY_SECS) {
//!     Ok(claims) => println!("{} may pass (scope {})", claims.sub, claims.scope),
//!     Err(reason) => println!("refused: {reason}"),
//! }
//! # assert_eq!(
//! #     verify_access_token(&keys, token, now, DEFAULT_LEEWAY_SECS),
//! #     Err(gatehouse_jwt::TokenError::NotCompact)
//! # );
//! # Ok(())
//! # }
//! ```
//!
//! The README's "Verifying tokens in your own service" shows this same
//! example; keep the two alike.
#![deny(missing_docs)]

pub mod algorithm;
pub mod claims;
pub mod error;
pub mod jws;
pub mod key_set;
pub mod verify;

pub use algorithm::{SigningAlgorithm, UnsupportedAlgorithm};
pub use claims::{ACCESS_TOKEN_TYP, AccessClaims, Audience};
pub use error::{KeyError, TokenError};
pub use jws::{MAX_TOKEN_BYTES, VerifiedJws, VerifyingKey, unverified_issuer, verify_compact};
pub use key_set::KeySet;
pub use verify::{DEFAULT_LEEWAY_SECS, verify_access_token};
