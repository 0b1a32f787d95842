//! The store conformance suite: what every backend must do, as cases any
//! backend crate can run against its own store (feature `conformance`).
//!
//! ```ignore
//! gatehouse_store::conformance::run("mybackend", || async { fresh_store().await }).await;
//! ```
//!
//! Each case gets a fresh, empty store from the factory, so cases may
//! assume no other tenants exist. A failing case panics; the case and
//! backend are printed before each case runs so the panic is attributable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::Pin;

use futures::future::join_all;
use gatehouse_core::account_token::{AccountToken, TokenConsumed, TokenPurpose};
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::apikey::ApiKeyRecord;
use gatehouse_core::audit::AuditEvent;
use gatehouse_core::keys::{KeyState, SigningKeyRecord};
use gatehouse_core::oauth::client::mint_client_id;
use gatehouse_core::oauth::{
    AuthorizationCode, BrowserSession, ClientRecord, ClientType, CodeConsumed, GrantType,
};
use gatehouse_core::password::PasswordHash;
use gatehouse_core::refresh::{Consumed, RefreshRecord};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_core::session::{Origin, Session};
use gatehouse_core::store::{EventQuery, LoginAttempt, Store, StoreError, UniqueField, UserQuery};
use gatehouse_core::tenant::{EmailVerification, Tenant, TenantName, TenantSettings};
use gatehouse_core::tenant_secret::TenantSecret;
use gatehouse_core::user::{LoginName, User};
use secrecy::{ExposeSecret, SecretString};

use std::sync::Arc;

fn master() -> MasterKeys {
    MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap()
}

fn tenant(name: &str) -> Tenant {
    Tenant {
        id: gatehouse_core::id::new_id(),
        name: TenantName::parse(name).unwrap(),
        algorithm: SigningAlgorithm::EdDSA,
        access_ttl_secs: 900,
        audiences: vec!["api".into()],
        display_name: None,
        settings: TenantSettings::default(),
        created_at: 1_000,
    }
}

fn key(t: &Tenant, state: KeyState) -> SigningKeyRecord {
    SigningKeyRecord::generate(&t.id, SigningAlgorithm::EdDSA, state, 1_000, &master()).unwrap()
}

async fn new_tenant(store: &dyn Store, name: &str) -> Tenant {
    let t = tenant(name);
    store
        .create_tenant(&t, &key(&t, KeyState::Current))
        .await
        .unwrap();
    t
}

fn user(t: &Tenant, username: &str, email: Option<&str>) -> User {
    User {
        id: gatehouse_core::id::new_id(),
        tenant_id: t.id.clone(),
        username: username.into(),
        email: email.map(Into::into),
        first_name: Some("Ada".into()),
        last_name: None,
        roles: vec!["admin".into(), "ops".into()],
        email_verified: false,
        disabled: false,
        failed_logins: 0,
        lock_count: 0,
        locked_until: None,
        password_hash: PasswordHash("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into()),
        created_at: 2_000,
    }
}

fn session(t: &Tenant, u: &User, id: &str) -> Session {
    Session {
        id: id.into(),
        tenant_id: t.id.clone(),
        user_id: u.id.clone(),
        client_id: "gatehouse".into(),
        scope: "openid".into(),
        browser_session_id: None,
        origin: Origin::default(),
        created_at: 3_000,
        last_refreshed_at: None,
        expires_at: 9_000,
        revoked_at: None,
    }
}

fn refresh(t: &Tenant, session_id: &str, hash: &str) -> RefreshRecord {
    RefreshRecord {
        token_hash: hash.into(),
        tenant_id: t.id.clone(),
        session_id: session_id.into(),
        created_at: 3_000,
        expires_at: 8_000,
        used_at: None,
    }
}

fn conflict(r: Result<(), StoreError>) -> UniqueField {
    match r {
        Err(StoreError::Conflict(f)) => f,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn tenants_round_trip_and_names_are_unique(name: &'static str, store: Arc<dyn Store>) {
    let t = new_tenant(&*store, "acme").await;
    let got = store.tenant_by_name("acme").await.unwrap().expect(name);
    assert_eq!(
        (got.id.as_str(), got.algorithm, got.access_ttl_secs),
        (t.id.as_str(), SigningAlgorithm::EdDSA, 900)
    );
    assert_eq!(got.audiences, vec!["api".to_string()]);
    assert!(store.tenant_by_name("nope").await.unwrap().is_none());

    let dup = tenant("acme");
    assert_eq!(
        conflict(
            store
                .create_tenant(&dup, &key(&dup, KeyState::Current))
                .await
        ),
        UniqueField::TenantName,
        "{name}"
    );
    // The failed create left no key behind.
    assert!(
        store.keys_for_tenant(&dup.id).await.unwrap().is_empty(),
        "{name}"
    );

    new_tenant(&*store, "beta").await;
    let names: Vec<String> = store
        .list_tenants()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(names, ["acme", "beta"], "{name}");

    store
        .set_tenant_algorithm(&t.id, SigningAlgorithm::RS256)
        .await
        .unwrap();
    assert_eq!(
        store
            .tenant_by_name("acme")
            .await
            .unwrap()
            .unwrap()
            .algorithm,
        SigningAlgorithm::RS256
    );
    store.ping().await.unwrap();
}

async fn users_are_unique_per_tenant_case_insensitively(name: &'static str, store: Arc<dyn Store>) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let alice = user(&a, "Älice", Some("Alice@Example.com"));
    store.create_user(&alice).await.unwrap();

    assert_eq!(
        conflict(store.create_user(&user(&a, "äLICE", None)).await),
        UniqueField::Username,
        "{name}"
    );
    assert_eq!(
        conflict(
            store
                .create_user(&user(&a, "alice2", Some("alice@EXAMPLE.com")))
                .await
        ),
        UniqueField::Email,
        "{name}"
    );
    // Same names in another tenant are fine; absent emails never collide.
    store
        .create_user(&user(&b, "Älice", Some("alice@example.com")))
        .await
        .unwrap();
    store.create_user(&user(&a, "bob", None)).await.unwrap();
    store.create_user(&user(&a, "carol", None)).await.unwrap();

    let by_name = store
        .user_by_login(&a.id, &LoginName::Username("ÄLICE".into()))
        .await
        .unwrap()
        .expect(name);
    assert_eq!(by_name.id, alice.id);
    assert_eq!(by_name.username, "Älice", "stored as typed");
    assert_eq!(by_name.roles, vec!["admin".to_string(), "ops".to_string()]);
    assert_eq!(by_name.password_hash, alice.password_hash);
    let by_email = store
        .user_by_login(&a.id, &LoginName::Email("ALICE@example.COM".into()))
        .await
        .unwrap()
        .expect(name);
    assert_eq!(by_email.id, alice.id);
    // SQL wildcards are data, not patterns.
    assert!(
        store
            .user_by_login(&a.id, &LoginName::Username("%".into()))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .user_by_login(&a.id, &LoginName::Username("_lice".into()))
            .await
            .unwrap()
            .is_none()
    );

    assert!(
        store.user_by_id(&b.id, &alice.id).await.unwrap().is_none(),
        "{name}: ids do not cross tenants"
    );
    assert_eq!(store.list_users(&a.id).await.unwrap().len(), 3);
}

async fn password_hash_upgrade_is_conditional_on_the_old_hash(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let t = new_tenant(&*store, "t").await;
    let mut u = user(&t, "legacy", Some("legacy@example.com"));
    u.password_hash = PasswordHash("$2b$10$legacy".into());
    store.create_user(&u).await.unwrap();
    let new = PasswordHash("$argon2id$new".into());
    let stale = PasswordHash("something else".into());
    assert!(
        !store
            .update_password_hash(&t.id, &u.id, &stale, &new)
            .await
            .unwrap(),
        "{name}: a stale old hash must not be overwritten"
    );
    assert!(
        store
            .update_password_hash(&t.id, &u.id, &u.password_hash, &new)
            .await
            .unwrap(),
        "{name}"
    );
    // A second upgrader racing the first finds the work done.
    assert!(
        !store
            .update_password_hash(&t.id, &u.id, &u.password_hash, &new)
            .await
            .unwrap(),
        "{name}"
    );
    let got = store.user_by_id(&t.id, &u.id).await.unwrap().unwrap();
    assert_eq!(got.password_hash, new, "{name}");

    // An imported id that is already taken is a conflict, not an email clash.
    let mut twin = user(&t, "other-name", Some("other@example.com"));
    twin.id = u.id.clone();
    assert_eq!(
        conflict(store.create_user(&twin).await),
        UniqueField::Other,
        "{name}"
    );
}

async fn deleting_a_user_takes_their_sessions_along(name: &'static str, store: Arc<dyn Store>) {
    let t = new_tenant(&*store, "t").await;
    let u = user(&t, "dave", None);
    store.create_user(&u).await.unwrap();
    store
        .create_session(&session(&t, &u, "s1"), Some(&refresh(&t, "s1", "h1")))
        .await
        .unwrap();
    assert!(store.delete_user(&t.id, &u.id).await.unwrap());
    assert!(!store.delete_user(&t.id, &u.id).await.unwrap(), "{name}");
    assert!(
        store.session(&t.id, "s1").await.unwrap().is_none(),
        "{name}"
    );
    assert!(matches!(
        store
            .consume_refresh_token(&t.id, "h1", 4_000)
            .await
            .unwrap(),
        Consumed::NotFound
    ));
}

async fn refresh_tokens_are_consumed_once_and_reuse_is_visible(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let t = new_tenant(&*store, "t").await;
    let other = new_tenant(&*store, "other").await;
    let u = user(&t, "erin", None);
    store.create_user(&u).await.unwrap();
    store
        .create_session(&session(&t, &u, "s1"), Some(&refresh(&t, "s1", "h1")))
        .await
        .unwrap();

    // Another tenant cannot consume it (and does not burn it).
    assert!(
        matches!(
            store
                .consume_refresh_token(&other.id, "h1", 4_000)
                .await
                .unwrap(),
            Consumed::NotFound
        ),
        "{name}"
    );
    match store
        .consume_refresh_token(&t.id, "h1", 4_000)
        .await
        .unwrap()
    {
        Consumed::Fresh(r) => assert_eq!(
            (r.session_id.as_str(), r.expires_at, r.used_at),
            ("s1", 8_000, Some(4_000))
        ),
        other => panic!("{name}: {other:?}"),
    }
    assert!(
        matches!(
            store
                .consume_refresh_token(&t.id, "h1", 4_001)
                .await
                .unwrap(),
            Consumed::AlreadyUsed(_)
        ),
        "{name}"
    );
    assert!(matches!(
        store
            .consume_refresh_token(&t.id, "nope", 4_001)
            .await
            .unwrap(),
        Consumed::NotFound
    ));

    store
        .insert_refresh_token(&refresh(&t, "s1", "h2"))
        .await
        .unwrap();
    let s = store.session(&t.id, "s1").await.unwrap().unwrap();
    assert!(s.revoked_at.is_none());
    assert!(store.revoke_session(&t.id, "s1", 5_000).await.unwrap());
    assert!(
        !store.revoke_session(&t.id, "s1", 5_001).await.unwrap(),
        "{name}: revoking twice is a no-op"
    );
    assert_eq!(
        store
            .session(&t.id, "s1")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(5_000)
    );
}

async fn concurrent_consumers_of_one_refresh_token_see_one_fresh(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let t = new_tenant(&*store, "t").await;
    let u = user(&t, "frank", None);
    store.create_user(&u).await.unwrap();
    store
        .create_session(&session(&t, &u, "s1"), Some(&refresh(&t, "s1", "h1")))
        .await
        .unwrap();
    let results = join_all((0..20).map(|i| {
        let store = store.clone();
        let tid = t.id.clone();
        async move { store.consume_refresh_token(&tid, "h1", 4_000 + i).await }
    }))
    .await;
    let fresh = results
        .iter()
        .filter(|r| matches!(r, Ok(Consumed::Fresh(_))))
        .count();
    let used = results
        .iter()
        .filter(|r| matches!(r, Ok(Consumed::AlreadyUsed(_))))
        .count();
    assert_eq!((fresh, used), (1, 19), "{name}: {results:?}");
}

async fn concurrent_registrations_of_one_username_have_one_winner(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let t = new_tenant(&*store, "t").await;
    let results = join_all((0..50).map(|i| {
        let store = store.clone();
        let u = user(&t, if i % 2 == 0 { "Grace" } else { "GRACE" }, None);
        async move { store.create_user(&u).await }
    }))
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict(UniqueField::Username))))
        .count();
    assert_eq!((ok, conflicts), (1, 49), "{name}: {results:?}");
}

