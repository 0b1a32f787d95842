//! The OpenAPI 3.1 description of the HTTP surface, served at
//! `GET /openapi.json`.
//!
//! Each handler carries its own `#[utoipa::path]`: method, path,
//! parameters, body, and every status it can answer. This module collects
//! them into one document ([`ApiDoc`]), with what they share: the error
//! body and the responses many routes give ([`responses`]), the JSON
//! shapes of core's types ([`schemas`]; core stays free of HTTP), the
//! security schemes, and the tenant path parameter.
//!
//! Two tests keep it honest: `tests/api/openapi.rs` fails when a route the
//! router serves is not described here (or the other way round), and
//! `tests/api/schemathesis.rs` runs schemathesis against a real server
//! with this document, so an answer that breaks it fails the build.

mod responses;
pub mod schemas;

use std::sync::OnceLock;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{HttpMethod, OpenApi as Document};
use utoipa::{Modify, OpenApi};

pub use responses::{
    AdminRoute, AdminTenantRoute, BearerRoute, BodyLimits, JsonBody, RateLimited, RawBody,
    StoreRoute, TenantRoute,
};

/// `{tenant}`: every route under `/t/{tenant}` (and `/admin/t/{tenant}`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TenantPath {
    /// The tenant's name; `default` exists from the first start.
    #[param(pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", example = "default")]
    #[allow(dead_code)]
    tenant: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse",
        description = "A self-hosted authentication service: users, logins, JSON Web Tokens, sessions, \
            OAuth 2.0 and OpenID Connect, API keys and forward auth for gateways, per tenant. \
            `{iss}` is a tenant's issuer URL, `{public_url}/t/{tenant}`. Every error is \
            `{\"error\": code, \"error_description\": sentence}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        // {iss}/register, /login, /logout, email verification, passwords, me
        crate::routes::account::register::register,
        crate::routes::account::login::login,
        crate::routes::account::logout::logout,
        crate::routes::account::verify_email::by_link,
        crate::routes::account::verify_email::by_api,
        crate::routes::account::verify_email::resend,
        crate::routes::account::password::forgot,
        crate::routes::account::password::reset_page,
        crate::routes::account::password::reset,
        crate::routes::account::password::change,
        crate::routes::account::me::me,
        crate::routes::account::me::update_me,
        crate::routes::account::me::sessions,
        crate::routes::account::me::end_session,
        // OAuth 2.0 and OpenID Connect
        crate::routes::oauth::token::token,
        crate::routes::oauth::introspect::introspect,
        crate::routes::oauth::introspect::revoke,
        crate::routes::oauth::userinfo::userinfo,
        crate::routes::oauth::authorize::start,
        crate::routes::oauth::authorize::sign_in,
        crate::routes::oauth::end_session::by_query,
        crate::routes::oauth::end_session::by_form,
        // Forward auth
        crate::routes::gate::forward_auth::forward_auth,
        crate::routes::gate::forward_auth::envoy_auth,
        // A user's own API keys
        crate::routes::guard::api_keys::own_list,
        crate::routes::guard::api_keys::own_create,
        crate::routes::guard::api_keys::own_revoke,
        // Discovery
        crate::routes::discovery::jwks,
        crate::routes::discovery::openid_configuration,
        // The admin API
        crate::routes::admin::tenants::list_tenants,
        crate::routes::admin::tenants::create_tenant,
        crate::routes::admin::tenants::update_tenant,
        crate::routes::admin::keys::list_keys,
        crate::routes::admin::keys::rotate,
        crate::routes::admin::clients::list,
        crate::routes::admin::clients::create,
        crate::routes::admin::clients::show,
        crate::routes::admin::clients::delete,
        crate::routes::admin::clients::rotate_secret,
        crate::routes::admin::roles::show,
        crate::routes::admin::roles::replace,
        crate::routes::admin::roles::add,
        crate::routes::admin::roles::grant,
        crate::routes::admin::roles::revoke,
        crate::routes::admin::users::list,
        crate::routes::admin::users::create,
        crate::routes::admin::users::show,
        crate::routes::admin::users::update,
        crate::routes::admin::users::remove,
        crate::routes::admin::users::sessions,
        crate::routes::admin::users::end_all,
        crate::routes::admin::users::end_one,
        crate::routes::guard::policies::show,
        crate::routes::guard::policies::replace,
        crate::routes::guard::secrets::list,
        crate::routes::guard::secrets::set,
        crate::routes::guard::secrets::remove,
        crate::routes::guard::api_keys::admin_list,
        crate::routes::guard::api_keys::admin_create,
        crate::routes::guard::api_keys::admin_revoke,
        crate::routes::admin::users::unlock,
        crate::routes::admin::events::list,
        // The replaced systems' formats
        crate::routes::compat::openfaas::register,
        crate::routes::compat::openfaas::login,
        crate::routes::compat::openfaas::verify,
        crate::routes::compat::knock::named_tenant,
        crate::routes::compat::knock::default_tenant,
        crate::routes::compat::domain::login,
        crate::routes::compat::domain::refresh,
        crate::routes::compat::domain::auth,
        // Operations
        crate::routes::health::healthz,
        crate::routes::health::readyz,
        crate::routes::openapi::openapi_json,
        crate::routes::metrics::guarded,
    ),
    modifiers(&Shared, &UniqueOperationIds),
    tags(
        (name = "account", description = "A tenant's users: sign-up, sign-in, sign-out, email verification, \
            passwords, the signed-in user's profile, sessions and API keys."),
        (name = "oauth", description = "OAuth 2.0 and OpenID Connect: the token endpoint, introspection, \
            revocation, userinfo, the authorization endpoint with its hosted sign-in page, RP-initiated logout."),
        (name = "gate", description = "Forward auth for gateways: may this request pass?"),
        (name = "discovery", description = "What verifiers and clients need to know: keys and metadata."),
        (name = "admin", description = "The admin API, behind `Authorization: Bearer $GATEHOUSE_ADMIN_TOKEN`."),
        (name = "compat", description = "The formats of the systems Gatehouse replaces, so their clients move \
            over without edits."),
        (name = "health", description = "Liveness, readiness, and this description."),
    ),
)]
pub struct ApiDoc;

