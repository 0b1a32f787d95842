//! The UserInfo endpoint (OpenID Connect Core §5.3): the signed-in user's
//! claims, as far as the access token's scope opens them (§5.4).

use std::sync::Arc;

use serde::Serialize;

use super::gate::verify_access_token;
use super::sessions::active_session;
use super::{Deps, TenantContext};
use crate::Result;
use crate::error::{OAuthError, TokenUnusable};
use crate::oauth::ProfileClaims;
use crate::oauth::scope::{self, claim_has};

/// The UserInfo response: `sub` always, the rest by scope.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UserInfo {
    pub sub: String,
    #[serde(flatten)]
    pub profile: ProfileClaims,
}

#[derive(Clone)]
pub struct UserInfoEndpoint {
    deps: Arc<Deps>,
}

impl UserInfoEndpoint {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Verifies the bearer token, then reads what it may see. Unlike
    /// `/auth`, this checks the session too (one store read), so a token
    /// of a logged-out session stops answering at once.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn claims(&self, ctx: &TenantContext, token: &str) -> Result<UserInfo> {
        let claims =
            verify_access_token(&self.deps, ctx, token).map(std::sync::Arc::unwrap_or_clone)?;
        if !claim_has(&claims.scope, scope::OPENID) {
            return Err(OAuthError::InsufficientScope(
                "the access token was not granted the `openid` scope, which userinfo needs".into(),
            )
            .into());
        }
        if let Some(sid) = &claims.sid
            && active_session(&self.deps, ctx, sid, self.deps.now())
                .await?
                .is_none()
        {
            return Err(TokenUnusable::SessionEnded.into());
        }
        let user = self
            .deps
            .store
            .user_by_id(&ctx.tenant().id, &claims.sub)
            .await?
            .ok_or(TokenUnusable::UserGone)?;
        Ok(UserInfo {
            sub: user.id.clone(),
            profile: ProfileClaims::of(&user, &claims.scope),
        })
    }
}
