//! Signing keys over HTTP: rotation moved by an injected clock, JWKS caching
//! headers, admin key routes, and `/auth?session=check`.

use gatehouse_server::startup::run_key_maintenance;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, error_code, header_of, spawn_app, spawn_app_with};

const DAY: i64 = 24 * 3600;

async fn jwks_kids(app: &TestApp, tenant: &str) -> Vec<String> {
    let jwks = app.jwks(tenant).await;
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    kids.sort();
    kids
}

fn kid_of(tokens: &Value) -> String {
    header_of(tokens["access_token"].as_str().unwrap())["kid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Asks the admin API to rotate `tenant`'s key.
async fn rotate(app: &TestApp, tenant: &str, body: Option<Value>) -> reqwest::Response {
    app.admin(
        reqwest::Method::POST,
        &format!("/admin/t/{tenant}/keys/rotate"),
        body,
    )
    .await
}

/// The JWKS of the default tenant, asked for with `If-None-Match: etag`.
async fn jwks_if_none_match(app: &TestApp, etag: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/t/default/.well-known/jwks.json", app.base))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn keys_rotate_on_schedule_with_prepublication_and_retirement() {
    let app = spawn_app_with(Options {
        manual_clock: true,
        admin_token: true,
        ..Options::default()
    })
    .await;
    let clock = app.clock.clone().unwrap();
    // A tenant created now, so its first key's age is the clock's.
    app.create_tenant("acme", "ES256").await;
    app.register("acme", "alice").await;
    let first = app.login("acme", "alice").await;
    let k1 = kid_of(&first);
    assert_eq!(jwks_kids(&app, "acme").await, vec![k1.clone()]);

    // Day 29 (period 30 d, window 1 d): a successor is published, not used.
    clock.advance(29 * DAY);
    run_key_maintenance(&app.state).await;
    let published = jwks_kids(&app, "acme").await;
    assert_eq!(published.len(), 2, "successor published ahead of use");
    let k2 = published.iter().find(|k| **k != k1).unwrap().clone();
    assert_eq!(
        kid_of(&app.login("acme", "alice").await),
        k1,
        "the successor does not sign yet"
    );

    // A minute before day 30, still the old key.
    clock.advance(DAY - 60);
    run_key_maintenance(&app.state).await;
    let before_switch = app.login("acme", "alice").await;
    assert_eq!(kid_of(&before_switch), k1);

    // Day 30: the successor signs, the old key is retired but still published.
    clock.advance(60);
    run_key_maintenance(&app.state).await;
    let after = app.login("acme", "alice").await;
    assert_eq!(kid_of(&after), k2);
    assert_eq!(jwks_kids(&app, "acme").await.len(), 2);
    let old_token = before_switch["access_token"].as_str().unwrap();
    assert_eq!(
        app.get_with_bearer("/t/acme/auth", old_token)
            .await
            .status(),
        StatusCode::OK,
        "a token signed just before retirement still verifies"
    );

    // Its last token expired (15 min + 30 s leeway): the old key leaves.
    clock.advance(15 * 60 + 30);
    run_key_maintenance(&app.state).await;
    assert_eq!(jwks_kids(&app, "acme").await, vec![k2.clone()]);
    let fresh = app.login("acme", "alice").await;
    assert_eq!(kid_of(&fresh), k2);
    assert_eq!(
        app.get_with_bearer("/t/acme/auth", fresh["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );

    // Maintenance is idempotent: running it again (as a second node would) changes nothing.
    run_key_maintenance(&app.state).await;
    assert_eq!(jwks_kids(&app, "acme").await, vec![k2]);
}

#[tokio::test]
async fn rotation_in_one_tenant_leaves_the_others_alone() {
    let app = spawn_app().await;
    app.create_tenant("one", "EdDSA").await;
    app.create_tenant("two", "EdDSA").await;
    let before = jwks_kids(&app, "two").await;
    let r = rotate(&app, "one", Some(json!({"immediately": true}))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(jwks_kids(&app, "one").await.len(), 2);
    assert_eq!(jwks_kids(&app, "two").await, before);
}

#[tokio::test]
async fn admin_rotation_now_and_algorithm_change() {
    let app = spawn_app().await;
    let tokens = app.user_with_tokens("default", "bob").await;
    let k1 = kid_of(&tokens);

    // Change algorithm, immediately: new tokens are ES256 with the new kid.
    let r = rotate(
        &app,
        "default",
        Some(json!({"algorithm": "ES256", "immediately": true})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let next: Value = r.json().await.unwrap();
    assert_eq!(next["algorithm"], "ES256");
    assert!(next.get("private_material").is_none());

    let again = app.login("default", "bob").await;
    let h = header_of(again["access_token"].as_str().unwrap());
    assert_eq!(h["alg"], "ES256");
    assert_eq!(h["kid"], next["kid"]);
    // The old RS256 token still verifies (retired, still published).
    assert_eq!(
        app.get_with_bearer("/t/default/auth", tokens["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );

    let r = app
        .admin(reqwest::Method::GET, "/admin/t/default/keys", None)
        .await;
    let keys: Vec<Value> = r.json().await.unwrap();
    let states: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| (k["kid"].as_str().unwrap(), k["state"].as_str().unwrap()))
        .collect();
    assert!(states.contains(&(k1.as_str(), "retired")), "{states:?}");
    assert!(states.contains(&(next["kid"].as_str().unwrap(), "current")));

    // Rotating to HS256 publishes nothing new: a shared secret is never in JWKS.
    let r = rotate(
        &app,
        "default",
        Some(json!({"algorithm": "HS256", "immediately": true})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let jwks = app.jwks("default").await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kty"] != "oct" && k.get("k").is_none())
    );

    let r = rotate(&app, "nope", None).await;
    assert_eq!(
        error_code(r, StatusCode::NOT_FOUND).await,
        "tenant_not_found"
    );
    let r = rotate(&app, "default", Some(json!({"algorithm": "none"}))).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_request"
    );
}

#[tokio::test]
async fn jwks_answers_304_to_a_matching_etag() {
    let app = spawn_app().await;
    let r = app.get("/t/default/.well-known/jwks.json").await;
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let max_age: u64 = r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .split("max-age=")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        max_age < 24 * 3600,
        "the cache lifetime is shorter than the pre-publication window"
    );
    let r = jwks_if_none_match(&app, &etag).await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert!(r.text().await.unwrap().is_empty());

    // After a rotation the key set changes, and so does the tag.
    rotate(&app, "default", None).await;
    let r = jwks_if_none_match(&app, &etag).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
}

#[tokio::test]
async fn session_check_fails_at_once_after_logout() {
    let app = spawn_app().await;
    let tokens = app.user_with_tokens("default", "carol").await;
    let jwt = tokens["access_token"].as_str().unwrap();
    let sessions_read = app.store.hook.calls_to("session");
    assert_eq!(
        app.get_with_bearer("/t/default/auth?session=check", jwt)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.store.hook.calls_to("session"),
        sessions_read + 1,
        "session=check reads the session once"
    );

    let before = app.store.hook.calls();
    assert_eq!(
        app.get_with_bearer("/t/default/auth", jwt).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.store.hook.calls(),
        before,
        "without session=check, /auth stays offline"
    );

    let r = app.post_with_bearer("/t/default/logout", jwt).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Offline, the token is still good until it expires...
    assert_eq!(
        app.get_with_bearer("/t/default/auth", jwt).await.status(),
        StatusCode::OK
    );
    // ...but a critical operation that checks the session refuses it now.
    let r = app
        .get_with_bearer("/t/default/auth?session=check", jwt)
        .await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );
    let r = app
        .get_with_bearer("/t/default/auth?session=maybe", jwt)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_database_holds_no_private_key_in_the_clear() {
    let app = spawn_app().await;
    for (t, alg) in [
        ("r", "RS256"),
        ("e", "ES256"),
        ("d", "EdDSA"),
        ("h", "HS256"),
    ] {
        app.create_tenant(t, alg).await;
    }
    let mut all = Vec::new();
    for entry in std::fs::read_dir(app.db_dir()).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let needle = b"PRIVATE KEY";
    assert!(!all.windows(needle.len()).any(|w| w == needle));
}
