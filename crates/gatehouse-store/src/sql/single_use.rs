//! Using up a single-use value: a refresh token, an authorization code or
//! an account link. All three are one row with a `used_at` column, and
//! all three must let exactly one of any number of concurrent callers
//! through; this is that step, written once.

use gatehouse_core::clock::UnixTime;
use gatehouse_core::store::StoreResult;

use super::{Arg, Row, SqlStore, Statement};

/// What [`SqlStore::use_once`] found. Each port has its own enum of this
/// shape (`Consumed`, `CodeConsumed`, `TokenConsumed`); callers translate.
pub(crate) enum Use<T> {
    /// It was unused, and this call used it.
    Fresh(T),
    /// It had been used before (or a concurrent call won).
    AlreadyUsed(T),
    /// No row matches the key.
    NotFound,
}

/// Which row to use up.
pub(crate) struct SingleUse<'a, T> {
    pub table: &'a str,
    /// The columns [`SingleUse::read`] needs.
    pub columns: &'a str,
    /// A conjunction of `column = ?` naming the row, in one tenant (and,
    /// for account links, of one purpose): a row outside it is neither
    /// found nor used.
    pub key: &'a str,
    pub args: Vec<Arg>,
    pub read: fn(&dyn Row) -> StoreResult<T>,
}

impl SqlStore {
    /// Sets `used_at = now` on the row if it is unused, then reads it back.
    pub(crate) async fn use_once<T>(
        &self,
        target: SingleUse<'_, T>,
        now: UnixTime,
    ) -> StoreResult<Use<T>> {
        let SingleUse {
            table,
            columns,
            key,
            args,
            read,
        } = target;
        // One conditional UPDATE is the whole race: of any number of
        // concurrent callers, exactly one changes the row. No transaction
        // is needed around the read that follows: `used_at` is only ever
        // set once, so whatever a loser reads is already settled.
        let mut update_args = vec![Arg::Int(now)];
        update_args.extend(args.iter().cloned());
        let won = self
            .db
            .execute(Statement {
                sql: format!("UPDATE {table} SET used_at = ? WHERE {key} AND used_at IS NULL"),
                args: update_args,
            })
            .await?
            == 1;
        let row = self
            .db
            .fetch_optional(Statement {
                sql: format!("SELECT {columns} FROM {table} WHERE {key}"),
                args,
            })
            .await?;
        Ok(match (row, won) {
            (Some(row), true) => Use::Fresh(read(row.as_ref())?),
            (Some(row), false) => Use::AlreadyUsed(read(row.as_ref())?),
            // Won but gone: what it belonged to (a session, a user) was
            // deleted since, taking it along.
            (None, _) => Use::NotFound,
        })
    }
}
