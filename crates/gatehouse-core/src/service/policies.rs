//! Each tenant's route policy: replaced whole (validated first, so a bad
//! list changes nothing), read back as it was set.

use std::sync::Arc;

use super::{Deps, TenantContext, TenantContexts};
use crate::audit::Event;
use crate::policy::{Policy, PolicyDocument};
use crate::{Error, Result};

#[derive(Clone)]
pub struct Policies {
    deps: Arc<Deps>,
    contexts: Arc<TenantContexts>,
}

impl Policies {
    pub(crate) fn new(deps: Arc<Deps>, contexts: Arc<TenantContexts>) -> Self {
        Self { deps, contexts }
    }

    /// Replaces the tenant's rules with `policy` (already validated by
    /// parsing), atomically. This node applies it at once; the others
    /// within the tenant-context refresh.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn replace(&self, ctx: &TenantContext, policy: &Policy) -> Result<()> {
        let document = serde_json::to_string(policy.document())
            .map_err(|e| Error::Internal(format!("serialising a policy failed: {e}")))?;
        self.deps
            .store
            .put_policy_document(&ctx.tenant().id, &document, self.deps.now())
            .await?;
        self.contexts.invalidate(ctx.name());
        tracing::info!(
            rules = policy.document().rules.len(),
            "route policy replaced"
        );
        self.deps.audit.record(
            ctx.tenant(),
            Event::success("policy.replaced").actor("admin"),
        );
        Ok(())
    }

    /// The rules in force on this node.
    pub fn current<'c>(&self, ctx: &'c TenantContext) -> &'c PolicyDocument {
        ctx.policy().document()
    }
}
