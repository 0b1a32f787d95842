//! The gate: "may this request pass?", decided in one place for every
//! adapter (forward auth, the compat `/auth`, the Lambda authorizer, proxy
//! mode). Adapters hand over the original request's method, path, headers
//! (and body, when a rule needs it) and render the [`Decision`]; they
//! decide nothing themselves.
//!
//! Request → rule → credential → identity → decision:
//! - A tenant without rules behaves as before policies existed: any valid
//!   access token of the tenant passes, whatever the path.
//! - With rules, the request path is normalised once (see
//!   [`crate::policy`]) and the first rule whose methods and pattern match
//!   decides; none matching is a 403 (deny by default).
//! - The rule lists the credentials it accepts; any one suffices. Bearer
//!   JWTs are verified offline against the tenant's cached keys and HMAC
//!   signatures against its cached secrets (no database read); API keys
//!   and Basic checks are cached with a bound (see their modules).
//! - Then what the credential carries: every scope and role the rule
//!   names, or a 403 that says which is missing.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};

use super::api_keys::{ApiKeys, Principal};
use super::basic_auth::BasicAuth;
use super::sessions::active_session;
use super::{Deps, TenantContext};
use crate::Result;
use crate::apikey;
use crate::error::TokenUnusable;
use crate::policy::{Accept, RequestPath, Rule};
use crate::telemetry;
use crate::token::AccessClaims;
pub use crate::webhook::HeaderLookup;

/// What a caller presented.
pub enum Credential {
    /// `Authorization: Bearer <jwt or API key>` (or the bare token the
    /// compat clients send). A value with the API-key prefix is a key.
    Bearer(SecretString),
    /// `X-API-Key: <key>`.
    ApiKey(SecretString),
    /// `Authorization: Basic` (RFC 7617).
    Basic {
        username: String,
        password: SecretString,
    },
    /// An `Authorization` header Gatehouse cannot read; the reason.
    Malformed(&'static str),
}

impl Credential {
    /// The credential of a request's headers: `Authorization` (Bearer or
    /// Basic), else `X-API-Key`. `None` when there is none.
    pub fn from_headers(headers: &dyn HeaderLookup) -> Option<Credential> {
        if let Some(value) = headers.header("authorization") {
            let value = value.trim();
            let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
            let rest = rest.trim();
            // RFC 9110 §11.1: the scheme is case-insensitive.
            if scheme.eq_ignore_ascii_case("bearer") {
                return Some(if rest.is_empty() {
                    Credential::Malformed("the Bearer credential is empty")
                } else {
                    Credential::Bearer(SecretString::from(rest.to_string()))
                });
            }
            if scheme.eq_ignore_ascii_case("basic") {
                return Some(parse_basic(rest));
            }
            return Some(Credential::Malformed(
                "the Authorization scheme must be Bearer or Basic",
            ));
        }
        headers
            .header("x-api-key")
            .map(|key| Credential::ApiKey(SecretString::from(key.trim().to_string())))
    }

    fn kind(&self) -> Option<CredentialKind> {
        match self {
            Credential::Bearer(t) if apikey::looks_like_key(t.expose_secret()) => {
                Some(CredentialKind::ApiKey)
            }
            Credential::Bearer(_) => Some(CredentialKind::Jwt),
            Credential::ApiKey(_) => Some(CredentialKind::ApiKey),
            Credential::Basic { .. } => Some(CredentialKind::Basic),
            Credential::Malformed(_) => None,
        }
    }
}

fn parse_basic(encoded: &str) -> Credential {
    let Ok(bytes) = STANDARD.decode(encoded) else {
        return Credential::Malformed("the Basic credentials are not base64");
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Credential::Malformed("the Basic credentials are not UTF-8");
    };
    match text.split_once(':') {
        Some((user, pass)) if !user.is_empty() => Credential::Basic {
            username: user.to_string(),
            password: SecretString::from(pass.to_string()),
        },
        _ => Credential::Malformed("the Basic credentials must be `username:password`"),
    }
}

/// Which kind of credential an identity was proven with (the
/// `X-Auth-Credential` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Jwt,
    ApiKey,
    Basic,
    Hmac,
    Public,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Jwt => "jwt",
            CredentialKind::ApiKey => "api_key",
            CredentialKind::Basic => "basic",
            CredentialKind::Hmac => "hmac",
            CredentialKind::Public => "public",
        }
    }

    fn accept(self) -> Accept {
        match self {
            CredentialKind::Jwt => Accept::Jwt,
            CredentialKind::ApiKey => Accept::ApiKey,
            CredentialKind::Basic => Accept::Basic,
            CredentialKind::Hmac => Accept::Hmac,
            CredentialKind::Public => Accept::Public,
        }
    }
}

