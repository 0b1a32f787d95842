//! Accounts: self-service registration, users moved over from another
//! system (with their old password hashes), listing and deleting.

use std::sync::Arc;

use super::account_links::AccountLinks;
use super::api_keys::ApiKeys;
use super::basic_auth::BasicAuth;
use super::email_verification::EmailVerifications;
use super::{Deps, TenantContext};
use crate::account_token::TokenPurpose;
use crate::audit::Event;
use crate::id::new_id;
use crate::legacy_hash;
use crate::password::PasswordHash;
use crate::password_policy::check_new_password;
use crate::store::{StoreError, UniqueField};
use crate::tenant::EmailVerification;
use crate::tenant::Tenant;
use crate::user::{self, ImportedUser, LoginName, Registration, User};
use crate::{Error, Result};

#[derive(Clone)]
pub struct Accounts {
    deps: Arc<Deps>,
    /// Told when a user goes, so their cached keys and Basic checks end.
    api_keys: ApiKeys,
    basic_auth: BasicAuth,
}

/// What a sign-up gave.
#[derive(Debug)]
pub enum SignUp {
    /// The account, usable at once (verification off or optional).
    Created(Box<User>),
    /// Verification is required: the answer says only that a link was
    /// mailed if the account could be made.
    PendingVerification,
}

/// What [`Accounts::import`] did with one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// Written, with a hash of this kind.
    Created(legacy_hash::HashKind),
    /// A user of that username was already there; nothing was written.
    AlreadyPresent,
}

impl Accounts {
    pub(crate) fn new(deps: Arc<Deps>, api_keys: ApiKeys, basic_auth: BasicAuth) -> Self {
        Self {
            deps,
            api_keys,
            basic_auth,
        }
    }

    /// Checks the profile and the password rules, hashes the password on the
    /// hashing pool, and stores the user.
    #[tracing::instrument(skip_all, fields(tenant = %tenant.name))]
    pub async fn register(&self, tenant: &Tenant, reg: Registration) -> Result<User> {
        let (username, email, first_name, last_name) =
            user::validate_profile(&reg.username, reg.email, reg.first_name, reg.last_name)?;
        check_new_password(
            &reg.password,
            &username,
            email.as_deref(),
            tenant.settings.min_password_chars(),
        )?;

        let hasher = self.deps.hasher.clone();
        let password = reg.password;
        let password_hash = self.deps.pool.run(move || hasher.hash(&password)).await??;
        let user = User {
            email,
            first_name,
            last_name,
            ..User::new_account(&tenant.id, username, password_hash, self.deps.now())
        };
        self.deps.store.create_user(&user).await?;
        tracing::info!(tenant = %tenant.name, user_id = %user.id, "user registered");
        self.deps.audit.record(
            tenant,
            Event::success("user.registered").subject(user.id.clone()),
        );
        Ok(user)
    }

