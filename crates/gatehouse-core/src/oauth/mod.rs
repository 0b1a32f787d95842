//! OAuth 2.0 and OpenID Connect: what a registered client, an
//! authorization code and a browser sign-in are, and the rules of scopes
//! and PKCE. The flows that use them are in `service::oauth`.

pub mod browser;
pub mod client;
pub mod code;
pub mod id_token;
pub mod pkce;
pub mod scope;

pub use browser::BrowserSession;
pub use client::{ClientRecord, ClientType, GrantType};
pub use code::{AuthorizationCode, CodeConsumed};
pub use id_token::{IdTokenClaims, ProfileClaims};
