//! Users: the record (`I#{id}`) and its two claims (`N#…` for the
//! username key, `E#…` for the email key) in the tenant's `USERS`
//! partition, written and removed together in one transaction; and what
//! the user owns, reached through the link items of `T#{t}#U#{id}`.

use async_trait::async_trait;
use gatehouse_core::password::PasswordHash;
use gatehouse_core::store::{StoreError, StoreResult, UniqueField, UserQuery, UserStore};
use gatehouse_core::user::{LoginName, User, email_key, is_possible_user_id, username_key};

use super::item::{Item, ItemBuilder, Read, key, n, s};
use super::table::Tx;
use super::{DynamoStore, done, k};
use crate::sql::{fits, fits_text, to_json_list, width};

/// The most users one page holds, as in the SQL backends.
const MAX_PAGE: u32 = 200;

pub(super) fn record_sk(user_id: &str) -> String {
    format!("I#{user_id}")
}

fn username_sk(username_key: &str) -> String {
    format!("N#{}", k::h(username_key))
}

fn email_sk(email_key: &str) -> String {
    format!("E#{}", k::h(email_key))
}

/// The lookup keys of a user about to be written; a name without one
/// could never be found again, so it is refused (as in the SQL backends).
fn keys_of(user: &User) -> StoreResult<(String, Option<String>)> {
    let username = username_key(&user.username).ok_or(StoreError::Unstorable(
        "a username outside the username profile (RFC 8265)",
    ))?;
    let email = match &user.email {
        Some(e) => {
            Some(email_key(e).ok_or(StoreError::Unstorable("an email address that is not one"))?)
        }
        None => None,
    };
    Ok((username, email))
}

/// The SQL backends' column widths, so a value is refused alike everywhere.
fn check_widths(
    user: &User,
    username_key: &str,
    email_key: Option<&str>,
    roles: &str,
) -> StoreResult<()> {
    for (value, chars) in [
        (Some(user.id.as_str()), width::ID),
        (Some(user.username.as_str()), width::USERNAME),
        (Some(username_key), width::USERNAME),
        (user.email.as_deref(), width::EMAIL),
        (email_key, width::EMAIL),
        (user.first_name.as_deref(), width::NAME),
        (user.last_name.as_deref(), width::NAME),
    ] {
        fits(value, chars)?;
    }
    fits_text(Some(roles))?;
    fits_text(Some(&user.password_hash.0))
}

fn user_item(user: &User, username_key: &str, email_key: Option<&str>) -> Item {
    ItemBuilder::new(k::users(&user.tenant_id), record_sk(&user.id))
        .s("id", &user.id)
        .s("tenant_id", &user.tenant_id)
        .s("username", &user.username)
        .s("username_key", username_key)
        .opt_s("email", user.email.as_deref())
        .opt_s("email_key", email_key)
        .opt_s("first_name", user.first_name.as_deref())
        .opt_s("last_name", user.last_name.as_deref())
        .s("roles", to_json_list(&user.roles))
        .n("email_verified", i64::from(user.email_verified))
        .n("disabled", i64::from(user.disabled))
        .n("failed_logins", user.failed_logins)
        .n("lock_count", user.lock_count)
        .opt_n("locked_until", user.locked_until)
        .s("password_hash", &user.password_hash.0)
        .n("created_at", user.created_at)
        .build()
}

fn claim(tenant_id: &str, sk: String, user_id: &str) -> Item {
    ItemBuilder::new(k::users(tenant_id), sk)
        .s("user_id", user_id)
        .build()
}

fn user_from(item: &Item) -> StoreResult<User> {
    let r = Read(item);
    Ok(User {
        id: r.text("id")?,
        tenant_id: r.text("tenant_id")?,
        username: r.text("username")?,
        email: r.opt_text("email")?,
        first_name: r.opt_text("first_name")?,
        last_name: r.opt_text("last_name")?,
        roles: r.json_list("roles")?,
        email_verified: r.bool("email_verified")?,
        disabled: r.bool("disabled")?,
        // Absent on users written before the soft-lock: no failures, no lock.
        failed_logins: r.opt_int("failed_logins")?.unwrap_or(0),
        lock_count: r.opt_int("lock_count")?.unwrap_or(0),
        locked_until: r.opt_int("locked_until")?,
        password_hash: PasswordHash(r.text("password_hash")?),
        created_at: r.int("created_at")?,
    })
}

