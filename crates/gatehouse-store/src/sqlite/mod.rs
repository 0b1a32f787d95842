//! The SQLite backend: the embedded default, one file, nothing to install.
//!
//! Every connection runs with WAL (readers never block the writer),
//! `synchronous=NORMAL` (in WAL mode a commit is durable against a process
//! crash, and only the last transactions can be lost on power loss: the
//! trade SQLite's own documentation recommends for WAL), foreign keys on, and
//! a busy timeout so concurrent writers queue instead of failing.

mod keys;
mod sessions;
mod tenants;
mod users;

use std::str::FromStr;

use async_trait::async_trait;
use gatehouse_core::store::{Store, StoreError, StoreResult, UniqueField};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::{DatabaseUrl, OpenError, StoreOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(url: &DatabaseUrl, options: &StoreOptions) -> Result<Self, OpenError> {
        let connect_err = |e: sqlx::Error| OpenError::Connect {
            url: url.to_string(),
            reason: e.to_string(),
        };
        let connect = SqliteConnectOptions::from_str(url.expose())
            .map_err(connect_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(options.acquire_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(connect_err)?;
        MIGRATOR.run(&pool).await.map_err(|e| OpenError::Migrate {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

/// Classifies a driver error. Unique violations are returned as
/// `Conflict(Other)`; callers that can say which rule broke refine it.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(UniqueField::Other)
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        // SQLITE_BUSY after the busy timeout: the write lock stayed taken.
        sqlx::Error::Database(db) if db.code().as_deref() == Some("5") => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// Reads a JSON array-of-strings column.
pub(crate) fn json_list(row: &sqlx::sqlite::SqliteRow, column: &str) -> StoreResult<Vec<String>> {
    let text: String = row.try_get(column).map_err(map_err)?;
    serde_json::from_str(&text)
        .map_err(|e| StoreError::Backend(format!("column {column} is not a JSON list: {e}")))
}

pub(crate) fn to_json_list(list: &[String]) -> String {
    // Serialising a list of strings cannot fail.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string())
}
