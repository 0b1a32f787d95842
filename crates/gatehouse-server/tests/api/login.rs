use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, claims_of, error_code, header_of, spawn_app};

#[tokio::test]
async fn login_returns_an_rfc9068_access_token_and_a_refresh_token() {
    let app = spawn_app().await;
    let r = app
        .post_json(
            "/t/default/register",
            &json!({"username": "alice", "password": PASSWORD, "email": "alice@example.com",
                    "first_name": "Alice", "last_name": "Liddell"}),
        )
        .await;
    let user: Value = r.json().await.unwrap();

    let r = app
        .post_json(
            "/t/default/login",
            &json!({"username": "ALICE", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert_eq!(tokens["scope"], "openid profile email");
    assert_eq!(tokens["refresh_token"].as_str().unwrap().len(), 43);

    let jwt = tokens["access_token"].as_str().unwrap();
    let header = header_of(jwt);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());

    let c = claims_of(jwt);
    let iss = app.iss("default");
    assert_eq!(c["iss"], iss.as_str());
    assert_eq!(c["aud"], iss.as_str());
    assert_eq!(c["sub"], user["id"]);
    assert_eq!(c["preferred_username"], "alice");
    assert_eq!(c["email"], "alice@example.com");
    assert_eq!(c["given_name"], "Alice");
    assert_eq!(c["family_name"], "Liddell");
    assert_eq!(c["client_id"], "gatehouse");
    assert_eq!(c["roles"], json!([]));
    assert!(c["jti"].is_string() && c["sid"].is_string());
    let (iat, nbf, exp) = (
        c["iat"].as_i64().unwrap(),
        c["nbf"].as_i64().unwrap(),
        c["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 900);
    assert_eq!(nbf, iat);
}

#[tokio::test]
async fn login_by_email_and_with_a_requested_scope() {
    let app = spawn_app().await;
    app.register("default", "bob").await;
    // A scope beyond the OIDC ones is granted only to holders of the role
    // of that name.
    let r = app
        .post_json(
            "/t/default/login",
            &json!({"email": "bob@example.com", "password": PASSWORD, "scope": "openid orders:read"}),
        )
        .await;
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid");
    let r = app
        .admin(
            reqwest::Method::PUT,
            "/admin/t/default/users/bob/roles/orders:read",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post_json(
            "/t/default/login",
            &json!({"email": "BOB@example.com", "password": PASSWORD, "scope": "openid orders:read"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid orders:read");
    assert_eq!(
        claims_of(tokens["access_token"].as_str().unwrap())["scope"],
        "openid orders:read"
    );

    let r = app
        .post_json(
            "/t/default/login",
            &json!({"email": "bob@example.com", "password": PASSWORD, "scope": "a\"b"}),
        )
        .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_request"
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_alike_and_do_the_same_work() {
    let app = spawn_app().await;
    app.register("default", "carol").await;

    let before = app.hasher.verify_count();
    let wrong_password = app
        .post_json(
            "/t/default/login",
            &json!({"username": "carol", "password": "not the password"}),
        )
        .await;
    assert_eq!(
        app.hasher.verify_count() - before,
        1,
        "one verification for a known user"
    );

    let before = app.hasher.verify_count();
    let unknown_user = app
        .post_json(
            "/t/default/login",
            &json!({"username": "nobody", "password": "not the password"}),
        )
        .await;
    assert_eq!(
        app.hasher.verify_count() - before,
        1,
        "one verification for an unknown user"
    );

    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_user.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong_password.headers().contains_key("www-authenticate"));
    let a = wrong_password.text().await.unwrap();
    let b = unknown_user.text().await.unwrap();
    assert_eq!(a, b, "bodies must not tell the cases apart");
}

#[tokio::test]
async fn login_needs_a_username_or_an_email() {
    let app = spawn_app().await;
    let r = app
        .post_json("/t/default/login", &json!({"password": PASSWORD}))
        .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_request"
    );
}
