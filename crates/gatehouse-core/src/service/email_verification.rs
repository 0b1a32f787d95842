//! Email verification: a single-use link mailed on register and on every
//! change of address (unless the tenant turned it off), used at
//! `{iss}/verify-email`; a resend that answers the same whether or not the
//! address has an account. With the tenant's `email_verification =
//! required`, a login waits for it (see `password_login`).

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::account_links::AccountLinks;
use super::ttl_map::TtlMap;
use super::{Deps, TenantContext};
use crate::account_token::TokenPurpose;
use crate::audit::Event;
use crate::tenant::EmailVerification;
use crate::user::{LoginName, User, email_key};
use crate::{Error, Result};

#[derive(Clone)]
pub struct EmailVerifications {
    deps: Arc<Deps>,
    links: AccountLinks,
    /// (tenant id, address key) of recent resends: one per cooldown.
    recent: Arc<TtlMap<(String, String), ()>>,
}

/// What a used verification link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub user_id: String,
    pub email: String,
}

impl EmailVerifications {
    pub(crate) fn new(deps: Arc<Deps>, links: AccountLinks) -> Self {
        let cooldown = Duration::from_secs(deps.settings.account_links.resend_cooldown_secs);
        Self {
            recent: Arc::new(TtlMap::new(cooldown, 10_000)),
            deps,
            links,
        }
    }

    /// Mails a verification link to the user's (new) address, if they have
    /// one, it is unverified, and the tenant verifies addresses.
    pub async fn send_link(&self, ctx: &TenantContext, user: &User) -> Result<()> {
        if user.email.is_none()
            || user.email_verified
            || ctx.tenant().settings.email_verification == EmailVerification::Off
        {
            return Ok(());
        }
        self.links.send(ctx, user, TokenPurpose::VerifyEmail).await
    }

    /// `POST {iss}/verify-email/resend {email}`: the same answer and the
    /// same request-side work whether or not the address has an account;
    /// the lookup and the mail run in the background, one per address per
    /// cooldown.
    pub fn resend(&self, ctx: Arc<TenantContext>, email: &str) {
        let Some(key) = email_key(email) else {
            let _ = self.links.decoy(&ctx, TokenPurpose::VerifyEmail);
            return;
        };
        let slot = (ctx.tenant().id.clone(), key);
        let recently = self.recent.with_fresh(&slot, |_| ()).is_some();
        self.recent.insert(slot, ());
        let this = self.clone();
        let email = email.to_string();
        self.links.spawn("verification resend", async move {
            let user = this
                .deps
                .store
                .user_by_login(&ctx.tenant().id, &LoginName::Email(email))
                .await?;
            match user {
                // With verification off `send_link` mails nothing: a decoy
                // then, so an existing address costs what a missing one does.
                Some(user)
                    if !recently
                        && !user.email_verified
                        && !user.disabled
                        && ctx.tenant().settings.email_verification != EmailVerification::Off =>
                {
                    this.send_link(&ctx, &user).await
                }
                _ => this.links.decoy(&ctx, TokenPurpose::VerifyEmail),
            }
        });
    }

    /// `{iss}/verify-email?token=…`: uses the link up and marks the address
    /// verified, if it still is the user's address.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn verify(&self, ctx: &TenantContext, token: &SecretString) -> Result<Verified> {
        let link = self
            .links
            .consume(ctx, &[TokenPurpose::VerifyEmail], token)
            .await?;
        let store = &self.deps.store;
        let mut user = store
            .user_by_id(&ctx.tenant().id, &link.user_id)
            .await?
            .ok_or(Error::AccountLink("this link's account no longer exists"))?;
        let (Some(current), Some(linked)) = (&user.email, &link.email) else {
            return Err(Error::AccountLink(
                "this link is for an address the account no longer has",
            ));
        };
        if email_key(current) != email_key(linked) {
            return Err(Error::AccountLink(
                "this link is for an address the account no longer has",
            ));
        }
        if !user.email_verified {
            user.email_verified = true;
            store.update_user(&user).await?;
            tracing::info!(user_id = %user.id, "email verified");
            self.deps.audit.record(
                ctx.tenant(),
                Event::success("email.verified")
                    .actor(user.id.clone())
                    .subject(user.id.clone()),
            );
        }
        Ok(Verified {
            user_id: user.id,
            email: current.clone(),
        })
    }
}
