//! Schema upgrades keep the data: a database made by the first schema (as
//! the first release left it) is migrated by `open` and read back; and a
//! schema newer than this binary is refused with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use gatehouse_core::account_token::{AccountToken, TokenConsumed, TokenPurpose};
use gatehouse_core::audit::AuditEvent;
use gatehouse_core::keys::KeyState;
use gatehouse_core::session::Origin;
use gatehouse_core::store::{EventQuery, LoginAttempt, Store, StoreError};
use gatehouse_core::tenant::{EmailVerification, TenantSettings};
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
    assert_eq!(
        (session.origin, session.last_refreshed_at),
        (Origin::default(), None)
    );
    assert_eq!((user.email_verified, user.disabled), (false, false));
    let tenant = store.tenant_by_name("legacy").await.unwrap().unwrap();
    assert_eq!(tenant.display_name, None);
    assert_eq!(tenant.settings, TenantSettings::default());
    assert!(store.list_clients("t1").await.unwrap().is_empty());
}

/// The schema as it was before `20261204000002_accounts`: every migration
/// of the backend older than that one, applied by sqlx from a copy.
async fn migrator_before_accounts(backend: &str, dir: &Path) -> sqlx::migrate::Migrator {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let old = dir.join(format!("{backend}-before-accounts"));
    std::fs::create_dir(&old).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        let file = entry.file_name().into_string().unwrap();
        if file.as_str() < "20261204000002" {
            std::fs::copy(entry.path(), old.join(&file)).unwrap();
        }
    }
    sqlx::migrate::Migrator::new(old.as_path()).await.unwrap()
}

/// Rows as the release before the accounts migration wrote them, in SQL
/// every backend takes.
const ROWS_BEFORE_ACCOUNTS: [&str; 4] = [
    "INSERT INTO tenants (id, name, algorithm, access_ttl_secs, audiences, display_name, created_at)
          VALUES ('t1', 'legacy', 'EdDSA', 900, '[]', NULL, 100)",
    "INSERT INTO users (id, tenant_id, username, username_key, email, email_key, roles, password_hash, created_at)
          VALUES ('u1', 't1', 'Old', 'old', 'old@example.com', 'old@example.com', '[]', '$argon2id$x', 200)",
    "INSERT INTO sessions (id, tenant_id, user_id, client_id, scope, created_at, expires_at, revoked_at)
          VALUES ('s1', 't1', 'u1', 'gatehouse', 'openid', 300, 900, NULL)",
    "INSERT INTO browser_sessions (id, token_hash, tenant_id, user_id, auth_time, created_at, expires_at)
          VALUES ('b1', 'h1', 't1', 'u1', 300, 300, 900)",
];

