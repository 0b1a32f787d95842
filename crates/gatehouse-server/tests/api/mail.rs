//! Mail through a real SMTP server on loopback (`mail_sink`: Python's
//! aiosmtpd, messages read back through Python's own MIME parser).

use std::time::{Duration, Instant};

use gatehouse_core::mail::{Mail, MailKind};
use gatehouse_server::Config;
use gatehouse_server::mail::{MailSnapshot, MailSystem};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::{Options, spawn_app, spawn_app_with};
use crate::mail_sink::{SmtpSink, aiosmtpd_available, config, to_sink, token_in};

fn start_mail(config: &Config) -> MailSystem {
    gatehouse_server::mail::start(config).unwrap()
}

fn mail(kind: MailKind, to: Option<&str>, token: &str) -> Mail {
    let link = (kind != MailKind::PasswordChanged).then(|| {
        SecretString::from(format!(
            "https://id.example/t/acme/{}?token={token}&tenant=acme",
            kind.as_str()
        ))
    });
    Mail {
        kind,
        to: to.map(String::from),
        from: None,
        tenant_name: "Acme & Co".into(),
        username: format!("user-{token}"),
        link,
    }
}

async fn until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "waited {within:?} for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn snapshot(mail: &MailSystem) -> MailSnapshot {
    mail.status.snapshot().unwrap()
}

