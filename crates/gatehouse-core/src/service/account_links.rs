//! What every single-use account link has in common: minting it, storing
//! its hash, building its URL and mailing it; and the decoy that the
//! flows send instead when there is no account, so that a request for a
//! missing account does the same work as for a real one.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use super::{Deps, TenantContext};
use crate::account_token::{AccountToken, TokenConsumed, TokenPurpose};
use crate::clock::UnixTime;
use crate::id::random_token;
use crate::mail::{Mail, MailKind};
use crate::refresh;
use crate::user::User;
use crate::{Error, Result};

/// How long each kind of link lives, and how the link flows are bounded.
#[derive(Debug, Clone, Copy)]
pub struct AccountLinkSettings {
    pub verify_email_ttl_secs: i64,
    pub reset_password_ttl_secs: i64,
    pub invite_ttl_secs: i64,
    /// One verification resend per address per this many seconds; more
    /// are answered the same and dropped.
    pub resend_cooldown_secs: u64,
    /// Forgot-password and resend requests whose lookups and mails run at
    /// once in the background; beyond, they are answered the same and
    /// dropped (with a warning), so a flood costs bounded work.
    pub max_background_jobs: usize,
}

impl Default for AccountLinkSettings {
    fn default() -> Self {
        Self {
            verify_email_ttl_secs: 24 * 3600,
            reset_password_ttl_secs: 30 * 60,
            invite_ttl_secs: 7 * 24 * 3600,
            resend_cooldown_secs: 60,
            max_background_jobs: 64,
        }
    }
}

#[derive(Clone)]
pub(crate) struct AccountLinks {
    deps: Arc<Deps>,
    jobs: Arc<Semaphore>,
}

