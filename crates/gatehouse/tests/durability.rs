//! SQLite durability: a server killed with SIGKILL in the middle of a
//! stream of registrations keeps every registration it answered 201.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::serve;
use serde_json::json;

const FAST_ARGON2: [(&str, &str); 2] = [
    ("GATEHOUSE_ARGON2__MEMORY_KIB", "1024"),
    ("GATEHOUSE_ARGON2__ITERATIONS", "1"),
];

#[tokio::test]
async fn every_acknowledged_registration_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(dir.path(), &[], &FAST_ARGON2);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("{}/t/default/register", server.base);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();

    // Four writers, bounded in time and count.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (http, url, acknowledged) = (http.clone(), url.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for i in 0..10_000 {
                    if started.elapsed() > Duration::from_secs(8) {
                        break;
                    }
                    let name = format!("w{w}-{i}");
                    let sent = http
                        .post(&url)
                        .json(&json!({"username": name, "password": "a long password"}))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 201 => acknowledged.lock().unwrap().push(name),
                        Ok(r) => panic!("unexpected {} before the kill", r.status()),
                        Err(_) => break, // the server is gone
                    }
                }
            })
        })
        .collect();

    // Kill mid-stream, once a fair number have been acknowledged.
    while acknowledged.lock().unwrap().len() < 100 && started.elapsed() < Duration::from_secs(6) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().unwrap(); // SIGKILL: no shutdown, no checkpoint
    server.child.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 20,
        "too few registrations before the kill: {}",
        acknowledged.len()
    );

    // Restart on the same files; every acknowledged user is there.
    let _restarted = serve(dir.path(), &[], &FAST_ARGON2);
    let out = std::process::Command::new(common::BIN)
        .args(["user", "list"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let present: HashSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["username"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !present.contains(*n))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged registrations lost: {lost:?}",
        lost.len()
    );
    eprintln!(
        "{} registrations acknowledged before SIGKILL, all present after restart",
        acknowledged.len()
    );
}
