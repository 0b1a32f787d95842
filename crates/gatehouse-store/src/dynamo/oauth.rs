//! OAuth clients, authorization codes, browser sign-ins and account
//! links. Codes and links are single-use values in partitions of their
//! own, used up by one conditional update; what a client's deletion or a
//! sign-in's end must reach is linked from the client or the sign-in.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use futures::future::join_all;
use gatehouse_core::account_token::{AccountToken, TokenConsumed, TokenPurpose};
use gatehouse_core::clock::UnixTime;
use gatehouse_core::oauth::{
    AuthorizationCode, BrowserSession, ClientRecord, ClientType, CodeConsumed, GrantType,
};
use gatehouse_core::service::issue::FIRST_PARTY_CLIENT;
use gatehouse_core::store::{
    AccountTokenStore, AuthorizationStore, ClientStore, StoreError, StoreResult, UniqueField,
};

use super::item::{Item, ItemBuilder, Read, key, n, s};
use super::sessions::expired_at;
use super::table::{Outcome, Tx};
use super::tenants::no_such_user;
use super::users::key_of;
use super::{DynamoStore, done, k, keep};
use crate::sql::{fits, fits_text, is_possible_key, to_json_list, width};

fn client_sk(id: &str) -> String {
    format!("CLIENT#{id}")
}

fn client_from(item: &Item) -> StoreResult<ClientRecord> {
    let r = Read(item);
    let corrupt =
        |e: gatehouse_core::Error| StoreError::Backend(format!("corrupt client item: {e}"));
    let grants = r
        .json_list("grants")?
        .iter()
        .map(|g| GrantType::parse(g).map_err(corrupt))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ClientRecord {
        id: r.text("id")?,
        tenant_id: r.text("tenant_id")?,
        name: r.text("name")?,
        client_type: ClientType::parse(&r.text("client_type")?).map_err(corrupt)?,
        grants,
        scopes: r.json_list("scopes")?,
        redirect_uris: r.json_list("redirect_uris")?,
        post_logout_redirect_uris: r.json_list("post_logout_redirect_uris")?,
        secret_hash: r.opt_text("secret_hash")?,
        previous_secret_hash: r.opt_text("previous_secret_hash")?,
        previous_secret_expires_at: r.opt_int("previous_secret_expires_at")?,
        created_at: r.int("created_at")?,
    })
}

/// A client being deleted (its sessions still being revoked) is no
/// longer there for anyone.
fn deleting(item: &Item) -> bool {
    item.contains_key("deleting")
}

#[async_trait]
impl ClientStore for DynamoStore {
    async fn insert_client(&self, client: &ClientRecord) -> StoreResult<()> {
        if !is_possible_key(&client.id, width::CLIENT_ID) {
            return Err(StoreError::Unstorable(
                "a client id that is not 1 to 255 printable ASCII characters",
            ));
        }
        let grants: Vec<String> = client
            .grants
            .iter()
            .map(|g| g.as_str().to_string())
            .collect();
        let lists = [
            to_json_list(&grants),
            to_json_list(&client.scopes),
            to_json_list(&client.redirect_uris),
            to_json_list(&client.post_logout_redirect_uris),
        ];
        fits(Some(&client.name), width::CLIENT_NAME)?;
        fits(client.secret_hash.as_deref(), width::HASH)?;
        fits(client.previous_secret_hash.as_deref(), width::HASH)?;
        for list in &lists {
            fits_text(Some(list))?;
        }
        let [grants, scopes, redirect_uris, post_logout] = lists;
        let item = ItemBuilder::new(k::tenant(&client.tenant_id), client_sk(&client.id))
            .s("id", &client.id)
            .s("tenant_id", &client.tenant_id)
            .s("name", &client.name)
            .s("client_type", client.client_type.as_str())
            .s("grants", grants)
            .s("scopes", scopes)
            .s("redirect_uris", redirect_uris)
            .s("post_logout_redirect_uris", post_logout)
            .opt_s("secret_hash", client.secret_hash.as_deref())
            .opt_s(
                "previous_secret_hash",
                client.previous_secret_hash.as_deref(),
            )
            .opt_n(
                "previous_secret_expires_at",
                client.previous_secret_expires_at,
            )
            .n("created_at", client.created_at)
            .build();
        let outcome = self
            .table
            .put(item, Some("attribute_not_exists(#pk)"), Vec::new())
            .await?;
        if !done(outcome) {
            // Ids are random: a retry of the same insert, or a bug.
            return Err(StoreError::Conflict(UniqueField::Other));
        }
        Ok(())
    }

