//! PostgreSQL: the scale-out backend. Many stateless nodes share one
//! database; every rule that must hold across nodes is a unique index or a
//! conditional write, so nodes never coordinate otherwise.

use std::borrow::Cow;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use gatehouse_core::store::StoreError;

use super::{ErrorClass, classify, sqlx_driver};
use crate::sql::SqlStore;
use crate::{DatabaseUrl, OpenError, StoreOptions};

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

sqlx_driver!(
    PgDb,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    numbered_placeholders,
    classify_pg
);

/// Serialization failure (40001) and deadlock (40P01) are worth a retry.
/// Text PostgreSQL cannot hold (22021: a NUL in `text`; 22P05; 22001: too
/// long; 54000: an index entry over its size limit) is the caller's input,
/// refused (the store keeps NULs from the driver already; this is the line
/// behind that).
fn classify_pg(e: &sqlx::Error) -> ErrorClass {
    if let sqlx::Error::Database(db) = e
        && matches!(
            db.code().as_deref(),
            Some("22021" | "22P05" | "22001" | "54000")
        )
    {
        return ErrorClass::Final(StoreError::Unstorable("text PostgreSQL cannot store"));
    }
    classify(e, |db| {
        matches!(db.code().as_deref(), Some("40001" | "40P01"))
    })
}

/// `?` → `$1, $2, …` (our SQL has no `?` inside string literals).
fn numbered_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

pub(crate) async fn open(url: &DatabaseUrl, options: &StoreOptions) -> Result<SqlStore, OpenError> {
    let connect_err = |e: sqlx::Error| OpenError::Connect {
        url: url.to_string(),
        reason: e.to_string(),
    };
    let connect = PgConnectOptions::from_str(url.expose()).map_err(connect_err)?;
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await
        .map_err(connect_err)?;
    PgDb::into_store(pool, &MIGRATOR, url, options.acquire_timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            numbered_placeholders("a = ? AND b = ?"),
            "a = $1 AND b = $2"
        );
        assert_eq!(numbered_placeholders("SELECT 1"), "SELECT 1");
    }
}