async fn key_lifecycle_steps_apply_once(name: &'static str, store: Arc<dyn Store>) {
    let t = new_tenant(&*store, "t").await;
    let current = store.keys_for_tenant(&t.id).await.unwrap().remove(0);
    assert_eq!(current.state, KeyState::Current);
    assert_eq!(current.activated_at, Some(1_000));

    // At most one current and one next per tenant.
    assert!(
        matches!(
            store.insert_key(&key(&t, KeyState::Current)).await,
            Err(StoreError::Conflict(_))
        ),
        "{name}"
    );
    let next = key(&t, KeyState::Next);
    store.insert_key(&next).await.unwrap();
    assert!(
        matches!(
            store.insert_key(&key(&t, KeyState::Next)).await,
            Err(StoreError::Conflict(_))
        ),
        "{name}"
    );

    assert!(
        store
            .promote_key(&t.id, &next.kid, &current.kid, 5_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .promote_key(&t.id, &next.kid, &current.kid, 5_001)
            .await
            .unwrap(),
        "{name}: a second node finds it done"
    );
    let keys = store.keys_for_tenant(&t.id).await.unwrap();
    let state_of = |kid: &str| {
        keys.iter()
            .find(|k| k.kid == kid)
            .map(|k| (k.state, k.activated_at, k.retired_at))
    };
    assert_eq!(
        state_of(&next.kid),
        Some((KeyState::Current, Some(5_000), None)),
        "{name}"
    );
    assert_eq!(
        state_of(&current.kid),
        Some((KeyState::Retired, Some(1_000), Some(5_000))),
        "{name}"
    );

    assert!(
        !store.remove_retired_key(&t.id, &next.kid).await.unwrap(),
        "{name}: only retired keys are removed"
    );
    assert!(store.remove_retired_key(&t.id, &current.kid).await.unwrap());
    store.insert_key(&key(&t, KeyState::Next)).await.unwrap();
    assert!(store.remove_next_key(&t.id).await.unwrap());
    assert_eq!(store.keys_for_tenant(&t.id).await.unwrap().len(), 1);

    // Rewrap's compare-and-set.
    let k = store.keys_for_tenant(&t.id).await.unwrap().remove(0);
    let replacement = SecretString::from("ghk1.x.y".to_string());
    assert!(
        store
            .replace_key_material(&t.id, &k.kid, &k.private_material, &replacement)
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_key_material(&t.id, &k.kid, &k.private_material, &replacement)
            .await
            .unwrap(),
        "{name}"
    );
    let stored = store.keys_for_tenant(&t.id).await.unwrap().remove(0);
    assert_eq!(stored.private_material.expose_secret(), "ghk1.x.y");
}

/// Text a backend cannot hold, or that no name can be: a NUL (PostgreSQL
/// refuses it in `text`), a value longer than any column, characters
/// outside the BMP, combining characters, bidi controls, trailing spaces
/// (MySQL's PAD SPACE would ignore them).
fn hostile_texts() -> Vec<String> {
    vec![
        "a\0b".into(),
        "\0".into(),
        "admin\0".into(),
        "x".repeat(10_000),
        "é".repeat(300),
        "😀".repeat(70),
        "\u{20000}user".into(),
        "e\u{301}\u{301}\u{301}".into(),
        "\u{301}lice".into(),
        "admin\u{202e}".into(),
        "ad\u{200b}min".into(),
        "a\u{7}b".into(),
        "grace ".into(),
        "grace\u{3000}".into(),
    ]
}

/// Only a clean answer may come back: a lookup finds no one, a write is
/// either stored or refused as unstorable (or a conflict); never a
/// backend error.
fn clean_write(r: Result<(), StoreError>, what: &str) {
    match r {
        Ok(()) | Err(StoreError::Unstorable(_)) | Err(StoreError::Conflict(_)) => {}
        Err(e) => panic!("{what}: {e:?}"),
    }
}

async fn text_no_backend_can_hold_is_refused_cleanly(name: &'static str, store: Arc<dyn Store>) {
    let t = new_tenant(&*store, "t").await;
    store
        .create_user(&user(&t, "grace", Some("grace@example.com")))
        .await
        .unwrap();
    for text in hostile_texts() {
        let what = format!("{name}: {text:?}");
        let what = what.chars().take(80).collect::<String>();
        for login in [
            LoginName::Username(text.clone()),
            LoginName::Email(text.clone()),
            LoginName::Email(format!("{text}@example.com")),
        ] {
            let found = store.user_by_login(&t.id, &login).await;
            assert!(matches!(found, Ok(None)), "{what}: {login:?} -> {found:?}");
        }
        assert!(
            matches!(store.user_by_id(&t.id, &text).await, Ok(None)),
            "{what}"
        );
        assert!(
            matches!(store.tenant_by_name(&text).await, Ok(None)),
            "{what}"
        );
        assert!(
            matches!(store.delete_user(&t.id, &text).await, Ok(false)),
            "{what}"
        );
        assert!(
            matches!(store.session(&t.id, &text).await, Ok(None)),
            "{what}"
        );
        // Writes of it: stored as given (when it is only odd, such as
        // a combining accent in a last name), or refused; never a
        // driver error.
        let mut u = user(&t, &text, None);
        clean_write(store.create_user(&u).await, &format!("{what} as username"));
        u = user(
            &t,
            &format!("n{}", gatehouse_core::id::new_id()),
            Some(&text),
        );
        clean_write(store.create_user(&u).await, &format!("{what} as email"));
        u = user(&t, &format!("n{}", gatehouse_core::id::new_id()), None);
        u.first_name = Some(text.clone());
        u.last_name = Some(text.clone());
        clean_write(store.create_user(&u).await, &format!("{what} as names"));
        u = user(&t, &format!("n{}", gatehouse_core::id::new_id()), None);
        u.id = text.clone();
        clean_write(store.create_user(&u).await, &format!("{what} as id"));
        u = user(&t, &format!("n{}", gatehouse_core::id::new_id()), None);
        u.roles = vec![text.clone()];
        clean_write(store.create_user(&u).await, &format!("{what} as role"));
    }
    // Names of the profile's forms all find the one user stored.
    for same in ["GRACE", "ｇｒａｃｅ", "Grace"] {
        let found = store
            .user_by_login(&t.id, &LoginName::Username(same.into()))
            .await
            .unwrap();
        assert!(found.is_some(), "{name}: {same}");
    }
    // A NUL never reached PostgreSQL: the refusal is the store's own.
    let mut u = user(&t, "nul-name", None);
    u.first_name = Some("a\0b".into());
    assert!(
        matches!(store.create_user(&u).await, Err(StoreError::Unstorable(_))),
        "{name}"
    );
    // Combining and non-BMP text that is valid round-trips unchanged.
    let mut u = user(&t, "\u{20000}é", Some("ü\u{20000}@example.com"));
    u.first_name = Some("Zoe\u{308}😀".into());
    store.create_user(&u).await.unwrap();
    let got = store
        .user_by_login(&t.id, &LoginName::Email("Ü\u{20000}@EXAMPLE.com".into()))
        .await
        .unwrap()
        .expect(name);
    assert_eq!(
        (got.username.as_str(), got.first_name.as_deref()),
        ("\u{20000}é", Some("Zoe\u{308}😀")),
        "{name}"
    );
    // What was refused left nothing behind but the two good users and
    // whatever odd-but-storable rows went in.
    assert!(store.list_users(&t.id).await.is_ok(), "{name}");
    store.ping().await.unwrap();
}

async fn sessions_and_key_material_are_reached_only_through_their_tenant(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let u = user(&a, "ada", None);
    store.create_user(&u).await.unwrap();
    store
        .create_session(&session(&a, &u, "s1"), Some(&refresh(&a, "s1", "h1")))
        .await
        .unwrap();
    // Tenant b cannot see or end tenant a's session.
    assert!(
        store.session(&b.id, "s1").await.unwrap().is_none(),
        "{name}"
    );
    assert!(
        !store.revoke_session(&b.id, "s1", 5_000).await.unwrap(),
        "{name}"
    );
    let s = store.session(&a.id, "s1").await.unwrap().expect(name);
    assert_eq!(s.revoked_at, None, "{name}");
    // Nor replace the material of one of a's keys.
    let k = store.keys_for_tenant(&a.id).await.unwrap().remove(0);
    let replacement = SecretString::from("not-a-key".to_string());
    assert!(
        !store
            .replace_key_material(&b.id, &k.kid, &k.private_material, &replacement)
            .await
            .unwrap(),
        "{name}"
    );
    let still = store.keys_for_tenant(&a.id).await.unwrap().remove(0);
    assert_eq!(
        still.private_material.expose_secret(),
        k.private_material.expose_secret(),
        "{name}"
    );
}

async fn policies_are_replaced_whole_per_tenant(name: &'static str, store: Arc<dyn Store>) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    assert_eq!(store.policy_document(&a.id).await.unwrap(), None, "{name}");
    store
        .put_policy_document(&a.id, r#"{"rules":[1]}"#, 10)
        .await
        .unwrap();
    store
        .put_policy_document(&a.id, r#"{"rules":[2]}"#, 11)
        .await
        .unwrap();
    assert_eq!(
        store.policy_document(&a.id).await.unwrap().as_deref(),
        Some(r#"{"rules":[2]}"#),
        "{name}"
    );
    assert_eq!(store.policy_document(&b.id).await.unwrap(), None, "{name}");
    // A large document (256 rules) fits every backend.
    let big = format!(
        r#"{{"rules":[{}]}}"#,
        vec!["\"x\"".repeat(100); 256].join(",")
    );
    store.put_policy_document(&a.id, &big, 12).await.unwrap();
    assert_eq!(
        store.policy_document(&a.id).await.unwrap(),
        Some(big),
        "{name}"
    );
}

async fn secrets_are_named_per_tenant_and_replaced(name: &'static str, store: Arc<dyn Store>) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let m = master();
    let secret = |t: &Tenant, n: &str, v: &str| {
        TenantSecret::seal(&t.id, n, &SecretString::from(v.to_string()), 5, &m).unwrap()
    };
    store.put_secret(&secret(&a, "hook", "one")).await.unwrap();
    store.put_secret(&secret(&a, "hook", "two")).await.unwrap();
    store.put_secret(&secret(&a, "alpha", "x")).await.unwrap();
    store.put_secret(&secret(&b, "hook", "b's")).await.unwrap();
    let got = store.secrets(&a.id).await.unwrap();
    let names: Vec<&str> = got.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["alpha", "hook"], "{name}");
    assert_eq!(got[1].open(&m).unwrap().expose_secret(), "two", "{name}");
    assert!(store.delete_secret(&a.id, "hook").await.unwrap(), "{name}");
    assert!(!store.delete_secret(&a.id, "hook").await.unwrap(), "{name}");
    assert_eq!(store.secrets(&b.id).await.unwrap().len(), 1, "{name}");
}

async fn api_keys_are_scoped_to_tenant_and_user(name: &'static str, store: Arc<dyn Store>) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let ada = user(&a, "ada", None);
    store.create_user(&ada).await.unwrap();
    let key = |t: &Tenant, user_id: Option<&str>| {
        let minted = gatehouse_core::apikey::mint().unwrap();
        ApiKeyRecord {
            id: minted.id,
            tenant_id: t.id.clone(),
            name: "ci".into(),
            secret_hash: minted.secret_hash,
            scopes: vec!["billing".into(), "read".into()],
            user_id: user_id.map(Into::into),
            created_at: 100,
            expires_at: Some(200),
            last_used_at: None,
        }
    };
    let service = key(&a, None);
    let personal = key(&a, Some(&ada.id));
    store.insert_api_key(&service).await.unwrap();
    store.insert_api_key(&personal).await.unwrap();
    assert_eq!(
        store.api_key(&a.id, &service.id).await.unwrap().as_ref(),
        Some(&service),
        "{name}"
    );
    assert!(
        store.api_key(&b.id, &service.id).await.unwrap().is_none(),
        "{name}"
    );
    assert_eq!(
        store.list_api_keys(&a.id, None).await.unwrap().len(),
        2,
        "{name}"
    );
    assert_eq!(
        store.list_api_keys(&a.id, Some(&ada.id)).await.unwrap(),
        vec![personal.clone()],
        "{name}"
    );
    store.touch_api_key(&a.id, &service.id, 150).await.unwrap();
    let touched = store
        .api_key(&a.id, &service.id)
        .await
        .unwrap()
        .expect(name);
    assert_eq!(touched.last_used_at, Some(150), "{name}");
    // A user deletes only their own keys; another tenant none.
    assert!(
        !store
            .delete_api_key(&a.id, &service.id, Some(&ada.id))
            .await
            .unwrap(),
        "{name}"
    );
    assert!(
        !store
            .delete_api_key(&b.id, &service.id, None)
            .await
            .unwrap(),
        "{name}"
    );
    assert!(
        store
            .delete_api_key(&a.id, &service.id, None)
            .await
            .unwrap(),
        "{name}"
    );
    assert!(
        store.api_key(&a.id, &service.id).await.unwrap().is_none(),
        "{name}"
    );
    // The user's keys go with the user.
    assert!(store.delete_user(&a.id, &ada.id).await.unwrap());
    assert!(
        store.api_key(&a.id, &personal.id).await.unwrap().is_none(),
        "{name}"
    );
}

// ---- OAuth: clients, authorization codes, browser sign-ins ---------------

/// A 64-hex-digit value, shaped like the SHA-256 the store keeps.
fn hex(n: u64) -> String {
    format!("{n:064x}")
}

fn client(t: &Tenant, name: &str, created_at: i64) -> ClientRecord {
    ClientRecord {
        id: mint_client_id().unwrap(),
        tenant_id: t.id.clone(),
        name: name.into(),
        client_type: ClientType::Confidential,
        grants: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: vec!["openid".into(), "profile".into(), "offline_access".into()],
        // The longest URI core accepts (2000 bytes) fits.
        redirect_uris: vec![
            "https://app.example/cb".into(),
            format!("https://app.example/{}", "p".repeat(1_980)),
        ],
        post_logout_redirect_uris: vec!["https://app.example/bye".into()],
        secret_hash: Some(hex(1)),
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        created_at,
    }
}

fn public_client(t: &Tenant, created_at: i64) -> ClientRecord {
    ClientRecord {
        client_type: ClientType::Public,
        grants: vec![GrantType::AuthorizationCode],
        secret_hash: None,
        ..client(t, "spa", created_at)
    }
}

fn code(t: &Tenant, u: &User, client_id: &str, hash: &str, expires_at: i64) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: hash.into(),
        tenant_id: t.id.clone(),
        client_id: client_id.into(),
        user_id: u.id.clone(),
        // The longest values core lets through.
        redirect_uri: Some(format!("https://app.example/{}", "r".repeat(1_980))),
        scope: format!("openid {}", "s".repeat(1_017)),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        nonce: Some("n".repeat(512)),
        auth_time: 2_500,
        browser_session_id: "bs1".into(),
        session_id: gatehouse_core::id::new_id(),
        created_at: 3_000,
        expires_at,
        used_at: None,
    }
}

fn browser(t: &Tenant, u: &User, id: &str, hash: &str, expires_at: i64) -> BrowserSession {
    BrowserSession {
        id: id.into(),
        token_hash: hash.into(),
        tenant_id: t.id.clone(),
        user_id: u.id.clone(),
        auth_time: 2_500,
        created_at: 3_000,
        expires_at,
        revoked_at: None,
    }
}

fn session_of(
    t: &Tenant,
    u: &User,
    id: &str,
    client_id: &str,
    browser_session_id: Option<&str>,
) -> Session {
    Session {
        client_id: client_id.into(),
        browser_session_id: browser_session_id.map(Into::into),
        ..session(t, u, id)
    }
}

async fn revoked_at(store: &dyn Store, t: &Tenant, session_id: &str) -> Option<i64> {
    store
        .session(&t.id, session_id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("session {session_id} is gone"))
        .revoked_at
}

async fn clients_round_trip_and_are_reached_only_through_their_tenant(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let web = client(&a, "Web app ü", 100);
    let spa = public_client(&a, 200);
    store.insert_client(&spa).await.unwrap();
    store.insert_client(&web).await.unwrap();
    assert_eq!(
        store.client(&a.id, &web.id).await.unwrap().as_ref(),
        Some(&web),
        "{name}"
    );
    assert_eq!(
        store.client(&a.id, &spa.id).await.unwrap().as_ref(),
        Some(&spa),
        "{name}"
    );
    assert_eq!(
        store.list_clients(&a.id).await.unwrap(),
        vec![web.clone(), spa.clone()],
        "{name}: listed by creation"
    );
    assert!(
        matches!(
            store.insert_client(&web).await,
            Err(StoreError::Conflict(UniqueField::Other))
        ),
        "{name}: a taken client id"
    );

    // Tenant b can neither find, list, delete nor rotate a's client.
    assert!(
        store.client(&b.id, &web.id).await.unwrap().is_none(),
        "{name}"
    );
    assert!(
        store.list_clients(&b.id).await.unwrap().is_empty(),
        "{name}"
    );
    assert!(
        !store.delete_client(&b.id, &web.id, 5_000).await.unwrap(),
        "{name}"
    );
    assert!(
        !store
            .rotate_client_secret(&b.id, &web.id, &hex(1), &hex(2), 6_000)
            .await
            .unwrap(),
        "{name}"
    );
    assert_eq!(
        store.client(&a.id, &web.id).await.unwrap().as_ref(),
        Some(&web),
        "{name}: untouched"
    );
    // MySQL's PAD SPACE must not find `id` by `id `.
    assert!(
        store
            .client(&a.id, &format!("{} ", web.id))
            .await
            .unwrap()
            .is_none(),
        "{name}"
    );

    // What no column holds is refused, not truncated.
    let mut long = client(&a, &"n".repeat(300), 300);
    assert!(
        matches!(
            store.insert_client(&long).await,
            Err(StoreError::Unstorable(_))
        ),
        "{name}"
    );
    long = client(&a, "many", 300);
    long.redirect_uris = vec![format!("https://app.example/{}", "p".repeat(2_000)); 40];
    assert!(
        matches!(
            store.insert_client(&long).await,
            Err(StoreError::Unstorable(_))
        ),
        "{name}"
    );
    assert_eq!(store.list_clients(&a.id).await.unwrap().len(), 2, "{name}");
}

async fn client_secret_rotation_is_a_compare_and_set(name: &'static str, store: Arc<dyn Store>) {
    let t = new_tenant(&*store, "t").await;
    let c = client(&t, "svc", 100);
    store.insert_client(&c).await.unwrap();
    let secrets = |c: &ClientRecord| {
        (
            c.secret_hash.clone(),
            c.previous_secret_hash.clone(),
            c.previous_secret_expires_at,
        )
    };
    assert!(
        store
            .rotate_client_secret(&t.id, &c.id, &hex(1), &hex(2), 500)
            .await
            .unwrap(),
        "{name}"
    );
    let got = store.client(&t.id, &c.id).await.unwrap().unwrap();
    assert_eq!(
        secrets(&got),
        (Some(hex(2)), Some(hex(1)), Some(500)),
        "{name}"
    );
    // A second rotation from the same (now stale) secret changes nothing.
    assert!(
        !store
            .rotate_client_secret(&t.id, &c.id, &hex(1), &hex(3), 600)
            .await
            .unwrap(),
        "{name}"
    );
    let got = store.client(&t.id, &c.id).await.unwrap().unwrap();
    assert_eq!(
        secrets(&got),
        (Some(hex(2)), Some(hex(1)), Some(500)),
        "{name}"
    );
    assert!(
        store
            .rotate_client_secret(&t.id, &c.id, &hex(2), &hex(3), 700)
            .await
            .unwrap(),
        "{name}"
    );
    let got = store.client(&t.id, &c.id).await.unwrap().unwrap();
    assert_eq!(
        secrets(&got),
        (Some(hex(3)), Some(hex(2)), Some(700)),
        "{name}"
    );
    assert_eq!(
        (got.name.as_str(), got.redirect_uris.len()),
        ("svc", 2),
        "{name}: the rest is untouched"
    );

    // Concurrent rotations from one secret: one wins.
    let results = join_all((0..10u64).map(|i| {
        let store = store.clone();
        let (tid, cid) = (t.id.clone(), c.id.clone());
        async move {
            store
                .rotate_client_secret(&tid, &cid, &hex(3), &hex(100 + i), 800)
                .await
        }
    }))
    .await;
    let won = results.iter().filter(|r| matches!(r, Ok(true))).count();
    let lost = results.iter().filter(|r| matches!(r, Ok(false))).count();
    assert_eq!((won, lost), (1, 9), "{name}: {results:?}");

    // A public client has no secret to rotate from.
    let spa = public_client(&t, 200);
    store.insert_client(&spa).await.unwrap();
    assert!(
        !store
            .rotate_client_secret(&t.id, &spa.id, "", &hex(4), 900)
            .await
            .unwrap(),
        "{name}"
    );
    assert!(
        !store
            .rotate_client_secret(&t.id, &spa.id, &hex(1), &hex(4), 900)
            .await
            .unwrap(),
        "{name}"
    );
    let got = store.client(&t.id, &spa.id).await.unwrap().unwrap();
    assert_eq!(secrets(&got), (None, None, None), "{name}");
}

async fn deleting_a_client_revokes_its_sessions_only(name: &'static str, store: Arc<dyn Store>) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let u = user(&a, "ada", None);
    let ub = user(&b, "bea", None);
    store.create_user(&u).await.unwrap();
    store.create_user(&ub).await.unwrap();
    let c = client(&a, "web", 100);
    let other = client(&a, "other", 200);
    store.insert_client(&c).await.unwrap();
    store.insert_client(&other).await.unwrap();
    for s in [
        session_of(&a, &u, "s-c", &c.id, None),
        session_of(&a, &u, "s-first-party", "gatehouse", None),
        session_of(&a, &u, "s-other", &other.id, None),
        Session {
            revoked_at: Some(100),
            ..session_of(&a, &u, "s-c-ended", &c.id, None)
        },
        // The same client id in another tenant is not this client.
        session_of(&b, &ub, "s-b", &c.id, None),
    ] {
        store.create_session(&s, None).await.unwrap();
    }
    let unused = code(&a, &u, &c.id, &hex(1), 9_000);
    let mut used = code(&a, &u, &c.id, &hex(2), 9_000);
    used.used_at = Some(3_500);
    let others = code(&a, &u, &other.id, &hex(3), 9_000);
    for k in [&unused, &used, &others] {
        store.insert_authorization_code(k, 0).await.unwrap();
    }

    // No such client (the first-party one has sessions but no row):
    // nothing is revoked.
    assert!(
        !store
            .delete_client(&a.id, "gatehouse", 4_000)
            .await
            .unwrap(),
        "{name}"
    );
    assert_eq!(
        revoked_at(&*store, &a, "s-first-party").await,
        None,
        "{name}"
    );

    assert!(
        store.delete_client(&a.id, &c.id, 5_000).await.unwrap(),
        "{name}"
    );
    assert!(
        store.client(&a.id, &c.id).await.unwrap().is_none(),
        "{name}"
    );
    assert_eq!(revoked_at(&*store, &a, "s-c").await, Some(5_000), "{name}");
    assert_eq!(
        revoked_at(&*store, &a, "s-c-ended").await,
        Some(100),
        "{name}: an ended session keeps its end"
    );
    assert_eq!(
        revoked_at(&*store, &a, "s-first-party").await,
        None,
        "{name}"
    );
    assert_eq!(revoked_at(&*store, &a, "s-other").await, None, "{name}");
    assert_eq!(revoked_at(&*store, &b, "s-b").await, None, "{name}");
    // Its unused codes are gone; a used one stays, so a replay is seen.
    assert!(
        matches!(
            store
                .consume_authorization_code(&a.id, &unused.code_hash, 5_001)
                .await
                .unwrap(),
            CodeConsumed::NotFound
        ),
        "{name}"
    );
    assert!(
        matches!(
            store
                .consume_authorization_code(&a.id, &used.code_hash, 5_001)
                .await
                .unwrap(),
            CodeConsumed::AlreadyUsed(_)
        ),
        "{name}"
    );
    assert!(
        matches!(
            store
                .consume_authorization_code(&a.id, &others.code_hash, 5_001)
                .await
                .unwrap(),
            CodeConsumed::Fresh(_)
        ),
        "{name}"
    );
    assert!(
        !store.delete_client(&a.id, &c.id, 6_000).await.unwrap(),
        "{name}: deleting twice"
    );
    assert_eq!(
        store.list_clients(&a.id).await.unwrap(),
        vec![other],
        "{name}"
    );
}

async fn authorization_codes_are_consumed_once_within_their_tenant(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let u = user(&a, "ada", None);
    store.create_user(&u).await.unwrap();
    let k = code(&a, &u, "web", &hex(1), 9_000);
    store.insert_authorization_code(&k, 0).await.unwrap();
    let mut plain = code(&a, &u, "web", &hex(2), 9_000);
    (plain.redirect_uri, plain.code_challenge, plain.nonce) = (None, None, None);
    store.insert_authorization_code(&plain, 0).await.unwrap();
    assert!(
        matches!(
            store.insert_authorization_code(&k, 0).await,
            Err(StoreError::Conflict(UniqueField::Other))
        ),
        "{name}: a taken code hash"
    );

    // Another tenant finds nothing, and does not burn it.
    assert!(
        matches!(
            store
                .consume_authorization_code(&b.id, &k.code_hash, 4_000)
                .await
                .unwrap(),
            CodeConsumed::NotFound
        ),
        "{name}"
    );
    match store
        .consume_authorization_code(&a.id, &k.code_hash, 4_000)
        .await
        .unwrap()
    {
        CodeConsumed::Fresh(got) => assert_eq!(
            got,
            AuthorizationCode {
                used_at: Some(4_000),
                ..k.clone()
            },
            "{name}"
        ),
        other => panic!("{name}: {other:?}"),
    }
    match store
        .consume_authorization_code(&a.id, &k.code_hash, 4_001)
        .await
        .unwrap()
    {
        CodeConsumed::AlreadyUsed(got) => {
            assert_eq!(got.used_at, Some(4_000), "{name}: the first use is kept");
            assert_eq!(got.session_id, k.session_id, "{name}");
        }
        other => panic!("{name}: {other:?}"),
    }
    match store
        .consume_authorization_code(&a.id, &plain.code_hash, 4_000)
        .await
        .unwrap()
    {
        CodeConsumed::Fresh(got) => assert_eq!(
            (got.redirect_uri, got.code_challenge, got.nonce),
            (None, None, None),
            "{name}"
        ),
        other => panic!("{name}: {other:?}"),
    }
    assert!(
        matches!(
            store
                .consume_authorization_code(&a.id, &hex(9), 4_000)
                .await
                .unwrap(),
            CodeConsumed::NotFound
        ),
        "{name}"
    );
    // The user's codes go with the user.
    let k3 = code(&a, &u, "web", &hex(3), 9_000);
    store.insert_authorization_code(&k3, 0).await.unwrap();
    assert!(store.delete_user(&a.id, &u.id).await.unwrap());
    assert!(
        matches!(
            store
                .consume_authorization_code(&a.id, &k3.code_hash, 4_000)
                .await
                .unwrap(),
            CodeConsumed::NotFound
        ),
        "{name}"
    );
}

async fn concurrent_consumers_of_one_code_see_one_fresh(name: &'static str, store: Arc<dyn Store>) {
    let t = new_tenant(&*store, "t").await;
    let u = user(&t, "frank", None);
    store.create_user(&u).await.unwrap();
    store
        .insert_authorization_code(&code(&t, &u, "web", &hex(1), 9_000), 0)
        .await
        .unwrap();
    let results = join_all((0..20).map(|i| {
        let store = store.clone();
        let tid = t.id.clone();
        async move {
            store
                .consume_authorization_code(&tid, &hex(1), 4_000 + i)
                .await
        }
    }))
    .await;
    let fresh = results
        .iter()
        .filter(|r| matches!(r, Ok(CodeConsumed::Fresh(_))))
        .count();
    let used = results
        .iter()
        .filter(|r| matches!(r, Ok(CodeConsumed::AlreadyUsed(_))))
        .count();
    assert_eq!((fresh, used), (1, 19), "{name}: {results:?}");
}

async fn expired_codes_are_pruned_when_a_code_is_stored(name: &'static str, store: Arc<dyn Store>) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let ua = user(&a, "ada", None);
    let ub = user(&b, "bea", None);
    store.create_user(&ua).await.unwrap();
    store.create_user(&ub).await.unwrap();
    let old_a = code(&a, &ua, "web", &hex(1), 100);
    let old_b = code(&b, &ub, "web", &hex(2), 150);
    let at_bound = code(&a, &ua, "web", &hex(3), 200);
    let live = code(&a, &ua, "web", &hex(4), 1_000);
    for k in [&old_a, &old_b, &at_bound, &live] {
        store.insert_authorization_code(k, 0).await.unwrap();
    }
    let new = code(&a, &ua, "web", &hex(5), 1_000);
    store.insert_authorization_code(&new, 200).await.unwrap();
    for (t, k, kept) in [
        (&a, &old_a, false),
        (&b, &old_b, false),
        (&a, &at_bound, true),
        (&a, &live, true),
        (&a, &new, true),
    ] {
        let got = store
            .consume_authorization_code(&t.id, &k.code_hash, 300)
            .await
            .unwrap();
        assert_eq!(
            matches!(got, CodeConsumed::Fresh(_)),
            kept,
            "{name}: code expiring at {} after pruning before 200: {got:?}",
            k.expires_at
        );
    }
}

async fn ending_a_browser_sign_in_revokes_its_sessions(name: &'static str, store: Arc<dyn Store>) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let u = user(&a, "ada", None);
    let ub = user(&b, "bea", None);
    store.create_user(&u).await.unwrap();
    store.create_user(&ub).await.unwrap();
    let bs1 = browser(&a, &u, "bs1", &hex(1), 9_000);
    let bs2 = browser(&a, &u, "bs2", &hex(2), 9_000);
    let expired = browser(&a, &u, "bs3", &hex(3), 4_000);
    let in_b = browser(&b, &ub, "bs4", &hex(4), 9_000);
    for bs in [&bs1, &bs2, &expired, &in_b] {
        store.create_browser_session(bs).await.unwrap();
    }
    assert!(
        matches!(
            store
                .create_browser_session(&browser(&a, &u, "bs5", &hex(1), 9_000))
                .await,
            Err(StoreError::Conflict(UniqueField::Other))
        ),
        "{name}: a taken cookie hash"
    );
    assert_eq!(
        store
            .browser_session(&a.id, &hex(1))
            .await
            .unwrap()
            .as_ref(),
        Some(&bs1),
        "{name}"
    );
    assert!(
        store
            .browser_session(&b.id, &hex(1))
            .await
            .unwrap()
            .is_none(),
        "{name}: another tenant's cookie"
    );
    assert!(
        store
            .browser_session(&a.id, &hex(9))
            .await
            .unwrap()
            .is_none(),
        "{name}"
    );
    for s in [
        session_of(&a, &u, "s1", "web", Some("bs1")),
        session_of(&a, &u, "s2", "spa", Some("bs1")),
        session_of(&a, &u, "s3", "web", Some("bs2")),
        session_of(&a, &u, "s4", "web", None),
        session_of(&a, &u, "s6", "web", Some("bs3")),
        // Another tenant's session naming the same id is not its.
        session_of(&b, &ub, "s5", "web", Some("bs1")),
    ] {
        store.create_session(&s, None).await.unwrap();
    }
    assert_eq!(
        store
            .session(&a.id, "s1")
            .await
            .unwrap()
            .unwrap()
            .browser_session_id
            .as_deref(),
        Some("bs1"),
        "{name}"
    );

    assert!(
        !store
            .end_browser_session(&b.id, "bs1", 5_000)
            .await
            .unwrap(),
        "{name}: tenant b cannot end a's sign-in"
    );
    assert_eq!(revoked_at(&*store, &a, "s1").await, None, "{name}");
    assert!(
        store
            .end_browser_session(&a.id, "bs1", 5_000)
            .await
            .unwrap(),
        "{name}"
    );
    let ended = store
        .browser_session(&a.id, &hex(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.revoked_at, Some(5_000), "{name}");
    assert!(!ended.is_active(5_000), "{name}");
    assert_eq!(revoked_at(&*store, &a, "s1").await, Some(5_000), "{name}");
    assert_eq!(revoked_at(&*store, &a, "s2").await, Some(5_000), "{name}");
    assert_eq!(revoked_at(&*store, &a, "s3").await, None, "{name}");
    assert_eq!(revoked_at(&*store, &a, "s4").await, None, "{name}");
    assert_eq!(revoked_at(&*store, &b, "s5").await, None, "{name}");
    assert!(
        !store
            .end_browser_session(&a.id, "bs1", 6_000)
            .await
            .unwrap(),
        "{name}: ending twice"
    );
    assert_eq!(
        store
            .browser_session(&a.id, &hex(1))
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(5_000),
        "{name}: the first end is kept"
    );
    assert!(
        !store
            .end_browser_session(&a.id, "nope", 6_000)
            .await
            .unwrap(),
        "{name}"
    );
    // An expired sign-in was not active, but what came from it ends too.
    assert!(
        !store
            .end_browser_session(&a.id, "bs3", 6_000)
            .await
            .unwrap(),
        "{name}"
    );
    assert_eq!(revoked_at(&*store, &a, "s6").await, Some(6_000), "{name}");
    assert_eq!(
        store
            .browser_session(&a.id, &hex(3))
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(6_000),
        "{name}"
    );
    // The user's sign-ins go with the user.
    assert!(store.delete_user(&a.id, &u.id).await.unwrap());
    assert!(
        store
            .browser_session(&a.id, &hex(2))
            .await
            .unwrap()
            .is_none(),
        "{name}"
    );
}

async fn sessions_may_start_without_a_refresh_token_and_tokens_are_read_without_use(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let u = user(&a, "ada", None);
    store.create_user(&u).await.unwrap();
    store
        .create_session(&session_of(&a, &u, "s1", "web", Some("bs1")), None)
        .await
        .unwrap();
    let s1 = store.session(&a.id, "s1").await.unwrap().expect(name);
    assert_eq!(
        (s1.client_id.as_str(), s1.browser_session_id.as_deref()),
        ("web", Some("bs1")),
        "{name}"
    );

    store
        .create_session(&session(&a, &u, "s2"), Some(&refresh(&a, "s2", &hex(2))))
        .await
        .unwrap();
    let read = store
        .refresh_token(&a.id, &hex(2))
        .await
        .unwrap()
        .expect(name);
    assert_eq!(
        (read.session_id.as_str(), read.expires_at, read.used_at),
        ("s2", 8_000, None),
        "{name}"
    );
    // Reading did not use it.
    assert!(
        matches!(
            store
                .consume_refresh_token(&a.id, &hex(2), 4_000)
                .await
                .unwrap(),
            Consumed::Fresh(_)
        ),
        "{name}"
    );
    assert_eq!(
        store
            .refresh_token(&a.id, &hex(2))
            .await
            .unwrap()
            .expect(name)
            .used_at,
        Some(4_000),
        "{name}"
    );
    assert!(
        store.refresh_token(&b.id, &hex(2)).await.unwrap().is_none(),
        "{name}: another tenant's token"
    );
    assert!(
        store.refresh_token(&a.id, &hex(3)).await.unwrap().is_none(),
        "{name}"
    );
    // A session whose first token fails to go in is not created either.
    assert!(
        store
            .create_session(&session(&a, &u, "s3"), Some(&refresh(&a, "s3", &hex(2))))
            .await
            .is_err(),
        "{name}: a taken token hash"
    );
    assert!(
        store.session(&a.id, "s3").await.unwrap().is_none(),
        "{name}"
    );
}

async fn roles_of(store: &dyn Store, t: &Tenant, u: &User) -> Vec<String> {
    store.user_by_id(&t.id, &u.id).await.unwrap().unwrap().roles
}

async fn user_roles_are_replaced_whole(name: &'static str, store: Arc<dyn Store>) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let u = user(&a, "ada", None);
    store.create_user(&u).await.unwrap();
    let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    assert!(
        store
            .set_user_roles(&a.id, &u.id, &roles(&["viewer", "billing-ü"]))
            .await
            .unwrap(),
        "{name}"
    );
    assert_eq!(
        roles_of(&*store, &a, &u).await,
        roles(&["viewer", "billing-ü"]),
        "{name}"
    );
    assert!(
        store
            .set_user_roles(&a.id, &u.id, &roles(&["viewer", "billing-ü"]))
            .await
            .unwrap(),
        "{name}: the same roles again still find the user"
    );
    assert!(
        store.set_user_roles(&a.id, &u.id, &[]).await.unwrap(),
        "{name}"
    );
    assert!(roles_of(&*store, &a, &u).await.is_empty(), "{name}");
    assert!(
        !store
            .set_user_roles(&b.id, &u.id, &roles(&["admin"]))
            .await
            .unwrap(),
        "{name}: not through another tenant"
    );
    assert!(
        !store
            .set_user_roles(&a.id, "no-such-user", &roles(&["admin"]))
            .await
            .unwrap(),
        "{name}"
    );
    assert!(roles_of(&*store, &a, &u).await.is_empty(), "{name}");
    assert!(
        matches!(
            store
                .set_user_roles(&a.id, &u.id, &["r".repeat(70_000)])
                .await,
            Err(StoreError::Unstorable(_))
        ),
        "{name}: more than a TEXT column holds"
    );
    // The list is JSON, which escapes what a column could not hold.
    assert!(
        store
            .set_user_roles(&a.id, &u.id, &roles(&["a\0b"]))
            .await
            .unwrap(),
        "{name}"
    );
    assert_eq!(roles_of(&*store, &a, &u).await, roles(&["a\0b"]), "{name}");
}

async fn tenant_display_names_round_trip(name: &'static str, store: Arc<dyn Store>) {
    let mut t = tenant("acme");
    t.display_name = Some("Acme Corp ü".into());
    store
        .create_tenant(&t, &key(&t, KeyState::Current))
        .await
        .unwrap();
    let plain = new_tenant(&*store, "plain").await;
    let shown = |name: &'static str| {
        let store = store.clone();
        async move {
            store
                .tenant_by_name(name)
                .await
                .unwrap()
                .unwrap()
                .display_name
        }
    };
    assert_eq!(
        shown("acme").await.as_deref(),
        Some("Acme Corp ü"),
        "{name}"
    );
    assert_eq!(shown("plain").await, None, "{name}");
    let listed: Vec<Option<String>> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.display_name)
        .collect();
    assert_eq!(listed, [Some("Acme Corp ü".to_string()), None], "{name}");

    store
        .set_tenant_display_name(&plain.id, Some("Plain 😀 Co"))
        .await
        .unwrap();
    assert_eq!(
        shown("plain").await.as_deref(),
        Some("Plain 😀 Co"),
        "{name}"
    );
    store.set_tenant_display_name(&t.id, None).await.unwrap();
    assert_eq!(shown("acme").await, None, "{name}");
    for bad in ["a\0b".to_string(), "x".repeat(300)] {
        assert!(
            matches!(
                store.set_tenant_display_name(&t.id, Some(&bad)).await,
                Err(StoreError::Unstorable(_))
            ),
            "{name}"
        );
    }
    assert_eq!(shown("acme").await, None, "{name}");
}

