//! The three backends. Each is a thin driver: connect, migrate, bind the
//! parameters, read rows, and say which driver errors mean "conflict",
//! "retry" or "unavailable". The SQL itself lives once, in `crate::sql`.

pub(crate) mod mysql;
pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::future::Future;
use std::time::Duration;

use gatehouse_core::store::{StoreError, StoreResult};
use sqlx::error::DatabaseError;

use crate::sql::unique_field;

/// A deadlock or serialization failure is retried this many times (with a
/// short growing pause) before the caller sees it as "unavailable".
const MAX_ATTEMPTS: u32 = 5;

/// What a driver error means for the caller.
pub(crate) enum ErrorClass {
    /// A deadlock or serialization failure: running again may succeed.
    Retry,
    Final(StoreError),
}

/// The classification all backends share; `retryable` names the
/// backend's own deadlock/serialization codes.
pub(crate) fn classify(
    e: &sqlx::Error,
    retryable: impl Fn(&dyn DatabaseError) -> bool,
) -> ErrorClass {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => ErrorClass::Final(
            StoreError::Conflict(unique_field(db.constraint().unwrap_or(""))),
        ),
        sqlx::Error::Database(db) if retryable(db.as_ref()) => ErrorClass::Retry,
        // The connection failed under us (a dropped socket reads as a
        // protocol error). Not retried: the statement may have run, and
        // running it twice is not always harmless (a refresh token would
        // look reused).
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => ErrorClass::Final(StoreError::Unavailable(e.to_string())),
        _ => ErrorClass::Final(StoreError::Backend(e.to_string())),
    }
}

/// Runs `op` with the per-request time limit, retrying what `classify`
/// calls retryable. A database that does not answer within `timeout` is
/// "unavailable" (503), never a hang.
pub(crate) async fn run<T, F, Fut>(
    timeout: Duration,
    classify: fn(&sqlx::Error) -> ErrorClass,
    mut op: F,
) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut attempt = 1;
    loop {
        let outcome = tokio::time::timeout(timeout, op()).await.map_err(|_| {
            StoreError::Unavailable(format!("the database did not answer within {timeout:?}"))
        })?;
        match outcome {
            Ok(v) => return Ok(v),
            Err(e) => match classify(&e) {
                ErrorClass::Retry if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "retrying after a deadlock or serialization failure");
                    tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt * attempt)))
                        .await;
                    attempt += 1;
                }
                ErrorClass::Retry => return Err(StoreError::Unavailable(e.to_string())),
                ErrorClass::Final(err) => return Err(err),
            },
        }
    }
}

/// Refuses a database whose schema is newer than this binary knows: an
/// older node must not write to a schema it does not understand.
pub(crate) fn check_schema_version(
    applied: Option<i64>,
    migrator: &sqlx::migrate::Migrator,
) -> Result<(), String> {
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    match applied {
        Some(v) if v > known => Err(format!(
            "the database schema is at version {v}, newer than this Gatehouse knows ({known}); \
             run a newer Gatehouse against it"
        )),
        _ => Ok(()),
    }
}

