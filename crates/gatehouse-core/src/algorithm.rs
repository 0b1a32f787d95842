//! The signing algorithms a tenant may choose (DESIGN.md "Tokens"). They are
//! defined by the verifier, `gatehouse-jwt`, and named here too because the
//! domain (tenants, keys, the store) speaks of them.

pub use gatehouse_jwt::algorithm::{SigningAlgorithm, UnsupportedAlgorithm};
