//! schemathesis (PyPI) against a real server and the description it
//! serves: every operation, the stateful links where they are declared,
//! a bounded number of examples per operation. It fails on any 5xx
//! (`not_a_server_error`), any status the operation does not declare
//! (`status_code_conformance`), any `Content-Type` it does not declare
//! (`content_type_conformance`), and any answer that breaks its schema
//! (`response_schema_conformance`).
//!
//! Skipped when schemathesis is not installed, unless
//! `GATEHOUSE_TEST_REQUIRE_SCHEMATHESIS=1` (CI sets it: `.ci/run`
//! installs it). `GATEHOUSE_SCHEMATHESIS_MAX_EXAMPLES` changes the bound
//! (default 10), `GATEHOUSE_SCHEMATHESIS_SEED` the seed (default fixed,
//! so a run is repeatable).

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::{self, ADMIN_TOKEN};

/// The schemathesis major the configuration below is written for.
const MAJOR: &str = "4.";
/// The whole run's limit: a hung server or schemathesis fails the test
/// instead of the CI job.
const HARD_TIMEOUT: Duration = Duration::from_secs(600);
const USERNAME: &str = "schemathesis-user";
const PASSWORD: &str = "schemathesis-password-1234";

/// schemathesis's configuration (`schemathesis.toml`): the credentials by
/// the description's security schemes, the tenant every `/t/{tenant}`
/// operation works on, no redirects followed (a redirect goes to a
/// client's own site).
const CONFIG: &str = r#"
max-redirects = 0
request-timeout = 30
workers = 1

# The declared links only (register → login → refresh, logout, userinfo;
# client create → show, rotate, delete; …), followed in longer scenarios.
[phases.stateful]
max-steps = 8
inference.algorithms = []

[phases.stateful.generation]
max-examples = 40

[parameters]
tenant = "default"

[auth.openapi.admin_token]
bearer = "${GATEHOUSE_SCHEMATHESIS_ADMIN_TOKEN}"

[auth.openapi.bearer]
bearer = "${GATEHOUSE_SCHEMATHESIS_USER_TOKEN}"
"#;

/// `GATEHOUSE_SCHEMATHESIS_ARGS`, split at spaces.
fn extra_args() -> Vec<String> {
    std::env::var("GATEHOUSE_SCHEMATHESIS_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn required() -> bool {
    std::env::var("GATEHOUSE_TEST_REQUIRE_SCHEMATHESIS").as_deref() == Ok("1")
}

/// schemathesis's version, if it is installed.
fn version() -> Option<String> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import schemathesis; print(schemathesis.__version__)"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_answer_that_breaks_the_description() {
    let Some(version) = version() else {
        assert!(
            !required(),
            "GATEHOUSE_TEST_REQUIRE_SCHEMATHESIS=1 but schemathesis is not installed \
             (python3 -m pip install 'schemathesis>=4,<5')"
        );
        eprintln!("skipped: schemathesis is not installed");
        return;
    };
    assert!(
        version.starts_with(MAJOR),
        "schemathesis {version} is installed; this test is written for {MAJOR}x"
    );
    // The rate limits off: on, most sign-ins and sign-ups from one
    // address would be 429s, and the logic behind them untested.
    let server = server::start(|config| {
        config.rate_limits = gatehouse_server::rate_limit::RateLimitSettings::off();
    })
    .await;
    let user_token = signed_in_user(&server.base).await;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let max_examples =
        std::env::var("GATEHOUSE_SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| "10".into());
    let seed = std::env::var("GATEHOUSE_SCHEMATHESIS_SEED").unwrap_or_else(|_| "14".into());

    let started = Instant::now();
    let mut command = tokio::process::Command::new("python3");
    command
        .args(["-m", "schemathesis.cli", "--no-color", "--config-file"])
        .arg(&config)
        .arg("run")
        .arg(format!("{}/openapi.json", server.base))
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            &max_examples,
            "--seed",
            &seed,
            "--suppress-health-check",
            "all",
        ])
        .args(extra_args())
        .current_dir(dir.path())
        .env("GATEHOUSE_SCHEMATHESIS_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("GATEHOUSE_SCHEMATHESIS_USER_TOKEN", &user_token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("python3 runs");
    let output = match tokio::time::timeout(HARD_TIMEOUT, child.wait_with_output()).await {
        Ok(output) => output.unwrap(),
        Err(_) => panic!("schemathesis did not finish within {HARD_TIMEOUT:?}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "schemathesis {version}, {max_examples} examples per operation, seed {seed}, {:.0?}:\n{stdout}\n{stderr}",
        started.elapsed()
    );
    assert!(
        output.status.success(),
        "schemathesis found answers that break /openapi.json (its report is above)"
    );
}

/// A user of tenant `default`, signed in: the token for the operations
/// that need a user's bearer token.
async fn signed_in_user(base: &str) -> String {
    let client = reqwest::Client::new();
    let registered = client
        .post(format!("{base}/t/default/register"))
        .json(&json!({"username": USERNAME, "password": PASSWORD, "email": "st@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let tokens: Value = client
        .post(format!("{base}/t/default/login"))
        .json(&json!({"username": USERNAME, "password": PASSWORD, "scope": "openid profile email"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_string()
}
