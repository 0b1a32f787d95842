//! Gatehouse's domain: what a tenant, a user, a session and a token are, and
//! the rules that decide register, login, refresh and logout.
//!
//! Nothing here opens a socket or a file. Persistence is reached through the
//! small traits in [`store`] (the ports), which `gatehouse-store` implements;
//! time comes from an injected [`clock::Clock`] so expiry is testable without
//! sleeping.
//!
//! Token verification itself lives in `gatehouse-jwt` (over the public
//! [`gatehouse_jwt::KeySet`] a [`keyring::TenantKeyring`] yields); core
//! calls it with its clock and leeway.

pub mod account_token;
pub mod algorithm;
pub mod apikey;
pub mod audit;
pub mod clock;
pub mod crypto;
pub mod error;
pub mod id;
pub mod keyring;
pub mod keys;
pub mod mail;
pub mod oauth;
pub mod password_policy;
pub mod policy;
pub mod refresh;
pub mod rotation;
pub mod sealing;
pub mod service;
pub mod session;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod tenant_secret;
pub mod token;
pub mod user;
pub mod webhook;

pub use crypto::{legacy_hash, password};
pub use error::{Error, Result, TokenUnusable};
/// Verification is `gatehouse-jwt`'s; its reasons are core's token errors.
pub use gatehouse_jwt::TokenError;