    async fn client(&self, tenant_id: &str, client_id: &str) -> StoreResult<Option<ClientRecord>> {
        if !is_possible_key(client_id, width::CLIENT_ID) {
            return Ok(None);
        }
        let item = self
            .table
            .get(key(k::tenant(tenant_id), client_sk(client_id)))
            .await?;
        item.filter(|i| !deleting(i))
            .as_ref()
            .map(client_from)
            .transpose()
    }

    async fn list_clients(&self, tenant_id: &str) -> StoreResult<Vec<ClientRecord>> {
        let items = self.table.query(&k::tenant(tenant_id), "CLIENT#").await?;
        let mut clients = items
            .iter()
            .filter(|i| !deleting(i))
            .map(client_from)
            .collect::<StoreResult<Vec<_>>>()?;
        clients.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(clients)
    }

    async fn delete_client(
        &self,
        tenant_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        if !is_possible_key(client_id, width::CLIENT_ID) {
            return Ok(false);
        }
        let record = key(k::tenant(tenant_id), client_sk(client_id));
        // The mark decides: from it on the client is gone for every
        // reader, and one caller wins. A client already marked (a deletion
        // that was interrupted) is finished, but answers `false`; one
        // that never existed revokes nothing.
        let won = match self
            .table
            .update(
                record.clone(),
                "SET #deleting = :now",
                Some("attribute_exists(#pk) AND attribute_not_exists(#deleting)"),
                vec![(":now", n(now))],
            )
            .await?
        {
            Outcome::Done(_) => true,
            Outcome::Refused(Some(item)) if deleting(&item) => false,
            Outcome::Refused(_) => return Ok(false),
        };
        let links = self
            .linked(&k::client_links(tenant_id, client_id), "")
            .await?;
        let mut sessions = Vec::new();
        let mut codes = Vec::new();
        for (sk, _) in &links {
            match sk.split_once('#') {
                Some(("S", id)) => sessions.push(id.to_string()),
                Some(("C", hash)) => codes.push(hash.to_string()),
                _ => {}
            }
        }
        self.revoke_sessions(tenant_id, sessions, now).await?;
        // Its unused codes go; a used one stays, so a replay is still seen
        // (RFC 6749 §4.1.2).
        let deletions = codes.iter().map(|hash| {
            self.table.delete(
                key(k::code(tenant_id, hash), "CODE"),
                Some("attribute_not_exists(#used_at)"),
                Vec::new(),
            )
        });
        for deleted in join_all(deletions).await {
            deleted?;
        }
        self.delete_all(links.iter().map(|(_, l)| key_of(l)).collect())
            .await?;
        self.table.delete(record, None, Vec::new()).await?;
        Ok(won)
    }

    async fn rotate_client_secret(
        &self,
        tenant_id: &str,
        client_id: &str,
        expected: &str,
        new_hash: &str,
        previous_expires_at: UnixTime,
    ) -> StoreResult<bool> {
        if !is_possible_key(client_id, width::CLIENT_ID) || !is_possible_key(expected, width::HASH)
        {
            return Ok(false);
        }
        fits(Some(new_hash), width::HASH)?;
        // One conditional update: of concurrent rotations from the same
        // secret one wins, the others change nothing.
        let outcome = self
            .table
            .update(
                key(k::tenant(tenant_id), client_sk(client_id)),
                "SET #previous_secret_hash = :e, #previous_secret_expires_at = :x, #secret_hash = :n",
                Some("attribute_exists(#pk) AND attribute_not_exists(#deleting) AND #secret_hash = :e"),
                vec![(":e", s(expected)), (":x", n(previous_expires_at)), (":n", s(new_hash))],
            )
            .await?;
        Ok(done(outcome))
    }
}

fn code_item(code: &AuthorizationCode) -> Item {
    ItemBuilder::new(k::code(&code.tenant_id, &code.code_hash), "CODE")
        .s("code_hash", &code.code_hash)
        .s("tenant_id", &code.tenant_id)
        .s("client_id", &code.client_id)
        .s("user_id", &code.user_id)
        .opt_s("redirect_uri", code.redirect_uri.as_deref())
        .s("scope", &code.scope)
        .opt_s("code_challenge", code.code_challenge.as_deref())
        .opt_s("nonce", code.nonce.as_deref())
        .n("auth_time", code.auth_time)
        .s("browser_session_id", &code.browser_session_id)
        .s("session_id", &code.session_id)
        .n("created_at", code.created_at)
        .n("expires_at", code.expires_at)
        .opt_n("used_at", code.used_at)
        .ttl(code.expires_at.saturating_add(keep::SINGLE_USE))
        .build()
}

