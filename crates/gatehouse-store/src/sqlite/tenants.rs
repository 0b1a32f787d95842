//! Tenants and their first key.

use async_trait::async_trait;
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::keys::SigningKeyRecord;
use gatehouse_core::store::{StoreError, StoreResult, TenantStore, UniqueField};
use gatehouse_core::tenant::{Tenant, TenantName};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::keys::insert_key;
use super::{SqliteStore, json_list, map_err, to_json_list};

const COLUMNS: &str = "id, name, algorithm, access_ttl_secs, audiences, created_at";

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        first_key: &SigningKeyRecord,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(
            "INSERT INTO tenants (id, name, algorithm, access_ttl_secs, audiences, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&tenant.id)
        .bind(tenant.name.as_str())
        .bind(tenant.algorithm.as_str())
        .bind(tenant.access_ttl_secs)
        .bind(to_json_list(&tenant.audiences))
        .bind(tenant.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| match map_err(e) {
            // The only unique rule on tenants is the name.
            StoreError::Conflict(_) => StoreError::Conflict(UniqueField::TenantName),
            other => other,
        })?;
        insert_key(&mut tx, first_key).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM tenants WHERE name = ?"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(tenant_from_row).transpose()
    }

    async fn set_tenant_algorithm(
        &self,
        tenant_id: &str,
        algorithm: SigningAlgorithm,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET algorithm = ? WHERE id = ?")
            .bind(algorithm.as_str())
            .bind(tenant_id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM tenants ORDER BY name"))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(tenant_from_row).collect()
    }
}

fn tenant_from_row(row: &SqliteRow) -> StoreResult<Tenant> {
    let corrupt =
        |e: gatehouse_core::Error| StoreError::Backend(format!("corrupt tenant row: {e}"));
    let name: String = row.try_get("name").map_err(map_err)?;
    let algorithm: String = row.try_get("algorithm").map_err(map_err)?;
    Ok(Tenant {
        id: row.try_get("id").map_err(map_err)?,
        name: TenantName::parse(&name).map_err(corrupt)?,
        algorithm: algorithm.parse().map_err(corrupt)?,
        access_ttl_secs: row.try_get("access_ttl_secs").map_err(map_err)?,
        audiences: json_list(row, "audiences")?,
        created_at: row.try_get("created_at").map_err(map_err)?,
    })
}
