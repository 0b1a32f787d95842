//! Tenants: create (with the first signing key, atomically), ensure (safe
//! when several nodes start at once), find and list.

use std::sync::Arc;

use super::Deps;
use super::signing_keys::generate_key;
use crate::id::new_id;
use crate::keys::KeyState;
use crate::store::UniqueField;
use crate::tenant::{
    DEFAULT_ACCESS_TTL_SECS, Tenant, TenantName, TenantSettings, TenantSpec, valid_display_name,
};
use crate::{Error, Result};

#[derive(Clone)]
pub struct Tenants {
    deps: Arc<Deps>,
}

impl Tenants {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    #[tracing::instrument(skip(self, spec))]
    pub async fn create(&self, name: &str, spec: TenantSpec) -> Result<Tenant> {
        let name = TenantName::parse(name)?;
        spec.validate()?;
        let display_name = spec
            .display_name
            .as_deref()
            .map(valid_display_name)
            .transpose()?;
        let now = self.deps.now();
        let tenant = Tenant {
            id: new_id(),
            name,
            algorithm: spec.algorithm.unwrap_or_default(),
            access_ttl_secs: spec.access_ttl_secs.unwrap_or(DEFAULT_ACCESS_TTL_SECS),
            audiences: spec.audiences,
            display_name,
            settings: Default::default(),
            created_at: now,
        };
        let key = generate_key(
            &self.deps,
            &tenant.id,
            tenant.algorithm,
            KeyState::Current,
            now,
        )
        .await?;
        self.deps.store.create_tenant(&tenant, &key).await?;
        tracing::info!(tenant = %tenant.name, algorithm = %tenant.algorithm, kid = %key.kid, "tenant created");
        Ok(tenant)
    }

    /// Creates the tenant with default settings unless it exists; safe when
    /// several nodes start at once (the loser of the race reads the winner's).
    pub async fn ensure(&self, name: &str) -> Result<Tenant> {
        if let Some(t) = self.deps.store.tenant_by_name(name).await? {
            return Ok(t);
        }
        match self.create(name, TenantSpec::default()).await {
            Err(Error::Conflict(UniqueField::TenantName)) => {
                self.deps.store.tenant_by_name(name).await?.ok_or_else(|| {
                    Error::Internal(format!("tenant {name} vanished after conflict"))
                })
            }
            other => other,
        }
    }

    /// A tenant by name; a name that cannot be a tenant's is simply not
    /// found, and never reaches the store.
    pub async fn find(&self, name: &str) -> Result<Tenant> {
        let not_found = || Error::TenantNotFound(name.to_string());
        TenantName::parse(name).map_err(|_| not_found())?;
        self.deps
            .store
            .tenant_by_name(name)
            .await?
            .ok_or_else(not_found)
    }

    /// Sets (or, with `None`, clears) the name the hosted pages show. The
    /// caller drops its cached context so this node shows it at once;
    /// other nodes within `keyring_cache_ttl`.
    pub async fn set_display_name(&self, name: &str, display_name: Option<&str>) -> Result<Tenant> {
        let tenant = self.find(name).await?;
        let display_name = display_name.map(valid_display_name).transpose()?;
        self.deps
            .store
            .set_tenant_display_name(&tenant.id, display_name.as_deref())
            .await?;
        Ok(Tenant {
            display_name,
            ..tenant
        })
    }

    /// Replaces the tenant's settings (email verification, mail sender).
    /// The caller drops its cached context, as for the display name.
    pub async fn set_settings(&self, name: &str, settings: TenantSettings) -> Result<Tenant> {
        let tenant = self.find(name).await?;
        settings.validate()?;
        self.deps
            .store
            .set_tenant_settings(&tenant.id, &settings)
            .await?;
        Ok(Tenant { settings, ..tenant })
    }

    pub async fn list(&self) -> Result<Vec<Tenant>> {
        Ok(self.deps.store.list_tenants().await?)
    }
}
