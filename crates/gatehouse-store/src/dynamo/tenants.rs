//! Tenants and what hangs off them alone: signing keys, the route policy,
//! named secrets and API keys. All but the tenant record itself live in
//! the tenant's own partition `T#{t}`.

use async_trait::async_trait;
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::apikey::ApiKeyRecord;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::keys::{KeyState, SigningKeyRecord};
use gatehouse_core::store::{
    ApiKeyStore, KeyStore, PolicyStore, SecretStore, StoreError, StoreResult, TenantStore,
    UniqueField,
};
use gatehouse_core::tenant::{Tenant, TenantName, TenantSettings};
use gatehouse_core::tenant_secret::TenantSecret;
use secrecy::SecretString;

use super::item::{Item, ItemBuilder, Read, key, n, s};
use super::table::{Outcome, Tx};
use super::{DynamoStore, done, exposed, k};
use crate::sql::{fits, fits_text, is_possible_key, to_json_list, width};

/// The sort key of a tenant's record in `TENANTS`.
fn tenant_sk(name: &str) -> String {
    format!("N#{name}")
}

fn tenant_item(t: &Tenant) -> StoreResult<Item> {
    fits(t.display_name.as_deref(), width::DISPLAY_NAME)?;
    Ok(ItemBuilder::new(k::tenants(), tenant_sk(t.name.as_str()))
        .s("id", &t.id)
        .s("name", t.name.as_str())
        .s("algorithm", t.algorithm.as_str())
        .n("access_ttl_secs", t.access_ttl_secs)
        .s("audiences", to_json_list(&t.audiences))
        .opt_s("display_name", t.display_name.as_deref())
        .s("settings", settings_document(&t.settings)?)
        .n("created_at", t.created_at)
        .build())
}

fn settings_document(settings: &TenantSettings) -> StoreResult<String> {
    let document = serde_json::to_string(settings)
        .map_err(|e| StoreError::Backend(format!("cannot serialise tenant settings: {e}")))?;
    fits_text(Some(&document))?;
    Ok(document)
}

fn tenant_from(item: &Item) -> StoreResult<Tenant> {
    let r = Read(item);
    let corrupt =
        |e: gatehouse_core::Error| StoreError::Backend(format!("corrupt tenant item: {e}"));
    Ok(Tenant {
        id: r.text("id")?,
        name: TenantName::parse(&r.text("name")?).map_err(corrupt)?,
        algorithm: r
            .text("algorithm")?
            .parse::<SigningAlgorithm>()
            .map_err(|e| corrupt(e.into()))?,
        access_ttl_secs: r.int("access_ttl_secs")?,
        audiences: r.json_list("audiences")?,
        display_name: r.opt_text("display_name")?,
        settings: match r.opt_text("settings")? {
            Some(doc) => serde_json::from_str(&doc)
                .map_err(|e| StoreError::Backend(format!("corrupt tenant settings: {e}")))?,
            None => TenantSettings::default(),
        },
        created_at: r.int("created_at")?,
    })
}

/// A key's item, and the slot item its state claims (`current` and `next`
/// are one per tenant).
fn key_items(key: &SigningKeyRecord) -> (Item, Option<Item>) {
    let item = ItemBuilder::new(k::tenant(&key.tenant_id), format!("KEY#{}", key.kid))
        .s("kid", &key.kid)
        .s("tenant_id", &key.tenant_id)
        .s("algorithm", key.algorithm.as_str())
        .s("state", key.state.as_str())
        .s("private_material", exposed(&key.private_material))
        .n("created_at", key.created_at)
        .opt_n("activated_at", key.activated_at)
        .opt_n("retired_at", key.retired_at)
        .build();
    let slot = match key.state {
        KeyState::Current | KeyState::Next => Some(
            ItemBuilder::new(k::tenant(&key.tenant_id), slot_sk(key.state))
                .s("kid", &key.kid)
                .build(),
        ),
        KeyState::Retired => None,
    };
    (item, slot)
}

