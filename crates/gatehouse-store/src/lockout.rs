//! The account soft-lock's one decision (`LockoutStore::claim_login_attempt`),
//! written once over the three conditional steps every backend provides
//! ([`LockSteps`]), so SQL and DynamoDB lock after the same attempt.
//!
//! An attempt is claimed by one of two conditional writes, each a single
//! atomic step that only reads what the row holds when it runs:
//!
//! - *count*: `failed_logins + 1`, if that stays below the threshold and
//!   the user is not locked. Every attempt but the one that reaches the
//!   threshold is this write alone, sent without reading first; its
//!   condition does not name the count it expects, so any number of
//!   concurrent callers each add exactly one (no lost increment, no retry).
//! - *lock*: `locked_until = now + lock_secs[min(lock_count, len - 1)]`,
//!   `lock_count + 1`, `failed_logins = 0`, if the count would reach the
//!   threshold, the user is not locked, and `lock_count` is still the one
//!   the lock's length was chosen by.
//!
//! Between locks at most `threshold` attempts get through: `threshold - 1`
//! counts and one lock, after which both conditions refuse until the lock
//! has passed. The caller whose write locked the account knows it did, so
//! exactly one `Allowed` per lock carries `locked_until`. (One `UPDATE` with
//! `CASE` expressions could do both shapes, but then which attempt locked
//! the row is only known by reading it back afterwards, when a concurrent
//! attempt may have locked it meanwhile: two callers would both report the
//! lock.)

use async_trait::async_trait;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::store::{LoginAttempt, StoreError, StoreResult};

/// What a user's row or item holds of the soft-lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LockState {
    pub failed_logins: i64,
    pub lock_count: i64,
    pub locked_until: Option<UnixTime>,
}

/// What a refused conditional write found, as far as the backend says.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seen {
    /// The backend does not return the row (SQL): read it.
    Unknown,
    NoUser,
    State(LockState),
}

/// How a conditional step ended.
pub(crate) enum Step {
    Done,
    Refused(Seen),
}

/// The three steps, each one statement or request.
#[async_trait]
pub(crate) trait LockSteps: Send + Sync {
    /// `failed_logins + 1` if `failed_logins + 1 < threshold` and the user
    /// is not locked at `now`.
    async fn count_failure(
        &self,
        tenant_id: &str,
        user_id: &str,
        now: UnixTime,
        threshold: i64,
    ) -> StoreResult<Step>;

    /// The user's state; `None` if there is no such user.
    async fn lock_state(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<LockState>>;

    /// Locks the user until `until` (`failed_logins = 0`, `lock_count + 1`)
    /// if `failed_logins + 1 >= threshold`, `lock_count` is still
    /// `lock_count` and the user is not locked at `now`.
    async fn lock(
        &self,
        tenant_id: &str,
        user_id: &str,
        now: UnixTime,
        threshold: i64,
        lock_count: i64,
        until: UnixTime,
    ) -> StoreResult<Step>;
}

/// Rounds of read-and-retry before giving up: a round is repeated only
/// when the state changed between a refusal and the next write (a
/// concurrent clear, or a lock that just expired), so two or three is the
/// most ever seen.
const MAX_ROUNDS: usize = 8;

/// How long the lock after `lock_count` earlier locks lasts: the schedule's
/// last step repeats; an empty schedule never locks.
pub(crate) fn lock_length(lock_secs: &[i64], lock_count: i64) -> i64 {
    let Some(last) = lock_secs.len().checked_sub(1) else {
        return 0;
    };
    let index = usize::try_from(lock_count.max(0)).unwrap_or(usize::MAX);
    lock_secs[index.min(last)].max(0)
}

/// `LockoutStore::claim_login_attempt` over a backend's steps.
pub(crate) async fn claim(
    steps: &dyn LockSteps,
    tenant_id: &str,
    user_id: &str,
    now: UnixTime,
    threshold: i64,
    lock_secs: &[i64],
) -> StoreResult<LoginAttempt> {
    let threshold = threshold.max(1);
    // Most attempts are a count: try it first, without reading.
    let mut seen = if threshold > 1 {
        match steps
            .count_failure(tenant_id, user_id, now, threshold)
            .await?
        {
            Step::Done => return Ok(LoginAttempt::Allowed { locked_until: None }),
            Step::Refused(seen) => seen,
        }
    } else {
        Seen::Unknown
    };
    for _ in 0..MAX_ROUNDS {
        let state = match seen {
            Seen::Unknown => match steps.lock_state(tenant_id, user_id).await? {
                Some(state) => state,
                None => return Ok(LoginAttempt::NoUser),
            },
            Seen::NoUser => return Ok(LoginAttempt::NoUser),
            Seen::State(state) => state,
        };
        if let Some(until) = state.locked_until.filter(|&until| until > now) {
            return Ok(LoginAttempt::Locked { until });
        }
        let (step, locked_until) = if state.failed_logins.saturating_add(1) < threshold {
            // Cleared (or the lock expired) since the refusal: count again.
            let step = steps
                .count_failure(tenant_id, user_id, now, threshold)
                .await?;
            (step, None)
        } else {
            let until = now.saturating_add(lock_length(lock_secs, state.lock_count));
            let step = steps
                .lock(tenant_id, user_id, now, threshold, state.lock_count, until)
                .await?;
            (step, (until > now).then_some(until))
        };
        match step {
            Step::Done => return Ok(LoginAttempt::Allowed { locked_until }),
            Step::Refused(again) => seen = again,
        }
    }
    Err(StoreError::Unavailable(
        "the account's lock state kept changing under a login attempt; try again".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedules_last_step_repeats() {
        let secs = [60, 120, 240];
        let lengths: Vec<i64> = (0..5).map(|n| lock_length(&secs, n)).collect();
        assert_eq!(lengths, [60, 120, 240, 240, 240]);
        assert_eq!(lock_length(&[], 3), 0);
        assert_eq!(lock_length(&secs, -1), 60);
        assert_eq!(lock_length(&secs, i64::MAX), 240);
    }
}
