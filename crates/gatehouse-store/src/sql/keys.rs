//! Signing keys and the conditional steps of their lifecycle.

use async_trait::async_trait;
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::keys::{KeyState, SigningKeyRecord};
use gatehouse_core::store::{KeyStore, StoreError, StoreResult};
use secrecy::{ExposeSecret, SecretString};

use super::{Require, Row, SqlStore, Statement, stmt};

const COLUMNS: &str =
    "kid, tenant_id, algorithm, state, private_material, created_at, activated_at, retired_at";

pub(super) fn insert_key(key: &SigningKeyRecord) -> Statement {
    stmt!(
        format!("INSERT INTO signing_keys ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
        &key.kid,
        &key.tenant_id,
        key.algorithm.as_str(),
        key.state.as_str(),
        key.private_material.expose_secret(),
        key.created_at,
        key.activated_at,
        key.retired_at,
    )
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn insert_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        self.db.execute(insert_key(key)).await.map(drop)
    }

    async fn keys_for_tenant(&self, tenant_id: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = self
            .db
            .fetch_all(stmt!(
                format!("SELECT {COLUMNS} FROM signing_keys WHERE tenant_id = ? ORDER BY created_at DESC, kid"),
                tenant_id
            ))
            .await?;
        rows.iter().map(|r| key_from_row(r.as_ref())).collect()
    }

    async fn promote_key(
        &self,
        tenant_id: &str,
        next_kid: &str,
        current_kid: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        // Retire first: at most one `current` per tenant is a unique rule.
        // Both must change exactly one row, or another node got there first
        // and nothing is changed.
        self.db
            .transaction(
                vec![
                    stmt!(
                        "UPDATE signing_keys SET state = 'retired', retired_at = ?
                         WHERE tenant_id = ? AND kid = ? AND state = 'current'",
                        now,
                        tenant_id,
                        current_kid
                    ),
                    stmt!(
                        "UPDATE signing_keys SET state = 'current', activated_at = ?
                         WHERE tenant_id = ? AND kid = ? AND state = 'next'",
                        now,
                        tenant_id,
                        next_kid
                    ),
                ],
                Require::OneRowEach,
            )
            .await
            .map(|done| done.is_some())
    }

    async fn remove_retired_key(&self, tenant_id: &str, kid: &str) -> StoreResult<bool> {
        let n = self
            .db
            .execute(stmt!(
                "DELETE FROM signing_keys WHERE tenant_id = ? AND kid = ? AND state = 'retired'",
                tenant_id,
                kid
            ))
            .await?;
        Ok(n > 0)
    }

    async fn remove_next_key(&self, tenant_id: &str) -> StoreResult<bool> {
        let n = self
            .db
            .execute(stmt!(
                "DELETE FROM signing_keys WHERE tenant_id = ? AND state = 'next'",
                tenant_id
            ))
            .await?;
        Ok(n > 0)
    }

    async fn replace_key_material(
        &self,
        tenant_id: &str,
        kid: &str,
        expected: &SecretString,
        replacement: &SecretString,
    ) -> StoreResult<bool> {
        let n = self
            .db
            .execute(stmt!(
                "UPDATE signing_keys SET private_material = ?
                 WHERE tenant_id = ? AND kid = ? AND private_material = ?",
                replacement.expose_secret(),
                tenant_id,
                kid,
                expected.expose_secret()
            ))
            .await?;
        Ok(n > 0)
    }
}

fn key_from_row(row: &dyn Row) -> StoreResult<SigningKeyRecord> {
    let corrupt = |e: gatehouse_core::Error| StoreError::Backend(format!("corrupt key row: {e}"));
    Ok(SigningKeyRecord {
        kid: row.text("kid")?,
        tenant_id: row.text("tenant_id")?,
        algorithm: row
            .text("algorithm")?
            .parse::<SigningAlgorithm>()
            .map_err(|e| corrupt(e.into()))?,
        state: KeyState::parse(&row.text("state")?).map_err(corrupt)?,
        private_material: SecretString::from(row.text("private_material")?),
        created_at: row.int("created_at")?,
        activated_at: row.opt_int("activated_at")?,
        retired_at: row.opt_int("retired_at")?,
    })
}