    /// Adds a user moved over from another system, keeping their password
    /// hash (checked for a supported format and cost first) and, if given,
    /// their old id. A user whose username is already present is left as
    /// it is.
    pub async fn import(&self, tenant: &Tenant, import: ImportedUser) -> Result<Imported> {
        let (username, email, first_name, last_name) = user::validate_profile(
            &import.username,
            import.email,
            import.first_name,
            import.last_name,
        )?;
        let id = match user::non_empty(import.id) {
            Some(id) => {
                user::validate_user_id(&id)?;
                id
            }
            None => new_id(),
        };
        let kind = legacy_hash::classify(&import.password_hash)
            .map_err(|m| Error::invalid("password_hash", m))?;
        let login = LoginName::Username(username.clone());
        if self
            .deps
            .store
            .user_by_login(&tenant.id, &login)
            .await?
            .is_some()
        {
            return Ok(Imported::AlreadyPresent);
        }
        let user = User {
            id,
            email,
            first_name,
            last_name,
            roles: import.roles,
            ..User::new_account(
                &tenant.id,
                username,
                PasswordHash(import.password_hash),
                self.deps.now(),
            )
        };
        match self.deps.store.create_user(&user).await {
            Ok(()) => Ok(Imported::Created(kind)),
            // Lost a race with a concurrent import of the same name.
            Err(StoreError::Conflict(UniqueField::Username)) => Ok(Imported::AlreadyPresent),
            // Neither name clashed: the kept id belongs to another user.
            Err(StoreError::Conflict(UniqueField::Other)) => {
                Err(Error::Conflict(UniqueField::UserId))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list(&self, tenant: &Tenant) -> Result<Vec<User>> {
        Ok(self.deps.store.list_users(&tenant.id).await?)
    }

    /// A user named by username, else by id.
    pub async fn find(&self, tenant: &Tenant, username_or_id: &str) -> Result<User> {
        let store = &self.deps.store;
        let by_name = store
            .user_by_login(&tenant.id, &LoginName::Username(username_or_id.to_string()))
            .await?;
        match by_name {
            Some(u) => Ok(u),
            None => store
                .user_by_id(&tenant.id, username_or_id)
                .await?
                .ok_or(Error::NotFound("the user")),
        }
    }

    /// Replaces the user's roles (carried as `roles` in their tokens; a
    /// role also lets them be granted the scope of the same name). Tokens
    /// already out keep the roles they were signed with until they expire.
    pub async fn set_roles(
        &self,
        tenant: &Tenant,
        user_id: &str,
        roles: &[String],
    ) -> Result<User> {
        let roles = valid_roles(roles)?;
        if !self
            .deps
            .store
            .set_user_roles(&tenant.id, user_id, &roles)
            .await?
        {
            return Err(Error::NotFound("the user"));
        }
        // Cached Basic checks and API keys carry the old roles.
        self.api_keys.forget_user(&tenant.id, user_id);
        self.basic_auth.forget_user(&tenant.id, user_id);
        tracing::info!(tenant = %tenant.name, %user_id, ?roles, "roles set");
        self.deps.audit.record(
            tenant,
            Event::success("user.roles_changed")
                .actor("admin")
                .subject(user_id),
        );
        self.deps
            .store
            .user_by_id(&tenant.id, user_id)
            .await?
            .ok_or(Error::NotFound("the user"))
    }

    /// Adds roles (those the user has stay, none twice).
    pub async fn grant_roles(
        &self,
        tenant: &Tenant,
        user_id: &str,
        add: &[String],
    ) -> Result<User> {
        let mut roles = self.by_id(tenant, user_id).await?.roles;
        for role in add {
            if !roles.contains(role) {
                roles.push(role.clone());
            }
        }
        self.set_roles(tenant, user_id, &roles).await
    }

    /// Adds one role (nothing changes if the user has it).
    pub async fn grant_role(&self, tenant: &Tenant, user_id: &str, role: &str) -> Result<User> {
        self.grant_roles(tenant, user_id, &[role.to_string()]).await
    }

    /// Removes one role (nothing changes if the user lacks it).
    pub async fn revoke_role(&self, tenant: &Tenant, user_id: &str, role: &str) -> Result<User> {
        let user = self.by_id(tenant, user_id).await?;
        let roles: Vec<String> = user.roles.into_iter().filter(|r| r != role).collect();
        self.set_roles(tenant, user_id, &roles).await
    }

    async fn by_id(&self, tenant: &Tenant, user_id: &str) -> Result<User> {
        self.deps
            .store
            .user_by_id(&tenant.id, user_id)
            .await?
            .ok_or(Error::NotFound("the user"))
    }

    /// Drops what this node caches of the user (Basic successes, API keys
    /// acting as them), after a change that must take effect at once.
    pub(crate) fn forget_caches(&self, tenant: &Tenant, user_id: &str) {
        self.api_keys.forget_user(&tenant.id, user_id);
        self.basic_auth.forget_user(&tenant.id, user_id);
    }

    /// Self-service sign-up (`POST {iss}/register`), with the tenant's
    /// email verification: a link is mailed to a new address unless the
    /// tenant turned verification off. With `required`, the answer is the
    /// same whether or not the username or email was taken (a taken one
    /// gets a decoy mail instead of a link, and the same hashing work), so
    /// sign-up does not tell which accounts exist; otherwise a taken name
    /// is a 409, as a username-based sign-up must say.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub(crate) async fn sign_up(
        &self,
        ctx: &TenantContext,
        verifications: &EmailVerifications,
        links: &AccountLinks,
        reg: Registration,
    ) -> Result<SignUp> {
        let required = ctx.tenant().settings.email_verification == EmailVerification::Required;
        if required && reg.email.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid(
                "email",
                "this tenant verifies email addresses: an `email` is required",
            ));
        }
        match self.register(ctx.tenant(), reg).await {
            Ok(user) => {
                verifications.send_link(ctx, &user).await?;
                Ok(if required {
                    SignUp::PendingVerification
                } else {
                    SignUp::Created(Box::new(user))
                })
            }
            Err(Error::Conflict(_)) if required => {
                links.decoy(ctx, TokenPurpose::VerifyEmail)?;
                Ok(SignUp::PendingVerification)
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes the user and their sessions.
    pub async fn delete(&self, tenant: &Tenant, user_id: &str) -> Result<()> {
        if self.deps.store.delete_user(&tenant.id, user_id).await? {
            self.api_keys.forget_user(&tenant.id, user_id);
            self.basic_auth.forget_user(&tenant.id, user_id);
            tracing::info!(tenant = %tenant.name, %user_id, "user deleted");
            self.deps.audit.record(
                tenant,
                Event::success("user.deleted")
                    .actor("admin")
                    .subject(user_id),
            );
            Ok(())
        } else {
            Err(Error::NotFound("the user"))
        }
    }
}

/// Most roles one user may hold.
const MAX_ROLES: usize = 64;

/// Roles are scope tokens (RFC 6749 §3.3 syntax, at most 64 bytes), so a
/// role `billing` can stand for the scope `billing`; duplicates go.
fn valid_roles(roles: &[String]) -> Result<Vec<String>> {
    if roles.len() > MAX_ROLES {
        return Err(Error::invalid(
            "roles",
            format!("a user may hold at most {MAX_ROLES} roles"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for role in roles {
        if role.len() > 64 || role.contains(' ') || !crate::token::is_valid_scope(role) {
            return Err(Error::invalid(
                "roles",
                "a role is 1 to 64 printable ASCII characters without spaces, `\"` or `\\`",
            ));
        }
        if !out.contains(role) {
            out.push(role.clone());
        }
    }
    Ok(out)
}
