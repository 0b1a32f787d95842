//! RFC 7662 introspection against the fake issuer: the discovered
//! endpoint, client_secret_basic, the short cache of "active", the
//! remembered "inactive", and refusal (not a pass) when the endpoint is
//! away.
#![cfg(feature = "introspect")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use gatehouse_jwt::SigningAlgorithm;
use gatehouse_verify::{Clock, ManualClock, Reason, Verifier, VerifyError};
use support::{Issuer, claims, generate};

#[tokio::test]
async fn revocation_is_checked_with_a_short_cache() {
    let key = generate(SigningAlgorithm::ES256);
    let mut issuer = Issuer::start(&[&key]).await;
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(issuer.iss())
        .clock(clock.clone())
        .introspection("svc client", "s3cret:with/odd+chars")
        .introspection_cache(Duration::from_secs(5))
        .build()
        .unwrap();
    let calls = || issuer.state.introspections.load(Ordering::SeqCst);
    let token = key.sign(&claims(&issuer.iss(), clock.now()));

    verifier.verify(&token).await.unwrap();
    assert_eq!(calls(), 1);
    // RFC 6749 §2.3.1: form-encoded, then Basic.
    let sent = issuer
        .state
        .introspection_authorization
        .lock()
        .unwrap()
        .clone()
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(sent.strip_prefix("Basic ").unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "svc+client:s3cret%3Awith%2Fodd%2Bchars"
    );

    // Cached "active": revocation is noticed once the cache expires.
    issuer
        .state
        .introspect_active
        .store(false, Ordering::SeqCst);
    verifier.verify(&token).await.unwrap();
    assert_eq!(calls(), 1);
    clock.advance(Duration::from_secs(6));
    match verifier.verify(&token).await {
        Err(VerifyError::Invalid(e)) => {
            assert_eq!(e.reason(), Reason::Inactive);
            assert_eq!(e.to_string(), "the token is no longer active");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(calls(), 2);
    // "Inactive" is remembered: no more calls for this token.
    clock.advance(Duration::from_secs(60));
    assert!(verifier.verify(&token).await.is_err());
    assert_eq!(calls(), 2);

    // A token the offline checks refuse is never sent.
    let expired = key.sign(&claims(
        &issuer.iss(),
        clock.now() - Duration::from_secs(3600),
    ));
    assert!(verifier.verify(&expired).await.is_err());
    assert_eq!(calls(), 2);

    // The endpoint away: refused, not waved through.
    issuer.stop().await;
    let fresh = key.sign(&claims(&issuer.iss(), clock.now()));
    assert_eq!(
        verifier.verify(&fresh).await,
        Err(VerifyError::IntrospectionUnavailable)
    );
}

#[tokio::test]
async fn the_layer_and_the_extractors_verify_a_request_once() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use axum::routing::get;
    use gatehouse_verify::{Claims, CurrentUser};
    use tower::ServiceExt;

    let key = generate(SigningAlgorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    // No introspection cache: every verification asks, so the count of
    // introspection calls is the count of verifications.
    let verifier = Verifier::builder(issuer.iss())
        .introspection("svc", "secret")
        .introspection_cache(Duration::ZERO)
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route(
            "/me",
            get(
                |user: CurrentUser, Claims(all): Claims<serde_json::Value>| async move {
                    assert_eq!(all["sub"], user.id());
                    "ok"
                },
            ),
        )
        .route_layer(verifier.layer())
        .with_state(verifier.clone());
    let token = key.sign(&claims(&issuer.iss(), std::time::SystemTime::now()));
    for expected_calls in 1..=3 {
        let request = Request::get("/me")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            issuer.state.introspections.load(Ordering::SeqCst),
            expected_calls
        );
    }
}
