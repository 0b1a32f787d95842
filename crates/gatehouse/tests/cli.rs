//! The real `gatehouse` binary: subcommands on a temporary database, and
//! `serve` started as a process, used over HTTP, and stopped with SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{free_port, serve};

use serde_json::{Value, json};

/// Runs `gatehouse ARGS` in `dir` (where `gatehouse.db` lives), with
/// `stdin` piped in.
fn gatehouse(dir: &Path, args: &[&str], stdin: &str) -> Output {
    common::run(dir, args, &[], stdin)
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn tenants_users_and_keys_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let out = stdout(&gatehouse(
        d,
        &[
            "tenant",
            "create",
            "acme",
            "--algorithm",
            "HS256",
            "--access-ttl",
            "1h",
            "--audience",
            "api",
        ],
        "",
    ));
    assert!(
        out.contains("created tenant acme (HS256, access tokens 3600s)"),
        "{out}"
    );
    let out = stdout(&gatehouse(d, &["tenant", "list"], ""));
    assert!(out.contains("acme\tHS256\t3600s"), "{out}");

    let bad = gatehouse(d, &["tenant", "create", "Bad_Name"], "");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tenant name"));

    // The real (OWASP) argon2id cost runs here.
    let out = stdout(&gatehouse(
        d,
        &[
            "user",
            "add",
            "--tenant",
            "acme",
            "alice",
            "--email",
            "alice@example.com",
        ],
        "a long password\n",
    ));
    let user: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(user["username"], "alice");
    let list = stdout(&gatehouse(d, &["user", "list", "--tenant", "acme"], ""));
    assert!(
        list.contains("\"alice\"") && !list.contains("argon2"),
        "{list}"
    );
    let dup = gatehouse(
        d,
        &["user", "add", "--tenant", "acme", "ALICE"],
        "another password\n",
    );
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already taken"));
    let no_pw = gatehouse(d, &["user", "add", "bob"], "");
    assert!(String::from_utf8_lossy(&no_pw.stderr).contains("no password given"));

    let keys = stdout(&gatehouse(d, &["key", "list", "--tenant", "acme"], ""));
    assert!(keys.contains("HS256\tcurrent"), "{keys}");
    let secret = stdout(&gatehouse(d, &["key", "secret", "--tenant", "acme"], ""));
    assert_eq!(secret.trim().len(), 43, "256-bit secret, base64url");
    assert!(
        !gatehouse(d, &["key", "secret"], "").status.success(),
        "RS256 has no shared secret"
    );

    stdout(&gatehouse(
        d,
        &["user", "delete", "--tenant", "acme", "alice"],
        "",
    ));
    assert_eq!(
        stdout(&gatehouse(d, &["user", "list", "--tenant", "acme"], "")).trim(),
        ""
    );
    assert!(
        !gatehouse(d, &["user", "delete", "--tenant", "acme", "alice"], "")
            .status
            .success()
    );
}

#[test]
fn bad_database_urls_fail_with_one_clear_line_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "redis://:hunter2@localhost",
            "unsupported database URL scheme `redis`",
        ),
        ("nonsense", "malformed"),
        // Nothing listens on port 1: unreachable, reported after the timeout.
        (
            "postgres://gh:hunter2@127.0.0.1:1/gatehouse",
            "cannot open the database postgres://gh:***@127.0.0.1:1/gatehouse",
        ),
        (
            "mysql://gh:hunter2@127.0.0.1:1/gatehouse",
            "cannot open the database mysql://gh:***@127.0.0.1:1/gatehouse",
        ),
        (
            "postgres://gh:hunter2@127.0.0.1:notaport/x",
            "cannot open the database",
        ),
    ];
    for (url, expected) in cases {
        let o = gatehouse_env(
            dir.path(),
            &["--database-url", url, "tenant", "list"],
            &[("GATEHOUSE_DB_TIMEOUT", "1s")],
        );
        assert!(!o.status.success(), "{url}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expected), "{url}: {err}");
        assert!(
            !err.contains("hunter2"),
            "{url}: the password leaked: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{url}: one line: {err}");
    }
    let o = gatehouse(
        dir.path(),
        &["--database-url", "ftp://x", "tenant", "list"],
        "",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sqlite://") && err.contains("postgres://") && err.contains("mysql://"),
        "names the supported schemes: {err}"
    );
}

