//! Gatehouse's domain: what a tenant, a user, a session and a token are, and
//! the rules that decide register, login, refresh and logout.
//!
//! Nothing here opens a socket or a file. Persistence is reached through the
//! small traits in [`store`] (the ports), which `gatehouse-store` implements;
//! time comes from an injected [`clock::Clock`] so expiry is testable without
//! sleeping.

pub mod algorithm;
pub mod auth;
pub mod clock;
pub mod crypto;
pub mod error;
pub mod id;
pub mod jws;
pub mod keyring;
pub mod keys;
pub mod refresh;
pub mod rotation;
pub mod sealing;
pub mod session;
pub mod store;
pub mod tenant;
pub mod token;
pub mod user;
pub mod verify;

pub use crypto::{legacy_hash, password};
pub use error::{Error, Result};