/// One question to the gate: the original request, as the adapter got it.
pub struct GateRequest<'a> {
    /// The original request's method.
    pub method: &'a str,
    /// The original path and query, raw as received.
    pub path: &'a str,
    /// The credential, usually [`Credential::from_headers`]; adapters with
    /// their own formats (compat, Lambda) fill it themselves.
    pub credential: Option<Credential>,
    /// Lowercase header name → first value (HMAC rules read signatures).
    pub headers: &'a (dyn HeaderLookup + Sync),
    /// The body, when the adapter read it (see [`Gate::wants_body`]).
    pub body: Option<&'a [u8]>,
    /// Also confirm in the store that a JWT's session is still active
    /// (`/auth?session=check`). Costs one database read.
    pub check_session: bool,
}

/// No headers (adapters that have none, such as the Lambda TOKEN event).
pub struct NoHeaders;

impl HeaderLookup for NoHeaders {
    fn header(&self, _: &str) -> Option<&str> {
        None
    }
}

/// Who the caller is, once proven.
#[derive(Debug, Clone)]
pub struct Identity {
    pub tenant: String,
    pub credential: CredentialKind,
    /// The user id (JWT, Basic, a user's key) or `apikey:<id>` for a
    /// service key; `None` for public and HMAC requests.
    pub subject: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
    /// The API key's id.
    pub key_id: Option<String>,
    /// The name of the rule that let it pass, if it has one.
    pub rule: Option<String>,
    /// A JWT's verified claims.
    pub claims: Option<Arc<AccessClaims>>,
}

impl Identity {
    fn anonymous(tenant: &str, kind: CredentialKind) -> Self {
        Self {
            tenant: tenant.to_string(),
            credential: kind,
            subject: None,
            username: None,
            email: None,
            scopes: Vec::new(),
            roles: Vec::new(),
            key_id: None,
            rule: None,
            claims: None,
        }
    }

    fn of_user(tenant: &str, kind: CredentialKind, user: &Principal, scopes: Vec<String>) -> Self {
        Self {
            subject: Some(user.id.clone()),
            username: Some(user.username.clone()),
            email: user.email.clone(),
            scopes,
            roles: user.roles.clone(),
            ..Self::anonymous(tenant, kind)
        }
    }

    /// The space-separated scopes (`X-Auth-Scope`).
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }
}

/// How to ask for (better) credentials: the 401's `WWW-Authenticate`
/// challenges, rendered by the server in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Why the presented credential failed; `None` when there was none
    /// (RFC 6750 §3.1: no error code then).
    pub error: Option<String>,
    /// The schemes to offer, in order; never empty.
    pub schemes: Vec<ChallengeScheme>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeScheme {
    /// `Bearer realm="gatehouse"` (RFC 6750), for JWTs and API keys.
    Bearer,
    /// `Basic realm="<realm>", charset="UTF-8"` (RFC 7617).
    Basic { realm: String },
}

impl Challenge {
    fn bearer(error: Option<String>) -> Self {
        Self {
            error,
            schemes: vec![ChallengeScheme::Bearer],
        }
    }
}

/// The gate's answer.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Pass, as this identity (boxed: it is large, the other answers small).
    Allow(Box<Identity>),
    /// No valid credential: ask for one (401).
    Challenge(Challenge),
    /// May not pass (403), with the reason.
    Deny(String),
}

#[derive(Clone)]
pub struct Gate {
    deps: Arc<Deps>,
    api_keys: ApiKeys,
    basic: BasicAuth,
}

impl Gate {
    pub(crate) fn new(deps: Arc<Deps>, api_keys: ApiKeys, basic: BasicAuth) -> Self {
        Self {
            deps,
            api_keys,
            basic,
        }
    }

