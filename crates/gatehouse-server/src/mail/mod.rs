//! Mail delivery: core's [`Mailer`] port, implemented for a node.
//!
//! With `smtp_url` set, mails go through a bounded queue to one sender
//! task that speaks SMTP (lettre) and retries with backoff ([`queue`]);
//! the words come from templates built into the binary and overridable
//! from a directory ([`templates`]). Without it, core's [`LogMailer`]
//! writes each mail, link included, to the log, and the node says so
//! loudly at start: a first run works end to end without a mail server.
//!
//! Either way a request only hands the mail over; a mail server that is
//! down shows in `/readyz` (detail only: mail never makes a node unready)
//! and in the log, never in an HTTP answer.

pub mod queue;
pub mod smtp;
pub mod templates;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_core::mail::{LogMailer, Mailer};
use lettre::message::Mailbox;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::sync::watch;

pub use queue::{MailSnapshot, QueueSettings, SmtpMailer};
pub use smtp::{SmtpUrl, TlsMode};
pub use templates::Templates;

use crate::config::Config;

/// How long a stopping node waits for the sender task, which itself gives
/// up after [`queue::SHUTDOWN_GRACE`]; past this it is aborted.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// Why mail could not be set up; no secret in it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailError(String);

/// A node's mail: the mailer the account flows hand mails to, and the
/// status `/readyz` reads and shutdown stops.
pub struct MailSystem {
    pub mailer: Arc<dyn Mailer>,
    pub status: MailStatus,
}

/// Sets mail up from the configuration: SMTP through the queue when
/// `smtp_url` is set (the sender task is spawned here, so this runs inside
/// the tokio runtime), else the log. The templates are loaded and checked
/// either way when `mail_templates` is set, so a broken override is found
/// on the first run.
pub fn start(config: &Config) -> Result<MailSystem, MailError> {
    let templates =
        Templates::load(config.mail_templates.as_deref().map(Path::new)).map_err(MailError)?;
    let Some(raw_url) = &config.smtp_url else {
        tracing::warn!(
            "NO MAIL SERVER: GATEHOUSE_SMTP_URL is not set, so account mails (email \
             verification, password reset, invitations) are NOT sent; each one is written to \
             this log, link included. Set GATEHOUSE_SMTP_URL (smtp://host, \
             smtp://user:pass@host?tls=required or smtps://user:pass@host) to send them"
        );
        return Ok(MailSystem {
            mailer: Arc::new(LogMailer),
            status: MailStatus::log(),
        });
    };
    let url = SmtpUrl::parse(raw_url.expose_secret()).map_err(|e| MailError(e.to_string()))?;
    let default_from: Mailbox = config
        .smtp_from
        .parse()
        .map_err(|_| MailError("smtp_from is not a mail address".into()))?;
    // EHLO with the name clients reach this node by, when it is known.
    let hello = config
        .public_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(String::from))
        .filter(|h| !h.is_empty() && !h.starts_with('['));
    let transport = smtp::SmtpTransport::new(&url, hello).map_err(MailError)?;
    let settings = QueueSettings {
        capacity: config.mail_queue_capacity,
        backoff_min: config.mail_backoff_min,
        backoff_max: config.mail_backoff_max,
        retry_max: config.mail_retry_max,
    };
    let (stop, stop_rx) = watch::channel(false);
    let (mailer, counters, task) =
        queue::spawn(transport, templates, default_from, settings, stop_rx);
    tracing::info!(
        server = %url.describe(),
        from = %config.smtp_from,
        queue = settings.capacity,
        "account mails go to the mail server"
    );
    Ok(MailSystem {
        mailer: Arc::new(mailer),
        status: MailStatus(Arc::new(StatusInner {
            smtp: Some(SmtpState {
                counters,
                stop,
                task: Mutex::new(Some(task)),
            }),
        })),
    })
}

/// What `/readyz` shows of mail, and the handle that stops the sender.
/// Cheap to clone.
#[derive(Clone)]
pub struct MailStatus(Arc<StatusInner>);

struct StatusInner {
    /// `None`: mails go to the log.
    smtp: Option<SmtpState>,
}

struct SmtpState {
    counters: Arc<queue::Counters>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl MailStatus {
    /// The status of a node whose mails go to the log.
    pub fn log() -> Self {
        Self(Arc::new(StatusInner { smtp: None }))
    }

    /// `"smtp"` or `"log"`.
    pub fn mode(&self) -> &'static str {
        if self.0.smtp.is_some() { "smtp" } else { "log" }
    }

    /// The queue's counters; `None` in log mode.
    pub fn snapshot(&self) -> Option<MailSnapshot> {
        self.0.smtp.as_ref().map(|s| s.counters.snapshot())
    }

    /// The `mail` detail of `/readyz`, which anyone may read: the mode,
    /// whether the server answered last time, the queue's depth, the mails
    /// a full queue dropped, and the last error (words without secrets or
    /// server text). Not the sent or given-up counts: decoys never reach
    /// those, so they would tell whether a request named a real account.
    pub fn readiness(&self) -> Value {
        match self.snapshot() {
            None => json!({"mode": "log"}),
            Some(s) => json!({
                "mode": "smtp",
                "reachable": s.reachable,
                "queued": s.queued,
                "dropped": s.dropped,
                "last_error": s.last_error,
            }),
        }
    }

    /// Stops the sender task: it stops taking mails, tries what is queued
    /// once (see [`queue::SHUTDOWN_GRACE`]) and ends; waited for at most
    /// [`STOP_WAIT`], then aborted. Nothing to do in log mode; a second
    /// call does nothing.
    pub async fn shutdown(&self) {
        let Some(smtp) = &self.0.smtp else {
            return;
        };
        let _ = smtp.stop.send(true);
        let task = smtp.task.lock().ok().and_then(|mut t| t.take());
        if let Some(mut task) = task
            && tokio::time::timeout(STOP_WAIT, &mut task).await.is_err()
        {
            tracing::error!("the mail sender did not stop in time; it was aborted");
            task.abort();
        }
    }
}
