//! Tenants, created together with their first key.

use async_trait::async_trait;
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::keys::SigningKeyRecord;
use gatehouse_core::store::{StoreError, StoreResult, TenantStore, UniqueField};
use gatehouse_core::tenant::{Tenant, TenantName, TenantSettings};

use super::keys::insert_key;
use super::{Require, Row, SqlStore, fits, fits_text, stmt, to_json_list, width};

const COLUMNS: &str =
    "id, name, algorithm, access_ttl_secs, audiences, display_name, settings, created_at";

#[async_trait]
impl TenantStore for SqlStore {
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        first_key: &SigningKeyRecord,
    ) -> StoreResult<()> {
        fits(tenant.display_name.as_deref(), width::DISPLAY_NAME)?;
        let settings = settings_document(&tenant.settings)?;
        let insert_tenant = stmt!(
            format!("INSERT INTO tenants ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
            &tenant.id,
            tenant.name.as_str(),
            tenant.algorithm.as_str(),
            tenant.access_ttl_secs,
            to_json_list(&tenant.audiences),
            &tenant.display_name,
            settings,
            tenant.created_at,
        );
        self.db
            .transaction(vec![insert_tenant, insert_key(first_key)], Require::Nothing)
            .await
            .map(drop)
            .map_err(|e| match e {
                // The key's id is random; a conflict here is the tenant name.
                StoreError::Conflict(_) => StoreError::Conflict(UniqueField::TenantName),
                other => other,
            })
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        // No tenant has a name that is not one (a NUL, a space MySQL's PAD
        // SPACE comparison would ignore): not worth a round trip.
        if TenantName::parse(name).is_err() {
            return Ok(None);
        }
        let row = self
            .db
            .fetch_optional(stmt!(
                format!("SELECT {COLUMNS} FROM tenants WHERE name = ?"),
                name
            ))
            .await?;
        row.as_deref().map(tenant_from_row).transpose()
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = self
            .db
            .fetch_all(stmt!(format!(
                "SELECT {COLUMNS} FROM tenants ORDER BY name"
            )))
            .await?;
        rows.iter().map(|r| tenant_from_row(r.as_ref())).collect()
    }

    async fn set_tenant_algorithm(
        &self,
        tenant_id: &str,
        algorithm: SigningAlgorithm,
    ) -> StoreResult<()> {
        self.db
            .execute(stmt!(
                "UPDATE tenants SET algorithm = ? WHERE id = ?",
                algorithm.as_str(),
                tenant_id
            ))
            .await
            .map(drop)
    }

    async fn set_tenant_display_name(
        &self,
        tenant_id: &str,
        display_name: Option<&str>,
    ) -> StoreResult<()> {
        fits(display_name, width::DISPLAY_NAME)?;
        self.db
            .execute(stmt!(
                "UPDATE tenants SET display_name = ? WHERE id = ?",
                display_name.map(str::to_string),
                tenant_id
            ))
            .await
            .map(drop)
    }

    async fn set_tenant_settings(
        &self,
        tenant_id: &str,
        settings: &TenantSettings,
    ) -> StoreResult<()> {
        let settings = settings_document(settings)?;
        self.db
            .execute(stmt!(
                "UPDATE tenants SET settings = ? WHERE id = ?",
                settings,
                tenant_id
            ))
            .await
            .map(drop)
    }
}

/// The settings as the JSON document the `settings` column holds.
fn settings_document(settings: &TenantSettings) -> StoreResult<String> {
    let document = serde_json::to_string(settings)
        .map_err(|e| StoreError::Backend(format!("cannot serialise tenant settings: {e}")))?;
    fits_text(Some(&document))?;
    Ok(document)
}

fn tenant_from_row(row: &dyn Row) -> StoreResult<Tenant> {
    let corrupt =
        |e: gatehouse_core::Error| StoreError::Backend(format!("corrupt tenant row: {e}"));
    Ok(Tenant {
        id: row.text("id")?,
        name: TenantName::parse(&row.text("name")?).map_err(corrupt)?,
        algorithm: row
            .text("algorithm")?
            .parse::<SigningAlgorithm>()
            .map_err(|e| corrupt(e.into()))?,
        access_ttl_secs: row.int("access_ttl_secs")?,
        audiences: row.json_list("audiences")?,
        display_name: row.opt_text("display_name")?,
        // Members it lacks take their defaults (rows from before a setting
        // existed hold `{}`); a document that is no settings object is a
        // corrupt row.
        settings: serde_json::from_str(&row.text("settings")?)
            .map_err(|e| StoreError::Backend(format!("corrupt tenant settings: {e}")))?,
        created_at: row.int("created_at")?,
    })
}
