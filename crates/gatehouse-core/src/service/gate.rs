//! The gate: "may this request pass?", decided in one place for every
//! adapter (forward auth, the compat `/auth`, the Lambda authorizer, and
//! later proxy mode). Adapters parse a [`Credential`] out of their request
//! and render the [`Decision`]; they decide nothing themselves.
//!
//! Credential → identity → decision. Bearer JWTs are verified offline
//! against the tenant's cached keys (no database read) unless the request
//! asks for its session to be checked too.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::sessions::active_session;
use super::{Deps, TenantContext};
use crate::Result;
use crate::error::TokenUnusable;
use crate::token::AccessClaims;

/// What a caller presented.
pub enum Credential {
    /// `Authorization: Bearer <jwt>` (or the bare token the compat clients
    /// send).
    Bearer(SecretString),
}

/// Which kind of credential an identity was proven with (the
/// `X-Auth-Credential` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Jwt,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Jwt => "jwt",
        }
    }
}

/// One question to the gate.
pub struct GateRequest {
    /// `None`: the request carried no credential at all.
    pub credential: Option<Credential>,
    /// Also confirm in the store that the token's session is still active
    /// (`/auth?session=check`): a logged-out session fails at once instead
    /// of when its access token expires. Costs one database read.
    pub check_session: bool,
}

/// Who the caller is, once proven.
#[derive(Debug, Clone)]
pub struct Identity {
    pub tenant: String,
    pub credential: CredentialKind,
    /// The verified claims of the token.
    pub claims: AccessClaims,
}

/// How to ask the caller for (better) credentials: the 401's
/// `WWW-Authenticate` (RFC 6750 §3). The server renders it in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Why the presented credential failed; `None` when there was none
    /// (RFC 6750 §3.1: no error code then).
    pub error: Option<String>,
}

/// The gate's answer.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Pass, as this identity (boxed: the claims are large, the other
    /// answers small).
    Allow(Box<Identity>),
    /// No valid credential: ask for one (401).
    Challenge(Challenge),
    /// A valid credential that may not pass (403), with the reason.
    Deny(String),
}

#[derive(Clone)]
pub struct Gate {
    deps: Arc<Deps>,
}

impl Gate {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Decides one request. Only a store failure (during a session check)
    /// is an error; every answer about the caller is a [`Decision`].
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn decide(&self, ctx: &TenantContext, request: GateRequest) -> Result<Decision> {
        let challenge = |error: Option<String>| Decision::Challenge(Challenge { error });
        let Some(Credential::Bearer(token)) = request.credential else {
            return Ok(challenge(None));
        };
        let claims = match verify_access_token(&self.deps, ctx, token.expose_secret()) {
            Ok(claims) => claims,
            Err(e) => return Ok(challenge(Some(e.to_string()))),
        };
        if request.check_session {
            let active = match &claims.sid {
                Some(sid) => active_session(&self.deps, ctx, sid, self.deps.now())
                    .await?
                    .is_some(),
                None => false,
            };
            if !active {
                return Ok(challenge(Some(TokenUnusable::SessionEnded.to_string())));
            }
        }
        Ok(Decision::Allow(Box::new(Identity {
            tenant: ctx.name().to_string(),
            credential: CredentialKind::Jwt,
            claims,
        })))
    }

    /// Offline verification of an access token of this tenant, with this
    /// node's clock and leeway (also for `gatehouse token verify` and the
    /// OpenFaaS `verify` format).
    pub fn verify(&self, ctx: &TenantContext, token: &str) -> Result<AccessClaims> {
        verify_access_token(&self.deps, ctx, token)
    }
}

/// Verification with the node's clock and leeway: the one call site of the
/// verifier in core.
pub(crate) fn verify_access_token(
    deps: &Deps,
    ctx: &TenantContext,
    token: &str,
) -> Result<AccessClaims> {
    Ok(gatehouse_jwt::verify_access_token(
        ctx.keyring().key_set(),
        token,
        deps.now(),
        deps.settings.leeway_secs,
    )?)
}
