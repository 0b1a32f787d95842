//! Sessions and refresh tokens.

use async_trait::async_trait;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::refresh::{Consumed, RefreshRecord};
use gatehouse_core::session::{Origin, Session};
use gatehouse_core::store::{SessionStore, StoreResult};
use gatehouse_core::user::is_possible_user_id;

use super::single_use::{SingleUse, Use};
use super::{Require, Row, SqlStore, Statement, fits, is_possible_key, stmt, width};

const SESSION_COLUMNS: &str = "id, tenant_id, user_id, client_id, scope, browser_session_id, \
     client_ip, user_agent, created_at, last_refreshed_at, expires_at, revoked_at";
const REFRESH_COLUMNS: &str = "token_hash, tenant_id, session_id, created_at, expires_at, used_at";

fn insert_refresh(r: &RefreshRecord) -> Statement {
    stmt!(
        format!("INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"),
        &r.token_hash,
        &r.tenant_id,
        &r.session_id,
        r.created_at,
        r.expires_at,
        r.used_at,
    )
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, s: &Session, first: Option<&RefreshRecord>) -> StoreResult<()> {
        fits(Some(&s.client_id), width::CLIENT_ID)?;
        fits(s.browser_session_id.as_deref(), width::ID)?;
        fits(s.origin.ip.as_deref(), width::IP)?;
        fits(s.origin.user_agent.as_deref(), width::USER_AGENT)?;
        let insert_session = stmt!(
            format!(
                "INSERT INTO sessions ({SESSION_COLUMNS})
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            &s.id,
            &s.tenant_id,
            &s.user_id,
            &s.client_id,
            &s.scope,
            &s.browser_session_id,
            &s.origin.ip,
            &s.origin.user_agent,
            s.created_at,
            s.last_refreshed_at,
            s.expires_at,
            s.revoked_at,
        );
        match first {
            // A code-flow session without `offline_access` has no refresh token.
            None => self.db.execute(insert_session).await.map(drop),
            Some(first) => self
                .db
                .transaction(
                    vec![insert_session, insert_refresh(first)],
                    Require::Nothing,
                )
                .await
                .map(drop),
        }
    }

    async fn session(&self, tenant_id: &str, session_id: &str) -> StoreResult<Option<Session>> {
        let row = self
            .db
            .fetch_optional(stmt!(
                format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ? AND tenant_id = ?"),
                session_id,
                tenant_id
            ))
            .await?;
        row.as_deref().map(session_from_row).transpose()
    }

    async fn revoke_session(
        &self,
        tenant_id: &str,
        session_id: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let n = self
            .db
            .execute(stmt!(
                "UPDATE sessions SET revoked_at = ?
                 WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL",
                now,
                session_id,
                tenant_id
            ))
            .await?;
        Ok(n > 0)
    }

    async fn consume_refresh_token(
        &self,
        tenant_id: &str,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Consumed> {
        let target = SingleUse {
            table: "refresh_tokens",
            columns: REFRESH_COLUMNS,
            key: "token_hash = ? AND tenant_id = ?",
            args: vec![token_hash.into(), tenant_id.into()],
            read: refresh_from_row,
        };
        Ok(match self.use_once(target, now).await? {
            Use::Fresh(r) => Consumed::Fresh(r),
            Use::AlreadyUsed(r) => Consumed::AlreadyUsed(r),
            Use::NotFound => Consumed::NotFound,
        })
    }

    async fn insert_refresh_token(&self, record: &RefreshRecord) -> StoreResult<()> {
        self.db.execute(insert_refresh(record)).await.map(drop)
    }

    async fn refresh_token(
        &self,
        tenant_id: &str,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshRecord>> {
        // Presented by a client (introspection, revocation): text that is
        // no hash of ours is no token.
        if !is_possible_key(token_hash, width::HASH) {
            return Ok(None);
        }
        let row = self
            .db
            .fetch_optional(stmt!(
                format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ? AND tenant_id = ?"),
                token_hash,
                tenant_id
            ))
            .await?;
        row.as_deref().map(refresh_from_row).transpose()
    }

    async fn touch_session(
        &self,
        tenant_id: &str,
        session_id: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        if !is_possible_key(session_id, width::ID) {
            return Ok(());
        }
        self.db
            .execute(stmt!(
                "UPDATE sessions SET last_refreshed_at = ? WHERE id = ? AND tenant_id = ?",
                now,
                session_id,
                tenant_id
            ))
            .await
            .map(drop)
    }

    async fn list_user_sessions(
        &self,
        tenant_id: &str,
        user_id: &str,
        now: UnixTime,
    ) -> StoreResult<Vec<Session>> {
        if !is_possible_user_id(user_id) {
            return Ok(Vec::new());
        }
        // `id` breaks ties between sessions opened in the same second, so
        // the order is the same on every read.
        let rows = self
            .db
            .fetch_all(stmt!(
                format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions
                     WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?
                     ORDER BY created_at DESC, id DESC"
                ),
                tenant_id,
                user_id,
                now
            ))
            .await?;
        rows.iter().map(|r| session_from_row(r.as_ref())).collect()
    }

    async fn revoke_user_sessions(
        &self,
        tenant_id: &str,
        user_id: &str,
        keep: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<u64> {
        if !is_possible_user_id(user_id) {
            return Ok(0);
        }
        // A `keep` no session can have keeps nothing.
        let revoke_sessions = match keep.filter(|k| is_possible_key(k, width::ID)) {
            Some(keep) => stmt!(
                "UPDATE sessions SET revoked_at = ?
                 WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL AND id <> ?",
                now,
                tenant_id,
                user_id,
                keep
            ),
            None => stmt!(
                "UPDATE sessions SET revoked_at = ?
                 WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL",
                now,
                tenant_id,
                user_id
            ),
        };
        // The browser sign-ins end in the same transaction: otherwise a
        // sign-in left standing could open a new session through the
        // hosted page right after a password change ended the others.
        let changed = self
            .db
            .transaction(
                vec![
                    revoke_sessions,
                    stmt!(
                        "UPDATE browser_sessions SET revoked_at = ?
                         WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL",
                        now,
                        tenant_id,
                        user_id
                    ),
                ],
                Require::Nothing,
            )
            .await?;
        Ok(changed.and_then(|rows| rows.first().copied()).unwrap_or(0))
    }
}

fn session_from_row(row: &dyn Row) -> StoreResult<Session> {
    Ok(Session {
        id: row.text("id")?,
        tenant_id: row.text("tenant_id")?,
        user_id: row.text("user_id")?,
        client_id: row.text("client_id")?,
        scope: row.text("scope")?,
        browser_session_id: row.opt_text("browser_session_id")?,
        origin: Origin {
            ip: row.opt_text("client_ip")?,
            user_agent: row.opt_text("user_agent")?,
        },
        created_at: row.int("created_at")?,
        last_refreshed_at: row.opt_int("last_refreshed_at")?,
        expires_at: row.int("expires_at")?,
        revoked_at: row.opt_int("revoked_at")?,
    })
}

fn refresh_from_row(row: &dyn Row) -> StoreResult<RefreshRecord> {
    Ok(RefreshRecord {
        token_hash: row.text("token_hash")?,
        tenant_id: row.text("tenant_id")?,
        session_id: row.text("session_id")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        used_at: row.opt_int("used_at")?,
    })
}
