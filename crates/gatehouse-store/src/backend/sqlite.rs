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
    let connect = SqliteConnectOptions::from_str(url.expose()).map_err(connect_err)?;
    if !options.create_if_missing && !is_in_memory(url.expose()) {
        let path = connect.get_filename();
        // An error (a directory we may not read) is left to SQLite to report.
        if let Ok(false) = path.try_exists() {
            return Err(OpenError::NotFound {
                path: std::path::absolute(path)
                    .unwrap_or_else(|_| path.to_path_buf())
                    .display()
                    .to_string(),
                url: url.to_string(),
            });
        }
    }
    // Set after parsing, so it also overrides a `?mode=rwc` in the URL.
    let connect = connect
        .create_if_missing(options.create_if_missing)
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

/// `sqlite::memory:` and `?mode=memory` name no file that could be missing.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(create_if_missing: bool) -> StoreOptions {
        StoreOptions {
            create_if_missing,
            ..StoreOptions::default()
        }
    }

    #[tokio::test]
    async fn a_missing_file_is_reported_not_created_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.db");
        let url = DatabaseUrl::parse(&format!("sqlite://{}?mode=rwc", file.display())).unwrap();
        match open(&url, &options(false)).await {
            Err(OpenError::NotFound { path, url }) => {
                assert_eq!(path, file.display().to_string());
                assert!(url.starts_with("sqlite://"), "{url}");
            }
            Err(e) => panic!("expected NotFound, got {e}"),
            Ok(_) => panic!("opened a database that does not exist"),
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing created"
        );

        open(&url, &options(true)).await.unwrap();
        assert!(file.exists());
        open(&url, &options(false)).await.unwrap();
    }

    #[tokio::test]
    async fn in_memory_needs_no_file() {
        let url = DatabaseUrl::parse("sqlite::memory:").unwrap();
        open(&url, &options(false)).await.unwrap();
    }
}
