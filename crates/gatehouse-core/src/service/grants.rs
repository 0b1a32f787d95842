//! The token endpoint (RFC 6749 §3.2): which client is asking, and what
//! each grant gives it.
//!
//! | grant | who may use it | gives |
//! |---|---|---|
//! | `client_credentials` (§4.4) | a confidential client registered for it | an access token for the client itself |
//! | `authorization_code` (§4.1.3) | the client the code was issued to | a session: access token, refresh token if offline, ID token if `openid` |
//! | `refresh_token` (§6) | the client the session belongs to | the next access and refresh token |
//! | `password` (§4.3) | only the tenant's first-party client | a session, as `/login` |
//!
//! The client is authenticated before any grant is looked at, so an
//! unauthenticated caller learns nothing about codes or tokens.

use std::sync::Arc;

use secrecy::SecretString;

use super::clients::{Caller, ClientCredentials, Clients};
use super::issue::{Issuer, SignIn, issued};
use super::sessions::Sessions;
use super::{Deps, TenantContext};
use crate::error::{GrantError, OAuthError};
use crate::oauth::code::{self, CodeConsumed};
use crate::oauth::scope::{self, Scopes};
use crate::oauth::{ClientRecord, GrantType, pkce};
use crate::refresh;
use crate::session::{Origin, Session};
use crate::telemetry::Grant;
use crate::token::TokenResponse;
use crate::user::LoginName;
use crate::{Error, Result};

/// The form fields of a token request (RFC 6749 §4.1.3, §4.3.2, §4.4.2,
/// §6), whichever grant they belong to; the grant says which it needs.
#[derive(Debug, Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<SecretString>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub scope: Option<String>,
}

#[derive(Clone)]
pub struct TokenEndpoint {
    deps: Arc<Deps>,
    clients: Clients,
    sessions: Sessions,
    issue: Issuer,
}

fn missing(field: &str, grant: &str) -> Error {
    OAuthError::InvalidRequest(format!("the {grant} grant needs `{field}`")).into()
}

fn unauthorized(grant: GrantType) -> Error {
    OAuthError::UnauthorizedClient(format!(
        "this client is not registered for the {grant} grant"
    ))
    .into()
}

impl TokenEndpoint {
    pub(crate) fn new(
        deps: Arc<Deps>,
        clients: Clients,
        sessions: Sessions,
        issue: Issuer,
    ) -> Self {
        Self {
            deps,
            clients,
            sessions,
            issue,
        }
    }

    /// Authenticates the client, then answers the grant it asks for.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name(), grant = request.grant_type.as_deref().unwrap_or("-")))]
    pub async fn exchange(
        &self,
        ctx: &TenantContext,
        presented: ClientCredentials,
        request: TokenRequest,
        origin: &Origin,
    ) -> Result<TokenResponse> {
        let caller = self.clients.authenticate(ctx, presented).await?;
        match request.grant_type.as_deref() {
            Some("client_credentials") => self.client_credentials(ctx, &caller, &request),
            Some("authorization_code") => {
                self.authorization_code(ctx, &caller, request, origin).await
            }
            Some("refresh_token") => {
                let token = request
                    .refresh_token
                    .ok_or_else(|| missing("refresh_token", "refresh_token"))?;
                self.sessions.refresh(ctx, &caller, &token).await
            }
            Some("password") => {
                if !matches!(caller, Caller::FirstParty) {
                    return Err(OAuthError::UnauthorizedClient(
                        "the password grant is only for the tenant's own first-party client; \
                         registered clients use authorization_code"
                            .into(),
                    )
                    .into());
                }
                let username = request
                    .username
                    .filter(|u| !u.is_empty())
                    .ok_or_else(|| missing("username", "password"))?;
                let password = request
                    .password
                    .ok_or_else(|| missing("password", "password"))?;
                self.sessions
                    .password_grant(
                        ctx,
                        &LoginName::Username(username),
                        password,
                        request.scope.as_deref(),
                        origin,
                    )
                    .await
            }
            Some(other) => {
                Err(OAuthError::UnsupportedGrantType(other.chars().take(64).collect()).into())
            }
            None => Err(OAuthError::InvalidRequest("the form needs a `grant_type`".into()).into()),
        }
    }