fn code_from(item: &Item) -> StoreResult<AuthorizationCode> {
    let r = Read(item);
    Ok(AuthorizationCode {
        code_hash: r.text("code_hash")?,
        tenant_id: r.text("tenant_id")?,
        client_id: r.text("client_id")?,
        user_id: r.text("user_id")?,
        redirect_uri: r.opt_text("redirect_uri")?,
        scope: r.text("scope")?,
        code_challenge: r.opt_text("code_challenge")?,
        nonce: r.opt_text("nonce")?,
        auth_time: r.int("auth_time")?,
        browser_session_id: r.text("browser_session_id")?,
        session_id: r.text("session_id")?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        used_at: r.opt_int("used_at")?,
    })
}

fn browser_item(b: &BrowserSession) -> Item {
    ItemBuilder::new(k::browser(&b.tenant_id, &b.token_hash), "BROWSER")
        .s("id", &b.id)
        .s("token_hash", &b.token_hash)
        .s("tenant_id", &b.tenant_id)
        .s("user_id", &b.user_id)
        .n("auth_time", b.auth_time)
        .n("created_at", b.created_at)
        .n("expires_at", b.expires_at)
        .opt_n("revoked_at", b.revoked_at)
        .ttl(b.expires_at.saturating_add(keep::BROWSER))
        .build()
}

fn browser_from(item: &Item) -> StoreResult<BrowserSession> {
    let r = Read(item);
    Ok(BrowserSession {
        id: r.text("id")?,
        token_hash: r.text("token_hash")?,
        tenant_id: r.text("tenant_id")?,
        user_id: r.text("user_id")?,
        auth_time: r.int("auth_time")?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        revoked_at: r.opt_int("revoked_at")?,
    })
}

/// What a single-use value's conditional update found.
enum Use {
    Fresh(Item),
    AlreadyUsed(Item),
    NotFound,
}

impl DynamoStore {
    /// Marks a code or link used if it is unused, unexpired by TTL and
    /// not older than the prune horizon; `extra` adds a condition (an
    /// account link's purpose).
    async fn use_once(
        &self,
        item_key: Item,
        now: UnixTime,
        horizon: i64,
        extra: Option<(&'static str, &str)>,
    ) -> StoreResult<Use> {
        let mut cond = String::from(
            "attribute_exists(#pk) AND attribute_not_exists(#used_at) AND #ttl > :now \
             AND #expires_at >= :horizon",
        );
        let mut values = vec![(":now", n(now)), (":horizon", n(horizon))];
        if let Some((attribute, value)) = extra {
            cond.push_str(&format!(" AND #{attribute} = :extra"));
            values.push((":extra", s(value)));
        }
        let pruned = |item: &Item| {
            expired_at(item, now)
                || Read(item)
                    .opt_int("expires_at")
                    .ok()
                    .flatten()
                    .is_some_and(|e| e < horizon)
                || extra.is_some_and(|(a, v)| {
                    Read(item).opt_text(a).ok().flatten().as_deref() != Some(v)
                })
        };
        Ok(
            match self
                .table
                .update(item_key, "SET #used_at = :now", Some(&cond), values)
                .await?
            {
                Outcome::Done(item) => Use::Fresh(item),
                Outcome::Refused(Some(item)) if !pruned(&item) => Use::AlreadyUsed(item),
                Outcome::Refused(_) => Use::NotFound,
            },
        )
    }

    /// The link, user link and (for a registered client) client link of a
    /// new code, checked against its user, in one transaction.
    fn owned_writes(
        &self,
        tenant_id: &str,
        user_id: &str,
        item: Item,
        link_sk: String,
        ttl: i64,
    ) -> Vec<Tx> {
        vec![
            Tx::put_new(item),
            self.user_exists(tenant_id, user_id),
            Tx::put(
                ItemBuilder::new(k::owned_by(tenant_id, user_id), link_sk)
                    .ttl(ttl)
                    .build(),
            ),
        ]
    }
}

#[async_trait]
impl AuthorizationStore for DynamoStore {
    async fn insert_authorization_code(
        &self,
        code: &AuthorizationCode,
        prune_before: UnixTime,
    ) -> StoreResult<()> {
        if !is_possible_key(&code.code_hash, width::HASH) {
            return Err(StoreError::Unstorable("a code hash that is not one"));
        }
        fits(Some(&code.client_id), width::CLIENT_ID)?;
        fits(Some(&code.user_id), width::ID)?;
        fits(Some(&code.browser_session_id), width::ID)?;
        fits(Some(&code.session_id), width::ID)?;
        fits(code.code_challenge.as_deref(), width::CHALLENGE)?;
        fits_text(code.redirect_uri.as_deref())?;
        fits_text(Some(&code.scope))?;
        fits_text(code.nonce.as_deref())?;
        let t = &code.tenant_id;
        let ttl = code.expires_at.saturating_add(keep::SINGLE_USE);
        let mut items = self.owned_writes(
            t,
            &code.user_id,
            code_item(code),
            format!("C#{}", code.code_hash),
            ttl,
        );
        // Its user link names its client, so deleting the user can tidy
        // the client's links; a registered client's deletion reaches it.
        if let Tx::Put { item, .. } = &mut items[2] {
            item.insert("client_id".into(), s(&code.client_id));
        }
        if code.client_id != FIRST_PARTY_CLIENT {
            items.push(Tx::put(
                ItemBuilder::new(
                    k::client_links(t, &code.client_id),
                    format!("C#{}", code.code_hash),
                )
                .ttl(ttl)
                .build(),
            ));
        }
        match self.table.transact(items).await? {
            Ok(()) => {}
            Err(c) if c.failed(1) => return Err(no_such_user()),
            Err(_) => return Err(StoreError::Conflict(UniqueField::Other)),
        }
        // Pruning is TTL's work (the table never grows without bound);
        // from now on codes that expired before `prune_before` read as
        // pruned, here as in the SQL backends.
        DynamoStore::raise(&self.code_horizon, prune_before);
        Ok(())
    }

