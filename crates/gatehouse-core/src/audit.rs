//! Audit events: one row per security event (a login, its failure, a
//! lockout, a reuse of a refresh token, a password reset, an admin's
//! change, ...), with who did it, to whom, from where and how it ended.
//! Never a password, token, secret or hash: only ids, names and reasons.
//!
//! Events are recorded without waiting: `AuditLog::record` puts them in a
//! bounded buffer that a background task writes in batches, so recording
//! costs no database round trip on the request path (and `/auth` records
//! none at all; its decisions are metrics).

use serde::Serialize;

use crate::clock::UnixTime;
use crate::session::Origin;

/// One security event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// UUIDv7: time-ordered, the cursor of a listing.
    pub id: String,
    #[serde(skip)]
    pub tenant_id: String,
    pub at: UnixTime,
    /// What happened (`login.failure`, `user.disabled`, …).
    pub kind: String,
    /// Who did it: a user id, a client id, `admin`, or none (anonymous).
    pub actor: Option<String>,
    /// Whom or what it was done to: a user id, a client id, a key id.
    pub subject: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// A reason kept for operators (`wrong_password`, `locked`); never
    /// shown to the caller the event is about.
    pub reason: Option<String>,
}

/// What a flow says about an event; the log adds id, time and origin.
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub kind: &'static str,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub success: bool,
    pub reason: Option<&'static str>,
    pub origin: Option<Origin>,
}

impl Event {
    pub fn success(kind: &'static str) -> Self {
        Self {
            kind,
            success: true,
            ..Self::default()
        }
    }

    pub fn failure(kind: &'static str, reason: &'static str) -> Self {
        Self {
            kind,
            success: false,
            reason: Some(reason),
            ..Self::default()
        }
    }

    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    pub fn origin(mut self, origin: &Origin) -> Self {
        self.origin = Some(origin.clone());
        self
    }
}

tokio::task_local! {
    /// The client of the request being served, set by the server around
    /// each request so an event recorded anywhere below knows it.
    static REQUEST_ORIGIN: Origin;
}

/// Runs `future` with `origin` as the client of every event it records.
pub async fn with_origin<F: std::future::Future>(origin: Origin, future: F) -> F::Output {
    REQUEST_ORIGIN.scope(origin, future).await
}

/// The client of the request this task serves, if the server set one.
pub fn current_origin() -> Option<Origin> {
    REQUEST_ORIGIN.try_with(Clone::clone).ok()
}
