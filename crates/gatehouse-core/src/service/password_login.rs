//! Checking a password: the one path every password login takes (`/login`,
//! the password grant, the compatibility logins), on the hashing pool.

use std::sync::Arc;

use secrecy::SecretString;

use super::Deps;
use crate::audit::Event;
use crate::legacy_hash;
use crate::password::PasswordHash;
use crate::store::LoginAttempt;
use crate::telemetry::{self, LoginOutcome};
use crate::tenant::{EmailVerification, Tenant};
use crate::user::{LoginName, User};
use crate::{Error, Result};

#[derive(Clone)]
pub struct PasswordLogin {
    deps: Arc<Deps>,
}

impl PasswordLogin {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Checks a password. Exactly one hash verification runs whether or not
    /// the user exists (against a dummy hash when not), so neither the
    /// answer nor its timing tells an attacker which usernames exist.
    ///
    /// A legacy hash (imported from the system Gatehouse replaced) or an
    /// argon2 hash under other parameters is replaced by a fresh argon2id
    /// hash once the password has matched: the only moment the password is
    /// known. An imported user's first login therefore costs one extra hash.
    /// A legacy check also runs the dummy argon2 verification, so it is
    /// never cheaper than the answer for an unknown user (slower legacy
    /// hashes, such as bcrypt at cost 12, can still be told apart by time
    /// until their first login upgrades them).
    #[tracing::instrument(skip_all, fields(tenant = %tenant.name))]
    pub async fn authenticate(
        &self,
        tenant: &Tenant,
        login: &LoginName,
        password: SecretString,
    ) -> Result<User> {
        let user = self.lookup(tenant, login).await?;
        self.check(tenant, user, password, true).await
    }

    /// The hosted sign-in page's one field, "username or email": the user
    /// of that username, else (if it can be an address) of that email.
    /// Usernames may contain `@`, so both are tried; still one hash check.
    pub async fn authenticate_either(
        &self,
        tenant: &Tenant,
        username_or_email: &str,
        password: SecretString,
    ) -> Result<User> {
        let mut user = self
            .lookup(tenant, &LoginName::Username(username_or_email.to_string()))
            .await?;
        if user.is_none() && username_or_email.contains('@') {
            user = self
                .lookup(tenant, &LoginName::Email(username_or_email.to_string()))
                .await?;
        }
        self.check(tenant, user, password, true).await
    }

    async fn lookup(&self, tenant: &Tenant, login: &LoginName) -> Result<Option<User>> {
        // A name no user can have is an unknown user's, without a lookup.
        Ok(match login.lookup_key() {
            Some(_) => self.deps.store.user_by_login(&tenant.id, login).await?,
            None => None,
        })
    }

    /// Checks the current password of a signed-in user before a change:
    /// the same checks and soft-lock, but not recorded as a login.
    pub(crate) async fn confirm_current(
        &self,
        tenant: &Tenant,
        user: User,
        password: SecretString,
    ) -> Result<User> {
        self.check(tenant, Some(user), password, false).await
    }

