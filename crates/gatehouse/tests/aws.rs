//! Gatehouse on AWS without a database server, against the local
//! DynamoDB-compatible server CI runs (moto, which serves Secrets Manager
//! on the same port): the real binary on a DynamoDB table with its master
//! key read from Secrets Manager, a master-key rotation through a second
//! secret version, a wrong secret name refused in one line before anything
//! is created, and `gatehouse lambda` taking a DynamoDB URL.
//!
//! Skipped when `GATEHOUSE_TEST_DYNAMODB_URL` is unset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Output};

use gatehouse_core::sealing::MasterKeys;
use gatehouse_server::Config;
use gatehouse_store::testing::DYNAMODB_VAR;
use gatehouse_store::{DatabaseUrl, OpenError, StoreOptions};

/// The local server's endpoint, from the DynamoDB test URL.
fn endpoint() -> Option<String> {
    let url = std::env::var(DYNAMODB_VAR).ok()?;
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("endpoint="))
        .map(str::to_string)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", gatehouse_core::id::new_id())
}

async fn secrets(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let config = aws_sdk_secretsmanager::config::Builder::from(&shared)
        .endpoint_url(endpoint)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// Runs the binary on `table` with its master key in secret `secret`.
fn gatehouse(endpoint: &str, table: &str, secret: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(common::BIN)
        .args(args)
        .current_dir(dir.path())
        .env_remove("GATEHOUSE_MASTER_KEY")
        .env_remove("GATEHOUSE_MASTER_KEY_FILE")
        .env_remove("RUST_LOG")
        .env(
            "GATEHOUSE_DATABASE_URL",
            format!("dynamodb://{table}?endpoint={endpoint}&region=us-east-1"),
        )
        .env("GATEHOUSE_MASTER_KEY_SECRET", secret)
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_master_key_comes_from_secrets_manager_and_rotates_through_a_second_version() {
    let Some(endpoint) = endpoint() else {
        eprintln!("skipped: {DYNAMODB_VAR} is not set");
        return;
    };
    let sm = secrets(&endpoint).await;
    let table = unique("gh-aws");
    let secret = unique("gatehouse/master-key");

    // A wrong name: one clear line, non-zero, and no table made.
    let wrong = gatehouse(
        &endpoint,
        &table,
        "no-such-secret",
        &["tenant", "create", "acme"],
    );
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("GATEHOUSE_MASTER_KEY_SECRET") && lines[0].contains("no-such-secret"),
        "{stderr}"
    );
    let url = DatabaseUrl::parse(&format!(
        "dynamodb://{table}?endpoint={endpoint}&region=us-east-1"
    ))
    .unwrap();
    let options = StoreOptions {
        create_if_missing: false,
        ..StoreOptions::default()
    };
    assert!(
        matches!(
            gatehouse_store::open(&url, &options).await,
            Err(OpenError::NotFound { .. })
        ),
        "the table must not exist after a refused start"
    );

    // The first version: the table is made, a tenant sealed with key A.
    let key_a = MasterKeys::generate_text().unwrap();
    sm.create_secret()
        .name(&secret)
        .secret_string(&key_a)
        .send()
        .await
        .unwrap();
    ok(&gatehouse(
        &endpoint,
        &table,
        &secret,
        &["tenant", "create", "acme"],
    ));
    assert!(ok(&gatehouse(&endpoint, &table, &secret, &["tenant", "list"])).contains("acme"));

    // Rotation: a second version (key B) becomes AWSCURRENT, A stays as
    // AWSPREVIOUS, and `key rewrap` seals every key with B.
    let key_b = MasterKeys::generate_text().unwrap();
    sm.put_secret_value()
        .secret_id(&secret)
        .secret_string(&key_b)
        .send()
        .await
        .unwrap();
    let rewrapped = ok(&gatehouse(&endpoint, &table, &secret, &["key", "rewrap"]));
    assert!(rewrapped.contains("re-sealed"), "{rewrapped}");

    // With A gone from the secret altogether, the keys still open.
    sm.put_secret_value()
        .secret_id(&secret)
        .secret_string(&key_b)
        .send()
        .await
        .unwrap();
    assert!(ok(&gatehouse(&endpoint, &table, &secret, &["tenant", "list"])).contains("acme"));

    // And a key that is not B or A: the node refuses to start.
    sm.put_secret_value()
        .secret_id(&secret)
        .secret_string(MasterKeys::generate_text().unwrap())
        .send()
        .await
        .unwrap();
    sm.put_secret_value()
        .secret_id(&secret)
        .secret_string(MasterKeys::generate_text().unwrap())
        .send()
        .await
        .unwrap();
    let refused = gatehouse(&endpoint, &table, &secret, &["tenant", "list"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    // The secret's value is never printed.
    assert!(!stderr.contains(&key_b), "{stderr}");
    gatehouse_store::testing::drop_dynamodb_table(url.to_string().as_str()).await;
}

#[test]
fn lambda_takes_a_dynamodb_url() {
    let config = Config {
        database_url: "dynamodb://gatehouse?region=eu-west-1".into(),
        public_url: Some("https://abc123.execute-api.eu-west-1.amazonaws.com".into()),
        lambda_allow_sqlite: false,
        ..Config::default()
    };
    gatehouse::lambda::check_config(&config).unwrap();
}
