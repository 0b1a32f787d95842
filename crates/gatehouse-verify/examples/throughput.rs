//! Verifications per second through the `CurrentUser` extractor and the
//! `AuthLayer`, against the raw verifier (`gatehouse_jwt::verify_access_token`)
//! and `Verifier::verify`, on one thread, per algorithm.
//!
//! The verifier fetches its keys from a JWKS server on 127.0.0.1 (the
//! remote cache's hot path is what is measured); the extractor and the
//! layer are driven in process through the router (`tower::Service`), so
//! the numbers are verification plus axum's routing, without sockets.
//!
//! ```sh
//! cargo run --release -p gatehouse-verify --example throughput [-- ITERATIONS]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../gatehouse-jwt/tests/common/mod.rs"]
mod keys;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Extension, Router};
use gatehouse_jwt::{DEFAULT_LEEWAY_SECS, KeySet, SigningAlgorithm, verify_access_token};
use gatehouse_verify::{CurrentUser, Verifier};
use tower::{Service, ServiceExt};

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("{iterations} verifications per cell, one thread, one run\n");
    println!(
        "| algorithm | raw verifier /s | Verifier::verify /s | CurrentUser extractor /s | AuthLayer /s | extractor cost over raw |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for alg in [
        SigningAlgorithm::RS256,
        SigningAlgorithm::ES256,
        SigningAlgorithm::EdDSA,
    ] {
        runtime.block_on(measure(alg, iterations));
    }
}

async fn measure(alg: SigningAlgorithm, n: u32) {
    let key = keys::generate(alg);
    let jwks = keys::jwks_json(&[&key]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let iss = format!("http://{}/t/bench", listener.local_addr().unwrap());
    let served = jwks.clone();
    tokio::spawn(async move {
        let app = Router::new().route(
            "/t/bench/.well-known/jwks.json",
            get(move || {
                let body = served.clone();
                async move { ([(header::CACHE_CONTROL, "max-age=300")], body) }
            }),
        );
        axum::serve(listener, app).await.unwrap();
    });
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = serde_json::json!({
        "iss": iss, "sub": "user-1", "aud": iss, "exp": secs + 3600, "iat": secs,
        "nbf": secs, "jti": "jti-1", "client_id": "client-1", "sid": "session-1",
        "scope": "openid profile email", "preferred_username": "alice",
        "email": "alice@example.com", "roles": ["editor"],
    });
    let token = key.sign(&claims);

    // 1. The raw verifier over the same key set.
    let raw_keys = KeySet::from_jwks(
        &iss,
        vec![iss.clone()],
        &serde_json::from_str(&jwks).unwrap(),
    );
    let raw = rate(n, || {
        verify_access_token(&raw_keys, &token, secs, DEFAULT_LEEWAY_SECS).unwrap();
    });

    // 2. Verifier::verify, keys from the remote cache.
    let verifier = Verifier::builder(&iss)
        .jwks_url(format!("{iss}/.well-known/jwks.json"))
        .build()
        .unwrap();
    verifier.refresh().await.unwrap();
    let start = Instant::now();
    for _ in 0..n {
        verifier.verify(&token).await.unwrap();
    }
    let through_verifier = per_second(n, start.elapsed());

    // 3. The extractor, and 4. the layer, through axum's router.
    let extractor = Router::new()
        .route(
            "/me",
            get(|user: CurrentUser| async move { user.id().len().to_string() }),
        )
        .with_state(verifier.clone());
    let layer =
        Router::new()
            .route(
                "/me",
                get(|Extension(user): Extension<CurrentUser>| async move {
                    user.id().len().to_string()
                }),
            )
            .route_layer(verifier.layer());
    let through_extractor = drive(extractor, &token, n).await;
    let through_layer = drive(layer, &token, n).await;
    let overhead_us = 1e6 / through_extractor - 1e6 / raw;
    println!(
        "| {alg} | {raw:.0} | {through_verifier:.0} | {through_extractor:.0} | {through_layer:.0} | {overhead_us:+.1} µs ({:.0}%) |",
        100.0 * (raw / through_extractor - 1.0)
    );
    assert_eq!(verifier.key_cache_stats().jwks_requests, 1);
}

async fn drive(router: Router, token: &str, n: u32) -> f64 {
    let mut service = router.into_service::<Body>();
    let authorization = format!("Bearer {token}");
    let start = Instant::now();
    for _ in 0..n {
        let request = Request::get("/me")
            .header(header::AUTHORIZATION, &authorization)
            .body(Body::empty())
            .unwrap();
        let response = service.ready().await.unwrap().call(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        axum::body::to_bytes(response.into_body(), 64)
            .await
            .unwrap();
    }
    per_second(n, start.elapsed())
}

fn rate(n: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    per_second(n, start.elapsed())
}

fn per_second(n: u32, elapsed: Duration) -> f64 {
    f64::from(n) / elapsed.as_secs_f64()
}
