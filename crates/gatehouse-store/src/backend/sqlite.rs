//! SQLite: the embedded default, one file, nothing to install.
//!
//! Every connection runs with WAL (readers never block the writer),
//! `synchronous=NORMAL` (in WAL mode a commit survives a crash of the
//! process, and a power loss can lose only the last transactions, never
//! corrupt the file: the setting SQLite's documentation recommends for
//! WAL; `FULL` would add an fsync per commit for the power-loss case),
//! foreign keys on, and a busy timeout so concurrent writers queue.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{ErrorClass, as_written, classify, sqlx_driver};
use crate::sql::SqlStore;
use crate::{DatabaseUrl, OpenError, StoreOptions};

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

sqlx_driver!(
    SqliteDb,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    as_written,
    classify_sqlite
);

/// SQLite serialises writers with its own lock and the busy timeout; when
/// that runs out the store is "unavailable", not retried again here.
fn classify_sqlite(e: &sqlx::Error) -> ErrorClass {
    if let sqlx::Error::Database(db) = e
        && matches!(db.code().as_deref(), Some("5" | "6" | "517"))
    {
        return ErrorClass::Final(gatehouse_core::store::StoreError::Unavailable(
            e.to_string(),
        ));
    }
    classify(e, |_| false)
}

pub(crate) async fn open(url: &DatabaseUrl, options: &StoreOptions) -> Result<SqlStore, OpenError> {
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
    SqliteDb::into_store(pool, &MIGRATOR, url, options.acquire_timeout).await
}
