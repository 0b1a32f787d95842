//! Issue 13's account flows end to end: mails delivered to a real SMTP
//! server on loopback (`mail_sink`), their links followed over HTTP as a
//! mail reader would, the clock moved (not slept) to expire them.
//!
//! - email verification (`required`): login refused until the link is
//!   used, the link works once, an expired one says so, a resend works;
//!   the tenant's `mail_from` is the From of what is delivered; tokens
//!   carry `email_verified`;
//! - a forgotten password: the reset link's page and POST, once; every
//!   session ends, a notice is mailed, the address counts as verified; an
//!   expired link says so; what the round trip costs;
//! - an invitation link sets the first password; a new email (admin or
//!   `{iss}/me`) is unverified and mailed a link;
//! - a password change ends the other sessions and keeps this one;
//! - on every backend: two resets racing with one token, one wins.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Options, PASSWORD, TestApp, claims_of, error_code, on_every_backend_with, spawn_app,
    spawn_app_with,
};
use crate::mail_sink::{
    SmtpSink, TEST_FROM, aiosmtpd_available, link_in, mail_counts, to_sink, token_in, wait_accepted,
};

const NEW_PASSWORD: &str = "a brand new long password";

/// A server with a manual clock whose mail goes to `sink`.
async fn app_mailing_to(sink: &SmtpSink) -> TestApp {
    spawn_app_with(Options {
        admin_token: true,
        manual_clock: true,
        tweak: Some(to_sink(sink)),
        ..Options::default()
    })
    .await
}

