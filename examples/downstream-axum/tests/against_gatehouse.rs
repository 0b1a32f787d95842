//! The example service against a real Gatehouse: the server runs in
//! process (its own SQLite database, port 0 on 127.0.0.1), the downstream
//! service beside it with its own `gatehouse-verify` clock, and both are
//! driven over HTTP.
//!
//! Cases: a valid token passes with its claims; another tenant's token
//! does not; an expired one does not (the downstream clock moved); a
//! rotated key is fetched once; with Gatehouse stopped the cached keys
//! serve, then the service fails closed after the bound; an HS256 tenant
//! by its shared secret; a revoked token refused through introspection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::clock::SystemClock;
use gatehouse_core::password::{Argon2Hasher, Argon2Params};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_server::startup::Parts;
use gatehouse_server::{AppState, Application, Config};
use gatehouse_store::{DatabaseUrl, StoreOptions};
use gatehouse_verify::{ManualClock, Verifier};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const ADMIN_TOKEN: &str = "downstream-test-admin-token-0123";
const PASSWORD: &str = "correct horse battery staple";
/// The downstream verifier's refetch interval and stale bound.
const INTERVAL: Duration = Duration::from_secs(10);
const MAX_STALE: Duration = Duration::from_secs(120);

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .unwrap()
}

