//! The JSON shapes of core's types as the API writes them, and the bodies
//! that no server type carries (`json!` answers, the error body).
//!
//! Core stays free of HTTP and of utoipa, so its types are described here,
//! field for field as their `Serialize` writes them; each names the type
//! it stands for. These structs are never built: they exist for their
//! schema. Drift shows in the schemathesis run (`tests/api/schemathesis.rs`),
//! which checks every answer against them. Objects are left open
//! (additional properties allowed), so adding a field to a core type
//! breaks no client and no check; removing or retyping one does.
#![allow(dead_code)]

use serde_json::Value;
use utoipa::ToSchema;

/// Every error, everywhere (`crate::error::ApiError`): an RFC 6749 §5.2
/// code and a human sentence. Never a stack trace or SQL text.
#[derive(ToSchema)]
#[schema(example = json!({"error": "invalid_request", "error_description": "the body does not fit this endpoint: missing field `password`"}))]
pub struct ErrorBody {
    /// A stable code: `invalid_request`, `invalid_grant`, `invalid_client`,
    /// `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`,
    /// `invalid_token`, `insufficient_scope`, `access_denied`, `not_found`,
    /// `tenant_not_found`, `conflict`, …
    error: String,
    /// What went wrong, in a sentence for people.
    error_description: String,
}

/// A request taken to be handled in the background; the same answer
/// whatever the outcome (so it tells nothing about which accounts exist).
#[derive(ToSchema)]
pub struct Accepted {
    #[schema(example = "accepted")]
    status: String,
    message: String,
}

/// A user (`gatehouse_core::user::User`): never a password hash.
#[derive(ToSchema)]
pub struct User {
    /// Stable id; the `sub` of the user's tokens.
    id: String,
    username: String,
    #[schema(required = true)]
    email: Option<String>,
    #[schema(required = true)]
    first_name: Option<String>,
    #[schema(required = true)]
    last_name: Option<String>,
    roles: Vec<String>,
    email_verified: bool,
    disabled: bool,
    /// Failed password attempts since the last success (soft lock).
    failed_logins: Option<i64>,
    /// Until when password attempts are refused (Unix seconds).
    locked_until: Option<i64>,
    /// Unix seconds.
    created_at: i64,
}

/// The OAuth 2.0 token response (RFC 6749 §5.1;
/// `gatehouse_core::token::TokenResponse`).
#[derive(ToSchema)]
pub struct TokenResponse {
    /// An RFC 9068 JWT (`typ: at+jwt`).
    access_token: String,
    #[schema(example = "Bearer")]
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// Opaque, single use: each refresh returns a new one. Absent for
    /// client credentials and for a code flow without `offline_access`.
    refresh_token: Option<String>,
    /// The granted scopes, space-separated.
    scope: String,
    /// The OpenID Connect ID token, when `openid` was granted.
    id_token: Option<String>,
}

/// A session as its user and admins see it
/// (`gatehouse_core::service::user_admin::SessionView`).
#[derive(ToSchema)]
pub struct SessionView {
    id: String,
    client_id: String,
    scope: String,
    created_at: i64,
    #[schema(required = true)]
    last_refreshed_at: Option<i64>,
    expires_at: i64,
    #[schema(required = true)]
    ip: Option<String>,
    #[schema(required = true)]
    user_agent: Option<String>,
    /// Present (true) on the session of the token that asked.
    current: Option<bool>,
}

/// One page of users (`gatehouse_core::service::user_admin::UserPage`).
#[derive(ToSchema)]
pub struct UserPage {
    users: Vec<User>,
    /// Pass as `cursor` for the next page; `null` on the last.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// An OAuth client (`gatehouse_core::service::clients::ClientView`):
/// never its secret.
#[derive(ToSchema)]
pub struct ClientView {
    client_id: String,
    name: String,
    /// `confidential` or `public`.
    #[schema(rename = "type", example = "confidential")]
    client_type: String,
    grants: Vec<String>,
    scopes: Vec<String>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    /// `client_secret_basic` (confidential) or `none` (public).
    token_endpoint_auth_method: String,
    /// Until when the secret from before the last rotation still works.
    previous_secret_expires_at: Option<i64>,
    created_at: i64,
}

/// A client just made, or its secret just rotated
/// (`gatehouse_core::service::clients::ClientWithSecret`): the only answer
/// that shows the secret.
#[derive(ToSchema)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    client: ClientView,
    /// Confidential clients only.
    client_secret: Option<String>,
}