#[tokio::test]
async fn every_kind_is_delivered_as_text_and_html_with_its_link_and_decoys_never_are() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut sink = SmtpSink::start(dir.path()).await;
    let system = start_mail(&config(&sink.url()));

    let mut sent = Vec::new();
    for (i, kind) in MailKind::ALL.into_iter().enumerate() {
        let token = format!("tok{i}");
        let mut m = mail(kind, Some(&format!("{token}@example.test")), &token);
        if kind == MailKind::Invite {
            m.from = Some("Acme Accounts <accounts@acme.test>".into());
        }
        system.mailer.send(m);
        // A decoy between real mails: dequeued and dropped, never sent.
        system.mailer.send(mail(kind, None, &format!("decoy{i}")));
        sent.push((kind, token));
    }
    let messages = sink.wait_for_messages(4, Duration::from_secs(30)).await;
    until("queue drained", Duration::from_secs(10), || {
        snapshot(&system).queued == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages_after = sink.messages();
    assert_eq!(
        messages_after.len(),
        4,
        "decoys delivered: {messages_after:#?}"
    );
    assert!(
        !serde_json::to_string(&messages_after)
            .unwrap()
            .contains("decoy")
    );

    for ((kind, token), m) in sent.iter().zip(&messages) {
        let what = kind.as_str();
        assert_eq!(
            m["rcpt_tos"],
            serde_json::json!([format!("{token}@example.test")])
        );
        assert_eq!(m["to"], format!("{token}@example.test"), "{what}");
        assert_eq!(m["content_type"], "multipart/alternative", "{what}");
        let (from, envelope_from) = if *kind == MailKind::Invite {
            ("Acme Accounts <accounts@acme.test>", "accounts@acme.test")
        } else {
            (
                "Gatehouse Test <no-reply@gatehouse.test>",
                "no-reply@gatehouse.test",
            )
        };
        assert_eq!(m["from"], from, "{what}");
        assert_eq!(m["mail_from"], envelope_from, "{what}");
        let subject = m["subject"].as_str().unwrap();
        assert!(subject.contains("Acme & Co"), "{what}: {subject}");
        let text = m["text"].as_str().unwrap();
        let html = m["html"].as_str().unwrap();
        assert!(
            text.contains(&format!("Hello user-{token},")),
            "{what}: {text}"
        );
        assert!(html.contains("Acme &amp; Co"), "{what}: {html}");
        assert!(m["message_id"].as_str().unwrap().starts_with('<'));
        if *kind == MailKind::PasswordChanged {
            assert!(!text.contains("https://") && !html.contains("https://"));
            continue;
        }
        let link = format!("https://id.example/t/acme/{what}?token={token}&tenant=acme");
        assert!(text.contains(&link), "{what}: the link in the text: {text}");
        let escaped = link.replace('&', "&amp;");
        assert!(
            html.contains(&format!("href=\"{escaped}\"")),
            "{what}: the link as a button: {html}"
        );
        assert!(
            html.contains(&format!(">{escaped}</a>")),
            "{what}: the link as text: {html}"
        );
    }
    let s = snapshot(&system);
    assert_eq!((s.sent, s.queued, s.given_up), (4, 0, 0));
    assert_eq!(s.reachable, Some(true));
    system.status.shutdown().await;
    sink.stop().await;
}

#[tokio::test]
async fn a_mail_server_that_stops_delays_mails_without_slowing_send_and_gets_them_once_back() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut sink = SmtpSink::start(dir.path()).await;
    let system = start_mail(&config(&sink.url()));
    system.mailer.send(mail(
        MailKind::VerifyEmail,
        Some("a@example.test"),
        "before",
    ));
    sink.wait_for_messages(1, Duration::from_secs(30)).await;
    // The sink writes the message before its 250 reaches the sender.
    until("the first mail done", Duration::from_secs(10), || {
        snapshot(&system).queued == 0
    })
    .await;

    sink.stop().await;
    let down_at = Instant::now();
    // `send` is not async and only enqueues, so it cannot wait on the mail
    // server: the mail is in the queue the moment it returns. (Its speed
    // is the benchmarks' business, not a test's.)
    let started = Instant::now();
    system.mailer.send(mail(
        MailKind::ResetPassword,
        Some("b@example.test"),
        "during",
    ));
    let send_took = started.elapsed();
    assert_eq!(snapshot(&system).queued, 1);

    until("three failed tries", Duration::from_secs(30), || {
        snapshot(&system).failed_attempts >= 3
    })
    .await;
    let s = snapshot(&system);
    assert_eq!((s.queued, s.sent, s.reachable), (1, 1, Some(false)));
    let error = s.last_error.unwrap();
    assert!(error.contains("cannot reach the mail server"), "{error}");
    // Sending still enqueues with the server down and mails waiting.
    system.mailer.send(mail(MailKind::Invite, None, "decoy"));
    assert_eq!(snapshot(&system).queued, 2);

    sink.restart().await;
    let back_at = Instant::now();
    let messages = sink.wait_for_messages(2, Duration::from_secs(30)).await;
    let delivered_after = back_at.elapsed();
    assert!(
        messages[1]["text"]
            .as_str()
            .unwrap()
            .contains("token=during")
    );
    until("queue drained", Duration::from_secs(10), || {
        snapshot(&system).queued == 0
    })
    .await;
    // Delivered once: no duplicate turns up later.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    let s = snapshot(&system);
    assert_eq!((s.sent, s.queued, s.given_up), (2, 0, 0));
    assert_eq!(s.reachable, Some(true));
    eprintln!(
        "mail server down {:?}: send took {send_took:?}, {} failed tries, delivered {delivered_after:?} after it returned",
        back_at - down_at,
        s.failed_attempts
    );
    system.status.shutdown().await;
    sink.stop().await;
}

#[tokio::test]
async fn tls_required_sends_nothing_to_a_server_without_starttls() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut sink = SmtpSink::start(dir.path()).await;
    let system = start_mail(&config(&format!(
        "smtp://mailer:s3cret-smtp@127.0.0.1:{}?tls=required",
        sink.port
    )));
    system
        .mailer
        .send(mail(MailKind::ResetPassword, Some("a@example.test"), "t"));
    until("a failed try", Duration::from_secs(30), || {
        snapshot(&system).failed_attempts >= 2
    })
    .await;
    let s = snapshot(&system);
    assert_eq!((s.sent, s.queued, s.reachable), (0, 1, Some(false)));
    let error = s.last_error.unwrap();
    assert!(
        error.contains("STARTTLS") && !error.contains("s3cret"),
        "{error}"
    );
    assert!(sink.messages().is_empty());
    system.status.shutdown().await;
    sink.stop().await;
}