    /// RFC 6749 §4.4: the hot path of machine traffic. The client comes
    /// from the cache and the key from the tenant context, so a grant
    /// costs one SHA-256, one signature and no store round trip.
    fn client_credentials(
        &self,
        ctx: &TenantContext,
        caller: &Caller,
        request: &TokenRequest,
    ) -> Result<TokenResponse> {
        let client: &ClientRecord = match caller {
            Caller::Registered(c) if !c.is_public() => c,
            Caller::Registered(_) => {
                return Err(OAuthError::UnauthorizedClient(
                    "a public client has no secret, so it cannot use client_credentials".into(),
                )
                .into());
            }
            // §4.4.2: "The client MUST authenticate with the authorization server".
            Caller::FirstParty => {
                return Err(OAuthError::InvalidClient(
                    "the client_credentials grant needs client authentication \
                     (client_secret_basic or client_secret_post)"
                        .into(),
                )
                .into());
            }
        };
        if !client.allows(GrantType::ClientCredentials) {
            return Err(unauthorized(GrantType::ClientCredentials));
        }
        let scopes = client_scopes(client, request.scope.as_deref())?;
        self.issue
            .client_token(ctx, client, &scopes)
            .inspect(|_| issued(ctx, Grant::ClientCredentials))
    }

    /// RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6): the code is consumed
    /// first, atomically, so a second use is always seen as one and
    /// revokes what the first issued (§4.1.2).
    async fn authorization_code(
        &self,
        ctx: &TenantContext,
        caller: &Caller,
        request: TokenRequest,
        origin: &Origin,
    ) -> Result<TokenResponse> {
        let Caller::Registered(client) = caller else {
            return Err(OAuthError::InvalidRequest(
                "the authorization_code grant needs the `client_id` the code was issued to".into(),
            )
            .into());
        };
        if !client.allows(GrantType::AuthorizationCode) {
            return Err(unauthorized(GrantType::AuthorizationCode));
        }
        let presented = request
            .code
            .ok_or_else(|| missing("code", "authorization_code"))?;
        let store = &self.deps.store;
        let tenant_id = &ctx.tenant().id;
        let now = self.deps.now();
        let code = match store
            .consume_authorization_code(tenant_id, &code::hash(&presented), now)
            .await?
        {
            CodeConsumed::NotFound => return Err(GrantError::UnknownCode.into()),
            CodeConsumed::AlreadyUsed(used) => {
                // §4.1.2: "SHOULD revoke (when possible) all tokens
                // previously issued based on that authorization code".
                store
                    .revoke_session(tenant_id, &used.session_id, now)
                    .await?;
                tracing::warn!(client_id = %client.id, session_id = %used.session_id,
                    "authorization code used twice; its session is revoked");
                return Err(GrantError::CodeReused.into());
            }
            CodeConsumed::Fresh(code) => code,
        };
        if code.client_id != client.id {
            return Err(GrantError::CodeOtherClient.into());
        }
        if now >= code.expires_at {
            return Err(GrantError::CodeExpired.into());
        }
        // §4.1.3: the same redirect_uri as the authorization request, if it
        // named one; compared exactly.
        match (&code.redirect_uri, &request.redirect_uri) {
            (Some(expected), Some(given)) if expected == given => {}
            (Some(_), _) => return Err(GrantError::RedirectUriMismatch.into()),
            (None, Some(given)) if !client.has_redirect_uri(given) => {
                return Err(GrantError::RedirectUriMismatch.into());
            }
            (None, _) => {}
        }
        check_pkce(
            code.code_challenge.as_deref(),
            request.code_verifier.as_ref(),
        )?;
        let user = store
            .user_by_id(tenant_id, &code.user_id)
            .await?
            .ok_or(GrantError::UserGone)?;
        let session = Session {
            id: code.session_id.clone(),
            tenant_id: tenant_id.clone(),
            user_id: user.id.clone(),
            client_id: client.id.clone(),
            scope: code.scope.clone(),
            browser_session_id: Some(code.browser_session_id.clone()),
            origin: origin.clone(),
            created_at: now,
            last_refreshed_at: None,
            expires_at: now + self.deps.settings.session_ttl_secs,
            revoked_at: None,
        };
        let refresh = if wants_refresh_token(client, &code.scope) {
            let expiry = (now + self.deps.settings.refresh_ttl_secs).min(session.expires_at);
            Some(refresh::mint(tenant_id, &session.id, now, expiry)?)
        } else {
            None
        };
        store
            .create_session(&session, refresh.as_ref().map(|r| &r.record))
            .await?;
        let sign_in = scope::claim_has(&code.scope, scope::OPENID).then(|| SignIn {
            auth_time: code.auth_time,
            nonce: code.nonce.clone(),
            browser_session_id: code.browser_session_id.clone(),
        });
        self.issue
            .token_response(
                ctx,
                &user,
                &session,
                refresh.map(|r| r.token),
                sign_in.as_ref(),
            )
            .inspect(|_| issued(ctx, Grant::AuthorizationCode))
    }
}

