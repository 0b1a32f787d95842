//! What the tests of this crate share: the attack suite's own key helpers
//! (`keys`, included from gatehouse-jwt's tests so both suites sign the
//! same way), claims as Gatehouse issues them, and a small issuer on
//! 127.0.0.1 that serves a JWKS (with ETag and Cache-Control), a discovery
//! document and an introspection endpoint, and counts what it is asked.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../gatehouse-jwt/tests/common/mod.rs"]
pub mod keys;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use keys::{TestKey, generate};

pub const TENANT_PATH: &str = "/t/acme";

pub fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Claims as Gatehouse issues them for a user of `iss`, valid from `now`
/// for 15 minutes.
pub fn claims(iss: &str, now: SystemTime) -> Value {
    let now = unix(now);
    json!({
        "iss": iss,
        "sub": "user-1",
        "aud": iss,
        "exp": now + 900,
        "iat": now,
        "nbf": now,
        "jti": format!("jti-{}", keys::random_token::<8>()),
        "client_id": "client-1",
        "sid": "session-1",
        "scope": "openid notes:read",
        "preferred_username": "alice",
        "email": "alice@example.com",
        "roles": ["editor"],
    })
}

/// What the fake issuer serves and counts.
pub struct IssuerState {
    pub issuer: Mutex<String>,
    pub jwks: Mutex<String>,
    pub etag: Mutex<String>,
    pub cache_control: Mutex<Option<String>>,
    /// Answer every JWKS request with this status instead.
    pub failing_with: Mutex<Option<StatusCode>>,
    /// The discovery document names this issuer instead of the real one.
    pub discovery_issuer_override: Mutex<Option<String>>,
    pub jwks_requests: AtomicUsize,
    pub conditional_requests: AtomicUsize,
    pub not_modified: AtomicUsize,
    pub discovery_requests: AtomicUsize,
    pub introspect_active: AtomicBool,
    pub introspections: AtomicUsize,
    pub introspection_authorization: Mutex<Option<String>>,
}

/// A fake Gatehouse tenant on 127.0.0.1, serving `{iss}/.well-known/*`
/// and `{iss}/introspect`.
pub struct Issuer {
    pub addr: SocketAddr,
    pub state: Arc<IssuerState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Issuer {
    pub async fn start(keys: &[&TestKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(IssuerState {
            issuer: Mutex::new(format!("http://{addr}{TENANT_PATH}")),
            jwks: Mutex::new(keys::jwks_json(keys)),
            etag: Mutex::new("\"v1\"".into()),
            cache_control: Mutex::new(Some("public, max-age=300".into())),
            failing_with: Mutex::new(None),
            discovery_issuer_override: Mutex::new(None),
            jwks_requests: AtomicUsize::new(0),
            conditional_requests: AtomicUsize::new(0),
            not_modified: AtomicUsize::new(0),
            discovery_requests: AtomicUsize::new(0),
            introspect_active: AtomicBool::new(true),
            introspections: AtomicUsize::new(0),
            introspection_authorization: Mutex::new(None),
        });
        let mut issuer = Self {
            addr,
            state,
            stop: None,
            task: None,
        };
        issuer.serve(listener);
        issuer
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route(&format!("{TENANT_PATH}/.well-known/jwks.json"), get(jwks))
            .route(
                &format!("{TENANT_PATH}/.well-known/openid-configuration"),
                get(discovery),
            )
            .route(&format!("{TENANT_PATH}/introspect"), post(introspect))
            .with_state(self.state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        }));
    }

    pub fn iss(&self) -> String {
        self.state.issuer.lock().unwrap().clone()
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.iss())
    }

    pub fn jwks_requests(&self) -> usize {
        self.state.jwks_requests.load(Ordering::SeqCst)
    }

    /// Publishes `keys` under a new ETag.
    pub fn publish(&self, keys: &[&TestKey], etag: &str) {
        *self.state.jwks.lock().unwrap() = keys::jwks_json(keys);
        *self.state.etag.lock().unwrap() = format!("\"{etag}\"");
    }

    /// Stops serving: connections are refused from now on.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// Serves again on the same address.
    pub async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

async fn jwks(State(state): State<Arc<IssuerState>>, headers: HeaderMap) -> Response {
    state.jwks_requests.fetch_add(1, Ordering::SeqCst);
    if let Some(status) = *state.failing_with.lock().unwrap() {
        return status.into_response();
    }
    let etag = state.etag.lock().unwrap().clone();
    let mut response = match headers.get(header::IF_NONE_MATCH) {
        Some(given) => {
            state.conditional_requests.fetch_add(1, Ordering::SeqCst);
            if given.to_str().unwrap() == etag {
                state.not_modified.fetch_add(1, Ordering::SeqCst);
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                state.jwks.lock().unwrap().clone().into_response()
            }
        }
        None => state.jwks.lock().unwrap().clone().into_response(),
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, etag.parse().unwrap());
    h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    if let Some(cc) = state.cache_control.lock().unwrap().clone() {
        h.insert(header::CACHE_CONTROL, cc.parse().unwrap());
    }
    response
}

async fn discovery(State(state): State<Arc<IssuerState>>) -> Response {
    state.discovery_requests.fetch_add(1, Ordering::SeqCst);
    let iss = state.issuer.lock().unwrap().clone();
    let named = state
        .discovery_issuer_override
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| iss.clone());
    axum::Json(json!({
        "issuer": named,
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "introspection_endpoint": format!("{iss}/introspect"),
    }))
    .into_response()
}

async fn introspect(
    State(state): State<Arc<IssuerState>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    state.introspections.fetch_add(1, Ordering::SeqCst);
    *state.introspection_authorization.lock().unwrap() = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap().to_string());
    assert!(body.contains("token="), "{body}");
    let active = state.introspect_active.load(Ordering::SeqCst);
    axum::Json(json!({"active": active})).into_response()
}
