//! Prometheus `/metrics`: scraped over HTTP and parsed by the reference
//! client's text-format parser (Python's `prometheus_client.parser`, which
//! Gatehouse does not use), counters compared before and after requests.
//!
//! A test binary of its own: `metrics` has one recorder per process, so
//! only this file's servers move the counters it reads, and its tests run
//! one at a time (`SERIAL`) so each sees only its own requests.
//!
//! Needs `python3` with `prometheus_client`; `.ci/run` installs it and sets
//! `GATEHOUSE_TEST_REQUIRE_PROMETHEUS=1`, so in CI a missing parser fails
//! the test instead of skipping it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::clock::SystemClock;
use gatehouse_core::password::{Argon2Hasher, Argon2Params};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_server::startup::Parts;
use gatehouse_server::{Application, Config};
use gatehouse_store::{DatabaseUrl, StoreOptions};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::{Mutex, oneshot};

const ADMIN_TOKEN: &str = "metrics-test-admin-token-0123456789";
const METRICS_TOKEN: &str = "metrics-test-scrape-token-0123456789";
const PASSWORD: &str = "correct horse battery staple";

const PARSER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/parse_metrics.py"
);

/// The tests of this binary one at a time: the recorder is shared.
static SERIAL: Mutex<()> = Mutex::const_new(());

struct Node {
    base: String,
    metrics_base: Option<String>,
    client: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

/// A node on 127.0.0.1:0 with its own SQLite file and the given metrics
/// settings (a cheap argon2 cost: the hashes are not what is measured).
async fn start(metrics_token: Option<&str>, metrics_listen: bool) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let store = gatehouse_store::open(&DatabaseUrl::parse(&url).unwrap(), &StoreOptions::default())
        .await
        .unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: url,
        admin_token: Some(SecretString::from(ADMIN_TOKEN.to_string())),
        metrics_token: metrics_token.map(|t| SecretString::from(t.to_string())),
        metrics_listen: metrics_listen.then(|| "127.0.0.1:0".to_string()),
        // The lockout test sends 11 logins from one address at once.
        rate_limits: gatehouse_server::rate_limit::RateLimitSettings {
            enabled: false,
            ..Default::default()
        },
        ..Config::default()
    };
    let hasher = Argon2Hasher::new(Argon2Params {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    })
    .unwrap();
    let master = MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap();
    let app = Application::build(
        &config,
        Parts {
            store,
            hasher: Arc::new(hasher),
            clock: Arc::new(SystemClock),
            master: Arc::new(master),
        },
    )
    .await
    .unwrap();
    let base = app.public_url().to_string();
    let metrics_base = app.metrics_address().map(|a| format!("http://{a}"));
    let (tx, rx) = oneshot::channel();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    Node {
        base,
        metrics_base,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .no_proxy()
            .build()
            .unwrap(),
        _shutdown: tx,
        _dir: dir,
    }
}