impl DynamoStore {
    /// A transaction step that holds only while the user exists: what a
    /// user owns is created with it (SQL's foreign key).
    pub(super) fn user_exists(&self, tenant_id: &str, user_id: &str) -> Tx {
        Tx::Check {
            key: key(k::users(tenant_id), record_sk(user_id)),
            cond: "attribute_exists(#pk)",
            values: Vec::new(),
        }
    }

    async fn user_record(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<Item>> {
        self.table
            .get(key(k::users(tenant_id), record_sk(user_id)))
            .await
    }

    /// Deletes everything the links of `T#{t}#U#{user}` name, then the
    /// links. Safe to run again: what is already gone is skipped.
    async fn delete_owned(&self, tenant_id: &str, user_id: &str) -> StoreResult<()> {
        let owner = k::owned_by(tenant_id, user_id);
        let links = self.table.query(&owner, "").await?;
        let mut deletes = Vec::new();
        for link in &links {
            let r = Read(link);
            let sk = r.sk()?;
            let Some((kind, id)) = sk.split_once('#') else {
                continue;
            };
            match kind {
                "S" => {
                    deletes.push(key(k::session(tenant_id, id), "SESSION"));
                    if let Some(client) = r.opt_text("client_id")? {
                        deletes.push(key(k::client_links(tenant_id, &client), format!("S#{id}")));
                    }
                    if let Some(browser) = r.opt_text("browser_session_id")? {
                        deletes.push(key(k::browser_id(tenant_id, &browser), format!("S#{id}")));
                    }
                }
                "B" => {
                    deletes.push(key(k::browser_id(tenant_id, id), "BROWSER"));
                    if let Some(hash) = r.opt_text("token_hash")? {
                        deletes.push(key(k::browser(tenant_id, &hash), "BROWSER"));
                    }
                }
                "K" => deletes.push(key(k::tenant(tenant_id), format!("APIKEY#{id}"))),
                "C" => {
                    deletes.push(key(k::code(tenant_id, id), "CODE"));
                    if let Some(client) = r.opt_text("client_id")? {
                        deletes.push(key(k::client_links(tenant_id, &client), format!("C#{id}")));
                    }
                }
                "A" => deletes.push(key(k::account_token(tenant_id, id), "TOKEN")),
                _ => {}
            }
        }
        // What the links name first, the links last: an interrupted run
        // leaves links, so running it again finds the rest.
        self.delete_all(deletes).await?;
        self.delete_all(links.iter().map(key_of).collect()).await
    }

    /// Deletes items by key, unconditionally, in transactions of up to 100.
    pub(super) async fn delete_all(&self, keys: Vec<Item>) -> StoreResult<()> {
        // One transaction may name an item once.
        let mut seen = std::collections::HashSet::new();
        let steps = keys
            .into_iter()
            .filter(|k| seen.insert(format!("{:?}{:?}", k.get("pk"), k.get("sk"))))
            .map(|key| Tx::Delete {
                key,
                cond: None,
                values: Vec::new(),
            })
            .collect();
        self.table.transact_chunks(steps).await
    }
}

/// The primary key of an item read from the table.
pub(super) fn key_of(item: &Item) -> Item {
    item.iter()
        .filter(|(name, _)| *name == super::item::PK || *name == super::item::SK)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let (username_key, email_key) = keys_of(user)?;
        let roles = to_json_list(&user.roles);
        check_widths(user, &username_key, email_key.as_deref(), &roles)?;
        if !is_possible_user_id(&user.id) || user.id.is_empty() {
            return Err(StoreError::Unstorable("a user id that is not one"));
        }
        let t = &user.tenant_id;
        let mut items = vec![
            Tx::put_new(user_item(user, &username_key, email_key.as_deref())),
            Tx::put_new(claim(t, username_sk(&username_key), &user.id)),
        ];
        if let Some(email_key) = &email_key {
            items.push(Tx::put_new(claim(t, email_sk(email_key), &user.id)));
        }
        match self.table.transact(items).await? {
            Ok(()) => Ok(()),
            // Which rule broke, username first (as the SQL backends ask).
            Err(c) if c.failed(1) => Err(StoreError::Conflict(UniqueField::Username)),
            Err(c) if c.failed(2) => Err(StoreError::Conflict(UniqueField::Email)),
            // The id itself (an imported legacy id) is taken.
            Err(_) => Err(StoreError::Conflict(UniqueField::Other)),
        }
    }

