//! `spawn_app()`: a real server on an ephemeral 127.0.0.1 port with its own
//! temporary SQLite database, and a small typed client to drive it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gatehouse_core::clock::{Clock, ManualClock, SystemClock};
use gatehouse_core::password::{Argon2Hasher, Argon2Params, PasswordHash, PasswordHasher};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_server::startup::Parts;
use gatehouse_server::{Application, Config};
use gatehouse_store::{DatabaseUrl, StoreOptions};
use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::faulty_store::{FaultyStore, faulty};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const PASSWORD: &str = "correct horse battery staple";

/// Argon2id at a test cost, counting every call so tests can assert how
/// many hash operations a request did.
pub struct CountingHasher {
    inner: Argon2Hasher,
    pub hashes: AtomicUsize,
    pub verifies: AtomicUsize,
    /// Set by [`CountingHasher::pause_next_hash`]: the next `hash` waits
    /// on its pool worker until the test releases it.
    pause: std::sync::Mutex<Option<HashPause>>,
}

struct HashPause {
    entered: std::sync::mpsc::Sender<()>,
    release: std::sync::mpsc::Receiver<()>,
}

/// A hash held on its worker: what a test does meanwhile happens while
/// the request that asked for it is mid-way.
pub struct PausedHash {
    entered: Arc<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>,
    release: std::sync::mpsc::Sender<()>,
}

impl PausedHash {
    /// Waits (10 s at most) until the paused hash has started.
    pub async fn started(&self) {
        let entered = self.entered.clone();
        tokio::task::spawn_blocking(move || {
            entered
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(10))
                .expect("no hash started within 10 s")
        })
        .await
        .unwrap();
    }

    /// Lets the hash run to its end.
    pub fn release(self) {
        let _ = self.release.send(());
    }
}

impl CountingHasher {
    fn new() -> Self {
        // The real OWASP cost runs in core's unit tests; here it would only
        // slow every test down.
        let params = Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        Self {
            inner: Argon2Hasher::new(params).unwrap(),
            hashes: AtomicUsize::new(0),
            verifies: AtomicUsize::new(0),
            pause: std::sync::Mutex::new(None),
        }
    }

    /// Makes the next `hash` wait, once it has started, until released.
    pub fn pause_next_hash(&self) -> PausedHash {
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel();
        *self.pause.lock().unwrap() = Some(HashPause {
            entered: entered_tx,
            release: release_rx,
        });
        PausedHash {
            entered: Arc::new(std::sync::Mutex::new(entered_rx)),
            release: release_tx,
        }
    }

    pub fn verify_count(&self) -> usize {
        self.verifies.load(Ordering::SeqCst)
    }
}

impl PasswordHasher for CountingHasher {
    fn hash(&self, password: &SecretString) -> gatehouse_core::Result<PasswordHash> {
        self.hashes.fetch_add(1, Ordering::SeqCst);
        let pause = self.pause.lock().unwrap().take();
        if let Some(pause) = pause {
            let _ = pause.entered.send(());
            // Bounded: a test that never releases does not hang the pool.
            let _ = pause.release.recv_timeout(Duration::from_secs(30));
        }
        self.inner.hash(password)
    }
    fn verify(&self, password: &SecretString, hash: &PasswordHash) -> bool {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(password, hash)
    }
    fn dummy_hash(&self) -> &PasswordHash {
        self.inner.dummy_hash()
    }
    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        self.inner.needs_rehash(hash)
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub hasher: Arc<CountingHasher>,
    /// The server's store, wrapped to count calls and to be switched off.
    pub store: Arc<FaultyStore>,
    /// The master key the server seals its signing keys with.
    pub master: Arc<MasterKeys>,
    /// The running server's state, to trigger its background work.
    pub state: gatehouse_server::AppState,
    /// Set when the app was spawned with a manual clock.
    pub clock: Option<Arc<ManualClock>>,
    /// `http://127.0.0.1:PORT` of proxy mode, when it was asked for.
    pub proxy_base: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

#[derive(Default)]
pub struct Options {
    pub manual_clock: bool,
    pub admin_token: bool,
    /// Another backend than the default temporary SQLite file.
    pub database_url: Option<String>,
    /// The store's per-request time limit (default 5 s).
    pub db_timeout: Option<std::time::Duration>,
    /// Proxy mode on 127.0.0.1:0 in front of this upstream, with these
    /// changes to its settings (`TestApp::proxy_base`).
    pub proxy: Option<(String, ConfigTweak)>,
    /// Any other change to the configuration, applied last.
    pub tweak: Option<ConfigChange>,
    /// The master key, when several nodes must share one database.
    pub master: Option<Arc<MasterKeys>>,
}

/// A change to the configuration a test server starts with.
pub type ConfigTweak = fn(&mut Config);
/// A change that may capture values (a port, a path).
pub type ConfigChange = Box<dyn FnOnce(&mut Config) + Send>;

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options {
        admin_token: true,
        ..Options::default()
    })
    .await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    init_test_log();
    let dir = tempfile::tempdir().unwrap();
    let url = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("gatehouse.db").display()));
    let store_options = StoreOptions {
        acquire_timeout: options
            .db_timeout
            .unwrap_or(StoreOptions::default().acquire_timeout),
        ..StoreOptions::default()
    };
    let store = gatehouse_store::open(&DatabaseUrl::parse(&url).unwrap(), &store_options)
        .await
        .unwrap();
    let store = Arc::new(faulty(store));
    let hasher = Arc::new(CountingHasher::new());
    let master = options.master.clone().unwrap_or_else(|| {
        Arc::new(MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap())
    });
    let manual = options
        .manual_clock
        .then(|| Arc::new(ManualClock::new(SystemClock.now())));
    let clock: Arc<dyn Clock> = match &manual {
        Some(m) => m.clone(),
        None => Arc::new(SystemClock),
    };
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: url,
        admin_token: options
            .admin_token
            .then(|| SecretString::from(ADMIN_TOKEN.to_string())),
        // The concurrency tests send 50 password requests at once; shedding
        // is tested on the real binary (crates/gatehouse/tests/login_flood.rs).
        hash_pool: gatehouse_core::crypto::pool::PoolSettings {
            queue: 256,
            max_wait: Duration::from_secs(30),
            ..Default::default()
        },
        // Tests log in dozens of times from 127.0.0.1; the limits are
        // tested on their own (rate_limits.rs turns them on).
        rate_limits: gatehouse_server::rate_limit::RateLimitSettings::off(),
        ..Config::default()
    };
    if let Some((upstream, tweak)) = &options.proxy {
        config.proxy_listen = Some("127.0.0.1:0".into());
        config.upstream = Some(upstream.clone());
        tweak(&mut config);
    }
    if let Some(tweak) = options.tweak {
        tweak(&mut config);
    }
    let app = Application::build(
        &config,
        Parts {
            store: store.clone(),
            hasher: hasher.clone(),
            clock,
            master: master.clone(),
        },
    )
    .await
    .unwrap();
    let base = app.public_url().to_string();
    let proxy_base = app.proxy_address().map(|a| format!("http://{a}"));
    let state = app.state();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        base,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .no_proxy()
            .build()
            .unwrap(),
        hasher,
        store,
        master,
        state,
        clock: manual,
        proxy_base,
        shutdown: Some(tx),
        _dir: dir,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn init_test_log() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_test_writer()
            .try_init();
    }
}