    /// Whether the rule this request matches checks an HMAC signature, so
    /// the adapter must read the body and hand it over. Cheap: memory only.
    pub fn wants_body(&self, ctx: &TenantContext, method: &str, path: &str) -> bool {
        // Without rules nothing checks a signature: no path to normalise.
        if ctx.policy().is_empty() {
            return false;
        }
        let Ok(path) = RequestPath::parse(path) else {
            return false;
        };
        ctx.policy()
            .rule_for(method, &path)
            .is_some_and(|rule| rule.accepts(Accept::Hmac))
    }

    /// Decides one request. Only a fault (the store failing during an
    /// API-key, Basic or session check) is an error; every answer about
    /// the caller is a [`Decision`]. Each answer is counted
    /// (`gatehouse_gate_decisions_total`).
    #[tracing::instrument(skip_all, fields(tenant = %ctx.name(), method = %request.method))]
    pub async fn decide(&self, ctx: &TenantContext, request: GateRequest<'_>) -> Result<Decision> {
        let presented = match &request.credential {
            None => "none",
            Some(credential) => credential
                .kind()
                .map_or("malformed", CredentialKind::as_str),
        };
        let decision = self.judge(ctx, request).await;
        let (outcome, credential) = match &decision {
            Ok(Decision::Allow(identity)) => ("allow", identity.credential.as_str()),
            Ok(Decision::Challenge(_)) => ("challenge", presented),
            Ok(Decision::Deny(_)) => ("deny", presented),
            Err(_) => ("error", presented),
        };
        telemetry::gate_decision(outcome, credential);
        decision
    }

    async fn judge(&self, ctx: &TenantContext, request: GateRequest<'_>) -> Result<Decision> {
        let policy = ctx.policy();
        if policy.is_empty() {
            return self.any_access_token(ctx, request).await;
        }
        let path = match RequestPath::parse(request.path) {
            Ok(path) => path,
            Err(e) => return Ok(Decision::Deny(format!("the request path is refused: {e}"))),
        };
        let Some(rule) = policy.rule_for(request.method, &path) else {
            return Ok(Decision::Deny(
                "no rule of this tenant allows this request".to_string(),
            ));
        };
        let named = |what: &str| match rule.name() {
            Some(name) => format!("rule `{name}` {what}"),
            None => format!("the matching rule {what}"),
        };
        if rule.accepts(Accept::Deny) {
            return Ok(Decision::Deny(named("denies this request")));
        }
        if rule.accepts(Accept::Public) {
            let mut identity = Identity::anonymous(ctx.name(), CredentialKind::Public);
            identity.rule = rule.name().map(String::from);
            return Ok(Decision::Allow(Box::new(identity)));
        }
        let kind = request.credential.as_ref().and_then(Credential::kind);
        let outcome = match (&request.credential, kind) {
            (Some(credential), Some(kind)) if rule.accepts(kind.accept()) => {
                let realm = rule.realm().unwrap_or(DEFAULT_BASIC_REALM);
                self.prove(ctx, credential, request.check_session, realm)
                    .await?
            }
            (Some(Credential::Malformed(reason)), _) if accepts_any_credential(rule) => {
                Err(challenge_for(rule, Some((*reason).to_string())))
            }
            // A signed webhook: whatever else it carries, the signature decides.
            _ if rule.accepts(Accept::Hmac) => self.check_signature(ctx, rule, &request)?,
            (Some(_), Some(kind)) => Err(challenge_for(
                rule,
                Some(format!(
                    "this route does not accept {} credentials",
                    kind.as_str()
                )),
            )),
            _ => Err(challenge_for(rule, None)),
        };
        let mut identity = match outcome {
            Ok(identity) => identity,
            Err(decision) => return Ok(decision),
        };
        if let Some(missing) = rule.scopes().iter().find(|s| !identity.scopes.contains(s)) {
            return Ok(Decision::Deny(named(&format!(
                "needs the scope `{missing}`, which this credential does not carry"
            ))));
        }
        if let Some(missing) = rule.roles().iter().find(|r| !identity.roles.contains(r)) {
            return Ok(Decision::Deny(named(&format!(
                "needs the role `{missing}`, which this caller does not have"
            ))));
        }
        identity.rule = rule.name().map(String::from);
        Ok(Decision::Allow(Box::new(identity)))
    }

