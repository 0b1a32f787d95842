//! Sessions: a password login opens one; refresh tokens rotate within it
//! (RFC 9700 reuse detection); logout and the session check end or read it.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::clients::Caller;
use super::gate::verify_access_token;
use super::issue::{DEFAULT_SCOPE, FIRST_PARTY_CLIENT, Issuer, issued};
use super::password_login::PasswordLogin;
use super::{Deps, TenantContext};
use crate::audit::Event;
use crate::clock::UnixTime;
use crate::error::{GrantError, OAuthError, TokenUnusable};
use crate::id::new_id;
use crate::oauth::GrantType;
use crate::oauth::scope::Scopes;
use crate::refresh::{self, Consumed};
use crate::session::{Origin, Session};
use crate::telemetry::Grant;
use crate::token::TokenResponse;
use crate::user::LoginName;
use crate::{Error, Result};

#[derive(Clone)]
pub struct Sessions {
    deps: Arc<Deps>,
    password_login: PasswordLogin,
    issue: Issuer,
}

/// What a logout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedOut {
    /// The session the token belonged to.
    Session,
    /// Nothing: the refresh token was unknown (RFC 7009 spirit: not an
    /// error worth telling the caller about), or the access token had no
    /// session.
    Nothing,
}

impl Sessions {
    pub(crate) fn new(deps: Arc<Deps>, password_login: PasswordLogin, issue: Issuer) -> Self {
        Self {
            deps,
            password_login,
            issue,
        }
    }

    /// Password login (`/login`): a new session, an access token and a
    /// refresh token. Wrong credentials are [`Error::InvalidCredentials`].
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn login(
        &self,
        ctx: &TenantContext,
        login: &LoginName,
        password: SecretString,
        scope: Option<&str>,
        origin: &Origin,
    ) -> Result<TokenResponse> {
        let asked = Scopes::parse(Some(scope.unwrap_or(DEFAULT_SCOPE)))?;
        let user = self
            .password_login
            .authenticate(ctx.tenant(), login, password)
            .await?;
        // The first-party client is not registered, so only the user
        // limits it: the OIDC scopes, and the scopes of their roles.
        let scope = asked.for_user(&user.roles).to_claim();
        let now = self.deps.now();
        let session = Session {
            id: new_id(),
            tenant_id: ctx.tenant().id.clone(),
            user_id: user.id.clone(),
            client_id: FIRST_PARTY_CLIENT.to_string(),
            scope,
            browser_session_id: None,
            origin: origin.clone(),
            created_at: now,
            last_refreshed_at: None,
            expires_at: now + self.deps.settings.session_ttl_secs,
            revoked_at: None,
        };
        let refresh = refresh::mint(
            &ctx.tenant().id,
            &session.id,
            now,
            self.refresh_expiry(&session, now),
        )?;
        self.deps
            .store
            .create_session(&session, Some(&refresh.record))
            .await?;
        self.issue
            .token_response(ctx, &user, &session, Some(refresh.token), None)
            .inspect(|_| issued(ctx, Grant::Password))
    }

    /// The OAuth 2.0 password grant (RFC 6749 §4.3): a login whose wrong
    /// credentials are the grant's `invalid_grant` (§5.2).
    pub async fn password_grant(
        &self,
        ctx: &TenantContext,
        login: &LoginName,
        password: SecretString,
        scope: Option<&str>,
        origin: &Origin,
    ) -> Result<TokenResponse> {
        match self.login(ctx, login, password, scope, origin).await {
            Err(Error::InvalidCredentials) => Err(GrantError::InvalidCredentials.into()),
            Err(Error::AccountLocked {
                retry_after_secs, ..
            }) => Err(Error::AccountLocked {
                retry_after_secs,
                oauth: true,
            }),
            other => other,
        }
    }

