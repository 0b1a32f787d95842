//! A real SMTP server on loopback for the tests that read delivered mail
//! (`mail.rs`, `accounts.rs`, `enumeration.rs`, `browser.rs`): Python's
//! aiosmtpd with a handler that writes each delivered message, parsed by
//! Python's own MIME code, to a directory (`tests/interop/smtp_sink.py`).
//!
//! Needs `python3` with `aiosmtpd`; `.ci/run` installs it and sets
//! `GATEHOUSE_TEST_REQUIRE_SMTP=1`, so in CI a missing aiosmtpd fails the
//! tests instead of skipping them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use gatehouse_server::Config;
use gatehouse_server::mail::MailSnapshot;
use secrecy::SecretString;
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::helpers::{ConfigChange, TestApp};

const SINK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop");

/// The sender of a node's mails in these tests (`smtp_from`).
pub const TEST_FROM: &str = "Gatehouse Test <no-reply@gatehouse.test>";

/// Whether `python3 -c 'import aiosmtpd'` works; with
/// `GATEHOUSE_TEST_REQUIRE_SMTP` set, a panic instead of `false`.
pub async fn aiosmtpd_available() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .output()
        .await;
    let ok = matches!(probe, Ok(o) if o.status.success());
    if !ok && std::env::var_os("GATEHOUSE_TEST_REQUIRE_SMTP").is_some() {
        panic!("aiosmtpd is required (GATEHOUSE_TEST_REQUIRE_SMTP is set): pip install aiosmtpd");
    }
    if !ok {
        eprintln!("skipped: python3 with aiosmtpd not found");
    }
    ok
}

/// aiosmtpd on 127.0.0.1:`port`, writing messages under `dir`. Killed
/// when dropped.
pub struct SmtpSink {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl SmtpSink {
    pub async fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut sink = Self {
            port,
            dir: dir.to_path_buf(),
            child: None,
        };
        sink.restart().await;
        sink
    }

    /// (Re)starts the server on the same port; returns once it accepts.
    pub async fn restart(&mut self) {
        let mut child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "smtp_sink.Sink"])
            .arg(&self.dir)
            .env("PYTHONPATH", SINK_DIR)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let out = child.wait_with_output().await.unwrap();
                panic!(
                    "aiosmtpd exited ({status}): {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not listen within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child = Some(child);
    }

    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages delivered so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    pub async fn wait_for_messages(&self, n: usize, within: Duration) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                start.elapsed() < within,
                "{} of {n} messages delivered after {within:?}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The message number `n` (1-based, in delivery order), once it is
    /// there (30 s at most).
    pub async fn message(&self, n: usize) -> Value {
        self.wait_for_messages(n, Duration::from_secs(30)).await[n - 1].clone()
    }
}

/// A node's configuration pointing at `url`, with a short backoff so a
/// test sees a returning server within seconds.
pub fn config(url: &str) -> Config {
    Config {
        smtp_url: Some(SecretString::from(url.to_string())),
        smtp_from: TEST_FROM.into(),
        mail_backoff_min: Duration::from_millis(200),
        mail_backoff_max: Duration::from_secs(1),
        ..Config::default()
    }
}

/// The change that sends a test server's mail to `sink` (for
/// `Options::tweak`).
pub fn to_sink(sink: &SmtpSink) -> ConfigChange {
    let url = sink.url();
    Box::new(move |c: &mut Config| {
        let mail = config(&url);
        c.smtp_url = mail.smtp_url;
        c.smtp_from = mail.smtp_from;
        c.mail_backoff_min = mail.mail_backoff_min;
        c.mail_backoff_max = mail.mail_backoff_max;
    })
}

/// The token of the first `{what}?token=` link in `text`.
pub fn token_in(text: &str, what: &str) -> String {
    let marker = format!("{what}?token=");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in {text}"))
        + marker.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The first `http…{what}?token=…` link of a delivered message's text
/// part, whole, as a mail reader would follow it.
pub fn link_in(message: &Value, what: &str) -> String {
    let text = message["text"].as_str().unwrap();
    let token = token_in(text, what);
    let end = text.find(&token).unwrap() + token.len();
    let start = text[..end].rfind("http").unwrap();
    text[start..end].to_string()
}

/// The mail queue's counters of a test server (sending through SMTP).
pub fn mail_counts(app: &TestApp) -> MailSnapshot {
    app.state
        .mail
        .snapshot()
        .expect("this server sends mail through SMTP")
}

/// Waits until the server has taken `n` mails into its queue in all
/// (decoys included), 30 s at most.
pub async fn wait_accepted(app: &TestApp, n: u64) -> MailSnapshot {
    wait_mail(app, &format!("{n} mails queued"), |s| s.accepted >= n).await
}

/// Waits until the server's queue is empty (decoys dropped, every mail
/// sent or given up), 30 s at most. The sink has a message as soon as the
/// server's DATA ends, a moment before the server hears the 250 and counts
/// it sent: a snapshot taken right after `wait_for_messages` can be a mail
/// short, and a decoy may still wait out its delay.
pub async fn wait_settled(app: &TestApp) -> MailSnapshot {
    wait_mail(app, "an empty mail queue", |s| s.queued == 0).await
}

/// Polls the server's mail counters until `done`, 30 s at most.
async fn wait_mail(
    app: &TestApp,
    what: &str,
    done: impl Fn(&MailSnapshot) -> bool,
) -> MailSnapshot {
    let start = Instant::now();
    loop {
        let s = mail_counts(app);
        if done(&s) {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no {what} after 30 s: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
