//! The account soft-lock on the user item (`T#{t}#USERS`, `I#{id}`):
//! `crate::lockout`'s steps as conditional `UpdateItem`s. An update
//! expression cannot branch, so the two shapes are two requests; a refused
//! one hands back the item as it was (`ReturnValuesOnConditionCheckFailure`),
//! so the next step needs no read of its own.
//!
//! - count: `ADD failed_logins 1` if it stays below the threshold and the
//!   user is not locked. Its condition names no exact count, so concurrent
//!   attempts each add one, serialised by DynamoDB on the item, and never
//!   retry.
//! - lock: `SET locked_until, lock_count + 1, failed_logins = 0` if the
//!   count would reach the threshold, `lock_count` is still the one the
//!   lock's length was chosen by, and the user is not locked. Of concurrent
//!   attempts at the threshold, one locks; the others are refused with the
//!   locked item and answer `Locked`.
//!
//! Users written before the soft-lock lack the attributes: absent reads as
//! 0 (or not locked), and the conditions say so.

use async_trait::async_trait;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::store::{LockoutStore, LoginAttempt, StoreResult};
use gatehouse_core::user::is_possible_user_id;

use super::item::{Item, Read, key, n};
use super::table::Outcome;
use super::users::record_sk;
use super::{DynamoStore, k};
use crate::lockout::{self, LockState, LockSteps, Seen, Step};

/// Not locked at `:now`.
const UNLOCKED: &str = "(attribute_not_exists(#locked_until) OR #locked_until <= :now)";

fn user_key(tenant_id: &str, user_id: &str) -> Item {
    key(k::users(tenant_id), record_sk(user_id))
}

fn lock_state(item: &Item) -> StoreResult<LockState> {
    let r = Read(item);
    Ok(LockState {
        failed_logins: r.opt_int("failed_logins")?.unwrap_or(0),
        lock_count: r.opt_int("lock_count")?.unwrap_or(0),
        locked_until: r.opt_int("locked_until")?,
    })
}

/// A conditional update's end, with what a refusal found.
fn step(outcome: Outcome<Item>) -> StoreResult<Step> {
    Ok(match outcome {
        Outcome::Done(_) => Step::Done,
        Outcome::Refused(None) => Step::Refused(Seen::NoUser),
        Outcome::Refused(Some(item)) => Step::Refused(Seen::State(lock_state(&item)?)),
    })
}

#[async_trait]
impl LockSteps for DynamoStore {
    async fn count_failure(
        &self,
        tenant_id: &str,
        user_id: &str,
        now: UnixTime,
        threshold: i64,
    ) -> StoreResult<Step> {
        // An absent count is 0, which the condition lets through: right
        // only while 0 + 1 stays below the threshold.
        if threshold < 2 {
            return Ok(Step::Refused(Seen::Unknown));
        }
        let cond = format!(
            "attribute_exists(#pk) \
             AND (attribute_not_exists(#failed_logins) OR #failed_logins < :last) AND {UNLOCKED}"
        );
        let outcome = self
            .table
            .update(
                user_key(tenant_id, user_id),
                "ADD #failed_logins :one",
                Some(&cond),
                vec![
                    (":one", n(1)),
                    (":last", n(threshold - 1)),
                    (":now", n(now)),
                ],
            )
            .await?;
        step(outcome)
    }

    async fn lock_state(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<LockState>> {
        let item = self.table.get(user_key(tenant_id, user_id)).await?;
        item.as_ref().map(lock_state).transpose()
    }

    async fn lock(
        &self,
        tenant_id: &str,
        user_id: &str,
        now: UnixTime,
        threshold: i64,
        lock_count: i64,
        until: UnixTime,
    ) -> StoreResult<Step> {
        let mut cond = vec!["attribute_exists(#pk)", UNLOCKED];
        let mut values = vec![
            (":until", n(until)),
            (":next", n(lock_count.saturating_add(1))),
            (":zero", n(0)),
            (":count", n(lock_count)),
            (":now", n(now)),
        ];
        cond.push(if lock_count == 0 {
            "(attribute_not_exists(#lock_count) OR #lock_count = :count)"
        } else {
            "#lock_count = :count"
        });
        // `failed_logins + 1 >= threshold`; always so when the threshold
        // is 1 (an absent count is 0).
        if threshold > 1 {
            cond.push("#failed_logins >= :last");
            values.push((":last", n(threshold - 1)));
        }
        let outcome = self
            .table
            .update(
                user_key(tenant_id, user_id),
                "SET #locked_until = :until, #lock_count = :next, #failed_logins = :zero",
                Some(&cond.join(" AND ")),
                values,
            )
            .await?;
        step(outcome)
    }
}

#[async_trait]
impl LockoutStore for DynamoStore {
    async fn claim_login_attempt(
        &self,
        tenant_id: &str,
        user_id: &str,
        now: UnixTime,
        threshold: i64,
        lock_secs: &[i64],
    ) -> StoreResult<LoginAttempt> {
        if !is_possible_user_id(user_id) || user_id.is_empty() {
            return Ok(LoginAttempt::NoUser);
        }
        lockout::claim(self, tenant_id, user_id, now, threshold, lock_secs).await
    }

    async fn release_login_attempt(
        &self,
        tenant_id: &str,
        user_id: &str,
        attempt: LoginAttempt,
        threshold: i64,
        now: UnixTime,
    ) -> StoreResult<()> {
        if !is_possible_user_id(user_id) || user_id.is_empty() {
            return Ok(());
        }
        // A refused condition (the state moved on) changes nothing: the
        // attempt is then no longer the one to give back.
        let (update, cond, values) = match attempt {
            LoginAttempt::Allowed { locked_until: None } => (
                "ADD #failed_logins :minus_one",
                format!("attribute_exists(#pk) AND #failed_logins > :zero AND {UNLOCKED}"),
                vec![(":minus_one", n(-1)), (":zero", n(0)), (":now", n(now))],
            ),
            LoginAttempt::Allowed {
                locked_until: Some(until),
            } => (
                "SET #failed_logins = :left REMOVE #locked_until ADD #lock_count :minus_one",
                "attribute_exists(#pk) AND #locked_until = :until AND #lock_count > :zero"
                    .to_string(),
                vec![
                    (":left", n((threshold - 1).max(0))),
                    (":until", n(until)),
                    (":minus_one", n(-1)),
                    (":zero", n(0)),
                ],
            ),
            LoginAttempt::Locked { .. } | LoginAttempt::NoUser => return Ok(()),
        };
        self.table
            .update(user_key(tenant_id, user_id), update, Some(&cond), values)
            .await
            .map(drop)
    }

    async fn clear_login_failures(&self, tenant_id: &str, user_id: &str) -> StoreResult<()> {
        if !is_possible_user_id(user_id) || user_id.is_empty() {
            return Ok(());
        }
        // A refused condition (no such user) changes nothing: the no-op
        // the port asks for. A refusal is billed as a write all the same,
        // so the condition does not also skip users with nothing to clear.
        self.table
            .update(
                user_key(tenant_id, user_id),
                "SET #failed_logins = :zero, #lock_count = :zero REMOVE #locked_until",
                Some("attribute_exists(#pk)"),
                vec![(":zero", n(0))],
            )
            .await
            .map(drop)
    }
}
