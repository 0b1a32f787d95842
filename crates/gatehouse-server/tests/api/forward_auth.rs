use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Options, error_code, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_valid_token_passes_with_identity_headers_and_claims() {
    let app = spawn_app().await;
    let tokens = app.user_with_tokens("default", "alice").await;
    let jwt = tokens["access_token"].as_str().unwrap();
    let r = app
        .client
        .get(format!("{}/t/default/auth", app.base))
        .bearer_auth(jwt)
        .header("X-Forwarded-Method", "POST")
        .header("X-Forwarded-Uri", "/function/orders")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["x-auth-username"], "alice");
    assert_eq!(h["x-auth-email"], "alice@example.com");
    assert_eq!(h["x-auth-scope"], "openid profile email");
    assert_eq!(h["x-auth-tenant"], "default");
    let claims: Value = r.json().await.unwrap();
    assert_eq!(
        h["x-auth-subject"].to_str().unwrap(),
        claims["sub"].as_str().unwrap()
    );
    assert_eq!(claims["preferred_username"], "alice");
}

#[tokio::test]
async fn no_token_gets_a_bare_challenge() {
    let app = spawn_app().await;
    let r = app.get("/t/default/auth").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    assert!(
        !challenge.contains("error="),
        "RFC 6750 §3: no error code without credentials"
    );
}

#[tokio::test]
async fn bad_tokens_get_invalid_token_challenges() {
    let app = spawn_app().await;
    let tokens = app.user_with_tokens("default", "bob").await;
    let jwt = tokens["access_token"].as_str().unwrap().to_string();
    let mut tampered = jwt.clone();
    tampered.push('A'); // signature no longer matches
    let mut forged_claims: Vec<&str> = jwt.split('.').collect();
    let other = "eyJzdWIiOiJhZG1pbiJ9"; // {"sub":"admin"}
    forged_claims[1] = other;
    let forged = forged_claims.join(".");
    let thousand_dots = ".".repeat(1000);
    for bad in [
        "garbage",
        "a.b.c",
        thousand_dots.as_str(),
        tampered.as_str(),
        forged.as_str(),
        tokens["refresh_token"].as_str().unwrap(),
    ] {
        let r = app.get_with_bearer("/t/default/auth", bad).await;
        let challenge = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert_eq!(
            error_code(r, StatusCode::UNAUTHORIZED).await,
            "invalid_token"
        );
    }
}

#[tokio::test]
async fn a_token_of_one_tenant_never_passes_at_another() {
    let app = spawn_app().await;
    // Same algorithm in both, so only the tenant separates them.
    app.create_tenant("acme", "RS256").await;
    let tokens = app.user_with_tokens("acme", "carol").await;
    let jwt = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        app.get_with_bearer("/t/acme/auth", jwt).await.status(),
        StatusCode::OK
    );
    let r = app.get_with_bearer("/t/default/auth", jwt).await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );
}

#[tokio::test]
async fn expiry_is_enforced_with_leeway_using_the_injected_clock() {
    let app = spawn_app_with(Options {
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let tokens = app.user_with_tokens("default", "dave").await;
    let jwt = tokens["access_token"].as_str().unwrap();
    let clock = app.clock.as_ref().unwrap();
    // Default lifetime 900 s, leeway 30 s.
    clock.advance(900 + 29);
    assert_eq!(
        app.get_with_bearer("/t/default/auth", jwt).await.status(),
        StatusCode::OK
    );
    clock.advance(2);
    let r = app.get_with_bearer("/t/default/auth", jwt).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn auth_does_not_read_the_database_on_the_happy_path() {
    let app = spawn_app().await;
    let tokens = app.user_with_tokens("default", "erin").await;
    let jwt = tokens["access_token"].as_str().unwrap();
    // /login already loaded the tenant's keys into the cache.
    let before = app.store.hook.calls();
    for _ in 0..5 {
        assert_eq!(
            app.get_with_bearer("/t/default/auth", jwt).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(app.store.hook.calls(), before, "/auth must verify offline");

    // And with the database gone, cached keys keep verifying.
    app.store
        .hook
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        app.get_with_bearer("/t/default/auth", jwt).await.status(),
        StatusCode::OK
    );
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = app.register("default", "frank").await;
    assert_eq!(
        error_code(r, StatusCode::SERVICE_UNAVAILABLE).await,
        "temporarily_unavailable"
    );
}

/// Header bytes are read as Latin-1 by proxies and frameworks, so a
/// non-ASCII identity travels percent-encoded (README, "nginx in front of
/// a function"); the JSON body keeps the raw value.
#[tokio::test]
async fn non_ascii_identities_travel_percent_encoded_in_headers() {
    let app = spawn_app().await;
    let tokens = app.user_with_tokens("default", "ü-user").await;
    let jwt = tokens["access_token"].as_str().unwrap();
    let r = app.get_with_bearer("/t/default/auth", jwt).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["x-auth-username"], "%C3%BC-user");
    assert_eq!(h["x-auth-email"], "%C3%BC-user@example.com");
    // ASCII values, spaces included, are unchanged.
    assert_eq!(h["x-auth-scope"], "openid profile email");
    let claims: Value = r.json().await.unwrap();
    assert_eq!(claims["preferred_username"], "ü-user");
    assert_eq!(claims["email"], "ü-user@example.com");

    // `%` itself is escaped, so decoding is never ambiguous.
    let tokens = app.user_with_tokens("default", "100%").await;
    let r = app
        .get_with_bearer("/t/default/auth", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(r.headers()["x-auth-username"], "100%25");
}