#[tokio::test]
async fn serve_from_nothing_to_a_verified_token_then_stop_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(dir.path(), &[], &[]);
    assert!(
        dir.path().join("gatehouse.db").exists(),
        "SQLite default created on first start"
    );
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let iss = format!("{}/t/default", server.base);

    let r = http
        .post(format!("{iss}/register"))
        .json(&json!({"username": "alice", "password": "a long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let tokens: Value = http
        .post(format!("{iss}/login"))
        .json(&json!({"username": "alice", "password": "a long password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = tokens["access_token"].as_str().unwrap();

    // `token verify` is the same verifier, run offline on the same database.
    let out = stdout(&gatehouse(
        dir.path(),
        &["--public-url", &server.base, "token", "verify", jwt],
        "",
    ));
    let claims: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(claims["preferred_username"], "alice");
    let bad = gatehouse(
        dir.path(),
        &["--public-url", "http://elsewhere", "token", "verify", jwt],
        "",
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("another issuer"));

    // SIGTERM: a clean, prompt exit.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn configuration_layers_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gatehouse.toml"),
        "public_url = \"https://from-file.example\"\nadmin_token = \"file-token\"\n",
    )
    .unwrap();
    let server = serve(
        dir.path(),
        &["--public-url", "https://from-flag.example"],
        &[
            ("GATEHOUSE_ADMIN_TOKEN", "env-token"),
            ("GATEHOUSE_PUBLIC_URL", "https://from-env.example"),
        ],
    );
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let config: Value = http
        .get(format!(
            "{}/t/default/.well-known/openid-configuration",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config["issuer"], "https://from-flag.example/t/default",
        "flag beats env and file"
    );
    let with = |token: &'static str| {
        http.get(format!("{}/admin/tenants", server.base))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        with("env-token").await.unwrap().status(),
        200,
        "environment beats file"
    );
    assert_eq!(with("file-token").await.unwrap().status(), 401);
}

fn gatehouse_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    common::run(dir, args, env, "")
}

/// What a refused start must leave as it was: tenants, keys (with their
/// states and sealed material's identity) and the key file. (The SQLite
/// file's bytes may move between the WAL and the main file when a
/// connection closes; its contents may not change.)
fn logical_state(dir: &Path) -> String {
    let tenants = stdout(&gatehouse(dir, &["tenant", "list"], ""));
    let keys = stdout(&gatehouse(dir, &["key", "list", "--tenant", "acme"], ""));
    let key_file = std::fs::read_to_string(dir.join("gatehouse.master.key")).unwrap();
    format!("{tenants}\n{keys}\n{key_file}")
}

#[test]
fn master_key_file_is_private_and_a_wrong_key_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stdout(&gatehouse(
        d,
        &["tenant", "create", "acme", "--algorithm", "EdDSA"],
        "",
    ));
    let key_file = d.join("gatehouse.master.key");
    assert!(key_file.exists(), "key file made on first start");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let before = logical_state(d);

    // Another master key: every command refuses, saying why, and writes nothing.
    let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let o = gatehouse_env(
        d,
        &["key", "list", "--tenant", "acme"],
        &[("GATEHOUSE_MASTER_KEY", wrong)],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("master key") && err.contains("not configured"),
        "{err}"
    );
    let port = free_port().to_string();
    let o = gatehouse_env(
        d,
        &["serve", "--listen", &format!("127.0.0.1:{port}")],
        &[("GATEHOUSE_MASTER_KEY", wrong)],
    );
    assert!(!o.status.success(), "serve must refuse a wrong master key");
    assert_eq!(logical_state(d), before, "a refused start changes nothing");
}

#[test]
fn master_key_rotation_by_rewrap() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let old = "b2xkLW1hc3Rlci1rZXktMzItYnl0ZXMtbG9uZy0wMDA";
    let new = "bmV3LW1hc3Rlci1rZXktMzItYnl0ZXMtbG9uZy0wMDA";
    stdout(&gatehouse_env(
        d,
        &["tenant", "create", "acme"],
        &[("GATEHOUSE_MASTER_KEY", old)],
    ));
    assert!(
        !d.join("gatehouse.master.key").exists(),
        "no key file when the variable is set"
    );

    // New key first, old key second: everything opens; rewrap re-seals.
    let both = format!("{new},{old}");
    let out = stdout(&gatehouse_env(
        d,
        &["key", "rewrap"],
        &[("GATEHOUSE_MASTER_KEY", &both)],
    ));
    assert!(out.contains("re-sealed 2 signing keys"), "{out}");
    // Now the new key alone suffices, and the old one alone no longer does.
    stdout(&gatehouse_env(
        d,
        &["key", "list", "--tenant", "acme"],
        &[("GATEHOUSE_MASTER_KEY", new)],
    ));
    assert!(
        !gatehouse_env(d, &["key", "list"], &[("GATEHOUSE_MASTER_KEY", old)])
            .status
            .success()
    );
}

#[test]
fn key_rotation_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = stdout(&gatehouse(
        d,
        &["key", "rotate", "--algorithm", "ES256"],
        "",
    ));
    assert!(
        out.contains("(ES256) is published and signs for tenant default after 86400s"),
        "{out}"
    );
    let list = stdout(&gatehouse(d, &["key", "list"], ""));
    assert!(
        list.contains("ES256\tnext") && list.contains("RS256\tcurrent"),
        "{list}"
    );
    let out = stdout(&gatehouse(d, &["key", "rotate", "--immediately"], ""));
    assert!(out.contains("now signs"), "{out}");
    let list = stdout(&gatehouse(d, &["key", "list"], ""));
    assert!(
        list.contains("ES256\tcurrent") && list.contains("RS256\tretired"),
        "{list}"
    );
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Run from the wrong directory, a read-only command used to leave a new
/// `gatehouse.db` and master key there and then answer from that empty
/// database. Now it says where it looked, and how to point it elsewhere.
#[test]
fn read_only_commands_create_no_database_and_say_where_they_looked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The child resolves its working directory as getcwd does.
    let expected_path = d.canonicalize().unwrap().join("gatehouse.db");
    let commands: [&[&str]; 6] = [
        &["token", "verify", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"],
        &["tenant", "list"],
        &["user", "list"],
        &["user", "list", "--tenant", "acme"],
        &["key", "list"],
        &["key", "secret"],
    ];
    for args in commands {
        let o = gatehouse(d, args, "");
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
        assert!(
            err.starts_with(&format!(
                "gatehouse: no database at {}",
                expected_path.display()
            )),
            "{args:?}: names the path: {err}"
        );
        assert!(
            err.contains("(looked for sqlite://gatehouse.db)")
                && err.contains("--database-url")
                && err.contains("GATEHOUSE_DATABASE_URL"),
            "{args:?}: says how to point it elsewhere: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(entries(d), Vec::<String>::new(), "{args:?} created files");
    }
}

/// The commands that write still start from nothing, as before.
#[test]
fn write_commands_still_create_the_database_in_an_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = stdout(&gatehouse(
        d,
        &["user", "add", "alice"],
        "a long password\n",
    ));
    let user: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(user["username"], "alice");
    assert!(d.join("gatehouse.db").exists() && d.join("gatehouse.master.key").exists());
    let list = stdout(&gatehouse(d, &["user", "list"], ""));
    assert!(list.contains("\"alice\""), "{list}");

    let other = tempfile::tempdir().unwrap();
    let out = stdout(&gatehouse(other.path(), &["tenant", "create", "acme"], ""));
    assert!(out.contains("created tenant acme"), "{out}");
    let tenants = stdout(&gatehouse(other.path(), &["tenant", "list"], ""));
    assert!(
        tenants.contains("acme\t") && tenants.contains("default\t"),
        "{tenants}"
    );

    // From elsewhere, a read-only command finds that database when told.
    let url = format!("sqlite://{}", d.join("gatehouse.db").display());
    let list = stdout(&gatehouse(
        other.path(),
        &["--database-url", &url, "user", "list"],
        "",
    ));
    assert!(list.contains("\"alice\""), "{list}");
}

/// A read-only command neither makes a missing master key file nor the
/// `default` tenant: `migrate` leaves a database with neither.
#[test]
fn read_only_commands_make_no_master_key_and_no_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stdout(&gatehouse(d, &["migrate"], ""));
    assert!(!d.join("gatehouse.master.key").exists());

    let o = gatehouse(d, &["tenant", "list"], "");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let key_path = d.canonicalize().unwrap().join("gatehouse.master.key");
    assert!(
        err.contains(&format!("no master key file at {}", key_path.display()))
            && err.contains("GATEHOUSE_MASTER_KEY"),
        "{err}"
    );
    assert!(!d.join("gatehouse.master.key").exists(), "not created");

    let key = [(
        "GATEHOUSE_MASTER_KEY",
        "b2xkLW1hc3Rlci1rZXktMzItYnl0ZXMtbG9uZy0wMDA",
    )];
    for _ in 0..2 {
        let o = gatehouse_env(d, &["tenant", "list"], &key);
        assert_eq!(stdout(&o), "", "no tenant `default` was written");
    }
}