#[tokio::test]
async fn readyz_details_mail_and_stays_ready_when_the_mail_server_is_down() {
    let app = spawn_app().await;
    let body: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(body["mail"], serde_json::json!({"mode": "log"}));

    // A port nobody listens on, and a password that must not show.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(Options {
        tweak: Some(Box::new(move |c: &mut Config| {
            c.smtp_url = Some(SecretString::from(format!(
                "smtp://mailer:s3cret-smtp@127.0.0.1:{closed}?tls=none"
            )));
        })),
        ..Options::default()
    })
    .await;
    let start = Instant::now();
    let body = loop {
        let r = app.get("/readyz").await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "mail never makes a node unready"
        );
        let text = r.text().await.unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        if body["mail"]["reachable"] == false {
            break body;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(body["status"], "ready");
    assert_eq!(body["mail"]["mode"], "smtp");
    assert_eq!(body["mail"]["queued"], 0);
    assert!(
        body["mail"]["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot reach the mail server"),
        "{body}"
    );
}

async fn readyz_mail(app: &crate::helpers::TestApp) -> Value {
    let r = app.get("/readyz").await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "mail never makes a node unready"
    );
    let body: Value = r.json().await.unwrap();
    body["mail"].clone()
}

#[tokio::test]
async fn over_http_a_stopped_mail_server_changes_no_answer_and_the_link_arrives_once_it_returns() {
    if !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut sink = SmtpSink::start(dir.path()).await;
    let app = spawn_app_with(Options {
        admin_token: true,
        tweak: Some(to_sink(&sink)),
        ..Options::default()
    })
    .await;
    let forgot = |email: &'static str| {
        let app = &app;
        async move {
            let started = Instant::now();
            let r = app
                .post_json(
                    "/t/default/password/forgot",
                    &serde_json::json!({ "email": email }),
                )
                .await;
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            (status, body, started.elapsed())
        }
    };

    assert_eq!(
        app.register("default", "alice").await.status(),
        StatusCode::CREATED
    );
    let messages = sink.wait_for_messages(1, Duration::from_secs(30)).await;
    assert_eq!(messages[0]["to"], "alice@example.com");
    assert!(
        messages[0]["text"]
            .as_str()
            .unwrap()
            .contains("/verify-email?token=")
    );

    let (up_status, up_body, _) = forgot("alice@example.com").await;
    assert_eq!(up_status, StatusCode::ACCEPTED);
    sink.wait_for_messages(2, Duration::from_secs(30)).await;

    sink.stop().await;
    let (down_status, down_body, down_took) = forgot("alice@example.com").await;
    let (nobody_status, nobody_body, nobody_took) = forgot("nobody@example.com").await;
    assert_eq!((down_status, &down_body), (up_status, &up_body));
    assert_eq!((nobody_status, &nobody_body), (up_status, &up_body));
    // Far below one SMTP timeout (15 s): nothing waited for the server.
    assert!(down_took < Duration::from_secs(2), "{down_took:?}");
    assert!(nobody_took < Duration::from_secs(2), "{nobody_took:?}");

    let start = Instant::now();
    loop {
        let mail = readyz_mail(&app).await;
        if mail["reachable"] == false && mail["queued"].as_u64() >= Some(1) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{mail}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    sink.restart().await;
    let messages = sink.wait_for_messages(3, Duration::from_secs(30)).await;
    let reset = &messages[2];
    assert_eq!(reset["to"], "alice@example.com");
    let text = reset["text"].as_str().unwrap();
    let token = token_in(text, "/password/reset");
    assert!(reset["html"].as_str().unwrap().contains(&token));
    let r = app
        .post_json(
            "/t/default/password/reset",
            &serde_json::json!({"token": token, "new_password": "a brand new long password"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "the mailed link works");

    // The password-changed notice follows; the decoy never comes, nor a duplicate.
    sink.wait_for_messages(4, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert!(messages.iter().all(|m| m["to"] == "alice@example.com"));
    let mail = readyz_mail(&app).await;
    assert_eq!(
        (mail["reachable"].clone(), mail["queued"].clone()),
        (true.into(), 0.into())
    );
    sink.stop().await;
}
