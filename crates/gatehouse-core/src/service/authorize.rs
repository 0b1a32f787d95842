//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2): check
//! the request, sign the user in through the hosted page (or recognise
//! the browser's sign-in), and send the browser back with a single-use
//! code bound to the client, the redirect URI and the PKCE challenge.
//!
//! Two kinds of refusal, as §4.1.2.1 requires:
//! - an unknown client, or a redirect URI that is not exactly one the
//!   client registered, is answered to the user ([`Error`], shown as a
//!   page): redirecting there would make Gatehouse an open redirector;
//! - anything else goes back to the client's redirect URI with `error`,
//!   `state` and `iss` ([`Step::Redirect`]).
//!
//! HTTP (cookies, CSRF, the page itself) is the server's; this module
//! decides.

use std::sync::Arc;

use secrecy::SecretString;
use serde::Deserialize;

use super::clients::Clients;
use super::password_login::PasswordLogin;
use super::{Deps, TenantContext};
use crate::clock::UnixTime;
use crate::id::{new_id, random_token};
use crate::oauth::code::{self, AuthorizationCode, MAX_CODE_TTL_SECS};
use crate::oauth::scope::Scopes;
use crate::oauth::{BrowserSession, ClientRecord, ClientType, GrantType, pkce};
use crate::refresh;
use crate::user::User;
use crate::{Error, Result};

/// How long a code and a browser sign-in live.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeSettings {
    /// At most [`MAX_CODE_TTL_SECS`]; an exchange takes a second.
    pub code_ttl_secs: i64,
    /// How long a browser stays signed in (the hosted page's cookie).
    pub browser_session_ttl_secs: i64,
}

impl Default for AuthorizeSettings {
    fn default() -> Self {
        Self {
            code_ttl_secs: MAX_CODE_TTL_SECS,
            browser_session_ttl_secs: 12 * 3600,
        }
    }
}

/// The parameters of an authorization request as they arrived: the query
/// of `GET {iss}/authorize`, or the hidden fields the sign-in form posts
/// back. Nothing is trusted until [`Authorize::check`] has read it.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuthorizationRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub response_mode: Option<String>,
    pub login_hint: Option<String>,
    /// OIDC Core §6 request objects: not supported, refused by name.
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

/// A request that passed every check: what the sign-in page shows and
/// what the code will be bound to.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub client: Arc<ClientRecord>,
    /// Where the answer goes: the request's `redirect_uri`, or the
    /// client's only registered one when the request named none.
    pub redirect_uri: String,
    /// Whether the request named it (then the token request must repeat
    /// it, RFC 6749 §4.1.3).
    redirect_uri_named: bool,
    /// Asked for, within what the client is registered for.
    pub scopes: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    prompt_none: bool,
    prompt_login: bool,
    max_age: Option<i64>,
    /// OIDC Core §3.1.2.1: a username to fill in.
    pub login_hint: Option<String>,
}

/// What happens next in the browser.
#[derive(Debug)]
pub enum Step {
    /// Send the browser to this URL: the client's redirect URI with a code
    /// or an error, and `state` and `iss`.
    Redirect(String),
    /// Show the sign-in form for this request.
    SignIn(Box<Authorization>),
}

/// A successful sign-in on the hosted page: where to go, and the cookie
/// that recognises this browser next time.
#[derive(Debug)]
pub struct SignedIn {
    pub redirect: String,
    pub cookie: SecretString,
    /// Seconds the cookie should live.
    pub cookie_max_age: i64,
}

/// The longest `state` and `nonce` kept (they travel in URLs and codes).
const MAX_STATE_BYTES: usize = 2048;
const MAX_NONCE_BYTES: usize = 512;

#[derive(Clone)]
pub struct Authorize {
    deps: Arc<Deps>,
    clients: Clients,
    password_login: PasswordLogin,
}

impl Authorize {
    pub(crate) fn new(deps: Arc<Deps>, clients: Clients, password_login: PasswordLogin) -> Self {
        Self {
            deps,
            clients,
            password_login,
        }
    }