    /// The behaviour of a tenant without rules: a valid access token of
    /// the tenant, on any path.
    async fn any_access_token(
        &self,
        ctx: &TenantContext,
        request: GateRequest<'_>,
    ) -> Result<Decision> {
        match request.credential {
            Some(credential @ Credential::Bearer(_))
                if credential.kind() == Some(CredentialKind::Jwt) =>
            {
                Ok(
                    match self
                        .prove(ctx, &credential, request.check_session, DEFAULT_BASIC_REALM)
                        .await?
                    {
                        Ok(identity) => Decision::Allow(Box::new(identity)),
                        Err(decision) => decision,
                    },
                )
            }
            Some(Credential::Malformed(reason)) => Ok(Decision::Challenge(Challenge::bearer(
                Some(reason.to_string()),
            ))),
            Some(_) => Ok(Decision::Challenge(Challenge::bearer(Some(
                "this tenant has no route policy; only access tokens pass".to_string(),
            )))),
            None => Ok(Decision::Challenge(Challenge::bearer(None))),
        }
    }

    /// Proves a JWT, API key or Basic credential; `Err` holds the 401.
    async fn prove(
        &self,
        ctx: &TenantContext,
        credential: &Credential,
        check_session: bool,
        basic_realm: &str,
    ) -> Result<Result<Identity, Decision>> {
        let tenant = ctx.name();
        let bearer_challenge = |error: String| Decision::Challenge(Challenge::bearer(Some(error)));
        match credential {
            Credential::Bearer(token) if !apikey::looks_like_key(token.expose_secret()) => {
                let claims = match verify_access_token(&self.deps, ctx, token.expose_secret()) {
                    Ok(claims) => claims,
                    Err(e) => return Ok(Err(bearer_challenge(e.to_string()))),
                };
                if check_session {
                    let active = match &claims.sid {
                        Some(sid) => active_session(&self.deps, ctx, sid, self.deps.now())
                            .await?
                            .is_some(),
                        None => false,
                    };
                    if !active {
                        return Ok(Err(bearer_challenge(
                            TokenUnusable::SessionEnded.to_string(),
                        )));
                    }
                }
                Ok(Ok(Identity {
                    subject: Some(claims.sub.clone()),
                    username: claims.preferred_username.clone(),
                    email: claims.email.clone(),
                    scopes: claims.scope.split_whitespace().map(String::from).collect(),
                    roles: claims.roles.clone(),
                    claims: Some(claims),
                    ..Identity::anonymous(tenant, CredentialKind::Jwt)
                }))
            }
            Credential::Bearer(key) | Credential::ApiKey(key) => {
                let Some(found) = self.api_keys.verify(ctx, key.expose_secret()).await? else {
                    return Ok(Err(bearer_challenge(
                        "the API key is not valid (unknown, revoked or expired)".to_string(),
                    )));
                };
                let scopes = found.record.scopes.clone();
                let mut identity = match &found.owner {
                    Some(user) => Identity::of_user(tenant, CredentialKind::ApiKey, user, scopes),
                    None => Identity {
                        subject: Some(format!("apikey:{}", found.record.id)),
                        username: Some(found.record.name.clone()),
                        scopes,
                        ..Identity::anonymous(tenant, CredentialKind::ApiKey)
                    },
                };
                identity.key_id = Some(found.record.id.clone());
                Ok(Ok(identity))
            }
            Credential::Basic { username, password } => {
                match self.basic.check(ctx, username, password.clone()).await? {
                    Some(user) => Ok(Ok(Identity::of_user(
                        tenant,
                        CredentialKind::Basic,
                        &user,
                        Vec::new(),
                    ))),
                    None => Ok(Err(Decision::Challenge(Challenge {
                        error: Some("the username or password is incorrect".to_string()),
                        schemes: vec![ChallengeScheme::Basic {
                            realm: basic_realm.to_string(),
                        }],
                    }))),
                }
            }
            Credential::Malformed(reason) => Ok(Err(bearer_challenge(reason.to_string()))),
        }
    }