    async fn consume_authorization_code(
        &self,
        tenant_id: &str,
        code_hash: &str,
        now: UnixTime,
    ) -> StoreResult<CodeConsumed> {
        if !is_possible_key(code_hash, width::HASH) {
            return Ok(CodeConsumed::NotFound);
        }
        let horizon = self.code_horizon.load(Ordering::Relaxed);
        Ok(
            match self
                .use_once(
                    key(k::code(tenant_id, code_hash), "CODE"),
                    now,
                    horizon,
                    None,
                )
                .await?
            {
                Use::Fresh(item) => CodeConsumed::Fresh(code_from(&item)?),
                Use::AlreadyUsed(item) => CodeConsumed::AlreadyUsed(code_from(&item)?),
                Use::NotFound => CodeConsumed::NotFound,
            },
        )
    }

    async fn create_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        if !is_possible_key(&session.id, width::ID)
            || !is_possible_key(&session.token_hash, width::HASH)
        {
            return Err(StoreError::Unstorable(
                "a browser sign-in id or cookie hash that is not one",
            ));
        }
        fits(Some(&session.user_id), width::ID)?;
        let t = &session.tenant_id;
        let ttl = session.expires_at.saturating_add(keep::BROWSER);
        let mut items = self.owned_writes(
            t,
            &session.user_id,
            browser_item(session),
            format!("B#{}", session.id),
            ttl,
        );
        if let Tx::Put { item, .. } = &mut items[2] {
            item.insert("token_hash".into(), s(&session.token_hash));
        }
        // The id is unique too: it names the sign-in when it ends.
        items.push(Tx::put_new(
            ItemBuilder::new(k::browser_id(t, &session.id), "BROWSER")
                .s("token_hash", &session.token_hash)
                .ttl(ttl)
                .build(),
        ));
        match self.table.transact(items).await? {
            Ok(()) => Ok(()),
            Err(c) if c.failed(1) => Err(no_such_user()),
            Err(_) => Err(StoreError::Conflict(UniqueField::Other)),
        }
    }

    async fn browser_session(
        &self,
        tenant_id: &str,
        token_hash: &str,
    ) -> StoreResult<Option<BrowserSession>> {
        if !is_possible_key(token_hash, width::HASH) {
            return Ok(None);
        }
        let item = self
            .table
            .get(key(k::browser(tenant_id, token_hash), "BROWSER"))
            .await?;
        item.as_ref().map(browser_from).transpose()
    }

