//! Rate limits per client address (issue 14): a burst from one address is
//! refused with 429 and `Retry-After` before any password is hashed;
//! another address is unaffected; `X-Forwarded-For` from a peer that is
//! not a trusted proxy changes nothing, and from a trusted one names the
//! client — for the limits and for the sessions alike.
//!
//! The tests run over loopback: Linux answers on all of 127.0.0.0/8, so a
//! client bound to 127.0.0.2 or 127.0.0.3 is another peer of the same
//! server.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use gatehouse_server::client_ip::TrustedProxies;
use gatehouse_server::rate_limit::{Limit, RateLimitSettings};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Options, PASSWORD, TestApp, spawn_app_with};

/// Limits on, as in production but with `changes`, and these trusted
/// proxies. Per hour, so a slow machine cannot earn a token back mid-test.
async fn spawn_limited(changes: fn(&mut RateLimitSettings), trusted: &'static str) -> TestApp {
    spawn_app_with(Options {
        admin_token: true,
        tweak: Some(Box::new(move |config| {
            let mut limits = RateLimitSettings::default();
            changes(&mut limits);
            config.rate_limits = limits;
            config.trusted_proxies = TrustedProxies::parse(trusted).unwrap();
        })),
        ..Options::default()
    })
    .await
}

fn login_burst_5(limits: &mut RateLimitSettings) {
    limits.login = Limit::parse("20/h burst 5").unwrap();
}

/// A client whose connections come from `ip` (a loopback address).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn login(
    app: &TestApp,
    client: &reqwest::Client,
    username: &str,
    forwarded_for: Option<&str>,
) -> Response {
    let mut request = client
        .post(format!("{}/login", app.iss("default")))
        .json(&json!({"username": username, "password": PASSWORD}));
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    request.send().await.unwrap()
}

/// Asserts a 429 in the JSON error format with a `Retry-After` within
/// `max_secs`.
async fn assert_limited(r: Response, max_secs: u64) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=max_secs).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains(&format!("{retry_after} s")),
        "{body}"
    );
}