    /// Checks the rule's HMAC signature over the body, against its secrets
    /// (held in the tenant context, opened once per load). A fault of the
    /// tenant's configuration (the rule's secrets unset, or unusable as a
    /// key) is an error, logged and answered 5xx: the sender did nothing
    /// wrong, and a webhook sender retries a 5xx, so deliveries resume
    /// once the secret is fixed.
    fn check_signature(
        &self,
        ctx: &TenantContext,
        rule: &Rule,
        request: &GateRequest<'_>,
    ) -> Result<std::result::Result<Identity, Decision>> {
        let misconfigured = |what: String| {
            let rule = rule.name().unwrap_or("(unnamed)");
            crate::Error::Internal(format!("tenant {}, rule {rule}: {what}", ctx.name()))
        };
        let Some(hmac) = rule.hmac() else {
            return Err(misconfigured("the rule names no HMAC scheme".to_string()));
        };
        let Some(body) = request.body else {
            return Ok(Err(Decision::Deny(
                "this route checks an HMAC signature over the request body, which was not \
                 sent here: use proxy mode, or have the gateway send the body (Envoy \
                 `with_request_body`, or a POST of it to /auth)"
                    .to_string(),
            )));
        };
        let secrets = ctx.secrets_named(hmac.secret_names());
        if secrets.is_empty() {
            return Err(misconfigured(format!(
                "none of the secrets {:?} is set (PUT /admin/t/{}/secrets/NAME)",
                hmac.secret_names(),
                ctx.name()
            )));
        }
        match crate::webhook::verify(
            &hmac.scheme(),
            &secrets,
            request.headers,
            body,
            self.deps.now(),
        ) {
            Ok(()) => Ok(Ok(Identity::anonymous(ctx.name(), CredentialKind::Hmac))),
            Err(e) if e.is_configuration_fault() => Err(misconfigured(e.to_string())),
            Err(e) => Ok(Err(Decision::Challenge(Challenge {
                error: Some(e.to_string()),
                schemes: vec![ChallengeScheme::Bearer],
            }))),
        }
    }

    /// Offline verification of an access token of this tenant, with this
    /// node's clock and leeway (also for `gatehouse token verify` and the
    /// OpenFaaS `verify` format).
    pub fn verify(&self, ctx: &TenantContext, token: &str) -> Result<AccessClaims> {
        verify_access_token(&self.deps, ctx, token).map(Arc::unwrap_or_clone)
    }
}

/// The realm of a Basic challenge when the rule names none.
pub const DEFAULT_BASIC_REALM: &str = "gatehouse";

fn accepts_any_credential(rule: &Rule) -> bool {
    [Accept::Jwt, Accept::ApiKey, Accept::Basic]
        .into_iter()
        .any(|a| rule.accepts(a))
}

/// The 401 of a rule: a Bearer challenge if it takes tokens or keys, a
/// Basic one (in the rule's realm) if it takes Basic; both if both.
fn challenge_for(rule: &Rule, error: Option<String>) -> Decision {
    let mut schemes = Vec::new();
    if rule.accepts(Accept::Jwt) || rule.accepts(Accept::ApiKey) || rule.accepts(Accept::Hmac) {
        schemes.push(ChallengeScheme::Bearer);
    }
    if rule.accepts(Accept::Basic) {
        schemes.push(ChallengeScheme::Basic {
            realm: rule.realm().unwrap_or(DEFAULT_BASIC_REALM).to_string(),
        });
    }
    if schemes.is_empty() {
        schemes.push(ChallengeScheme::Bearer);
    }
    Decision::Challenge(Challenge { error, schemes })
}

/// Verification with the node's clock and leeway: the one call site of the
/// verifier in core. A token this node already verified under the same
/// keyring load is not verified again (see `verified_tokens`).
pub(crate) fn verify_access_token(
    deps: &Deps,
    ctx: &TenantContext,
    token: &str,
) -> Result<Arc<AccessClaims>> {
    let keyring = ctx.keyring();
    let now = deps.now();
    let leeway = deps.settings.leeway_secs;
    Ok(deps
        .verified_tokens
        .get_or_verify(keyring.generation(), token, now, leeway, || {
            gatehouse_jwt::verify_access_token(keyring.key_set(), token, now, leeway)
        })?)
}
