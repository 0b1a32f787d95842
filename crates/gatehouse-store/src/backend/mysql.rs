//! MySQL and MariaDB: where many home-grown auth functions keep their users.
//!
//! Text that is compared (names, keys) uses the binary collation, because
//! core already lowercases lookup keys and the default collations would
//! also fold accents (`ä` = `a`) and trailing spaces.

use std::str::FromStr;

use gatehouse_core::store::StoreError;
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPoolOptions};

use super::{ErrorClass, as_written, classify, sqlx_driver};
use crate::sql::SqlStore;
use crate::{DatabaseUrl, OpenError, StoreOptions};

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

sqlx_driver!(
    MySqlDb,
    sqlx::MySql,
    sqlx::mysql::MySqlRow,
    as_written,
    classify_mysql
);

/// InnoDB deadlocks (1213) and lock-wait timeouts (1205) are worth a
/// retry; concurrent inserts of one unique key can deadlock in InnoDB.
/// Data too long for its column (1406) and a string the column's
/// character set cannot hold (1366) are the caller's input, refused.
fn classify_mysql(e: &sqlx::Error) -> ErrorClass {
    if let sqlx::Error::Database(db) = e
        && db
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|m| matches!(m.number(), 1406 | 1366))
    {
        return ErrorClass::Final(StoreError::Unstorable("text MySQL cannot store"));
    }
    classify(e, |db| {
        db.try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|m| matches!(m.number(), 1213 | 1205))
    })
}

pub(crate) async fn open(url: &DatabaseUrl, options: &StoreOptions) -> Result<SqlStore, OpenError> {
    let connect_err = |e: sqlx::Error| OpenError::Connect {
        url: url.to_string(),
        reason: e.to_string(),
    };
    let connect = MySqlConnectOptions::from_str(url.expose())
        .map_err(connect_err)?
        .charset("utf8mb4");
    let pool = MySqlPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        // Outside strict mode MySQL truncates an over-long value with a
        // mere warning: a truncated `username_key` could make two names
        // one. Strict mode for every table turns that into an error.
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::query(
                    "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_ALL_TABLES')",
                )
                .execute(conn)
                .await
                .map(drop)
            })
        })
        .connect_with(connect)
        .await
        .map_err(connect_err)?;
    MySqlDb::into_store(pool, &MIGRATOR, url, options.acquire_timeout).await
}
