//! The account flows do not tell which accounts exist: for an existing
//! and a missing account, `password/forgot`, `verify-email/resend` and
//! (with `email_verification = required`) `register` answer byte for byte
//! the same, and cost the same KDF calls and the same mails queued (a
//! missing account's decoy is queued and dropped by the sender). Counted
//! as the login test counts hashes: `TestApp::hasher`, and the mail
//! queue's `accepted` counter, with mail going to a real SMTP server.
//!
//! With `optional` or `off`, a taken username is a 409 by design (a
//! username-based sign-up has to say so; README "Email verification").

use std::sync::atomic::Ordering;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::accounts::set_tenant;
use crate::helpers::{Options, PASSWORD, TestApp, error_code, spawn_app_with};
use crate::mail_sink::{
    SmtpSink, aiosmtpd_available, mail_counts, to_sink, wait_accepted, wait_settled,
};

/// What a client sees of an answer, minus the headers that differ on
/// every response whatever was asked (`date`, `x-request-id`).
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: StatusCode,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

/// What one request cost the server.
#[derive(Debug, PartialEq, Eq)]
struct Cost {
    hashes: usize,
    verifies: usize,
    mails_queued: u64,
}

async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status();
    let mut headers: Vec<(String, Vec<u8>)> = r
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    headers.sort();
    Answer {
        status,
        headers,
        body: r.bytes().await.unwrap().to_vec(),
    }
}

/// POSTs `body` to `path` and waits for the one mail the request queues
/// (a link or a decoy), in the background or not; returns the answer and
/// what the request cost.
async fn measured(app: &TestApp, path: &str, body: Value) -> (Answer, Cost) {
    let hashes = app.hasher.hashes.load(Ordering::SeqCst);
    let verifies = app.hasher.verify_count();
    let mails = mail_counts(app).accepted;
    let a = answer(app.post_json(path, &body).await).await;
    // The background lookup ends with its mail; then nothing else runs.
    let after = wait_accepted(app, mails + 1).await;
    let cost = Cost {
        hashes: app.hasher.hashes.load(Ordering::SeqCst) - hashes,
        verifies: app.hasher.verify_count() - verifies,
        mails_queued: after.accepted - mails,
    };
    (a, cost)
}

async fn app_with_sink(sink: &SmtpSink) -> TestApp {
    spawn_app_with(Options {
        admin_token: true,
        tweak: Some(to_sink(sink)),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn forgot_and_resend_answer_and_cost_the_same_for_an_existing_and_a_missing_account() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path()).await;
    let app = app_with_sink(&sink).await;
    assert_eq!(
        app.register("default", "alice").await.status(),
        StatusCode::CREATED
    );
    wait_accepted(&app, 1).await;

    let pairs = [
        (
            "/t/default/password/forgot",
            json!({"email": "alice@example.com"}),
            json!({"email": "nobody@example.com"}),
        ),
        (
            "/t/default/password/forgot",
            json!({"username": "alice"}),
            json!({"username": "nobody"}),
        ),
        (
            "/t/default/verify-email/resend",
            json!({"email": "alice@example.com"}),
            json!({"email": "nobody@example.com"}),
        ),
    ];
    for (path, existing, missing) in pairs {
        let (a, a_cost) = measured(&app, path, existing.clone()).await;
        let (b, b_cost) = measured(&app, path, missing.clone()).await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{path}");
        assert_eq!(
            a, b,
            "{path}: {existing} and {missing} answered differently"
        );
        assert_eq!(a_cost, b_cost, "{path}: {existing} and {missing}");
        assert_eq!(
            a_cost,
            Cost {
                hashes: 0,
                verifies: 0,
                mails_queued: 1
            },
            "{path}"
        );
        println!(
            "{path} {existing} vs {missing}: {} bytes each, {a_cost:?} each",
            a.body.len()
        );
    }
    // Only the real account's mails were delivered: verification, two
    // reset links, the resent link; the decoys never left.
    let messages = sink
        .wait_for_messages(4, std::time::Duration::from_secs(30))
        .await;
    assert!(
        messages.iter().all(|m| m["to"] == "alice@example.com"),
        "{messages:#?}"
    );
    let s = wait_settled(&app).await;
    assert_eq!((s.accepted, s.sent, s.queued), (7, 4, 0), "{s:?}");
}

#[tokio::test]
async fn resend_costs_the_same_with_verification_off() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path()).await;
    let app = app_with_sink(&sink).await;
    set_tenant(&app, "default", json!({"email_verification": "off"})).await;
    assert_eq!(
        app.register("default", "alice").await.status(),
        StatusCode::CREATED
    );
    let path = "/t/default/verify-email/resend";
    let (a, a_cost) = measured(&app, path, json!({"email": "alice@example.com"})).await;
    let (b, b_cost) = measured(&app, path, json!({"email": "nobody@example.com"})).await;
    assert_eq!(a, b);
    assert_eq!(a_cost, b_cost);
    // `off` mails no link: both were decoys.
    let s = wait_settled(&app).await;
    assert_eq!((s.accepted, s.sent), (2, 0), "{s:?}");
}

#[tokio::test]
async fn register_with_required_verification_answers_and_costs_the_same_whether_or_not_the_name_is_taken()
 {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path()).await;
    let app = app_with_sink(&sink).await;
    set_tenant(&app, "default", json!({"email_verification": "required"})).await;
    let register = |username: &str, email: &str| json!({"username": username, "password": PASSWORD, "email": email});
    let path = "/t/default/register";
    let (first, first_cost) = measured(&app, path, register("alice", "alice@example.com")).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let expected = Cost {
        hashes: 1,
        verifies: 0,
        mails_queued: 1,
    };
    assert_eq!(first_cost, expected);

    for (what, body) in [
        ("a new account", register("bob", "bob@example.com")),
        ("a taken username", register("alice", "other@example.com")),
        (
            "a taken username, other case",
            register("ALICE", "x@example.com"),
        ),
        ("a taken email", register("alicia", "alice@example.com")),
        ("both taken", register("alice", "alice@example.com")),
    ] {
        let (a, cost) = measured(&app, path, body).await;
        assert_eq!(a, first, "{what}");
        assert_eq!(cost, expected, "{what}");
    }
    println!(
        "register (required): {} bytes, {expected:?} for a new and a taken account alike",
        first.body.len()
    );
    // Only the two real accounts got a link.
    let messages = sink
        .wait_for_messages(2, std::time::Duration::from_secs(30))
        .await;
    let mut to: Vec<&str> = messages.iter().map(|m| m["to"].as_str().unwrap()).collect();
    to.sort();
    assert_eq!(to, ["alice@example.com", "bob@example.com"]);
    let users: Value = app
        .admin(Method::GET, "/admin/t/default/users", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users["users"].as_array().unwrap().len(), 2, "{users}");

    // `optional`: a taken username is a 409, as documented.
    set_tenant(&app, "default", json!({"email_verification": "optional"})).await;
    let r = app
        .post_json(path, &register("alice", "another@example.com"))
        .await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    let r = app
        .post_json(path, &register("carol", "carol@example.com"))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    set_tenant(&app, "default", json!({"email_verification": "off"})).await;
    let r = app
        .post_json(path, &register("carol", "carol2@example.com"))
        .await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
}