impl TestApp {
    /// The directory holding this app's database files.
    pub fn db_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Issuer URL of a tenant.
    pub fn iss(&self, tenant: &str) -> String {
        format!("{}/t/{tenant}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_with_bearer(&self, path: &str, token: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// POSTs `body` as it is, under `content_type`: for bodies that
    /// `post_json` would not write (malformed, not UTF-8, not JSON).
    pub async fn post_as(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// POSTs no body, with `token` as the bearer (logout, key rotation).
    pub async fn post_with_bearer(&self, path: &str, token: &str) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// An admin API request, with the admin token and an optional JSON body.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// The refresh-token grant at a tenant's token endpoint (RFC 6749 §6).
    pub async fn refresh(&self, tenant: &str, refresh_token: &str) -> Response {
        self.post_form(
            &format!("/t/{tenant}/token"),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// A tenant's published key set.
    pub async fn jwks(&self, tenant: &str) -> Value {
        self.get(&format!("/t/{tenant}/.well-known/jwks.json"))
            .await
            .json()
            .await
            .unwrap()
    }

    pub async fn register(&self, tenant: &str, username: &str) -> Response {
        self.post_json(
            &format!("/t/{tenant}/register"),
            &json!({"username": username, "password": PASSWORD, "email": format!("{username}@example.com")}),
        )
        .await
    }

    /// Registers `username` and logs in; returns the token response.
    pub async fn user_with_tokens(&self, tenant: &str, username: &str) -> Value {
        assert_eq!(
            self.register(tenant, username).await.status(),
            StatusCode::CREATED
        );
        self.login(tenant, username).await
    }

    pub async fn login(&self, tenant: &str, username: &str) -> Value {
        let r = self
            .post_json(
                &format!("/t/{tenant}/login"),
                &json!({"username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    pub async fn create_tenant(&self, name: &str, algorithm: &str) {
        let r = self
            .admin(
                reqwest::Method::POST,
                "/admin/tenants",
                Some(json!({"name": name, "algorithm": algorithm})),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
    }
}

/// Runs `case` against a fresh server (admin API on) on each configured
/// backend: SQLite always, PostgreSQL and MySQL/MariaDB when CI's
/// variables name them.
pub async fn on_every_backend<F, Fut>(case: F)
where
    F: Fn(&'static str, TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    on_every_backend_with(Options::default, case).await
}

/// As [`on_every_backend`], each server started with `options()` (its
/// database and the admin token set here).
pub async fn on_every_backend_with<O, F, Fut>(options: O, case: F)
where
    O: Fn() -> Options,
    F: Fn(&'static str, TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    for (backend, db) in gatehouse_store::testing::test_databases(dir.path()).await {
        let app = spawn_app_with(Options {
            database_url: Some(db.url.clone()),
            admin_token: true,
            ..options()
        })
        .await;
        case(backend, app).await;
        db.cleanup().await;
    }
}

/// How many of `statuses` are 201 and how many 409: the count of a race
/// to create one thing.
pub fn created_and_conflicts(statuses: &[StatusCode]) -> (usize, usize) {
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    (count(StatusCode::CREATED), count(StatusCode::CONFLICT))
}

/// Asserts the error format every failure uses, and returns the code.
pub async fn error_code(r: Response, status: StatusCode) -> String {
    assert_eq!(r.status(), status);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = r.json().await.unwrap();
    let description = body["error_description"].as_str().unwrap();
    assert!(!description.is_empty());
    body["error"].as_str().unwrap().to_string()
}

/// The claims of a JWT, decoded without verification (for assertions only).
pub fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn header_of(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
