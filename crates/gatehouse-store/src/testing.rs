//! Helpers for Gatehouse's own tests: a fresh, empty database on the test
//! servers named by `GATEHOUSE_TEST_POSTGRES_URL` / `GATEHOUSE_TEST_MYSQL_URL`,
//! so test runs and test cases never collide. Not for production use.

use std::future::Future;

use sqlx::Connection;

pub const POSTGRES_VAR: &str = "GATEHOUSE_TEST_POSTGRES_URL";
pub const MYSQL_VAR: &str = "GATEHOUSE_TEST_MYSQL_URL";
/// `dynamodb://TABLE?endpoint=http://127.0.0.1:PORT&region=us-east-1`: a
/// local DynamoDB-compatible server (CI runs moto); each test gets a
/// fresh table on it named after TABLE.
pub const DYNAMODB_VAR: &str = "GATEHOUSE_TEST_DYNAMODB_URL";

/// A database for one test: its URL, and a future that drops it.
pub struct TestDatabase {
    pub url: String,
    drop_it: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl TestDatabase {
    /// Drops the schema or database (best effort).
    pub async fn cleanup(mut self) {
        if let Some(f) = self.drop_it.take() {
            f.await;
        }
    }
}

fn unique_name() -> String {
    format!("gh_test_{}", gatehouse_core::id::new_id().replace('-', ""))
}

/// The backends configured for this test run, by name: always `sqlite`
/// (a file under `dir`), plus `postgres` and `mysql` when their variables
/// are set.
pub async fn test_databases(dir: &std::path::Path) -> Vec<(&'static str, TestDatabase)> {
    let mut out = vec![(
        "sqlite",
        sqlite_database(&dir.join(format!("{}.db", unique_name()))),
    )];
    if let Ok(base) = std::env::var(POSTGRES_VAR) {
        out.push(("postgres", fresh_postgres(&base).await));
    }
    if let Ok(base) = std::env::var(MYSQL_VAR) {
        out.push(("mysql", fresh_mysql(&base).await));
    }
    #[cfg(feature = "dynamodb")]
    if let Ok(base) = std::env::var(DYNAMODB_VAR) {
        out.push(("dynamodb", fresh_dynamodb(&base)));
    }
    out
}

/// A SQLite database at `path` (created when first opened).
pub fn sqlite_database(path: &std::path::Path) -> TestDatabase {
    TestDatabase {
        url: format!("sqlite://{}", path.display()),
        drop_it: None,
    }
}

/// A new schema in the PostgreSQL test database, reached through `search_path`.
pub async fn fresh_postgres(base: &str) -> TestDatabase {
    let schema = unique_name();
    let mut conn = match sqlx::PgConnection::connect(base).await {
        Ok(c) => c,
        Err(e) => panic!("PostgreSQL at {POSTGRES_VAR} is unreachable: {e}"),
    };
    if let Err(e) = sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
    {
        panic!("cannot create a test schema: {e}");
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    TestDatabase {
        url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        drop_it: Some(Box::pin(async move {
            let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&mut conn)
                .await;
        })),
    }
}

/// A new database on the MySQL/MariaDB test server.
pub async fn fresh_mysql(base: &str) -> TestDatabase {
    let db = unique_name();
    let mut conn = match sqlx::MySqlConnection::connect(base).await {
        Ok(c) => c,
        Err(e) => panic!("MySQL at {MYSQL_VAR} is unreachable: {e}"),
    };
    if let Err(e) = sqlx::query(&format!(
        "CREATE DATABASE {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ))
    .execute(&mut conn)
    .await
    {
        panic!("cannot create a test database: {e}");
    }
    let mut url = match url::Url::parse(base) {
        Ok(u) => u,
        Err(e) => panic!("{MYSQL_VAR} is not a URL: {e}"),
    };
    url.set_path(&format!("/{db}"));
    TestDatabase {
        url: url.to_string(),
        drop_it: Some(Box::pin(async move {
            let _ = sqlx::query(&format!("DROP DATABASE {db}"))
                .execute(&mut conn)
                .await;
        })),
    }
}

/// A new table on the DynamoDB test server: `base` with its table name
/// made unique (the store creates it when first opened; cleanup deletes
/// it). The server takes any credentials, but the SDK needs some: without
/// them in the environment it would ask the EC2 metadata address, which
/// tests must never reach.
#[cfg(feature = "dynamodb")]
pub fn fresh_dynamodb(base: &str) -> TestDatabase {
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        panic!(
            "{DYNAMODB_VAR} is set but AWS_ACCESS_KEY_ID is not: export \
             AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true \
             for the local server (.ci/run does)"
        );
    }
    let Some((scheme_and_table, query)) = base.split_once('?') else {
        panic!("{DYNAMODB_VAR} must name ?endpoint=… (a local server), not AWS itself");
    };
    if !query.contains("endpoint=") {
        panic!("{DYNAMODB_VAR} must name ?endpoint=… (a local server), not AWS itself");
    }
    let table = format!(
        "{}-{}",
        scheme_and_table.trim_start_matches("dynamodb://"),
        unique_name()
    );
    let url = format!("dynamodb://{table}?{query}");
    let dropped = url.clone();
    TestDatabase {
        url,
        drop_it: Some(Box::pin(async move {
            crate::dynamo::drop_table(&dropped).await;
        })),
    }
}

/// Deletes a test table (best effort).
#[cfg(feature = "dynamodb")]
pub async fn drop_dynamodb_table(url: &str) {
    crate::dynamo::drop_table(url).await;
}

/// The DynamoDB calls and request units the stores on `url`'s table have
/// used in this process (see `dynamo::UsageCounts`).
#[cfg(feature = "dynamodb")]
pub fn dynamodb_usage(url: &str) -> Option<crate::dynamo::UsageCounts> {
    let table = url.trim_start_matches("dynamodb://").split('?').next()?;
    crate::dynamo::usage(table)
}

#[cfg(feature = "dynamodb")]
pub use crate::dynamo::UsageCounts as DynamoUsage;