/// What an operator asks for when registering a client
/// (`gatehouse_core::oauth::client::ClientSpec`).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// Shown on the hosted sign-in page (`client_name` is accepted too).
    name: String,
    /// `confidential` (default) or `public`.
    #[schema(rename = "type")]
    client_type: Option<String>,
    /// RFC 7591 §2: `none` (public), `client_secret_basic` or
    /// `client_secret_post` (confidential).
    token_endpoint_auth_method: Option<String>,
    /// `authorization_code`, `client_credentials`, `refresh_token`.
    #[serde(default)]
    grants: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
}

/// An API key (`gatehouse_core::service::api_keys::ApiKeyView`): never
/// the key itself.
#[derive(ToSchema)]
pub struct ApiKeyView {
    id: String,
    name: String,
    scopes: Vec<String>,
    /// The id of the user the key acts as, if any.
    #[schema(required = true)]
    user: Option<String>,
    created_at: i64,
    #[schema(required = true)]
    expires_at: Option<i64>,
    #[schema(required = true)]
    last_used_at: Option<i64>,
}

/// An API key just made, with the key: shown this once, never again
/// (`gatehouse_core::service::api_keys::CreatedApiKeyView`).
#[derive(ToSchema)]
pub struct CreatedApiKeyView {
    #[serde(flatten)]
    view: ApiKeyView,
    /// The key, for `Authorization: Bearer` or `X-API-Key`.
    key: String,
}

/// A tenant's route policy (`gatehouse_core::policy::PolicyDocument`):
/// ordered rules, the first that matches decides.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    rules: Vec<RuleDocument>,
}

/// What a rule lets through; any one suffices.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Accept {
    Public,
    Jwt,
    ApiKey,
    Basic,
    Hmac,
    Deny,
}

/// One rule (`gatehouse_core::policy::RuleDocument`): which requests it
/// matches (`methods`, and `path` or OpenFaaS `function`) and what they
/// must present.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDocument {
    name: Option<String>,
    methods: Option<Vec<String>>,
    /// A path pattern: `*` within a segment, `**` across segments.
    path: Option<String>,
    /// An OpenFaaS function name pattern.
    function: Option<String>,
    allow: Vec<Accept>,
    scopes: Option<Vec<String>>,
    roles: Option<Vec<String>>,
    /// The Basic realm.
    realm: Option<String>,
    hmac: Option<HmacConfig>,
}

/// A rule's HMAC section (`gatehouse_core::policy::HmacConfig`).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HmacConfig {
    /// `github`, `stripe`, `standard` or `generic`.
    scheme: String,
    /// The name of a tenant secret (`/admin/t/{tenant}/secrets`).
    secret: Option<String>,
    secrets: Option<Vec<String>>,
    tolerance: Option<i64>,
    algorithm: Option<String>,
    header: Option<String>,
    encoding: Option<String>,
    prefix: Option<String>,
    timestamp_header: Option<String>,
}

/// A webhook secret as listed: its name and age, never its value
/// (`gatehouse_core::service::tenant_secrets::SecretName`).
#[derive(ToSchema)]
pub struct SecretName {
    name: String,
    created_at: i64,
}

/// RFC 7662 §2.2 (`gatehouse_core::service::introspection::Introspection`):
/// `active`, and for an active token what it is.
#[derive(ToSchema)]
pub struct Introspection {
    active: bool,
    scope: Option<String>,
    client_id: Option<String>,
    username: Option<String>,
    /// `Bearer` (access token) or `refresh_token`.
    token_type: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    sub: Option<String>,
    aud: Option<Audience>,
    iss: Option<String>,
    jti: Option<String>,
    sid: Option<String>,
}

