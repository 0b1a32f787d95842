//! The server on DynamoDB, against the local server CI runs (moto): the
//! hold-out flow over HTTP (register, login, refresh, reuse → revoked,
//! logout) with the store calls and request units each step costs, and
//! the endpoint stopped and resumed under a running server (503 within the
//! timeout, `/auth` answered from cached keys, recovery without restart).
//! The concurrency rules run on DynamoDB in `backends.rs`.
//!
//! Skipped when `GATEHOUSE_TEST_DYNAMODB_URL` is unset.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, PASSWORD, TestApp, error_code, spawn_app_with};
use gatehouse_store::testing::{self, DYNAMODB_VAR, DynamoUsage};

/// Store calls (port methods) and DynamoDB calls and units one step took.
struct Cost {
    step: &'static str,
    port_calls: usize,
    dynamo: DynamoUsage,
}

impl Cost {
    fn line(&self) -> String {
        let calls: Vec<String> = self
            .dynamo
            .calls
            .iter()
            .map(|(op, n)| format!("{n} {op}"))
            .collect();
        format!(
            "| {} | {} | {} ({}) | {} RRU | {} WRU |",
            self.step,
            self.port_calls,
            self.dynamo.total_calls(),
            calls.join(", "),
            self.dynamo.read_units,
            self.dynamo.write_units
        )
    }
}

/// Runs `step` and measures what it cost.
async fn measured<F, Fut, T>(app: &TestApp, url: &str, step: &'static str, f: F) -> (T, Cost)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let usage = || testing::dynamodb_usage(url).unwrap_or_default();
    let (calls, before) = (app.store.hook.calls(), usage());
    let out = f().await;
    let cost = Cost {
        step,
        port_calls: app.store.hook.calls() - calls,
        dynamo: usage().since(&before),
    };
    (out, cost)
}

