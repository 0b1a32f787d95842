//! The concurrency rules, over HTTP, on every configured backend: SQLite
//! always, PostgreSQL and MySQL/MariaDB when CI's variables name them.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, created_and_conflicts, on_every_backend};

#[tokio::test]
async fn fifty_registrations_of_one_name_one_winner_on_every_backend() {
    on_every_backend(|backend, app| async move {
        let statuses = join_all((0..50).map(|i| {
            let app = &app;
            async move {
                app.post_json(
                    "/t/default/register",
                    &json!({"username": if i % 2 == 0 { "Zoe" } else { "zoe" }, "password": PASSWORD}),
                )
                .await
                .status()
            }
        }))
        .await;
        assert_eq!(
            created_and_conflicts(&statuses),
            (1, 49),
            "{backend}: {statuses:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn twenty_uses_of_one_refresh_token_revoke_the_session_on_every_backend() {
    on_every_backend(|backend, app| async move {
        let tokens = app.user_with_tokens("default", "yann").await;
        let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
        let responses = join_all((0..20).map(|_| {
            let app = &app;
            let refresh = refresh.clone();
            async move {
                let r = app.refresh("default", &refresh).await;
                let status = r.status();
                let body: serde_json::Value = r.json().await.unwrap();
                (status, body)
            }
        }))
        .await;
        let issued: Vec<_> = responses
            .iter()
            .filter(|(s, _)| *s == StatusCode::OK)
            .collect();
        assert!(issued.len() <= 1, "{backend}: at most one new token pair");
        assert!(
            responses
                .iter()
                .all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST),
            "{backend}: no 5xx under contention: {responses:?}"
        );
        // Reuse was detected, so the whole session is gone, new pair included.
        for (_, body) in issued {
            let r = app
                .refresh("default", body["refresh_token"].as_str().unwrap())
                .await;
            assert_eq!(
                r.status(),
                StatusCode::BAD_REQUEST,
                "{backend}: the session was revoked"
            );
        }
    })
    .await;
}
