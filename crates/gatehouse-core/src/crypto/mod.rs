//! The expensive and the secret: password hashing (argon2id, and the legacy
//! hashes accepted on import) and the fixed pool every password check runs
//! on, so that a login flood costs a bounded amount of CPU and memory.

pub mod legacy_hash;
pub mod password;
pub mod pool;
