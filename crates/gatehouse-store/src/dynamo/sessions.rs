//! Sessions and refresh tokens. A session is its own partition (the
//! `/auth?session=check` read is one `GetItem`), linked from its user,
//! its registered client and its browser sign-in, so each of those can
//! end it. A refresh token is its own partition too, and belongs to its
//! session: a token whose session is gone reads as not found.

use async_trait::async_trait;
use futures::future::join_all;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::refresh::{Consumed, RefreshRecord};
use gatehouse_core::service::issue::FIRST_PARTY_CLIENT;
use gatehouse_core::session::{Origin, Session};
use gatehouse_core::store::{SessionStore, StoreError, StoreResult, UniqueField};
use gatehouse_core::user::is_possible_user_id;

use super::item::{Item, ItemBuilder, Read, key, n};
use super::table::{Outcome, Tx};
use super::tenants::no_such_user;
use super::{DynamoStore, done, k, keep};
use crate::sql::{fits, is_possible_key, width};

fn session_item(s: &Session) -> Item {
    ItemBuilder::new(k::session(&s.tenant_id, &s.id), "SESSION")
        .s("id", &s.id)
        .s("tenant_id", &s.tenant_id)
        .s("user_id", &s.user_id)
        .s("client_id", &s.client_id)
        .s("scope", &s.scope)
        .opt_s("browser_session_id", s.browser_session_id.as_deref())
        .opt_s("client_ip", s.origin.ip.as_deref())
        .opt_s("user_agent", s.origin.user_agent.as_deref())
        .n("created_at", s.created_at)
        .opt_n("last_refreshed_at", s.last_refreshed_at)
        .n("expires_at", s.expires_at)
        .opt_n("revoked_at", s.revoked_at)
        .ttl(s.expires_at.saturating_add(keep::SESSION))
        .build()
}

fn session_from(item: &Item) -> StoreResult<Session> {
    let r = Read(item);
    Ok(Session {
        id: r.text("id")?,
        tenant_id: r.text("tenant_id")?,
        user_id: r.text("user_id")?,
        client_id: r.text("client_id")?,
        scope: r.text("scope")?,
        browser_session_id: r.opt_text("browser_session_id")?,
        origin: Origin {
            ip: r.opt_text("client_ip")?,
            user_agent: r.opt_text("user_agent")?,
        },
        created_at: r.int("created_at")?,
        last_refreshed_at: r.opt_int("last_refreshed_at")?,
        expires_at: r.int("expires_at")?,
        revoked_at: r.opt_int("revoked_at")?,
    })
}

fn refresh_item(r: &RefreshRecord) -> Item {
    ItemBuilder::new(k::refresh(&r.tenant_id, &r.token_hash), "REFRESH")
        .s("token_hash", &r.token_hash)
        .s("tenant_id", &r.tenant_id)
        .s("session_id", &r.session_id)
        .n("created_at", r.created_at)
        .n("expires_at", r.expires_at)
        .opt_n("used_at", r.used_at)
        .ttl(r.expires_at.saturating_add(keep::REFRESH))
        .build()
}

fn refresh_from(item: &Item) -> StoreResult<RefreshRecord> {
    let r = Read(item);
    Ok(RefreshRecord {
        token_hash: r.text("token_hash")?,
        tenant_id: r.text("tenant_id")?,
        session_id: r.text("session_id")?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        used_at: r.opt_int("used_at")?,
    })
}

/// Whether an item's TTL had passed at `now`: DynamoDB may not have
/// deleted it yet, but it is gone all the same.
pub(super) fn expired_at(item: &Item, now: UnixTime) -> bool {
    Read(item)
        .opt_int(super::item::TTL)
        .ok()
        .flatten()
        .is_some_and(|ttl| ttl <= now)
}

fn possible_session_id(id: &str) -> bool {
    is_possible_key(id, width::ID)
}

