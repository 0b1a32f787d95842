//! Named tenant secrets, sealed by core before they get here.

use async_trait::async_trait;
use gatehouse_core::store::{SecretStore, StoreResult};
use gatehouse_core::tenant_secret::TenantSecret;
use secrecy::{ExposeSecret, SecretString};

use super::{Require, SqlStore, stmt};

#[async_trait]
impl SecretStore for SqlStore {
    async fn put_secret(&self, secret: &TenantSecret) -> StoreResult<()> {
        self.db
            .transaction(
                vec![
                    stmt!(
                        "DELETE FROM tenant_secrets WHERE tenant_id = ? AND name = ?",
                        &secret.tenant_id,
                        &secret.name
                    ),
                    stmt!(
                        "INSERT INTO tenant_secrets (tenant_id, name, sealed_value, created_at)
                         VALUES (?, ?, ?, ?)",
                        &secret.tenant_id,
                        &secret.name,
                        secret.sealed.expose_secret(),
                        secret.created_at
                    ),
                ],
                Require::Nothing,
            )
            .await
            .map(drop)
    }

    async fn secrets(&self, tenant_id: &str) -> StoreResult<Vec<TenantSecret>> {
        let rows = self
            .db
            .fetch_all(stmt!(
                "SELECT tenant_id, name, sealed_value, created_at FROM tenant_secrets
                 WHERE tenant_id = ? ORDER BY name",
                tenant_id
            ))
            .await?;
        rows.iter()
            .map(|row| {
                Ok(TenantSecret {
                    tenant_id: row.text("tenant_id")?,
                    name: row.text("name")?,
                    sealed: SecretString::from(row.text("sealed_value")?),
                    created_at: row.int("created_at")?,
                })
            })
            .collect()
    }

    async fn delete_secret(&self, tenant_id: &str, name: &str) -> StoreResult<bool> {
        let n = self
            .db
            .execute(stmt!(
                "DELETE FROM tenant_secrets WHERE tenant_id = ? AND name = ?",
                tenant_id,
                name
            ))
            .await?;
        Ok(n > 0)
    }
}
