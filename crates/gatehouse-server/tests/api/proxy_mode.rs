//! Proxy mode end to end: a real server with its proxy listener in front of
//! a small upstream on 127.0.0.1 that echoes what reached it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_server::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, PASSWORD, TestApp, error_code, spawn_app_with};

fn policy() -> Value {
    json!({"rules": [
        {"name": "health", "methods": ["GET"], "path": "/function/health", "allow": ["public"]},
        {"name": "billing", "function": "billing-*", "allow": ["jwt", "api_key"], "scopes": ["billing"]},
        {"name": "echo", "path": "/function/echo/**", "allow": ["jwt", "api_key", "basic"], "realm": "fn"},
        {"name": "slow", "path": "/function/slow", "allow": ["public"]},
        {"name": "hook", "methods": ["POST"], "path": "/function/hook", "allow": ["hmac"],
         "hmac": {"scheme": "github", "secret": "hook"}},
        {"name": "rest", "path": "/**", "allow": ["deny"]}
    ]})
}

/// What the upstream saw of one request.
#[derive(Clone, Default)]
struct Upstream {
    hits: Arc<AtomicUsize>,
}

/// Echoes the request as JSON (`/function/slow` first waits 3 s); answers
/// with a hop-by-hop header a proxy must drop.
async fn echo(State(up): State<Upstream>, request: Request) -> Response {
    up.hits.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    if parts.uri.path() == "/function/slow" {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let body: Bytes = axum::body::to_bytes(body, 8 << 20)
        .await
        .unwrap_or_default();
    let headers: serde_json::Map<String, Value> = parts
        .headers
        .keys()
        .map(|k| {
            let all: Vec<Value> = parts
                .headers
                .get_all(k)
                .iter()
                .map(|v| Value::from(String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            (k.as_str().to_string(), Value::from(all))
        })
        .collect();
    let mut response = axum::Json(json!({
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "headers": headers,
        "body_len": body.len(),
        "body_sha": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body)),
    }))
    .into_response();
    response
        .headers_mut()
        .insert("x-upstream-hop", "secret".parse().unwrap());
    response
        .headers_mut()
        .insert("connection", "x-upstream-hop".parse().unwrap());
    response
}

async fn start_upstream() -> (String, Upstream) {
    let up = Upstream::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().fallback(echo).with_state(up.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{addr}"), up)
}

/// A server with proxy mode in front of `upstream`, the policy above set,
/// and short limits: 1 s timeouts, 64 KiB of buffered body.
async fn proxied(upstream: String, tweak: fn(&mut Config)) -> TestApp {
    let app = spawn_app_with(Options {
        admin_token: true,
        proxy: Some((upstream, tweak)),
        ..Options::default()
    })
    .await;
    let r = app
        .admin(
            reqwest::Method::PUT,
            "/admin/t/default/policies",
            Some(policy()),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    app
}

fn short_limits(c: &mut Config) {
    c.proxy_timeout = Duration::from_secs(1);
    c.proxy_connect_timeout = Duration::from_secs(1);
    c.proxy_max_body_bytes = 64 * 1024;
}

impl TestApp {
    fn through(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let base = self.proxy_base.as_deref().expect("proxy mode is on");
        self.client.request(method, format!("{base}{path}"))
    }

    /// `GET path` through proxy mode, with no credential.
    async fn get_through(&self, path: &str) -> reqwest::Response {
        self.through(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
    }
}

fn seen(echo: &Value, header: &str) -> Vec<String> {
    echo["headers"][header]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_valid_token_reaches_the_upstream_with_its_identity_and_nothing_forged() {
    let (upstream, up) = start_upstream().await;
    let app = proxied(upstream, short_limits).await;
    let tokens = app.user_with_tokens("default", "ada").await;
    let jwt = tokens["access_token"].as_str().unwrap();
    let sub = crate::helpers::claims_of(jwt)["sub"]
        .as_str()
        .unwrap()
        .to_string();

    let r = app
        .through(reqwest::Method::GET, "/function/echo/a/b?x=1&y=%20")
        .bearer_auth(jwt)
        .header("x-auth-subject", "forged")
        .header("X_Auth_Username", "forged")
        .header("x-auth-tenant", "forged")
        .header("connection", "x-client-hop")
        .header("x-client-hop", "1")
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("x-upstream-hop").is_none(), "hop-by-hop");
    assert_eq!(r.headers()["via"], "1.1 gatehouse");
    let echo: Value = r.json().await.unwrap();
    assert_eq!(echo["method"], "GET");
    assert_eq!(
        echo["uri"], "/function/echo/a/b?x=1&y=%20",
        "path and query as sent"
    );
    assert_eq!(seen(&echo, "x-auth-subject"), [sub]);
    assert_eq!(seen(&echo, "x-auth-username"), ["ada"]);
    assert_eq!(seen(&echo, "x-auth-tenant"), ["default"]);
    assert_eq!(seen(&echo, "x-auth-credential"), ["jwt"]);
    assert!(seen(&echo, "x_auth_username").is_empty());
    assert!(seen(&echo, "x-client-hop").is_empty());
    assert!(
        seen(&echo, "connection")
            .iter()
            .all(|c| !c.contains("x-client-hop"))
    );
    assert_eq!(seen(&echo, "x-forwarded-for"), ["203.0.113.7, 127.0.0.1"]);
    assert_eq!(seen(&echo, "x-forwarded-proto"), ["http"]);
    let host = app
        .proxy_base
        .as_deref()
        .unwrap()
        .trim_start_matches("http://");
    assert_eq!(seen(&echo, "x-forwarded-host"), [host]);
    assert_eq!(seen(&echo, "x-request-id"), ["req-42"]);
    assert_eq!(seen(&echo, "authorization"), [format!("Bearer {jwt}")]);
    assert_eq!(up.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn refusals_are_the_gates_and_never_reach_the_upstream() {
    let (upstream, up) = start_upstream().await;
    let app = proxied(upstream, short_limits).await;
    let tokens = app.user_with_tokens("default", "bob").await;
    let jwt = tokens["access_token"].as_str().unwrap();

    let r = app.get_through("/function/echo/x").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Bearer ")),
        "{challenges:?}"
    );
    assert!(
        challenges
            .iter()
            .any(|c| c.starts_with("Basic realm=\"fn\"")),
        "{challenges:?}"
    );

    // A good token without the rule's scope: 403 naming it.
    let r = app
        .through(reqwest::Method::POST, "/function/billing-eu/charge")
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "access_denied");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("billing")
    );

    // No rule but the catch-all; path tricks.
    for path in [
        "/function/other",
        "/function/echo/../../admin",
        "/function/echo%2F..%2Fx",
    ] {
        let r = app
            .through(reqwest::Method::GET, path)
            .bearer_auth(jwt)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let r = app
        .through(reqwest::Method::GET, "/function/echo/x")
        .bearer_auth("not-a-jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        0,
        "nothing refused got through"
    );

    // Public: no credential needed.
    let r = app.get_through("/function/health").await;
    assert_eq!(r.status(), StatusCode::OK);
    let echo: Value = r.json().await.unwrap();
    assert_eq!(seen(&echo, "x-auth-credential"), ["public"]);
}

#[tokio::test]
async fn api_keys_and_basic_credentials_pass_as_their_owner() {
    let (upstream, _) = start_upstream().await;
    let app = proxied(upstream, short_limits).await;
    app.user_with_tokens("default", "carol").await;
    let key: Value = app
        .admin(
            reqwest::Method::POST,
            "/admin/t/default/apikeys",
            Some(json!({"name": "ci", "scopes": ["billing"]})),
        )
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .through(reqwest::Method::POST, "/function/billing-us")
        .header("x-api-key", key["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let echo: Value = r.json().await.unwrap();
    assert_eq!(seen(&echo, "x-auth-credential"), ["api_key"]);
    assert_eq!(seen(&echo, "x-auth-key-id"), [key["id"].as_str().unwrap()]);
    assert_eq!(seen(&echo, "x-auth-scope"), ["billing"]);

    let basic = STANDARD.encode(format!("carol:{PASSWORD}"));
    let r = app
        .through(reqwest::Method::GET, "/function/echo/legacy")
        .header("authorization", format!("Basic {basic}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let echo: Value = r.json().await.unwrap();
    assert_eq!(seen(&echo, "x-auth-credential"), ["basic"]);
    assert_eq!(seen(&echo, "x-auth-username"), ["carol"]);
    let wrong = STANDARD.encode("carol:wrong-password");
    let r = app
        .through(reqwest::Method::GET, "/function/echo/legacy")
        .header("authorization", format!("Basic {wrong}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic realm=\"fn\"")
    );
}

#[tokio::test]
async fn bodies_stream_through_and_only_signed_ones_are_buffered_and_bounded() {
    let (upstream, _) = start_upstream().await;
    let app = proxied(upstream, short_limits).await;
    let tokens = app.user_with_tokens("default", "dan").await;
    let jwt = tokens["access_token"].as_str().unwrap();

    // 2 MiB, far above the 64 KiB buffer limit: streamed, not buffered.
    let big: Vec<u8> = (0..2 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&big));
    let r = app
        .through(reqwest::Method::PUT, "/function/echo/upload")
        .bearer_auth(jwt)
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let echo: Value = r.json().await.unwrap();
    assert_eq!(echo["body_len"], big.len());
    assert_eq!(echo["body_sha"], sha);
    // A chunked body of unknown length streams too.
    let chunks = futures::stream::iter(
        big.chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let r = app
        .through(reqwest::Method::POST, "/function/echo/chunked")
        .bearer_auth(jwt)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    let echo: Value = r.json().await.unwrap();
    assert_eq!(echo["body_sha"], sha);

    // A signed webhook: the body is checked, then forwarded intact.
    let r = app
        .admin(
            reqwest::Method::PUT,
            "/admin/t/default/secrets/hook",
            Some(json!({"value": "It's a Secret to Everybody"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let r = app
        .through(reqwest::Method::POST, "/function/hook")
        .header("x-hub-signature-256", good)
        .body("Hello, World!")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let echo: Value = r.json().await.unwrap();
    assert_eq!(echo["body_len"], 13);
    assert_eq!(seen(&echo, "x-auth-credential"), ["hmac"]);
    let r = app
        .through(reqwest::Method::POST, "/function/hook")
        .header("x-hub-signature-256", good)
        .body("Hello, World?")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "tampered body");
    // Over the buffer limit: 413 before any signature is computed.
    let r = app
        .through(reqwest::Method::POST, "/function/hook")
        .header("x-hub-signature-256", good)
        .body(vec![b'x'; 64 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r, StatusCode::PAYLOAD_TOO_LARGE).await,
        "request_too_large"
    );
}

#[tokio::test]
async fn a_dead_or_slow_upstream_is_a_json_502_or_504() {
    // A port that was just free: nothing listens there.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let app = proxied(dead, short_limits).await;
    let r = app.get_through("/function/health").await;
    assert_eq!(error_code(r, StatusCode::BAD_GATEWAY).await, "bad_gateway");

    let (upstream, _) = start_upstream().await;
    let app = proxied(upstream, short_limits).await;
    let started = std::time::Instant::now();
    let r = app.get_through("/function/slow").await;
    assert_eq!(
        error_code(r, StatusCode::GATEWAY_TIMEOUT).await,
        "gateway_timeout"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered at the 1 s bound"
    );
}

#[tokio::test]
async fn beyond_its_in_flight_bound_the_proxy_sheds_with_503() {
    fn one_at_a_time(c: &mut Config) {
        c.proxy_max_in_flight = 1;
        c.proxy_timeout = Duration::from_secs(10);
    }
    let (upstream, _) = start_upstream().await;
    let app = Arc::new(proxied(upstream, one_at_a_time).await);
    let slow = {
        let app = app.clone();
        tokio::spawn(async move { app.get_through("/function/slow").await.status() })
    };
    // Until the slow request holds the only slot.
    let mut shed = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = app.get_through("/function/health").await;
        if r.status() == StatusCode::SERVICE_UNAVAILABLE {
            shed = Some(r);
            break;
        }
    }
    let r = shed.expect("a second request is shed while the first holds the slot");
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(
        error_code(r, StatusCode::SERVICE_UNAVAILABLE).await,
        "temporarily_unavailable"
    );
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    let r = app.get_through("/function/health").await;
    assert_eq!(r.status(), StatusCode::OK, "the slot came back");
}