impl DynamoStore {
    /// Sets `revoked_at` on each session not yet revoked; how many were.
    pub(super) async fn revoke_sessions(
        &self,
        tenant_id: &str,
        session_ids: impl IntoIterator<Item = String>,
        now: UnixTime,
    ) -> StoreResult<u64> {
        let revocations = session_ids
            .into_iter()
            .map(|id| self.revoke(tenant_id, id, now));
        let mut revoked = 0;
        for result in join_all(revocations).await {
            if result? {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn revoke(
        &self,
        tenant_id: &str,
        session_id: String,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let outcome = self
            .table
            .update(
                key(k::session(tenant_id, &session_id), "SESSION"),
                "SET #revoked_at = :now",
                Some("attribute_exists(#pk) AND attribute_not_exists(#revoked_at)"),
                vec![(":now", n(now))],
            )
            .await?;
        Ok(done(outcome))
    }

    async fn session_exists(&self, tenant_id: &str, session_id: &str) -> StoreResult<bool> {
        Ok(self
            .table
            .get(key(k::session(tenant_id, session_id), "SESSION"))
            .await?
            .is_some())
    }

    /// The ids of the links under `pk` whose sort key starts with `prefix`.
    pub(super) async fn linked(&self, pk: &str, prefix: &str) -> StoreResult<Vec<(String, Item)>> {
        let items = self.table.query(pk, prefix).await?;
        items
            .into_iter()
            .map(|i| {
                let sk = Read(&i).sk()?;
                Ok((sk[prefix.len()..].to_string(), i))
            })
            .collect()
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn create_session(&self, s: &Session, first: Option<&RefreshRecord>) -> StoreResult<()> {
        if !possible_session_id(&s.id) {
            return Err(StoreError::Unstorable("a session id that is not one"));
        }
        fits(Some(&s.client_id), width::CLIENT_ID)?;
        fits(s.browser_session_id.as_deref(), width::ID)?;
        fits(s.origin.ip.as_deref(), width::IP)?;
        fits(s.origin.user_agent.as_deref(), width::USER_AGENT)?;
        let t = &s.tenant_id;
        let ttl = s.expires_at.saturating_add(keep::SESSION);
        // One transaction: the session, its links, its first token, and
        // the check that its user still exists (SQL's foreign key).
        let mut items = vec![
            Tx::put_new(session_item(s)),
            self.user_exists(t, &s.user_id),
        ];
        let registered_client = s.client_id != FIRST_PARTY_CLIENT;
        items.push(Tx::put(
            ItemBuilder::new(k::owned_by(t, &s.user_id), format!("S#{}", s.id))
                .opt_s(
                    "client_id",
                    registered_client.then_some(s.client_id.as_str()),
                )
                .opt_s("browser_session_id", s.browser_session_id.as_deref())
                .ttl(ttl)
                .build(),
        ));
        // The first-party client has no row to delete, so it needs no
        // links (it would make one hot partition of every login).
        if registered_client {
            items.push(Tx::put(
                ItemBuilder::new(k::client_links(t, &s.client_id), format!("S#{}", s.id))
                    .ttl(ttl)
                    .build(),
            ));
        }
        if let Some(browser) = &s.browser_session_id {
            items.push(Tx::put(
                ItemBuilder::new(k::browser_id(t, browser), format!("S#{}", s.id))
                    .ttl(ttl)
                    .build(),
            ));
        }
        if let Some(first) = first {
            items.push(Tx::put_new(refresh_item(first)));
        }
        match self.table.transact(items).await? {
            Ok(()) => Ok(()),
            Err(c) if c.failed(1) => Err(no_such_user()),
            // The session id or the token hash is taken.
            Err(_) => Err(StoreError::Conflict(UniqueField::Other)),
        }
    }

    async fn session(&self, tenant_id: &str, session_id: &str) -> StoreResult<Option<Session>> {
        if !possible_session_id(session_id) {
            return Ok(None);
        }
        let item = self
            .table
            .get(key(k::session(tenant_id, session_id), "SESSION"))
            .await?;
        item.as_ref().map(session_from).transpose()
    }

    async fn revoke_session(
        &self,
        tenant_id: &str,
        session_id: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        if !possible_session_id(session_id) {
            return Ok(false);
        }
        self.revoke(tenant_id, session_id.to_string(), now).await
    }

    async fn consume_refresh_token(
        &self,
        tenant_id: &str,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Consumed> {
        if !is_possible_key(token_hash, width::HASH) {
            return Ok(Consumed::NotFound);
        }
        // One conditional update is the whole race: of any number of
        // concurrent callers exactly one sets `used_at`; every other is
        // handed the item as it was, with the first use's session.
        let outcome = self
            .table
            .update(
                key(k::refresh(tenant_id, token_hash), "REFRESH"),
                "SET #used_at = :now",
                Some("attribute_exists(#pk) AND attribute_not_exists(#used_at) AND #ttl > :now"),
                vec![(":now", n(now))],
            )
            .await?;
        let (record, fresh) = match outcome {
            Outcome::Done(item) => (refresh_from(&item)?, true),
            Outcome::Refused(Some(item)) if !expired_at(&item, now) => {
                (refresh_from(&item)?, false)
            }
            Outcome::Refused(_) => return Ok(Consumed::NotFound),
        };
        // A token lives as long as its session (SQL deletes it with it).
        if !self.session_exists(tenant_id, &record.session_id).await? {
            return Ok(Consumed::NotFound);
        }
        Ok(if fresh {
            Consumed::Fresh(record)
        } else {
            Consumed::AlreadyUsed(record)
        })
    }

    async fn insert_refresh_token(&self, record: &RefreshRecord) -> StoreResult<()> {
        if !is_possible_key(&record.token_hash, width::HASH) {
            return Err(StoreError::Unstorable("a token hash that is not one"));
        }
        let outcome = self
            .table
            .put(
                refresh_item(record),
                Some("attribute_not_exists(#pk)"),
                Vec::new(),
            )
            .await?;
        if !done(outcome) {
            return Err(StoreError::Conflict(UniqueField::Other));
        }
        Ok(())
    }

    async fn refresh_token(
        &self,
        tenant_id: &str,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshRecord>> {
        if !is_possible_key(token_hash, width::HASH) {
            return Ok(None);
        }
        let Some(item) = self
            .table
            .get(key(k::refresh(tenant_id, token_hash), "REFRESH"))
            .await?
        else {
            return Ok(None);
        };
        let record = refresh_from(&item)?;
        if !self.session_exists(tenant_id, &record.session_id).await? {
            return Ok(None);
        }
        Ok(Some(record))
    }

    async fn touch_session(
        &self,
        tenant_id: &str,
        session_id: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        if !possible_session_id(session_id) {
            return Ok(());
        }
        self.table
            .update(
                key(k::session(tenant_id, session_id), "SESSION"),
                "SET #last_refreshed_at = :now",
                Some("attribute_exists(#pk)"),
                vec![(":now", n(now))],
            )
            .await
            .map(drop)
    }

    async fn list_user_sessions(
        &self,
        tenant_id: &str,
        user_id: &str,
        now: UnixTime,
    ) -> StoreResult<Vec<Session>> {
        if !is_possible_user_id(user_id) || user_id.is_empty() {
            return Ok(Vec::new());
        }
        let links = self.linked(&k::owned_by(tenant_id, user_id), "S#").await?;
        let keys = links
            .iter()
            .map(|(id, _)| key(k::session(tenant_id, id), "SESSION"))
            .collect();
        let mut sessions = self
            .table
            .batch_get(keys)
            .await?
            .iter()
            .map(session_from)
            .collect::<StoreResult<Vec<_>>>()?;
        sessions.retain(|s| s.revoked_at.is_none() && s.expires_at > now);
        sessions.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(sessions)
    }

    async fn revoke_user_sessions(
        &self,
        tenant_id: &str,
        user_id: &str,
        keep_session: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<u64> {
        if !is_possible_user_id(user_id) || user_id.is_empty() {
            return Ok(0);
        }
        let owner = k::owned_by(tenant_id, user_id);
        // The browser sign-ins first: one left standing could open a new
        // session through the hosted page while the others are revoked.
        let sign_ins = self.linked(&owner, "B#").await?;
        let endings = sign_ins.iter().filter_map(|(_, link)| {
            let hash = Read(link).opt_text("token_hash").ok().flatten()?;
            Some(self.table.update(
                key(k::browser(tenant_id, &hash), "BROWSER"),
                "SET #revoked_at = :now",
                Some("attribute_exists(#pk) AND attribute_not_exists(#revoked_at)"),
                vec![(":now", n(now))],
            ))
        });
        for ended in join_all(endings).await {
            ended?;
        }
        let sessions = self.linked(&owner, "S#").await?;
        let ids = sessions
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| Some(id.as_str()) != keep_session);
        self.revoke_sessions(tenant_id, ids, now).await
    }
}
