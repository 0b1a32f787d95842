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
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::apikey::ApiKeyRecord;
use gatehouse_core::keys::{KeyState, SigningKeyRecord};
use gatehouse_core::password::PasswordHash;
use gatehouse_core::refresh::{Consumed, RefreshRecord};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_core::session::Session;
use gatehouse_core::store::{Store, StoreError, UniqueField};
use gatehouse_core::tenant::{Tenant, TenantName};
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
        created_at: 3_000,
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
        .create_session(&session(&t, &u, "s1"), &refresh(&t, "s1", "h1"))
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
        .create_session(&session(&t, &u, "s1"), &refresh(&t, "s1", "h1"))
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
        .create_session(&session(&t, &u, "s1"), &refresh(&t, "s1", "h1"))
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
        .create_session(&session(&a, &u, "s1"), &refresh(&a, "s1", "h1"))
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