async fn oauth_lookups_by_text_no_row_can_hold_find_nothing(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let t = new_tenant(&*store, "t").await;
    let u = user(&t, "ada", None);
    store.create_user(&u).await.unwrap();
    let mut texts = hostile_texts();
    texts.push(String::new());
    texts.push(format!("{} ", hex(1)));
    for text in texts {
        let what: String = format!("{name}: {text:?}").chars().take(80).collect();
        assert!(
            matches!(store.client(&t.id, &text).await, Ok(None)),
            "{what}"
        );
        assert!(
            matches!(store.delete_client(&t.id, &text, 5).await, Ok(false)),
            "{what}"
        );
        assert!(
            matches!(
                store
                    .rotate_client_secret(&t.id, &text, &text, &hex(1), 5)
                    .await,
                Ok(false)
            ),
            "{what}"
        );
        assert!(
            matches!(
                store.consume_authorization_code(&t.id, &text, 5).await,
                Ok(CodeConsumed::NotFound)
            ),
            "{what}"
        );
        assert!(
            matches!(store.browser_session(&t.id, &text).await, Ok(None)),
            "{what}"
        );
        assert!(
            matches!(store.end_browser_session(&t.id, &text, 5).await, Ok(false)),
            "{what}"
        );
        assert!(
            matches!(store.refresh_token(&t.id, &text).await, Ok(None)),
            "{what}"
        );
        // Writes of it are stored as given or refused; never a driver error.
        let mut c = client(&t, &text, 1);
        clean_write(store.insert_client(&c).await, &format!("{what} as name"));
        c = client(&t, "n", 1);
        c.id = text.clone();
        clean_write(store.insert_client(&c).await, &format!("{what} as id"));
        c = client(&t, "n", 1);
        c.redirect_uris = vec![text.clone()];
        clean_write(store.insert_client(&c).await, &format!("{what} as URI"));
        let mut k = code(&t, &u, "web", &text, 9_000);
        clean_write(
            store.insert_authorization_code(&k, 0).await,
            &format!("{what} as code hash"),
        );
        k = code(&t, &u, "web", &hex(1), 9_000);
        k.code_hash = gatehouse_core::id::new_id();
        k.nonce = Some(text.clone());
        clean_write(
            store.insert_authorization_code(&k, 0).await,
            &format!("{what} as nonce"),
        );
        clean_write(
            store
                .create_browser_session(&browser(&t, &u, &text, &hex(7), 9_000))
                .await,
            &format!("{what} as browser sign-in id"),
        );
    }
    store.ping().await.unwrap();
}

