//! The backends the conformance suite runs on: a fresh SQLite file always;
//! a fresh PostgreSQL schema and a fresh MySQL database when their URL
//! variables are set. CI sets both, so it never skips them; each case gets
//! its own, so runs and cases cannot collide.

use std::future::Future;
use std::sync::Arc;

use gatehouse_core::store::Store;
use gatehouse_store::{DatabaseUrl, StoreOptions};
use sqlx::Connection;

pub const POSTGRES_VAR: &str = "GATEHOUSE_TEST_POSTGRES_URL";
pub const MYSQL_VAR: &str = "GATEHOUSE_TEST_MYSQL_URL";

/// Runs `case` once per available backend, each on a database of its own.
pub async fn for_each_backend<F, Fut>(case: F)
where
    F: Fn(&'static str, Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("conformance.db").display());
    case("sqlite", open(&url).await).await;

    if let Ok(base) = std::env::var(POSTGRES_VAR) {
        let (url, cleanup) = fresh_postgres(&base).await;
        case("postgres", open(&url).await).await;
        cleanup.await;
    }
    if let Ok(base) = std::env::var(MYSQL_VAR) {
        let (url, cleanup) = fresh_mysql(&base).await;
        case("mysql", open(&url).await).await;
        cleanup.await;
    }
}

async fn open(url: &str) -> Arc<dyn Store> {
    gatehouse_store::open(&DatabaseUrl::parse(url).unwrap(), &StoreOptions::default())
        .await
        .unwrap()
}

fn unique_name() -> String {
    format!("gh_test_{}", uuid_like())
}

fn uuid_like() -> String {
    gatehouse_core::id::new_id().replace('-', "")
}

/// A new schema in the test database, reached through `search_path`.
pub async fn fresh_postgres(base: &str) -> (String, impl Future<Output = ()>) {
    let schema = unique_name();
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("PostgreSQL is unreachable");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let cleanup = async move {
        let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut conn)
            .await;
    };
    (url, cleanup)
}

/// A new database on the test server.
pub async fn fresh_mysql(base: &str) -> (String, impl Future<Output = ()>) {
    let db = unique_name();
    let mut conn = sqlx::MySqlConnection::connect(base)
        .await
        .expect("MySQL/MariaDB is unreachable");
    sqlx::query(&format!(
        "CREATE DATABASE {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let mut url = url::Url::parse(base).unwrap();
    url.set_path(&format!("/{db}"));
    let cleanup = async move {
        let _ = sqlx::query(&format!("DROP DATABASE {db}"))
            .execute(&mut conn)
            .await;
    };
    (url.to_string(), cleanup)
}
