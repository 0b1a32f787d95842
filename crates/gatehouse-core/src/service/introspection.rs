//! Token introspection (RFC 7662) and revocation (RFC 7009), for clients
//! that authenticated at the endpoint.
//!
//! Introspection answers `{"active": false}` and nothing else for every
//! token that cannot be used now: expired, of an ended session, another
//! tenant's, unknown, malformed. The answer's shape never says which.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::clients::Caller;
use super::gate::verify_access_token;
use super::sessions::active_session;
use super::{Deps, TenantContext};
use crate::Result;
use crate::error::OAuthError;
use crate::refresh;
use crate::session::Session;
use crate::token::Audience;

/// RFC 7662 §2.2.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten)]
    pub token: Option<ActiveToken>,
}

impl Introspection {
    fn inactive() -> Self {
        Self {
            active: false,
            token: None,
        }
    }
}

/// What an active token is (RFC 7662 §2.2 members).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActiveToken {
    pub scope: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer` for access tokens; `refresh_token` for refresh tokens
    /// (which are not presented as bearer tokens).
    pub token_type: &'static str,
    pub exp: i64,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    pub iss: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

#[derive(Clone)]
pub struct Introspect {
    deps: Arc<Deps>,
}

fn needs_confidential_client() -> crate::Error {
    OAuthError::InvalidClient(
        "introspection needs an authenticated confidential client \
         (client_secret_basic or client_secret_post)"
            .into(),
    )
    .into()
}

impl Introspect {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// RFC 7662 §2.1: only a confidential client may ask. The hint is only
    /// a hint (§2.1): both kinds are tried, cheapest first.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn introspect(
        &self,
        ctx: &TenantContext,
        caller: &Caller,
        token: &SecretString,
    ) -> Result<Introspection> {
        if caller.confidential().is_none() {
            return Err(needs_confidential_client());
        }
        let text = token.expose_secret();
        // A JWT has two dots; a refresh token (base64url) none.
        let found = if text.contains('.') {
            self.access_token(ctx, text).await?
        } else {
            self.refresh_token(ctx, token).await?
        };
        Ok(match found {
            Some(token) => Introspection {
                active: true,
                token: Some(token),
            },
            None => Introspection::inactive(),
        })
    }

    async fn access_token(&self, ctx: &TenantContext, token: &str) -> Result<Option<ActiveToken>> {
        let Ok(claims) =
            verify_access_token(&self.deps, ctx, token).map(std::sync::Arc::unwrap_or_clone)
        else {
            return Ok(None);
        };
        if let Some(sid) = &claims.sid
            && self.session(ctx, sid).await?.is_none()
        {
            return Ok(None);
        }
        Ok(Some(ActiveToken {
            scope: claims.scope,
            client_id: claims.client_id,
            username: claims.preferred_username,
            token_type: "Bearer",
            exp: claims.exp,
            iat: claims.iat,
            nbf: Some(claims.nbf),
            sub: claims.sub,
            aud: Some(claims.aud),
            iss: claims.iss,
            jti: Some(claims.jti),
            sid: claims.sid,
        }))
    }

    async fn refresh_token(
        &self,
        ctx: &TenantContext,
        token: &SecretString,
    ) -> Result<Option<ActiveToken>> {
        let Some((record, session)) = self.usable_refresh_token(ctx, token).await? else {
            return Ok(None);
        };
        Ok(Some(ActiveToken {
            scope: session.scope,
            client_id: session.client_id,
            username: None,
            token_type: "refresh_token",
            exp: record.expires_at,
            iat: record.created_at,
            nbf: None,
            sub: session.user_id,
            aud: None,
            iss: ctx.issuer().to_string(),
            jti: None,
            sid: Some(session.id),
        }))
    }

    /// RFC 7009: a refresh token ends its session; an access token with a
    /// session ends that session too. Only the client a token was issued
    /// to can revoke it; for any other token, unknown or not, the answer
    /// is the same success (§2.2), so the endpoint reveals nothing.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn revoke(
        &self,
        ctx: &TenantContext,
        caller: &Caller,
        token: &SecretString,
    ) -> Result<()> {
        let text = token.expose_secret();
        let session_id = if text.contains('.') {
            match verify_access_token(&self.deps, ctx, text).map(std::sync::Arc::unwrap_or_clone) {
                Ok(claims) if claims.client_id == caller.client_id() => claims.sid,
                _ => None,
            }
        } else {
            self.usable_refresh_token(ctx, token)
                .await?
                .filter(|(_, s)| s.client_id == caller.client_id())
                .map(|(_, s)| s.id)
        };
        if let Some(id) = session_id {
            self.deps
                .store
                .revoke_session(&ctx.tenant().id, &id, self.deps.now())
                .await?;
            tracing::info!(session_id = %id, client_id = %caller.client_id(), "token revoked; its session ended");
        }
        Ok(())
    }

    /// A refresh token that could be used now: known, unused, unexpired,
    /// of an active session.
    async fn usable_refresh_token(
        &self,
        ctx: &TenantContext,
        token: &SecretString,
    ) -> Result<Option<(refresh::RefreshRecord, Session)>> {
        let now = self.deps.now();
        let Some(record) = self
            .deps
            .store
            .refresh_token(&ctx.tenant().id, &refresh::hash(token))
            .await?
            .filter(|r| r.used_at.is_none() && now < r.expires_at)
        else {
            return Ok(None);
        };
        Ok(self
            .session(ctx, &record.session_id)
            .await?
            .map(|s| (record, s)))
    }

    async fn session(&self, ctx: &TenantContext, id: &str) -> Result<Option<Session>> {
        active_session(&self.deps, ctx, id, self.deps.now()).await
    }
}
