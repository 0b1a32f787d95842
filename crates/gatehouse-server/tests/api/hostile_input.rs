//! Odd and hostile input: none of it may produce a 5xx, a panic or a trace.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app};

fn assert_client_error(status: StatusCode, what: &str) {
    assert!(status.is_client_error(), "{what}: got {status}");
}

#[tokio::test]
async fn sql_metacharacters_and_nul_bytes_are_just_data() {
    let app = spawn_app().await;
    let sneaky = "robert');DROP--TABLE--users;";
    assert_eq!(
        app.post_json(
            "/t/default/register",
            &json!({"username": sneaky, "password": PASSWORD})
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let r = app
        .post_json(
            "/t/default/login",
            &json!({"username": sneaky, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    for login in ["' OR '1'='1", "\" OR 1=1 --", "%", "_"] {
        let r = app
            .post_json(
                "/t/default/login",
                &json!({"username": login, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{login}");
    }
    let r = app
        .post_json(
            "/t/default/register",
            &json!({"username": "nul\u{0}byte", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .post_json(
            "/t/default/register",
            &json!({"username": "okname", "password": "pass\u{0}word!"}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "passwords may contain any character"
    );
}

#[tokio::test]
async fn invalid_utf8_and_garbage_bodies_are_400() {
    let app = spawn_app().await;
    for body in [
        &b"\xff\xfe\xfd"[..],
        b"{\"username\": \"\xc3\x28\", \"password\": \"12345678\"}",
        b"[]",
        b"null",
        b"",
        b"{\"username\": {\"$gt\": \"\"}, \"password\": \"x\"}",
    ] {
        for path in ["/t/default/register", "/t/default/login"] {
            let r = app.post_as(path, "application/json", body.to_vec()).await;
            assert_client_error(r.status(), path);
        }
    }
    let r = app
        .post_as(
            "/t/default/token",
            "application/x-www-form-urlencoded",
            &b"grant_type=%ff%fe&refresh_token=\xff"[..],
        )
        .await;
    assert_client_error(r.status(), "form");
}

#[tokio::test]
async fn huge_headers_and_tokens_are_refused_without_a_server_error() {
    let app = spawn_app().await;
    // 10 MB header: hyper refuses it (431) or closes the connection; either
    // way nothing reaches a handler and the server keeps serving.
    let huge = "a".repeat(10 * 1024 * 1024);
    if let Ok(r) = app
        .client
        .get(format!("{}/t/default/auth", app.base))
        .header("authorization", format!("Bearer {huge}"))
        .send()
        .await
    {
        assert_client_error(r.status(), "10 MB header");
    }
    let big_token = format!(
        "{}.{}.{}",
        "a".repeat(6000),
        "b".repeat(6000),
        "c".repeat(100)
    );
    let r = app.get_with_bearer("/t/default/auth", &big_token).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn odd_paths_and_headers_are_client_errors() {
    let app = spawn_app().await;
    for path in [
        "/t//register",
        "/t/%00/auth",
        "/t/default/../../etc/passwd",
        "/t/default/.well-known/jwks.json/../../x",
        "/admin/tenants/../../t/default/auth",
        &format!("/t/{}/auth", "a".repeat(5000)),
    ] {
        let r = app.get(path).await;
        assert_client_error(r.status(), path);
    }
    for auth in [
        "Bearer",
        "Bearer ",
        "Basic Zm9vOmJhcg==",
        "bearer    x.y.z",
        "Bearer \u{7f}",
    ] {
        let r = app
            .client
            .get(format!("{}/t/default/auth", app.base))
            .header("authorization", auth)
            .send()
            .await;
        if let Ok(r) = r {
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        }
    }
}
