//! API keys: their hashes, scopes and owner; never their secrets.

use async_trait::async_trait;
use gatehouse_core::apikey::ApiKeyRecord;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::store::{ApiKeyStore, StoreResult};

use super::{Row, SqlStore, stmt, to_json_list};

const COLUMNS: &str =
    "id, tenant_id, name, secret_hash, scopes, user_id, created_at, expires_at, last_used_at";

#[async_trait]
impl ApiKeyStore for SqlStore {
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        self.db
            .execute(stmt!(
                format!("INSERT INTO api_keys ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                &key.id,
                &key.tenant_id,
                &key.name,
                &key.secret_hash,
                to_json_list(&key.scopes),
                &key.user_id,
                key.created_at,
                key.expires_at,
                key.last_used_at,
            ))
            .await
            .map(drop)
    }

    async fn api_key(&self, tenant_id: &str, id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let row = self
            .db
            .fetch_optional(stmt!(
                format!("SELECT {COLUMNS} FROM api_keys WHERE tenant_id = ? AND id = ?"),
                tenant_id,
                id
            ))
            .await?;
        row.as_deref().map(key_from_row).transpose()
    }

    async fn list_api_keys(
        &self,
        tenant_id: &str,
        user_id: Option<&str>,
    ) -> StoreResult<Vec<ApiKeyRecord>> {
        let rows = match user_id {
            Some(user) => {
                self.db
                    .fetch_all(stmt!(
                        format!(
                            "SELECT {COLUMNS} FROM api_keys WHERE tenant_id = ? AND user_id = ?
                             ORDER BY created_at, id"
                        ),
                        tenant_id,
                        user
                    ))
                    .await?
            }
            None => {
                self.db
                    .fetch_all(stmt!(
                        format!(
                            "SELECT {COLUMNS} FROM api_keys WHERE tenant_id = ?
                             ORDER BY created_at, id"
                        ),
                        tenant_id
                    ))
                    .await?
            }
        };
        rows.iter().map(|r| key_from_row(r.as_ref())).collect()
    }

    async fn delete_api_key(
        &self,
        tenant_id: &str,
        id: &str,
        user_id: Option<&str>,
    ) -> StoreResult<bool> {
        let statement = match user_id {
            Some(user) => stmt!(
                "DELETE FROM api_keys WHERE tenant_id = ? AND id = ? AND user_id = ?",
                tenant_id,
                id,
                user
            ),
            None => stmt!(
                "DELETE FROM api_keys WHERE tenant_id = ? AND id = ?",
                tenant_id,
                id
            ),
        };
        Ok(self.db.execute(statement).await? > 0)
    }

    async fn touch_api_key(&self, tenant_id: &str, id: &str, now: UnixTime) -> StoreResult<()> {
        self.db
            .execute(stmt!(
                "UPDATE api_keys SET last_used_at = ? WHERE tenant_id = ? AND id = ?",
                now,
                tenant_id,
                id
            ))
            .await
            .map(drop)
    }
}

fn key_from_row(row: &dyn Row) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: row.text("id")?,
        tenant_id: row.text("tenant_id")?,
        name: row.text("name")?,
        secret_hash: row.text("secret_hash")?,
        scopes: row.json_list("scopes")?,
        user_id: row.opt_text("user_id")?,
        created_at: row.int("created_at")?,
        expires_at: row.opt_int("expires_at")?,
        last_used_at: row.opt_int("last_used_at")?,
    })
}
