//! The queue between the request path and the mail server. `send` only
//! counts the mail in and hands it to one sender task; the task builds it,
//! delivers it, and retries with exponential backoff while the server is
//! unreachable, so a mail server that is down never fails or slows a
//! request.
//!
//! - **Bounded.** At most `capacity` mails are waiting or in flight; past
//!   that a mail is dropped at once (a warning, and `dropped`).
//! - **Server down** (refused, timed out, TLS failed): nothing is tried
//!   until the backoff has passed — `backoff_min`, doubling up to
//!   `backoff_max` — then the oldest mail is tried again; the first
//!   success resets the backoff and the queue drains in order.
//! - **4xx for one mail**: that mail waits its own backoff at the back;
//!   the others go on. **5xx** (or an address that cannot be used): the
//!   mail is given up at once. Any mail older than `retry_max` is given
//!   up. Every give-up is an `error!` in the log.
//! - **Decoys** (`to: None`) take the same path in: they are counted in,
//!   queued, and dropped by the sender without being sent. While the
//!   server is unreachable a decoy waits like a real mail (and costs a
//!   connection check when its turn comes), so `queued` on the public
//!   `/readyz` does not tell real mails from decoys.
//! - **Shutdown**: the task receives the node's shutdown signal (it is not
//!   aborted), stops taking mails, tries what is left once within
//!   [`SHUTDOWN_GRACE`], and logs how many mails were not delivered.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_core::mail::{Mail, Mailer};
use lettre::Message;
use lettre::message::Mailbox;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::smtp::{Failure, Transport};
use super::templates::Templates;

/// How long a stopping node keeps trying to deliver what is queued.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The queue's limits and its retry schedule.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    /// Mails waiting or in flight at most; beyond, `send` drops.
    pub capacity: usize,
    /// The first wait after the server could not be reached.
    pub backoff_min: Duration,
    /// The longest wait between two tries (the doubling stops there).
    pub backoff_max: Duration,
    /// A mail not delivered this long after `send` is given up.
    pub retry_max: Duration,
}

impl QueueSettings {
    /// The wait before try `n + 1` after `n` failures in a row.
    fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.backoff_min
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_max)
    }
}

/// `Counters::reachable`: 0 (the default) is "not known yet".
const REACHABLE: u8 = 1;
const UNREACHABLE: u8 = 2;

/// What the queue has done, shared by `send`, the sender task and
/// `/readyz`. Plain atomics: `send` never waits on a lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Mails counted in and not yet finished (sent, given up, or dropped
    /// as a decoy): what the capacity bounds.
    queued: AtomicUsize,
    /// Mails `send` took in since start (decoys included, drops not).
    accepted: AtomicU64,
    sent: AtomicU64,
    failed_attempts: AtomicU64,
    given_up: AtomicU64,
    /// Refused by `send` (queue full, or the sender stopped).
    dropped: AtomicU64,
    reachable: AtomicU8,
    /// The last failure, as [`Failure::describe`] words it (no secret, no
    /// server text).
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn reachable(&self) -> Option<bool> {
        match self.reachable.load(Ordering::SeqCst) {
            REACHABLE => Some(true),
            UNREACHABLE => Some(false),
            _ => None,
        }
    }

    fn set_reachable(&self, yes: bool) {
        let state = if yes { REACHABLE } else { UNREACHABLE };
        self.reachable.store(state, Ordering::SeqCst);
    }

    fn record_failure(&self, failure: &Failure) {
        self.failed_attempts.fetch_add(1, Ordering::SeqCst);
        self.set_reachable(!matches!(failure, Failure::Unreachable(_)));
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(failure.describe().to_string());
        }
    }

    /// One mail leaves the queue, whatever became of it.
    fn finish(&self) {
        // Never below zero: every finish matches one admission.
        let _ = self
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    pub(crate) fn snapshot(&self) -> MailSnapshot {
        MailSnapshot {
            queued: self.queued.load(Ordering::SeqCst),
            accepted: self.accepted.load(Ordering::SeqCst),
            sent: self.sent.load(Ordering::SeqCst),
            failed_attempts: self.failed_attempts.load(Ordering::SeqCst),
            given_up: self.given_up.load(Ordering::SeqCst),
            dropped: self.dropped.load(Ordering::SeqCst),
            reachable: self.reachable(),
            last_error: self.last_error.lock().ok().and_then(|l| l.clone()),
        }
    }
}

