//! Single-use account links (email verification, password reset,
//! invitation), stored by the SHA-256 of the mailed token, never the token.

use async_trait::async_trait;
use gatehouse_core::account_token::{AccountToken, TokenConsumed, TokenPurpose};
use gatehouse_core::clock::UnixTime;
use gatehouse_core::store::{AccountTokenStore, StoreError, StoreResult};

use super::single_use::{SingleUse, Use};
use super::{Row, SqlStore, fits, is_possible_key, stmt, width};

const COLUMNS: &str =
    "token_hash, tenant_id, user_id, purpose, email, created_at, expires_at, used_at";

#[async_trait]
impl AccountTokenStore for SqlStore {
    async fn insert_account_token(
        &self,
        token: &AccountToken,
        prune_before: UnixTime,
    ) -> StoreResult<()> {
        if !is_possible_key(&token.token_hash, width::HASH) {
            return Err(StoreError::Unstorable("a token hash that is not one"));
        }
        fits(Some(&token.user_id), width::ID)?;
        fits(token.email.as_deref(), width::EMAIL)?;
        self.db
            .execute(stmt!(
                format!("INSERT INTO account_tokens ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                &token.token_hash,
                &token.tenant_id,
                &token.user_id,
                token.purpose.as_str(),
                &token.email,
                token.created_at,
                token.expires_at,
                token.used_at,
            ))
            .await?;
        // Housekeeping in a statement of its own, as for authorization
        // codes: in one transaction with the insert, InnoDB's gap locks on
        // the `expires_at` range would make concurrent inserts deadlock.
        // The link is stored either way; the next prune catches up.
        if let Err(e) = self
            .db
            .execute(stmt!(
                "DELETE FROM account_tokens WHERE expires_at < ?",
                prune_before
            ))
            .await
        {
            tracing::warn!(error = %e, "pruning expired account links failed");
        }
        Ok(())
    }

    async fn consume_account_token(
        &self,
        tenant_id: &str,
        purpose: TokenPurpose,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<TokenConsumed> {
        // Presented by a browser: text that is no hash of ours is no link.
        if !is_possible_key(token_hash, width::HASH) {
            return Ok(TokenConsumed::NotFound);
        }
        // The purpose is part of the key: a reset link presented as a
        // verification is not found, and not used up.
        let target = SingleUse {
            table: "account_tokens",
            columns: COLUMNS,
            key: "token_hash = ? AND tenant_id = ? AND purpose = ?",
            args: vec![token_hash.into(), tenant_id.into(), purpose.as_str().into()],
            read: token_from_row,
        };
        Ok(match self.use_once(target, now).await? {
            Use::Fresh(token) => TokenConsumed::Fresh(token),
            Use::AlreadyUsed(token) => TokenConsumed::AlreadyUsed(token),
            Use::NotFound => TokenConsumed::NotFound,
        })
    }
}

fn token_from_row(row: &dyn Row) -> StoreResult<AccountToken> {
    let purpose = row.text("purpose")?;
    Ok(AccountToken {
        token_hash: row.text("token_hash")?,
        tenant_id: row.text("tenant_id")?,
        user_id: row.text("user_id")?,
        purpose: TokenPurpose::parse(&purpose).ok_or_else(|| {
            StoreError::Backend(format!("corrupt account link: purpose {purpose:?}"))
        })?,
        email: row.opt_text("email")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        used_at: row.opt_int("used_at")?,
    })
}
