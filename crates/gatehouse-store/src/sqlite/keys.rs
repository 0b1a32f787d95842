//! Signing keys.

use async_trait::async_trait;
use gatehouse_core::keys::{KeyState, SigningKeyRecord};
use gatehouse_core::store::{KeyStore, StoreError, StoreResult};
use secrecy::{ExposeSecret, SecretString};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::{SqliteStore, map_err};

pub(super) async fn insert_key(
    conn: &mut SqliteConnection,
    key: &SigningKeyRecord,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, tenant_id, algorithm, state, private_material, created_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&key.kid)
    .bind(&key.tenant_id)
    .bind(key.algorithm.as_str())
    .bind(key.state.as_str())
    .bind(key.private_material.expose_secret())
    .bind(key.created_at)
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
        let rows = sqlx::query(
            "SELECT kid, tenant_id, algorithm, state, private_material, created_at
             FROM signing_keys WHERE tenant_id = ? ORDER BY created_at DESC",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(key_from_row).collect()
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
    })
}
