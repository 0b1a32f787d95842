//! The audit log's writer: events go into a bounded buffer at once (never
//! a database round trip on the request path) and one background task
//! writes them in batches. A full buffer drops events with a warning and
//! a count, so a flood cannot grow memory; `flush` waits until what was
//! recorded so far is written (the CLI calls it before exiting).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::audit::{AuditEvent, Event, current_origin};
use crate::clock::Clock;
use crate::id::new_id;
use crate::store::Store;
use crate::tenant::Tenant;

/// Events waiting to be written, at most.
const BUFFER: usize = 10_000;
/// Events written per batch, at most.
const BATCH: usize = 200;
/// How long an event may wait for others to join its batch.
const LINGER: Duration = Duration::from_millis(200);

enum Message {
    Event(Box<AuditEvent>),
    Flush(oneshot::Sender<()>),
}

/// Where flows record events. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Message>,
    clock: Arc<dyn Clock>,
    dropped: Arc<AtomicU64>,
}

impl AuditLog {
    /// Starts the writer on the current tokio runtime.
    pub(crate) fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let (tx, rx) = mpsc::channel(BUFFER);
        tokio::spawn(write_batches(store, rx));
        Self {
            tx,
            clock,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records an event of `tenant`, now, from the current request's client
    /// unless the event names its own.
    pub fn record(&self, tenant: &Tenant, event: Event) {
        let origin = event.origin.or_else(current_origin).unwrap_or_default();
        let row = AuditEvent {
            id: new_id(),
            tenant_id: tenant.id.clone(),
            at: self.clock.now(),
            kind: event.kind.to_string(),
            actor: event.actor,
            subject: event.subject,
            ip: origin.ip,
            user_agent: origin.user_agent,
            outcome: if event.success { "success" } else { "failure" }.to_string(),
            reason: event.reason.map(str::to_string),
        };
        if self.tx.try_send(Message::Event(Box::new(row))).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // 1st, 2nd, 4th, 8th…: a flood cannot flood the log too.
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "audit buffer full; events dropped");
            }
        }
    }

    /// Waits until every event recorded before this call is written (or
    /// failed to be).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Events dropped because the buffer was full, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The most events one page holds.
pub const MAX_EVENTS_PAGE: u32 = 500;

/// One page of a tenant's events, newest first, and the cursor of the next.
#[derive(Debug, serde::Serialize)]
pub struct EventPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

impl AuditLog {
    /// The tenant's events matching `query` (its `limit` is clamped to 1
    /// to 500; `before_id` is the cursor of a previous page).
    pub async fn list(
        &self,
        store: &dyn Store,
        tenant: &Tenant,
        mut query: crate::store::EventQuery,
    ) -> crate::Result<EventPage> {
        let limit = query.limit.clamp(1, MAX_EVENTS_PAGE);
        query.limit = limit + 1;
        let mut events = store.list_events(&tenant.id, &query).await?;
        let next_cursor = if events.len() > limit as usize {
            events.truncate(limit as usize);
            events.last().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(EventPage {
            events,
            next_cursor,
        })
    }
}

/// Deletes the events older than `retention_secs`, a bounded batch at a
/// time with pauses, so pruning never holds the store for long; how many.
pub async fn prune(
    store: &dyn Store,
    clock: &dyn Clock,
    retention_secs: i64,
) -> crate::Result<u64> {
    const PER_CALL: u32 = 1000;
    let before = clock.now() - retention_secs;
    let mut total = 0;
    loop {
        let n = store.prune_events(before, PER_CALL).await?;
        total += n;
        if n < u64::from(PER_CALL) {
            return Ok(total);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn write_batches(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Message>) {
    let mut batch: Vec<AuditEvent> = Vec::with_capacity(BATCH);
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        take(first, &mut batch, &mut waiting);
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH && waiting.is_empty() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(message)) => take(message, &mut batch, &mut waiting),
                Ok(None) | Err(_) => break,
            }
        }
        if !batch.is_empty() {
            if let Err(e) = store.append_events(&batch).await {
                tracing::warn!(error = %e, events = batch.len(), "audit events could not be written; dropped");
            }
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

fn take(message: Message, batch: &mut Vec<AuditEvent>, waiting: &mut Vec<oneshot::Sender<()>>) {
    match message {
        Message::Event(e) => batch.push(*e),
        Message::Flush(done) => waiting.push(done),
    }
}
