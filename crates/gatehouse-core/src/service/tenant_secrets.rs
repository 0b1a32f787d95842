//! Named tenant secrets (webhook signing secrets): set, generated, deleted,
//! listed by name. The value leaves Gatehouse once, when it is generated;
//! policies refer to secrets by name.

use std::sync::Arc;

use secrecy::SecretString;

use super::{Deps, TenantContext, TenantContexts};
use crate::audit::Event;
use crate::clock::UnixTime;
use crate::tenant_secret::{self, TenantSecret};
use crate::{Error, Result};

/// What to store under a name.
pub enum SecretValue {
    Given(SecretString),
    /// Gatehouse makes one (`whsec_` + 32 random bytes) and returns it once.
    Generate,
}

/// A secret as listed: its name and age, never its value.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SecretName {
    pub name: String,
    pub created_at: UnixTime,
}

#[derive(Clone)]
pub struct TenantSecrets {
    deps: Arc<Deps>,
    contexts: Arc<TenantContexts>,
}

impl TenantSecrets {
    pub(crate) fn new(deps: Arc<Deps>, contexts: Arc<TenantContexts>) -> Self {
        Self { deps, contexts }
    }

    /// Creates or replaces the secret `name`; returns the value only when
    /// Gatehouse generated it.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name(), secret = %name))]
    pub async fn put(
        &self,
        ctx: &TenantContext,
        name: &str,
        value: SecretValue,
    ) -> Result<Option<SecretString>> {
        let (value, generated) = match value {
            SecretValue::Given(v) => (v, false),
            SecretValue::Generate => (tenant_secret::generate()?, true),
        };
        let sealed = TenantSecret::seal(
            &ctx.tenant().id,
            name,
            &value,
            self.deps.now(),
            &self.deps.master,
        )?;
        self.deps.store.put_secret(&sealed).await?;
        // This node's gate sees the new value at once; others within the
        // tenant-context refresh.
        self.contexts.invalidate(ctx.name());
        tracing::info!("tenant secret set");
        self.deps.audit.record(
            ctx.tenant(),
            Event::success("secret.set").actor("admin").subject(name),
        );
        Ok(generated.then_some(value))
    }

    pub async fn delete(&self, ctx: &TenantContext, name: &str) -> Result<()> {
        tenant_secret::check_name(name)?;
        if !self
            .deps
            .store
            .delete_secret(&ctx.tenant().id, name)
            .await?
        {
            return Err(Error::NotFound("the secret"));
        }
        self.contexts.invalidate(ctx.name());
        tracing::info!(tenant = %ctx.name(), secret = %name, "tenant secret deleted");
        self.deps.audit.record(
            ctx.tenant(),
            Event::success("secret.deleted")
                .actor("admin")
                .subject(name),
        );
        Ok(())
    }

    pub async fn names(&self, ctx: &TenantContext) -> Result<Vec<SecretName>> {
        Ok(self
            .deps
            .store
            .secrets(&ctx.tenant().id)
            .await?
            .into_iter()
            .map(|s| SecretName {
                name: s.name,
                created_at: s.created_at,
            })
            .collect())
    }
}
