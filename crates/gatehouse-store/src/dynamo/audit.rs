//! The audit log: one item per event in the tenant's event partition
//! (`T#{t}#EV`), sorted by the event's UUIDv7 id, so a listing is one
//! `Query` read newest first from the cursor down.
//!
//! There is no index by time across tenants (no GSI: see the module docs
//! of `dynamo`). So:
//!
//! - every event carries a TTL of its time plus 400 days, the ceiling of
//!   any retention: DynamoDB deletes it then at the latest, for free;
//! - `prune_events`, for a shorter retention, walks the tenants (`Query
//!   TENANTS`) and each one's event partition from its oldest event,
//!   deleting those older than `before` until `limit` are gone. Ids are
//!   minted when an event is recorded, so id order is time order and a
//!   walk stops at the first event newer than `before` (by more than
//!   [`SKEW`], for clocks of several nodes): it reads only what it deletes,
//!   plus one page. An event whose time and id disagree by more than that
//!   is left to its TTL, never deleted early.
//! - A listing `since` a time stops the same way; kind and subject are
//!   filtered from what is read.

use std::collections::HashSet;

use async_trait::async_trait;
use futures::future::join_all;
use gatehouse_core::audit::AuditEvent;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::store::{AuditStore, EventQuery, StoreError, StoreResult, UniqueField};

use super::item::{Item, ItemBuilder, Read};
use super::table::{Order, Outcome, SortKeys, Tx};
use super::users::key_of;
use super::{DynamoStore, k, keep};
use crate::sql::audit::{MAX_PAGE, event_fits, matches_exactly, possible_filter};

/// How far an event's time may lag behind the time in its id (clocks of
/// different nodes, an event recorded then written a moment later)
/// before a walk in id order may stop at it.
const SKEW: i64 = 300;

/// Items read per page when not every item read is kept.
const PAGE: i32 = 200;

/// Deletions sent at once when pruning.
const DELETES_AT_ONCE: usize = 25;

fn event_item(e: &AuditEvent) -> Item {
    ItemBuilder::new(k::events(&e.tenant_id), &e.id)
        .n("at", e.at)
        .s("kind", &e.kind)
        .opt_s("actor", e.actor.as_deref())
        .opt_s("subject", e.subject.as_deref())
        .opt_s("ip", e.ip.as_deref())
        .opt_s("user_agent", e.user_agent.as_deref())
        .s("outcome", &e.outcome)
        .opt_s("reason", e.reason.as_deref())
        .ttl(e.at.saturating_add(keep::EVENT))
        .build()
}

fn event_from(tenant_id: &str, item: &Item) -> StoreResult<AuditEvent> {
    let r = Read(item);
    Ok(AuditEvent {
        id: r.sk()?,
        tenant_id: tenant_id.to_string(),
        at: r.int("at")?,
        kind: r.text("kind")?,
        actor: r.opt_text("actor")?,
        subject: r.opt_text("subject")?,
        ip: r.opt_text("ip")?,
        user_agent: r.opt_text("user_agent")?,
        outcome: r.text("outcome")?,
        reason: r.opt_text("reason")?,
    })
}

impl DynamoStore {
    /// The keys of up to `limit` of the tenant's events older than
    /// `before`, oldest first.
    async fn old_events(
        &self,
        tenant_id: &str,
        before: UnixTime,
        limit: usize,
    ) -> StoreResult<Vec<Item>> {
        let pk = k::events(tenant_id);
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self
                .table
                .query_span(
                    &pk,
                    SortKeys::Prefix(""),
                    Order::Ascending,
                    Some(PAGE),
                    start,
                )
                .await?;
            for item in &items {
                let at = Read(item).int("at")?;
                if at >= before.saturating_add(SKEW) {
                    return Ok(found);
                }
                if at < before {
                    found.push(key_of(item));
                    if found.len() == limit {
                        return Ok(found);
                    }
                }
            }
            match next {
                Some(key) => start = Some(key),
                None => return Ok(found),
            }
        }
    }

    /// Deletes the items at `keys`; how many were there to delete.
    async fn delete_counted(&self, keys: Vec<Item>) -> StoreResult<u64> {
        let mut deleted = 0;
        for chunk in keys.chunks(DELETES_AT_ONCE) {
            let outcomes = join_all(
                chunk
                    .iter()
                    .map(|key| self.table.delete(key.clone(), None, Vec::new())),
            )
            .await;
            for outcome in outcomes {
                // Gone already: a concurrent prune, or TTL, took it.
                if let Outcome::Done(Some(_)) = outcome? {
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }
}

#[async_trait]
impl AuditStore for DynamoStore {
    async fn append_events(&self, events: &[AuditEvent]) -> StoreResult<()> {
        let mut ids = HashSet::new();
        for e in events {
            event_fits(e)?;
            // One transaction may name an item once; SQL would refuse the
            // second row by its primary key.
            if !ids.insert((e.tenant_id.as_str(), e.id.as_str())) {
                return Err(StoreError::Conflict(UniqueField::Other));
            }
        }
        match events {
            [] => Ok(()),
            // One event is one write, atomic by itself and billed once.
            [e] => self
                .table
                .put(event_item(e), None, Vec::new())
                .await
                .map(drop),
            // A batch in transactions of up to 100 (DynamoDB's limit), each
            // all or nothing. Unconditional puts: a batch written again
            // after an unanswered request writes the same items again.
            _ => {
                self.table
                    .transact_chunks(events.iter().map(|e| Tx::put(event_item(e))).collect())
                    .await
            }
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
        let limit = query.limit.clamp(1, MAX_PAGE) as usize;
        let keys = match query.before_id.as_deref() {
            Some(before) => SortKeys::Below(before),
            None => SortKeys::Prefix(""),
        };
        // Without a filter every item read is kept: ask for just enough.
        let filtered = query.kind.is_some() || query.subject.is_some() || query.since.is_some();
        let pk = k::events(tenant_id);
        let mut events = Vec::new();
        let mut start = None;
        loop {
            let ask = if filtered {
                PAGE
            } else {
                i32::try_from(limit - events.len()).unwrap_or(PAGE)
            };
            let (items, next) = self
                .table
                .query_span(&pk, keys, Order::Descending, Some(ask), start)
                .await?;
            for item in &items {
                let event = event_from(tenant_id, item)?;
                if let Some(since) = query.since {
                    // Newest first by id, which is time order: what
                    // follows is older still.
                    if event.at < since.saturating_sub(SKEW) {
                        return Ok(events);
                    }
                    if event.at < since {
                        continue;
                    }
                }
                if matches_exactly(&event, query) {
                    events.push(event);
                    if events.len() == limit {
                        return Ok(events);
                    }
                }
            }
            match next {
                Some(key) => start = Some(key),
                None => return Ok(events),
            }
        }
    }

    async fn prune_events(&self, before: UnixTime, limit: u32) -> StoreResult<u64> {
        let mut remaining = limit as usize;
        let mut deleted = 0;
        let tenants = self.table.query(&k::tenants(), "N#").await?;
        for tenant in &tenants {
            if remaining == 0 {
                break;
            }
            let tenant_id = Read(tenant).text("id")?;
            let old = self.old_events(&tenant_id, before, remaining).await?;
            remaining -= old.len();
            deleted += self.delete_counted(old).await?;
        }
        Ok(deleted)
    }
}
