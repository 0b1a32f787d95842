use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, error_code, spawn_app};

async fn refresh_status(app: &TestApp, refresh: &str) -> StatusCode {
    app.refresh("default", refresh).await.status()
}

#[tokio::test]
async fn logout_with_the_access_token_ends_the_session() {
    let app = spawn_app().await;
    let tokens = app.user_with_tokens("default", "alice").await;
    let r = app
        .post_with_bearer(
            "/t/default/logout",
            tokens["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        refresh_status(&app, tokens["refresh_token"].as_str().unwrap()).await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn logout_with_the_refresh_token_ends_the_session() {
    let app = spawn_app().await;
    let a = app.user_with_tokens("default", "bob").await;
    let b = app.login("default", "bob").await; // a second, independent session

    let r = app
        .post_json(
            "/t/default/logout",
            &json!({"refresh_token": a["refresh_token"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        refresh_status(&app, a["refresh_token"].as_str().unwrap()).await,
        StatusCode::BAD_REQUEST
    );
    // Other sessions of the same user are untouched.
    assert_eq!(
        refresh_status(&app, b["refresh_token"].as_str().unwrap()).await,
        StatusCode::OK
    );

    // The refresh token as a bearer works too.
    let c = app.login("default", "bob").await;
    let r = app
        .post_with_bearer("/t/default/logout", c["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        refresh_status(&app, c["refresh_token"].as_str().unwrap()).await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn logout_without_a_token_or_with_a_forged_one_is_refused() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(format!("{}/t/default/logout", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    let r = app
        .post_with_bearer("/t/default/logout", "aaa.bbb.ccc")
        .await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );
}