// ---- Accounts: settings, profile changes, user pages, account links ------

async fn tenant_settings_round_trip(name: &'static str, store: Arc<dyn Store>) {
    let plain = new_tenant(&*store, "plain").await;
    let settings_of = |tenant: &'static str| {
        let store = store.clone();
        async move {
            store
                .tenant_by_name(tenant)
                .await
                .unwrap()
                .unwrap()
                .settings
        }
    };
    assert_eq!(
        settings_of("plain").await,
        TenantSettings::default(),
        "{name}: never set"
    );

    let strict = TenantSettings {
        email_verification: EmailVerification::Required,
        mail_from: Some("Acme ü <no-reply@acme.example>".into()),
        ..TenantSettings::default()
    };
    let mut t = tenant("acme");
    t.settings = strict.clone();
    store
        .create_tenant(&t, &key(&t, KeyState::Current))
        .await
        .unwrap();
    assert_eq!(settings_of("acme").await, strict, "{name}");
    let listed: Vec<TenantSettings> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.settings)
        .collect();
    assert_eq!(
        listed,
        [strict.clone(), TenantSettings::default()],
        "{name}"
    );

    let off = TenantSettings {
        email_verification: EmailVerification::Off,
        mail_from: None,
        ..TenantSettings::default()
    };
    store.set_tenant_settings(&plain.id, &off).await.unwrap();
    assert_eq!(settings_of("plain").await, off, "{name}");
    assert_eq!(settings_of("acme").await, strict, "{name}: untouched");
    store
        .set_tenant_settings(&t.id, &TenantSettings::default())
        .await
        .unwrap();
    assert_eq!(
        settings_of("acme").await,
        TenantSettings::default(),
        "{name}"
    );
}