fn slot_sk(state: KeyState) -> String {
    format!("SLOT#{}", state.as_str())
}

fn key_from(item: &Item) -> StoreResult<SigningKeyRecord> {
    let r = Read(item);
    let corrupt = |e: gatehouse_core::Error| StoreError::Backend(format!("corrupt key item: {e}"));
    Ok(SigningKeyRecord {
        kid: r.text("kid")?,
        tenant_id: r.text("tenant_id")?,
        algorithm: r
            .text("algorithm")?
            .parse::<SigningAlgorithm>()
            .map_err(|e| corrupt(e.into()))?,
        state: KeyState::parse(&r.text("state")?).map_err(corrupt)?,
        private_material: SecretString::from(r.text("private_material")?),
        created_at: r.int("created_at")?,
        activated_at: r.opt_int("activated_at")?,
        retired_at: r.opt_int("retired_at")?,
    })
}

impl DynamoStore {
    /// Sets `update` on the record of tenant `tenant_id` (reached through
    /// its id item, since the record is keyed by name); nothing if there
    /// is no such tenant, as an SQL `UPDATE … WHERE id = ?` would.
    async fn update_tenant(
        &self,
        tenant_id: &str,
        update: &str,
        values: super::table::Values,
    ) -> StoreResult<()> {
        let Some(id_item) = self.table.get(key(k::tenant(tenant_id), "TENANT")).await? else {
            return Ok(());
        };
        let name = Read(&id_item).text("name")?;
        let mut values = values;
        values.push((":id", s(tenant_id)));
        self.table
            .update(
                key(k::tenants(), tenant_sk(&name)),
                update,
                Some("attribute_exists(#pk) AND #id = :id"),
                values,
            )
            .await
            .map(drop)
    }
}

#[async_trait]
impl TenantStore for DynamoStore {
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        first_key: &SigningKeyRecord,
    ) -> StoreResult<()> {
        let mut items = vec![
            Tx::put_new(tenant_item(tenant)?),
            Tx::put_new(
                ItemBuilder::new(k::tenant(&tenant.id), "TENANT")
                    .s("name", tenant.name.as_str())
                    .build(),
            ),
        ];
        let (key_item, slot) = key_items(first_key);
        items.push(Tx::put_new(key_item));
        items.extend(slot.map(Tx::put_new));
        match self.table.transact(items).await? {
            Ok(()) => Ok(()),
            // The ids are random; what can be taken is the name.
            Err(_) => Err(StoreError::Conflict(UniqueField::TenantName)),
        }
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        if TenantName::parse(name).is_err() {
            return Ok(None);
        }
        let item = self.table.get(key(k::tenants(), tenant_sk(name))).await?;
        item.as_ref().map(tenant_from).transpose()
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        // Sort keys are `N#{name}`: the query returns them by name.
        let items = self.table.query(&k::tenants(), "N#").await?;
        items.iter().map(tenant_from).collect()
    }

    async fn set_tenant_algorithm(
        &self,
        tenant_id: &str,
        algorithm: SigningAlgorithm,
    ) -> StoreResult<()> {
        self.update_tenant(
            tenant_id,
            "SET #algorithm = :a",
            vec![(":a", s(algorithm.as_str()))],
        )
        .await
    }

    async fn set_tenant_display_name(
        &self,
        tenant_id: &str,
        display_name: Option<&str>,
    ) -> StoreResult<()> {
        fits(display_name, width::DISPLAY_NAME)?;
        if display_name.is_some_and(|d| d.contains('\0')) {
            return Err(StoreError::Unstorable("text with a NUL character"));
        }
        match display_name {
            Some(d) => {
                self.update_tenant(tenant_id, "SET #display_name = :d", vec![(":d", s(d))])
                    .await
            }
            None => {
                self.update_tenant(tenant_id, "REMOVE #display_name", Vec::new())
                    .await
            }
        }
    }

    async fn set_tenant_settings(
        &self,
        tenant_id: &str,
        settings: &TenantSettings,
    ) -> StoreResult<()> {
        let document = settings_document(settings)?;
        self.update_tenant(tenant_id, "SET #settings = :s", vec![(":s", s(document))])
            .await
    }
}