impl Node {
    async fn scrape_text(&self, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}/metrics", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// `/metrics` with the token, parsed.
    async fn scrape(&self) -> Scrape {
        let r = self.scrape_text(Some(METRICS_TOKEN)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        parse(&r.text().await.unwrap()).await
    }

    async fn post_json(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// What the reference parser read: each family's type, each sample.
struct Scrape {
    families: BTreeMap<String, String>,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// The sample `name` whose labels include every one of `labels`
    /// (summed over the others); 0 when there is none yet.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }
}

fn parser_required() -> bool {
    std::env::var_os("GATEHOUSE_TEST_REQUIRE_PROMETHEUS").is_some()
}

async fn parser_available() -> bool {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import prometheus_client.parser"])
        .output()
        .await;
    let ok = matches!(probe, Ok(o) if o.status.success());
    if !ok && parser_required() {
        panic!(
            "prometheus_client is required (GATEHOUSE_TEST_REQUIRE_PROMETHEUS is set): \
             pip install prometheus-client"
        );
    }
    ok
}

/// Parses an exposition with `prometheus_client.parser`.
async fn parse(text: &str) -> Scrape {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("python3")
        .arg(PARSER)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "prometheus_client could not parse the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let families = parsed["families"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let samples = parsed["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let labels = s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            (
                s["name"].as_str().unwrap().to_string(),
                labels,
                s["value"].as_f64().unwrap(),
            )
        })
        .collect();
    Scrape { families, samples }
}

#[tokio::test]
async fn counters_move_as_requests_are_made_and_labels_hold_no_path_or_secret() {
    let _serial = SERIAL.lock().await;
    if !parser_available().await {
        eprintln!("skipped: python3 with prometheus_client not found");
        return;
    }
    let node = start(Some(METRICS_TOKEN), false).await;
    let iss = "/t/default";

    // A confidential client for the client-credentials grant, made before
    // the first scrape (its admin requests are not what is counted).
    let r = node
        .client
        .post(format!("{}/admin/t/default/clients", node.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "svc", "type": "confidential",
                      "grants": ["client_credentials"], "scopes": ["read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let client: Value = r.json().await.unwrap();
    let client_id = client["client_id"].as_str().unwrap().to_string();
    let client_secret = client["client_secret"].as_str().unwrap().to_string();

    let before = node.scrape().await;

    let r = node
        .post_json(
            &format!("{iss}/register"),
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = node
        .post_json(
            &format!("{iss}/login"),
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens: Value = r.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let r = node
        .post_json(
            &format!("{iss}/login"),
            json!({"username": "alice", "password": "wrong s3cret guess"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let auth = format!("{}{iss}/auth", node.base);
    let r = node
        .client
        .get(&auth)
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = node.client.get(&auth).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = node
        .client
        .post(format!("{}{iss}/token", node.base))
        .basic_auth(&client_id, Some(&client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A path no route has, holding what looks like a secret: counted, but
    // never as itself.
    let r = node
        .client
        .get(format!("{}{iss}/no-such-route-s3cret-in-path", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let after = node.scrape().await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };

    // The HTTP layer, by route template, method and status.
    let http = "gatehouse_http_requests_total";
    for (route, method, status, n) in [
        ("/t/{tenant}/register", "POST", "201", 1.0),
        ("/t/{tenant}/login", "POST", "200", 1.0),
        ("/t/{tenant}/login", "POST", "401", 1.0),
        ("/t/{tenant}/auth", "GET", "200", 1.0),
        ("/t/{tenant}/auth", "GET", "401", 1.0),
        ("/t/{tenant}/token", "POST", "200", 1.0),
        ("unmatched", "GET", "404", 1.0),
    ] {
        let labels = [("route", route), ("method", method), ("status", status)];
        assert_eq!(moved(http, &labels), n, "{route} {method} {status}");
    }
    let duration = "gatehouse_http_request_duration_seconds";
    assert_eq!(after.families[duration], "histogram");
    assert_eq!(after.families["gatehouse_http_requests"], "counter");
    let auth_route = [("route", "/t/{tenant}/auth"), ("method", "GET")];
    assert_eq!(moved(&format!("{duration}_count"), &auth_route), 2.0);
    assert!(moved(&format!("{duration}_sum"), &auth_route) > 0.0);
    let le_inf = [
        ("route", "/t/{tenant}/auth"),
        ("method", "GET"),
        ("le", "+Inf"),
    ];
    assert_eq!(moved(&format!("{duration}_bucket"), &le_inf), 2.0);

    // The domain's counters.
    let logins = "gatehouse_logins_total";
    assert_eq!(moved(logins, &[("outcome", "success")]), 1.0);
    assert_eq!(moved(logins, &[("outcome", "invalid")]), 1.0);
    let issued = "gatehouse_tokens_issued_total";
    let rs256 = ("algorithm", "RS256");
    assert_eq!(moved(issued, &[("grant", "password"), rs256]), 1.0);
    assert_eq!(
        moved(issued, &[("grant", "client_credentials"), rs256]),
        1.0
    );
    let gate = "gatehouse_gate_decisions_total";
    assert_eq!(
        moved(gate, &[("decision", "allow"), ("credential", "jwt")]),
        1.0
    );
    assert_eq!(
        moved(gate, &[("decision", "challenge"), ("credential", "none")]),
        1.0
    );

    // The store, timed per port method; a taken username is a conflict.
    let store = "gatehouse_store_call_duration_seconds_count";
    assert!(moved(store, &[("method", "create_user")]) >= 1.0);
    assert!(moved(store, &[("method", "user_by_login")]) >= 2.0);
    assert!(moved(store, &[("method", "create_session")]) >= 1.0);
    let r = node
        .post_json(
            &format!("{iss}/register"),
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let later = node.scrape().await;
    let errors = [("method", "create_user"), ("kind", "conflict")];
    assert_eq!(
        later.value("gatehouse_store_errors_total", &errors)
            - after.value("gatehouse_store_errors_total", &errors),
        1.0
    );

    // Gauges read at scrape time.
    assert!(after.value("gatehouse_hash_pool_workers", &[]) >= 1.0);
    assert_eq!(after.value("gatehouse_hash_pool_busy", &[]), 0.0);

    // No label holds a path, a tenant's name or anything secret.
    for (name, labels, _) in &later.samples {
        for (key, value) in labels {
            for secret in [
                PASSWORD,
                "s3cret",
                &access,
                &refresh,
                &client_id,
                &client_secret,
                ADMIN_TOKEN,
                METRICS_TOKEN,
                "alice",
                "/t/default",
                "no-such-route",
            ] {
                assert!(
                    !value.contains(secret),
                    "{name}{{{key}=\"{value}\"}} holds {secret:?}"
                );
            }
            if key == "route" {
                assert!(
                    value == "unmatched" || value == "proxy" || value.starts_with('/'),
                    "{value}"
                );
            }
        }
    }
}

#[tokio::test]
async fn metrics_are_off_by_default_and_behind_the_token_on_the_main_listener() {
    let _serial = SERIAL.lock().await;
    let off = start(None, false).await;
    let r = off.scrape_text(Some(METRICS_TOKEN)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "off unless configured");

    let on = start(Some(METRICS_TOKEN), false).await;
    let r = on.scrape_text(None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    let r = on.scrape_text(Some("not-the-metrics-token-at-all")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = on.scrape_text(Some(ADMIN_TOKEN)).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the admin token is another"
    );
    let r = on.scrape_text(Some(METRICS_TOKEN)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(text.contains("gatehouse_hash_pool_workers"), "{text}");
    assert!(!text.contains(METRICS_TOKEN));
}

#[tokio::test]
async fn the_metrics_listener_serves_without_a_token_and_only_metrics() {
    let _serial = SERIAL.lock().await;
    let node = start(None, true).await;
    let metrics_base = node.metrics_base.clone().unwrap();
    assert_ne!(metrics_base, node.base);
    // Something to count first.
    let r = node
        .client
        .get(format!("{}/healthz", node.base))
        .send()
        .await;
    assert_eq!(r.unwrap().status(), StatusCode::OK);
    let r = node
        .client
        .get(format!("{metrics_base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(
        text.contains(
            "gatehouse_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}"
        ),
        "{text}"
    );
    if parser_available().await {
        let parsed = parse(&text).await;
        assert_eq!(parsed.families["gatehouse_http_requests"], "counter");
    }
    // Nothing else there, and no /metrics on the main listener without a token.
    let r = node
        .client
        .get(format!("{metrics_base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = node.scrape_text(None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lockouts_rotations_and_refreshes_are_counted() {
    let _serial = SERIAL.lock().await;
    if !parser_available().await {
        eprintln!("skipped: python3 with prometheus_client not found");
        return;
    }
    let node = start(Some(METRICS_TOKEN), false).await;
    let r = node
        .post_json(
            "/t/default/register",
            json!({"username": "bob", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = node
        .post_json(
            "/t/default/login",
            json!({"username": "bob", "password": PASSWORD}),
        )
        .await;
    let tokens: Value = r.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let before = node.scrape().await;

    // The default soft-lock: 10 failures in a row lock the account; the
    // 11th attempt is refused as locked, before any password check.
    for _ in 0..11 {
        let r = node
            .post_json(
                "/t/default/login",
                json!({"username": "bob", "password": "not the password at all"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = node
        .client
        .post(format!("{}/admin/t/default/keys/rotate", node.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = node
        .client
        .post(format!("{}/t/default/token", node.base))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let after = node.scrape().await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    assert_eq!(moved("gatehouse_lockouts_total", &[]), 1.0);
    let logins = "gatehouse_logins_total";
    assert_eq!(moved(logins, &[("outcome", "invalid")]), 10.0);
    assert_eq!(moved(logins, &[("outcome", "locked")]), 1.0);
    assert_eq!(
        moved("gatehouse_key_rotations_total", &[("trigger", "manual")]),
        1.0
    );
    assert_eq!(
        moved(
            "gatehouse_tokens_issued_total",
            &[("grant", "refresh_token"), ("algorithm", "RS256")]
        ),
        1.0
    );
}
