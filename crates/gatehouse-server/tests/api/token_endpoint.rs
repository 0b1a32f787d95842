use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{PASSWORD, claims_of, error_code, spawn_app};

#[tokio::test]
async fn password_grant_issues_tokens() {
    let app = spawn_app().await;
    app.register("default", "alice").await;
    let r = app
        .post_form(
            "/t/default/token",
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(
        claims_of(tokens["access_token"].as_str().unwrap())["preferred_username"],
        "alice"
    );

    // RFC 6749 §5.2: bad credentials at the token endpoint are 400 invalid_grant.
    let r = app
        .post_form(
            "/t/default/token",
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "wrong password"),
            ],
        )
        .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = spawn_app().await;
    let first = app.user_with_tokens("default", "bob").await;
    let r1 = first["refresh_token"].as_str().unwrap();

    let r = app.refresh("default", r1).await;
    assert_eq!(r.status(), StatusCode::OK);
    let second: Value = r.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "refresh tokens rotate on every use");
    let (c1, c2) = (
        claims_of(first["access_token"].as_str().unwrap()),
        claims_of(second["access_token"].as_str().unwrap()),
    );
    assert_eq!(c1["sid"], c2["sid"], "same session");
    assert_ne!(c1["jti"], c2["jti"]);

    // Replaying r1: reuse detected, the whole session is revoked...
    let r = app.refresh("default", r1).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );

    // ...so the legitimate successor r2 no longer works either.
    let r = app.refresh("default", r2).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    let tokens = app.user_with_tokens("default", "carol").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    // Read the raw database file: the token text must not be in it.
    let db = std::fs::read_dir(app.db_dir()).unwrap();
    for entry in db {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows(refresh.len())
                .any(|w| w == refresh.as_bytes())
        );
    }
}

#[tokio::test]
async fn a_refresh_token_works_only_at_its_own_tenant() {
    let app = spawn_app().await;
    app.create_tenant("other", "EdDSA").await;
    let tokens = app.user_with_tokens("default", "dave").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let r = app.refresh("other", refresh).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
    // Still usable at home: the wrong-tenant attempt did not consume it.
    let r = app.refresh("default", refresh).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn grant_errors_follow_rfc6749() {
    let app = spawn_app().await;
    // Client credentials need an authenticated client (RFC 6749 §4.4.2).
    let r = app
        .post_form("/t/default/token", &[("grant_type", "client_credentials")])
        .await;
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_client"
    );
    let r = app
        .post_form("/t/default/token", &[("grant_type", "implicit")])
        .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "unsupported_grant_type"
    );
    let r = app
        .post_form("/t/default/token", &[("username", "x")])
        .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_request"
    );
    let r = app
        .post_form("/t/default/token", &[("grant_type", "refresh_token")])
        .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_request"
    );
    let r = app.refresh("default", "made-up").await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
    // JSON is not what RFC 6749 specifies for this endpoint.
    let r = app
        .post_json(
            "/t/default/token",
            &serde_json::json!({"grant_type": "password"}),
        )
        .await;
    assert_eq!(
        error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "invalid_request"
    );
}

#[tokio::test]
async fn refresh_fails_after_the_session_expires() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        manual_clock: true,
        ..crate::helpers::Options::default()
    })
    .await;
    let tokens = app.user_with_tokens("default", "erin").await;
    // Default refresh-token lifetime is 14 days.
    app.clock.as_ref().unwrap().advance(15 * 24 * 3600);
    let r = app
        .refresh("default", tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
}