/// A Gatehouse node in this process.
struct Gatehouse {
    base: String,
    state: AppState,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Gatehouse {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
        let store =
            gatehouse_store::open(&DatabaseUrl::parse(&url).unwrap(), &StoreOptions::default())
                .await
                .unwrap();
        // A test cost: the real one is tested in core.
        let hasher = Argon2Hasher::new(Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: url,
            admin_token: Some(SecretString::from(ADMIN_TOKEN.to_string())),
            ..Config::default()
        };
        let app = Application::build(
            &config,
            Parts {
                store,
                hasher: Arc::new(hasher),
                clock: Arc::new(SystemClock),
                master: Arc::new(MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap()),
            },
        )
        .await
        .unwrap();
        let base = app.public_url().to_string();
        let state = app.state();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        Self {
            base,
            state,
            client: http(),
            stop: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    fn iss(&self, tenant: &str) -> String {
        format!("{}/t/{tenant}", self.base)
    }

    /// Stops the node and waits until it no longer listens.
    async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    async fn admin(&self, path: &str, body: Value) -> Value {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn create_tenant(&self, name: &str, algorithm: &str) {
        self.admin(
            "/admin/tenants",
            json!({"name": name, "algorithm": algorithm}),
        )
        .await;
    }

    /// Registers `username` in `tenant` and logs in: the access token.
    async fn user_token(&self, tenant: &str, username: &str) -> String {
        let r = self
            .client
            .post(format!("{}/register", self.iss(tenant)))
            .json(&json!({"username": username, "password": PASSWORD,
                          "email": format!("{username}@example.com")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        self.login(tenant, username).await
    }

    async fn login(&self, tenant: &str, username: &str) -> String {
        let r = self
            .client
            .post(format!("{}/login", self.iss(tenant)))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }
}

impl Drop for Gatehouse {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// The example service on 127.0.0.1, guarded by `verifier`.
struct Downstream {
    base: String,
    client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl Downstream {
    async fn start(verifier: Verifier) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(downstream_axum::serve(listener, verifier, async {
            let _ = rx.await;
        }));
        Self {
            base,
            client: http(),
            _stop: tx,
        }
    }

    /// `GET path` with the bearer token: status, `WWW-Authenticate`, body.
    async fn get(&self, path: &str, token: &str) -> (StatusCode, Option<String>, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let challenge = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        let body = r.json().await.unwrap_or(Value::Null);
        (status, challenge, body)
    }
}

/// A verifier for `tenant` of `gatehouse`, found through discovery, with
/// the downstream service's own (manual) clock.
fn verifier(gatehouse: &Gatehouse, tenant: &str, clock: &ManualClock) -> Verifier {
    Verifier::builder(gatehouse.iss(tenant))
        .clock(clock.clone())
        .refetch_interval(INTERVAL)
        .max_stale(MAX_STALE)
        .build()
        .unwrap()
}

/// The unverified header of a JWT, for assertions about its `kid`.
fn header_of(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[track_caller]
fn assert_invalid_token(answer: &(StatusCode, Option<String>, Value), description: &str) {
    let (status, challenge, body) = answer;
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_token", "{body}");
    assert_eq!(body["error_description"], description, "{body}");
    let challenge = challenge.as_deref().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn a_valid_token_passes_with_its_claims_and_another_tenants_does_not() {
    let gatehouse = Gatehouse::start().await;
    let clock = ManualClock::starting_now();
    let downstream = Downstream::start(verifier(&gatehouse, "default", &clock)).await;
    let token = gatehouse.user_token("default", "alice").await;

    let (status, _, me) = downstream.get("/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    let (status, _, claims) = downstream.get("/claims", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(claims["sub"], me["sub"]);
    assert_eq!(claims["iss"], gatehouse.iss("default"));

    // Another tenant of the same Gatehouse, same algorithm.
    gatehouse.create_tenant("globex", "RS256").await;
    let bob = gatehouse.user_token("globex", "bob").await;
    let answer = downstream.get("/me", &bob).await;
    assert_invalid_token(&answer, "the token was not signed by a key of this tenant");

    // No token at all: the bare challenge.
    let r = downstream
        .client
        .get(format!("{}/me", downstream.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");

    // A role the user lacks, then has.
    let (status, challenge, body) = downstream.get("/admin/stats", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    assert!(challenge.unwrap().contains("error=\"insufficient_scope\""));
    gatehouse
        .admin(
            &format!(
                "/admin/t/default/users/{}/roles",
                me["sub"].as_str().unwrap()
            ),
            json!({"role": "admin"}),
        )
        .await;
    let token = gatehouse.login("default", "alice").await;
    let (status, _, body) = downstream.get("/admin/stats", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["asked_by"], me["sub"]);
}

#[tokio::test]
async fn an_expired_token_is_refused_by_the_downstream_clock() {
    let gatehouse = Gatehouse::start().await;
    let clock = ManualClock::starting_now();
    let downstream = Downstream::start(verifier(&gatehouse, "default", &clock)).await;
    let token = gatehouse.user_token("default", "alice").await;
    assert_eq!(downstream.get("/me", &token).await.0, StatusCode::OK);

    // Gatehouse's default access-token lifetime is 15 minutes, with 30 s of
    // leeway: the downstream clock moves past both.
    clock.advance(Duration::from_secs(15 * 60 + 31));
    let answer = downstream.get("/me", &token).await;
    assert_invalid_token(&answer, "the token has expired");
    // A fresh token passes at the same downstream time.
    clock.set(std::time::SystemTime::now());
    let fresh = gatehouse.login("default", "alice").await;
    assert_eq!(downstream.get("/me", &fresh).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once() {
    let gatehouse = Gatehouse::start().await;
    let clock = ManualClock::starting_now();
    let verifier = verifier(&gatehouse, "default", &clock);
    let downstream = Downstream::start(verifier.clone()).await;
    let old = gatehouse.user_token("default", "alice").await;
    assert_eq!(downstream.get("/me", &old).await.0, StatusCode::OK);
    assert_eq!(verifier.key_cache_stats().jwks_requests, 1);

    // A compromised key: the successor signs at once.
    gatehouse
        .admin("/admin/t/default/keys/rotate", json!({"immediately": true}))
        .await;
    let new = gatehouse.login("default", "alice").await;
    assert_ne!(header_of(&new)["kid"], header_of(&old)["kid"]);
    clock.advance(INTERVAL);
    let (status, _, body) = downstream.get("/me", &new).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(verifier.key_cache_stats().jwks_requests, 2);

    // Fetched once: more tokens of the new key, and the old key's tokens
    // (still published), pass from the cache.
    let newer = gatehouse.login("default", "alice").await;
    for token in [&new, &newer, &old] {
        assert_eq!(downstream.get("/me", token).await.0, StatusCode::OK);
    }
    assert_eq!(verifier.key_cache_stats().jwks_requests, 2);
}

#[tokio::test]
async fn a_stopped_gatehouse_is_served_from_cache_then_refused_after_the_bound() {
    let mut gatehouse = Gatehouse::start().await;
    let clock = ManualClock::starting_now();
    let verifier = verifier(&gatehouse, "default", &clock);
    let downstream = Downstream::start(verifier.clone()).await;
    let token = gatehouse.user_token("default", "alice").await;
    assert_eq!(downstream.get("/me", &token).await.0, StatusCode::OK);

    gatehouse.stop().await;
    assert!(
        reqwest::get(format!("{}/healthz", gatehouse.base))
            .await
            .is_err(),
        "Gatehouse still answers"
    );
    // Fresh (Gatehouse sends max-age=300), then stale within the bound.
    assert_eq!(downstream.get("/me", &token).await.0, StatusCode::OK);
    clock.advance(Duration::from_secs(301));
    assert_eq!(downstream.get("/me", &token).await.0, StatusCode::OK);
    clock.advance(MAX_STALE - Duration::from_secs(5));
    assert_eq!(downstream.get("/me", &token).await.0, StatusCode::OK);

    // Past the bound: closed, with Gatehouse's error format and Retry-After.
    clock.advance(Duration::from_secs(10));
    let r = downstream
        .client
        .get(format!("{}/me", downstream.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "10");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(verifier.key_cache_stats().failed_fetches >= 1);
}

#[tokio::test]
async fn an_hs256_tenant_is_verified_with_its_shared_secret() {
    let gatehouse = Gatehouse::start().await;
    gatehouse.create_tenant("hmac", "HS256").await;
    // What `gatehouse key secret --tenant hmac` prints.
    let services = &gatehouse.state.services;
    let tenant = services.tenants.find("hmac").await.unwrap();
    let secret = services
        .signing_keys
        .shared_secret(&tenant)
        .await
        .unwrap()
        .unwrap();
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(gatehouse.iss("hmac"))
        .shared_secret(secret.expose_secret())
        .clock(clock.clone())
        .build()
        .unwrap();
    let downstream = Downstream::start(verifier).await;
    let token = gatehouse.user_token("hmac", "carol").await;
    assert_eq!(header_of(&token)["alg"], "HS256");
    let (status, _, me) = downstream.get("/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "carol");
    // The default tenant's RS256 token is not this tenant's.
    let other = gatehouse.user_token("default", "dave").await;
    assert_eq!(
        downstream.get("/me", &other).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_revoked_token_is_refused_through_introspection() {
    let gatehouse = Gatehouse::start().await;
    let client = gatehouse
        .admin(
            "/admin/t/default/clients",
            json!({"name": "svc", "type": "confidential", "grants": ["client_credentials"]}),
        )
        .await;
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(gatehouse.iss("default"))
        .clock(clock.clone())
        .introspection(
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str().unwrap(),
        )
        .introspection_cache(Duration::from_secs(5))
        .build()
        .unwrap();
    let downstream = Downstream::start(verifier).await;
    let token = gatehouse.user_token("default", "alice").await;
    assert_eq!(downstream.get("/me", &token).await.0, StatusCode::OK);

    // Logging out ends the session; offline, the token would pass for
    // another 15 minutes. Once the cached "active" expires, it does not.
    let r = gatehouse
        .client
        .post(format!("{}/logout", gatehouse.iss("default")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(downstream.get("/me", &token).await.0, StatusCode::OK);
    clock.advance(Duration::from_secs(6));
    let answer = downstream.get("/me", &token).await;
    assert_invalid_token(&answer, "the token is no longer active");
    // A new session's token is active.
    let fresh = gatehouse.login("default", "alice").await;
    assert_eq!(downstream.get("/me", &fresh).await.0, StatusCode::OK);
}
