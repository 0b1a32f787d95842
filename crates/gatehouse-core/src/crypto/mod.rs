//! The expensive and the secret: password hashing (argon2id, and the legacy
//! hashes accepted on import) and the fixed pool every password check runs
//! on, so that a login flood costs a bounded amount of CPU and memory; and
//! signing keys parsed once rather than per token.

pub mod legacy_hash;
pub mod password;
pub mod pool;
pub mod prepared_signers;
