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
    let commands: [&[&str]; 14] = [
        &["token", "verify", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"],
        &["client", "list"],
        &["client", "show", "some-client"],
        &["tenant", "list"],
        &["user", "list"],
        &["user", "list", "--tenant", "acme"],
        &["user", "list", "--search", "al", "--json"],
        &["user", "show", "alice"],
        &["user", "sessions", "alice"],
        &["key", "list"],
        &["key", "secret"],
        &["policy", "show"],
        &["apikey", "list"],
        &["secret", "list"],
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

/// `gatehouse ARGS` expected to fail: its one-line message.
fn failure(o: &Output) -> String {
    assert!(!o.status.success(), "should have failed: {}", stdout(o));
    let err = stderr(o);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    err
}

const POLICY_TOML: &str = r#"
[[rules]]
name = "health"
methods = ["GET"]
path = "/function/health"
allow = ["public"]

[[rules]]
name = "billing"
function = "billing-*"
allow = ["jwt", "api_key"]
scopes = ["billing"]

[[rules]]
name = "hook"
methods = ["POST"]
path = "/function/github-hook"
allow = ["hmac"]
hmac = { scheme = "github", secrets = ["github-hook", "github-hook-next"] }

[[rules]]
name = "rest"
path = "/**"
allow = ["deny"]
"#;

#[test]
fn policies_from_toml_and_json_files_round_trip_and_bad_ones_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let show = |args: &[&str]| -> Value {
        let mut all = vec!["policy", "show"];
        all.extend_from_slice(args);
        serde_json::from_str(&stdout(&gatehouse(d, &all, ""))).unwrap()
    };

    // TOML, for tenant default.
    std::fs::write(d.join("policy.toml"), POLICY_TOML).unwrap();
    let out = stdout(&gatehouse(d, &["policy", "set", "policy.toml"], ""));
    assert_eq!(out, "set 4 rules for tenant default\n");
    let shown = show(&[]);
    assert_eq!(shown["rules"].as_array().unwrap().len(), 4, "{shown}");
    assert_eq!(shown["rules"][1]["function"], "billing-*");
    assert_eq!(
        shown["rules"][2]["hmac"],
        json!({"scheme": "github", "secrets": ["github-hook", "github-hook-next"]})
    );
    // `show --format toml` writes a file `set` reads back as the same policy.
    let as_toml = stdout(&gatehouse(d, &["policy", "show", "--format", "toml"], ""));
    assert!(as_toml.contains("[[rules]]"), "{as_toml}");
    std::fs::write(d.join("shown.toml"), &as_toml).unwrap();
    stdout(&gatehouse(d, &["policy", "set", "shown.toml"], ""));
    assert_eq!(show(&[]), shown);

    // JSON, for another tenant; shown exactly as written.
    stdout(&gatehouse(d, &["tenant", "create", "acme"], ""));
    let json_policy = json!({"rules": [
        {"name": "fn", "methods": ["GET", "POST"], "path": "/function/fn/**", "allow": ["api_key"]},
        {"path": "/**", "allow": ["deny"]}
    ]});
    std::fs::write(d.join("acme.json"), json_policy.to_string()).unwrap();
    let out = stdout(&gatehouse(
        d,
        &["policy", "set", "--tenant", "acme", "acme.json"],
        "",
    ));
    assert_eq!(out, "set 2 rules for tenant acme\n");
    assert_eq!(show(&["--tenant", "acme"]), json_policy);
    assert_eq!(show(&[]), shown, "tenant default kept its own");

    // `-`: JSON on standard input.
    let one = json!({"rules": [{"name": "all", "path": "/**", "allow": ["jwt"]}]});
    let out = stdout(&gatehouse(
        d,
        &["policy", "set", "--tenant", "acme", "-"],
        &one.to_string(),
    ));
    assert_eq!(out, "set 1 rule for tenant acme\n");
    assert_eq!(show(&["--tenant", "acme"]), one);

    // A malformed rule: refused in the HTTP route's words, nothing changes.
    let bad = json!({"rules": [
        {"name": "ok", "path": "/a", "allow": ["jwt"]},
        {"name": "broken", "path": "/b", "allow": []}
    ]});
    std::fs::write(d.join("bad.json"), bad.to_string()).unwrap();
    let err = failure(&gatehouse(d, &["policy", "set", "bad.json"], ""));
    assert_eq!(
        err.trim(),
        "gatehouse: rule \"broken\": `allow` must not be empty"
    );
    std::fs::write(
        d.join("bad.toml"),
        "[[rules]]\npath = \"/a\"\nallow = [\"jwt\"]\n\n[[rules]]\npath = \"b\"\nallow = [\"jwt\"]\n",
    )
    .unwrap();
    let err = failure(&gatehouse(d, &["policy", "set", "bad.toml"], ""));
    assert!(
        err.contains("rule #2") && err.contains("start with `/`"),
        "{err}"
    );
    let err = failure(&gatehouse(d, &["policy", "set", "-"], "[[rules]]"));
    assert!(err.contains("the policy is not valid"), "{err}");
    std::fs::write(d.join("policy.yaml"), "rules: []").unwrap();
    let err = failure(&gatehouse(d, &["policy", "set", "policy.yaml"], ""));
    assert!(err.contains("*.json or *.toml"), "{err}");
    let err = failure(&gatehouse(d, &["policy", "set", "missing.json"], ""));
    assert!(err.contains("cannot read missing.json"), "{err}");
    assert_eq!(show(&[]), shown, "nothing half-applied");
    assert_eq!(show(&["--tenant", "acme"]), one);

    let err = failure(&gatehouse(d, &["policy", "show", "--tenant", "nope"], ""));
    assert!(err.contains("the tenant `nope` does not exist"), "{err}");
}

#[test]
fn api_keys_from_the_command_line_are_shown_once_and_listed_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = stdout(&gatehouse(
        d,
        &["user", "add", "alice"],
        "a long password\n",
    ));
    let alice: Value = serde_json::from_str(out.trim()).unwrap();
    let alice_id = alice["id"].as_str().unwrap();

    let out = stdout(&gatehouse(
        d,
        &[
            "apikey",
            "create",
            "--name",
            "ci",
            "--scope",
            "billing",
            "--scope",
            "reports",
            "--expires-in",
            "30d",
        ],
        "",
    ));
    assert_eq!(out.lines().count(), 1, "{out}");
    let ci: Value = serde_json::from_str(out.trim()).unwrap();
    let ci_key = ci["key"].as_str().unwrap();
    let ci_id = ci["id"].as_str().unwrap();
    assert!(ci_key.starts_with(&format!("ghk_{ci_id}_")), "{ci}");
    assert_eq!(ci["name"], "ci");
    assert_eq!(ci["scopes"], json!(["billing", "reports"]));
    assert_eq!(ci["user"], Value::Null);
    assert_eq!(
        ci["expires_at"].as_i64().unwrap() - ci["created_at"].as_i64().unwrap(),
        30 * 86400
    );

    let out = stdout(&gatehouse(
        d,
        &["apikey", "create", "--name", "alice's", "--user", "alice"],
        "",
    ));
    let own: Value = serde_json::from_str(out.trim()).unwrap();
    let own_key = own["key"].as_str().unwrap();
    assert_eq!(own["user"], alice_id, "the username resolves to the id");
    assert_eq!(own["scopes"], json!([]));
    assert_eq!(own["expires_at"], Value::Null);

    let list = stdout(&gatehouse(d, &["apikey", "list"], ""));
    let listed: Vec<Value> = list
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 2, "{list}");
    assert!(list.contains(ci_id), "{list}");
    for key in [ci_key, own_key] {
        let secret = &key[key.len() - 43..];
        assert!(!list.contains(secret), "the secret is listed: {list}");
    }
    assert!(listed.iter().all(|k| k.get("key").is_none()), "{list}");
    let mut ci_listed = ci.clone();
    ci_listed.as_object_mut().unwrap().remove("key");
    assert!(listed.contains(&ci_listed), "the same fields: {list}");

    let mine = stdout(&gatehouse(d, &["apikey", "list", "--user", "alice"], ""));
    assert_eq!(mine.lines().count(), 1, "{mine}");
    assert!(mine.contains(own["id"].as_str().unwrap()), "{mine}");
    let err = failure(&gatehouse(d, &["apikey", "list", "--user", "bob"], ""));
    assert!(err.contains("the user was not found"), "{err}");

    // Core's checks, in core's words.
    let err = failure(&gatehouse(
        d,
        &["apikey", "create", "--name", "x", "--expires-in", "20years"],
        "",
    ));
    assert!(err.contains("expires_in is 1 to"), "{err}");
    let err = failure(&gatehouse(
        d,
        &["apikey", "create", "--name", "x", "--scope", "a\"b"],
        "",
    ));
    assert!(err.contains("scope tokens"), "{err}");
    let err = failure(&gatehouse(
        d,
        &["apikey", "create", "--name", "x", "--user", "bob"],
        "",
    ));
    assert!(err.contains("the user was not found"), "{err}");

    let out = stdout(&gatehouse(d, &["apikey", "revoke", ci_id], ""));
    assert_eq!(out, format!("revoked API key {ci_id}\n"));
    let list = stdout(&gatehouse(d, &["apikey", "list"], ""));
    assert!(!list.contains(ci_id) && list.lines().count() == 1, "{list}");
    let err = failure(&gatehouse(d, &["apikey", "revoke", ci_id], ""));
    assert_eq!(err.trim(), "gatehouse: the API key was not found");
}