async fn users_are_updated_whole_and_emails_stay_unique(name: &'static str, store: Arc<dyn Store>) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let alice = user(&a, "alice", Some("alice@example.com"));
    let bob = user(&a, "bob", Some("bob@example.com"));
    store.create_user(&alice).await.unwrap();
    store.create_user(&bob).await.unwrap();
    // The same address in another tenant is another user's business.
    store
        .create_user(&user(&b, "carol", Some("new@example.com")))
        .await
        .unwrap();

    let changed = User {
        email: Some("New@Example.com".into()),
        first_name: Some("Alicia".into()),
        last_name: Some("Lovelace ü".into()),
        roles: vec!["viewer".into()],
        email_verified: true,
        disabled: true,
        // What an update never changes, even when the caller's copy differs.
        username: "mallory".into(),
        password_hash: PasswordHash("$argon2id$other".into()),
        created_at: 9,
        ..alice.clone()
    };
    assert!(store.update_user(&changed).await.unwrap(), "{name}");
    let got = store
        .user_by_login(&a.id, &LoginName::Email("NEW@example.COM".into()))
        .await
        .unwrap()
        .expect(name);
    assert_eq!(got.id, alice.id, "{name}: found by the new email");
    assert_eq!(
        (
            got.email.as_deref(),
            got.first_name.as_deref(),
            got.last_name.as_deref(),
            got.roles.clone(),
            got.email_verified,
            got.disabled,
        ),
        (
            Some("New@Example.com"),
            Some("Alicia"),
            Some("Lovelace ü"),
            vec!["viewer".to_string()],
            true,
            true
        ),
        "{name}"
    );
    assert_eq!(
        (got.username.as_str(), &got.password_hash, got.created_at),
        ("alice", &alice.password_hash, alice.created_at),
        "{name}: id, username, hash and creation stay"
    );
    assert!(
        store
            .user_by_login(&a.id, &LoginName::Email("alice@example.com".into()))
            .await
            .unwrap()
            .is_none(),
        "{name}: not by the old email"
    );
    assert!(
        store
            .user_by_login(&a.id, &LoginName::Username("mallory".into()))
            .await
            .unwrap()
            .is_none(),
        "{name}"
    );
    // The old address is free again.
    store
        .create_user(&user(&a, "alice2", Some("ALICE@example.com")))
        .await
        .unwrap();

    // Another user's address, in any case, is a conflict, and changes nothing.
    let stealing = User {
        email: Some("new@EXAMPLE.com".into()),
        first_name: Some("Thief".into()),
        ..bob.clone()
    };
    assert!(
        matches!(
            store.update_user(&stealing).await,
            Err(StoreError::Conflict(UniqueField::Email))
        ),
        "{name}"
    );
    let bob_now = store.user_by_id(&a.id, &bob.id).await.unwrap().unwrap();
    assert_eq!(
        (bob_now.email.as_deref(), bob_now.first_name.as_deref()),
        (Some("bob@example.com"), Some("Ada")),
        "{name}"
    );

    // No such user, or not in this tenant.
    let ghost = user(&a, "ghost", None);
    assert!(!store.update_user(&ghost).await.unwrap(), "{name}");
    let elsewhere = User {
        tenant_id: b.id.clone(),
        ..changed.clone()
    };
    assert!(!store.update_user(&elsewhere).await.unwrap(), "{name}");

    // The flags go back, the email goes away, and an update that changes
    // nothing still finds the user.
    let back = User {
        email: None,
        email_verified: false,
        disabled: false,
        ..got.clone()
    };
    assert!(store.update_user(&back).await.unwrap(), "{name}");
    assert!(store.update_user(&back).await.unwrap(), "{name}: unchanged");
    let got = store.user_by_id(&a.id, &alice.id).await.unwrap().unwrap();
    assert_eq!(
        (got.email, got.email_verified, got.disabled),
        (None, false, false),
        "{name}"
    );

    // Both flags are written by create and read by every lookup.
    let flagged = User {
        email_verified: true,
        disabled: true,
        ..user(&a, "dora", Some("dora@example.com"))
    };
    store.create_user(&flagged).await.unwrap();
    let by_login = store
        .user_by_login(&a.id, &LoginName::Username("Dora".into()))
        .await
        .unwrap()
        .unwrap();
    let listed = store.list_users(&a.id).await.unwrap();
    let in_list = listed.iter().find(|u| u.id == flagged.id).unwrap();
    let paged = store
        .list_users_page(
            &a.id,
            &UserQuery {
                prefix: Some("dora".into()),
                limit: 10,
                ..UserQuery::default()
            },
        )
        .await
        .unwrap();
    for (how, u) in [
        ("by login", &by_login),
        ("listed", in_list),
        ("paged", &paged[0]),
    ] {
        assert_eq!(
            (u.email_verified, u.disabled),
            (true, true),
            "{name}: {how}"
        );
    }
    // What no column holds is refused, not truncated.
    let too_long = User {
        first_name: Some("x".repeat(600)),
        ..flagged.clone()
    };
    assert!(
        matches!(
            store.update_user(&too_long).await,
            Err(StoreError::Unstorable(_))
        ),
        "{name}"
    );
}

/// Every user of the tenant, page by page (`prefix` optional), adding
/// `late` users after each full page; the pages as they came.
async fn pages(
    store: &dyn Store,
    t: &Tenant,
    prefix: Option<&str>,
    limit: u32,
    late: usize,
) -> Vec<Vec<User>> {
    let mut out: Vec<Vec<User>> = Vec::new();
    loop {
        let query = UserQuery {
            after: out.last().and_then(|p| p.last()).map(|u| u.id.clone()),
            prefix: prefix.map(Into::into),
            limit,
        };
        let page = store.list_users_page(&t.id, &query).await.unwrap();
        let done = page.len() < limit as usize;
        if !page.is_empty() {
            out.push(page);
        }
        if done {
            return out;
        }
        for _ in 0..late {
            let u = user(t, &format!("late{}", gatehouse_core::id::new_id()), None);
            store.create_user(&u).await.unwrap();
        }
    }
}

async fn users_are_listed_in_pages_by_id(name: &'static str, store: Arc<dyn Store>) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let mut originals = Vec::new();
    for i in 0..25 {
        let u = user(
            &a,
            &format!("user{i:02}"),
            Some(&format!("u{i}@example.com")),
        );
        store.create_user(&u).await.unwrap();
        originals.push(u.id);
    }
    for i in 0..3 {
        store
            .create_user(&user(&b, &format!("other{i}"), None))
            .await
            .unwrap();
    }

    // Users added between pages neither repeat nor hide anyone.
    let got = pages(&*store, &a, None, 10, 2).await;
    assert!(got.len() >= 3, "{name}: {} pages", got.len());
    let seen: Vec<String> = got.iter().flatten().map(|u| u.id.clone()).collect();
    for page in &got {
        assert!(page.len() <= 10, "{name}");
        assert!(page.iter().all(|u| u.tenant_id == a.id), "{name}");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "{name}: in id order, without repeats");
    for id in &originals {
        assert!(seen.contains(id), "{name}: {id} was skipped");
    }
    let everyone = store.list_users(&a.id).await.unwrap();
    assert!(
        seen.iter().all(|id| everyone.iter().any(|u| &u.id == id)),
        "{name}"
    );

    // The limit is clamped to 1..=200.
    let all = |limit| UserQuery {
        limit,
        ..UserQuery::default()
    };
    assert_eq!(
        store.list_users_page(&a.id, &all(0)).await.unwrap().len(),
        1,
        "{name}"
    );
    assert_eq!(
        store
            .list_users_page(&a.id, &all(u32::MAX))
            .await
            .unwrap()
            .len(),
        everyone.len(),
        "{name}"
    );
    // A cursor past the end, and a tenant without users.
    let past = UserQuery {
        after: everyone.iter().map(|u| u.id.clone()).max(),
        limit: 10,
        ..UserQuery::default()
    };
    assert!(
        store
            .list_users_page(&a.id, &past)
            .await
            .unwrap()
            .is_empty()
    );
    let empty = new_tenant(&*store, "empty").await;
    assert!(
        store
            .list_users_page(&empty.id, &all(10))
            .await
            .unwrap()
            .is_empty(),
        "{name}"
    );
}

async fn users_are_searched_by_prefix_literally(name: &'static str, store: Arc<dyn Store>) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    for (username, email) in [
        ("Alice", Some("alice@example.com")),
        ("alfred", None),
        ("bob", Some("Albert@example.org")),
        ("carol", Some("carol@example.com")),
        ("a_b", None),
        ("axb", None),
        ("100%x", None),
        ("1000", None),
        ("a!b", None),
        ("a!!b", None),
        ("aab", None),
        ("Élodie", None),
    ] {
        store.create_user(&user(&a, username, email)).await.unwrap();
    }
    store
        .create_user(&user(&b, "alina", Some("alina@example.com")))
        .await
        .unwrap();

    let found = |prefix: &'static str| {
        let store = store.clone();
        let tid = a.id.clone();
        async move {
            let mut names: Vec<String> = store
                .list_users_page(
                    &tid,
                    &UserQuery {
                        prefix: Some(prefix.into()),
                        limit: 200,
                        ..UserQuery::default()
                    },
                )
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.username)
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(
        found("al").await,
        ["Alice", "alfred", "bob"],
        "{name}: by username key or email key, within the tenant"
    );
    assert_eq!(found("alice@").await, ["Alice"], "{name}");
    assert_eq!(found("albert@example.org").await, ["bob"], "{name}");
    assert_eq!(found("a_").await, ["a_b"], "{name}: `_` is literal");
    assert_eq!(found("100%").await, ["100%x"], "{name}: `%` is literal");
    assert_eq!(found("a!").await, ["a!!b", "a!b"], "{name}");
    assert_eq!(
        found("a!!").await,
        ["a!!b"],
        "{name}: the escape character is literal"
    );
    assert_eq!(found("él").await, ["Élodie"], "{name}");
    for nothing in ["%", "_", "!", "ALI", "ÉL", "zzz", "a\0"] {
        assert!(found(nothing).await.is_empty(), "{name}: {nothing:?}");
    }
    assert_eq!(
        found("").await.len(),
        12,
        "{name}: an empty prefix is no filter"
    );

    // Paging within a search.
    let got = pages(&*store, &a, Some("a"), 2, 0).await;
    let mut names: Vec<String> = got.iter().flatten().map(|u| u.username.clone()).collect();
    names.sort();
    assert_eq!(
        names,
        ["Alice", "a!!b", "a!b", "a_b", "aab", "alfred", "axb", "bob"],
        "{name}"
    );
    let found_b = store
        .list_users_page(
            &b.id,
            &UserQuery {
                prefix: Some("al".into()),
                limit: 10,
                ..UserQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found_b.len(), 1, "{name}");
    assert_eq!(found_b[0].username, "alina", "{name}");
}

