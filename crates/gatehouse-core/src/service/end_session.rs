//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the
//! client sends the browser to `{iss}/end_session`; the browser sign-in
//! ends, with every session (refresh token family) that came from it, and
//! the browser goes back to a `post_logout_redirect_uri` the client
//! registered, or sees a "signed out" page.

use std::sync::Arc;

use secrecy::SecretString;
use serde::Deserialize;

use super::authorize::redirect_with;
use super::clients::Clients;
use super::{Deps, TenantContext};
use crate::oauth::id_token::{self, IdTokenHint};
use crate::refresh;
use crate::{Error, Result};

/// The parameters of a logout request (§2), from the query or a form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub logout_hint: Option<String>,
    pub ui_locales: Option<String>,
}

/// Where the browser goes after a logout.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterLogout {
    /// The client's registered `post_logout_redirect_uri`, with `state`.
    Redirect(String),
    /// No redirect was asked for: show that the user is signed out.
    SignedOutPage,
}

#[derive(Clone)]
pub struct EndSession {
    deps: Arc<Deps>,
    clients: Clients,
}

impl EndSession {
    pub(crate) fn new(deps: Arc<Deps>, clients: Clients) -> Self {
        Self { deps, clients }
    }

    /// Ends the sign-in of this browser (its cookie) and the one the
    /// `id_token_hint` names, revoking their sessions. A redirect is only
    /// ever to a URI registered by the client the hint (or `client_id`)
    /// names; anything else is an error shown to the user (§2: "MUST NOT
    /// perform post-logout redirection" to an unregistered URI).
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name()))]
    pub async fn end(
        &self,
        ctx: &TenantContext,
        request: &LogoutRequest,
        browser_cookie: Option<&SecretString>,
    ) -> Result<AfterLogout> {
        let hint: Option<IdTokenHint> = match request.id_token_hint.as_deref() {
            Some(token) if !token.is_empty() => Some(
                id_token::verify_hint(ctx.keyring().key_set(), token).map_err(|_| {
                    Error::invalid(
                        "id_token_hint",
                        "the id_token_hint is not an ID token signed by this issuer",
                    )
                })?,
            ),
            _ => None,
        };
        let client_id = match (&hint, request.client_id.as_deref()) {
            (Some(h), Some(c)) if h.client_id != c => {
                return Err(Error::invalid(
                    "client_id",
                    "the client_id is not the one the id_token_hint was issued to",
                ));
            }
            (Some(h), _) => Some(h.client_id.clone()),
            (None, c) => c.filter(|c| !c.is_empty()).map(str::to_string),
        };
        // Check where to go before ending anything, so a bad request
        // changes nothing.
        let after = match request.post_logout_redirect_uri.as_deref() {
            None | Some("") => AfterLogout::SignedOutPage,
            Some(uri) => {
                let registered = match &client_id {
                    Some(id) => self
                        .clients
                        .find(ctx, id)
                        .await?
                        .is_some_and(|c| c.has_post_logout_redirect_uri(uri)),
                    None => false,
                };
                if !registered {
                    return Err(Error::invalid(
                        "post_logout_redirect_uri",
                        "the post_logout_redirect_uri is not registered for the client \
                         named by id_token_hint or client_id",
                    ));
                }
                AfterLogout::Redirect(redirect_with(uri, &[("state", request.state.as_deref())]))
            }
        };
        let store = &self.deps.store;
        let tenant_id = &ctx.tenant().id;
        let now = self.deps.now();
        let mut ended = Vec::new();
        if let Some(cookie) = browser_cookie
            && let Some(browser) = store
                .browser_session(tenant_id, &refresh::hash(cookie))
                .await?
        {
            ended.push(browser.id);
        }
        if let Some(sid) = hint.as_ref().and_then(|h| h.sid.clone())
            && !ended.contains(&sid)
        {
            ended.push(sid);
        }
        for id in &ended {
            if store.end_browser_session(tenant_id, id, now).await? {
                tracing::info!(browser_session = %id, "signed out; its sessions are revoked");
            }
        }
        Ok(after)
    }
}
