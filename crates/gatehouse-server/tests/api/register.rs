use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, created_and_conflicts, error_code, spawn_app};

#[tokio::test]
async fn register_returns_the_user_without_its_hash() {
    let app = spawn_app().await;
    let r = app
        .post_json(
            "/t/default/register",
            &json!({"username": "Alice", "password": PASSWORD, "email": "alice@example.com",
                    "first_name": "Alice", "last_name": "Liddell"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let text = r.text().await.unwrap();
    assert!(
        !text.contains("argon2") && !text.contains("password"),
        "{text}"
    );
    let user: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(user["username"], "Alice");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["first_name"], "Alice");
    assert!(user["id"].as_str().unwrap().len() >= 32);
    assert_eq!(
        app.hasher.hashes.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[tokio::test]
async fn usernames_and_emails_are_unique_case_insensitively() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("default", "bob").await.status(),
        StatusCode::CREATED
    );
    let dup = app
        .post_json(
            "/t/default/register",
            &json!({"username": "BOB", "password": PASSWORD}),
        )
        .await;
    assert_eq!(error_code(dup, StatusCode::CONFLICT).await, "conflict");
    let dup_email = app
        .post_json(
            "/t/default/register",
            &json!({"username": "robert", "password": PASSWORD, "email": "Bob@Example.com"}),
        )
        .await;
    assert_eq!(dup_email.status(), StatusCode::CONFLICT);
    let body: Value = dup_email.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("email")
    );
}

#[tokio::test]
async fn the_same_username_may_exist_in_two_tenants() {
    let app = spawn_app().await;
    app.create_tenant("other", "ES256").await;
    assert_eq!(
        app.register("default", "carol").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.register("other", "carol").await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn password_length_is_8_to_1024_characters() {
    let app = spawn_app().await;
    for (password, status) in [
        ("1234567".to_string(), StatusCode::BAD_REQUEST),
        // 8 characters, but none of the common breached passwords.
        ("k7#Qm2!z".to_string(), StatusCode::CREATED),
        ("x".repeat(1025), StatusCode::BAD_REQUEST),
    ] {
        let r = app
            .post_json(
                "/t/default/register",
                &json!({"username": format!("u{}", password.len()), "password": password}),
            )
            .await;
        assert_eq!(r.status(), status, "length {}", password.len());
    }
}

#[tokio::test]
async fn bad_bodies_get_400_415_413_naming_the_problem() {
    let app = spawn_app().await;
    // Malformed JSON
    let r = app
        .post_as("/t/default/register", "application/json", "{\"username\": ")
        .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_request"
    );

    // Missing field: the description names it
    let r = app
        .post_json("/t/default/register", &json!({"username": "dave"}))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{body}"
    );

    // Wrong type: the description names the field
    let r = app
        .post_json(
            "/t/default/register",
            &json!({"username": 42, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("username"),
        "{body}"
    );

    // A wrong-typed password is reported without echoing it
    let r = app
        .post_json(
            "/t/default/register",
            &json!({"username": "dave", "password": 98765432}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("password") && !text.contains("98765432"),
        "{text}"
    );

    // Unknown field (a typo) is reported, not ignored
    let r = app
        .post_json(
            "/t/default/register",
            &json!({"username": "dave", "password": PASSWORD, "emial": "d@x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Wrong content type
    let r = app.post_as("/t/default/register", "text/plain", "{}").await;
    assert_eq!(
        error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "invalid_request"
    );

    // Over 64 KiB
    let big = json!({"username": "x".repeat(70 * 1024), "password": PASSWORD});
    let r = app.post_json("/t/default/register", &big).await;
    assert_eq!(
        error_code(r, StatusCode::PAYLOAD_TOO_LARGE).await,
        "invalid_request"
    );
}

#[tokio::test]
async fn unknown_tenant_is_404_tenant_not_found() {
    let app = spawn_app().await;
    for tenant in ["nope", "Not-A-Valid-Name", "x%00y"] {
        let r = app.register(tenant, "erin").await;
        assert_eq!(
            error_code(r, StatusCode::NOT_FOUND).await,
            "tenant_not_found",
            "{tenant}"
        );
    }
}

#[tokio::test]
async fn simultaneous_registrations_of_one_username_have_one_winner() {
    let app = spawn_app().await;
    let attempts = 20;
    let results = join_all((0..attempts).map(|i| {
        let app = &app;
        async move {
            app.post_json(
                "/t/default/register",
                &json!({"username": "Frank", "password": format!("{PASSWORD}{i}")}),
            )
            .await
            .status()
        }
    }))
    .await;
    assert_eq!(
        created_and_conflicts(&results),
        (1, attempts - 1),
        "{results:?}"
    );
}