fn link(t: &Tenant, u: &User, purpose: TokenPurpose, hash: &str, expires_at: i64) -> AccountToken {
    AccountToken {
        token_hash: hash.into(),
        tenant_id: t.id.clone(),
        user_id: u.id.clone(),
        purpose,
        email: Some("ada@example.com".into()),
        created_at: 3_000,
        expires_at,
        used_at: None,
    }
}

async fn account_links_are_used_once_within_their_tenant_and_purpose(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let u = user(&a, "ada", Some("ada@example.com"));
    store.create_user(&u).await.unwrap();
    let verify = link(&a, &u, TokenPurpose::VerifyEmail, &hex(1), 9_000);
    let reset = link(&a, &u, TokenPurpose::ResetPassword, &hex(2), 9_000);
    let invite = AccountToken {
        email: None,
        ..link(&a, &u, TokenPurpose::Invite, &hex(3), 9_000)
    };
    for t in [&verify, &reset, &invite] {
        store.insert_account_token(t, 0).await.unwrap();
    }
    assert!(
        matches!(
            store.insert_account_token(&verify, 0).await,
            Err(StoreError::Conflict(UniqueField::Other))
        ),
        "{name}: a taken token hash"
    );

    // Another tenant, or another purpose, finds nothing and burns nothing.
    let consume = |tenant: &Tenant, purpose, hash: &str, now| {
        let store = store.clone();
        let (tid, hash) = (tenant.id.clone(), hash.to_string());
        async move {
            store
                .consume_account_token(&tid, purpose, &hash, now)
                .await
                .unwrap()
        }
    };
    assert!(
        matches!(
            consume(&b, TokenPurpose::VerifyEmail, &hex(1), 4_000).await,
            TokenConsumed::NotFound
        ),
        "{name}"
    );
    for purpose in [TokenPurpose::ResetPassword, TokenPurpose::Invite] {
        assert!(
            matches!(
                consume(&a, purpose, &hex(1), 4_000).await,
                TokenConsumed::NotFound
            ),
            "{name}: {purpose:?}"
        );
    }
    match consume(&a, TokenPurpose::VerifyEmail, &hex(1), 4_000).await {
        TokenConsumed::Fresh(got) => assert_eq!(
            got,
            AccountToken {
                used_at: Some(4_000),
                ..verify.clone()
            },
            "{name}"
        ),
        other => panic!("{name}: {other:?}"),
    }
    match consume(&a, TokenPurpose::VerifyEmail, &hex(1), 4_001).await {
        TokenConsumed::AlreadyUsed(got) => {
            assert_eq!(got.used_at, Some(4_000), "{name}: the first use is kept")
        }
        other => panic!("{name}: {other:?}"),
    }
    // Expiry is core's to judge: the store uses up an expired link too.
    match consume(&a, TokenPurpose::ResetPassword, &hex(2), 10_000).await {
        TokenConsumed::Fresh(got) => assert_eq!(
            (got.purpose, got.expires_at, got.used_at),
            (TokenPurpose::ResetPassword, 9_000, Some(10_000)),
            "{name}"
        ),
        other => panic!("{name}: {other:?}"),
    }
    match consume(&a, TokenPurpose::Invite, &hex(3), 4_000).await {
        TokenConsumed::Fresh(got) => assert_eq!(got.email, None, "{name}"),
        other => panic!("{name}: {other:?}"),
    }
    assert!(
        matches!(
            consume(&a, TokenPurpose::VerifyEmail, &hex(9), 4_000).await,
            TokenConsumed::NotFound
        ),
        "{name}"
    );
    // The user's links go with the user.
    let later = link(&a, &u, TokenPurpose::VerifyEmail, &hex(4), 9_000);
    store.insert_account_token(&later, 0).await.unwrap();
    assert!(store.delete_user(&a.id, &u.id).await.unwrap());
    assert!(
        matches!(
            consume(&a, TokenPurpose::VerifyEmail, &hex(4), 4_000).await,
            TokenConsumed::NotFound
        ),
        "{name}"
    );
}

async fn concurrent_consumers_of_one_account_link_see_one_fresh(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let t = new_tenant(&*store, "t").await;
    let u = user(&t, "frank", None);
    store.create_user(&u).await.unwrap();
    store
        .insert_account_token(
            &link(&t, &u, TokenPurpose::ResetPassword, &hex(1), 9_000),
            0,
        )
        .await
        .unwrap();
    let results = join_all((0..20).map(|i| {
        let store = store.clone();
        let tid = t.id.clone();
        async move {
            store
                .consume_account_token(&tid, TokenPurpose::ResetPassword, &hex(1), 4_000 + i)
                .await
        }
    }))
    .await;
    let fresh = results
        .iter()
        .filter(|r| matches!(r, Ok(TokenConsumed::Fresh(_))))
        .count();
    let used = results
        .iter()
        .filter(|r| matches!(r, Ok(TokenConsumed::AlreadyUsed(_))))
        .count();
    assert_eq!((fresh, used), (1, 19), "{name}: {results:?}");
}

async fn expired_account_links_are_pruned_when_a_link_is_stored(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let ua = user(&a, "ada", None);
    let ub = user(&b, "bea", None);
    store.create_user(&ua).await.unwrap();
    store.create_user(&ub).await.unwrap();
    let purpose = TokenPurpose::VerifyEmail;
    let old_a = link(&a, &ua, purpose, &hex(1), 100);
    let old_b = link(&b, &ub, purpose, &hex(2), 150);
    let at_bound = link(&a, &ua, purpose, &hex(3), 200);
    let live = link(&a, &ua, purpose, &hex(4), 1_000);
    for t in [&old_a, &old_b, &at_bound, &live] {
        store.insert_account_token(t, 0).await.unwrap();
    }
    let new = link(&a, &ua, purpose, &hex(5), 1_000);
    store.insert_account_token(&new, 200).await.unwrap();
    for (t, l, kept) in [
        (&a, &old_a, false),
        (&b, &old_b, false),
        (&a, &at_bound, true),
        (&a, &live, true),
        (&a, &new, true),
    ] {
        let got = store
            .consume_account_token(&t.id, purpose, &l.token_hash, 300)
            .await
            .unwrap();
        assert_eq!(
            matches!(got, TokenConsumed::Fresh(_)),
            kept,
            "{name}: link expiring at {} after pruning before 200: {got:?}",
            l.expires_at
        );
    }
}

// ---- Sessions as their user sees them --------------------------------------

async fn sessions_remember_their_origin_and_last_refresh(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let u = user(&a, "ada", None);
    store.create_user(&u).await.unwrap();
    let origin = Origin {
        ip: Some("2001:db8::1".into()),
        // The longest User-Agent core keeps, in characters of two bytes.
        user_agent: Some("ü".repeat(Origin::MAX_USER_AGENT_CHARS)),
    };
    let s1 = Session {
        origin: origin.clone(),
        ..session(&a, &u, "s1")
    };
    store.create_session(&s1, None).await.unwrap();
    store
        .create_session(&session(&a, &u, "s2"), Some(&refresh(&a, "s2", &hex(2))))
        .await
        .unwrap();
    let got = store.session(&a.id, "s1").await.unwrap().expect(name);
    assert_eq!(
        (got.origin, got.last_refreshed_at),
        (origin, None),
        "{name}"
    );
    let got = store.session(&a.id, "s2").await.unwrap().expect(name);
    assert_eq!(got.origin, Origin::default(), "{name}");

    store.touch_session(&a.id, "s1", 4_000).await.unwrap();
    store.touch_session(&a.id, "s1", 4_500).await.unwrap();
    // Not through another tenant; an unknown session is no error.
    store.touch_session(&b.id, "s2", 4_600).await.unwrap();
    store.touch_session(&a.id, "nope", 4_600).await.unwrap();
    store.touch_session(&a.id, "a\0b", 4_600).await.unwrap();
    let last = |id: &'static str| {
        let store = store.clone();
        let tid = a.id.clone();
        async move {
            store
                .session(&tid, id)
                .await
                .unwrap()
                .unwrap()
                .last_refreshed_at
        }
    };
    assert_eq!(last("s1").await, Some(4_500), "{name}");
    assert_eq!(last("s2").await, None, "{name}");

    // Longer than core keeps is refused, and nothing is created.
    for (i, origin) in [
        Origin {
            ip: Some("1".repeat(65)),
            user_agent: None,
        },
        Origin {
            ip: None,
            user_agent: Some("x".repeat(Origin::MAX_USER_AGENT_CHARS + 1)),
        },
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("long{i}");
        let s = Session {
            origin,
            ..session(&a, &u, &id)
        };
        assert!(
            matches!(
                store.create_session(&s, None).await,
                Err(StoreError::Unstorable(_))
            ),
            "{name}"
        );
        assert!(store.session(&a.id, &id).await.unwrap().is_none(), "{name}");
    }
}

async fn a_users_active_sessions_are_listed_newest_first(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let u = user(&a, "ada", None);
    let v = user(&a, "vic", None);
    store.create_user(&u).await.unwrap();
    store.create_user(&v).await.unwrap();
    let at = |id: &str, created_at, expires_at, revoked_at| Session {
        created_at,
        expires_at,
        revoked_at,
        ..session(&a, &u, id)
    };
    for s in [
        at("s1", 3_000, 9_000, None),
        at("s2", 3_500, 9_000, None),
        // Opened in the same second as s2: the id breaks the tie.
        at("s3", 3_500, 9_000, None),
        at("revoked", 3_600, 9_000, Some(3_700)),
        at("expired", 3_600, 3_900, None),
        at("expiring-now", 3_600, 4_000, None),
        session(&a, &v, "vics"),
    ] {
        store.create_session(&s, None).await.unwrap();
    }
    let listed = store.list_user_sessions(&a.id, &u.id, 4_000).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s3", "s2", "s1"], "{name}");
    assert!(listed.iter().all(|s| s.user_id == u.id), "{name}");
    let earlier = store.list_user_sessions(&a.id, &u.id, 3_800).await.unwrap();
    assert_eq!(earlier.len(), 5, "{name}: before two of them expired");
    assert!(
        store
            .list_user_sessions(&b.id, &u.id, 4_000)
            .await
            .unwrap()
            .is_empty(),
        "{name}: not through another tenant"
    );
    assert!(
        store
            .list_user_sessions(&a.id, "a\0b", 4_000)
            .await
            .unwrap()
            .is_empty(),
        "{name}"
    );
}

async fn revoking_a_users_sessions_keeps_one_and_ends_browser_sign_ins(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    let u = user(&a, "ada", None);
    let v = user(&a, "vic", None);
    let ub = user(&b, "bea", None);
    for x in [&u, &v, &ub] {
        store.create_user(x).await.unwrap();
    }
    for s in [
        session(&a, &u, "keep"),
        session(&a, &u, "s2"),
        Session {
            revoked_at: Some(100),
            ..session(&a, &u, "ended")
        },
        Session {
            expires_at: 3_500,
            ..session(&a, &u, "expired")
        },
        session(&a, &v, "vics"),
        session(&b, &ub, "beas"),
    ] {
        store.create_session(&s, None).await.unwrap();
    }
    let signed_out = BrowserSession {
        revoked_at: Some(50),
        ..browser(&a, &u, "bs2", &hex(2), 9_000)
    };
    for bs in [
        &browser(&a, &u, "bs1", &hex(1), 9_000),
        &signed_out,
        &browser(&a, &v, "bs3", &hex(3), 9_000),
        &browser(&b, &ub, "bs4", &hex(4), 9_000),
    ] {
        store.create_browser_session(bs).await.unwrap();
    }
    let sign_in_ended = |t: &Tenant, hash: String| {
        let store = store.clone();
        let tid = t.id.clone();
        async move {
            store
                .browser_session(&tid, &hash)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
        }
    };

    assert_eq!(
        store
            .revoke_user_sessions(&b.id, &u.id, None, 4_000)
            .await
            .unwrap(),
        0,
        "{name}: not through another tenant"
    );
    assert_eq!(revoked_at(&*store, &a, "s2").await, None, "{name}");
    assert_eq!(sign_in_ended(&a, hex(1)).await, None, "{name}");

    assert_eq!(
        store
            .revoke_user_sessions(&a.id, &u.id, Some("keep"), 5_000)
            .await
            .unwrap(),
        2,
        "{name}: s2 and the expired one; the kept and the ended are not counted"
    );
    for (id, revoked) in [
        ("keep", None),
        ("s2", Some(5_000)),
        ("ended", Some(100)),
        ("expired", Some(5_000)),
        ("vics", None),
    ] {
        assert_eq!(revoked_at(&*store, &a, id).await, revoked, "{name}: {id}");
    }
    assert_eq!(revoked_at(&*store, &b, "beas").await, None, "{name}");
    assert_eq!(sign_in_ended(&a, hex(1)).await, Some(5_000), "{name}");
    assert_eq!(
        sign_in_ended(&a, hex(2)).await,
        Some(50),
        "{name}: an ended sign-in keeps its end"
    );
    assert_eq!(
        sign_in_ended(&a, hex(3)).await,
        None,
        "{name}: another user's"
    );
    assert_eq!(sign_in_ended(&b, hex(4)).await, None, "{name}");

    // Without `keep`, the last one goes too; then there is nothing left.
    assert_eq!(
        store
            .revoke_user_sessions(&a.id, &u.id, None, 6_000)
            .await
            .unwrap(),
        1,
        "{name}"
    );
    assert_eq!(revoked_at(&*store, &a, "keep").await, Some(6_000), "{name}");
    assert_eq!(
        store
            .revoke_user_sessions(&a.id, &u.id, Some("keep"), 7_000)
            .await
            .unwrap(),
        0,
        "{name}"
    );
    assert!(
        store
            .list_user_sessions(&a.id, &u.id, 7_000)
            .await
            .unwrap()
            .is_empty(),
        "{name}"
    );
}