    async fn end_browser_session(
        &self,
        tenant_id: &str,
        id: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        if !is_possible_key(id, width::ID) {
            return Ok(false);
        }
        // Only this tenant's sign-in: naming another's id revokes nothing.
        let Some(pointer) = self
            .table
            .get(key(k::browser_id(tenant_id, id), "BROWSER"))
            .await?
        else {
            return Ok(false);
        };
        let record = key(
            k::browser(tenant_id, &Read(&pointer).text("token_hash")?),
            "BROWSER",
        );
        // Ended if it was active (the answer); marked if it had merely
        // expired; of two concurrent ends, one sees it active.
        let was_active = done(
            self.table
                .update(
                    record.clone(),
                    "SET #revoked_at = :now",
                    Some("attribute_exists(#pk) AND attribute_not_exists(#revoked_at) AND #expires_at > :now"),
                    vec![(":now", n(now))],
                )
                .await?,
        );
        if !was_active {
            self.table
                .update(
                    record,
                    "SET #revoked_at = :now",
                    Some("attribute_exists(#pk) AND attribute_not_exists(#revoked_at)"),
                    vec![(":now", n(now))],
                )
                .await?;
        }
        // Every session that came from it, whatever its state (a session
        // outlives its sign-in); ending it again finishes an interrupted run.
        let sessions = self.linked(&k::browser_id(tenant_id, id), "S#").await?;
        self.revoke_sessions(tenant_id, sessions.into_iter().map(|(sid, _)| sid), now)
            .await?;
        Ok(was_active)
    }
}

fn account_token_from(item: &Item) -> StoreResult<AccountToken> {
    let r = Read(item);
    let purpose = r.text("purpose")?;
    Ok(AccountToken {
        token_hash: r.text("token_hash")?,
        tenant_id: r.text("tenant_id")?,
        user_id: r.text("user_id")?,
        purpose: TokenPurpose::parse(&purpose).ok_or_else(|| {
            StoreError::Backend(format!("corrupt account link: purpose {purpose:?}"))
        })?,
        email: r.opt_text("email")?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        used_at: r.opt_int("used_at")?,
    })
}

#[async_trait]
impl AccountTokenStore for DynamoStore {
    async fn insert_account_token(
        &self,
        token: &AccountToken,
        prune_before: UnixTime,
    ) -> StoreResult<()> {
        if !is_possible_key(&token.token_hash, width::HASH) {
            return Err(StoreError::Unstorable("a token hash that is not one"));
        }
        fits(Some(&token.user_id), width::ID)?;
        fits(token.email.as_deref(), width::EMAIL)?;
        let t = &token.tenant_id;
        let item = ItemBuilder::new(k::account_token(t, &token.token_hash), "TOKEN")
            .s("token_hash", &token.token_hash)
            .s("tenant_id", t)
            .s("user_id", &token.user_id)
            .s("purpose", token.purpose.as_str())
            .opt_s("email", token.email.as_deref())
            .n("created_at", token.created_at)
            .n("expires_at", token.expires_at)
            .opt_n("used_at", token.used_at)
            .ttl(token.expires_at.saturating_add(keep::SINGLE_USE))
            .build();
        let ttl = token.expires_at.saturating_add(keep::SINGLE_USE);
        let items = self.owned_writes(
            t,
            &token.user_id,
            item,
            format!("A#{}", token.token_hash),
            ttl,
        );
        match self.table.transact(items).await? {
            Ok(()) => {}
            Err(c) if c.failed(1) => return Err(no_such_user()),
            Err(_) => return Err(StoreError::Conflict(UniqueField::Other)),
        }
        DynamoStore::raise(&self.token_horizon, prune_before);
        Ok(())
    }

    async fn consume_account_token(
        &self,
        tenant_id: &str,
        purpose: TokenPurpose,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<TokenConsumed> {
        if !is_possible_key(token_hash, width::HASH) {
            return Ok(TokenConsumed::NotFound);
        }
        let horizon = self.token_horizon.load(Ordering::Relaxed);
        // The purpose is part of the condition: a reset link presented as
        // a verification is not found, and not used up.
        let target = key(k::account_token(tenant_id, token_hash), "TOKEN");
        Ok(
            match self
                .use_once(target, now, horizon, Some(("purpose", purpose.as_str())))
                .await?
            {
                Use::Fresh(item) => TokenConsumed::Fresh(account_token_from(&item)?),
                Use::AlreadyUsed(item) => TokenConsumed::AlreadyUsed(account_token_from(&item)?),
                Use::NotFound => TokenConsumed::NotFound,
            },
        )
    }
}
