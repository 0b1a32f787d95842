//! A forgotten password, reset through a mailed link; a password changed
//! by its owner. Every new password goes through the same rules and the
//! same hashing pool as a registration.
//!
//! - `forgot` answers the same, at once, whether or not the account
//!   exists: the lookup, the link and the mail (or a decoy) happen in the
//!   background.
//! - A reset uses its link up first (one winner among concurrent uses),
//!   sets the password, verifies the address the link was mailed to, ends
//!   every session and browser sign-in of the user, and mails a notice.
//! - A change needs the current password and ends the user's other
//!   sessions (ASVS V3.3), keeping the one it was made from.

use std::sync::Arc;

use secrecy::SecretString;

use super::account_links::AccountLinks;
use super::api_keys::ApiKeys;
use super::basic_auth::BasicAuth;
use super::password_login::PasswordLogin;
use super::sessions::signed_in;
use super::{Deps, TenantContext};
use crate::account_token::{AccountToken, TokenPurpose};
use crate::audit::Event;
use crate::mail::MailKind;
use crate::password_policy::check_new_password;
use crate::user::{LoginName, User, email_key};
use crate::{Error, Result};

#[derive(Clone)]
pub struct Passwords {
    deps: Arc<Deps>,
    links: AccountLinks,
    password_login: PasswordLogin,
    api_keys: ApiKeys,
    basic_auth: BasicAuth,
}

impl Passwords {
    pub(crate) fn new(
        deps: Arc<Deps>,
        links: AccountLinks,
        password_login: PasswordLogin,
        api_keys: ApiKeys,
        basic_auth: BasicAuth,
    ) -> Self {
        Self {
            deps,
            links,
            password_login,
            api_keys,
            basic_auth,
        }
    }

    /// `POST {iss}/password/forgot`: by username, else by email. Nothing
    /// here depends on whether the account exists; the work that does
    /// runs in the background.
    pub fn forgot(&self, ctx: Arc<TenantContext>, username_or_email: &str) {
        let this = self.clone();
        let name = username_or_email.trim().to_string();
        self.links.spawn("password reset request", async move {
            let store = &this.deps.store;
            let tenant_id = ctx.tenant().id.clone();
            let mut user = match LoginName::Username(name.clone()).lookup_key() {
                Some(_) => {
                    store
                        .user_by_login(&tenant_id, &LoginName::Username(name.clone()))
                        .await?
                }
                None => None,
            };
            if user.is_none() && name.contains('@') {
                user = store
                    .user_by_login(&tenant_id, &LoginName::Email(name))
                    .await?;
            }
            match user {
                Some(user) if !user.disabled && user.email.is_some() => {
                    this.links
                        .send(&ctx, &user, TokenPurpose::ResetPassword)
                        .await
                }
                _ => this.links.decoy(&ctx, TokenPurpose::ResetPassword),
            }
        });
    }

    /// `POST {iss}/password/reset {token, new_password}` (also an
    /// invitation's first password).
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn reset(
        &self,
        ctx: &TenantContext,
        token: &SecretString,
        new_password: SecretString,
    ) -> Result<User> {
        // The rules that need no account first, so a weak password does
        // not use the link up; the username and email rules after.
        check_new_password(
            &new_password,
            "",
            None,
            ctx.tenant().settings.min_password_chars(),
        )?;
        let link = self
            .links
            .consume(
                ctx,
                &[TokenPurpose::ResetPassword, TokenPurpose::Invite],
                token,
            )
            .await?;
        let store = &self.deps.store;
        let tenant = ctx.tenant();
        let mut user = store
            .user_by_id(&tenant.id, &link.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(Error::AccountLink(
                "this link's account can no longer be used",
            ))?;
        check_new_password(
            &new_password,
            &user.username,
            user.email.as_deref(),
            tenant.settings.min_password_chars(),
        )?;
        self.set_password(ctx, &mut user, new_password).await?;
        // Read again before writing the profile: the hash took a while, and
        // writing the copy read before it would undo what an admin changed
        // meanwhile (a user disabled during their reset would be enabled).
        let mut user = store
            .user_by_id(&tenant.id, &user.id)
            .await?
            .ok_or(Error::AccountLink(
                "this link's account can no longer be used",
            ))?;
        // The link reached the mailbox it was sent to: that verifies the
        // address, if it still is the user's.
        if !user.email_verified && mailed_to_current_address(&link, &user) {
            user.email_verified = true;
            store.update_user(&user).await?;
        }
        let ended = store
            .revoke_user_sessions(&tenant.id, &user.id, None, self.deps.now())
            .await?;
        tracing::info!(user_id = %user.id, sessions_ended = ended, "password reset");
        self.deps.audit.record(
            tenant,
            Event::success("password.reset")
                .actor(user.id.clone())
                .subject(user.id.clone()),
        );
        // A reset proves the mailbox: the soft-lock ends with it.
        store.clear_login_failures(&tenant.id, &user.id).await?;
        self.links.notify(ctx, &user, MailKind::PasswordChanged);
        Ok(user)
    }

    /// `POST {iss}/password {current_password, new_password}` with the
    /// user's bearer token.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn change(
        &self,
        ctx: &TenantContext,
        bearer: &str,
        current: SecretString,
        new_password: SecretString,
    ) -> Result<()> {
        let (_, session, user) = signed_in(&self.deps, ctx, bearer).await?;
        check_new_password(
            &new_password,
            &user.username,
            user.email.as_deref(),
            ctx.tenant().settings.min_password_chars(),
        )?;
        let mut user = self
            .password_login
            .confirm_current(ctx.tenant(), user, current)
            .await
            .map_err(|e| match e {
                Error::InvalidCredentials => {
                    Error::invalid("current_password", "the current password is not correct")
                }
                other => other,
            })?;
        self.set_password(ctx, &mut user, new_password).await?;
        let ended = self
            .deps
            .store
            .revoke_user_sessions(
                &ctx.tenant().id,
                &user.id,
                Some(&session.id),
                self.deps.now(),
            )
            .await?;
        tracing::info!(user_id = %user.id, other_sessions_ended = ended, "password changed");
        self.deps.audit.record(
            ctx.tenant(),
            Event::success("password.changed")
                .actor(user.id.clone())
                .subject(user.id.clone()),
        );
        self.links.notify(ctx, &user, MailKind::PasswordChanged);
        Ok(())
    }

    /// Hashes on the pool and stores it if the hash is still the one read.
    async fn set_password(
        &self,
        ctx: &TenantContext,
        user: &mut User,
        password: SecretString,
    ) -> Result<()> {
        let hasher = self.deps.hasher.clone();
        let new = self.deps.pool.run(move || hasher.hash(&password)).await??;
        if !self
            .deps
            .store
            .update_password_hash(&ctx.tenant().id, &user.id, &user.password_hash, &new)
            .await?
        {
            return Err(Error::Contended(
                "the password was changed at the same moment by another request; try again",
            ));
        }
        user.password_hash = new;
        // Cached Basic successes were for the old password.
        self.basic_auth.forget_user(&ctx.tenant().id, &user.id);
        self.api_keys.forget_user(&ctx.tenant().id, &user.id);
        Ok(())
    }
}

/// Whether `link` was mailed to the address `user` has now.
fn mailed_to_current_address(link: &AccountToken, user: &User) -> bool {
    match (link.email.as_deref(), user.email.as_deref()) {
        (Some(sent_to), Some(current)) => email_key(sent_to) == email_key(current),
        _ => false,
    }
}