async fn account_lookups_by_text_no_row_can_hold_find_nothing(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let t = new_tenant(&*store, "t").await;
    let u = user(&t, "ada", Some("ada@example.com"));
    store.create_user(&u).await.unwrap();
    store
        .create_session(&session(&t, &u, "s1"), None)
        .await
        .unwrap();
    let mut texts = hostile_texts();
    texts.push(String::new());
    texts.push(format!("{} ", hex(1)));
    texts.push("%".into());
    for text in texts {
        let what: String = format!("{name}: {text:?}").chars().take(80).collect();
        for purpose in [TokenPurpose::VerifyEmail, TokenPurpose::Invite] {
            assert!(
                matches!(
                    store.consume_account_token(&t.id, purpose, &text, 5).await,
                    Ok(TokenConsumed::NotFound)
                ),
                "{what}"
            );
        }
        let query = UserQuery {
            after: Some(text.clone()),
            prefix: Some(text.clone()),
            limit: 10,
        };
        let found = store.list_users_page(&t.id, &query).await;
        match found.as_deref() {
            Ok([]) => {}
            // The empty prefix is no filter and every id sorts after "".
            Ok([only]) if text.is_empty() && only.id == u.id => {}
            other => panic!("{what}: {other:?}"),
        }
        let query = UserQuery {
            after: Some(text.clone()),
            prefix: None,
            limit: 10,
        };
        assert!(store.list_users_page(&t.id, &query).await.is_ok(), "{what}");
        assert!(
            matches!(store.touch_session(&t.id, &text, 5).await, Ok(())),
            "{what}"
        );
        assert!(
            matches!(
                store.list_user_sessions(&t.id, &text, 5).await.as_deref(),
                Ok([])
            ),
            "{what}"
        );
        assert!(
            matches!(
                store.revoke_user_sessions(&t.id, &text, None, 5).await,
                Ok(0)
            ),
            "{what}"
        );
        // Writes of it are stored as given or refused; never a driver error.
        clean_write(
            store
                .insert_account_token(&link(&t, &u, TokenPurpose::Invite, &text, 9), 0)
                .await,
            &format!("{what} as token hash"),
        );
        let mut l = link(&t, &u, TokenPurpose::Invite, &hex(7), 9);
        l.token_hash = hex(100 + text.len() as u64);
        l.email = Some(text.clone());
        clean_write(
            store.insert_account_token(&l, 0).await,
            &format!("{what} as link email"),
        );
        let changed = User {
            email: Some(text.clone()),
            ..u.clone()
        };
        clean_write(
            store.update_user(&changed).await.map(drop),
            &format!("{what} as updated email"),
        );
        let changed = User {
            last_name: Some(text.clone()),
            roles: vec![text.clone()],
            ..u.clone()
        };
        clean_write(
            store.update_user(&changed).await.map(drop),
            &format!("{what} as updated names"),
        );
        let s = Session {
            origin: Origin {
                ip: Some(text.clone()),
                user_agent: Some(text.clone()),
            },
            ..session(&t, &u, &gatehouse_core::id::new_id())
        };
        clean_write(
            store.create_session(&s, None).await,
            &format!("{what} as origin"),
        );
        let settings = TenantSettings {
            mail_from: Some(text.clone()),
            ..TenantSettings::default()
        };
        clean_write(
            store.set_tenant_settings(&t.id, &settings).await,
            &format!("{what} as mail_from"),
        );
        let got = store.tenant_by_name("t").await;
        assert!(got.is_ok(), "{what}: settings read back: {got:?}");
    }
    // Keeping a session that cannot exist keeps none.
    let active = store
        .list_user_sessions(&t.id, &u.id, 6)
        .await
        .unwrap()
        .len() as u64;
    assert!(active >= 1, "{name}");
    assert_eq!(
        store
            .revoke_user_sessions(&t.id, &u.id, Some("a\0b"), 6)
            .await
            .unwrap(),
        active,
        "{name}"
    );
    store.ping().await.unwrap();
}

/// The soft-lock state the store holds for `u`.
async fn lock_state_of(store: &dyn Store, t: &Tenant, u: &User) -> (i64, i64, Option<i64>) {
    let got = store.user_by_id(&t.id, &u.id).await.unwrap().unwrap();
    (got.failed_logins, got.lock_count, got.locked_until)
}

/// An attempt claimed but never checked (shed by the hashing pool) is
/// given back: a count is taken back, a lock it set is lifted, and
/// nothing changes once the state has moved on.
async fn unchecked_login_attempts_are_given_back(name: &'static str, store: Arc<dyn Store>) {
    const SECS: &[i64] = &[60, 120];
    let t = new_tenant(&*store, "t").await;
    let u = user(&t, "busy", None);
    store.create_user(&u).await.unwrap();
    let now = 10_000;
    let first = store
        .claim_login_attempt(&t.id, &u.id, now, 3, SECS)
        .await
        .unwrap();
    assert_eq!(
        first,
        LoginAttempt::Allowed { locked_until: None },
        "{name}"
    );
    assert_eq!(lock_state_of(&*store, &t, &u).await, (1, 0, None), "{name}");
    store
        .release_login_attempt(&t.id, &u.id, first, 3, now)
        .await
        .unwrap();
    assert_eq!(lock_state_of(&*store, &t, &u).await, (0, 0, None), "{name}");
    // Never below zero.
    store
        .release_login_attempt(&t.id, &u.id, first, 3, now)
        .await
        .unwrap();
    assert_eq!(lock_state_of(&*store, &t, &u).await, (0, 0, None), "{name}");

    // The attempt that locked gives the lock back: threshold - 1 failures.
    let mut last = first;
    for _ in 0..3 {
        last = store
            .claim_login_attempt(&t.id, &u.id, now, 3, SECS)
            .await
            .unwrap();
    }
    assert_eq!(
        last,
        LoginAttempt::Allowed {
            locked_until: Some(now + 60)
        },
        "{name}"
    );
    store
        .release_login_attempt(&t.id, &u.id, last, 3, now)
        .await
        .unwrap();
    assert_eq!(lock_state_of(&*store, &t, &u).await, (2, 0, None), "{name}");

    // A lock that is no longer the one released (cleared, then set again
    // later) stays.
    let again = store
        .claim_login_attempt(&t.id, &u.id, now + 1, 3, SECS)
        .await
        .unwrap();
    assert_eq!(
        again,
        LoginAttempt::Allowed {
            locked_until: Some(now + 61)
        },
        "{name}"
    );
    store
        .release_login_attempt(&t.id, &u.id, last, 3, now + 1)
        .await
        .unwrap();
    assert_eq!(
        lock_state_of(&*store, &t, &u).await,
        (0, 1, Some(now + 61)),
        "{name}"
    );
    // Refusals and unknown users give nothing back.
    store
        .release_login_attempt(
            &t.id,
            &u.id,
            LoginAttempt::Locked { until: now + 61 },
            3,
            now + 2,
        )
        .await
        .unwrap();
    store
        .release_login_attempt(&t.id, "nobody", again, 3, now + 2)
        .await
        .unwrap();
    assert_eq!(
        lock_state_of(&*store, &t, &u).await,
        (0, 1, Some(now + 61)),
        "{name}"
    );
}

/// `n` concurrent claims at `now`: how many were allowed, the locks the
/// allowed ones reported, and the `until` of each refused one.
async fn claim_at_once(
    store: &Arc<dyn Store>,
    t: &Tenant,
    u: &User,
    n: usize,
    now: i64,
    lock_secs: &'static [i64],
) -> (usize, Vec<i64>, Vec<i64>) {
    let results = join_all((0..n).map(|_| {
        let store = store.clone();
        let (tid, uid) = (t.id.clone(), u.id.clone());
        async move {
            store
                .claim_login_attempt(&tid, &uid, now, 10, lock_secs)
                .await
        }
    }))
    .await;
    let mut allowed = 0;
    let mut reported = Vec::new();
    let mut refused = Vec::new();
    for r in results {
        match r.unwrap() {
            LoginAttempt::Allowed { locked_until } => {
                allowed += 1;
                reported.extend(locked_until);
            }
            LoginAttempt::Locked { until } => refused.push(until),
            LoginAttempt::NoUser => panic!("the user exists"),
        }
    }
    (allowed, reported, refused)
}

async fn login_attempts_are_claimed_atomically_and_lock_after_the_threshold(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    const SECS: &[i64] = &[60, 120, 240];
    let t = new_tenant(&*store, "t").await;
    let other = new_tenant(&*store, "other").await;
    let u = user(&t, "mallory", None);
    store.create_user(&u).await.unwrap();
    assert_eq!(lock_state_of(&*store, &t, &u).await, (0, 0, None), "{name}");

    // 50 at once, threshold 10: ten get through, one of them locked the
    // account (and says so), the other forty are refused until the lock ends.
    let now = 10_000;
    let (allowed, reported, refused) = claim_at_once(&store, &t, &u, 50, now, SECS).await;
    assert_eq!(allowed, 10, "{name}");
    assert_eq!(
        reported,
        [now + 60],
        "{name}: exactly one attempt locked it"
    );
    assert_eq!(refused, vec![now + 60; 40], "{name}");
    assert_eq!(
        lock_state_of(&*store, &t, &u).await,
        (0, 1, Some(now + 60)),
        "{name}"
    );
    assert_eq!(
        store
            .claim_login_attempt(&t.id, &u.id, now + 59, 10, SECS)
            .await
            .unwrap(),
        LoginAttempt::Locked { until: now + 60 },
        "{name}: still locked a second before the end"
    );

    // When it has passed: ten more, then the second, longer lock.
    let later = now + 60;
    let (allowed, reported, refused) = claim_at_once(&store, &t, &u, 50, later, SECS).await;
    assert_eq!(
        (allowed, reported, refused),
        (10, vec![later + 120], vec![later + 120; 40]),
        "{name}"
    );
    assert_eq!(
        lock_state_of(&*store, &t, &u).await,
        (0, 2, Some(later + 120)),
        "{name}"
    );

    // One at a time: the schedule's last step repeats once it is reached.
    let mut at = later + 120;
    for expected_secs in [240, 240] {
        for i in 1..=10 {
            let got = store
                .claim_login_attempt(&t.id, &u.id, at, 10, SECS)
                .await
                .unwrap();
            let locked_until = (i == 10).then_some(at + expected_secs);
            assert_eq!(got, LoginAttempt::Allowed { locked_until }, "{name}: {i}");
        }
        at += expected_secs;
    }
    assert_eq!(lock_state_of(&*store, &t, &u).await.1, 4, "{name}");

    // An edit made from a stale copy leaves the soft-lock alone.
    store
        .claim_login_attempt(&t.id, &u.id, at, 10, SECS)
        .await
        .unwrap();
    let edited = User {
        first_name: Some("Mal".into()),
        ..u.clone()
    };
    assert!(store.update_user(&edited).await.unwrap(), "{name}");
    assert_eq!(
        lock_state_of(&*store, &t, &u).await,
        (1, 4, Some(at)),
        "{name}: update_user does not touch it"
    );

    // Clearing forgets failures and locks: the next lock is the first again.
    let locked_again = {
        for _ in 0..9 {
            store
                .claim_login_attempt(&t.id, &u.id, at, 10, SECS)
                .await
                .unwrap();
        }
        store
            .claim_login_attempt(&t.id, &u.id, at, 10, SECS)
            .await
            .unwrap()
    };
    assert_eq!(
        locked_again,
        LoginAttempt::Locked { until: at + 240 },
        "{name}"
    );
    store.clear_login_failures(&t.id, &u.id).await.unwrap();
    assert_eq!(lock_state_of(&*store, &t, &u).await, (0, 0, None), "{name}");
    for i in 1..=10 {
        let got = store
            .claim_login_attempt(&t.id, &u.id, at, 10, SECS)
            .await
            .unwrap();
        let locked_until = (i == 10).then_some(at + 60);
        assert_eq!(got, LoginAttempt::Allowed { locked_until }, "{name}: {i}");
    }
    store.clear_login_failures(&t.id, &u.id).await.unwrap();
    store.clear_login_failures(&t.id, &u.id).await.unwrap();

    // Every read of a user carries the state.
    store
        .claim_login_attempt(&t.id, &u.id, at, 10, SECS)
        .await
        .unwrap();
    let by_login = store
        .user_by_login(&t.id, &LoginName::Username("Mallory".into()))
        .await
        .unwrap()
        .unwrap();
    let listed = store.list_users(&t.id).await.unwrap();
    let paged = store
        .list_users_page(
            &t.id,
            &UserQuery {
                limit: 10,
                ..UserQuery::default()
            },
        )
        .await
        .unwrap();
    for (how, got) in [
        ("by login", &by_login),
        ("listed", &listed[0]),
        ("paged", &paged[0]),
    ] {
        assert_eq!(
            (got.failed_logins, got.lock_count, got.locked_until),
            (1, 0, None),
            "{name}: {how}"
        );
    }

    // A threshold of one locks at every first attempt.
    let v = user(&t, "victor", None);
    store.create_user(&v).await.unwrap();
    assert_eq!(
        store
            .claim_login_attempt(&t.id, &v.id, at, 1, SECS)
            .await
            .unwrap(),
        LoginAttempt::Allowed {
            locked_until: Some(at + 60)
        },
        "{name}"
    );
    assert_eq!(
        store
            .claim_login_attempt(&t.id, &v.id, at, 1, SECS)
            .await
            .unwrap(),
        LoginAttempt::Locked { until: at + 60 },
        "{name}"
    );

    // Only within the user's tenant; no one else is a user.
    for (tenant_id, user_id) in [
        (other.id.as_str(), u.id.as_str()),
        (t.id.as_str(), "no-such-user"),
        (t.id.as_str(), "a\0b"),
        (t.id.as_str(), ""),
    ] {
        assert_eq!(
            store
                .claim_login_attempt(tenant_id, user_id, at, 10, SECS)
                .await
                .unwrap(),
            LoginAttempt::NoUser,
            "{name}: {user_id:?}"
        );
        store
            .clear_login_failures(tenant_id, user_id)
            .await
            .unwrap();
    }
    assert_eq!(
        lock_state_of(&*store, &t, &u).await,
        (1, 0, None),
        "{name}: another tenant's clear changed nothing"
    );
}