/// `gatehouse ... | head`: once the reader has gone, every command stops
/// quietly with status 0, without a panic or a "Broken pipe" message.
#[test]
fn commands_exit_quietly_when_their_output_pipe_closes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // SHA-256 hashes import without argon2: a thousand users in moments,
    // and their listing (over 100 KiB) more than a pipe's buffer holds.
    let sha = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
    let lines: String = (0..1000)
        .map(|i| {
            format!(
                "{{\"username\":\"user-{i:04}\",\"email\":\"user-{i:04}@example.com\",\
                 \"password_hash\":\"{sha}\"}}\n"
            )
        })
        .collect();
    std::fs::write(d.join("users.jsonl"), lines).unwrap();
    stdout(&gatehouse(d, &["import", "users.jsonl"], ""));
    let listing = stdout(&gatehouse(d, &["user", "list"], ""));
    assert!(listing.len() > 100 * 1024, "{} bytes", listing.len());

    let commands: [&[&str]; 4] = [
        &["user", "list"],
        &["tenant", "list"],
        &["key", "list"],
        &["tenant", "create", "acme"],
    ];
    for args in commands {
        let o = common::run_with_stdout_closed(d, args);
        let err = stderr(&o);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_eq!(err, "", "{args:?}: says nothing");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
    }
    // The write that found the pipe closed had already been done.
    let tenants = stdout(&gatehouse(d, &["tenant", "list"], ""));
    assert!(tenants.contains("acme\t"), "{tenants}");
}