#[async_trait]
impl KeyStore for DynamoStore {
    async fn insert_key(&self, key_record: &SigningKeyRecord) -> StoreResult<()> {
        let (item, slot) = key_items(key_record);
        let refused = match slot {
            None => !done(
                self.table
                    .put(item, Some("attribute_not_exists(#pk)"), Vec::new())
                    .await?,
            ),
            Some(slot) => self
                .table
                .transact(vec![Tx::put_new(item), Tx::put_new(slot)])
                .await?
                .is_err(),
        };
        if refused {
            // Another key holds the slot (or, improbably, the kid).
            return Err(StoreError::Conflict(UniqueField::Other));
        }
        Ok(())
    }

    async fn keys_for_tenant(&self, tenant_id: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        let items = self.table.query(&k::tenant(tenant_id), "KEY#").await?;
        let mut keys = items
            .iter()
            .map(key_from)
            .collect::<StoreResult<Vec<_>>>()?;
        keys.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.kid.cmp(&b.kid))
        });
        Ok(keys)
    }

    async fn promote_key(
        &self,
        tenant_id: &str,
        next_kid: &str,
        current_kid: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let pk = k::tenant(tenant_id);
        // Both keys and both slots, each conditional on what it was: all
        // four change, or (another node got there first) none.
        let items = vec![
            Tx::Update {
                key: key(&pk, format!("KEY#{current_kid}")),
                update: "SET #state = :retired, #retired_at = :now".into(),
                cond: Some("#state = :current".into()),
                values: vec![
                    (":retired", s("retired")),
                    (":now", n(now)),
                    (":current", s("current")),
                ],
            },
            Tx::Update {
                key: key(&pk, format!("KEY#{next_kid}")),
                update: "SET #state = :current, #activated_at = :now".into(),
                cond: Some("#state = :next".into()),
                values: vec![
                    (":current", s("current")),
                    (":now", n(now)),
                    (":next", s("next")),
                ],
            },
            Tx::Update {
                key: key(&pk, slot_sk(KeyState::Current)),
                update: "SET #kid = :next".into(),
                cond: Some("#kid = :current".into()),
                values: vec![(":next", s(next_kid)), (":current", s(current_kid))],
            },
            Tx::Delete {
                key: key(&pk, slot_sk(KeyState::Next)),
                cond: Some("#kid = :next"),
                values: vec![(":next", s(next_kid))],
            },
        ];
        Ok(self.table.transact(items).await?.is_ok())
    }

    async fn remove_retired_key(&self, tenant_id: &str, kid: &str) -> StoreResult<bool> {
        if !is_possible_key(kid, 255) {
            return Ok(false);
        }
        let outcome = self
            .table
            .delete(
                key(k::tenant(tenant_id), format!("KEY#{kid}")),
                Some("#state = :retired"),
                vec![(":retired", s("retired"))],
            )
            .await?;
        Ok(matches!(outcome, Outcome::Done(Some(_))))
    }

    async fn remove_next_key(&self, tenant_id: &str) -> StoreResult<bool> {
        let pk = k::tenant(tenant_id);
        let Some(slot) = self.table.get(key(&pk, slot_sk(KeyState::Next))).await? else {
            return Ok(false);
        };
        let kid = Read(&slot).text("kid")?;
        let items = vec![
            Tx::Delete {
                key: key(&pk, slot_sk(KeyState::Next)),
                cond: Some("#kid = :kid"),
                values: vec![(":kid", s(&kid))],
            },
            Tx::Delete {
                key: key(&pk, format!("KEY#{kid}")),
                cond: Some("#state = :next"),
                values: vec![(":next", s("next"))],
            },
        ];
        Ok(self.table.transact(items).await?.is_ok())
    }

    async fn replace_key_material(
        &self,
        tenant_id: &str,
        kid: &str,
        expected: &SecretString,
        replacement: &SecretString,
    ) -> StoreResult<bool> {
        if !is_possible_key(kid, 255) {
            return Ok(false);
        }
        let outcome = self
            .table
            .update(
                key(k::tenant(tenant_id), format!("KEY#{kid}")),
                "SET #private_material = :r",
                Some("attribute_exists(#pk) AND #private_material = :e"),
                vec![
                    (":r", s(exposed(replacement))),
                    (":e", s(exposed(expected))),
                ],
            )
            .await?;
        Ok(done(outcome))
    }
}