#[test]
fn secrets_come_from_stdin_and_are_listed_by_name_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let value = "a-webhook-secret-from-github";
    let out = stdout(&gatehouse(
        d,
        &["secret", "set", "github-hook"],
        &format!("{value}\n"),
    ));
    assert_eq!(out, "set secret github-hook for tenant default\n");
    assert!(!out.contains(value));

    let generated = stdout(&gatehouse(
        d,
        &["secret", "set", "--generate", "stripe"],
        "",
    ));
    let generated = generated.trim();
    assert!(generated.starts_with("whsec_"), "{generated}");

    let list = stdout(&gatehouse(d, &["secret", "list"], ""));
    let names: Vec<String> = list
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert!(v.get("value").is_none(), "{l}");
            v["name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(names, ["github-hook", "stripe"], "{list}");
    assert!(
        !list.contains(value) && !list.contains(generated),
        "a value is listed: {list}"
    );

    // Never from argv; nothing on stdin is an error; names are checked.
    assert!(
        !gatehouse(d, &["secret", "set", "other", value], "")
            .status
            .success()
    );
    let err = failure(&gatehouse(d, &["secret", "set", "other"], ""));
    assert!(
        err.contains("no value given") && err.contains("--generate"),
        "{err}"
    );
    let err = failure(&gatehouse(d, &["secret", "set", "a/b"], "x\n"));
    assert!(err.contains("a secret name is"), "{err}");
    let err = failure(&gatehouse(d, &["secret", "list", "--tenant", "nope"], ""));
    assert!(err.contains("the tenant `nope` does not exist"), "{err}");

    let out = stdout(&gatehouse(d, &["secret", "delete", "github-hook"], ""));
    assert_eq!(out, "deleted secret github-hook\n");
    let list = stdout(&gatehouse(d, &["secret", "list"], ""));
    assert!(
        !list.contains("github-hook") && list.contains("stripe"),
        "{list}"
    );
    let err = failure(&gatehouse(d, &["secret", "delete", "github-hook"], ""));
    assert_eq!(err.trim(), "gatehouse: the secret was not found");
}