    /// RFC 6749 §6 with rotation: the presented token is consumed and a new
    /// one issued. Presenting a consumed token revokes the whole session
    /// (RFC 9700 §4.14.2), because either the client or a thief holds a
    /// copy and we cannot tell which. Only the client the session was
    /// issued to may refresh it (§6: "the refresh token is bound to the
    /// client to which it was issued").
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn refresh(
        &self,
        ctx: &TenantContext,
        caller: &Caller,
        token: &SecretString,
    ) -> Result<TokenResponse> {
        if let Caller::Registered(client) = caller
            && !client.allows(GrantType::RefreshToken)
        {
            return Err(OAuthError::UnauthorizedClient(
                "this client is not registered for the refresh_token grant".into(),
            )
            .into());
        }
        let store = &self.deps.store;
        let tenant = ctx.tenant();
        let now = self.deps.now();
        let record = match store
            .consume_refresh_token(&tenant.id, &refresh::hash(token), now)
            .await?
        {
            Consumed::NotFound => return Err(GrantError::UnknownRefreshToken.into()),
            Consumed::AlreadyUsed(record) => {
                store
                    .revoke_session(&tenant.id, &record.session_id, now)
                    .await?;
                tracing::warn!(
                    tenant = %tenant.name,
                    session_id = %record.session_id,
                    "refresh token reused; session revoked"
                );
                self.deps.audit.record(
                    tenant,
                    Event::failure("refresh.reused", "family_revoked")
                        .subject(record.session_id.clone()),
                );
                return Err(GrantError::RefreshTokenReused.into());
            }
            Consumed::Fresh(record) => record,
        };
        if now >= record.expires_at {
            return Err(GrantError::RefreshTokenExpired.into());
        }
        let session = self
            .active_session(ctx, &record.session_id, now)
            .await?
            .ok_or(GrantError::SessionEnded)?;
        if session.client_id != caller.client_id() {
            return Err(GrantError::RefreshTokenOtherClient.into());
        }
        // A disable ends the user's sessions; this also closes the race of
        // a login that finished while the disable ran.
        let user = store
            .user_by_id(&tenant.id, &session.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(GrantError::UserGone)?;
        let next = refresh::mint(
            &tenant.id,
            &session.id,
            now,
            self.refresh_expiry(&session, now),
        )?;
        store.insert_refresh_token(&next.record).await?;
        store.touch_session(&tenant.id, &session.id, now).await?;
        self.issue
            .token_response(ctx, &user, &session, Some(next.token), None)
            .inspect(|_| issued(ctx, Grant::RefreshToken))
    }

    /// Ends the session of the presented token: a JWT access token (its
    /// `sid`, after verification) or an opaque refresh token.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn logout(&self, ctx: &TenantContext, token: &SecretString) -> Result<LoggedOut> {
        // A JWT has three dot-separated parts; a refresh token has none.
        if token.expose_secret().contains('.') {
            let claims = verify_access_token(&self.deps, ctx, token.expose_secret())
                .map(std::sync::Arc::unwrap_or_clone)?;
            let Some(sid) = claims.sid else {
                return Ok(LoggedOut::Nothing);
            };
            self.deps
                .store
                .revoke_session(&ctx.tenant().id, &sid, self.deps.now())
                .await?;
            self.deps.audit.record(
                ctx.tenant(),
                Event::success("logout")
                    .actor(claims.sub.clone())
                    .subject(sid),
            );
            return Ok(LoggedOut::Session);
        }
        self.logout_refresh(ctx, token).await
    }

    /// Ends the session a refresh token belongs to.
    pub async fn logout_refresh(
        &self,
        ctx: &TenantContext,
        token: &SecretString,
    ) -> Result<LoggedOut> {
        let now = self.deps.now();
        match self
            .deps
            .store
            .consume_refresh_token(&ctx.tenant().id, &refresh::hash(token), now)
            .await?
        {
            Consumed::Fresh(r) | Consumed::AlreadyUsed(r) => {
                self.deps
                    .store
                    .revoke_session(&ctx.tenant().id, &r.session_id, now)
                    .await?;
                Ok(LoggedOut::Session)
            }
            Consumed::NotFound => Ok(LoggedOut::Nothing),
        }
    }

    /// Whether a session of this tenant is still active: the store read
    /// behind `/auth?session=check`.
    pub async fn is_active(&self, ctx: &TenantContext, session_id: &str) -> Result<bool> {
        Ok(self
            .active_session(ctx, session_id, self.deps.now())
            .await?
            .is_some())
    }

    /// A fresh access token for the session of a still-valid one (the
    /// domain service's `GET /refresh`). The session must be active and
    /// the user must still exist; the token's lifetime is the tenant's.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn reissue(&self, ctx: &TenantContext, token: &str) -> Result<(SecretString, i64)> {
        let claims =
            verify_access_token(&self.deps, ctx, token).map(std::sync::Arc::unwrap_or_clone)?;
        let sid = claims.sid.ok_or(TokenUnusable::NoSession)?;
        let session = self
            .active_session(ctx, &sid, self.deps.now())
            .await?
            .ok_or(TokenUnusable::SessionEnded)?;
        let user = self
            .deps
            .store
            .user_by_id(&ctx.tenant().id, &session.user_id)
            .await?
            .ok_or(TokenUnusable::UserGone)?;
        self.issue
            .access_token(ctx, &user, &session)
            .inspect(|_| issued(ctx, Grant::Reissue))
    }

    async fn active_session(
        &self,
        ctx: &TenantContext,
        session_id: &str,
        now: UnixTime,
    ) -> Result<Option<Session>> {
        active_session(&self.deps, ctx, session_id, now).await
    }

    fn refresh_expiry(&self, session: &Session, now: UnixTime) -> UnixTime {
        (now + self.deps.settings.refresh_ttl_secs).min(session.expires_at)
    }
}

/// The session, if it is this tenant's and still active: the one rule
/// behind refresh, reissue and the gate's session check.
pub(crate) async fn active_session(
    deps: &Deps,
    ctx: &TenantContext,
    session_id: &str,
    now: UnixTime,
) -> Result<Option<Session>> {
    Ok(deps
        .store
        .session(&ctx.tenant().id, session_id)
        .await?
        .filter(|s| s.is_active(now)))
}

/// Who presents `token`: a verified access token of this tenant whose
/// session is still active and whose user exists and is not disabled. The
/// one rule behind every route a signed-in user calls for themselves
/// (`/me`, `/sessions`, `/password`).
pub(crate) async fn signed_in(
    deps: &Deps,
    ctx: &TenantContext,
    token: &str,
) -> Result<(crate::token::AccessClaims, Session, crate::user::User)> {
    let claims = verify_access_token(deps, ctx, token).map(std::sync::Arc::unwrap_or_clone)?;
    let sid = claims.sid.clone().ok_or(TokenUnusable::NoSession)?;
    let session = active_session(deps, ctx, &sid, deps.now())
        .await?
        .ok_or(TokenUnusable::SessionEnded)?;
    let user = deps
        .store
        .user_by_id(&ctx.tenant().id, &session.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(TokenUnusable::UserGone)?;
    Ok((claims, session, user))
}
