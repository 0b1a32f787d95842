//! Signing keys: generation, the rotation steps due now (see
//! [`crate::rotation`]), a rotation started by an operator, and the master
//! key's checks and rewrap.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::{Deps, blocking};
use crate::algorithm::SigningAlgorithm;
use crate::audit::Event;
use crate::clock::UnixTime;
use crate::keys::{KeyState, SigningKeyRecord};
use crate::rotation::{self, KeyAction};
use crate::sealing::MasterKeys;
use crate::store::StoreError;
use crate::telemetry::{self, RotationTrigger};
use crate::tenant::Tenant;
use crate::{Error, Result};

#[derive(Clone)]
pub struct SigningKeys {
    deps: Arc<Deps>,
}

/// A new key, sealed with the primary master key. RSA key generation takes
/// tens of milliseconds: off the async threads.
pub(crate) async fn generate_key(
    deps: &Deps,
    tenant_id: &str,
    algorithm: SigningAlgorithm,
    state: KeyState,
    now: UnixTime,
) -> Result<SigningKeyRecord> {
    let master = deps.master.clone();
    let tenant_id = tenant_id.to_string();
    blocking(move || SigningKeyRecord::generate(&tenant_id, algorithm, state, now, &master)).await?
}

impl SigningKeys {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Applies whatever key steps are due for one tenant; returns whether
    /// anything changed. Safe to run on every node at once: each step is a
    /// conditional write and the losers of a race find it done.
    pub async fn maintain(&self, tenant: &Tenant) -> Result<bool> {
        let deps = &self.deps;
        let now = deps.now();
        let keys = deps.store.keys_for_tenant(&tenant.id).await?;
        let mut changed = false;
        for action in rotation::plan(tenant, &keys, &deps.settings.rotation, now) {
            let done = match &action {
                KeyAction::CreateNext => {
                    let key = generate_key(deps, &tenant.id, tenant.algorithm, KeyState::Next, now)
                        .await?;
                    match deps.store.insert_key(&key).await {
                        Ok(()) => {
                            telemetry::key_rotation(RotationTrigger::Scheduled);
                            true
                        }
                        Err(StoreError::Conflict(_)) => false,
                        Err(e) => return Err(e.into()),
                    }
                }
                KeyAction::Promote {
                    next_kid,
                    current_kid,
                } => {
                    deps.store
                        .promote_key(&tenant.id, next_kid, current_kid, now)
                        .await?
                }
                KeyAction::Remove { kid } => deps.store.remove_retired_key(&tenant.id, kid).await?,
            };
            if done {
                tracing::info!(tenant = %tenant.name, ?action, "signing key step applied");
                deps.audit.record(
                    tenant,
                    Event::success("key.lifecycle_step").subject(format!("{action:?}")),
                );
            }
            changed |= done;
        }
        Ok(changed)
    }

    /// Key maintenance for every tenant; returns the names of the tenants
    /// whose keys changed. One tenant's failure does not stop the others.
    pub async fn maintain_all(&self) -> Result<Vec<String>> {
        let mut changed = Vec::new();
        for tenant in self.deps.store.list_tenants().await? {
            match self.maintain(&tenant).await {
                Ok(true) => changed.push(tenant.name.to_string()),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(tenant = %tenant.name, error = %e, "key maintenance failed")
                }
            }
        }
        Ok(changed)
    }

    /// Starts a rotation now: publishes a successor (of `algorithm`, which
    /// becomes the tenant's algorithm, if given). It signs after the
    /// pre-publication window, or at once with `immediately` (for a
    /// compromised key: verifiers with a cached JWKS will reject new tokens
    /// until their cache expires).
    #[tracing::instrument(skip(self, tenant), fields(tenant = %tenant.name))]
    pub async fn rotate(
        &self,
        tenant: &Tenant,
        algorithm: Option<SigningAlgorithm>,
        immediately: bool,
    ) -> Result<SigningKeyRecord> {
        let deps = &self.deps;
        let mut tenant = tenant.clone();
        if let Some(alg) = algorithm
            && alg != tenant.algorithm
        {
            deps.store.set_tenant_algorithm(&tenant.id, alg).await?;
            tenant.algorithm = alg;
        }
        // A pending successor never signed, so replacing it is harmless.
        deps.store.remove_next_key(&tenant.id).await?;
        let now = deps.now();
        let next = generate_key(deps, &tenant.id, tenant.algorithm, KeyState::Next, now).await?;
        deps.store.insert_key(&next).await?;
        telemetry::key_rotation(RotationTrigger::Manual);
        if immediately {
            let keys = deps.store.keys_for_tenant(&tenant.id).await?;
            let current = keys
                .iter()
                .find(|k| k.state == KeyState::Current)
                .ok_or_else(|| {
                    Error::Internal(format!("tenant {} has no current key", tenant.name))
                })?;
            if !deps
                .store
                .promote_key(&tenant.id, &next.kid, &current.kid, now)
                .await?
            {
                return Err(Error::Contended(
                    "another rotation ran at the same time; try again",
                ));
            }
        }
        tracing::info!(tenant = %tenant.name, kid = %next.kid, algorithm = %tenant.algorithm, immediately, "key rotation started");
        deps.audit.record(
            &tenant,
            Event::success("key.rotated")
                .actor("admin")
                .subject(next.kid.clone()),
        );
        Ok(next)
    }

    pub async fn list(&self, tenant: &Tenant) -> Result<Vec<SigningKeyRecord>> {
        Ok(self.deps.store.keys_for_tenant(&tenant.id).await?)
    }

    /// The shared secret of an HS256 tenant's current key, for the services
    /// that verify its tokens; `None` for a public-key tenant (its JWKS is
    /// what verifiers need).
    pub async fn shared_secret(&self, tenant: &Tenant) -> Result<Option<SecretString>> {
        let keys = self.list(tenant).await?;
        keys.iter()
            .find(|k| k.state == KeyState::Current && k.algorithm.is_symmetric())
            .map(|k| k.open(&self.deps.master))
            .transpose()
    }

    /// Opens every stored key with the configured master keys. Run at
    /// start, before anything is written, so a wrong master key stops the
    /// node with a clear message and changes nothing.
    pub async fn check_master_keys(&self) -> Result<usize> {
        let mut opened = 0;
        for tenant in self.deps.store.list_tenants().await? {
            for key in self.deps.store.keys_for_tenant(&tenant.id).await? {
                key.open(&self.deps.master).map_err(|e| match e {
                    Error::MasterKey(m) => Error::MasterKey(format!(
                        "{m}; the node will not start (check GATEHOUSE_MASTER_KEY or the key file)"
                    )),
                    other => other,
                })?;
                opened += 1;
            }
        }
        Ok(opened)
    }

    /// Seals every key with the primary master key (after a master-key
    /// rotation), or with `only_unsealed`, just keys stored in the clear by
    /// an older version. Returns how many were rewritten.
    pub async fn rewrap(&self, only_unsealed: bool) -> Result<usize> {
        self.check_master_keys().await?;
        let mut rewritten = 0;
        for tenant in self.deps.store.list_tenants().await? {
            for key in self.deps.store.keys_for_tenant(&tenant.id).await? {
                if only_unsealed && MasterKeys::is_sealed(key.private_material.expose_secret()) {
                    continue;
                }
                if let Some(sealed) = key.resealed(&self.deps.master)?
                    && self
                        .deps
                        .store
                        .replace_key_material(&tenant.id, &key.kid, &key.private_material, &sealed)
                        .await?
                {
                    rewritten += 1;
                }
            }
        }
        Ok(rewritten)
    }
}
