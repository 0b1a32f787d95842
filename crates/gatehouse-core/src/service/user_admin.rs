//! Managing users: what an operator does (`/admin/t/{tenant}/users`,
//! `gatehouse user …`) and what a signed-in user does for themselves
//! (`{iss}/me`, `{iss}/sessions`).
//!
//! - Lists page by user id with a cursor (stable while users are added)
//!   and search by a prefix of the username or email.
//! - A new user gets a password, or an invitation link to set one.
//! - A changed email is unverified until its link is used (and is mailed
//!   one, unless the tenant turned verification off); an admin may mark it
//!   verified.
//! - Disabling a user ends their sessions and browser sign-ins at once, so
//!   refresh and `/auth?session=check` fail from then on; access tokens
//!   already out stay valid offline until they expire (15 minutes by
//!   default). Deleting a user does the same and frees the username and
//!   email for a new account.

use std::sync::Arc;

use secrecy::SecretString;
use serde::Serialize;

use super::account_links::AccountLinks;
use super::accounts::Accounts;
use super::email_verification::EmailVerifications;
use super::sessions::signed_in;
use super::{Deps, TenantContext};
use crate::account_token::TokenPurpose;
use crate::audit::Event;
use crate::clock::UnixTime;
use crate::id::random_token;
use crate::session::Session;
use crate::store::UserQuery;
use crate::user::{Registration, User, email_display, name_display, username_key};
use crate::{Error, Result};

/// The most users one page holds.
pub const MAX_PAGE: u32 = 200;

/// One page of users and the cursor of the next (`None`: the last page).
#[derive(Debug, Serialize)]
pub struct UserPage {
    pub users: Vec<User>,
    pub next_cursor: Option<String>,
}

/// A session as its user and admins see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SessionView {
    pub id: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub last_refreshed_at: Option<UnixTime>,
    pub expires_at: UnixTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Whether it is the session of the token that asked.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub current: bool,
}

impl SessionView {
    fn of(s: Session, current: Option<&str>) -> Self {
        Self {
            current: current == Some(s.id.as_str()),
            id: s.id,
            client_id: s.client_id,
            scope: s.scope,
            created_at: s.created_at,
            last_refreshed_at: s.last_refreshed_at,
            expires_at: s.expires_at,
            ip: s.origin.ip,
            user_agent: s.origin.user_agent,
        }
    }
}

/// What an admin may change; `None` leaves a field as it is. For the
/// nullable fields, `Some(None)` clears them.
#[derive(Debug, Default)]
pub struct UserPatch {
    pub email: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub email_verified: Option<bool>,
    pub disabled: Option<bool>,
    pub roles: Option<Vec<String>>,
}

/// A user an admin creates: with a password, or invited to set one.
#[derive(Debug)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `None` with `invite`: the user sets it through the mailed link.
    pub password: Option<SecretString>,
    pub invite: bool,
    pub email_verified: bool,
    pub roles: Vec<String>,
}

#[derive(Clone)]
pub struct UserAdmin {
    deps: Arc<Deps>,
    accounts: Accounts,
    links: AccountLinks,
    verifications: EmailVerifications,
}

impl UserAdmin {
    pub(crate) fn new(
        deps: Arc<Deps>,
        accounts: Accounts,
        links: AccountLinks,
        verifications: EmailVerifications,
    ) -> Self {
        Self {
            deps,
            accounts,
            links,
            verifications,
        }
    }

    /// A page of the tenant's users, after `cursor`, optionally those whose
    /// username or email starts with `search` (case-insensitively).
    pub async fn list(
        &self,
        ctx: &TenantContext,
        cursor: Option<String>,
        search: Option<&str>,
        limit: Option<u32>,
    ) -> Result<UserPage> {
        let limit = limit.unwrap_or(50).clamp(1, MAX_PAGE);
        let prefix = match search.map(str::trim).filter(|s| !s.is_empty()) {
            // The same folding as the stored keys (lowercase, NFC); a text
            // that cannot start any key matches nothing.
            Some(text) => match username_key(text).or_else(|| crate::user::email_key(text)) {
                Some(key) => Some(key),
                None => {
                    return Ok(UserPage {
                        users: Vec::new(),
                        next_cursor: None,
                    });
                }
            },
            None => None,
        };
        let query = UserQuery {
            after: cursor.filter(|c| !c.is_empty() && c.len() <= 255),
            prefix,
            // One more than asked says whether there is a next page.
            limit: limit + 1,
        };
        let mut users = self
            .deps
            .store
            .list_users_page(&ctx.tenant().id, &query)
            .await?;
        let next_cursor = if users.len() > limit as usize {
            users.truncate(limit as usize);
            users.last().map(|u| u.id.clone())
        } else {
            None
        };
        Ok(UserPage { users, next_cursor })
    }