/// What the CLI sets and makes, a running server applies: a policy set
/// while it runs (within its 1 s tenant cache) and a key made by the CLI
/// open a guarded path; the revoked key stops working (within its 1 s key
/// cache).
#[tokio::test]
async fn a_key_made_on_the_command_line_opens_a_guarded_path_on_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(
        d,
        &[],
        &[
            ("GATEHOUSE_KEYRING_CACHE_TTL", "1s"),
            ("GATEHOUSE_API_KEY_CACHE_TTL", "1s"),
        ],
    );
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let iss = format!("{}/t/default", server.base);
    let auth = |path: &'static str, key: Option<String>| {
        let mut r = http
            .get(format!("{iss}/auth"))
            .header("x-original-method", "GET")
            .header("x-original-uri", path);
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        r.send()
    };
    // Before any policy, a key is not enough: the server's cache now holds
    // the tenant, so the policy below has to reach it by expiry.
    assert_eq!(
        auth("/function/guarded/x", None).await.unwrap().status(),
        401
    );

    let policy = json!({"rules": [
        {"name": "guarded", "path": "/function/guarded/**", "allow": ["api_key"]},
        {"name": "rest", "path": "/**", "allow": ["deny"]}
    ]});
    stdout(&gatehouse(d, &["policy", "set", "-"], &policy.to_string()));
    let out = stdout(&gatehouse(d, &["apikey", "create", "--name", "e2e"], ""));
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();

    let deadline = Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r = auth("/function/guarded/x", Some(key.clone()))
            .await
            .unwrap();
        if r.status() == 200 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(header(&r, "x-auth-credential").as_deref(), Some("api_key"));
    assert_eq!(header(&r, "x-auth-key-id").as_deref(), Some(id.as_str()));
    // The rest of the policy holds too.
    let r = auth("/function/other", Some(key.clone())).await.unwrap();
    assert_eq!(r.status(), 403);
    let r = auth("/function/guarded/x", None).await.unwrap();
    assert_eq!(r.status(), 401);

    stdout(&gatehouse(d, &["apikey", "revoke", &id], ""));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let s = auth("/function/guarded/x", Some(key.clone()))
            .await
            .unwrap()
            .status();
        if s != 200 || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, 401, "the revoked key is refused");
}

/// The value of a `label: value` line of a command's plain output.
fn labelled<'a>(out: &'a str, label: &str) -> Option<&'a str> {
    out.lines().find_map(|l| {
        l.strip_prefix(label)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(str::trim)
    })
}

/// Every byte Gatehouse keeps on disk beside its database (the SQLite
/// file, its WAL and shared memory), to look for what must not be there.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in entries(dir) {
        if name.starts_with("gatehouse.db") {
            bytes.extend(std::fs::read(dir.join(name)).unwrap());
        }
    }
    bytes
}