pub async fn set_tenant(app: &TestApp, tenant: &str, settings: Value) -> Value {
    let r = app
        .admin(
            Method::PATCH,
            &format!("/admin/tenants/{tenant}"),
            Some(settings),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// `POST {iss}/login` as `username` with `password`.
pub async fn login_with(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/t/default/login",
        &json!({"username": username, "password": password}),
    )
    .await
}

/// A successful login's token response.
pub async fn tokens(app: &TestApp, username: &str, password: &str) -> Value {
    let r = login_with(app, username, password).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

async fn refresh_status(app: &TestApp, tokens: &Value) -> StatusCode {
    app.refresh("default", str_of(tokens, "refresh_token"))
        .await
        .status()
}

/// GETs an absolute link (as a browser following a mailed link does).
async fn follow(app: &TestApp, link: &str) -> (StatusCode, String) {
    assert!(link.starts_with(&app.base), "{link} is not on {}", app.base);
    let r = app.client.get(link).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

fn clock(app: &TestApp) -> &gatehouse_core::clock::ManualClock {
    app.clock.as_deref().unwrap()
}

#[tokio::test]
async fn a_required_verification_link_works_once_over_http_and_an_expired_one_says_so() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path()).await;
    let app = app_mailing_to(&sink).await;
    let tenant = set_tenant(
        &app,
        "default",
        json!({"email_verification": "required", "mail_from": "Acme Accounts <accounts@acme.test>"}),
    )
    .await;
    assert_eq!(tenant["email_verification"], "required");
    assert_eq!(tenant["mail_from"], "Acme Accounts <accounts@acme.test>");

    let r = app.register("default", "alice").await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "verification_pending");
    assert!(body.get("id").is_none(), "a pending sign-up shows no user");

    // The right password, an unverified address: refused, with a sentence.
    let r = login_with(&app, "alice", PASSWORD).await;
    let description = {
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "email_not_verified");
        body["error_description"].as_str().unwrap().to_string()
    };
    assert!(description.contains("verif"), "{description}");
    // A wrong password still answers as for anyone.
    let r = login_with(&app, "alice", "not the password").await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_grant"
    );

    // The delivered mail: From is the tenant's mail_from.
    let mail = sink.message(1).await;
    assert_eq!(mail["to"], "alice@example.com");
    assert_eq!(mail["from"], "Acme Accounts <accounts@acme.test>");
    assert_eq!(mail["mail_from"], "accounts@acme.test");
    assert!(
        str_of(&mail, "subject").starts_with("Confirm your email address"),
        "{mail}"
    );
    let link = link_in(&mail, "/verify-email");
    assert!(
        str_of(&mail, "html").contains(&link.replace('&', "&amp;")),
        "{mail}"
    );

    let (status, page) = follow(&app, &link).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Email address confirmed"), "{page}");
    assert!(page.contains("alice@example.com"), "{page}");

    // The second use: the page and the API both say why, in a sentence.
    let (status, page) = follow(&app, &link).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("This link was already used"), "{page}");
    let token = token_in(&link, "/verify-email");
    let r = app
        .post_json("/t/default/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_link");
    assert_eq!(body["error_description"], "this link was already used");

    // Verified: the login works and the tokens say so.
    let t = tokens(&app, "alice", PASSWORD).await;
    let claims = claims_of(str_of(&t, "access_token"));
    assert_eq!(claims["email_verified"], true, "{claims}");
    assert_eq!(claims["email"], "alice@example.com");

    // An expired link: 24 h (GATEHOUSE_EMAIL_VERIFICATION_TTL) and a second.
    assert_eq!(
        app.register("default", "bob").await.status(),
        StatusCode::ACCEPTED
    );
    let link = link_in(&sink.message(2).await, "/verify-email");
    clock(&app).advance(24 * 3600 + 1);
    let (status, page) = follow(&app, &link).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("This link has expired; ask for a new one"),
        "{page}"
    );
    let r = app
        .post_json(
            "/t/default/verify-email",
            &json!({ "token": token_in(&link, "/verify-email") }),
        )
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), body["error_description"].as_str()),
        (
            Some("invalid_link"),
            Some("this link has expired; ask for a new one")
        )
    );
    let r = login_with(&app, "bob", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // A resend mails a new link, which works.
    let r = app
        .post_json(
            "/t/default/verify-email/resend",
            &json!({"email": "bob@example.com"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let mail = sink.message(3).await;
    assert_eq!(mail["to"], "bob@example.com");
    let r = app
        .post_json(
            "/t/default/verify-email",
            &json!({ "token": token_in(str_of(&mail, "text"), "/verify-email") }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["verified"].clone(), body["email"].clone()),
        (json!(true), json!("bob@example.com"))
    );
    let t = tokens(&app, "bob", PASSWORD).await;
    assert_eq!(
        claims_of(str_of(&t, "access_token"))["email_verified"],
        true
    );
    // The userinfo and the admin view agree.
    let info: Value = app
        .get_with_bearer("/t/default/userinfo", str_of(&t, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["email_verified"], true, "{info}");
}

#[tokio::test]
async fn a_forgotten_password_round_trip_over_real_smtp_ends_every_session_and_the_link_works_once()
{
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path()).await;
    let app = app_mailing_to(&sink).await;

    // `optional` (the default): registered, mailed a link not followed.
    assert_eq!(
        app.register("default", "carol").await.status(),
        StatusCode::CREATED
    );
    assert!(
        str_of(&sink.message(1).await, "subject").starts_with("Confirm"),
        "the sign-up's verification mail"
    );
    let first = tokens(&app, "carol", PASSWORD).await;
    let second = tokens(&app, "carol", PASSWORD).await;
    assert_eq!(
        claims_of(str_of(&first, "access_token"))["email_verified"],
        false
    );

    // The round trip, counted: requests, mails queued, KDF calls.
    let hashes = app.hasher.hashes.load(std::sync::atomic::Ordering::SeqCst);
    let verifies = app.hasher.verify_count();
    let mails = mail_counts(&app).accepted;
    let mut requests = 0;

    requests += 1;
    let r = app
        .post_json(
            "/t/default/password/forgot",
            &json!({"email": "carol@example.com"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let mail = sink.message(2).await;
    assert_eq!(mail["to"], "carol@example.com");
    assert_eq!(mail["from"], TEST_FROM);
    assert!(
        str_of(&mail, "subject").starts_with("Reset your password"),
        "{mail}"
    );
    let link = link_in(&mail, "/password/reset");
    let token = token_in(&link, "/password/reset");

    // The link opens the form, with the token in it.
    requests += 1;
    let (status, page) = follow(&app, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Choose a new password"), "{page}");
    assert!(page.contains(&format!("value=\"{token}\"")), "{page}");

    requests += 1;
    let r = app
        .post_json(
            "/t/default/password/reset",
            &json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"status": "password_reset"})
    );

    // The password-changed notice, with no link.
    let notice = sink.message(3).await;
    assert_eq!(notice["to"], "carol@example.com");
    assert!(
        str_of(&notice, "subject").starts_with("Your password for"),
        "{notice}"
    );
    assert!(!str_of(&notice, "text").contains("token="), "{notice}");

    requests += 1;
    let t = tokens(&app, "carol", NEW_PASSWORD).await;
    let after = mail_counts(&app);
    let cost = (
        requests,
        after.accepted - mails,
        app.hasher.hashes.load(std::sync::atomic::Ordering::SeqCst) - hashes,
        app.hasher.verify_count() - verifies,
    );
    println!(
        "forgotten-password round trip (forgot, open link, set password, log in): \
         {} requests, {} mails (link + notice), {} KDF hash(es), {} KDF verification(s)",
        cost.0, cost.1, cost.2, cost.3
    );
    assert_eq!(cost, (4, 2, 1, 1));

    // The reset used the mailbox: the address counts as verified.
    assert_eq!(
        claims_of(str_of(&t, "access_token"))["email_verified"],
        true
    );
    // Every session of before has ended; the old password is gone.
    assert_eq!(refresh_status(&app, &first).await, StatusCode::BAD_REQUEST);
    assert_eq!(refresh_status(&app, &second).await, StatusCode::BAD_REQUEST);
    assert_eq!(
        login_with(&app, "carol", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refresh_status(&app, &t).await, StatusCode::OK);

    // A second use of the link.
    let r = app
        .post_json(
            "/t/default/password/reset",
            &json!({"token": token, "new_password": "yet another long password"}),
        )
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_link");
    assert_eq!(body["error_description"], "this link was already used");
    tokens(&app, "carol", NEW_PASSWORD).await;

    // An expired link: 30 min (GATEHOUSE_PASSWORD_RESET_TTL) and a second.
    let r = app
        .post_json("/t/default/password/forgot", &json!({"username": "carol"}))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let token = token_in(str_of(&sink.message(4).await, "text"), "/password/reset");
    clock(&app).advance(30 * 60 + 1);
    let r = app
        .post_json(
            "/t/default/password/reset",
            &json!({"token": token, "new_password": "yet another long password"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "this link has expired; ask for a new one"
    );
    tokens(&app, "carol", NEW_PASSWORD).await;
    // Nothing more was queued: no notice for a refused reset.
    assert_eq!(mail_counts(&app).accepted, 4);
}

#[tokio::test]
async fn an_invitation_sets_the_first_password_and_a_new_email_is_unverified_until_its_link() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path()).await;
    let app = app_mailing_to(&sink).await;
    set_tenant(
        &app,
        "default",
        json!({"mail_from": "Acme <people@acme.test>"}),
    )
    .await;

    // Invited: no password works until the mailed link sets one.
    let r = app
        .admin(
            Method::POST,
            "/admin/t/default/users",
            Some(json!({"username": "dave", "email": "dave@example.com", "invite": true, "first_name": "Dave"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let dave: Value = r.json().await.unwrap();
    assert_eq!(dave["email_verified"], false);
    let mail = sink.message(1).await;
    assert_eq!(mail["to"], "dave@example.com");
    assert_eq!(mail["from"], "Acme <people@acme.test>");
    assert!(
        str_of(&mail, "subject").starts_with("You have been invited"),
        "{mail}"
    );
    let link = link_in(&mail, "/password/reset");
    let (status, page) = follow(&app, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Choose a new password"), "{page}");
    let r = app
        .post_json(
            "/t/default/password/reset",
            &json!({"token": token_in(&link, "/password/reset"), "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t = tokens(&app, "dave", NEW_PASSWORD).await;
    let claims = claims_of(str_of(&t, "access_token"));
    assert_eq!(claims["email_verified"], true, "the invitation reached him");
    assert_eq!(claims["given_name"], "Dave");
    // The notice of the first password follows.
    assert_eq!(sink.message(2).await["to"], "dave@example.com");

    // Invite and password together, or neither: refused.
    for body in [
        json!({"username": "x1", "email": "x1@example.com", "invite": true, "password": PASSWORD}),
        json!({"username": "x2", "email": "x2@example.com"}),
        json!({"username": "x3", "invite": true}),
    ] {
        let r = app
            .admin(Method::POST, "/admin/t/default/users", Some(body))
            .await;
        assert_eq!(
            error_code(r, StatusCode::BAD_REQUEST).await,
            "invalid_request"
        );
    }

    // Created with a password: it works at once; `optional` mails a link.
    let r = app
        .admin(
            Method::POST,
            "/admin/t/default/users",
            Some(json!({"username": "erin", "email": "erin@example.com", "password": PASSWORD, "roles": ["billing"]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let erin = tokens(&app, "erin", PASSWORD).await;
    let claims = claims_of(str_of(&erin, "access_token"));
    assert_eq!(claims["roles"], json!(["billing"]));
    assert_eq!(claims["email_verified"], false);
    assert!(
        str_of(&sink.message(3).await, "subject").starts_with("Confirm"),
        "erin's verification link"
    );

    // An admin marks the address verified; then changes it: unverified,
    // and the new address is mailed a link.
    let patch = |body: Value| {
        let app = &app;
        async move {
            let r = app
                .admin(Method::PATCH, "/admin/t/default/users/erin", Some(body))
                .await;
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(
        patch(json!({"email_verified": true})).await["email_verified"],
        true
    );
    let user = patch(json!({"email": "erin@new.example"})).await;
    assert_eq!(
        (user["email"].clone(), user["email_verified"].clone()),
        (json!("erin@new.example"), json!(false))
    );
    let mail = sink.message(4).await;
    assert_eq!(mail["to"], "erin@new.example");
    let (status, page) = follow(&app, &link_in(&mail, "/verify-email")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("erin@new.example"), "{page}");
    let user: Value = app
        .admin(Method::GET, "/admin/t/default/users/erin", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["email_verified"], true);
    // A new address with `email_verified` in the same patch: no mail.
    let user = patch(json!({"email": "erin@third.example", "email_verified": true})).await;
    assert_eq!(user["email_verified"], true);

    // The user changes their own address at {iss}/me: unverified, mailed;
    // the link mailed to the old address no longer counts.
    let at = str_of(&erin, "access_token");
    let r = app
        .client
        .patch(format!("{}/t/default/me", app.base))
        .bearer_auth(at)
        .json(&json!({"email": "erin@fourth.example", "last_name": "Example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.unwrap();
    assert_eq!(
        (
            me["email"].clone(),
            me["email_verified"].clone(),
            me["last_name"].clone()
        ),
        (json!("erin@fourth.example"), json!(false), json!("Example"))
    );
    let mail = sink.message(5).await;
    assert_eq!(mail["to"], "erin@fourth.example");
    assert_eq!(sink.messages().len(), 5, "nothing for the third address");
    let r = app
        .post_json(
            "/t/default/verify-email",
            &json!({"token": token_in(str_of(&mail, "text"), "/verify-email")}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = app
        .get_with_bearer("/t/default/me", at)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["username"], "erin");
    assert!(me.get("password_hash").is_none(), "{me}");
}

#[tokio::test]
async fn a_verification_link_for_an_address_the_account_no_longer_has_is_refused() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path()).await;
    let app = app_mailing_to(&sink).await;
    let t = app.user_with_tokens("default", "fay").await;
    let old_link = link_in(&sink.message(1).await, "/verify-email");
    let r = app
        .client
        .patch(format!("{}/t/default/me", app.base))
        .bearer_auth(str_of(&t, "access_token"))
        .json(&json!({"email": "fay@elsewhere.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, page) = follow(&app, &old_link).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("This link is for an address the account no longer has"),
        "{page}"
    );
    let (status, _) = follow(&app, &link_in(&sink.message(2).await, "/verify-email")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_keeps_this_one() {
    let app = spawn_app().await;
    let here = app.user_with_tokens("default", "gus").await;
    let elsewhere = tokens(&app, "gus", PASSWORD).await;
    let change = |at: String, current: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/t/default/password", app.base))
                .bearer_auth(at)
                .json(&json!({"current_password": current, "new_password": NEW_PASSWORD}))
                .send()
                .await
                .unwrap()
        }
    };
    let at = str_of(&here, "access_token").to_string();

    let r = change(at.clone(), "not the password").await;
    let r: Value = {
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        r.json().await.unwrap()
    };
    assert_eq!(
        r["error_description"],
        "the current password is not correct"
    );
    assert_eq!(refresh_status(&app, &elsewhere).await, StatusCode::OK);
    let elsewhere = tokens(&app, "gus", PASSWORD).await;

    let r = change(at.clone(), PASSWORD).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        refresh_status(&app, &elsewhere).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(refresh_status(&app, &here).await, StatusCode::OK);
    let sessions: Value = app
        .get_with_bearer("/t/default/sessions", &at)
        .await
        .json()
        .await
        .unwrap();
    let sessions = sessions["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(
        login_with(&app, "gus", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    tokens(&app, "gus", NEW_PASSWORD).await;
    // Without a token: 401 with a challenge.
    let r = app
        .post_json(
            "/t/default/password",
            &json!({"current_password": NEW_PASSWORD, "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn two_resets_racing_with_one_token_one_wins_on_every_backend() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path()).await;
    let sink = &sink;
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let seen = &seen;
    on_every_backend_with(
        || Options {
            tweak: Some(to_sink(sink)),
            ..Options::default()
        },
        |backend, app| async move {
            let user = format!("racer-{backend}");
            assert_eq!(
                app.register("default", &user).await.status(),
                StatusCode::CREATED
            );
            let r = app
                .post_json("/t/default/password/forgot", &json!({ "username": user }))
                .await;
            assert_eq!(r.status(), StatusCode::ACCEPTED);
            // The verification mail, then the reset link.
            let n = seen.fetch_add(2, std::sync::atomic::Ordering::SeqCst) + 2;
            let messages = sink.wait_for_messages(n, Duration::from_secs(30)).await;
            let reset = messages
                .iter()
                .find(|m| {
                    m["to"] == format!("{user}@example.com")
                        && str_of(m, "text").contains("/password/reset?token=")
                })
                .unwrap_or_else(|| panic!("{backend}: no reset mail in {messages:#?}"));
            let token = token_in(str_of(reset, "text"), "/password/reset");
            wait_accepted(&app, 2).await;

            let attempt = |password: &'static str| {
                let app = &app;
                let token = token.clone();
                async move {
                    let r = app
                        .post_json(
                            "/t/default/password/reset",
                            &json!({"token": token, "new_password": password}),
                        )
                        .await;
                    let status = r.status();
                    (status, r.json::<Value>().await.unwrap(), password)
                }
            };
            let (a, b) = tokio::join!(
                attempt("the first racer's password"),
                attempt("the second racer's password")
            );
            let (winner, loser) = match (a.0, b.0) {
                (StatusCode::OK, StatusCode::BAD_REQUEST) => (a, b),
                (StatusCode::BAD_REQUEST, StatusCode::OK) => (b, a),
                _ => panic!("{backend}: {a:?} {b:?}"),
            };
            assert_eq!(
                loser.1["error_description"], "this link was already used",
                "{backend}"
            );
            tokens(&app, &user, winner.2).await;
            assert_eq!(
                login_with(&app, &user, loser.2).await.status(),
                StatusCode::UNAUTHORIZED,
                "{backend}: the loser's password was set"
            );
            // One notice, for the one reset.
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            sink.wait_for_messages(n, Duration::from_secs(30)).await;
            assert_eq!(wait_accepted(&app, 3).await.accepted, 3, "{backend}");
            println!("{backend}: of two resets with one link, one set the password");
        },
    )
    .await;
}

#[tokio::test]
async fn a_reset_link_mailed_to_an_old_address_does_not_verify_the_new_one() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path()).await;
    let app = app_mailing_to(&sink).await;
    let t = app.user_with_tokens("default", "hal").await;
    let r = app
        .post_json("/t/default/password/forgot", &json!({"username": "hal"}))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let reset = sink.message(2).await;
    assert_eq!(reset["to"], "hal@example.com");
    // The address changes before the link is used: the new one is not
    // proven by a link that went to the old mailbox.
    let r = app
        .client
        .patch(format!("{}/t/default/me", app.base))
        .bearer_auth(str_of(&t, "access_token"))
        .json(&json!({"email": "hal@new.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post_json(
            "/t/default/password/reset",
            &json!({"token": token_in(str_of(&reset, "text"), "/password/reset"), "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let user: Value = app
        .admin(Method::GET, "/admin/t/default/users/hal", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["email"], "hal@new.example");
    assert_eq!(
        user["email_verified"], false,
        "a link to hal@example.com verified hal@new.example"
    );
    tokens(&app, "hal", NEW_PASSWORD).await;
}

#[tokio::test]
async fn a_user_disabled_while_their_reset_is_hashing_stays_disabled() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path()).await;
    let app = app_mailing_to(&sink).await;
    assert_eq!(
        app.register("default", "ian").await.status(),
        StatusCode::CREATED
    );
    let r = app
        .post_json("/t/default/password/forgot", &json!({"username": "ian"}))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let token = token_in(str_of(&sink.message(2).await, "text"), "/password/reset");

    // The reset's hash is held on its worker while an admin disables ian.
    let paused = app.hasher.pause_next_hash();
    let reset = {
        let client = app.client.clone();
        let url = format!("{}/t/default/password/reset", app.base);
        tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"token": token, "new_password": NEW_PASSWORD}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    paused.started().await;
    let r = app
        .admin(
            Method::PATCH,
            "/admin/t/default/users/ian",
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    paused.release();
    assert_eq!(reset.await.unwrap(), StatusCode::OK);

    let user: Value = app
        .admin(Method::GET, "/admin/t/default/users/ian", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        user["disabled"], true,
        "the reset enabled ian again: {user}"
    );
    let r = login_with(&app, "ian", NEW_PASSWORD).await;
    assert_eq!(
        error_code(r, StatusCode::FORBIDDEN).await,
        "account_disabled"
    );
}
