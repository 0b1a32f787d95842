//! `gatehouse import`: users with the hashes the replaced systems wrote,
//! made by the reference tools themselves (Python's hashlib, bcrypt,
//! Django's hashers, argon2-cffi; `tests/fixtures/legacy/make_legacy_users.py`),
//! then logged in through the real server, which upgrades each hash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use sqlx::{Connection, Row};

/// Set by `.ci/run`, which installs the Python packages: a missing package
/// then fails the test instead of skipping it.
const REQUIRE_VAR: &str = "GATEHOUSE_TEST_REQUIRE_LEGACY_TOOLS";

fn gatehouse(dir: &Path, args: &[&str]) -> Output {
    common::run(dir, args, &[], "")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Builds the fixtures into `dir/legacy`; `None` (skip) if the reference
/// tools are not installed and CI did not ask for them.
fn reference_fixtures(dir: &Path) -> Option<PathBuf> {
    let out = dir.join("legacy");
    let script = format!(
        "{}/tests/fixtures/legacy/make_legacy_users.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let output = Command::new("python3")
        .arg(&script)
        .arg(&out)
        .output()
        .expect("python3 runs");
    if output.status.code() == Some(3) && std::env::var_os(REQUIRE_VAR).is_none() {
        eprintln!(
            "skipped: {} (pip install bcrypt Django argon2-cffi; CI sets {REQUIRE_VAR})",
            text(&output.stderr).trim()
        );
        return None;
    }
    assert!(
        output.status.success(),
        "fixture script failed: {}",
        text(&output.stderr)
    );
    Some(out)
}

/// Every stored hash, by username.
async fn stored_hashes(db: &Path) -> Vec<(String, String)> {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("SELECT username, password_hash FROM users ORDER BY username")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn imported_users_log_in_with_their_old_passwords_and_are_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fixtures) = reference_fixtures(dir.path()) else {
        return;
    };
    let passwords: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("passwords.json")).unwrap())
            .unwrap();

    let jsonl = fixtures.join("users.jsonl").display().to_string();
    let first = gatehouse(dir.path(), &["import", "--tenant", "default", &jsonl]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let summary = text(&first.stdout);
    assert!(
        summary.starts_with("imported 9 users into tenant default ("),
        "{summary}"
    );
    for kind in [
        "sha256 1",
        "bcrypt 3",
        "pbkdf2_sha256 1",
        "scrypt 2",
        "argon2 2",
    ] {
        assert!(summary.contains(kind), "{kind}: {summary}");
    }

    // Idempotent: the same file again writes nothing.
    let again = gatehouse(dir.path(), &["import", &jsonl]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("imported 0 users into tenant default; 9 already present"),
        "{}",
        text(&again.stdout)
    );
    let csv = fixtures.join("users.csv").display().to_string();
    let from_csv = gatehouse(dir.path(), &["import", &csv]);
    assert!(from_csv.status.success(), "{}", text(&from_csv.stderr));
    assert!(text(&from_csv.stdout).starts_with("imported 9 users"));

    let db = dir.path().join("gatehouse.db");
    let before = stored_hashes(&db).await;
    assert_eq!(before.len(), 18);
    assert!(
        before
            .iter()
            .all(|(_, h)| !h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")),
        "nothing is upgraded before a login"
    );

    // Each user logs in with the old password, at the real argon2 cost.
    let server = common::serve(dir.path(), &[], &[]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let users: Vec<(String, Value)> = passwords
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| !name.starts_with("good"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(users.len(), 18);
    for (username, entry) in &users {
        let password = entry["password"].as_str().unwrap();
        let wrong = client
            .post(format!("{}/t/default/login", server.base))
            .json(&json!({"username": username, "password": format!("{password}x")}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            wrong.status(),
            401,
            "{username}: a wrong password must fail"
        );
        for attempt in ["first", "second"] {
            let r = client
                .post(format!("{}/t/default/login", server.base))
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                200,
                "{username} ({}), {attempt} login",
                entry["kind"]
            );
        }
    }

    // Imported ids stay the subject.
    let with_id: Vec<(String, String)> = std::fs::read_to_string(fixtures.join("users.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|u| u["id"].is_string() || u["id"].is_number())
        .map(|u| {
            let id = match &u["id"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (u["username"].as_str().unwrap().to_string(), id)
        })
        .collect();
    assert!(!with_id.is_empty());
    for (username, id) in with_id {
        let password = passwords[&username]["password"].as_str().unwrap();
        let r: Value = client
            .post(format!("{}/t/default/login", server.base))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let claims = common::claims_of(r["access_token"].as_str().unwrap());
        assert_eq!(claims["sub"], id.as_str(), "{username}");
    }

    for (username, hash) in stored_hashes(&db).await {
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{username} was not upgraded: {}",
            &hash[..hash.len().min(12)]
        );
    }
}

#[test]
fn bad_lines_are_reported_by_number_and_the_rest_imported() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fixtures) = reference_fixtures(dir.path()) else {
        return;
    };
    let bad = fixtures.join("bad.jsonl").display().to_string();
    let output = gatehouse(dir.path(), &["import", &bad]);
    assert!(
        !output.status.success(),
        "refused lines make the exit status non-zero"
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("line 2: refused: the line is not a JSON object"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "line 3: refused: password_hash: the password hash is not in a supported format"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 4: refused: missing field `username`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("line 5"),
        "a blank line is no error: {stderr}"
    );
    assert!(
        !stderr.contains("md5$abc"),
        "hashes are not echoed: {stderr}"
    );
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("imported 2 users into tenant default")
            && stdout.contains("3 lines refused"),
        "{stdout}"
    );

    // An unknown tenant stops before anything is read into the store.
    let output = gatehouse(dir.path(), &["import", "--tenant", "nowhere", &bad]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("nowhere"));
}

/// The Ruby functions' own table, read from MariaDB: its users then log in
/// at the OpenFaaS-compatible endpoint with their old passwords.
#[tokio::test]
async fn import_from_the_ruby_functions_mysql_table() {
    let Ok(base) = std::env::var(gatehouse_store::testing::MYSQL_VAR) else {
        eprintln!(
            "skipped: set {} to run",
            gatehouse_store::testing::MYSQL_VAR
        );
        return;
    };
    let legacy = gatehouse_store::testing::fresh_mysql(&base).await;
    let mut conn = sqlx::MySqlConnection::connect(&legacy.url).await.unwrap();
    // The schema of microblog/schemas/create_users.sql, made valid SQL.
    sqlx::query(
        "CREATE TABLE users (
            id int PRIMARY KEY NOT NULL AUTO_INCREMENT,
            username TEXT NOT NULL,
            password TEXT NOT NULL,
            email TEXT NOT NULL,
            first_name text NOT NULL,
            last_name text NOT NULL
        )",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    // What the register function inserted: SHA2(password) as hex.
    for (username, password, email, first, last) in [
        (
            "affix",
            "s3cret-Passw0rd",
            "affix@legacy.test",
            "Keiran",
            "Smith",
        ),
        ("auser", "TestPassword", "auser@test.email", "Test", "User"),
    ] {
        sqlx::query(
            "INSERT INTO users (username, password, email, first_name, last_name)
             VALUES (?, SHA2(?, 256), ?, ?, ?)",
        )
        .bind(username)
        .bind(password)
        .bind(email)
        .bind(first)
        .bind(last)
        .execute(&mut conn)
        .await
        .unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let output = gatehouse(
        dir.path(),
        &["import", "--from-mysql", &legacy.url, "--table", "users"],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).starts_with("imported 2 users into tenant default (sha256 2)"),
        "{}",
        text(&output.stdout)
    );
    let refused = gatehouse(
        dir.path(),
        &[
            "import",
            "--from-mysql",
            &legacy.url,
            "--table",
            "users;drop",
        ],
    );
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("--table must be a table name"));

    let server = common::serve(dir.path(), &[], &[]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let answer: Value = client
        .post(format!("{}/t/default/compat/openfaas/login", server.base))
        .body(r#"{"username": "affix", "password": "s3cret-Passw0rd"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims = common::claims_of(answer["token"].as_str().unwrap());
    assert_eq!(
        claims["user"],
        json!({"email": "affix@legacy.test", "first_name": "Keiran", "last_name": "Smith", "username": "affix"})
    );
    assert_eq!(claims["sub"], "1", "the table's id is kept");
    drop(conn);
    legacy.cleanup().await;
}

/// A store that stops answering mid-import: the import stops at that line
/// and says how much it wrote, and a rerun finishes the job.
#[test]
fn a_failing_store_stops_the_import_with_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let sha = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
    let line = |name: &str| format!("{{\"username\":\"{name}\",\"password_hash\":\"{sha}\"}}\n");
    std::fs::write(dir.path().join("one.jsonl"), line("u1")).unwrap();
    std::fs::write(
        dir.path().join("more.jsonl"),
        [line("u1"), line("u2"), line("u3")].concat(),
    )
    .unwrap();
    let first = gatehouse(dir.path(), &["import", "one.jsonl"]);
    assert!(first.status.success(), "{}", text(&first.stderr));

    // Another process holds SQLite's write lock for a while.
    let mut locker = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, sys, time\n\
             c = sqlite3.connect('gatehouse.db', isolation_level=None)\n\
             c.execute('BEGIN IMMEDIATE')\n\
             print('locked', flush=True)\n\
             time.sleep(8)\n",
        )
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(locker.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready.trim(), "locked");

    let stopped = common::run(
        dir.path(),
        &["import", "more.jsonl"],
        &[("GATEHOUSE_DB_TIMEOUT", "1s")],
        "",
    );
    let _ = locker.kill();
    let _ = locker.wait();
    assert!(!stopped.status.success());
    let stderr = text(&stopped.stderr);
    // Line 1 (u1) is already there, so the first write is line 2.
    assert!(
        stderr.contains("stopped at line 2:") && stderr.contains("0 users were written before it"),
        "{stderr}"
    );
    assert!(stderr.contains("run the same command again"), "{stderr}");

    let rerun = gatehouse(dir.path(), &["import", "more.jsonl"]);
    assert!(rerun.status.success(), "{}", text(&rerun.stderr));
    assert!(
        text(&rerun.stdout)
            .starts_with("imported 2 users into tenant default (sha256 2); 1 already present"),
        "{}",
        text(&rerun.stdout)
    );
}
