//! The exported conformance suite (`gatehouse_store::conformance`) on every
//! configured backend: SQLite always, PostgreSQL and MySQL/MariaDB when
//! `GATEHOUSE_TEST_POSTGRES_URL` / `GATEHOUSE_TEST_MYSQL_URL` are set (CI
//! sets both). Each case gets a fresh database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use gatehouse_core::store::Store;
use gatehouse_store::testing::{self, TestDatabase};
use gatehouse_store::{DatabaseUrl, StoreOptions};

async fn open(url: &str) -> Arc<dyn Store> {
    gatehouse_store::open(&DatabaseUrl::parse(url).unwrap(), &StoreOptions::default())
        .await
        .unwrap()
}

/// Runs the suite on `backend`, each case on a database `make` creates;
/// the databases are dropped afterwards.
async fn suite<F, Fut>(backend: &'static str, make: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = TestDatabase>,
{
    let made = Mutex::new(Vec::new());
    gatehouse_store::conformance::run(backend, || async {
        let db = make().await;
        let store = open(&db.url).await;
        made.lock().unwrap().push(db);
        store
    })
    .await;
    for db in made.into_inner().unwrap() {
        db.cleanup().await;
    }
}

#[tokio::test]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    suite("sqlite", || async {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        testing::sqlite_database(&dir.path().join(format!("case{i}.db")))
    })
    .await;
}

#[tokio::test]
async fn postgres_conforms() {
    let Ok(base) = std::env::var(testing::POSTGRES_VAR) else {
        eprintln!("skipped: {} is not set", testing::POSTGRES_VAR);
        return;
    };
    suite("postgres", || testing::fresh_postgres(&base)).await;
}

#[tokio::test]
async fn mysql_conforms() {
    let Ok(base) = std::env::var(testing::MYSQL_VAR) else {
        eprintln!("skipped: {} is not set", testing::MYSQL_VAR);
        return;
    };
    suite("mysql", || testing::fresh_mysql(&base)).await;
}

/// DynamoDB on the local server `GATEHOUSE_TEST_DYNAMODB_URL` names (CI
/// runs moto), each case on a fresh table of its own.
#[tokio::test]
async fn dynamodb_conforms() {
    let Ok(base) = std::env::var(testing::DYNAMODB_VAR) else {
        eprintln!("skipped: {} is not set", testing::DYNAMODB_VAR);
        return;
    };
    suite("dynamodb", || async { testing::fresh_dynamodb(&base) }).await;
}