    pub async fn get(&self, ctx: &TenantContext, user: &str) -> Result<User> {
        self.accounts.find(ctx.tenant(), user).await
    }

    /// Creates a user with a password, or (`invite`) with none that works
    /// and a mailed link to set one.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn create(&self, ctx: &TenantContext, new: NewUser) -> Result<User> {
        let password = match (new.password, new.invite) {
            (Some(p), false) => p,
            (None, true) => {
                if new.email.as_deref().is_none_or(str::is_empty) {
                    return Err(Error::invalid(
                        "email",
                        "an invitation is mailed: the user needs an email address",
                    ));
                }
                // A password nobody knows; the invitation sets the real one.
                SecretString::from(random_token::<32>()?)
            }
            (Some(_), true) => {
                return Err(Error::invalid(
                    "invite",
                    "give a password or invite the user to set one, not both",
                ));
            }
            (None, false) => {
                return Err(Error::invalid(
                    "password",
                    "give a password, or `invite: true` to mail a link to set one",
                ));
            }
        };
        let mut user = self
            .accounts
            .register(
                ctx.tenant(),
                Registration {
                    username: new.username,
                    password,
                    email: new.email,
                    first_name: new.first_name,
                    last_name: new.last_name,
                },
            )
            .await?;
        if new.email_verified || !new.roles.is_empty() {
            user.email_verified = new.email_verified && user.email.is_some();
            if !new.roles.is_empty() {
                user = self
                    .accounts
                    .set_roles(ctx.tenant(), &user.id, &new.roles)
                    .await
                    .map(|u| User {
                        email_verified: user.email_verified,
                        ..u
                    })?;
            }
            self.deps.store.update_user(&user).await?;
        }
        if new.invite {
            self.links.send(ctx, &user, TokenPurpose::Invite).await?;
        } else {
            self.verifications.send_link(ctx, &user).await?;
        }
        Ok(user)
    }

    /// Applies an admin's changes.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn patch(&self, ctx: &TenantContext, user: &str, patch: UserPatch) -> Result<User> {
        let mut user = self.accounts.find(ctx.tenant(), user).await?;
        if let Some(roles) = &patch.roles {
            user = self
                .accounts
                .set_roles(ctx.tenant(), &user.id, roles)
                .await?;
        }
        let was_disabled = user.disabled;
        let email_changed =
            apply_profile(&mut user, patch.email, patch.first_name, patch.last_name)?;
        if let Some(verified) = patch.email_verified {
            user.email_verified = verified && user.email.is_some();
        }
        if let Some(disabled) = patch.disabled {
            user.disabled = disabled;
        }
        self.save(ctx, &user).await?;
        if user.disabled && !was_disabled {
            self.end_sessions(ctx, &user.id).await?;
            tracing::info!(user_id = %user.id, "user disabled; sessions ended");
        }
        let kind = match (was_disabled, user.disabled) {
            (false, true) => "user.disabled",
            (true, false) => "user.enabled",
            _ => "user.updated",
        };
        self.deps.audit.record(
            ctx.tenant(),
            Event::success(kind).actor("admin").subject(user.id.clone()),
        );
        if email_changed && patch.email_verified.is_none() {
            self.verifications.send_link(ctx, &user).await?;
        }
        Ok(user)
    }

    /// Disables or enables a user (the CLI's `disable`/`enable`).
    pub async fn set_disabled(
        &self,
        ctx: &TenantContext,
        user: &str,
        disabled: bool,
    ) -> Result<User> {
        self.patch(
            ctx,
            user,
            UserPatch {
                disabled: Some(disabled),
                ..UserPatch::default()
            },
        )
        .await
    }

    /// Lifts a soft-lock and forgets the failures that led to it.
    pub async fn unlock(&self, ctx: &TenantContext, user: &str) -> Result<User> {
        let mut user = self.accounts.find(ctx.tenant(), user).await?;
        self.deps
            .store
            .clear_login_failures(&ctx.tenant().id, &user.id)
            .await?;
        self.deps.audit.record(
            ctx.tenant(),
            Event::success("user.unlocked")
                .actor("admin")
                .subject(user.id.clone()),
        );
        user.failed_logins = 0;
        user.lock_count = 0;
        user.locked_until = None;
        Ok(user)
    }

    pub async fn delete(&self, ctx: &TenantContext, user: &str) -> Result<()> {
        let user = self.accounts.find(ctx.tenant(), user).await?;
        self.accounts.delete(ctx.tenant(), &user.id).await
    }

    /// The user's active sessions, newest first.
    pub async fn sessions(&self, ctx: &TenantContext, user: &str) -> Result<Vec<SessionView>> {
        let user = self.accounts.find(ctx.tenant(), user).await?;
        self.sessions_of(ctx, &user.id, None).await
    }

    /// Ends one session of the user (`Some`) or all of them; how many.
    pub async fn revoke_sessions(
        &self,
        ctx: &TenantContext,
        user: &str,
        session_id: Option<&str>,
    ) -> Result<u64> {
        let user = self.accounts.find(ctx.tenant(), user).await?;
        match session_id {
            Some(id) => self.end_one(ctx, &user.id, id).await.map(|()| 1),
            None => self.end_sessions(ctx, &user.id).await,
        }
        .inspect(|_| {
            self.deps.audit.record(
                ctx.tenant(),
                Event::success("user.sessions_revoked")
                    .actor("admin")
                    .subject(user.id.clone()),
            )
        })
    }

    // ---- the signed-in user's own (`{iss}/me`, `{iss}/sessions`) -------

    pub async fn me(&self, ctx: &TenantContext, bearer: &str) -> Result<User> {
        Ok(signed_in(&self.deps, ctx, bearer).await?.2)
    }

    /// Names and email; a new email is unverified and is mailed a link.
    pub async fn update_me(
        &self,
        ctx: &TenantContext,
        bearer: &str,
        email: Option<Option<String>>,
        first_name: Option<Option<String>>,
        last_name: Option<Option<String>>,
    ) -> Result<User> {
        let (_, _, mut user) = signed_in(&self.deps, ctx, bearer).await?;
        let email_changed = apply_profile(&mut user, email, first_name, last_name)?;
        self.save(ctx, &user).await?;
        if email_changed {
            self.verifications.send_link(ctx, &user).await?;
        }
        Ok(user)
    }

    pub async fn my_sessions(&self, ctx: &TenantContext, bearer: &str) -> Result<Vec<SessionView>> {
        let (_, session, user) = signed_in(&self.deps, ctx, bearer).await?;
        self.sessions_of(ctx, &user.id, Some(&session.id)).await
    }

    /// Ends one of the caller's sessions (their own current one too).
    pub async fn end_my_session(
        &self,
        ctx: &TenantContext,
        bearer: &str,
        session_id: &str,
    ) -> Result<()> {
        let (_, _, user) = signed_in(&self.deps, ctx, bearer).await?;
        self.end_one(ctx, &user.id, session_id).await
    }

    // ---- shared -------------------------------------------------------

    async fn sessions_of(
        &self,
        ctx: &TenantContext,
        user_id: &str,
        current: Option<&str>,
    ) -> Result<Vec<SessionView>> {
        let sessions = self
            .deps
            .store
            .list_user_sessions(&ctx.tenant().id, user_id, self.deps.now())
            .await?;
        Ok(sessions
            .into_iter()
            .map(|s| SessionView::of(s, current))
            .collect())
    }

    async fn end_one(&self, ctx: &TenantContext, user_id: &str, session_id: &str) -> Result<()> {
        let store = &self.deps.store;
        let tenant_id = &ctx.tenant().id;
        // Only a session of this user: another user's id is "not found".
        match store.session(tenant_id, session_id).await? {
            Some(s) if s.user_id == user_id => {
                store
                    .revoke_session(tenant_id, session_id, self.deps.now())
                    .await?;
                Ok(())
            }
            _ => Err(Error::NotFound("the session")),
        }
    }

    async fn end_sessions(&self, ctx: &TenantContext, user_id: &str) -> Result<u64> {
        Ok(self
            .deps
            .store
            .revoke_user_sessions(&ctx.tenant().id, user_id, None, self.deps.now())
            .await?)
    }

    async fn save(&self, ctx: &TenantContext, user: &User) -> Result<()> {
        if !self.deps.store.update_user(user).await? {
            return Err(Error::NotFound("the user"));
        }
        self.accounts.forget_caches(ctx.tenant(), &user.id);
        Ok(())
    }
}

/// Applies profile changes with the registration rules; whether the email
/// changed (then it is unverified).
fn apply_profile(
    user: &mut User,
    email: Option<Option<String>>,
    first_name: Option<Option<String>>,
    last_name: Option<Option<String>>,
) -> Result<bool> {
    let clean = |v: Option<String>| v.filter(|s| !s.is_empty());
    let mut email_changed = false;
    if let Some(email) = email {
        let email = clean(email).map(|e| email_display(&e)).transpose()?;
        let old_key = user.email.as_deref().and_then(crate::user::email_key);
        let new_key = email.as_deref().and_then(crate::user::email_key);
        if old_key != new_key {
            email_changed = email.is_some();
            user.email_verified = false;
        }
        user.email = email;
    }
    if let Some(first) = first_name {
        user.first_name = clean(first)
            .map(|v| name_display("first_name", &v))
            .transpose()?;
    }
    if let Some(last) = last_name {
        user.last_name = clean(last)
            .map(|v| name_display("last_name", &v))
            .transpose()?;
    }
    Ok(email_changed)
}
