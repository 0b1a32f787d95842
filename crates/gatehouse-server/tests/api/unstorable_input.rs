//! Input the database cannot store (a NUL, which PostgreSQL refuses; text
//! longer than a column) and names the username profile refuses, on every
//! configured backend: SQLite always, PostgreSQL and MariaDB/MySQL when
//! their variables are set. Never a 5xx; a login with such a name is an
//! ordinary failed login, with the same answer and the same one password
//! verification as for an unknown user.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_code, on_every_backend};

const NUL_NAME: &str = "a\u{0}b";

#[tokio::test]
async fn nul_byte_login_and_register_are_client_errors_on_every_backend() {
    on_every_backend(|backend, app| async move {
        assert_eq!(
            app.register("default", "known").await.status(),
            StatusCode::CREATED
        );

        let r = app
            .post_json(
                "/t/default/register",
                &json!({"username": NUL_NAME, "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            error_code(r, StatusCode::BAD_REQUEST).await,
            "invalid_request",
            "{backend}"
        );
        for (field, value) in [
            ("email", "a\u{0}b@example.com"),
            ("first_name", NUL_NAME),
            ("last_name", NUL_NAME),
        ] {
            let r = app
                .post_json(
                    "/t/default/register",
                    &json!({"username": "fine", "password": PASSWORD, field: value}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{backend}: {field}");
        }

        // The login: the answer of an unknown user, after the one dummy
        // verification an unknown user costs.
        for body in [
            json!({"username": NUL_NAME, "password": "longenough1"}),
            json!({"email": "a\u{0}b@example.com", "password": "longenough1"}),
            json!({"username": "known\u{0}", "password": PASSWORD}),
            json!({"username": "x".repeat(5000), "password": PASSWORD}),
            json!({"username": "unknown-user", "password": PASSWORD}),
        ] {
            let before = app.hasher.verify_count();
            let r = app.post_json("/t/default/login", &body).await;
            assert_eq!(
                error_code(r, StatusCode::UNAUTHORIZED).await,
                "invalid_grant",
                "{backend}: {body}"
            );
            assert_eq!(app.hasher.verify_count() - before, 1, "{backend}: {body}");
        }
        // A NUL in a known user's password is just a wrong password.
        let r = app
            .post_json(
                "/t/default/login",
                &json!({"username": "known", "password": "pass\u{0}word"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{backend}");

        // The token endpoint's password grant: RFC 6749 §5.2 invalid_grant.
        let r = app
            .post_form(
                "/t/default/token",
                &[
                    ("grant_type", "password"),
                    ("username", NUL_NAME),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(
            error_code(r, StatusCode::BAD_REQUEST).await,
            "invalid_grant",
            "{backend}"
        );

        // The compat logins answer as they do for any wrong login.
        let r = app
            .post_json(
                "/t/default/compat/openfaas/login",
                &json!({"username": NUL_NAME, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{backend}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "Invalid username/password", "{backend}");
        let r = app
            .post_json(
                "/t/default/compat/openfaas/register",
                &json!({"username": NUL_NAME, "password": PASSWORD, "email": "n@example.com"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{backend}");
        let r = app
            .post_json(
                "/user_token",
                &json!({"auth": {"email": "a\u{0}b@example.com", "password": PASSWORD}}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "{backend}: knock's answer"
        );
        let r = app
            .post_json(
                "/login",
                &json!({"domain": "default", "username": NUL_NAME, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{backend}");
        let r = app
            .post_json(
                "/login",
                &json!({"domain": "def\u{0}ault", "username": "known", "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{backend}");

        // A NUL in a tenant path segment: no such tenant.
        for path in ["/admin/t/a%00b/keys", "/admin/t/default%00/keys"] {
            let r = app.admin(reqwest::Method::GET, path, None).await;
            assert_eq!(
                error_code(r, StatusCode::NOT_FOUND).await,
                "tenant_not_found",
                "{backend}: {path}"
            );
        }
        let r = app
            .admin(reqwest::Method::POST, "/admin/t/a%00b/keys/rotate", None)
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{backend}");
        let r = app
            .post_json(
                "/t/a%00b/login",
                &json!({"username": "known", "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{backend}");

        // And the known user still logs in: nothing was disturbed.
        app.login("default", "known").await;
    })
    .await;
}

#[tokio::test]
async fn over_long_values_are_400_on_every_backend() {
    on_every_backend(|backend, app| async move {
        for (field, value) in [
            ("username", "u".repeat(65)),
            ("username", "é".repeat(200)),
            ("email", format!("{}@example.com", "e".repeat(300))),
            ("first_name", "f".repeat(129)),
            ("last_name", "😀".repeat(129)),
        ] {
            let mut body = json!({"username": "longname", "password": PASSWORD});
            body[field] = Value::String(value);
            let r = app.post_json("/t/default/register", &body).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{backend}: {field}");
        }
        // At the limits, characters count, not bytes; non-BMP text is kept.
        let r = app
            .post_json(
                "/t/default/register",
                &json!({
                    "username": "é".repeat(64),
                    "password": PASSWORD,
                    "first_name": "😀".repeat(128),
                    "email": format!("{}@example.com", "ü".repeat(100)),
                }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{backend}");
        let user: Value = r.json().await.unwrap();
        assert_eq!(user["first_name"], "😀".repeat(128), "{backend}");
    })
    .await;
}

#[tokio::test]
async fn usernames_follow_the_precis_username_profile_on_every_backend() {
    on_every_backend(|backend, app| async move {
        assert_eq!(app.register("default", "admin").await.status(), StatusCode::CREATED);
        // Bidi controls, invisible characters and controls are no part of
        // a username: `admin\u{202e}` cannot pass for `admin`.
        for bad in ["admin\u{202e}", "\u{202e}nimda", "ad\u{200b}min", "admin\u{feff}", "ad\u{7}min"] {
            let r = app
                .post_json(
                    "/t/default/register",
                    &json!({"username": bad, "password": PASSWORD}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{backend}: {bad:?}");
            let body: Value = r.json().await.unwrap();
            assert!(
                body["error_description"].as_str().unwrap().contains("bidi"),
                "{backend}: {body}"
            );
            // ... and logging in with one is a failed login, never admin's.
            let r = app
                .post_json(
                    "/t/default/login",
                    &json!({"username": bad, "password": PASSWORD}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{backend}: {bad:?}");
        }
        // Fullwidth letters are their ASCII twins (RFC 8265 width mapping).
        let r = app
            .post_json(
                "/t/default/register",
                &json!({"username": "ａｄｍｉｎ", "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{backend}");
        let tokens = app.login("default", "ＡＤＭＩＮ").await;
        let claims = crate::helpers::claims_of(tokens["access_token"].as_str().unwrap());
        assert_eq!(claims["preferred_username"], "admin", "{backend}");

        // NFC: `e` + combining acute is `é`, stored composed.
        let r = app
            .post_json(
                "/t/default/register",
                &json!({"username": "e\u{301}", "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{backend}");
        let user: Value = r.json().await.unwrap();
        assert_eq!(user["username"], "é", "{backend}");
        let r = app
            .post_json(
                "/t/default/register",
                &json!({"username": "é", "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{backend}");
        app.login("default", "É").await;
        app.login("default", "E\u{301}").await;

        // Emails: NFC and case-insensitive too.
        let r = app
            .post_json(
                "/t/default/register",
                &json!({"username": "zoe", "password": PASSWORD, "email": "zoe\u{308}@example.com"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{backend}");
        let r = app
            .post_json(
                "/t/default/login",
                &json!({"email": "ZOË@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{backend}");
    })
    .await;
}

/// JSON's `\ud800` escape names half a character: no string holds it, so
/// the body is not valid text and the answer is a 400, on every route
/// that reads a name.
#[tokio::test]
async fn lone_surrogate_escapes_are_400() {
    on_every_backend(|backend, app| async move {
        for path in [
            "/t/default/register",
            "/t/default/login",
            "/t/default/compat/openfaas/register",
            "/t/default/compat/openfaas/login",
            "/login",
        ] {
            let domain = if path == "/login" {
                r#", "domain": "default""#
            } else {
                ""
            };
            for body in [
                format!(r#"{{"username": "a\ud800b", "password": "longenough1"{domain}}}"#),
                format!(r#"{{"username": "ok", "password": "longenough1\udfff"{domain}}}"#),
                format!(r#"{{"username": "\ud800\u0041", "password": "longenough1"{domain}}}"#),
            ] {
                let r = app.post_as(path, "application/json", body.clone()).await;
                assert_eq!(
                    r.status(),
                    StatusCode::BAD_REQUEST,
                    "{backend}: {path} {body}"
                );
            }
        }
    })
    .await;
}
