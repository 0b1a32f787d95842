//! The issuer: the one place the claims of a token are built and signed.
//! Every grant (password login, refresh, client credentials, the
//! authorization code), the ID tokens of OpenID Connect, the domain
//! service's `/refresh` and every compatibility format (OpenFaaS, knock)
//! come here; nobody copies claims by hand.

use std::sync::Arc;

use secrecy::SecretString;
use serde::Serialize;

use super::{Deps, TenantContext};
use crate::Result;
use crate::clock::UnixTime;
use crate::id::random_token;
use crate::keyring::TenantKeyring;
use crate::oauth::id_token::{self, ID_TOKEN_TYP, IdTokenClaims, ProfileClaims};
use crate::oauth::{ClientRecord, scope};
use crate::session::Session;
use crate::telemetry::{self, Grant};
use crate::token::{AccessClaims, Audience, TokenResponse};
use crate::user::User;

/// The `client_id` of tokens from the first-party `/login` and password
/// grant: the tenant's own apps, which need no registration.
pub const FIRST_PARTY_CLIENT: &str = "gatehouse";

/// Scope granted when a login asks for none.
pub const DEFAULT_SCOPE: &str = "openid profile email";

/// What an ID token says of the sign-in behind a code (OIDC Core §2).
#[derive(Debug, Clone)]
pub struct SignIn {
    /// When the password was entered.
    pub auth_time: UnixTime,
    /// The authorization request's `nonce`.
    pub nonce: Option<String>,
    /// The browser sign-in (the ID token's `sid`).
    pub browser_session_id: String,
}

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
        email_verified: user.email.as_ref().map(|_| user.email_verified),
        given_name: user.first_name.clone(),
        family_name: user.last_name.clone(),
        roles: user.roles.clone(),
    })
}

/// Counts an access token issued for `grant`, with the algorithm of the
/// tenant's signing key (`gatehouse_tokens_issued_total`). Called where
/// the grant is known: the use case that asked for the token.
pub fn issued(ctx: &TenantContext, grant: Grant) {
    telemetry::token_issued(grant, ctx.keyring().signing_key().algorithm);
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

    /// The OAuth 2.0 token response of a session (RFC 6749 §5.1), with an
    /// ID token when `sign_in` is given (a code exchange that granted
    /// `openid`).
    pub fn token_response(
        &self,
        ctx: &TenantContext,
        user: &User,
        session: &Session,
        refresh_token: Option<SecretString>,
        sign_in: Option<&SignIn>,
    ) -> Result<TokenResponse> {
        let (access_token, expires_in) = self.access_token(ctx, user, session)?;
        let id_token = match sign_in {
            Some(sign_in) => Some(self.id_token(ctx, user, session, sign_in, &access_token)?),
            None => None,
        };
        Ok(TokenResponse {
            access_token,
            expires_in,
            refresh_token,
            scope: session.scope.clone(),
            id_token,
        })
    }

    /// OIDC Core §2 and §3.1.3.6: for the session's client, with the
    /// profile claims its scope opens and `at_hash` of `access_token`.
    fn id_token(
        &self,
        ctx: &TenantContext,
        user: &User,
        session: &Session,
        sign_in: &SignIn,
        access_token: &SecretString,
    ) -> Result<SecretString> {
        use secrecy::ExposeSecret;
        let now = self.deps.now();
        let algorithm = ctx.keyring().signing_key().algorithm;
        let claims = IdTokenClaims {
            iss: ctx.issuer().to_string(),
            sub: user.id.clone(),
            aud: session.client_id.clone(),
            exp: now + ctx.tenant().access_ttl_secs,
            iat: now,
            auth_time: sign_in.auth_time,
            nonce: sign_in.nonce.clone(),
            at_hash: Some(id_token::token_hash(
                algorithm,
                access_token.expose_secret(),
            )),
            sid: Some(sign_in.browser_session_id.clone()),
            azp: Some(session.client_id.clone()),
            profile: ProfileClaims::of(user, &session.scope),
        };
        Ok(SecretString::from(
            ctx.keyring().sign_typed(&claims, ID_TOKEN_TYP)?,
        ))
    }

    /// The client credentials grant's answer (RFC 6749 §4.4.3): an access
    /// token whose subject is the client itself, no refresh token. Built
    /// from the cached client and keyring alone: no store round trip.
    pub fn client_token(
        &self,
        ctx: &TenantContext,
        client: &ClientRecord,
        scope: &scope::Scopes,
    ) -> Result<TokenResponse> {
        let now = self.deps.now();
        let ttl = ctx.tenant().access_ttl_secs;
        let keyring = ctx.keyring();
        let claims = AccessClaims {
            iss: keyring.issuer.clone(),
            sub: client.id.clone(),
            aud: Audience::from_list(keyring.audiences()),
            exp: now + ttl,
            iat: now,
            nbf: now,
            jti: random_token::<16>()?,
            client_id: client.id.clone(),
            sid: None,
            scope: scope.to_claim(),
            preferred_username: None,
            email: None,
            email_verified: None,
            given_name: None,
            family_name: None,
            roles: Vec::new(),
        };
        Ok(TokenResponse {
            access_token: SecretString::from(self.sign(ctx, &claims)?),
            expires_in: ttl,
            refresh_token: None,
            scope: claims.scope,
            id_token: None,
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