/// The OIDC UserInfo answer (Core §5.3;
/// `gatehouse_core::service::userinfo::UserInfo`): `sub`, and the claims
/// the token's scopes open.
#[derive(ToSchema)]
pub struct UserInfo {
    sub: String,
    preferred_username: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
    roles: Option<Vec<String>>,
}

/// RFC 7519 §4.1.3: one audience as a string, several as an array.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Who passed the gate: for a JWT its verified claims (`iss`, `sub`,
/// `aud`, `exp`, `scope`, …), for an API key or Basic credentials the
/// identity (`sub`, `tenant`, `credential`, …). The same facts are in the
/// `X-Auth-*` headers.
#[derive(ToSchema)]
pub struct GateIdentity {
    sub: Option<String>,
    iss: Option<String>,
    aud: Option<Audience>,
    exp: Option<i64>,
    preferred_username: Option<String>,
    email: Option<String>,
    scope: Option<String>,
    roles: Option<Vec<String>>,
    tenant: Option<String>,
    /// `jwt`, `api_key`, `basic`, `hmac` or `public`.
    credential: Option<String>,
    key_id: Option<String>,
    /// The policy rule that decided.
    rule: Option<String>,
}

/// OpenID Connect Discovery 1.0 §3 metadata, with Gatehouse's own
/// endpoints (`*_endpoint_gatehouse`).
#[derive(ToSchema)]
pub struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    end_session_endpoint: String,
    response_types_supported: Vec<String>,
    grant_types_supported: Vec<String>,
    code_challenge_methods_supported: Vec<String>,
    token_endpoint_auth_methods_supported: Vec<String>,
    subject_types_supported: Vec<String>,
    id_token_signing_alg_values_supported: Vec<String>,
    scopes_supported: Vec<String>,
    claims_supported: Vec<String>,
}

/// A JWK Set (RFC 7517 §5): the tenant's public keys.
#[derive(ToSchema)]
pub struct Jwks {
    /// RFC 7517 §4 keys: `kty`, `kid`, `alg`, `use`, and the public
    /// parameters of the key type.
    #[schema(value_type = Vec<Object>)]
    keys: Vec<Value>,
}

/// `/healthz`: the process answers.
#[derive(ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: String,
}

/// `/readyz`: whether the store answers, and how mail stands (which never
/// makes a node unready).
#[derive(ToSchema)]
pub struct Readiness {
    /// `ready`, or `unavailable` with `error` and `error_description`.
    status: String,
    error: Option<String>,
    error_description: Option<String>,
    /// `{"mode": "log"}`, or the SMTP queue: `mode`, `reachable`,
    /// `queued`, `dropped`, `last_error`.
    #[schema(value_type = Object)]
    mail: Value,
}

/// A verified email address.
#[derive(ToSchema)]
pub struct EmailVerified {
    verified: bool,
    user_id: String,
    email: String,
}

/// A password set through a reset link.
#[derive(ToSchema)]
pub struct PasswordReset {
    #[schema(example = "password_reset")]
    status: String,
}

/// The originals' error shape (OpenFaaS functions): one sentence, no code.
#[derive(ToSchema)]
pub struct CompatError {
    error: String,
}

/// The domain-based service's login answer.
#[derive(ToSchema)]
pub struct DomainLogin {
    /// The access token.
    token: String,
    #[schema(required = true)]
    refresh_token: Option<String>,
}

/// A fresh access token of the same session.
#[derive(ToSchema)]
pub struct DomainRefresh {
    token: String,
}

/// knock's answer.
#[derive(ToSchema)]
pub struct KnockToken {
    jwt: String,
}

