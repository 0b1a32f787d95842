//! `--log-format json` on the real binary: every line it writes is one JSON
//! object, and the lines of a request carry, in their `request` span, the
//! `request_id` that was answered as `X-Request-Id`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use common::{BIN, free_port};
use serde_json::Value;

/// Reads lines from `rx` until `done` holds for the ones read so far, or
/// 20 s pass (then fails, showing them).
fn lines_until(rx: &Receiver<String>, seen: &mut Vec<String>, done: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(seen) {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => seen.push(line),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                panic!("not found in the log within 20 s:\n{}", seen.join("\n"))
            }
        }
    }
}

/// The `request_id` of the `request` span a JSON log line was written in.
fn request_id_of(line: &Value) -> Option<&str> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|span| span["name"] == "request")?["request_id"]
        .as_str()
}

#[tokio::test]
async fn json_lines_carry_the_request_id_answered_as_x_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["--log-format", "json", "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env_remove("GATEHOUSE_LOG_FORMAT")
        .env("GATEHOUSE_SECRETS_DIR", dir.path().join("no-secrets"))
        // tower_http's lines at the start and end of each request.
        .env("GATEHOUSE_LOG", "info,tower_http=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let listening = |seen: &[String]| {
        seen.iter()
            .any(|l| l.contains("\"message\":\"gatehouse is listening\""))
    };
    lines_until(&rx, &mut seen, listening);

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    // An id the server makes, and one the client brings.
    let r = http
        .get(format!("{base}/t/default/auth"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let made = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid_like(&made), "{made}");
    let r = http
        .post(format!("{base}/t/default/login"))
        .header("x-request-id", "client-chosen-id-42")
        .json(&serde_json::json!({"username": "nobody", "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["x-request-id"], "client-chosen-id-42");

    // Each request's start and end lines, in its span.
    let finished = |id: &str, seen: &[String]| {
        seen.iter().any(|l| {
            l.contains("finished processing request")
                && l.contains(&format!("\"request_id\":\"{id}\""))
        })
    };
    lines_until(&rx, &mut seen, |s| {
        finished(&made, s) && finished("client-chosen-id-42", s)
    });
    let _ = child.kill();
    let _ = child.wait();

    let parsed: Vec<Value> = seen
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for line in &parsed {
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(line["level"].is_string(), "{line}");
        assert!(line["fields"].is_object(), "{line}");
    }
    for id in [made.as_str(), "client-chosen-id-42"] {
        let of_request: Vec<&Value> = parsed
            .iter()
            .filter(|l| request_id_of(l) == Some(id))
            .collect();
        assert!(
            of_request.len() >= 2,
            "start and end of {id}: {of_request:?}"
        );
        for line in &of_request {
            let span = line["spans"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == "request")
                .unwrap();
            assert!(span["path"].as_str().unwrap().starts_with("/t/default/"));
        }
    }
    // The password never reaches the log.
    assert!(!seen.iter().any(|l| l.contains("wrong password")));
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4
}