/// What the annotations cannot say: the shared responses, the security
/// schemes, and the version.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut Document) {
        doc.info.version = env!("CARGO_PKG_VERSION").to_string();
        let components = doc.components.get_or_insert_with(Default::default);
        components.responses.extend(responses::shared());
        let bearer = |description: &str| {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.description = Some(description.to_string());
            SecurityScheme::Http(http)
        };
        components.add_security_scheme(
            "admin_token",
            bearer(
                "The admin token, `GATEHOUSE_ADMIN_TOKEN` (the admin API is closed without one).",
            ),
        );
        components.add_security_scheme(
            "bearer",
            bearer("A user's access token (a JWT from `/login` or `/token`)."),
        );
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description = Some(
            "HTTP Basic: an OAuth client's id and secret (RFC 6749 §2.3.1), or a user's \
                  name and password where a policy rule accepts `basic`."
                .to_string(),
        );
        components.add_security_scheme(
            "metrics_token",
            bearer("The metrics token, `metrics_token`."),
        );
        components.add_security_scheme("client_basic", SecurityScheme::Http(basic.clone()));
        components.add_security_scheme("basic", SecurityScheme::Http(basic));
    }
}

/// One handler that serves several methods (`userinfo`, forward auth) has
/// one `operation_id`; OpenAPI wants one per operation, so those get the
/// method as a suffix (`userinfo_get`, `userinfo_post`).
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, doc: &mut Document) {
        for item in doc.paths.paths.values_mut() {
            let operations = [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Delete, &mut item.delete),
                (HttpMethod::Options, &mut item.options),
                (HttpMethod::Head, &mut item.head),
                (HttpMethod::Patch, &mut item.patch),
                (HttpMethod::Trace, &mut item.trace),
            ];
            let mut present: Vec<(HttpMethod, &mut utoipa::openapi::path::Operation)> = operations
                .into_iter()
                .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
                .collect();
            let shared = |a: &utoipa::openapi::path::Operation, ids: &[Option<String>]| {
                ids.iter().filter(|id| **id == a.operation_id).count() > 1
            };
            let ids: Vec<Option<String>> = present
                .iter()
                .map(|(_, op)| op.operation_id.clone())
                .collect();
            for (method, op) in present.iter_mut() {
                if shared(op, &ids)
                    && let Some(id) = &op.operation_id
                {
                    op.operation_id = Some(format!("{id}_{}", method_name(method)));
                }
            }
        }
    }
}

fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "get",
        HttpMethod::Put => "put",
        HttpMethod::Post => "post",
        HttpMethod::Delete => "delete",
        HttpMethod::Options => "options",
        HttpMethod::Head => "head",
        HttpMethod::Patch => "patch",
        HttpMethod::Trace => "trace",
    }
}

/// The document.
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// The document as JSON, built once.
pub fn json() -> Result<&'static str, serde_json::Error> {
    static JSON: OnceLock<String> = OnceLock::new();
    if let Some(json) = JSON.get() {
        return Ok(json);
    }
    let text = serde_json::to_string(&document())?;
    Ok(JSON.get_or_init(|| text))
}
