//! Schema upgrades keep the data: a database made by the first schema (as
//! the first release left it) is migrated by `open` and read back; and a
//! schema newer than this binary is refused with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use gatehouse_core::keys::KeyState;
use gatehouse_core::store::Store;
use gatehouse_core::user::LoginName;
use gatehouse_store::{DatabaseUrl, OpenError, StoreOptions};
use sqlx::Connection;

async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, OpenError> {
    gatehouse_store::open(&DatabaseUrl::parse(url).unwrap(), &StoreOptions::default()).await
}

#[tokio::test]
async fn a_first_schema_sqlite_database_is_upgraded_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());

    // The first release's schema, applied by sqlx from just its first file.
    let first_only = dir.path().join("migrations");
    std::fs::create_dir(&first_only).unwrap();
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite/20261123000001_initial.sql");
    std::fs::copy(&src, first_only.join("20261123000001_initial.sql")).unwrap();
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(first_only.as_path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();

    // Rows as that release wrote them (its keys were stored in the clear).
    sqlx::raw_sql(
        "INSERT INTO tenants VALUES ('t1', 'legacy', 'EdDSA', 900, '[]', 100);
         INSERT INTO signing_keys VALUES ('k1', 't1', 'EdDSA', 'current', 'PEM', 100);
         INSERT INTO users (id, tenant_id, username, username_key, email, email_key, roles, password_hash, created_at)
              VALUES ('u1', 't1', 'Old', 'old', 'old@example.com', 'old@example.com', '[]', '$argon2id$x', 200);
         INSERT INTO sessions VALUES ('s1', 't1', 'u1', 'gatehouse', 'openid', 300, 900, NULL);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let store = open(&url).await.unwrap();
    let keys = store.keys_for_tenant("t1").await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].state, KeyState::Current);
    assert_eq!(
        keys[0].activated_at,
        Some(100),
        "the current key's activation is its creation"
    );
    assert_eq!(keys[0].retired_at, None);
    let user = store
        .user_by_login("t1", &LoginName::Email("OLD@example.com".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((user.id.as_str(), user.username.as_str()), ("u1", "Old"));
    // Columns added since read as absent on the old rows.
    let session = store.session("t1", "s1").await.unwrap().unwrap();
    assert_eq!(
        (session.client_id.as_str(), session.browser_session_id),
        ("gatehouse", None)
    );
    let tenant = store.tenant_by_name("legacy").await.unwrap().unwrap();
    assert_eq!(tenant.display_name, None);
    assert!(store.list_clients("t1").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_schema_newer_than_this_binary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("new.db").display());
    drop(open(&url).await.unwrap());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (29991231000000, 'from the future', TRUE, X'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let err = open(&url)
        .await
        .err()
        .expect("a newer schema must be refused");
    let message = err.to_string();
    assert!(
        message.contains("newer than this Gatehouse knows"),
        "{message}"
    );
}