macro_rules! before_accounts {
    ($conn:ty, $backend:expr, $url:expr, $dir:expr) => {{
        let mut conn = <$conn>::connect($url).await.unwrap();
        migrator_before_accounts($backend, $dir)
            .await
            .run(&mut conn)
            .await
            .unwrap();
        for row in ROWS_BEFORE_ACCOUNTS {
            sqlx::query(row).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    }};
}

#[tokio::test]
async fn rows_from_before_the_accounts_migration_read_back_with_its_defaults() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, db) in gatehouse_store::testing::test_databases(dir.path()).await {
        let url = match backend {
            "sqlite" => format!("{}?mode=rwc", db.url),
            _ => db.url.clone(),
        };
        match backend {
            "sqlite" => before_accounts!(sqlx::SqliteConnection, backend, &url, dir.path()),
            "postgres" => before_accounts!(sqlx::PgConnection, backend, &url, dir.path()),
            "mysql" => before_accounts!(sqlx::MySqlConnection, backend, &url, dir.path()),
            _ => {
                db.cleanup().await;
                continue;
            }
        }

        let store = open(&url).await.unwrap();
        let tenant = store.tenant_by_name("legacy").await.unwrap().unwrap();
        assert_eq!(tenant.settings, TenantSettings::default(), "{backend}");
        let user = store.user_by_id("t1", "u1").await.unwrap().unwrap();
        assert_eq!(
            (user.email_verified, user.disabled),
            (false, false),
            "{backend}"
        );
        assert_eq!(
            (user.failed_logins, user.lock_count, user.locked_until),
            (0, 0, None),
            "{backend}: no failures, no locks, not locked"
        );
        let session = store.session("t1", "s1").await.unwrap().unwrap();
        assert_eq!(
            (session.origin, session.last_refreshed_at),
            (Origin::default(), None),
            "{backend}"
        );
        assert_eq!(
            store
                .list_user_sessions("t1", "u1", 400)
                .await
                .unwrap()
                .len(),
            1,
            "{backend}"
        );
        // The new columns and table take writes on the old rows.
        let mut changed = user.clone();
        changed.email_verified = true;
        assert!(store.update_user(&changed).await.unwrap(), "{backend}");
        store.touch_session("t1", "s1", 400).await.unwrap();
        let link = AccountToken {
            token_hash: "0".repeat(64),
            tenant_id: "t1".into(),
            user_id: "u1".into(),
            purpose: TokenPurpose::VerifyEmail,
            email: user.email.clone(),
            created_at: 400,
            expires_at: 500,
            used_at: None,
        };
        store.insert_account_token(&link, 0).await.unwrap();
        assert_eq!(
            store
                .revoke_user_sessions("t1", "u1", None, 450)
                .await
                .unwrap(),
            1,
            "{backend}"
        );
        assert!(matches!(
            store
                .consume_account_token("t1", TokenPurpose::VerifyEmail, &link.token_hash, 450)
                .await
                .unwrap(),
            TokenConsumed::Fresh(_)
        ));
        // And the soft-lock and the audit log (`20261204000003_abuse`).
        assert_eq!(
            store
                .claim_login_attempt("t1", "u1", 500, 1, &[60])
                .await
                .unwrap(),
            LoginAttempt::Allowed {
                locked_until: Some(560)
            },
            "{backend}"
        );
        let event = AuditEvent {
            id: "0190f0a4-6d0e-7c1e-9a8b-0123456789ab".into(),
            tenant_id: "t1".into(),
            at: 500,
            kind: "account.locked".into(),
            actor: None,
            subject: Some("u1".into()),
            ip: None,
            user_agent: None,
            outcome: "success".into(),
            reason: None,
        };
        store
            .append_events(std::slice::from_ref(&event))
            .await
            .unwrap();
        let query = EventQuery {
            limit: 10,
            ..EventQuery::default()
        };
        assert_eq!(
            store.list_events("t1", &query).await.unwrap(),
            [event],
            "{backend}"
        );
        drop(store);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn unreadable_tenant_settings_are_a_backend_error_and_unknown_members_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    drop(open(&url).await.unwrap());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(
        r#"INSERT INTO tenants (id, name, algorithm, access_ttl_secs, audiences, settings, created_at)
                VALUES ('t1', 'garbled', 'EdDSA', 900, '[]', 'not json', 100),
                       ('t2', 'unknown-value', 'EdDSA', 900, '[]', '{"email_verification":"sometimes"}', 100),
                       ('t3', 'from-the-future', 'EdDSA', 900, '[]', '{"mail_from":"a@b.example","later":1}', 100);"#,
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let store = open(&url).await.unwrap();
    for name in ["garbled", "unknown-value"] {
        assert!(
            matches!(
                store.tenant_by_name(name).await,
                Err(StoreError::Backend(_))
            ),
            "{name}"
        );
    }
    let future = store
        .tenant_by_name("from-the-future")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(future.settings.mail_from.as_deref(), Some("a@b.example"));
    assert_eq!(
        future.settings.email_verification,
        EmailVerification::default()
    );
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
