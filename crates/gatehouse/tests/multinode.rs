//! Two `gatehouse serve` processes on one PostgreSQL database, as in a
//! scaled-out deployment behind a load balancer (one public URL). Needs
//! `GATEHOUSE_TEST_POSTGRES_URL` (CI sets it; without it the test skips).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::serve;
use serde_json::{Value, json};

const MASTER_KEY: &str = "bXVsdGktbm9kZS10ZXN0LW1hc3Rlci1rZXktMzItYnk";
const ADMIN: &str = "multi-node-admin-token";
/// The documented bound on how late another node sees a key change: its
/// keyring cache TTL (60 s by default; 2 s here to keep the test short).
const CACHE_TTL_SECS: u64 = 2;

fn tokens_kid(tokens: &Value) -> String {
    use base64::Engine;
    let jwt = tokens["access_token"].as_str().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwt.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn two_nodes_share_users_sessions_and_keys() {
    let Ok(base) = std::env::var(gatehouse_store::testing::POSTGRES_VAR) else {
        eprintln!("skipped: GATEHOUSE_TEST_POSTGRES_URL is not set");
        return;
    };
    let db = gatehouse_store::testing::fresh_postgres(&base).await;
    let dir = tempfile::tempdir().unwrap();
    let ttl = format!("{CACHE_TTL_SECS}s");
    let env = [
        ("GATEHOUSE_DATABASE_URL", db.url.as_str()),
        ("GATEHOUSE_MASTER_KEY", MASTER_KEY),
        ("GATEHOUSE_ADMIN_TOKEN", ADMIN),
        ("GATEHOUSE_PUBLIC_URL", "https://auth.example.test"),
        ("GATEHOUSE_KEYRING_CACHE_TTL", ttl.as_str()),
    ];
    let a = serve(dir.path(), &[], &env);
    let b = serve(dir.path(), &[], &env);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let at = |node: &common::Server, path: &str| format!("{}/t/default{path}", node.base);

    // A user registered on A logs in on B.
    let r = http
        .post(at(&a, "/register"))
        .json(&json!({"username": "nina", "password": "a long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let login = |node: &common::Server| {
        http.post(at(node, "/login"))
            .json(&json!({"username": "nina", "password": "a long password"}))
            .send()
    };
    let on_b: Value = login(&b).await.unwrap().json().await.unwrap();
    assert!(on_b["access_token"].is_string());

    // A refresh token issued by A is rotated on B; the token B issues verifies on A.
    let on_a: Value = login(&a).await.unwrap().json().await.unwrap();
    let r = http
        .post(at(&b, "/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", on_a["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rotated: Value = r.json().await.unwrap();
    let r = http
        .get(at(&a, "/auth"))
        .bearer_auth(rotated["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A session logged out on A cannot be refreshed on B.
    let r = http
        .post(at(&a, "/logout"))
        .bearer_auth(rotated["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http
        .post(at(&b, "/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rotated["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // A key rotated on A appears in B's JWKS, and B signs with it, within
    // B's keyring cache TTL.
    let old_kid = tokens_kid(&on_b);
    let r = http
        .post(format!("{}/admin/t/default/keys/rotate", a.base))
        .bearer_auth(ADMIN)
        .json(&json!({"immediately": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let new_kid = r.json::<Value>().await.unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let rotated_at = Instant::now();
    loop {
        let jwks: Value = http
            .get(at(&b, "/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        let signs_new = tokens_kid(&login(&b).await.unwrap().json().await.unwrap()) == new_kid;
        if kids.contains(&new_kid.as_str()) && signs_new {
            assert!(
                kids.contains(&old_kid.as_str()),
                "the retired key stays published"
            );
            break;
        }
        assert!(
            rotated_at.elapsed() <= Duration::from_secs(CACHE_TTL_SECS + 3),
            "B did not pick up the new key within its cache TTL"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    drop((a, b));
    db.cleanup().await;
}