fn contains_bytes(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn clients_from_the_command_line_show_their_secret_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Plain output: labelled lines, the secret once, and the warning.
    let out = stdout(&gatehouse(
        d,
        &[
            "client",
            "create",
            "--name",
            "billing-service",
            "--grants",
            "client_credentials",
            "--scopes",
            "billing reports",
            "--scopes",
            "audit,export",
        ],
        "",
    ));
    let id = labelled(&out, "client_id").unwrap().to_string();
    let secret = labelled(&out, "client_secret").unwrap().to_string();
    assert_eq!(secret.len(), 43, "256 bits, base64url: {out}");
    assert_eq!(
        labelled(&out, "scopes"),
        Some("billing reports audit export"),
        "{out}"
    );
    assert!(
        out.contains("cannot show it again") && out.matches(&secret).count() == 1,
        "{out}"
    );

    // `--json`: the admin API's answer, secret included, once.
    let out = stdout(&gatehouse(
        d,
        &["client", "create", "--name", "reports", "--json"],
        "",
    ));
    assert_eq!(out.lines().count(), 1, "{out}");
    let reports: Value = serde_json::from_str(out.trim()).unwrap();
    let reports_id = reports["client_id"].as_str().unwrap().to_string();
    let reports_secret = reports["client_secret"].as_str().unwrap().to_string();
    assert_eq!(reports["type"], "confidential");
    assert_eq!(
        reports["grants"],
        json!(["client_credentials"]),
        "a service gets client credentials by default"
    );
    assert_eq!(reports["token_endpoint_auth_method"], "client_secret_basic");

    // A public client: no secret, in either form.
    let out = stdout(&gatehouse(
        d,
        &[
            "client",
            "create",
            "--name",
            "spa",
            "--type",
            "public",
            "--redirect-uri",
            "http://localhost:3000/cb",
            "--redirect-uri",
            "https://app.example/cb",
            "--post-logout-redirect-uri",
            "https://app.example/",
        ],
        "",
    ));
    let spa_id = labelled(&out, "client_id").unwrap().to_string();
    assert_eq!(labelled(&out, "client_secret"), None, "{out}");
    assert!(out.contains("no secret"), "{out}");
    let out = stdout(&gatehouse(
        d,
        &[
            "client",
            "create",
            "--name",
            "cli-app",
            "--type",
            "public",
            "--redirect-uri",
            "http://127.0.0.1:9999/cb",
            "--json",
        ],
        "",
    ));
    let cli_app: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(cli_app.get("client_secret").is_none(), "{cli_app}");
    assert_eq!(cli_app["token_endpoint_auth_method"], "none");
    assert_eq!(
        cli_app["grants"],
        json!(["authorization_code", "refresh_token"])
    );

    // Listed and shown, never with a secret.
    let list = stdout(&gatehouse(d, &["client", "list"], ""));
    assert_eq!(list.lines().count(), 4, "{list}");
    assert!(
        list.lines().any(|l| l.starts_with(&format!(
            "{id}\tbilling-service\tconfidential\tclient_credentials\tbilling reports audit export"
        ))),
        "{list}"
    );
    let json_list = stdout(&gatehouse(d, &["client", "list", "--json"], ""));
    let listed: Vec<Value> = serde_json::from_str(json_list.trim()).unwrap();
    assert_eq!(listed.len(), 4, "{json_list}");
    assert!(listed.iter().all(|c| c.get("client_secret").is_none()));
    let mut reports_listed = reports.clone();
    reports_listed
        .as_object_mut()
        .unwrap()
        .remove("client_secret");
    assert!(
        listed.contains(&reports_listed),
        "the same fields: {json_list}"
    );

    let show = stdout(&gatehouse(d, &["client", "show", &spa_id], ""));
    assert_eq!(labelled(&show, "type"), Some("public"), "{show}");
    assert!(
        show.contains("http://localhost:3000/cb")
            && show.contains("https://app.example/cb")
            && show.contains("https://app.example/\n"),
        "{show}"
    );
    let shown: Value = serde_json::from_str(
        stdout(&gatehouse(
            d,
            &["client", "show", &reports_id, "--json"],
            "",
        ))
        .trim(),
    )
    .unwrap();
    assert_eq!(shown, reports_listed);
    for output in [
        &list,
        &json_list,
        &show,
        &stdout(&gatehouse(d, &["client", "show", &id], "")),
    ] {
        assert!(
            !output.contains(&secret) && !output.contains(&reports_secret),
            "a secret is shown: {output}"
        );
    }

    // A new secret, different from the old, which keeps working for the
    // overlap; a public client has none to rotate.
    let out = stdout(&gatehouse(
        d,
        &["client", "rotate-secret", &id, "--overlap", "1h"],
        "",
    ));
    assert_eq!(labelled(&out, "client_id"), Some(id.as_str()), "{out}");
    let rotated = labelled(&out, "client_secret").unwrap().to_string();
    assert_eq!(rotated.len(), 43, "{out}");
    assert_ne!(rotated, secret);
    assert!(
        out.contains("cannot show it again") && out.contains("previous secret works until"),
        "{out}"
    );
    let out = stdout(&gatehouse(
        d,
        &["client", "rotate-secret", &reports_id, "--json"],
        "",
    ));
    let again: Value = serde_json::from_str(out.trim()).unwrap();
    assert_ne!(again["client_secret"], reports["client_secret"]);
    // The configured overlap (24 h) by default, from the moment it ran.
    let overlap = again["previous_secret_expires_at"].as_i64().unwrap()
        - reports["created_at"].as_i64().unwrap();
    assert!((24 * 3600..24 * 3600 + 120).contains(&overlap), "{overlap}");
    let err = failure(&gatehouse(d, &["client", "rotate-secret", &spa_id], ""));
    assert!(err.contains("public client has no secret"), "{err}");
    let err = failure(&gatehouse(
        d,
        &["client", "rotate-secret", &id, "--overlap", "60d"],
        "",
    ));
    assert!(err.contains("overlap must be between"), "{err}");

    // Secrets are kept only as hashes.
    let bytes = database_bytes(d);
    assert!(!bytes.is_empty());
    for s in [&secret, &rotated, &reports_secret] {
        assert!(!contains_bytes(&bytes, s), "a secret is stored in clear");
    }

    // Bad input: one line naming the problem, and nothing written.
    let err = failure(&gatehouse(
        d,
        &["client", "create", "--name", "x", "--type", "secret"],
        "",
    ));
    assert!(
        err.contains("client type must be `confidential` or `public`"),
        "{err}"
    );
    let err = failure(&gatehouse(
        d,
        &["client", "create", "--name", "x", "--grants", "password"],
        "",
    ));
    assert!(err.contains("password grant"), "{err}");
    let err = failure(&gatehouse(
        d,
        &[
            "client",
            "create",
            "--name",
            "x",
            "--type",
            "public",
            "--grants",
            "client_credentials",
        ],
        "",
    ));
    assert!(err.contains("cannot use client_credentials"), "{err}");
    let err = failure(&gatehouse(
        d,
        &[
            "client",
            "create",
            "--name",
            "x",
            "--grants",
            "authorization_code",
        ],
        "",
    ));
    assert!(err.contains("redirect URI"), "{err}");
    let err = failure(&gatehouse(d, &["client", "list", "--tenant", "nope"], ""));
    assert!(err.contains("the tenant `nope` does not exist"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    failure(&gatehouse(
        empty.path(),
        &["client", "create", "--name", "x", "--type", "secret"],
        "",
    ));
    assert_eq!(entries(empty.path()), Vec::<String>::new(), "created files");
    assert_eq!(
        stdout(&gatehouse(d, &["client", "list"], ""))
            .lines()
            .count(),
        4,
        "no client was made by a refused command"
    );

    let out = stdout(&gatehouse(d, &["client", "delete", &id], ""));
    assert!(out.starts_with(&format!("deleted client {id}")), "{out}");
    let list = stdout(&gatehouse(d, &["client", "list"], ""));
    assert!(!list.contains(&id) && list.lines().count() == 3, "{list}");
    let err = failure(&gatehouse(d, &["client", "show", &id], ""));
    assert_eq!(err.trim(), "gatehouse: the client was not found");
    let err = failure(&gatehouse(d, &["client", "delete", &id], ""));
    assert_eq!(err.trim(), "gatehouse: the client was not found");
}

#[test]
fn roles_are_granted_and_revoked_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = stdout(&gatehouse(
        d,
        &["user", "add", "alice"],
        "a long password\n",
    ));
    let alice: Value = serde_json::from_str(out.trim()).unwrap();
    let alice_id = alice["id"].as_str().unwrap();
    let roles = || -> Value {
        let list = stdout(&gatehouse(d, &["user", "list"], ""));
        let user: Value = serde_json::from_str(list.trim()).unwrap();
        user["roles"].clone()
    };
    assert_eq!(roles(), json!([]));

    let out = stdout(&gatehouse(d, &["user", "grant", "alice", "billing"], ""));
    assert_eq!(out, format!("alice ({alice_id}) roles: billing\n"));
    // By id too; granting twice changes nothing.
    stdout(&gatehouse(d, &["user", "grant", alice_id, "admin"], ""));
    let out = stdout(&gatehouse(d, &["user", "grant", "alice", "admin"], ""));
    assert!(out.ends_with("roles: billing admin\n"), "{out}");
    assert_eq!(roles(), json!(["billing", "admin"]));

    let out = stdout(&gatehouse(d, &["user", "revoke", "alice", "billing"], ""));
    assert!(out.ends_with("roles: admin\n"), "{out}");
    assert_eq!(roles(), json!(["admin"]));
    let out = stdout(&gatehouse(d, &["user", "revoke", "alice", "admin"], ""));
    assert!(out.ends_with("roles: (none)\n"), "{out}");
    assert_eq!(roles(), json!([]));

    let err = failure(&gatehouse(d, &["user", "grant", "bob", "admin"], ""));
    assert_eq!(err.trim(), "gatehouse: the user was not found");
    let err = failure(&gatehouse(
        d,
        &["user", "grant", "--tenant", "nope", "alice", "admin"],
        "",
    ));
    assert!(err.contains("the tenant `nope` does not exist"), "{err}");
}

#[test]
fn tenant_display_names_are_set_and_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = stdout(&gatehouse(
        d,
        &["tenant", "create", "acme", "--display-name", "Acme Corp"],
        "",
    ));
    assert!(out.contains("shown as \"Acme Corp\""), "{out}");
    let display_of = |name: &str| -> String {
        let list = stdout(&gatehouse(d, &["tenant", "list"], ""));
        let line = list
            .lines()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("{name} not listed: {list}"));
        line.rsplit('\t').next().unwrap().to_string()
    };
    assert_eq!(display_of("acme"), "Acme Corp");
    assert_eq!(display_of("default"), "-");

    let out = stdout(&gatehouse(
        d,
        &["tenant", "set", "acme", "--display-name", "Acme Ltd."],
        "",
    ));
    assert_eq!(
        out,
        "tenant acme is shown as \"Acme Ltd.\" on the hosted pages\n"
    );
    assert_eq!(display_of("acme"), "Acme Ltd.");
    let out = stdout(&gatehouse(
        d,
        &["tenant", "set", "acme", "--clear-display-name"],
        "",
    ));
    assert_eq!(
        out,
        "tenant acme is shown by its name on the hosted pages\n"
    );
    assert_eq!(display_of("acme"), "-");

    let err = failure(&gatehouse(
        d,
        &["tenant", "set", "acme", "--display-name", " "],
        "",
    ));
    assert!(err.contains("display name must be 1 to 100"), "{err}");
    let err = failure(&gatehouse(
        d,
        &["tenant", "set", "nope", "--display-name", "Nope"],
        "",
    ));
    assert!(err.contains("the tenant `nope` does not exist"), "{err}");
    // One of the two flags, not none and not both.
    assert!(
        !gatehouse(d, &["tenant", "set", "acme"], "")
            .status
            .success()
    );
    assert!(
        !gatehouse(
            d,
            &[
                "tenant",
                "set",
                "acme",
                "--display-name",
                "A",
                "--clear-display-name"
            ],
            "",
        )
        .status
        .success()
    );
    assert_eq!(display_of("acme"), "-");
}