    async fn user_by_login(&self, tenant_id: &str, login: &LoginName) -> StoreResult<Option<User>> {
        let Some(value) = login.lookup_key() else {
            return Ok(None);
        };
        let sk = match login {
            LoginName::Username(_) => username_sk(&value),
            LoginName::Email(_) => email_sk(&value),
        };
        let Some(claim) = self.table.get(key(k::users(tenant_id), sk)).await? else {
            return Ok(None);
        };
        let user_id = Read(&claim).text("user_id")?;
        let item = self.user_record(tenant_id, &user_id).await?;
        item.as_ref().map(user_from).transpose()
    }

    async fn user_by_id(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        if !is_possible_user_id(user_id) || user_id.is_empty() {
            return Ok(None);
        }
        let item = self.user_record(tenant_id, user_id).await?;
        item.as_ref().map(user_from).transpose()
    }

    async fn list_users(&self, tenant_id: &str) -> StoreResult<Vec<User>> {
        let items = self.table.query(&k::users(tenant_id), "I#").await?;
        let mut users = items
            .iter()
            .map(user_from)
            .collect::<StoreResult<Vec<_>>>()?;
        users.sort_by_cached_key(|u| username_key(&u.username).unwrap_or_default());
        Ok(users)
    }

    async fn update_password_hash(
        &self,
        tenant_id: &str,
        user_id: &str,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> StoreResult<bool> {
        if !is_possible_user_id(user_id) || user_id.is_empty() {
            return Ok(false);
        }
        fits_text(Some(&new.0))?;
        // Conditional on the old hash: of two logins upgrading at once, one
        // writes and the other finds the work done.
        let outcome = self
            .table
            .update(
                key(k::users(tenant_id), record_sk(user_id)),
                "SET #password_hash = :new",
                Some("attribute_exists(#pk) AND #password_hash = :old"),
                vec![(":new", s(&new.0)), (":old", s(&old.0))],
            )
            .await?;
        Ok(done(outcome))
    }

    async fn set_user_roles(
        &self,
        tenant_id: &str,
        user_id: &str,
        roles: &[String],
    ) -> StoreResult<bool> {
        if !is_possible_user_id(user_id) || user_id.is_empty() {
            return Ok(false);
        }
        let roles = to_json_list(roles);
        fits_text(Some(&roles))?;
        let outcome = self
            .table
            .update(
                key(k::users(tenant_id), record_sk(user_id)),
                "SET #roles = :roles",
                Some("attribute_exists(#pk)"),
                vec![(":roles", s(roles))],
            )
            .await?;
        Ok(done(outcome))
    }

    async fn delete_user(&self, tenant_id: &str, user_id: &str) -> StoreResult<bool> {
        if !is_possible_user_id(user_id) || user_id.is_empty() {
            return Ok(false);
        }
        let mut existed = false;
        if let Some(item) = self.user_record(tenant_id, user_id).await? {
            let r = Read(&item);
            let owner = vec![(":u", s(user_id))];
            let mut items = vec![
                Tx::Delete {
                    key: key(k::users(tenant_id), record_sk(user_id)),
                    cond: Some("attribute_exists(#pk)"),
                    values: Vec::new(),
                },
                Tx::Delete {
                    key: key(k::users(tenant_id), username_sk(&r.text("username_key")?)),
                    cond: Some("#user_id = :u"),
                    values: owner.clone(),
                },
            ];
            if let Some(email_key) = r.opt_text("email_key")? {
                items.push(Tx::Delete {
                    key: key(k::users(tenant_id), email_sk(&email_key)),
                    cond: Some("#user_id = :u"),
                    values: owner,
                });
            }
            // Cancelled: another deletion (or an email change) got there
            // first; what it owns is cleared below either way.
            existed = self.table.transact(items).await?.is_ok();
        }
        // From here no session, key, code or link can be added for the
        // user (each is created with a check that the user exists).
        self.delete_owned(tenant_id, user_id).await?;
        Ok(existed)
    }

    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        if !is_possible_user_id(&user.id) || user.id.is_empty() {
            return Ok(false);
        }
        let (username_key, email_key) = keys_of(user)?;
        let roles = to_json_list(&user.roles);
        check_widths(user, &username_key, email_key.as_deref(), &roles)?;
        let t = &user.tenant_id;
        let record = key(k::users(t), record_sk(&user.id));
        // Attributes set and removed, as the SQL `UPDATE` sets them: never
        // the soft-lock's (only `LockoutStore` changes those).
        let mut sets = vec![
            "#roles = :roles",
            "#email_verified = :verified",
            "#disabled = :disabled",
        ];
        let mut removes = Vec::new();
        let mut values = vec![
            (":roles", s(roles)),
            (":verified", n(i64::from(user.email_verified))),
            (":disabled", n(i64::from(user.disabled))),
        ];
        for (name, set, placeholder, value) in [
            ("#email", "#email = :email", ":email", user.email.as_deref()),
            (
                "#email_key",
                "#email_key = :email_key",
                ":email_key",
                email_key.as_deref(),
            ),
            (
                "#first_name",
                "#first_name = :first",
                ":first",
                user.first_name.as_deref(),
            ),
            (
                "#last_name",
                "#last_name = :last",
                ":last",
                user.last_name.as_deref(),
            ),
        ] {
            match value {
                Some(v) => {
                    sets.push(set);
                    values.push((placeholder, s(v)));
                }
                None => removes.push(name),
            }
        }
        let mut update = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        // Two tries: an email change moves the claim, conditionally on the
        // email it read; a concurrent change is read again once.
        for _ in 0..2 {
            let Some(current) = self.table.get(record.clone()).await? else {
                return Ok(false);
            };
            let old_key = Read(&current).opt_text("email_key")?;
            if old_key == email_key {
                let outcome = self
                    .table
                    .update(
                        record.clone(),
                        &update,
                        Some("attribute_exists(#pk)"),
                        values.clone(),
                    )
                    .await?;
                return Ok(done(outcome));
            }
            let mut cond_values = values.clone();
            let cond = match &old_key {
                Some(old) => {
                    cond_values.push((":old_key", s(old)));
                    "attribute_exists(#pk) AND #email_key = :old_key"
                }
                None => "attribute_exists(#pk) AND attribute_not_exists(#email_key)",
            };
            let mut items = vec![Tx::Update {
                key: record.clone(),
                update: update.clone(),
                cond: Some(cond.to_string()),
                values: cond_values,
            }];
            let new_claim = email_key.as_ref().map(|e| {
                items.push(Tx::put_new(claim(t, email_sk(e), &user.id)));
                items.len() - 1
            });
            if let Some(old) = &old_key {
                items.push(Tx::Delete {
                    key: key(k::users(t), email_sk(old)),
                    cond: Some("#user_id = :u"),
                    values: vec![(":u", s(&user.id))],
                });
            }
            match self.table.transact(items).await? {
                Ok(()) => return Ok(true),
                Err(c) if new_claim.is_some_and(|i| c.failed(i)) => {
                    return Err(StoreError::Conflict(UniqueField::Email));
                }
                Err(_) => continue,
            }
        }
        Err(StoreError::Unavailable(
            "the user changed under this update twice; try again".into(),
        ))
    }