/// A UUIDv7 as core mints them, for the time `at` (seconds) and a
/// sequence number: ids sort as (time, sequence).
fn event_id(at: i64, seq: u64) -> String {
    let ms = at as u64 * 1000;
    format!(
        "{:08x}-{:04x}-7{:03x}-8000-{:012x}",
        ms >> 16,
        ms & 0xffff,
        seq & 0xfff,
        seq
    )
}

fn event(t: &Tenant, at: i64, seq: u64) -> AuditEvent {
    let failure = seq % 2 == 1;
    AuditEvent {
        id: event_id(at, seq),
        tenant_id: t.id.clone(),
        at,
        kind: if failure {
            "login.failure"
        } else {
            "login.success"
        }
        .into(),
        actor: seq.is_multiple_of(5).then(|| "admin".to_string()),
        subject: Some(format!("u{}", seq % 3)),
        ip: Some("203.0.113.7".into()),
        user_agent: seq.is_multiple_of(4).then(|| "curl/8.5 ü".to_string()),
        outcome: if failure { "failure" } else { "success" }.into(),
        reason: failure.then(|| "wrong_password".to_string()),
    }
}

/// Every event the query finds, page by page through the cursor.
async fn event_pages(store: &dyn Store, t: &Tenant, query: EventQuery) -> Vec<AuditEvent> {
    let mut all: Vec<AuditEvent> = Vec::new();
    loop {
        let page = store
            .list_events(
                &t.id,
                &EventQuery {
                    before_id: all.last().map(|e| e.id.clone()),
                    ..query.clone()
                },
            )
            .await
            .unwrap();
        assert!(page.len() <= query.limit as usize);
        let done = page.len() < query.limit as usize;
        all.extend(page);
        if done {
            return all;
        }
    }
}

async fn audit_events_are_listed_newest_first_per_tenant_and_pruned_by_age(
    name: &'static str,
    store: Arc<dyn Store>,
) {
    let a = new_tenant(&*store, "a").await;
    let b = new_tenant(&*store, "b").await;
    // 210 events of `a` ten seconds apart, and 5 of `b` among its first:
    // a batch of both tenants, one over 100 events, a single one, none.
    let mut of_a: Vec<AuditEvent> = (0..210)
        .map(|i| event(&a, 1_000 + 10 * i as i64, i))
        .collect();
    let of_b: Vec<AuditEvent> = (0..5)
        .map(|i| event(&b, 1_000 + 10 * i as i64, 1_000 + i))
        .collect();
    let mut first = of_a[..60].to_vec();
    first.extend(of_b.iter().cloned());
    store.append_events(&first).await.unwrap();
    store.append_events(&of_a[60..209]).await.unwrap();
    store.append_events(&of_a[209..]).await.unwrap();
    store.append_events(&[]).await.unwrap();
    of_a.reverse(); // newest first

    let all = |limit| EventQuery {
        limit,
        ..EventQuery::default()
    };
    assert_eq!(
        store.list_events(&a.id, &all(500)).await.unwrap(),
        of_a,
        "{name}: all of them, newest first, as they were appended"
    );
    assert_eq!(
        store.list_events(&b.id, &all(500)).await.unwrap(),
        of_b.iter().rev().cloned().collect::<Vec<_>>(),
        "{name}: each tenant its own"
    );
    assert!(
        store
            .list_events("no-such-tenant", &all(500))
            .await
            .unwrap()
            .is_empty(),
        "{name}"
    );
    assert_eq!(
        event_pages(&*store, &a, all(25)).await,
        of_a,
        "{name}: pages"
    );
    assert_eq!(
        store.list_events(&a.id, &all(0)).await.unwrap(),
        of_a[..1],
        "{name}: a limit of 0 is 1"
    );

    // Each filter, and all of them, alone and through pages.
    let filtered = |q: &EventQuery| -> Vec<AuditEvent> {
        of_a.iter()
            .filter(|e| q.kind.as_ref().is_none_or(|k| *k == e.kind))
            .filter(|e| q.subject.is_none() || q.subject == e.subject)
            .filter(|e| q.since.is_none_or(|s| e.at >= s))
            .cloned()
            .collect()
    };
    let queries = [
        EventQuery {
            kind: Some("login.failure".into()),
            ..all(500)
        },
        EventQuery {
            subject: Some("u2".into()),
            ..all(500)
        },
        EventQuery {
            since: Some(2_505),
            ..all(500)
        },
        EventQuery {
            kind: Some("login.success".into()),
            subject: Some("u1".into()),
            since: Some(1_500),
            ..all(500)
        },
    ];
    for q in queries {
        let expected = filtered(&q);
        assert!(!expected.is_empty() && expected.len() < of_a.len());
        assert_eq!(
            store.list_events(&a.id, &q).await.unwrap(),
            expected,
            "{name}: {q:?}"
        );
        assert_eq!(
            event_pages(
                &*store,
                &a,
                EventQuery {
                    limit: 7,
                    ..q.clone()
                }
            )
            .await,
            expected,
            "{name}: {q:?} in pages"
        );
    }
    // What no event holds finds none.
    for q in [
        EventQuery {
            kind: Some("login.failure ".into()),
            ..all(500)
        },
        EventQuery {
            subject: Some("u2 ".into()),
            ..all(500)
        },
        EventQuery {
            kind: Some("x".repeat(100)),
            ..all(500)
        },
        EventQuery {
            subject: Some("a\0b".into()),
            ..all(500)
        },
        EventQuery {
            before_id: Some("a\0b".into()),
            ..all(500)
        },
        EventQuery {
            before_id: Some(of_a.last().unwrap().id.clone()),
            ..all(500)
        },
        EventQuery {
            since: Some(1_000_000),
            ..all(500)
        },
    ] {
        assert_eq!(
            store.list_events(&a.id, &q).await.unwrap(),
            [],
            "{name}: {q:?}"
        );
    }

    // A batch with one event the columns cannot hold is refused whole.
    for bad in [
        AuditEvent {
            kind: "k".repeat(65),
            ..event(&b, 5_000, 2_000)
        },
        AuditEvent {
            user_agent: Some("u".repeat(257)),
            ..event(&b, 5_000, 2_000)
        },
        AuditEvent {
            reason: Some("r".repeat(129)),
            ..event(&b, 5_000, 2_000)
        },
        AuditEvent {
            subject: Some("a\0b".into()),
            ..event(&b, 5_000, 2_000)
        },
        AuditEvent {
            id: "not an id".into(),
            ..event(&b, 5_000, 2_000)
        },
    ] {
        let batch = [event(&b, 5_000, 2_001), bad];
        assert!(
            matches!(
                store.append_events(&batch).await,
                Err(StoreError::Unstorable(_))
            ),
            "{name}"
        );
    }
    assert_eq!(
        store.list_events(&b.id, &all(500)).await.unwrap().len(),
        5,
        "{name}: nothing of the refused batches was stored"
    );

    // Pruning: only events older than `before`, of every tenant, at most
    // `limit` per call, and how many it deleted.
    let before = 1_500;
    let older = |events: &[AuditEvent]| events.iter().filter(|e| e.at < before).count();
    assert_eq!((older(&of_a), older(&of_b)), (50, 5));
    assert_eq!(store.prune_events(before, 0).await.unwrap(), 0, "{name}");
    assert_eq!(store.prune_events(before, 20).await.unwrap(), 20, "{name}");
    let left_a = store.list_events(&a.id, &all(500)).await.unwrap();
    let left_b = store.list_events(&b.id, &all(500)).await.unwrap();
    assert_eq!(
        older(&left_a) + older(&left_b),
        35,
        "{name}: 20 of the 55 older ones gone"
    );
    assert_eq!(left_a.len() - older(&left_a), 160, "{name}: no newer one");
    assert_eq!(
        store.prune_events(before, 1_000).await.unwrap(),
        35,
        "{name}"
    );
    assert_eq!(
        store.prune_events(before, 1_000).await.unwrap(),
        0,
        "{name}"
    );
    assert_eq!(
        store.list_events(&a.id, &all(500)).await.unwrap(),
        of_a[..160],
        "{name}: the newer ones, untouched"
    );
    assert!(
        store
            .list_events(&b.id, &all(500))
            .await
            .unwrap()
            .is_empty(),
        "{name}"
    );
}

/// One case: its name and the check, run on a fresh store.
pub type Case = (
    &'static str,
    fn(&'static str, Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>,
);

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        /// Every case, in the order [`run`] runs them.
        pub fn cases() -> Vec<Case> {
            vec![$((stringify!($case), |backend, store| Box::pin($case(backend, store)))),*]
        }
    };
}

cases![
    tenants_round_trip_and_names_are_unique,
    users_are_unique_per_tenant_case_insensitively,
    password_hash_upgrade_is_conditional_on_the_old_hash,
    deleting_a_user_takes_their_sessions_along,
    refresh_tokens_are_consumed_once_and_reuse_is_visible,
    concurrent_consumers_of_one_refresh_token_see_one_fresh,
    concurrent_registrations_of_one_username_have_one_winner,
    key_lifecycle_steps_apply_once,
    text_no_backend_can_hold_is_refused_cleanly,
    sessions_and_key_material_are_reached_only_through_their_tenant,
    policies_are_replaced_whole_per_tenant,
    secrets_are_named_per_tenant_and_replaced,
    api_keys_are_scoped_to_tenant_and_user,
    clients_round_trip_and_are_reached_only_through_their_tenant,
    client_secret_rotation_is_a_compare_and_set,
    deleting_a_client_revokes_its_sessions_only,
    authorization_codes_are_consumed_once_within_their_tenant,
    concurrent_consumers_of_one_code_see_one_fresh,
    expired_codes_are_pruned_when_a_code_is_stored,
    ending_a_browser_sign_in_revokes_its_sessions,
    sessions_may_start_without_a_refresh_token_and_tokens_are_read_without_use,
    user_roles_are_replaced_whole,
    tenant_display_names_round_trip,
    oauth_lookups_by_text_no_row_can_hold_find_nothing,
    tenant_settings_round_trip,
    users_are_updated_whole_and_emails_stay_unique,
    users_are_listed_in_pages_by_id,
    users_are_searched_by_prefix_literally,
    account_links_are_used_once_within_their_tenant_and_purpose,
    concurrent_consumers_of_one_account_link_see_one_fresh,
    expired_account_links_are_pruned_when_a_link_is_stored,
    sessions_remember_their_origin_and_last_refresh,
    a_users_active_sessions_are_listed_newest_first,
    revoking_a_users_sessions_keeps_one_and_ends_browser_sign_ins,
    account_lookups_by_text_no_row_can_hold_find_nothing,
    login_attempts_are_claimed_atomically_and_lock_after_the_threshold,
    unchecked_login_attempts_are_given_back,
    audit_events_are_listed_newest_first_per_tenant_and_pruned_by_age,
];

/// Runs every case against `backend`, each on a store `fresh` makes.
pub async fn run<F, Fut>(backend: &'static str, mut fresh: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    for (case, check) in cases() {
        eprintln!("conformance: {backend}: {case}");
        check(backend, fresh().await).await;
    }
}
