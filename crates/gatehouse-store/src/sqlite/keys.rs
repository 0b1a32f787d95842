//! Signing keys and their lifecycle.

use async_trait::async_trait;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::keys::{KeyState, SigningKeyRecord};
use gatehouse_core::store::{KeyStore, StoreError, StoreResult};
use secrecy::{ExposeSecret, SecretString};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::{SqliteStore, map_err};

const COLUMNS: &str =
    "kid, tenant_id, algorithm, state, private_material, created_at, activated_at, retired_at";

pub(super) async fn insert_key(
    conn: &mut SqliteConnection,
    key: &SigningKeyRecord,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO signing_keys ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&key.kid)
    .bind(&key.tenant_id)
    .bind(key.algorithm.as_str())
    .bind(key.state.as_str())
    .bind(key.private_material.expose_secret())
    .bind(key.created_at)
    .bind(key.activated_at)
    .bind(key.retired_at)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn insert_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_key(&mut conn, key).await
    }

    async fn keys_for_tenant(&self, tenant_id: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM signing_keys WHERE tenant_id = ? ORDER BY created_at DESC, kid"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(key_from_row).collect()
    }

    async fn promote_key(
        &self,
        tenant_id: &str,
        next_kid: &str,
        current_kid: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Retire first: at most one `current` per tenant is a unique index.
        let retired = sqlx::query(
            "UPDATE signing_keys SET state = 'retired', retired_at = ?
             WHERE tenant_id = ? AND kid = ? AND state = 'current'",
        )
        .bind(now)
        .bind(tenant_id)
        .bind(current_kid)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let promoted = sqlx::query(
            "UPDATE signing_keys SET state = 'current', activated_at = ?
             WHERE tenant_id = ? AND kid = ? AND state = 'next'",
        )
        .bind(now)
        .bind(tenant_id)
        .bind(next_kid)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if retired.rows_affected() == 1 && promoted.rows_affected() == 1 {
            tx.commit().await.map_err(map_err)?;
            Ok(true)
        } else {
            // Another node got there first; leave its work as it is.
            tx.rollback().await.map_err(map_err)?;
            Ok(false)
        }
    }

    async fn remove_retired_key(&self, tenant_id: &str, kid: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM signing_keys WHERE tenant_id = ? AND kid = ? AND state = 'retired'",
        )
        .bind(tenant_id)
        .bind(kid)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn remove_next_key(&self, tenant_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM signing_keys WHERE tenant_id = ? AND state = 'next'")
            .bind(tenant_id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn replace_key_material(
        &self,
        kid: &str,
        expected: &SecretString,
        replacement: &SecretString,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE signing_keys SET private_material = ? WHERE kid = ? AND private_material = ?",
        )
        .bind(replacement.expose_secret())
        .bind(kid)
        .bind(expected.expose_secret())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }
}

fn key_from_row(row: &SqliteRow) -> StoreResult<SigningKeyRecord> {
    let corrupt = |e: gatehouse_core::Error| StoreError::Backend(format!("corrupt key row: {e}"));
    let algorithm: String = row.try_get("algorithm").map_err(map_err)?;
    let state: String = row.try_get("state").map_err(map_err)?;
    let material: String = row.try_get("private_material").map_err(map_err)?;
    Ok(SigningKeyRecord {
        kid: row.try_get("kid").map_err(map_err)?,
        tenant_id: row.try_get("tenant_id").map_err(map_err)?,
        algorithm: algorithm.parse().map_err(corrupt)?,
        state: KeyState::parse(&state).map_err(corrupt)?,
        private_material: SecretString::from(material),
        created_at: row.try_get("created_at").map_err(map_err)?,
        activated_at: row.try_get("activated_at").map_err(map_err)?,
        retired_at: row.try_get("retired_at").map_err(map_err)?,
    })
}
