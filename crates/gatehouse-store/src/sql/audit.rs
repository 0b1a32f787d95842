//! The audit log: `audit_events`, appended in batches by core's audit
//! buffer, listed per tenant newest first (by the UUIDv7 id, which is also
//! the cursor), and pruned by age across tenants.

use async_trait::async_trait;
use gatehouse_core::audit::AuditEvent;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::store::{AuditStore, EventQuery, StoreError, StoreResult};

use super::{Arg, Require, Row, SqlStore, Statement, fits, is_possible_key, stmt, width};

const COLUMNS: &str = "id, tenant_id, at, kind, actor, subject, ip, user_agent, outcome, reason";

/// The most events one listing returns, whatever the caller asks.
pub(crate) const MAX_PAGE: u32 = 500;

/// Rows per `INSERT` (10 parameters each: far below every backend's limit
/// on parameters per statement).
const ROWS_PER_INSERT: usize = 100;

/// Ids per `DELETE … WHERE id IN (…)` when pruning.
const IDS_PER_DELETE: usize = 500;

/// Refuses an event the columns cannot hold (the widths of the MySQL
/// schema, in every backend), before anything is sent. DynamoDB keeps the
/// same rule.
pub(crate) fn event_fits(e: &AuditEvent) -> StoreResult<()> {
    if !is_possible_key(&e.id, width::ID) {
        return Err(StoreError::Unstorable("an event id that is not one"));
    }
    for (value, chars) in [
        (Some(e.tenant_id.as_str()), width::ID),
        (Some(e.kind.as_str()), width::EVENT_KIND),
        (e.actor.as_deref(), width::EVENT_PARTY),
        (e.subject.as_deref(), width::EVENT_PARTY),
        (e.ip.as_deref(), width::IP),
        (e.user_agent.as_deref(), width::USER_AGENT),
        (Some(e.outcome.as_str()), width::EVENT_OUTCOME),
        (e.reason.as_deref(), width::EVENT_REASON),
    ] {
        fits(value, chars)?;
    }
    Ok(())
}

/// Whether the query could match any event at all: a filter value no
/// column can hold, or a cursor that is no event's id (cursors are ids a
/// listing returned), matches nothing, without asking the database.
pub(crate) fn possible_filter(query: &EventQuery) -> bool {
    fits(query.kind.as_deref(), width::EVENT_KIND).is_ok()
        && fits(query.subject.as_deref(), width::EVENT_PARTY).is_ok()
        && query
            .before_id
            .as_deref()
            .is_none_or(|id| is_possible_key(id, width::ID))
}

/// Whether `e` is what the query's equality filters ask for, compared as
/// Rust compares text: MySQL's PAD SPACE collations also find `login `
/// by `login`, and every backend must answer alike.
pub(crate) fn matches_exactly(e: &AuditEvent, query: &EventQuery) -> bool {
    query.kind.as_ref().is_none_or(|k| *k == e.kind)
        && query
            .subject
            .as_ref()
            .is_none_or(|s| Some(s) == e.subject.as_ref())
}

fn insert(events: &[AuditEvent]) -> Statement {
    let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let rows = vec![row; events.len()].join(", ");
    let mut args: Vec<Arg> = Vec::with_capacity(events.len() * 10);
    for e in events {
        args.extend([
            Arg::from(&e.id),
            Arg::from(&e.tenant_id),
            Arg::from(e.at),
            Arg::from(&e.kind),
            Arg::from(&e.actor),
            Arg::from(&e.subject),
            Arg::from(&e.ip),
            Arg::from(&e.user_agent),
            Arg::from(&e.outcome),
            Arg::from(&e.reason),
        ]);
    }
    Statement {
        sql: format!("INSERT INTO audit_events ({COLUMNS}) VALUES {rows}"),
        args,
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_events(&self, events: &[AuditEvent]) -> StoreResult<()> {
        for e in events {
            event_fits(e)?;
        }
        let mut statements: Vec<Statement> = events.chunks(ROWS_PER_INSERT).map(insert).collect();
        match statements.len() {
            0 => Ok(()),
            // One statement is atomic by itself.
            1 => self.db.execute(statements.remove(0)).await.map(drop),
            _ => self
                .db
                .transaction(statements, Require::Nothing)
                .await
                .map(drop),
        }
    }

    async fn list_events(
        &self,
        tenant_id: &str,
        query: &EventQuery,
    ) -> StoreResult<Vec<AuditEvent>> {
        if !possible_filter(query) {
            return Ok(Vec::new());
        }
        let limit = query.limit.clamp(1, MAX_PAGE);
        let mut sql = format!("SELECT {COLUMNS} FROM audit_events WHERE tenant_id = ?");
        let mut args: Vec<Arg> = vec![tenant_id.into()];
        if let Some(kind) = &query.kind {
            sql.push_str(" AND kind = ?");
            args.push(kind.into());
        }
        if let Some(subject) = &query.subject {
            sql.push_str(" AND subject = ?");
            args.push(subject.into());
        }
        if let Some(since) = query.since {
            sql.push_str(" AND at >= ?");
            args.push(since.into());
        }
        // The cursor is the last id seen: ids are time-ordered, so pages
        // neither repeat nor skip an event while more are appended.
        if let Some(before) = &query.before_id {
            sql.push_str(" AND id < ?");
            args.push(before.into());
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        args.push(i64::from(limit).into());
        let rows = self.db.fetch_all(Statement { sql, args }).await?;
        let events = rows
            .iter()
            .map(|r| event_from_row(r.as_ref()))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(events
            .into_iter()
            .filter(|e| matches_exactly(e, query))
            .collect())
    }

    async fn prune_events(&self, before: UnixTime, limit: u32) -> StoreResult<u64> {
        if limit == 0 {
            return Ok(0);
        }
        // Two steps, in every backend alike: MySQL refuses `LIMIT` in an
        // `IN (…)` subquery. Each `DELETE` is short and checks the age
        // again; an event a concurrent prune took is not counted twice.
        let rows = self
            .db
            .fetch_all(stmt!(
                "SELECT id FROM audit_events WHERE at < ? ORDER BY at LIMIT ?",
                before,
                i64::from(limit)
            ))
            .await?;
        let ids = rows
            .iter()
            .map(|r| r.text("id"))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut deleted = 0;
        for chunk in ids.chunks(IDS_PER_DELETE) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut args: Vec<Arg> = vec![before.into()];
            args.extend(chunk.iter().map(Arg::from));
            deleted += self
                .db
                .execute(Statement {
                    sql: format!("DELETE FROM audit_events WHERE at < ? AND id IN ({marks})"),
                    args,
                })
                .await?;
        }
        Ok(deleted)
    }
}

fn event_from_row(row: &dyn Row) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        id: row.text("id")?,
        tenant_id: row.text("tenant_id")?,
        at: row.int("at")?,
        kind: row.text("kind")?,
        actor: row.opt_text("actor")?,
        subject: row.opt_text("subject")?,
        ip: row.opt_text("ip")?,
        user_agent: row.opt_text("user_agent")?,
        outcome: row.text("outcome")?,
        reason: row.opt_text("reason")?,
    })
}
