//! Sessions and refresh tokens.

use async_trait::async_trait;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::refresh::{Consumed, RefreshRecord};
use gatehouse_core::session::Session;
use gatehouse_core::store::{SessionStore, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::{SqliteStore, map_err};

const REFRESH_COLUMNS: &str = "token_hash, tenant_id, session_id, created_at, expires_at, used_at";

async fn insert_refresh(conn: &mut SqliteConnection, r: &RefreshRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, tenant_id, session_id, created_at, expires_at, used_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.token_hash)
    .bind(&r.tenant_id)
    .bind(&r.session_id)
    .bind(r.created_at)
    .bind(r.expires_at)
    .bind(r.used_at)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &Session, first: &RefreshRecord) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(
            "INSERT INTO sessions (id, tenant_id, user_id, client_id, scope, created_at, expires_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.id)
        .bind(&s.tenant_id)
        .bind(&s.user_id)
        .bind(&s.client_id)
        .bind(&s.scope)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.revoked_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_refresh(&mut tx, first).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn session(&self, session_id: &str) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT id, tenant_id, user_id, client_id, scope, created_at, expires_at, revoked_at
             FROM sessions WHERE id = ?",
        )
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|row| {
            Ok(Session {
                id: row.try_get("id").map_err(map_err)?,
                tenant_id: row.try_get("tenant_id").map_err(map_err)?,
                user_id: row.try_get("user_id").map_err(map_err)?,
                client_id: row.try_get("client_id").map_err(map_err)?,
                scope: row.try_get("scope").map_err(map_err)?,
                created_at: row.try_get("created_at").map_err(map_err)?,
                expires_at: row.try_get("expires_at").map_err(map_err)?,
                revoked_at: row.try_get("revoked_at").map_err(map_err)?,
            })
        })
        .transpose()
    }

    async fn revoke_session(&self, session_id: &str, now: UnixTime) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(now)
                .bind(session_id)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn consume_refresh_token(
        &self,
        tenant_id: &str,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Consumed> {
        // One conditional UPDATE is the whole race: of any number of
        // concurrent callers, exactly one matches `used_at IS NULL`.
        let fresh = sqlx::query(&format!(
            "UPDATE refresh_tokens SET used_at = ?
             WHERE token_hash = ? AND tenant_id = ? AND used_at IS NULL
             RETURNING {REFRESH_COLUMNS}"
        ))
        .bind(now)
        .bind(token_hash)
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if let Some(row) = fresh {
            return Ok(Consumed::Fresh(refresh_from_row(&row)?));
        }
        let used = sqlx::query(&format!(
            "SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ? AND tenant_id = ?"
        ))
        .bind(token_hash)
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(match used {
            Some(row) => Consumed::AlreadyUsed(refresh_from_row(&row)?),
            None => Consumed::NotFound,
        })
    }

    async fn insert_refresh_token(&self, record: &RefreshRecord) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_refresh(&mut conn, record).await
    }
}

fn refresh_from_row(row: &SqliteRow) -> StoreResult<RefreshRecord> {
    Ok(RefreshRecord {
        token_hash: row.try_get("token_hash").map_err(map_err)?,
        tenant_id: row.try_get("tenant_id").map_err(map_err)?,
        session_id: row.try_get("session_id").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        expires_at: row.try_get("expires_at").map_err(map_err)?,
        used_at: row.try_get("used_at").map_err(map_err)?,
    })
}