/// The scopes of a client-credentials token: those asked for, each of
/// which the client must be registered for (else `invalid_scope`), or all
/// of the client's when none are asked for (RFC 6749 §3.3 default).
fn client_scopes(client: &ClientRecord, asked: Option<&str>) -> Result<Scopes> {
    let asked = Scopes::parse(asked).map_err(|_| {
        OAuthError::InvalidScope("the scope is not a valid list of scope tokens".into())
    })?;
    if let Some(outside) = asked.first_outside(&client.scopes) {
        return Err(OAuthError::InvalidScope(format!(
            "the scope `{}` is not registered for this client",
            clip(outside)
        ))
        .into());
    }
    Ok(if asked.is_empty() {
        Scopes::from_list(&client.scopes)
    } else {
        asked
    })
}

/// Whether a code exchange opens a refresh token: the client must be
/// registered for the refresh grant and, for an OpenID Connect request,
/// have been granted `offline_access` (OIDC Core §11). A plain OAuth
/// request (no `openid`) gets one whenever the client may refresh.
fn wants_refresh_token(client: &ClientRecord, granted: &str) -> bool {
    client.allows(GrantType::RefreshToken)
        && (scope::claim_has(granted, scope::OFFLINE_ACCESS)
            || !scope::claim_has(granted, scope::OPENID))
}

/// RFC 7636 §4.6, and RFC 9700 §2.1.1 against PKCE downgrade: a code
/// issued with a challenge needs the verifier; one issued without must not
/// be redeemed with one.
fn check_pkce(challenge: Option<&str>, verifier: Option<&SecretString>) -> Result<()> {
    use secrecy::ExposeSecret;
    match (challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            let verifier = verifier.expose_secret();
            if pkce::is_valid_verifier(verifier) && pkce::verifier_matches(verifier, challenge) {
                Ok(())
            } else {
                Err(GrantError::PkceMismatch.into())
            }
        }
        (Some(_), None) => Err(GrantError::PkceVerifierMissing.into()),
        (None, Some(_)) => Err(GrantError::PkceVerifierUnexpected.into()),
        (None, None) => Ok(()),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::ClientType;

    fn client(grants: Vec<GrantType>, scopes: &[&str]) -> ClientRecord {
        ClientRecord {
            id: "c".into(),
            tenant_id: "t".into(),
            name: "n".into(),
            client_type: ClientType::Confidential,
            grants,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            secret_hash: None,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            created_at: 0,
        }
    }

    #[test]
    fn client_scopes_default_to_the_registration_and_refuse_others() {
        let c = client(vec![GrantType::ClientCredentials], &["read", "write"]);
        assert_eq!(client_scopes(&c, None).unwrap().to_claim(), "read write");
        assert_eq!(
            client_scopes(&c, Some("write")).unwrap().to_claim(),
            "write"
        );
        assert!(matches!(
            client_scopes(&c, Some("read admin")),
            Err(Error::OAuth(OAuthError::InvalidScope(_)))
        ));
        assert!(matches!(
            client_scopes(&c, Some("a  b")),
            Err(Error::OAuth(OAuthError::InvalidScope(_)))
        ));
    }

    #[test]
    fn refresh_tokens_follow_offline_access_for_oidc_requests() {
        let refresh = client(
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            &[],
        );
        let no_refresh = client(vec![GrantType::AuthorizationCode], &[]);
        assert!(wants_refresh_token(&refresh, "openid offline_access"));
        assert!(!wants_refresh_token(&refresh, "openid profile"));
        assert!(wants_refresh_token(&refresh, "orders:read"));
        assert!(!wants_refresh_token(&no_refresh, "openid offline_access"));
    }

    #[test]
    fn pkce_rules() {
        let verifier =
            SecretString::from("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_string());
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_pkce(Some(challenge), Some(&verifier)).is_ok());
        let wrong = SecretString::from("x".repeat(43));
        assert!(check_pkce(Some(challenge), Some(&wrong)).is_err());
        assert!(check_pkce(Some(challenge), None).is_err());
        assert!(check_pkce(None, Some(&verifier)).is_err());
        assert!(check_pkce(None, None).is_ok());
    }
}