/// The addresses the user's sessions recorded.
async fn session_ips(app: &TestApp, username: &str) -> BTreeSet<String> {
    let r = app
        .admin(
            Method::GET,
            &format!("/admin/t/default/users/{username}/sessions"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ip"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_burst_from_one_address_gets_429s_and_another_address_is_unaffected() {
    let app = spawn_limited(login_burst_5, "").await;
    assert_eq!(
        app.register("default", "alice").await.status(),
        StatusCode::CREATED
    );
    let attacker = client_from("127.0.0.2");
    let hashed_before = app.hasher.verify_count();
    for i in 0..5 {
        let r = login(&app, &attacker, "alice", None).await;
        assert_eq!(r.status(), StatusCode::OK, "login {i} within the burst");
    }
    for _ in 0..10 {
        // One token every 3 minutes: the wait is at most that.
        assert_limited(login(&app, &attacker, "alice", None).await, 180).await;
    }
    // The refused requests ran no password check at all.
    assert_eq!(app.hasher.verify_count() - hashed_before, 5);

    // The compat logins draw on the same bucket; other groups do not.
    let r = attacker
        .post(format!("{}/compat/openfaas/login", app.iss("default")))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_limited(r, 180).await;
    let r = attacker
        .post(format!("{}/register", app.iss("default")))
        .json(&json!({"username": "bob", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(app.hasher.verify_count() - hashed_before, 5);

    // Another address logs in as usual.
    let neighbour = client_from("127.0.0.3");
    for _ in 0..3 {
        assert_eq!(
            login(&app, &neighbour, "alice", None).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        session_ips(&app, "alice").await,
        BTreeSet::from(["127.0.0.2".into(), "127.0.0.3".into()])
    );
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    // Proxies are trusted, but not this peer.
    let app = spawn_limited(login_burst_5, "10.0.0.0/8, 192.168.0.0/16").await;
    assert_eq!(
        app.register("default", "carol").await.status(),
        StatusCode::CREATED
    );
    let attacker = client_from("127.0.0.2");
    for i in 0..5 {
        let xff = format!("198.51.100.{i}");
        let r = login(&app, &attacker, "carol", Some(&xff)).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    // A new "address" per request, or a trusted one: still the same peer.
    for xff in ["198.51.100.77", "10.0.0.1", "192.168.1.1, 198.51.100.78"] {
        assert_limited(login(&app, &attacker, "carol", Some(xff)).await, 180).await;
    }
    // The sessions recorded the peer, not what it claimed.
    assert_eq!(
        session_ips(&app, "carol").await,
        BTreeSet::from(["127.0.0.2".into()])
    );
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_for_limits_and_sessions() {
    // The test client (127.0.0.1) is the trusted proxy.
    let app = spawn_limited(login_burst_5, "127.0.0.1").await;
    assert_eq!(
        app.register("default", "dave").await.status(),
        StatusCode::CREATED
    );
    let proxy = &app.client;
    for _ in 0..5 {
        let r = login(&app, proxy, "dave", Some("198.51.100.1")).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_limited(login(&app, proxy, "dave", Some("198.51.100.1")).await, 180).await;
    // What the client wrote to the left of what the proxy appended is not
    // believed: it is still 198.51.100.1.
    let r = login(&app, proxy, "dave", Some("203.0.113.66, 198.51.100.1")).await;
    assert_limited(r, 180).await;
    // Another client behind the same proxy has its own bucket.
    for _ in 0..2 {
        let r = login(&app, proxy, "dave", Some("198.51.100.2")).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    // Behind two trusted hops (a trusted address appended last).
    let r = login(&app, proxy, "dave", Some("198.51.100.3, 127.0.0.1")).await;
    assert_eq!(r.status(), StatusCode::OK);
    // A malformed header is not guessed at: the proxy itself.
    let r = login(&app, proxy, "dave", Some("198.51.100.4, not-an-address")).await;
    assert_eq!(r.status(), StatusCode::OK);
    // `Forwarded` is not the header configured: not read.
    let r = proxy
        .post(format!("{}/login", app.iss("default")))
        .header("forwarded", "for=198.51.100.5")
        .json(&json!({"username": "dave", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A peer that is not the proxy is itself, whatever it forwards.
    let other = client_from("127.0.0.2");
    let r = login(&app, &other, "dave", Some("198.51.100.6")).await;
    assert_eq!(r.status(), StatusCode::OK);

    assert_eq!(
        session_ips(&app, "dave").await,
        BTreeSet::from([
            "127.0.0.1".into(),
            "127.0.0.2".into(),
            "198.51.100.1".into(),
            "198.51.100.2".into(),
            "198.51.100.3".into(),
        ])
    );
}

#[tokio::test]
async fn the_hosted_pages_answer_429_as_a_page() {
    let app = spawn_limited(
        |limits| limits.pages = Limit::parse("10/h burst 2").unwrap(),
        "",
    )
    .await;
    let authorize = "/t/default/authorize?client_id=nobody&response_type=code";
    for _ in 0..2 {
        let r = app.get(authorize).await;
        assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let r = app.get(authorize).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=360).contains(&retry_after), "{retry_after}");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = r.text().await.unwrap();
    assert!(page.contains("Too many requests"), "{page}");
    // The group is the pages': the password-reset page shares it.
    let r = app.get("/t/default/password/reset?token=x").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn forward_auth_discovery_and_health_are_never_limited() {
    let app = spawn_limited(
        |limits| {
            let one = Limit::parse("1/h").unwrap();
            (limits.register, limits.login, limits.token) = (one, one, one);
            (limits.forgot, limits.pages) = (one, one);
        },
        "",
    )
    .await;
    for _ in 0..30 {
        for path in [
            "/t/default/auth",
            "/auth",
            "/t/default/.well-known/jwks.json",
            "/t/default/.well-known/openid-configuration",
            "/healthz",
        ] {
            let r = app.get(path).await;
            assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        }
    }
    // The token group, by contrast, allows one.
    let grant = [("grant_type", "client_credentials")];
    let r = app.post_form("/t/default/token", &grant).await;
    assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_limited(app.post_form("/t/default/token", &grant).await, 3600).await;
    // And the forgotten-password mails, whatever the address asked for.
    let forgot = "/t/default/password/forgot";
    let r = app
        .post_json(forgot, &json!({"email": "a@example.com"}))
        .await;
    assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let r = app
        .post_json(forgot, &json!({"email": "b@example.com"}))
        .await;
    assert_limited(r, 3600).await;
}