    /// `GET {iss}/authorize`: a code at once if this browser is signed in
    /// (and `prompt`/`max_age` allow it), else the sign-in form, else (for
    /// `prompt=none`) `login_required`.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn start(
        &self,
        ctx: &TenantContext,
        request: &AuthorizationRequest,
        browser_cookie: Option<&SecretString>,
    ) -> Result<Step> {
        let authorization = match self.check(ctx, request).await? {
            Ok(a) => a,
            Err(refusal) => return Ok(Step::Redirect(refusal)),
        };
        let now = self.deps.now();
        let signed_in = match browser_cookie {
            Some(cookie) if !authorization.prompt_login => {
                self.signed_in_user(ctx, cookie, now).await?
            }
            _ => None,
        };
        let fresh_enough = |b: &BrowserSession| {
            authorization
                .max_age
                .is_none_or(|max| now - b.auth_time <= max)
        };
        match signed_in {
            Some((browser, user)) if fresh_enough(&browser) => {
                let redirect = self
                    .issue_code(ctx, &authorization, &user, &browser)
                    .await?;
                Ok(Step::Redirect(redirect))
            }
            _ if authorization.prompt_none => Ok(Step::Redirect(refusal(
                ctx,
                &authorization.redirect_uri,
                authorization.state.as_deref(),
                "login_required",
                "the user is not signed in, and prompt=none forbids asking",
            ))),
            _ => Ok(Step::SignIn(Box::new(authorization))),
        }
    }

    /// `POST {iss}/authorize` from the sign-in form, for a request that
    /// passed [`Authorize::check`] again (the form's hidden fields are the
    /// browser's to change). The password is checked on the hashing pool
    /// like every password; a wrong password or unknown user is
    /// [`Error::InvalidCredentials`], one answer for both. Checking CSRF
    /// is the caller's.
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn sign_in(
        &self,
        ctx: &TenantContext,
        authorization: &Authorization,
        username_or_email: &str,
        password: SecretString,
    ) -> Result<SignedIn> {
        let user = self
            .password_login
            .authenticate_either(ctx.tenant(), username_or_email, password)
            .await?;
        let now = self.deps.now();
        let cookie = SecretString::from(random_token::<32>()?);
        let ttl = self.deps.settings.authorize.browser_session_ttl_secs;
        let browser = BrowserSession {
            id: new_id(),
            token_hash: refresh::hash(&cookie),
            tenant_id: ctx.tenant().id.clone(),
            user_id: user.id.clone(),
            auth_time: now,
            created_at: now,
            expires_at: now + ttl,
            revoked_at: None,
        };
        self.deps.store.create_browser_session(&browser).await?;
        tracing::info!(user_id = %user.id, client_id = %authorization.client.id, "signed in on the hosted page");
        let redirect = self.issue_code(ctx, authorization, &user, &browser).await?;
        Ok(SignedIn {
            redirect,
            cookie,
            cookie_max_age: ttl,
        })
    }

    /// The request's checks, in RFC 6749 §4.1.2.1's order: `Err` for what
    /// must not redirect (unknown client, unregistered redirect URI);
    /// `Ok(Err(url))` for a refusal sent back to the client.
    pub async fn check(
        &self,
        ctx: &TenantContext,
        request: &AuthorizationRequest,
    ) -> Result<std::result::Result<Authorization, String>> {
        let client_id = request
            .client_id
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                Error::invalid(
                    "client_id",
                    "the authorization request names no client (`client_id` is missing)",
                )
            })?;
        let client = self.clients.find(ctx, client_id).await?.ok_or_else(|| {
            Error::invalid(
                "client_id",
                "the application that sent you here is not registered with this sign-in service",
            )
        })?;
        let (redirect_uri, redirect_uri_named) = match request.redirect_uri.as_deref() {
            Some(uri) if client.has_redirect_uri(uri) => (uri.to_string(), true),
            Some(_) => {
                return Err(Error::invalid(
                    "redirect_uri",
                    "the redirect_uri is not one the application registered, \
                     so you are not sent back to it",
                ));
            }
            None => match client.redirect_uris.as_slice() {
                [only] => (only.clone(), false),
                _ => {
                    return Err(Error::invalid(
                        "redirect_uri",
                        "the authorization request needs a `redirect_uri`",
                    ));
                }
            },
        };
        // From here on, refusals go back to the client.
        let state = request.state.clone();
        let refuse = |error: &str, description: &str| -> Result<std::result::Result<_, String>> {
            Ok(Err(refusal(
                ctx,
                &redirect_uri,
                state.as_deref().filter(|s| s.len() <= MAX_STATE_BYTES),
                error,
                description,
            )))
        };
        if request.request.is_some() {
            return refuse("request_not_supported", "request objects are not supported");
        }
        if request.request_uri.is_some() {
            return refuse("request_uri_not_supported", "request_uri is not supported");
        }
        if state.as_ref().is_some_and(|s| s.len() > MAX_STATE_BYTES) {
            return refuse("invalid_request", "the state is longer than 2048 bytes");
        }
        match request.response_type.as_deref() {
            Some("code") => {}
            None => return refuse("invalid_request", "the response_type is missing"),
            Some(_) => {
                return refuse(
                    "unsupported_response_type",
                    "only response_type=code is supported (no implicit or hybrid flow)",
                );
            }
        }
        if request
            .response_mode
            .as_deref()
            .is_some_and(|m| m != "query")
        {
            return refuse("invalid_request", "only response_mode=query is supported");
        }
        if !client.allows(GrantType::AuthorizationCode) {
            return refuse(
                "unauthorized_client",
                "this client is not registered for the authorization_code grant",
            );
        }
        let scopes = match Scopes::parse(request.scope.as_deref()) {
            Err(_) => return refuse("invalid_scope", "the scope is not a valid list of scopes"),
            Ok(asked) => match asked.first_outside(&client.scopes) {
                Some(outside) => {
                    let outside: String = outside.chars().take(64).collect();
                    return refuse(
                        "invalid_scope",
                        &format!("the scope `{outside}` is not registered for this client"),
                    );
                }
                None if asked.is_empty() => Scopes::from_list(&client.scopes),
                None => asked,
            },
        };
        // RFC 7636 and RFC 9700 §2.1.1: S256 only; required of public clients.
        let code_challenge = match (
            request.code_challenge.as_deref(),
            request.code_challenge_method.as_deref(),
        ) {
            (None, None) if client.client_type == ClientType::Public => {
                return refuse(
                    "invalid_request",
                    "a public client must use PKCE: send code_challenge with code_challenge_method=S256",
                );
            }
            (None, None) => None,
            (None, Some(_)) => {
                return refuse(
                    "invalid_request",
                    "code_challenge_method was sent without a code_challenge",
                );
            }
            (Some(_), Some("plain")) => {
                return refuse(
                    "invalid_request",
                    "the PKCE method `plain` is not allowed; use S256",
                );
            }
            // RFC 7636 §4.3: no method means plain.
            (Some(_), None) => {
                return refuse(
                    "invalid_request",
                    "code_challenge_method is missing (it would default to plain); use S256",
                );
            }
            (Some(_), Some(m)) if m != "S256" => {
                return refuse(
                    "invalid_request",
                    "the only supported code_challenge_method is S256",
                );
            }
            (Some(c), Some(_)) if !pkce::is_valid_s256_challenge(c) => {
                return refuse(
                    "invalid_request",
                    "the code_challenge is not a base64url SHA-256 (43 characters)",
                );
            }
            (Some(c), Some(_)) => Some(c.to_string()),
        };
        if request
            .nonce
            .as_ref()
            .is_some_and(|n| n.len() > MAX_NONCE_BYTES)
        {
            return refuse("invalid_request", "the nonce is longer than 512 bytes");
        }
        let (mut prompt_none, mut prompt_login) = (false, false);
        for value in request.prompt.as_deref().unwrap_or("").split(' ') {
            match value {
                "" | "consent" | "select_account" => {}
                "none" => prompt_none = true,
                "login" => prompt_login = true,
                _ => {
                    return refuse(
                        "invalid_request",
                        "prompt may only be none, login, consent or select_account",
                    );
                }
            }
        }
        if prompt_none
            && request
                .prompt
                .as_deref()
                .is_some_and(|p| p.trim() != "none")
        {
            return refuse(
                "invalid_request",
                "prompt=none cannot be combined with other prompt values",
            );
        }
        let max_age = match request.max_age.as_deref() {
            None | Some("") => None,
            Some(text) => match text.parse::<i64>() {
                Ok(secs) if secs >= 0 => Some(secs),
                _ => return refuse("invalid_request", "max_age must be a number of seconds"),
            },
        };
        Ok(Ok(Authorization {
            client,
            redirect_uri,
            redirect_uri_named,
            scopes,
            state,
            nonce: request.nonce.clone(),
            code_challenge,
            prompt_none,
            prompt_login,
            max_age,
            login_hint: request
                .login_hint
                .as_ref()
                .map(|h| h.chars().take(256).collect()),
        }))
    }

    /// The user this browser is signed in as, if its cookie names an
    /// active sign-in of this tenant whose user still exists.
    async fn signed_in_user(
        &self,
        ctx: &TenantContext,
        cookie: &SecretString,
        now: UnixTime,
    ) -> Result<Option<(BrowserSession, User)>> {
        let store = &self.deps.store;
        let tenant_id = &ctx.tenant().id;
        let Some(browser) = store
            .browser_session(tenant_id, &refresh::hash(cookie))
            .await?
            .filter(|b| b.is_active(now))
        else {
            return Ok(None);
        };
        Ok(store
            .user_by_id(tenant_id, &browser.user_id)
            .await?
            .map(|user| (browser, user)))
    }

    /// Stores a code for this sign-in and says where to send the browser.
    async fn issue_code(
        &self,
        ctx: &TenantContext,
        authorization: &Authorization,
        user: &User,
        browser: &BrowserSession,
    ) -> Result<String> {
        let now = self.deps.now();
        let (presented, code_hash) = code::mint()?;
        let ttl = self
            .deps
            .settings
            .authorize
            .code_ttl_secs
            .clamp(1, MAX_CODE_TTL_SECS);
        let code = AuthorizationCode {
            code_hash,
            tenant_id: ctx.tenant().id.clone(),
            client_id: authorization.client.id.clone(),
            user_id: user.id.clone(),
            redirect_uri: authorization
                .redirect_uri_named
                .then(|| authorization.redirect_uri.clone()),
            // What was asked, limited to what the user may have.
            scope: authorization.scopes.for_user(&user.roles).to_claim(),
            code_challenge: authorization.code_challenge.clone(),
            nonce: authorization.nonce.clone(),
            auth_time: browser.auth_time,
            browser_session_id: browser.id.clone(),
            session_id: new_id(),
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
        };
        // Codes expired for an hour are pruned as new ones are stored; until
        // then a late exchange is told "expired", not "unknown".
        self.deps
            .store
            .insert_authorization_code(&code, now - 3600)
            .await?;
        use secrecy::ExposeSecret;
        Ok(redirect_with(
            &authorization.redirect_uri,
            &[
                ("code", Some(presented.expose_secret())),
                ("state", authorization.state.as_deref()),
                ("iss", Some(ctx.issuer())),
            ],
        ))
    }
}

/// RFC 6749 §4.1.2.1 error response, with RFC 9207's `iss`.
fn refusal(
    ctx: &TenantContext,
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> String {
    redirect_with(
        redirect_uri,
        &[
            ("error", Some(error)),
            ("error_description", Some(description)),
            ("state", state),
            ("iss", Some(ctx.issuer())),
        ],
    )
}

/// The redirect URI with `params` added to its query; a query it already
/// has is kept (RFC 6749 §3.1.2).
pub(crate) fn redirect_with(redirect_uri: &str, params: &[(&str, Option<&str>)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (name, value) in params {
                    if let Some(value) = value {
                        query.append_pair(name, value);
                    }
                }
            }
            url.to_string()
        }
        // Registered URIs were parsed when registered; this cannot happen,
        // and sending the browser nowhere is the safe answer if it does.
        Err(_) => "about:blank".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_keeps_the_registered_query() {
        assert_eq!(
            redirect_with(
                "https://app.example/cb?x=1",
                &[
                    ("code", Some("a b")),
                    ("state", None),
                    ("iss", Some("https://i/t/d"))
                ]
            ),
            "https://app.example/cb?x=1&code=a+b&iss=https%3A%2F%2Fi%2Ft%2Fd"
        );
    }
}