/// What the CLI registers and grants, a running server honours: a client
/// made by `client create` gets a client-credentials token; after
/// `rotate-secret --overlap 0s` its old secret is refused (within the 1 s
/// client cache) and the new one works; a role granted by `user grant`
/// lets its user be granted the scope of the same name.
#[tokio::test]
async fn a_client_made_on_the_command_line_gets_a_token_from_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(d, &[], &[("GATEHOUSE_CLIENT_CACHE_TTL", "1s")]);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let iss = format!("{}/t/default", server.base);

    let out = stdout(&gatehouse(
        d,
        &[
            "client",
            "create",
            "--name",
            "billing-service",
            "--scopes",
            "billing,reports",
            "--json",
        ],
        "",
    ));
    let made: Value = serde_json::from_str(out.trim()).unwrap();
    let id = made["client_id"].as_str().unwrap().to_string();
    let secret = made["client_secret"].as_str().unwrap().to_string();
    let token = |secret: String, scope: Option<&'static str>| {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        http.post(format!("{iss}/token"))
            .basic_auth(&id, Some(secret))
            .form(&form)
            .send()
    };

    let r = token(secret.clone(), Some("billing")).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let claims = common::claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["scope"], "billing");
    assert_eq!(claims["iss"], iss.as_str());
    let r = token("not-the-secret".into(), None).await.unwrap();
    assert_eq!(r.status(), 401);

    let out = stdout(&gatehouse(
        d,
        &["client", "rotate-secret", &id, "--overlap", "0s", "--json"],
        "",
    ));
    let rotated: Value = serde_json::from_str(out.trim()).unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap().to_string();
    // The server holds the client in its cache (1 s here): the new secret
    // works, and the old one is refused, once that has expired.
    let deadline = Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r = token(new_secret.clone(), None).await.unwrap();
        if r.status() == 200 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = token(secret.clone(), None).await.unwrap();
    assert_eq!(r.status(), 401, "the old secret is refused: no overlap");

    // Roles from the CLI: the scope of a role is granted only with it.
    stdout(&gatehouse(
        d,
        &["user", "add", "alice"],
        "a long password\n",
    ));
    let login = || {
        http.post(format!("{iss}/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "a long password"),
                ("scope", "openid billing"),
            ])
            .send()
    };
    let body: Value = login().await.unwrap().json().await.unwrap();
    assert_eq!(body["scope"], "openid", "{body}");
    stdout(&gatehouse(d, &["user", "grant", "alice", "billing"], ""));
    let body: Value = login().await.unwrap().json().await.unwrap();
    assert_eq!(body["scope"], "openid billing", "{body}");
    let claims = common::claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["roles"], json!(["billing"]), "{claims}");
}