#[async_trait]
impl PolicyStore for DynamoStore {
    async fn policy_document(&self, tenant_id: &str) -> StoreResult<Option<String>> {
        let item = self.table.get(key(k::tenant(tenant_id), "POLICY")).await?;
        item.map(|i| Read(&i).text("document")).transpose()
    }

    async fn put_policy_document(
        &self,
        tenant_id: &str,
        document: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        // One item, replaced whole: no reader sees half of it.
        let item = ItemBuilder::new(k::tenant(tenant_id), "POLICY")
            .s("document", document)
            .n("updated_at", now)
            .build();
        self.table.put(item, None, Vec::new()).await.map(drop)
    }
}

/// Secret names are chosen by admins; a name no key can hold is no
/// secret's (DynamoDB sort keys end at 1 KB).
fn possible_secret_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 512 && !name.contains('\0')
}

#[async_trait]
impl SecretStore for DynamoStore {
    async fn put_secret(&self, secret: &TenantSecret) -> StoreResult<()> {
        if !possible_secret_name(&secret.name) {
            return Err(StoreError::Unstorable(
                "a secret name longer than a key holds",
            ));
        }
        let item = ItemBuilder::new(
            k::tenant(&secret.tenant_id),
            format!("SECRET#{}", secret.name),
        )
        .s("tenant_id", &secret.tenant_id)
        .s("name", &secret.name)
        .s("sealed_value", exposed(&secret.sealed))
        .n("created_at", secret.created_at)
        .build();
        self.table.put(item, None, Vec::new()).await.map(drop)
    }

