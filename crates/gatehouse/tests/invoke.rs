//! `gatehouse invoke`: the OpenFaaS classic watchdog's protocol, through
//! the real binary's stdin and stdout, with the database URL read from a
//! secret file the way OpenFaaS mounts secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use serde_json::{Value, json};

/// Runs `gatehouse invoke <action>` with `input` on stdin; returns the exit
/// success and stdout.
fn invoke(dir: &Path, action: &str, input: &str) -> (bool, String) {
    let secrets = dir.join("secrets").display().to_string();
    let output = common::run(
        dir,
        &["invoke", action],
        &[
            ("GATEHOUSE_SECRETS_DIR", &secrets),
            ("GATEHOUSE_ARGON2__MEMORY_KIB", "1024"),
            ("GATEHOUSE_ARGON2__ITERATIONS", "1"),
        ],
        input,
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success() || !stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), stdout)
}

#[test]
fn register_login_verify_over_stdin_and_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    let db = dir.path().join("functions.db");
    std::fs::write(
        secrets.join("gatehouse-database-url"),
        format!("sqlite://{}\n", db.display()),
    )
    .unwrap();

    // The register function's example payload, as `faas-cli invoke` pipes it.
    let register = r#"{"username": "auser", "password": "TestPassword", "email": "auser@test.email", "first_name": "Test", "last_name": "User"}"#;
    let (ok, out) = invoke(dir.path(), "register", register);
    assert!(ok);
    assert_eq!(out, "{\"username\":\"auser\",\"status\":\"created\"}\n");
    assert!(db.exists(), "the URL came from the secret file");

    let (ok, out) = invoke(dir.path(), "register", register);
    assert!(ok, "an answer the original gave is not a failure");
    assert_eq!(out, "{\"error\":\"Username or E-Mail already in use\"}\n");

    let (ok, out) = invoke(
        dir.path(),
        "login",
        r#"{"username": "auser", "password": "TestPassword"}"#,
    );
    assert!(ok);
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["username"], "auser");
    let token = answer["token"].as_str().unwrap();
    assert_eq!(
        common::claims_of(token)["user"]["email"],
        "auser@test.email"
    );

    let (ok, out) = invoke(dir.path(), "verify", token);
    assert!(ok);
    let decoded: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(decoded[0]["user"]["username"], "auser");
    assert_eq!(decoded[1]["alg"], "RS256");

    let (ok, out) = invoke(
        dir.path(),
        "login",
        r#"{"username": "auser", "password": "nope-nope"}"#,
    );
    assert!(ok);
    assert_eq!(out, "{\"error\":\"Invalid username/password\"}\n");

    let (ok, out) = invoke(dir.path(), "login", "{'username': 'auser'}");
    assert!(ok, "bad input is the caller's problem, not a fault");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"error": "the body is not valid JSON"})
    );
}
