//! Runs each conformance case on every configured backend (see
//! `gatehouse_store::testing`): SQLite always, PostgreSQL and MySQL when
//! CI's variables name them.

use std::future::Future;
use std::sync::Arc;

use gatehouse_core::store::Store;
use gatehouse_store::{DatabaseUrl, StoreOptions};

/// Runs `case` once per available backend, each on a database of its own.
pub async fn for_each_backend<F, Fut>(case: F)
where
    F: Fn(&'static str, Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    for (name, db) in gatehouse_store::testing::test_databases(dir.path()).await {
        let store = gatehouse_store::open(
            &DatabaseUrl::parse(&db.url).unwrap(),
            &StoreOptions::default(),
        )
        .await
        .unwrap();
        case(name, store).await;
        db.cleanup().await;
    }
}