/// The queue's state at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailSnapshot {
    /// Mails waiting or in flight (decoys included, by design).
    pub queued: usize,
    /// Mails taken into the queue since start, decoys included (a request
    /// for a missing account counts as one for a real one): what the
    /// enumeration tests compare. Not on `/readyz`.
    pub accepted: u64,
    /// Mails the server accepted.
    pub sent: u64,
    /// Tries that failed (a mail tried three times counts three).
    pub failed_attempts: u64,
    /// Mails that will never be sent (5xx, bad address, `retry_max`).
    pub given_up: u64,
    /// Mails refused by a full queue (decoys included).
    pub dropped: u64,
    /// Whether the server answered at the last contact; `None` before the
    /// first one.
    pub reachable: Option<bool>,
    pub last_error: Option<String>,
}

/// The [`Mailer`] of a node with SMTP: counts the mail in and hands it to
/// the sender task. Never blocks and never fails the caller.
pub struct SmtpMailer {
    tx: mpsc::UnboundedSender<Mail>,
    counters: Arc<Counters>,
    /// The bound on `counters.queued`. The channel itself is unbounded:
    /// the count, taken before sending, is the one bound, and it also
    /// covers the mails the sender holds for a retry.
    capacity: usize,
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: Mail) {
        let capacity = self.capacity;
        let admitted = self
            .counters
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < capacity).then_some(n + 1)
            })
            .is_ok();
        let kind = mail.kind.as_str();
        if !admitted {
            self.dropped(kind, "the mail queue is full (mail_queue_capacity)");
        } else if self.tx.send(mail).is_err() {
            self.counters.finish();
            self.dropped(
                kind,
                "the mail sender has stopped (the node is shutting down)",
            );
        } else {
            self.counters.accepted.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl SmtpMailer {
    /// Logs the 1st, 2nd, 4th, 8th, … drop: a flood of requests while the
    /// server is down cannot flood the log too. (Neither line names the
    /// recipient: decoys are dropped alike.)
    fn dropped(&self, kind: &str, why: &str) {
        let total = self.counters.dropped.fetch_add(1, Ordering::SeqCst) + 1;
        if total.is_power_of_two() {
            tracing::warn!(
                kind,
                dropped_total = total,
                capacity = self.capacity,
                "mail dropped, not sent: {why}"
            );
        }
    }
}

/// Starts the sender task and returns the mailer feeding it. The task
/// runs until `stop` turns true (or its sender is dropped).
pub(crate) fn spawn<T: Transport>(
    transport: T,
    templates: Templates,
    default_from: Mailbox,
    settings: QueueSettings,
    stop: watch::Receiver<bool>,
) -> (SmtpMailer, Arc<Counters>, tokio::task::JoinHandle<()>) {
    let counters = Arc::new(Counters::default());
    let (tx, rx) = mpsc::unbounded_channel();
    let sender = Sender {
        transport,
        templates,
        default_from,
        settings,
        counters: counters.clone(),
    };
    let task = tokio::spawn(sender.run(rx, stop));
    let mailer = SmtpMailer {
        tx,
        counters: counters.clone(),
        capacity: settings.capacity,
    };
    (mailer, counters, task)
}

/// One mail the sender holds.
struct Pending {
    mail: Mail,
    /// Built at the first try, then reused (the same Message-ID each try).
    message: Option<Message>,
    enqueued: Instant,
    attempts: u32,
    /// Not tried before this (a 4xx's own backoff).
    due: Instant,
}

impl Pending {
    fn new(mail: Mail) -> Self {
        let now = Instant::now();
        Self {
            mail,
            message: None,
            enqueued: now,
            attempts: 0,
            due: now,
        }
    }

    fn is_decoy(&self) -> bool {
        self.mail.to.is_none()
    }
}

/// What became of one try.
enum Outcome {
    /// Sent, given up, or a decoy dropped: it leaves the queue.
    Finished,
    /// The server could not be reached: everything waits.
    Unreachable,
    /// A 4xx for this mail: it waits its own backoff.
    Later,
}

/// What woke the sender up while it waited.
enum Woke {
    Mail(Mail),
    Time,
    Stop,
}

struct Sender<T> {
    transport: T,
    templates: Templates,
    default_from: Mailbox,
    settings: QueueSettings,
    counters: Arc<Counters>,
}

impl<T: Transport> Sender<T> {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Mail>, mut stop: watch::Receiver<bool>) {
        let mut pending: VecDeque<Pending> = VecDeque::new();
        // Failures to reach the server in a row, and no try before `wait`.
        let mut unreachable_streak: u32 = 0;
        let mut wait: Option<Instant> = None;

        // The start-up check: `/readyz` and the log say at once whether
        // the server is there, before any mail needs it.
        match self.transport.probe().await {
            Ok(()) => self.counters.set_reachable(true),
            Err(failure) => {
                self.counters.record_failure(&failure);
                if matches!(failure, Failure::Unreachable(_)) {
                    unreachable_streak = 1;
                    wait = Some(Instant::now() + self.settings.backoff(1));
                }
                tracing::warn!(
                    error = failure.describe(),
                    "the mail server cannot be used at start; mails will wait in the queue and be retried"
                );
            }
        }

        loop {
            if *stop.borrow() {
                break;
            }
            while let Ok(mail) = rx.try_recv() {
                pending.push_back(Pending::new(mail));
            }
            let now = Instant::now();
            self.give_up_expired(&mut pending, now);
            let next = match wait {
                Some(at) if at > now && !pending.is_empty() => Some(at),
                _ => pending.iter().map(|p| p.due).min(),
            };
            if next.is_none_or(|at| at > now) {
                match wait_for(&mut rx, &mut stop, next).await {
                    Woke::Mail(mail) => pending.push_back(Pending::new(mail)),
                    Woke::Time => {}
                    Woke::Stop => break,
                }
                continue;
            }
            wait = None;
            let Some(i) = pending.iter().position(|p| p.due <= now) else {
                continue;
            };
            let Some(mut p) = pending.remove(i) else {
                continue;
            };
            match self.attempt(&mut p).await {
                Outcome::Finished => {
                    unreachable_streak = 0;
                    self.counters.finish();
                }
                Outcome::Later => {
                    unreachable_streak = 0;
                    p.due = Instant::now() + self.settings.backoff(p.attempts);
                    pending.push_back(p);
                }
                Outcome::Unreachable => {
                    unreachable_streak = unreachable_streak.saturating_add(1);
                    let backoff = self.settings.backoff(unreachable_streak);
                    wait = Some(Instant::now() + backoff);
                    tracing::warn!(
                        queued = self.counters.queued.load(Ordering::SeqCst),
                        retry_in = ?backoff,
                        error = self.counters.snapshot().last_error.as_deref().unwrap_or("-"),
                        "the mail server cannot be reached; mails stay queued"
                    );
                    // Back in its place: order is kept for when it returns.
                    pending.insert(i, p);
                }
            }
        }
        self.flush(pending, rx).await;
    }

    /// Mails older than `retry_max` are given up without another try.
    fn give_up_expired(&self, pending: &mut VecDeque<Pending>, now: Instant) {
        pending.retain(|p| {
            let expired = now.duration_since(p.enqueued) >= self.settings.retry_max;
            if expired {
                self.give_up(p, "not delivered within mail_retry_max");
                self.counters.finish();
            }
            !expired
        });
    }

    fn give_up(&self, p: &Pending, why: &str) {
        if p.is_decoy() {
            return;
        }
        self.counters.given_up.fetch_add(1, Ordering::SeqCst);
        tracing::error!(
            kind = p.mail.kind.as_str(),
            to = p.mail.to.as_deref().unwrap_or("-"),
            tenant = %p.mail.tenant_name,
            attempts = p.attempts,
            "mail given up, never sent: {why}"
        );
    }

    async fn attempt(&self, p: &mut Pending) -> Outcome {
        if p.is_decoy() {
            // Dropped unsent, but only as a real mail would leave the queue:
            // when the server is known to be there (else after a check).
            if self.counters.reachable() == Some(true) {
                return Outcome::Finished;
            }
            return match self.transport.probe().await {
                Ok(()) => {
                    self.counters.set_reachable(true);
                    Outcome::Finished
                }
                Err(failure) => {
                    self.counters.record_failure(&failure);
                    match failure {
                        Failure::Unreachable(_) => Outcome::Unreachable,
                        _ => Outcome::Finished,
                    }
                }
            };
        }
        let message = match &p.message {
            Some(message) => message,
            None => match self.templates.compose(&p.mail, &self.default_from) {
                Ok(message) => p.message.insert(message),
                Err(why) => {
                    self.give_up(p, &why);
                    return Outcome::Finished;
                }
            },
        };
        p.attempts += 1;
        match self.transport.deliver(message).await {
            Ok(()) => {
                self.counters.set_reachable(true);
                self.counters.sent.fetch_add(1, Ordering::SeqCst);
                tracing::info!(
                    kind = p.mail.kind.as_str(),
                    tenant = %p.mail.tenant_name,
                    attempts = p.attempts,
                    "mail sent"
                );
                Outcome::Finished
            }
            Err(failure) => {
                self.counters.record_failure(&failure);
                match failure {
                    Failure::Unreachable(_) => Outcome::Unreachable,
                    Failure::Transient(why) => {
                        tracing::warn!(
                            kind = p.mail.kind.as_str(),
                            attempts = p.attempts,
                            error = %why,
                            "mail deferred by the mail server; it will be tried again"
                        );
                        Outcome::Later
                    }
                    Failure::Permanent(why) => {
                        self.give_up(p, &why);
                        Outcome::Finished
                    }
                }
            }
        }
    }

    /// The node is stopping: no new mails; what is left is tried once,
    /// in order, until the grace is over or the server fails to answer.
    async fn flush(&self, mut pending: VecDeque<Pending>, mut rx: mpsc::UnboundedReceiver<Mail>) {
        rx.close();
        while let Ok(mail) = rx.try_recv() {
            pending.push_back(Pending::new(mail));
        }
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let mut server_gone = false;
        let mut lost = 0usize;
        for mut p in pending {
            if p.is_decoy() {
                self.counters.finish();
                continue;
            }
            let delivered = !server_gone
                && Instant::now() < deadline
                && match tokio::time::timeout_at(deadline, self.attempt(&mut p)).await {
                    Ok(Outcome::Finished) => true,
                    Ok(Outcome::Later) => false,
                    Ok(Outcome::Unreachable) | Err(_) => {
                        server_gone = true;
                        false
                    }
                };
            if !delivered {
                lost += 1;
            }
            self.counters.finish();
        }
        if lost > 0 {
            tracing::error!(
                lost,
                "the node stopped with mails not delivered (the mail server was unreachable or slow)"
            );
        }
    }
}

