//! Persistence for Gatehouse: implements `gatehouse_core::store::Store`.
//!
//! The backend is chosen once, from the database URL's scheme, by [`open`];
//! nothing else in the program knows which one it runs on.

mod backend;
#[cfg(feature = "conformance")]
pub mod conformance;
mod database_url;
#[cfg(feature = "dynamodb")]
mod dynamo;
mod lockout;
mod sql;
#[doc(hidden)]
#[allow(clippy::panic)] // test helpers: a missing test server must fail the test loudly
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::store::Store;

pub use database_url::DatabaseUrl;
pub use sql::SqlStore;

/// How to connect, beyond the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How long a request waits for a connection (or for SQLite's write
    /// lock) before the store reports itself unavailable.
    pub acquire_timeout: Duration,
    /// Whether a missing SQLite file is created (and migrated). Commands
    /// that only read turn this off, so pointing one at the wrong path
    /// reports [`OpenError::NotFound`] instead of leaving an empty
    /// database there. Server backends have no file and ignore it.
    pub create_if_missing: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            create_if_missing: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "unsupported database URL scheme `{0}`: use sqlite://PATH, postgres://…, mysql://… \
         or dynamodb://TABLE (when built with the `dynamodb` feature)"
    )]
    UnsupportedScheme(String),
    #[error("the database URL is malformed: {0}")]
    MalformedUrl(String),
    /// The SQLite file does not exist and `create_if_missing` is off.
    /// `path` is where it was looked for, made absolute when it can be so
    /// that a relative default (`gatehouse.db`) says which directory.
    #[error("no database at {path} (looked for {url})")]
    NotFound { path: String, url: String },
    #[error("cannot open the database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("migrating the database {url} failed: {reason}")]
    Migrate { url: String, reason: String },
}

/// Opens the store named by `url` and brings its schema up to date.
pub async fn open(url: &DatabaseUrl, options: &StoreOptions) -> Result<Arc<dyn Store>, OpenError> {
    let store = match url.scheme() {
        "sqlite" => backend::sqlite::open(url, options).await?,
        "postgres" | "postgresql" => backend::postgres::open(url, options).await?,
        "mysql" | "mariadb" => backend::mysql::open(&url.with_scheme("mysql"), options).await?,
        #[cfg(feature = "dynamodb")]
        "dynamodb" => return Ok(Arc::new(dynamo::open(url, options).await?)),
        other => return Err(OpenError::UnsupportedScheme(other.to_string())),
    };
    Ok(Arc::new(store))
}
