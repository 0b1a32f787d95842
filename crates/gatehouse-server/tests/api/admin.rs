use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Options, error_code, spawn_app, spawn_app_with};

#[tokio::test]
async fn admin_api_is_closed_without_a_configured_token() {
    let app = spawn_app_with(Options::default()).await;
    let r = app.get_with_bearer("/admin/tenants", "anything").await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "admin_disabled");
}

#[tokio::test]
async fn admin_api_needs_the_right_token() {
    let app = spawn_app().await;
    let r = app.get("/admin/tenants").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    let r = app.get_with_bearer("/admin/tenants", "wrong-token").await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );
}

#[tokio::test]
async fn tenants_are_created_listed_and_validated() {
    let app = spawn_app().await;
    let create = |body: Value| app.admin(Method::POST, "/admin/tenants", Some(body));
    let r = create(
        json!({"name": "acme", "algorithm": "ES256", "access_ttl": "1h",
                          "audiences": ["https://api.acme.test"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["algorithm"], "ES256");
    assert_eq!(t["access_ttl_secs"], 3600);
    assert_eq!(t["issuer"], app.iss("acme"));

    assert_eq!(
        error_code(create(json!({"name": "acme"})).await, StatusCode::CONFLICT).await,
        "conflict"
    );
    for bad in [
        json!({"name": "Acme"}),
        json!({"name": ""}),
        json!({"name": "a".repeat(64)}),
        json!({"name": "ok", "algorithm": "none"}),
        json!({"name": "ok", "algorithm": "HS512"}),
        json!({"name": "ok", "access_ttl": "forever"}),
        json!({"name": "ok", "access_ttl": "1s"}),
    ] {
        assert_eq!(
            error_code(create(bad.clone()).await, StatusCode::BAD_REQUEST).await,
            "invalid_request",
            "{bad}"
        );
    }

    // The audience is what tokens carry and what /auth demands.
    let tokens = app.user_with_tokens("acme", "alice").await;
    let claims = crate::helpers::claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "https://api.acme.test");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );

    let r = app.admin(Method::GET, "/admin/tenants", None).await;
    let names: Vec<String> = r
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["acme", "default"]);
}