impl AccountLinks {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        let jobs = Arc::new(Semaphore::new(
            deps.settings.account_links.max_background_jobs.max(1),
        ));
        Self { deps, jobs }
    }

    fn ttl(&self, purpose: TokenPurpose) -> i64 {
        let s = &self.deps.settings.account_links;
        match purpose {
            TokenPurpose::VerifyEmail => s.verify_email_ttl_secs,
            TokenPurpose::ResetPassword => s.reset_password_ttl_secs,
            TokenPurpose::Invite => s.invite_ttl_secs,
        }
    }

    /// Mints a link for `user`, stores its hash, and mails it to the
    /// user's address (a verification link to `email`, the address it
    /// confirms).
    pub(crate) async fn send(
        &self,
        ctx: &TenantContext,
        user: &User,
        purpose: TokenPurpose,
    ) -> Result<()> {
        let Some(email) = user.email.clone() else {
            // No address, no mail; the caller decides whether that matters.
            return Ok(());
        };
        let now = self.deps.now();
        let token = SecretString::from(random_token::<32>()?);
        let record = AccountToken {
            token_hash: refresh::hash(&token),
            tenant_id: ctx.tenant().id.clone(),
            user_id: user.id.clone(),
            purpose,
            // Every kind keeps it: a reset or invitation link verifies the
            // address only if it is still the one the link went to.
            email: Some(email.clone()),
            created_at: now,
            expires_at: now + self.ttl(purpose),
            used_at: None,
        };
        // Links expired for a day are pruned as new ones are stored; until
        // then a late click is told "expired", not "not valid".
        self.deps
            .store
            .insert_account_token(&record, now - 24 * 3600)
            .await?;
        self.deps.mailer.send(Mail {
            kind: mail_kind(purpose),
            to: Some(email),
            from: ctx.tenant().settings.mail_from.clone(),
            tenant_name: ctx.tenant().shown_name().to_string(),
            username: user.username.clone(),
            link: Some(link(ctx, purpose, &token)),
        });
        Ok(())
    }

    /// A mail of no link, to the user (a password-changed notice).
    pub(crate) fn notify(&self, ctx: &TenantContext, user: &User, kind: MailKind) {
        if user.email.is_none() {
            return;
        }
        self.deps.mailer.send(Mail {
            kind,
            to: user.email.clone(),
            from: ctx.tenant().settings.mail_from.clone(),
            tenant_name: ctx.tenant().shown_name().to_string(),
            username: user.username.clone(),
            link: None,
        });
    }

    /// What a request for a missing account sends instead of a link: the
    /// same random token and hash are made, and a mail with no recipient
    /// goes through the same queue, where the sender drops it.
    pub(crate) fn decoy(&self, ctx: &TenantContext, purpose: TokenPurpose) -> Result<()> {
        let token = SecretString::from(random_token::<32>()?);
        let _ = refresh::hash(&token);
        self.deps.mailer.send(Mail {
            kind: mail_kind(purpose),
            to: None,
            from: None,
            tenant_name: ctx.tenant().shown_name().to_string(),
            username: String::new(),
            link: Some(link(ctx, purpose, &token)),
        });
        Ok(())
    }

    /// Uses a link up, atomically (one winner among concurrent uses), and
    /// checks it has not expired. The sentence of each refusal is safe to
    /// show.
    pub(crate) async fn consume(
        &self,
        ctx: &TenantContext,
        purposes: &[TokenPurpose],
        token: &SecretString,
    ) -> Result<AccountToken> {
        let text = token.expose_secret();
        // base64url of 32 bytes: anything else is never looked up.
        if text.len() != 43
            || !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::AccountLink("this link is not valid"));
        }
        let hash = refresh::hash(token);
        let now = self.deps.now();
        for purpose in purposes {
            match self
                .deps
                .store
                .consume_account_token(&ctx.tenant().id, *purpose, &hash, now)
                .await?
            {
                TokenConsumed::NotFound => continue,
                // An expired link says so however often it is tried; "already
                // used" would be wrong for one that never worked.
                TokenConsumed::AlreadyUsed(t) if expired(&t, now) => {
                    return Err(Error::AccountLink(
                        "this link has expired; ask for a new one",
                    ));
                }
                TokenConsumed::AlreadyUsed(_) => {
                    return Err(Error::AccountLink("this link was already used"));
                }
                TokenConsumed::Fresh(t) if expired(&t, now) => {
                    return Err(Error::AccountLink(
                        "this link has expired; ask for a new one",
                    ));
                }
                TokenConsumed::Fresh(t) => return Ok(t),
            }
        }
        Err(Error::AccountLink("this link is not valid"))
    }

    /// Runs `job` in the background if a slot is free; the caller answers
    /// the same either way.
    pub(crate) fn spawn<F>(&self, what: &'static str, job: F)
    where
        F: std::future::Future<Output = Result<()>> + Send + 'static,
    {
        let Ok(permit) = self.jobs.clone().try_acquire_owned() else {
            tracing::warn!(
                what,
                "too many account-link requests at once; this one was dropped"
            );
            return;
        };
        tokio::spawn(async move {
            if let Err(e) = job.await {
                tracing::warn!(what, error = %e, "account-link request failed");
            }
            drop(permit);
        });
    }
}

fn expired(token: &AccountToken, now: UnixTime) -> bool {
    now >= token.expires_at
}

fn mail_kind(purpose: TokenPurpose) -> MailKind {
    match purpose {
        TokenPurpose::VerifyEmail => MailKind::VerifyEmail,
        TokenPurpose::ResetPassword => MailKind::ResetPassword,
        TokenPurpose::Invite => MailKind::Invite,
    }
}

/// `{iss}/verify-email?token=…` or `{iss}/password/reset?token=…`.
fn link(ctx: &TenantContext, purpose: TokenPurpose, token: &SecretString) -> SecretString {
    let path = match purpose {
        TokenPurpose::VerifyEmail => "verify-email",
        TokenPurpose::ResetPassword | TokenPurpose::Invite => "password/reset",
    };
    SecretString::from(format!(
        "{}/{path}?token={}",
        ctx.issuer(),
        token.expose_secret()
    ))
}