    async fn secrets(&self, tenant_id: &str) -> StoreResult<Vec<TenantSecret>> {
        let items = self.table.query(&k::tenant(tenant_id), "SECRET#").await?;
        let mut secrets = items
            .iter()
            .map(|i| {
                let r = Read(i);
                Ok(TenantSecret {
                    tenant_id: r.text("tenant_id")?,
                    name: r.text("name")?,
                    sealed: SecretString::from(r.text("sealed_value")?),
                    created_at: r.int("created_at")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        secrets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(secrets)
    }

    async fn delete_secret(&self, tenant_id: &str, name: &str) -> StoreResult<bool> {
        if !possible_secret_name(name) {
            return Ok(false);
        }
        let outcome = self
            .table
            .delete(
                key(k::tenant(tenant_id), format!("SECRET#{name}")),
                None,
                Vec::new(),
            )
            .await?;
        Ok(matches!(outcome, Outcome::Done(Some(_))))
    }
}

fn api_key_item(key_record: &ApiKeyRecord) -> Item {
    ItemBuilder::new(
        k::tenant(&key_record.tenant_id),
        format!("APIKEY#{}", key_record.id),
    )
    .s("id", &key_record.id)
    .s("tenant_id", &key_record.tenant_id)
    .s("name", &key_record.name)
    .s("secret_hash", &key_record.secret_hash)
    .s("scopes", to_json_list(&key_record.scopes))
    .opt_s("user_id", key_record.user_id.as_deref())
    .n("created_at", key_record.created_at)
    .opt_n("expires_at", key_record.expires_at)
    .opt_n("last_used_at", key_record.last_used_at)
    .build()
}

fn api_key_from(item: &Item) -> StoreResult<ApiKeyRecord> {
    let r = Read(item);
    Ok(ApiKeyRecord {
        id: r.text("id")?,
        tenant_id: r.text("tenant_id")?,
        name: r.text("name")?,
        secret_hash: r.text("secret_hash")?,
        scopes: r.json_list("scopes")?,
        user_id: r.opt_text("user_id")?,
        created_at: r.int("created_at")?,
        expires_at: r.opt_int("expires_at")?,
        last_used_at: r.opt_int("last_used_at")?,
    })
}

#[async_trait]
impl ApiKeyStore for DynamoStore {
    async fn insert_api_key(&self, key_record: &ApiKeyRecord) -> StoreResult<()> {
        if !is_possible_key(&key_record.id, 255) {
            return Err(StoreError::Unstorable("an API key id that is not one"));
        }
        let item = api_key_item(key_record);
        let refused = match &key_record.user_id {
            None => !done(
                self.table
                    .put(item, Some("attribute_not_exists(#pk)"), Vec::new())
                    .await?,
            ),
            // A user's key goes with the user: linked to them, and only
            // while they exist.
            Some(user_id) => {
                let t = &key_record.tenant_id;
                let link =
                    ItemBuilder::new(k::owned_by(t, user_id), format!("K#{}", key_record.id))
                        .build();
                match self
                    .table
                    .transact(vec![
                        Tx::put_new(item),
                        Tx::put(link),
                        self.user_exists(t, user_id),
                    ])
                    .await?
                {
                    Ok(()) => false,
                    Err(c) if c.failed(2) => return Err(no_such_user()),
                    Err(_) => true,
                }
            }
        };
        if refused {
            return Err(StoreError::Conflict(UniqueField::Other));
        }
        Ok(())
    }

    async fn api_key(&self, tenant_id: &str, id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        if !is_possible_key(id, 255) {
            return Ok(None);
        }
        let item = self
            .table
            .get(key(k::tenant(tenant_id), format!("APIKEY#{id}")))
            .await?;
        item.as_ref().map(api_key_from).transpose()
    }

    async fn list_api_keys(
        &self,
        tenant_id: &str,
        user_id: Option<&str>,
    ) -> StoreResult<Vec<ApiKeyRecord>> {
        let items = self.table.query(&k::tenant(tenant_id), "APIKEY#").await?;
        let mut keys = items
            .iter()
            .map(api_key_from)
            .collect::<StoreResult<Vec<_>>>()?;
        if let Some(user) = user_id {
            keys.retain(|k| k.user_id.as_deref() == Some(user));
        }
        keys.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(keys)
    }

    async fn delete_api_key(
        &self,
        tenant_id: &str,
        id: &str,
        user_id: Option<&str>,
    ) -> StoreResult<bool> {
        if !is_possible_key(id, 255) {
            return Ok(false);
        }
        let key_of = key(k::tenant(tenant_id), format!("APIKEY#{id}"));
        let outcome = match user_id {
            Some(user) => {
                self.table
                    .delete(key_of, Some("#user_id = :u"), vec![(":u", s(user))])
                    .await?
            }
            None => self.table.delete(key_of, None, Vec::new()).await?,
        };
        let Outcome::Done(Some(old)) = outcome else {
            return Ok(false);
        };
        // The owner's link goes too (a leftover one is harmless: a user's
        // deletion deletes what it names, whether there or not).
        if let Some(owner) = Read(&old).opt_text("user_id")? {
            self.table
                .delete(
                    key(k::owned_by(tenant_id, &owner), format!("K#{id}")),
                    None,
                    Vec::new(),
                )
                .await?;
        }
        Ok(true)
    }

    async fn touch_api_key(&self, tenant_id: &str, id: &str, now: UnixTime) -> StoreResult<()> {
        if !is_possible_key(id, 255) {
            return Ok(());
        }
        self.table
            .update(
                key(k::tenant(tenant_id), format!("APIKEY#{id}")),
                "SET #last_used_at = :now",
                Some("attribute_exists(#pk)"),
                vec![(":now", n(now))],
            )
            .await
            .map(drop)
    }
}

/// A `ConditionCheck` failing on a missing user: SQL's foreign key.
pub(super) fn no_such_user() -> StoreError {
    StoreError::Backend("the user it belongs to does not exist".into())
}
