//! The account soft-lock on the `users` row: `crate::lockout`'s steps as
//! conditional `UPDATE`s, each reading only the row as it is when the
//! statement runs (no `SET` reads a column another assignment of the same
//! statement changes, so MySQL's left-to-right assignment order and the
//! others' all-old-values order give the same row).

use async_trait::async_trait;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::store::{LockoutStore, LoginAttempt, StoreResult};
use gatehouse_core::user::is_possible_user_id;

use super::{SqlStore, stmt};
use crate::lockout::{self, LockState, LockSteps, Seen, Step};

/// Not locked at `now` (the last bound parameter).
const UNLOCKED: &str = "(locked_until IS NULL OR locked_until <= ?)";

/// The row changed (`1`), or the condition refused it: what it found is
/// read by the next step.
fn step(rows: u64) -> Step {
    if rows == 1 {
        Step::Done
    } else {
        Step::Refused(Seen::Unknown)
    }
}

#[async_trait]
impl LockSteps for SqlStore {
    async fn count_failure(
        &self,
        tenant_id: &str,
        user_id: &str,
        now: UnixTime,
        threshold: i64,
    ) -> StoreResult<Step> {
        let rows = self
            .db
            .execute(stmt!(
                format!(
                    "UPDATE users SET failed_logins = failed_logins + 1
                     WHERE tenant_id = ? AND id = ? AND failed_logins + 1 < ? AND {UNLOCKED}"
                ),
                tenant_id,
                user_id,
                threshold,
                now,
            ))
            .await?;
        Ok(step(rows))
    }

    async fn lock_state(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<LockState>> {
        let row = self
            .db
            .fetch_optional(stmt!(
                "SELECT failed_logins, lock_count, locked_until FROM users
                 WHERE tenant_id = ? AND id = ?",
                tenant_id,
                user_id
            ))
            .await?;
        row.map(|row| {
            Ok(LockState {
                failed_logins: row.int("failed_logins")?,
                lock_count: row.int("lock_count")?,
                locked_until: row.opt_int("locked_until")?,
            })
        })
        .transpose()
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
        // `lock_count = ?` holds the lock's length to the count it was
        // chosen by; every assignment is a constant or reads only itself.
        let rows = self
            .db
            .execute(stmt!(
                format!(
                    "UPDATE users SET locked_until = ?, lock_count = lock_count + 1, failed_logins = 0
                     WHERE tenant_id = ? AND id = ? AND lock_count = ? AND failed_logins + 1 >= ?
                       AND {UNLOCKED}"
                ),
                until,
                tenant_id,
                user_id,
                lock_count,
                threshold,
                now,
            ))
            .await?;
        Ok(step(rows))
    }
}

#[async_trait]
impl LockoutStore for SqlStore {
    async fn claim_login_attempt(
        &self,
        tenant_id: &str,
        user_id: &str,
        now: UnixTime,
        threshold: i64,
        lock_secs: &[i64],
    ) -> StoreResult<LoginAttempt> {
        // Also keeps MySQL's PAD SPACE comparison from finding `42` by `42 `.
        if !is_possible_user_id(user_id) {
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
        if !is_possible_user_id(user_id) {
            return Ok(());
        }
        let statement = match attempt {
            LoginAttempt::Allowed { locked_until: None } => stmt!(
                format!(
                    "UPDATE users SET failed_logins = failed_logins - 1
                     WHERE tenant_id = ? AND id = ? AND failed_logins > 0 AND {UNLOCKED}"
                ),
                tenant_id,
                user_id,
                now,
            ),
            // Every assignment is a constant or reads only itself.
            LoginAttempt::Allowed {
                locked_until: Some(until),
            } => stmt!(
                "UPDATE users SET locked_until = NULL, lock_count = lock_count - 1, failed_logins = ?
                 WHERE tenant_id = ? AND id = ? AND locked_until = ? AND lock_count > 0",
                (threshold - 1).max(0),
                tenant_id,
                user_id,
                until,
            ),
            LoginAttempt::Locked { .. } | LoginAttempt::NoUser => return Ok(()),
        };
        self.db.execute(statement).await.map(drop)
    }

    async fn clear_login_failures(&self, tenant_id: &str, user_id: &str) -> StoreResult<()> {
        if !is_possible_user_id(user_id) {
            return Ok(());
        }
        // Every successful login clears: a row with nothing to clear is
        // not written (PostgreSQL would write a new row version).
        self.db
            .execute(stmt!(
                "UPDATE users SET failed_logins = 0, lock_count = 0, locked_until = NULL
                 WHERE tenant_id = ? AND id = ?
                   AND (failed_logins <> 0 OR lock_count <> 0 OR locked_until IS NOT NULL)",
                tenant_id,
                user_id
            ))
            .await
            .map(drop)
    }
}