/// `gatehouse user list|show|sessions|revoke-sessions|disable|enable|
/// delete` on the database of a running server: what the commands change,
/// the server enforces at once (sessions and the disabled flag are read
/// from the store at every refresh and login).
#[tokio::test]
async fn users_are_paged_shown_disabled_and_their_sessions_ended_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(d, &[], &[]);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let iss = format!("{}/t/default", server.base);
    let register = |username: &'static str| {
        http.post(format!("{iss}/register"))
            .json(&json!({"username": username, "password": "a long password", "email": format!("{username}@example.com")}))
            .send()
    };
    let login = |username: &'static str, agent: &'static str| {
        http.post(format!("{iss}/login"))
            .header("user-agent", agent)
            .json(&json!({"username": username, "password": "a long password"}))
            .send()
    };
    let refresh = |rt: String| {
        http.post(format!("{iss}/token"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
            .send()
    };
    for name in ["alice", "bob"] {
        assert_eq!(register(name).await.unwrap().status(), 201);
    }
    let laptop: Value = login("alice", "AliceLaptop/1.0")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let phone: Value = login("alice", "AlicePhone/2.0")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rt = |t: &Value| t["refresh_token"].as_str().unwrap().to_string();

    // `user list` without flags: as before, every user, one JSON line each.
    let all = stdout(&gatehouse(d, &["user", "list"], ""));
    assert_eq!(all.lines().count(), 2, "{all}");
    assert!(
        all.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{all}"
    );
    // Pages, as the admin API answers them.
    let page: Value = serde_json::from_str(&stdout(&gatehouse(
        d,
        &["user", "list", "--limit", "1", "--json"],
        "",
    )))
    .unwrap();
    assert_eq!(page["users"].as_array().unwrap().len(), 1, "{page}");
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let next: Value = serde_json::from_str(&stdout(&gatehouse(
        d,
        &[
            "user", "list", "--limit", "1", "--cursor", &cursor, "--json",
        ],
        "",
    )))
    .unwrap();
    assert_eq!(next["next_cursor"], Value::Null, "{next}");
    assert_ne!(next["users"][0]["id"], page["users"][0]["id"]);
    let o = gatehouse(d, &["user", "list", "--limit", "1"], "");
    assert_eq!(stdout(&o).lines().count(), 1);
    assert!(
        stderr(&o).contains(&format!("more users: add --cursor {cursor}")),
        "{}",
        stderr(&o)
    );
    let found = stdout(&gatehouse(d, &["user", "list", "--search", "AL"], ""));
    let found: Value = serde_json::from_str(found.trim()).unwrap();
    assert_eq!(found["username"], "alice");

    // show
    let shown = stdout(&gatehouse(d, &["user", "show", "alice"], ""));
    assert_eq!(labelled(&shown, "username"), Some("alice"), "{shown}");
    assert_eq!(labelled(&shown, "email_verified"), Some("no"), "{shown}");
    assert_eq!(labelled(&shown, "disabled"), Some("no"), "{shown}");
    let alice: Value = serde_json::from_str(&stdout(&gatehouse(
        d,
        &["user", "show", "alice", "--json"],
        "",
    )))
    .unwrap();
    let alice_id = alice["id"].as_str().unwrap().to_string();
    let by_id: Value = serde_json::from_str(&stdout(&gatehouse(
        d,
        &["user", "show", &alice_id, "--json"],
        "",
    )))
    .unwrap();
    assert_eq!(by_id, alice);
    let err = failure(&gatehouse(d, &["user", "show", "nobody"], ""));
    assert_eq!(err.trim(), "gatehouse: the user was not found");

    // sessions: newest first, with where they came from.
    let table = stdout(&gatehouse(d, &["user", "sessions", "alice"], ""));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "id\tcreated\tlast_refreshed\tclient\tip\tuser_agent"
    );
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[1].ends_with("\t-\tgatehouse\t127.0.0.1\tAlicePhone/2.0"),
        "{table}"
    );
    assert!(lines[2].ends_with("\tAliceLaptop/1.0"), "{table}");
    let sessions: Value = serde_json::from_str(&stdout(&gatehouse(
        d,
        &["user", "sessions", "alice", "--json"],
        "",
    )))
    .unwrap();
    let sessions = sessions["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["user_agent"], "AlicePhone/2.0");
    assert_eq!(sessions[0]["ip"], "127.0.0.1");
    assert!(sessions[0]["created_at"].is_i64() && sessions[0]["last_refreshed_at"].is_null());
    let phone_sid = sessions[0]["id"].as_str().unwrap().to_string();

    // End one session: the server refuses its refresh at once.
    let out = stdout(&gatehouse(
        d,
        &[
            "user",
            "revoke-sessions",
            "alice",
            "--session",
            &phone_sid,
            "--json",
        ],
        "",
    ));
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"revoked": 1})
    );
    assert_eq!(refresh(rt(&phone)).await.unwrap().status(), 400);
    let r = refresh(rt(&laptop)).await.unwrap();
    assert_eq!(r.status(), 200);
    let laptop: Value = r.json().await.unwrap();
    let err = failure(&gatehouse(
        d,
        &["user", "revoke-sessions", "bob", "--session", &phone_sid],
        "",
    ));
    assert!(err.contains("the session was not found"), "{err}");

    // Disable: the remaining session ends, the right password is refused.
    let out = stdout(&gatehouse(d, &["user", "disable", "alice"], ""));
    assert_eq!(
        out,
        format!(
            "disabled user alice ({alice_id}): their sessions have ended and their logins are refused\n"
        )
    );
    assert_eq!(refresh(rt(&laptop)).await.unwrap().status(), 400);
    let r = login("alice", "x").await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "account_disabled"
    );
    let shown: Value = serde_json::from_str(&stdout(&gatehouse(
        d,
        &["user", "show", "alice", "--json"],
        "",
    )))
    .unwrap();
    assert_eq!(shown["disabled"], true);
    let enabled: Value = serde_json::from_str(&stdout(&gatehouse(
        d,
        &["user", "enable", "alice", "--json"],
        "",
    )))
    .unwrap();
    assert_eq!(enabled["disabled"], false);
    let again: Value = login("alice", "x").await.unwrap().json().await.unwrap();
    assert!(again["access_token"].is_string(), "{again}");
    let out = stdout(&gatehouse(d, &["user", "revoke-sessions", "alice"], ""));
    assert_eq!(out, "ended 1 session of alice\n");
    assert_eq!(refresh(rt(&again)).await.unwrap().status(), 400);

    // Delete: the username is free again.
    let out = stdout(&gatehouse(d, &["user", "delete", "alice", "--json"], ""));
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"deleted": alice_id})
    );
    assert_eq!(register("alice").await.unwrap().status(), 201);
    drop(server);
}

