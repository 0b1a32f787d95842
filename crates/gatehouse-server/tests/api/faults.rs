//! The database goes away and comes back: readiness turns 503, requests
//! that need the store get 503 `temporarily_unavailable` within the
//! configured timeout, `/auth` keeps answering from the key cache, and
//! service resumes by itself. Run against each server backend configured
//! for the test run (PostgreSQL, MySQL), through a proxy the test cuts.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Options, error_code, spawn_app_with};
use crate::proxy::CuttableProxy;

const DB_TIMEOUT: Duration = Duration::from_secs(2);

/// `url` with its host and port replaced by the proxy's.
fn through(url: &str, proxy_port: u16) -> (String, String) {
    let mut u = reqwest::Url::parse(url).unwrap();
    let upstream = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap());
    u.set_host(Some("127.0.0.1")).unwrap();
    u.set_port(Some(proxy_port)).unwrap();
    (u.to_string(), upstream)
}

#[tokio::test]
async fn the_database_goes_away_and_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, db) in gatehouse_store::testing::test_databases(dir.path()).await {
        if backend == "sqlite" {
            continue; // embedded: there is no server to lose
        }
        if backend == "dynamodb" {
            continue; // an endpoint, not a host:port URL: see dynamodb.rs
        }
        let upstream = {
            let u = reqwest::Url::parse(&db.url).unwrap();
            format!("{}:{}", u.host_str().unwrap(), u.port().unwrap())
        };
        let proxy = CuttableProxy::start(upstream).await;
        let (url, _) = through(&db.url, proxy.port);
        let app = spawn_app_with(Options {
            database_url: Some(url),
            db_timeout: Some(DB_TIMEOUT),
            ..Options::default()
        })
        .await;
        let tokens = app.user_with_tokens("default", "olga").await;
        let jwt = tokens["access_token"].as_str().unwrap().to_string();

        proxy.cut().await;

        let started = Instant::now();
        let r = app.get("/readyz").await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{backend}");
        let r = app.register("default", "pavel").await;
        assert_eq!(
            error_code(r, StatusCode::SERVICE_UNAVAILABLE).await,
            "temporarily_unavailable",
            "{backend}"
        );
        let r = app
            .refresh("default", tokens["refresh_token"].as_str().unwrap())
            .await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{backend}");
        assert!(
            started.elapsed() < 3 * (DB_TIMEOUT + Duration::from_secs(1)),
            "{backend}: answers came within the timeout, not a hang ({:?})",
            started.elapsed()
        );
        // Verification needs only the cached public keys.
        assert_eq!(
            app.get_with_bearer("/t/default/auth", &jwt).await.status(),
            StatusCode::OK,
            "{backend}"
        );

        // A database that accepts connections but never answers: every
        // request still ends, as a 503, around the configured timeout.
        proxy.restore().await;
        proxy.stall().await;
        let started = Instant::now();
        let r = app.register("default", "quinn").await;
        let waited = started.elapsed();
        assert_eq!(
            error_code(r, StatusCode::SERVICE_UNAVAILABLE).await,
            "temporarily_unavailable",
            "{backend}"
        );
        assert!(
            waited >= DB_TIMEOUT / 2 && waited < DB_TIMEOUT * 2 + Duration::from_secs(1),
            "{backend}: a hung database answered after {waited:?} (timeout {DB_TIMEOUT:?})"
        );
        assert_eq!(
            app.get_with_bearer("/t/default/auth", &jwt).await.status(),
            StatusCode::OK,
            "{backend}"
        );

        proxy.restore().await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while app.get("/readyz").await.status() != StatusCode::OK {
            assert!(
                Instant::now() < deadline,
                "{backend}: did not recover by itself"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let r = app.register("default", "pavel").await;
        assert_eq!(r.status(), StatusCode::CREATED, "{backend}");
        let r = app
            .refresh("default", tokens["refresh_token"].as_str().unwrap())
            .await;
        let body: Value = r.json().await.unwrap();
        assert!(
            body["access_token"].is_string(),
            "{backend}: the refresh token survived the outage: {body}"
        );

        drop(app);
        drop(proxy);
        db.cleanup().await;
    }
}
