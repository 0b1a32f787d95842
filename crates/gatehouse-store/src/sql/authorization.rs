//! The authorization code flow's state: single-use codes (RFC 6749
//! §4.1.2) and the browser sign-ins of the hosted login page. Both are
//! stored by the SHA-256 of what the browser holds, never the value.

use async_trait::async_trait;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::oauth::{AuthorizationCode, BrowserSession, CodeConsumed};
use gatehouse_core::store::{AuthorizationStore, StoreError, StoreResult};

use super::single_use::{SingleUse, Use};
use super::{Require, Row, SqlStore, fits, fits_text, is_possible_key, stmt, width};

const CODE_COLUMNS: &str = "code_hash, tenant_id, client_id, user_id, redirect_uri, scope, \
     code_challenge, nonce, auth_time, browser_session_id, session_id, created_at, expires_at, \
     used_at";
const BROWSER_COLUMNS: &str =
    "id, token_hash, tenant_id, user_id, auth_time, created_at, expires_at, revoked_at";

#[async_trait]
impl AuthorizationStore for SqlStore {
    async fn insert_authorization_code(
        &self,
        code: &AuthorizationCode,
        prune_before: UnixTime,
    ) -> StoreResult<()> {
        if !is_possible_key(&code.code_hash, width::HASH) {
            return Err(StoreError::Unstorable("a code hash that is not one"));
        }
        fits(Some(&code.client_id), width::CLIENT_ID)?;
        fits(Some(&code.user_id), width::ID)?;
        fits(Some(&code.browser_session_id), width::ID)?;
        fits(Some(&code.session_id), width::ID)?;
        fits(code.code_challenge.as_deref(), width::CHALLENGE)?;
        fits_text(code.redirect_uri.as_deref())?;
        fits_text(Some(&code.scope))?;
        fits_text(code.nonce.as_deref())?;
        self.db
            .execute(stmt!(
                format!(
                    "INSERT INTO authorization_codes ({CODE_COLUMNS})
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                &code.code_hash,
                &code.tenant_id,
                &code.client_id,
                &code.user_id,
                &code.redirect_uri,
                &code.scope,
                &code.code_challenge,
                &code.nonce,
                code.auth_time,
                &code.browser_session_id,
                &code.session_id,
                code.created_at,
                code.expires_at,
                code.used_at,
            ))
            .await?;
        // Housekeeping, after the insert and in a statement of its own:
        // in one transaction with the insert, InnoDB's gap locks on the
        // `expires_at` range would make concurrent authorizations
        // deadlock each other. The code is stored either way, so a prune
        // that fails is only logged; the next one catches up.
        if let Err(e) = self
            .db
            .execute(stmt!(
                "DELETE FROM authorization_codes WHERE expires_at < ?",
                prune_before
            ))
            .await
        {
            tracing::warn!(error = %e, "pruning expired authorization codes failed");
        }
        Ok(())
    }

    async fn consume_authorization_code(
        &self,
        tenant_id: &str,
        code_hash: &str,
        now: UnixTime,
    ) -> StoreResult<CodeConsumed> {
        if !is_possible_key(code_hash, width::HASH) {
            return Ok(CodeConsumed::NotFound);
        }
        let target = SingleUse {
            table: "authorization_codes",
            columns: CODE_COLUMNS,
            key: "code_hash = ? AND tenant_id = ?",
            args: vec![code_hash.into(), tenant_id.into()],
            read: code_from_row,
        };
        Ok(match self.use_once(target, now).await? {
            Use::Fresh(code) => CodeConsumed::Fresh(code),
            Use::AlreadyUsed(code) => CodeConsumed::AlreadyUsed(code),
            // Also: won but gone, its user (or client) deleted since.
            Use::NotFound => CodeConsumed::NotFound,
        })
    }

    async fn create_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        if !is_possible_key(&session.id, width::ID)
            || !is_possible_key(&session.token_hash, width::HASH)
        {
            return Err(StoreError::Unstorable(
                "a browser sign-in id or cookie hash that is not one",
            ));
        }
        fits(Some(&session.user_id), width::ID)?;
        self.db
            .execute(stmt!(
                format!("INSERT INTO browser_sessions ({BROWSER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                &session.id,
                &session.token_hash,
                &session.tenant_id,
                &session.user_id,
                session.auth_time,
                session.created_at,
                session.expires_at,
                session.revoked_at,
            ))
            .await
            .map(drop)
    }

    async fn browser_session(
        &self,
        tenant_id: &str,
        token_hash: &str,
    ) -> StoreResult<Option<BrowserSession>> {
        if !is_possible_key(token_hash, width::HASH) {
            return Ok(None);
        }
        let row = self
            .db
            .fetch_optional(stmt!(
                format!(
                    "SELECT {BROWSER_COLUMNS} FROM browser_sessions
                     WHERE token_hash = ? AND tenant_id = ?"
                ),
                token_hash,
                tenant_id
            ))
            .await?;
        row.as_deref().map(browser_session_from_row).transpose()
    }

    async fn end_browser_session(
        &self,
        tenant_id: &str,
        id: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        if !is_possible_key(id, width::ID) {
            return Ok(false);
        }
        // In one transaction: the first statement ends it if it was still
        // active and says whether it was; the second marks one that had
        // merely expired; the third revokes every session that came from
        // it, whatever its state (a session outlives its sign-in), but
        // only if the sign-in is this tenant's: naming another's id
        // revokes nothing. Of two concurrent ends, the first statement of
        // only one changes the row.
        let changed = self
            .db
            .transaction(
                vec![
                    stmt!(
                        "UPDATE browser_sessions SET revoked_at = ?
                         WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL AND expires_at > ?",
                        now,
                        tenant_id,
                        id,
                        now
                    ),
                    stmt!(
                        "UPDATE browser_sessions SET revoked_at = ?
                         WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL",
                        now,
                        tenant_id,
                        id
                    ),
                    stmt!(
                        "UPDATE sessions SET revoked_at = ?
                         WHERE tenant_id = ? AND browser_session_id = ? AND revoked_at IS NULL
                           AND EXISTS (SELECT 1 FROM browser_sessions
                                       WHERE tenant_id = ? AND id = ?)",
                        now,
                        tenant_id,
                        id,
                        tenant_id,
                        id
                    ),
                ],
                Require::Nothing,
            )
            .await?;
        Ok(changed.is_some_and(|rows| rows.first() == Some(&1)))
    }
}

fn code_from_row(row: &dyn Row) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_hash: row.text("code_hash")?,
        tenant_id: row.text("tenant_id")?,
        client_id: row.text("client_id")?,
        user_id: row.text("user_id")?,
        redirect_uri: row.opt_text("redirect_uri")?,
        scope: row.text("scope")?,
        code_challenge: row.opt_text("code_challenge")?,
        nonce: row.opt_text("nonce")?,
        auth_time: row.int("auth_time")?,
        browser_session_id: row.text("browser_session_id")?,
        session_id: row.text("session_id")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        used_at: row.opt_int("used_at")?,
    })
}

fn browser_session_from_row(row: &dyn Row) -> StoreResult<BrowserSession> {
    Ok(BrowserSession {
        id: row.text("id")?,
        token_hash: row.text("token_hash")?,
        tenant_id: row.text("tenant_id")?,
        user_id: row.text("user_id")?,
        auth_time: row.int("auth_time")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        revoked_at: row.opt_int("revoked_at")?,
    })
}