/// `gatehouse tenant set --email-verification --mail-from`: checked whole
/// before anything is written, and honoured by a running server once its
/// tenant cache expires.
#[tokio::test]
async fn tenant_email_verification_and_mail_from_are_set_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(d, &[], &[("GATEHOUSE_KEYRING_CACHE_TTL", "1s")]);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let out = stdout(&gatehouse(
        d,
        &[
            "tenant",
            "set",
            "default",
            "--email-verification",
            "required",
            "--mail-from",
            "Acme <no-reply@acme.example>",
        ],
        "",
    ));
    assert_eq!(
        out,
        "tenant default: email_verification required, mails from Acme <no-reply@acme.example>\n"
    );
    // The running server: a sign-up now waits for its address.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0;
    let status = loop {
        n += 1;
        let r = http
            .post(format!("{}/t/default/register", server.base))
            .json(&json!({"username": format!("u{n}"), "password": "a long password", "email": format!("u{n}@example.com")}))
            .send()
            .await
            .unwrap();
        if r.status() == 202 || Instant::now() > deadline {
            break r.status();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, 202);

    for (args, says) in [
        (
            &["--email-verification", "sometimes"][..],
            "email_verification must be off, optional or required",
        ),
        (
            &["--mail-from", "nobody"][..],
            "mail_from must be an address",
        ),
        (
            &["--display-name", "Renamed", "--email-verification", "bogus"][..],
            "email_verification must be",
        ),
    ] {
        let mut all = vec!["tenant", "set", "default"];
        all.extend_from_slice(args);
        let err = failure(&gatehouse(d, &all, ""));
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let list = stdout(&gatehouse(d, &["tenant", "list"], ""));
    assert!(
        list.contains("default\t") && !list.contains("Renamed"),
        "{list}"
    );
    assert!(
        !gatehouse(
            d,
            &[
                "tenant",
                "set",
                "default",
                "--mail-from",
                "a@b.example",
                "--clear-mail-from"
            ],
            ""
        )
        .status
        .success()
    );
    let out = stdout(&gatehouse(
        d,
        &[
            "tenant",
            "set",
            "default",
            "--email-verification",
            "off",
            "--clear-mail-from",
        ],
        "",
    ));
    assert_eq!(
        out,
        "tenant default: email_verification off, mails from the server's smtp_from\n"
    );
    drop(server);
}

/// `gatehouse events` lists what commands (and servers) recorded, and
/// `gatehouse user unlock` is recorded too: a one-shot command writes its
/// buffered audit events before it exits.
#[test]
fn audit_events_from_commands_are_listed_and_unlock_is_one_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stdout(&gatehouse(
        d,
        &["user", "add", "alice"],
        "a long password\n",
    ));
    stdout(&gatehouse(d, &["user", "disable", "alice"], ""));
    let out = stdout(&gatehouse(d, &["user", "unlock", "alice", "--json"], ""));
    let alice: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(alice["failed_logins"], 0);
    let page: Value = serde_json::from_str(
        stdout(&gatehouse(d, &["events", "--json", "--limit", "10"], "")).trim(),
    )
    .unwrap();
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    // Newest first.
    assert_eq!(
        kinds,
        ["user.unlocked", "user.disabled", "user.registered"],
        "{page}"
    );
    let text = stdout(&gatehouse(d, &["events", "--kind", "user.disabled"], ""));
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("user.disabled") && text.contains("actor=admin"),
        "{text}"
    );
}