    async fn check(
        &self,
        tenant: &Tenant,
        mut user: Option<User>,
        password: SecretString,
        is_login: bool,
    ) -> Result<User> {
        // The soft-lock (ASVS 2.2.1): an attempt is claimed in the store
        // before the password is checked, so however many arrive at once,
        // no more than `threshold` checks run between locks, on any node.
        let mut claimed: Option<LoginAttempt> = None;
        if let Some(u) = &user {
            let policy = &self.deps.settings.lockout;
            let now = self.deps.now();
            let attempt = self
                .deps
                .store
                .claim_login_attempt(&tenant.id, &u.id, now, policy.threshold, &policy.lock_secs)
                .await?;
            claimed = Some(attempt);
            match attempt {
                LoginAttempt::Locked { until } => {
                    self.deps.audit.record(
                        tenant,
                        Event::failure("login.failure", "locked").subject(u.id.clone()),
                    );
                    telemetry::login(LoginOutcome::Locked);
                    return Err(Error::AccountLocked {
                        retry_after_secs: (until - now).max(1) as u64,
                        oauth: false,
                    });
                }
                LoginAttempt::Allowed {
                    locked_until: Some(until),
                } => {
                    tracing::warn!(tenant = %tenant.name, user_id = %u.id, until, "account locked after repeated failed logins");
                    telemetry::lockout();
                    self.deps.audit.record(
                        tenant,
                        Event::success("account.locked").subject(u.id.clone()),
                    );
                }
                LoginAttempt::Allowed { locked_until: None } => {}
                // Deleted since it was read: an unknown user's answer.
                LoginAttempt::NoUser => user = None,
            }
        }
        let stored: Option<PasswordHash> = user.as_ref().map(|u| u.password_hash.clone());
        let hasher = self.deps.hasher.clone();
        let checked = self
            .deps
            .pool
            .run(move || {
                // Every check, known user or not, first takes the dummy: the
                // start-up warm-up computes it in the background (see
                // `Services::warm_up`), and a check that arrives before it is
                // done waits for it whichever user it names, so the first
                // milliseconds of a node cannot tell known names from unknown.
                let dummy = hasher.dummy_hash();
                let hash = stored.as_ref().unwrap_or(dummy);
                let (matches, stale) = if legacy_hash::is_legacy(&hash.0) {
                    // An unsalted SHA-256 check takes microseconds; without the
                    // dummy argon2 run beside it, a quick "no" would tell that an
                    // imported user of that name exists.
                    let _ = hasher.verify(&password, dummy);
                    (legacy_hash::verify(&password, &hash.0), true)
                } else {
                    let ok = hasher.verify(&password, hash);
                    (ok, ok && hasher.needs_rehash(hash))
                };
                let upgraded = (matches && stale).then(|| hasher.hash(&password));
                (matches, upgraded)
            })
            .await;
        let (matches, upgraded) = match checked {
            Ok(result) => result,
            Err(e) => {
                // Shed before it ran (the pool was full): the attempt was
                // never checked, so it must not count toward a lock — or
                // a flood of other logins would lock this user out.
                if let (Some(u), Some(attempt)) = (&user, claimed) {
                    self.release(tenant, &u.id, attempt).await;
                }
                return Err(e);
            }
        };
        let mut user = match user {
            Some(u) if matches => u,
            Some(u) => {
                self.deps.audit.record(
                    tenant,
                    Event::failure("login.failure", "wrong_password").subject(u.id),
                );
                telemetry::login(LoginOutcome::Invalid);
                return Err(Error::InvalidCredentials);
            }
            None => {
                self.deps
                    .audit
                    .record(tenant, Event::failure("login.failure", "unknown_user"));
                telemetry::login(LoginOutcome::Invalid);
                return Err(Error::InvalidCredentials);
            }
        };
        // The password matched: the failures so far no longer count.
        self.deps
            .store
            .clear_login_failures(&tenant.id, &user.id)
            .await?;
        // Said only now that the password matched: it tells nothing to
        // someone guessing.
        if user.disabled {
            telemetry::login(LoginOutcome::Disabled);
            self.deps.audit.record(
                tenant,
                Event::failure("login.failure", "disabled").subject(user.id.clone()),
            );
            return Err(Error::AccountDisabled);
        }
        if tenant.settings.email_verification == EmailVerification::Required && !user.email_verified
        {
            telemetry::login(LoginOutcome::Unverified);
            self.deps.audit.record(
                tenant,
                Event::failure("login.failure", "email_not_verified").subject(user.id.clone()),
            );
            return Err(Error::EmailNotVerified {
                resend: format!("POST /t/{}/verify-email/resend", tenant.name),
            });
        }
        if let Some(new_hash) = upgraded {
            self.upgrade_hash(tenant, &mut user, new_hash?).await;
        }
        telemetry::login(LoginOutcome::Success);
        if is_login {
            self.deps.audit.record(
                tenant,
                Event::success("login.success")
                    .actor(user.id.clone())
                    .subject(user.id.clone()),
            );
        }
        Ok(user)
    }

    /// Gives back a claimed attempt that was never checked. Best effort: a
    /// failure is logged (the attempt then counts, as if it had failed).
    async fn release(&self, tenant: &Tenant, user_id: &str, attempt: LoginAttempt) {
        let threshold = self.deps.settings.lockout.threshold;
        if let Err(e) = self
            .deps
            .store
            .release_login_attempt(&tenant.id, user_id, attempt, threshold, self.deps.now())
            .await
        {
            tracing::warn!(tenant = %tenant.name, %user_id, error = %e, "a shed login attempt could not be given back");
        }
    }

    /// Stores an upgraded hash. A failure is logged, not returned: the
    /// login itself succeeded, and the next one tries again.
    async fn upgrade_hash(&self, tenant: &Tenant, user: &mut User, new: PasswordHash) {
        // Conditional on the hash this login verified (the one `user` holds).
        match self
            .deps
            .store
            .update_password_hash(&tenant.id, &user.id, &user.password_hash, &new)
            .await
        {
            Ok(true) => {
                tracing::info!(tenant = %tenant.name, user_id = %user.id, "password hash upgraded to argon2id");
                user.password_hash = new;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(tenant = %tenant.name, user_id = %user.id, error = %e, "password hash upgrade failed; will retry at next login")
            }
        }
    }
}
