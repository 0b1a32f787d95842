//! The remote key cache against a small issuer on 127.0.0.1 that counts
//! what it is asked: fetches bounded under a flood of unknown `kid`s, one
//! fetch for a rotated key, `Cache-Control` and `ETag` honoured, the
//! background refresh, the last good set served while the issuer is down
//! and refused after the bound, discovery, and HS256 shared secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gatehouse_jwt::{ACCESS_TOKEN_TYP, SigningAlgorithm};
use gatehouse_verify::{Clock, ManualClock, Reason, Verifier, VerifyError};
use serde_json::Value;
use support::{Issuer, TestKey, claims, generate, keys::random_token};
use tokio::task::JoinSet;

const INTERVAL: Duration = Duration::from_secs(10);

/// `claims` signed by `key` but naming `kid`.
fn sign_with_kid(key: &TestKey, kid: &str, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(key.alg.jsonwebtoken());
    header.typ = Some(ACCESS_TOKEN_TYP.to_string());
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

fn reason(result: Result<gatehouse_verify::AccessClaims, VerifyError>) -> Reason {
    match result {
        Err(VerifyError::Invalid(e)) => e.reason(),
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

async fn verifier_at(issuer: &Issuer, clock: &ManualClock) -> Verifier {
    Verifier::builder(issuer.iss())
        .jwks_url(issuer.jwks_url())
        .clock(clock.clone())
        .refetch_interval(INTERVAL)
        .max_stale(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// Waits (up to 5 s) until `check` holds: for work the verifier does in
/// the background.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_kids_costs_one_fetch_per_interval() {
    let key = generate(SigningAlgorithm::ES256);
    let issuer = Issuer::start(&[&key]).await;
    let clock = ManualClock::starting_now();
    let verifier = verifier_at(&issuer, &clock).await;
    let iss = issuer.iss();
    verifier
        .verify(&key.sign(&claims(&iss, clock.now())))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_requests(), 1);

    let flood = |n: usize| {
        let mut set = JoinSet::new();
        for _ in 0..n {
            let token = sign_with_kid(&key, &random_token::<12>(), &claims(&iss, clock.now()));
            let v = verifier.clone();
            set.spawn(async move { v.verify(&token).await });
        }
        set
    };
    for round in 1..=3 {
        // An interval has passed: the flood may cost one fetch, no more.
        clock.advance(INTERVAL + Duration::from_secs(1));
        let mut set = flood(500);
        while let Some(r) = set.join_next().await {
            assert_eq!(reason(r.unwrap()), Reason::UnknownKey);
        }
        assert_eq!(issuer.jwks_requests(), 1 + round, "round {round}");
        // Within the interval: nothing at all.
        let mut set = flood(500);
        while let Some(r) = set.join_next().await {
            assert_eq!(reason(r.unwrap()), Reason::UnknownKey);
        }
        assert_eq!(issuer.jwks_requests(), 1 + round, "round {round}");
    }
    // The honest token still passes, from the cache.
    verifier
        .verify(&key.sign(&claims(&iss, clock.now())))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_requests(), 4);
    assert_eq!(verifier.key_cache_stats().jwks_requests, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sustained_flood_on_the_real_clock_stays_bounded() {
    let key = generate(SigningAlgorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    let interval = Duration::from_millis(200);
    let verifier = Verifier::builder(issuer.iss())
        .jwks_url(issuer.jwks_url())
        .refetch_interval(interval)
        .build()
        .unwrap();
    verifier.refresh().await.unwrap();
    let iss = issuer.iss();
    let start = Instant::now();
    let mut sent = 0;
    while start.elapsed() < Duration::from_millis(1200) {
        let mut set = JoinSet::new();
        for _ in 0..50 {
            let token = sign_with_kid(
                &key,
                &random_token::<12>(),
                &claims(&iss, std::time::SystemTime::now()),
            );
            let v = verifier.clone();
            set.spawn(async move { v.verify(&token).await });
        }
        while let Some(r) = set.join_next().await {
            assert_eq!(reason(r.unwrap()), Reason::UnknownKey);
            sent += 1;
        }
    }
    let elapsed = start.elapsed();
    let allowed = 1 + (elapsed.as_millis() / interval.as_millis()) as usize + 1;
    let fetched = issuer.jwks_requests();
    println!("{sent} tokens with random kids in {elapsed:?}: {fetched} JWKS requests");
    assert!(
        sent >= 500,
        "the flood was too small to mean anything: {sent}"
    );
    assert!(
        fetched <= allowed,
        "{fetched} JWKS requests in {elapsed:?} (at most {allowed})"
    );
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once() {
    let old = generate(SigningAlgorithm::RS256);
    let new = generate(SigningAlgorithm::RS256);
    let issuer = Issuer::start(&[&old]).await;
    let clock = ManualClock::starting_now();
    let verifier = verifier_at(&issuer, &clock).await;
    let iss = issuer.iss();
    verifier
        .verify(&old.sign(&claims(&iss, clock.now())))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_requests(), 1);

    // Gatehouse publishes the new key and signs with it at once.
    issuer.publish(&[&new, &old], "v2");
    clock.advance(INTERVAL);
    let claims_new = verifier
        .verify(&new.sign(&claims(&iss, clock.now())))
        .await
        .unwrap();
    assert_eq!(claims_new.sub, "user-1");
    assert_eq!(issuer.jwks_requests(), 2);
    // Both keys now pass without another fetch.
    verifier
        .verify(&new.sign(&claims(&iss, clock.now())))
        .await
        .unwrap();
    verifier
        .verify(&old.sign(&claims(&iss, clock.now())))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_requests(), 2);
}

#[tokio::test]
async fn a_key_published_within_the_interval_waits_for_the_next_one() {
    let old = generate(SigningAlgorithm::ES256);
    let new = generate(SigningAlgorithm::ES256);
    let issuer = Issuer::start(&[&old]).await;
    let clock = ManualClock::starting_now();
    let verifier = verifier_at(&issuer, &clock).await;
    let iss = issuer.iss();
    verifier
        .verify(&old.sign(&claims(&iss, clock.now())))
        .await
        .unwrap();
    issuer.publish(&[&new, &old], "v2");
    let token = new.sign(&claims(&iss, clock.now()));
    assert_eq!(reason(verifier.verify(&token).await), Reason::UnknownKey);
    assert_eq!(issuer.jwks_requests(), 1);
    clock.advance(INTERVAL);
    verifier.verify(&token).await.unwrap();
    assert_eq!(issuer.jwks_requests(), 2);
}

#[tokio::test]
async fn cache_control_and_etag_are_honoured() {
    let key = generate(SigningAlgorithm::ES256);
    let issuer = Issuer::start(&[&key]).await;
    *issuer.state.cache_control.lock().unwrap() = Some("public, max-age=60".into());
    let clock = ManualClock::starting_now();
    let verifier = verifier_at(&issuer, &clock).await;
    let iss = issuer.iss();
    let token = key.sign(&claims(&iss, clock.now()));
    verifier.verify(&token).await.unwrap();
    assert_eq!(issuer.jwks_requests(), 1);

    // Fresh for max-age: no request.
    clock.advance(Duration::from_secs(59));
    verifier.verify(&token).await.unwrap();
    assert_eq!(issuer.jwks_requests(), 1);

    // Stale: the request is served at once, and a revalidation with the
    // ETag goes out behind it, answered 304.
    clock.advance(Duration::from_secs(2));
    verifier.verify(&token).await.unwrap();
    eventually("the stale set is revalidated", || {
        verifier.key_cache_stats().revalidations == 1
    })
    .await;
    assert_eq!(issuer.jwks_requests(), 2);
    assert_eq!(issuer.state.conditional_requests.load(Ordering::SeqCst), 1);
    assert_eq!(issuer.state.not_modified.load(Ordering::SeqCst), 1);

    // The 304 made it fresh again for max-age.
    clock.advance(Duration::from_secs(30));
    verifier.verify(&token).await.unwrap();
    assert_eq!(issuer.jwks_requests(), 2);
    let stats = verifier.key_cache_stats();
    assert_eq!((stats.key_sets_loaded, stats.revalidations), (1, 1));
}

#[tokio::test]
async fn the_set_is_refreshed_in_the_background_before_it_expires() {
    let key = generate(SigningAlgorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    // Fresh for one second; the floor of freshness is the refetch interval.
    *issuer.state.cache_control.lock().unwrap() = Some("max-age=1".into());
    let verifier = Verifier::builder(issuer.iss())
        .jwks_url(issuer.jwks_url())
        .refetch_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    // No verification at all: the background task alone keeps it fresh,
    // revalidating at four fifths of each lifetime.
    eventually("three fetches happened", || issuer.jwks_requests() >= 3).await;
    assert!(issuer.state.not_modified.load(Ordering::SeqCst) >= 2);
    // Dropping the last verifier ends the task.
    drop(verifier);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_drop = issuer.jwks_requests();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(issuer.jwks_requests(), after_drop);
}

#[tokio::test]
async fn a_stopped_issuer_is_served_from_cache_then_refused_after_the_bound() {
    let key = generate(SigningAlgorithm::RS256);
    let mut issuer = Issuer::start(&[&key]).await;
    let clock = ManualClock::starting_now();
    // Fresh 300 s (max-age), then 120 s stale.
    let verifier = verifier_at(&issuer, &clock).await;
    let iss = issuer.iss();
    let token = key.sign(&claims(&iss, clock.now()));
    verifier.verify(&token).await.unwrap();

    issuer.stop().await;
    clock.advance(Duration::from_secs(301));
    verifier.verify(&token).await.unwrap();
    clock.advance(Duration::from_secs(100));
    verifier.verify(&token).await.unwrap();
    clock.advance(Duration::from_secs(20));
    assert_eq!(
        verifier.verify(&token).await,
        Err(VerifyError::KeysUnavailable)
    );
    // And stays refused, without hammering, while the issuer is away.
    assert_eq!(
        verifier.verify(&token).await,
        Err(VerifyError::KeysUnavailable)
    );
    let refresh = verifier.refresh().await.unwrap_err().to_string();
    assert!(refresh.contains("fetched less than"), "{refresh}");

    // Back: the next fetch allowed restores service.
    issuer.restart().await;
    clock.advance(INTERVAL);
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn an_issuer_never_reached_refuses_every_token_quickly() {
    let key = generate(SigningAlgorithm::ES256);
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let iss = format!("http://{closed}/t/acme");
    let verifier = Verifier::builder(&iss).build().unwrap();
    let started = Instant::now();
    let token = key.sign(&claims(&iss, std::time::SystemTime::now()));
    assert_eq!(
        verifier.verify(&token).await,
        Err(VerifyError::KeysUnavailable)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let e = verifier.refresh().await.unwrap_err().to_string();
    assert!(
        e.contains("cannot be reached") || e.contains("fetched less than"),
        "{e}"
    );
}

#[tokio::test]
async fn an_error_answer_keeps_the_last_good_set() {
    let key = generate(SigningAlgorithm::ES256);
    let issuer = Issuer::start(&[&key]).await;
    let clock = ManualClock::starting_now();
    let verifier = verifier_at(&issuer, &clock).await;
    let iss = issuer.iss();
    let token = key.sign(&claims(&iss, clock.now()));
    verifier.verify(&token).await.unwrap();
    *issuer.state.failing_with.lock().unwrap() =
        Some(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    clock.advance(INTERVAL);
    let e = verifier.refresh().await.unwrap_err().to_string();
    assert!(e.contains("answered 500"), "{e}");
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.key_cache_stats().failed_fetches, 1);
}

#[tokio::test]
async fn an_oversized_key_set_is_refused() {
    let key = generate(SigningAlgorithm::ES256);
    let issuer = Issuer::start(&[&key]).await;
    let junk: Vec<Value> = (0..3000)
        .map(
            |i| serde_json::json!({"kty": "oct", "kid": format!("junk-{i}"), "k": "x".repeat(100)}),
        )
        .collect();
    *issuer.state.jwks.lock().unwrap() = serde_json::json!({ "keys": junk }).to_string();
    let verifier = Verifier::builder(issuer.iss())
        .jwks_url(issuer.jwks_url())
        .build()
        .unwrap();
    let e = verifier.refresh().await.unwrap_err().to_string();
    assert!(e.contains("more than"), "{e}");
}

#[tokio::test]
async fn keys_are_found_through_the_discovery_document() {
    let key = generate(SigningAlgorithm::PS256);
    let issuer = Issuer::start(&[&key]).await;
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(issuer.iss())
        .clock(clock.clone())
        .build()
        .unwrap();
    let iss = issuer.iss();
    verifier
        .verify(&key.sign(&claims(&iss, clock.now())))
        .await
        .unwrap();
    // Read once, not per fetch.
    clock.advance(INTERVAL);
    verifier.refresh().await.unwrap();
    assert_eq!(issuer.state.discovery_requests.load(Ordering::SeqCst), 1);
    assert_eq!(issuer.jwks_requests(), 2);
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    let key = generate(SigningAlgorithm::ES256);
    let issuer = Issuer::start(&[&key]).await;
    *issuer.state.discovery_issuer_override.lock().unwrap() =
        Some("https://evil.example/t/acme".into());
    let verifier = Verifier::builder(issuer.iss()).build().unwrap();
    let iss = issuer.iss();
    let token = key.sign(&claims(&iss, std::time::SystemTime::now()));
    assert_eq!(
        verifier.verify(&token).await,
        Err(VerifyError::KeysUnavailable)
    );
    assert_eq!(issuer.jwks_requests(), 0);
}

#[tokio::test]
async fn another_issuers_token_is_refused_even_with_the_same_key() {
    // A second tenant on the same Gatehouse: same key material here, to
    // show that `iss` alone already decides.
    let key = generate(SigningAlgorithm::ES256);
    let issuer = Issuer::start(&[&key]).await;
    let clock = ManualClock::starting_now();
    let verifier = verifier_at(&issuer, &clock).await;
    let other = issuer.iss().replace("/t/acme", "/t/globex");
    let mut c = claims(&other, clock.now());
    assert_eq!(
        reason(verifier.verify(&key.sign(&c)).await),
        Reason::WrongIssuer
    );
    c["iss"] = issuer.iss().into();
    assert_eq!(
        reason(verifier.verify(&key.sign(&c)).await),
        Reason::WrongAudience
    );
}

#[tokio::test]
async fn an_hs256_tenant_is_verified_with_its_shared_secret() {
    use base64::Engine;
    let key = generate(SigningAlgorithm::HS256);
    let iss = "http://127.0.0.1:1/t/hmac";
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&key.private_der);
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(iss)
        .shared_secret(&secret)
        .clock(clock.clone())
        .build()
        .unwrap();
    let c = claims(iss, clock.now());
    assert_eq!(verifier.verify(&key.sign(&c)).await.unwrap().sub, "user-1");
    // Any kid: Gatehouse hands out the secret without one.
    verifier
        .verify(&sign_with_kid(&key, "another-kid", &c))
        .await
        .unwrap();
    // Another secret, another algorithm, an expired token: refused.
    let stranger = generate(SigningAlgorithm::HS256);
    assert_eq!(
        reason(verifier.verify(&stranger.sign(&c)).await),
        Reason::BadSignature
    );
    let rs = generate(SigningAlgorithm::RS256);
    assert_eq!(
        reason(verifier.verify(&rs.sign(&c)).await),
        Reason::BadSignature
    );
    clock.advance(Duration::from_secs(900 + 30));
    assert_eq!(
        reason(verifier.verify(&key.sign(&c)).await),
        Reason::Expired
    );
}
