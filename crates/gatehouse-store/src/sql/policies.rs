//! Each tenant's route policy: one JSON document, replaced whole.

use async_trait::async_trait;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::store::{PolicyStore, StoreResult};

use super::{Require, SqlStore, stmt};

#[async_trait]
impl PolicyStore for SqlStore {
    async fn policy_document(&self, tenant_id: &str) -> StoreResult<Option<String>> {
        let row = self
            .db
            .fetch_optional(stmt!(
                "SELECT document FROM tenant_policies WHERE tenant_id = ?",
                tenant_id
            ))
            .await?;
        row.map(|r| r.text("document")).transpose()
    }

    async fn put_policy_document(
        &self,
        tenant_id: &str,
        document: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        // Delete and insert in one transaction: the same statements in every
        // backend (their upserts differ), and no reader sees neither.
        self.db
            .transaction(
                vec![
                    stmt!("DELETE FROM tenant_policies WHERE tenant_id = ?", tenant_id),
                    stmt!(
                        "INSERT INTO tenant_policies (tenant_id, document, updated_at)
                         VALUES (?, ?, ?)",
                        tenant_id,
                        document,
                        now
                    ),
                ],
                Require::Nothing,
            )
            .await
            .map(drop)
    }
}