/// The glue every sqlx driver needs, identical but for its types: binding
/// our parameters, reading rows by name, running statements and
/// transactions through [`run`].
macro_rules! sqlx_driver {
    ($driver:ident, $db:ty, $row:ty, $rewrite:path, $classify:path) => {
        pub(crate) struct $driver {
            pool: sqlx::Pool<$db>,
            timeout: std::time::Duration,
        }

        impl $driver {
            /// Refuses a newer schema, applies ours, and wraps the pool as
            /// the store.
            async fn into_store(
                pool: sqlx::Pool<$db>,
                migrator: &sqlx::migrate::Migrator,
                url: &$crate::DatabaseUrl,
                timeout: std::time::Duration,
            ) -> Result<$crate::sql::SqlStore, $crate::OpenError> {
                let migrate_err = |reason: String| $crate::OpenError::Migrate {
                    url: url.to_string(),
                    reason,
                };
                // No table yet means a new database: nothing applied.
                let applied: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
                        .fetch_one(&pool)
                        .await
                        .unwrap_or(None);
                $crate::backend::check_schema_version(applied, migrator).map_err(migrate_err)?;
                migrator
                    .run(&pool)
                    .await
                    .map_err(|e| migrate_err(e.to_string()))?;
                Ok($crate::sql::SqlStore::new(Box::new(Self { pool, timeout })))
            }

            fn bind<'q>(
                mut q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
                args: Vec<$crate::sql::Arg>,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                use $crate::sql::Arg;
                for arg in args {
                    q = match arg {
                        Arg::Text(v) => q.bind(v),
                        Arg::OptText(v) => q.bind(v),
                        Arg::Int(v) => q.bind(v),
                        Arg::OptInt(v) => q.bind(v),
                        Arg::Bool(v) => q.bind(v),
                    };
                }
                q
            }
        }

        #[async_trait::async_trait]
        impl $crate::sql::Db for $driver {
            async fn execute(
                &self,
                st: $crate::sql::Statement,
            ) -> gatehouse_core::store::StoreResult<u64> {
                let sql = $rewrite(&st.sql);
                $crate::backend::run(self.timeout, $classify, || async {
                    let q = Self::bind(sqlx::query(&sql), st.args.clone());
                    q.execute(&self.pool).await.map(|r| r.rows_affected())
                })
                .await
            }

            async fn fetch_optional(
                &self,
                st: $crate::sql::Statement,
            ) -> gatehouse_core::store::StoreResult<Option<$crate::sql::BoxRow>> {
                let sql = $rewrite(&st.sql);
                let row = $crate::backend::run(self.timeout, $classify, || async {
                    Self::bind(sqlx::query(&sql), st.args.clone())
                        .fetch_optional(&self.pool)
                        .await
                })
                .await?;
                Ok(row.map(|r| Box::new(r) as $crate::sql::BoxRow))
            }

            async fn fetch_all(
                &self,
                st: $crate::sql::Statement,
            ) -> gatehouse_core::store::StoreResult<Vec<$crate::sql::BoxRow>> {
                let sql = $rewrite(&st.sql);
                let rows = $crate::backend::run(self.timeout, $classify, || async {
                    Self::bind(sqlx::query(&sql), st.args.clone())
                        .fetch_all(&self.pool)
                        .await
                })
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| Box::new(r) as $crate::sql::BoxRow)
                    .collect())
            }

            async fn transaction(
                &self,
                statements: Vec<$crate::sql::Statement>,
                require: $crate::sql::Require,
            ) -> gatehouse_core::store::StoreResult<Option<Vec<u64>>> {
                let statements: Vec<(String, Vec<$crate::sql::Arg>)> = statements
                    .into_iter()
                    .map(|s| ($rewrite(&s.sql).into_owned(), s.args))
                    .collect();
                $crate::backend::run(self.timeout, $classify, || async {
                    let mut tx = self.pool.begin().await?;
                    let mut changed = Vec::with_capacity(statements.len());
                    for (index, (sql, args)) in statements.iter().enumerate() {
                        let rows = Self::bind(sqlx::query(sql), args.clone())
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        if !require.met(index, rows) {
                            tx.rollback().await?;
                            return Ok(None);
                        }
                        changed.push(rows);
                    }
                    tx.commit().await?;
                    Ok(Some(changed))
                })
                .await
            }

            async fn ping(&self) -> gatehouse_core::store::StoreResult<()> {
                $crate::backend::run(self.timeout, $classify, || async {
                    sqlx::query("SELECT 1").execute(&self.pool).await.map(drop)
                })
                .await
            }
        }

        impl $crate::sql::Row for $row {
            fn text(&self, column: &str) -> gatehouse_core::store::StoreResult<String> {
                self.opt_text(column)?.ok_or_else(|| {
                    gatehouse_core::store::StoreError::Backend(format!("column {column} is NULL"))
                })
            }

            fn opt_text(&self, column: &str) -> gatehouse_core::store::StoreResult<Option<String>> {
                use sqlx::Row as _;
                match self.try_get::<Option<String>, _>(column) {
                    Ok(v) => Ok(v),
                    // MySQL reports binary-collated text as bytes.
                    Err(_) => self
                        .try_get::<Option<Vec<u8>>, _>(column)
                        .map_err(|e| {
                            gatehouse_core::store::StoreError::Backend(format!(
                                "column {column}: {e}"
                            ))
                        })?
                        .map(|b| {
                            String::from_utf8(b).map_err(|_| {
                                gatehouse_core::store::StoreError::Backend(format!(
                                    "column {column} is not UTF-8"
                                ))
                            })
                        })
                        .transpose(),
                }
            }

            fn int(&self, column: &str) -> gatehouse_core::store::StoreResult<i64> {
                self.opt_int(column)?.ok_or_else(|| {
                    gatehouse_core::store::StoreError::Backend(format!("column {column} is NULL"))
                })
            }

            fn opt_int(&self, column: &str) -> gatehouse_core::store::StoreResult<Option<i64>> {
                use sqlx::Row as _;
                self.try_get::<Option<i64>, _>(column).map_err(|e| {
                    gatehouse_core::store::StoreError::Backend(format!("column {column}: {e}"))
                })
            }

            fn flag(&self, column: &str) -> gatehouse_core::store::StoreResult<bool> {
                use sqlx::Row as _;
                self.try_get::<bool, _>(column).map_err(|e| {
                    gatehouse_core::store::StoreError::Backend(format!("column {column}: {e}"))
                })
            }
        }
    };
}
pub(crate) use sqlx_driver;

/// Placeholders as written (`?`), for SQLite and MySQL.
pub(crate) fn as_written(sql: &str) -> std::borrow::Cow<'_, str> {
    std::borrow::Cow::Borrowed(sql)
}