    async fn list_users_page(&self, tenant_id: &str, query: &UserQuery) -> StoreResult<Vec<User>> {
        let limit = query.limit.clamp(1, MAX_PAGE) as usize;
        let prefix = query.prefix.as_deref().filter(|p| !p.is_empty());
        // No key holds an ASCII capital, nor is longer than its column.
        if let Some(p) = prefix
            && (p.bytes().any(|b| b.is_ascii_uppercase()) || fits(Some(p), width::EMAIL).is_err())
        {
            return Ok(Vec::new());
        }
        let pk = k::users(tenant_id);
        // The cursor is the last id seen; the query starts after it.
        let mut start = match &query.after {
            Some(after) if after.len() > 512 || after.contains('\0') => return Ok(Vec::new()),
            Some(after) => Some(key(&pk, record_sk(after))),
            None => None,
        };
        let mut users = Vec::new();
        loop {
            // Without a prefix every item read is kept: ask for just enough.
            let ask = if prefix.is_some() {
                None
            } else {
                Some((limit - users.len()) as i32)
            };
            let (items, next) = self.table.query_page(&pk, "I#", ask, start).await?;
            for item in &items {
                let user = user_from(item)?;
                let r = Read(item);
                let matches = match prefix {
                    None => true,
                    Some(p) => {
                        r.text("username_key")?.starts_with(p)
                            || r.opt_text("email_key")?.is_some_and(|e| e.starts_with(p))
                    }
                };
                if matches {
                    users.push(user);
                    if users.len() == limit {
                        return Ok(users);
                    }
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(users),
            }
        }
    }
}