/// The OpenAPI document itself.
#[derive(ToSchema)]
pub struct OpenApiDocument {
    #[schema(example = "3.1.0")]
    openapi: String,
    #[schema(value_type = Object)]
    info: Value,
    #[schema(value_type = Object)]
    paths: Value,
}

/// An authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1;
/// `gatehouse_core::service::authorize::AuthorizationRequest`): the query
/// of `GET /authorize`, and the hidden fields its form posts back. A
/// parameter sent twice is refused.
#[derive(ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizationRequest {
    /// `code`.
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    /// PKCE (RFC 7636), required.
    code_challenge: Option<String>,
    /// `S256`.
    code_challenge_method: Option<String>,
    /// `none` or `login`.
    prompt: Option<String>,
    max_age: Option<String>,
    /// `query`.
    response_mode: Option<String>,
    login_hint: Option<String>,
    /// Request objects are not supported: refused.
    request: Option<String>,
    /// Request objects are not supported: refused.
    request_uri: Option<String>,
}

/// What the hosted sign-in form posts: the credentials, its CSRF token,
/// and the authorization request it was shown for.
#[derive(ToSchema)]
pub struct SignInForm {
    username: Option<String>,
    password: Option<String>,
    /// The token of the form, matched against its cookie.
    csrf_token: Option<String>,
    #[serde(flatten)]
    request: AuthorizationRequest,
}

/// An RP-initiated logout request (OIDC RP-Initiated Logout 1.0 §2;
/// `gatehouse_core::service::end_session::LogoutRequest`).
#[derive(ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogoutRequest {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    /// One of the client's registered `post_logout_redirect_uris`.
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    logout_hint: Option<String>,
    ui_locales: Option<String>,
}

/// A tenant's signing algorithm (`gatehouse_jwt::SigningAlgorithm`).
#[derive(ToSchema)]
pub enum SigningAlgorithm {
    RS256,
    PS256,
    ES256,
    EdDSA,
    HS256,
}

/// The OpenFaaS register function's answers: created, or its error
/// (which the original answered with 200, as this does).
#[derive(ToSchema)]
#[serde(untagged)]
pub enum OpenFaasRegistered {
    Created(OpenFaasCreated),
    Refused(CompatError),
}

#[derive(ToSchema)]
pub struct OpenFaasCreated {
    username: String,
    #[schema(example = "created")]
    status: String,
}

/// The OpenFaaS login function's answers: the token, or its error.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum OpenFaasLoggedIn {
    LoggedIn(OpenFaasToken),
    Refused(CompatError),
}

/// The token carries `user: {email, first_name, last_name, username}`.
#[derive(ToSchema)]
pub struct OpenFaasToken {
    username: String,
    token: String,
}

/// The OpenFaaS verify function's answers: `[payload, header]` as
/// ruby-jwt's `JWT.decode` returns them, or its error.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum OpenFaasVerified {
    Decoded(DecodedJwt),
    Refused(CompatError),
}

/// `[payload, header]`: the verified token's claims and its JOSE header.
#[derive(ToSchema)]
#[schema(value_type = Vec<Object>)]
pub struct DecodedJwt(Vec<Value>);

/// A page of a tenant's audit events, newest first
/// (`gatehouse_core::service::audit_log::EventPage`).
#[derive(ToSchema)]
pub struct EventPage {
    events: Vec<AuditEvent>,
    /// Pass as `cursor` for the next page; `null` on the last.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// One security event (`gatehouse_core::audit::AuditEvent`).
#[derive(ToSchema)]
pub struct AuditEvent {
    id: String,
    /// Unix seconds.
    at: i64,
    /// `login.failure`, `user.disabled`, …
    kind: String,
    #[schema(required = true)]
    actor: Option<String>,
    #[schema(required = true)]
    subject: Option<String>,
    #[schema(required = true)]
    ip: Option<String>,
    #[schema(required = true)]
    user_agent: Option<String>,
    /// `success` or `failure`.
    outcome: String,
    #[schema(required = true)]
    reason: Option<String>,
}