#[tokio::test]
async fn the_hold_out_flow_runs_on_dynamodb_and_says_what_each_step_costs() {
    let Ok(base) = std::env::var(DYNAMODB_VAR) else {
        eprintln!("skipped: {DYNAMODB_VAR} is not set");
        return;
    };
    let db = testing::fresh_dynamodb(&base);
    let app = spawn_app_with(Options {
        database_url: Some(db.url.clone()),
        admin_token: true,
        ..Options::default()
    })
    .await;
    let url = db.url.clone();
    let mut costs = Vec::new();

    // A first user warms the caches (tenant, keys), so the steps below
    // cost what they cost on a running node.
    let warm = app.user_with_tokens("default", "warm").await;
    let r = app
        .refresh("default", warm["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = json!({"username": "hold", "password": PASSWORD, "email": "hold@example.com"});
    let (r, cost) = measured(&app, &url, "register", || {
        app.post_json("/t/default/register", &body)
    })
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    costs.push(cost);

    let login = || async {
        let r = app
            .post_json(
                "/t/default/login",
                &json!({"username": "hold", "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()
    };
    let (tokens, cost) = measured(&app, &url, "login", login).await;
    costs.push(cost);
    let jwt = tokens["access_token"].as_str().unwrap().to_string();
    let first = tokens["refresh_token"].as_str().unwrap().to_string();

    let (r, cost) = measured(&app, &url, "/auth?session=check", || {
        app.get_with_bearer("/t/default/auth?session=check", &jwt)
    })
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    costs.push(cost);

    let (r, cost) = measured(&app, &url, "refresh", || app.refresh("default", &first)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let rotated: Value = r.json().await.unwrap();
    let second = rotated["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second, first, "rotated at every use");
    costs.push(cost);

    // Reuse of the rotated token: refused, and the whole session with it
    // (RFC 9700 §4.14.2), the new token and session checks included.
    let (r, cost) = measured(&app, &url, "refresh reuse", || {
        app.refresh("default", &first)
    })
    .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
    costs.push(cost);
    let r = app.refresh("default", &second).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
    assert_eq!(
        app.get_with_bearer("/t/default/auth?session=check", &jwt)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "the session is revoked"
    );

    // Logout ends a new session: its refresh token no longer works.
    let tokens = login().await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let body = json!({"refresh_token": refresh});
    let (r, cost) = measured(&app, &url, "logout", || {
        app.post_json("/t/default/logout", &body)
    })
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    costs.push(cost);
    let r = app.refresh("default", &refresh).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );

    // What the README's cost table is made from.
    eprintln!("| step | store calls | DynamoDB calls | reads | writes |");
    for cost in &costs {
        eprintln!("{}", cost.line());
    }
    let login_cost = &costs[1];
    // Since the soft-lock: the attempt is claimed before argon2 and the
    // count cleared after a success (two small UpdateItems).
    assert!(
        login_cost.dynamo.total_calls() <= 5,
        "a login stays a handful of calls: {}",
        login_cost.line()
    );
    assert!(
        costs[2].dynamo.total_calls() <= 1,
        "a session check is one read: {}",
        costs[2].line()
    );
    drop(app);
    db.cleanup().await;
}

/// A moto server of this test's own, on a free port, killed when dropped;
/// started through `.ci/moto-serial` like CI's (one request at a time, so
/// conditional writes are atomic as in DynamoDB).
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let launcher = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ci/moto-serial");
        let child = Command::new("python3")
            .args([launcher, "127.0.0.1", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{DYNAMODB_VAR} is set, so moto must run here: {e}"));
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "moto did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Moto { child, endpoint }
    }

    /// `kill -STOP` / `-CONT` / `-KILL` on our own child only.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const DB_TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::test]
async fn the_dynamodb_endpoint_stops_and_resumes_under_a_running_server() {
    if std::env::var(DYNAMODB_VAR).is_err() {
        eprintln!("skipped: {DYNAMODB_VAR} is not set");
        return;
    }
    let moto = Moto::start().await;
    let url = format!(
        "dynamodb://gh-faults?endpoint={}&region=us-east-1",
        moto.endpoint
    );
    let app = spawn_app_with(Options {
        database_url: Some(url),
        db_timeout: Some(DB_TIMEOUT),
        ..Options::default()
    })
    .await;
    let kept = app.user_with_tokens("default", "olga").await;
    let jwt = kept["access_token"].as_str().unwrap().to_string();
    let spare = app.login("default", "olga").await;

    // Stopped: the endpoint takes connections and never answers.
    moto.signal("-STOP");
    let started = Instant::now();
    assert_eq!(
        app.get("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let r = app.register("default", "pavel").await;
    assert_eq!(
        error_code(r, StatusCode::SERVICE_UNAVAILABLE).await,
        "temporarily_unavailable"
    );
    let r = app
        .refresh("default", spare["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let waited = started.elapsed();
    assert!(
        waited < 3 * (DB_TIMEOUT + Duration::from_secs(1)),
        "answers came within the timeout, not a hang ({waited:?})"
    );
    // Verification needs only the cached public keys.
    assert_eq!(
        app.get_with_bearer("/t/default/auth", &jwt).await.status(),
        StatusCode::OK
    );

    // Resumed: the same server recovers by itself.
    moto.signal("-CONT");
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.get("/readyz").await.status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "did not recover by itself");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        app.register("default", "quinn").await.status(),
        StatusCode::CREATED
    );
    let r = app
        .refresh("default", kept["refresh_token"].as_str().unwrap())
        .await;
    let body: Value = r.json().await.unwrap();
    assert!(
        body["access_token"].is_string(),
        "the refresh token survived the outage: {body}"
    );

    // Gone altogether: refused at once, still a 503.
    moto.signal("-KILL");
    let started = Instant::now();
    let r = app.register("default", "rita").await;
    assert_eq!(
        error_code(r, StatusCode::SERVICE_UNAVAILABLE).await,
        "temporarily_unavailable"
    );
    assert!(started.elapsed() < DB_TIMEOUT + Duration::from_secs(1));
    assert_eq!(
        app.get_with_bearer("/t/default/auth", &jwt).await.status(),
        StatusCode::OK
    );
}