/// Waits for the first of: a new mail, `until` (if any), the stop signal.
async fn wait_for(
    rx: &mut mpsc::UnboundedReceiver<Mail>,
    stop: &mut watch::Receiver<bool>,
    until: Option<Instant>,
) -> Woke {
    let sleep = async {
        match until {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        mail = rx.recv() => match mail {
            Some(mail) => Woke::Mail(mail),
            // Every mailer is gone: nothing more can come.
            None => Woke::Stop,
        },
        () = sleep => Woke::Time,
        // A dropped stop sender is a stop too.
        changed = stop.changed() => match changed {
            Ok(()) if !*stop.borrow() => Woke::Time,
            _ => Woke::Stop,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::mail::MailKind;
    use secrecy::SecretString;
    use std::sync::atomic::AtomicBool;

    /// A mail server in memory that can be switched off or made to answer
    /// 4xx/5xx.
    #[derive(Clone, Default)]
    struct FakeServer(Arc<FakeInner>);

    #[derive(Default)]
    struct FakeInner {
        down: AtomicBool,
        delivered: Mutex<Vec<Message>>,
        deliveries_tried: AtomicUsize,
        probes: AtomicUsize,
        /// Answers for the next deliveries, in order, before normal service.
        scripted: Mutex<VecDeque<Failure>>,
    }

    impl FakeServer {
        fn delivered(&self) -> Vec<String> {
            self.0
                .delivered
                .lock()
                .unwrap()
                .iter()
                .map(|m| String::from_utf8_lossy(&m.formatted()).into_owned())
                .collect()
        }
    }

    impl Transport for FakeServer {
        async fn deliver(&self, message: &Message) -> Result<(), Failure> {
            self.0.deliveries_tried.fetch_add(1, Ordering::SeqCst);
            if self.0.down.load(Ordering::SeqCst) {
                return Err(Failure::Unreachable("connection refused".into()));
            }
            if let Some(f) = self.0.scripted.lock().unwrap().pop_front() {
                return Err(f);
            }
            self.0.delivered.lock().unwrap().push(message.clone());
            Ok(())
        }
        async fn probe(&self) -> Result<(), Failure> {
            self.0.probes.fetch_add(1, Ordering::SeqCst);
            if self.0.down.load(Ordering::SeqCst) {
                return Err(Failure::Unreachable("connection refused".into()));
            }
            Ok(())
        }
    }

    fn settings(capacity: usize) -> QueueSettings {
        QueueSettings {
            capacity,
            backoff_min: Duration::from_millis(20),
            backoff_max: Duration::from_millis(80),
            retry_max: Duration::from_secs(60),
        }
    }

    struct Rig {
        server: FakeServer,
        mailer: SmtpMailer,
        counters: Arc<Counters>,
        stop: watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
    }

    fn rig(settings: QueueSettings, down: bool) -> Rig {
        let server = FakeServer::default();
        server.0.down.store(down, Ordering::SeqCst);
        let (stop, stop_rx) = watch::channel(false);
        let (mailer, counters, task) = spawn(
            server.clone(),
            Templates::load(None).unwrap(),
            "Gatehouse <no-reply@localhost>".parse().unwrap(),
            settings,
            stop_rx,
        );
        Rig {
            server,
            mailer,
            counters,
            stop,
            task,
        }
    }

    fn mail(to: Option<&str>, username: &str) -> Mail {
        Mail {
            kind: MailKind::ResetPassword,
            to: to.map(String::from),
            from: None,
            tenant_name: "Acme".into(),
            username: username.into(),
            link: Some(SecretString::from(format!(
                "https://id.example/r?token={username}"
            ))),
        }
    }

    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let start = std::time::Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "waited 10 s for: {what}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let s = QueueSettings {
            capacity: 1,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            retry_max: Duration::from_secs(86_400),
        };
        let waits: Vec<u64> = (1..=11).map(|n| s.backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(s.backoff(u32::MAX), Duration::from_secs(300));
    }

    #[tokio::test]
    async fn mails_wait_while_the_server_is_down_and_go_in_order_once_it_returns() {
        let r = rig(settings(10), true);
        for name in ["first", "second", "third"] {
            r.mailer.send(mail(Some("bob@example.test"), name));
        }
        assert_eq!(r.counters.snapshot().queued, 3);
        until("a few failed tries", || {
            r.counters.snapshot().failed_attempts >= 4
        })
        .await;
        let s = r.counters.snapshot();
        assert_eq!((s.queued, s.sent, s.reachable), (3, 0, Some(false)));
        assert_eq!(s.last_error.as_deref(), Some("connection refused"));
        // Only the oldest mail is tried while the server is down.
        assert!(r.server.delivered().is_empty());

        r.server.0.down.store(false, Ordering::SeqCst);
        until("all sent", || r.counters.snapshot().sent == 3).await;
        let delivered = r.server.delivered();
        for (i, name) in ["first", "second", "third"].iter().enumerate() {
            assert!(delivered[i].contains(&format!("Hello {name},")), "{i}");
        }
        let s = r.counters.snapshot();
        assert_eq!((s.queued, s.given_up, s.reachable), (0, 0, Some(true)));
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts() {
        let r = rig(settings(2), true);
        for i in 0..5 {
            r.mailer
                .send(mail(Some("bob@example.test"), &format!("m{i}")));
        }
        let s = r.counters.snapshot();
        assert_eq!((s.queued, s.dropped), (2, 3));
        r.server.0.down.store(false, Ordering::SeqCst);
        until("both sent", || r.counters.snapshot().sent == 2).await;
        r.mailer.send(mail(Some("bob@example.test"), "after"));
        until("room again", || r.counters.snapshot().sent == 3).await;
    }

    #[tokio::test]
    async fn decoys_are_never_sent_and_wait_like_mails_while_the_server_is_down() {
        let r = rig(settings(10), false);
        r.mailer.send(mail(None, "decoy1"));
        r.mailer.send(mail(Some("bob@example.test"), "real"));
        until("sent", || r.counters.snapshot().sent == 1).await;
        until("drained", || r.counters.snapshot().queued == 0).await;
        assert_eq!(r.server.delivered().len(), 1);

        r.server.0.down.store(true, Ordering::SeqCst);
        r.mailer
            .send(mail(Some("bob@example.test"), "real-while-down"));
        until("seen down", || {
            r.counters.snapshot().reachable == Some(false)
        })
        .await;
        r.mailer.send(mail(None, "decoy2"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(r.counters.snapshot().queued, 2, "the decoy waits too");
        r.server.0.down.store(false, Ordering::SeqCst);
        until("drained", || r.counters.snapshot().queued == 0).await;
        let delivered = r.server.delivered();
        assert_eq!(delivered.len(), 2);
        assert!(delivered.iter().all(|m| !m.contains("decoy")));
    }

    #[tokio::test]
    async fn a_4xx_defers_one_mail_and_a_5xx_gives_it_up_while_others_go_on() {
        let r = rig(settings(10), false);
        until("start-up check", || {
            r.counters.snapshot().reachable.is_some()
        })
        .await;
        r.server.0.scripted.lock().unwrap().extend([
            Failure::Transient("the mail server answered 452".into()),
            Failure::Permanent("the mail server answered 550".into()),
        ]);
        r.mailer.send(mail(Some("full@example.test"), "deferred"));
        r.mailer.send(mail(Some("gone@example.test"), "refused"));
        r.mailer.send(mail(Some("bob@example.test"), "fine"));
        until("two sent", || r.counters.snapshot().sent == 2).await;
        let s = r.counters.snapshot();
        assert_eq!((s.given_up, s.failed_attempts, s.queued), (1, 2, 0));
        let delivered = r.server.delivered();
        assert!(
            delivered[0].contains("Hello fine,"),
            "the 4xx one did not block"
        );
        assert!(delivered[1].contains("Hello deferred,"));
    }

    #[tokio::test]
    async fn mails_older_than_retry_max_are_given_up() {
        let r = rig(
            QueueSettings {
                retry_max: Duration::from_millis(150),
                ..settings(10)
            },
            true,
        );
        r.mailer.send(mail(Some("bob@example.test"), "late"));
        until("given up", || r.counters.snapshot().given_up == 1).await;
        assert_eq!(r.counters.snapshot().queued, 0);
        r.server.0.down.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(r.server.delivered().is_empty());
    }

    #[tokio::test]
    async fn shutdown_tries_what_is_left_then_stops_and_later_mails_are_dropped() {
        let r = rig(settings(10), true);
        r.mailer.send(mail(Some("bob@example.test"), "pending"));
        until("seen down", || {
            r.counters.snapshot().reachable == Some(false)
        })
        .await;
        r.server.0.down.store(false, Ordering::SeqCst);
        // Stopped during the backoff: the flush sends it at once.
        r.stop.send(true).unwrap();
        tokio::time::timeout(SHUTDOWN_GRACE * 2, r.task)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.server.delivered().len(), 1);
        r.mailer.send(mail(Some("bob@example.test"), "too-late"));
        let s = r.counters.snapshot();
        assert_eq!((s.queued, s.dropped, s.sent), (0, 1, 1));
    }
}
