//! Sessions and refresh tokens.

use async_trait::async_trait;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::refresh::{Consumed, RefreshRecord};
use gatehouse_core::session::Session;
use gatehouse_core::store::{SessionStore, StoreResult};

use super::{Require, Row, SqlStore, Statement, fits, is_possible_key, stmt, width};

const SESSION_COLUMNS: &str = "id, tenant_id, user_id, client_id, scope, browser_session_id, \
     created_at, expires_at, revoked_at";
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
        let insert_session = stmt!(
            format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            &s.id,
            &s.tenant_id,
            &s.user_id,
            &s.client_id,
            &s.scope,
            &s.browser_session_id,
            s.created_at,
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
        // One conditional UPDATE is the whole race: of any number of
        // concurrent callers, exactly one changes the row.
        let won = self
            .db
            .execute(stmt!(
                "UPDATE refresh_tokens SET used_at = ?
                 WHERE token_hash = ? AND tenant_id = ? AND used_at IS NULL",
                now,
                token_hash,
                tenant_id
            ))
            .await?
            == 1;
        let row = self
            .db
            .fetch_optional(stmt!(
                format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ? AND tenant_id = ?"),
                token_hash,
                tenant_id
            ))
            .await?;
        Ok(match (row, won) {
            (Some(row), true) => Consumed::Fresh(refresh_from_row(row.as_ref())?),
            (Some(row), false) => Consumed::AlreadyUsed(refresh_from_row(row.as_ref())?),
            // Won but gone: the session (and its tokens) was deleted since.
            (None, _) => Consumed::NotFound,
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
}

fn session_from_row(row: &dyn Row) -> StoreResult<Session> {
    Ok(Session {
        id: row.text("id")?,
        tenant_id: row.text("tenant_id")?,
        user_id: row.text("user_id")?,
        client_id: row.text("client_id")?,
        scope: row.text("scope")?,
        browser_session_id: row.opt_text("browser_session_id")?,
        created_at: row.int("created_at")?,
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
