//! The issuer: the one place the claims of an access token are built and
//! signed. Every grant (password login, refresh, the domain service's
//! `/refresh`) and every compatibility format (OpenFaaS, knock) comes here;
//! nobody copies claims by hand.

use std::sync::Arc;

use secrecy::SecretString;
use serde::Serialize;

use super::{Deps, TenantContext};
use crate::Result;
use crate::clock::UnixTime;
use crate::id::random_token;
use crate::keyring::TenantKeyring;
use crate::session::Session;
use crate::token::{AccessClaims, Audience, TokenResponse};
use crate::user::User;

/// The `client_id` of tokens from the first-party `/login` and password
/// grant, until OAuth clients are registered per tenant.
pub const FIRST_PARTY_CLIENT: &str = "gatehouse";

/// Scope granted when a login asks for none.
pub const DEFAULT_SCOPE: &str = "openid profile email";

#[derive(Clone)]
pub struct Issuer {
    deps: Arc<Deps>,
}

/// The claims of an access token for `user`, valid from `iat` to `exp`, of
/// `session` if it has one (a token without one names the first-party
/// client and the default scope). Public so that in-process tools (the
/// bench) build exactly what the server signs.
pub fn access_claims(
    keyring: &TenantKeyring,
    user: &User,
    session: Option<&Session>,
    iat: UnixTime,
    exp: UnixTime,
) -> Result<AccessClaims> {
    Ok(AccessClaims {
        iss: keyring.issuer.clone(),
        sub: user.id.clone(),
        aud: Audience::from_list(keyring.audiences()),
        exp,
        iat,
        nbf: iat,
        jti: random_token::<16>()?,
        client_id: session.map_or(FIRST_PARTY_CLIENT.to_string(), |s| s.client_id.clone()),
        sid: session.map(|s| s.id.clone()),
        scope: session.map_or(DEFAULT_SCOPE.to_string(), |s| s.scope.clone()),
        preferred_username: Some(user.username.clone()),
        email: user.email.clone(),
        given_name: user.first_name.clone(),
        family_name: user.last_name.clone(),
        roles: user.roles.clone(),
    })
}

impl Issuer {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// An access token of `session`, living the tenant's access-token
    /// lifetime from now; returns it with that lifetime in seconds.
    pub fn access_token(
        &self,
        ctx: &TenantContext,
        user: &User,
        session: &Session,
    ) -> Result<(SecretString, i64)> {
        let now = self.deps.now();
        let ttl = ctx.tenant().access_ttl_secs;
        let claims = access_claims(ctx.keyring(), user, Some(session), now, now + ttl)?;
        Ok((SecretString::from(self.sign(ctx, &claims)?), ttl))
    }

    /// The OAuth 2.0 token response of a session (RFC 6749 §5.1).
    pub fn token_response(
        &self,
        ctx: &TenantContext,
        user: &User,
        session: &Session,
        refresh_token: SecretString,
    ) -> Result<TokenResponse> {
        let (access_token, expires_in) = self.access_token(ctx, user, session)?;
        Ok(TokenResponse {
            access_token,
            expires_in,
            refresh_token,
            scope: session.scope.clone(),
        })
    }

    /// Claims for the replaced systems' token formats (OpenFaaS functions,
    /// knock): a token with no session and no refresh token, living `ttl`
    /// seconds, with `iat`/`nbf` moved `backdate` seconds into the past as
    /// the OpenFaaS functions did for clock skew. The caller adds its
    /// format's own claims and signs with [`Issuer::sign`]. These are
    /// ordinary access tokens too: `/auth` accepts them.
    pub fn stateless_claims(
        &self,
        ctx: &TenantContext,
        user: &User,
        ttl: i64,
        backdate: i64,
    ) -> Result<AccessClaims> {
        let now = self.deps.now();
        access_claims(ctx.keyring(), user, None, now - backdate, now + ttl)
    }

    /// Signs access-token claims ([`AccessClaims`], or a compatibility
    /// format that embeds them) with the tenant's current key.
    pub fn sign<C: Serialize>(&self, ctx: &TenantContext, claims: &C) -> Result<String> {
        ctx.keyring().sign(claims)
    }
}
