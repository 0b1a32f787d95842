//! OAuth 2.0 / OpenID Connect with client libraries Gatehouse does not
//! contain, against the real server, for tenants of each public-key
//! algorithm:
//! - Python's Authlib (`tests/interop/oauth_with_authlib.py`): client
//!   credentials (client_secret_basic and client_secret_post),
//!   introspection, revocation, the code flow with PKCE through the hosted
//!   form, ID tokens verified with `authlib.jose` and validated by
//!   `authlib.oidc.core.CodeIDToken`, userinfo, refresh;
//! - Node's openid-client v6 (`tests/js/openid_client_flow.mjs`):
//!   discovery, the code flow with PKCE, state and nonce, its own ID token
//!   and RFC 9207 `iss` checks, userinfo, refresh, introspection and
//!   revocation.
//!
//! Each script runs at most 60 s. Needs `python3` with `authlib` and
//! `requests`, and `node` with `npm ci` done in `tests/js`; `.ci/run`
//! installs them and sets `GATEHOUSE_TEST_REQUIRE_OAUTH_INTEROP=1`, so in
//! CI a missing tool fails the tests instead of skipping them.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::process::Command;

use crate::helpers::{PASSWORD, TestApp, spawn_app};
use crate::oauth_clients::create_client;

/// Every script gets this long, the server's part included.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

const AUTHLIB_SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/oauth_with_authlib.py"
);
/// The npm project of the JavaScript tests (`package.json`, `node_modules`).
pub const JS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js");

/// The tenants the libraries are run against: every public-key algorithm
/// (an HS256 ID token could only be checked with the tenant's secret).
const TENANTS: [(&str, &str); 4] = [
    ("rs", "RS256"),
    ("ps", "PS256"),
    ("es", "ES256"),
    ("ed", "EdDSA"),
];

/// A redirect URI that is never visited: the scripts read the code from
/// the `Location` header.
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Whether a probe command succeeds; when it does not and `require_var` is
/// set, the test fails with `how`.
pub async fn tool_available(
    program: &str,
    args: &[&str],
    cwd: &str,
    require_var: &str,
    how: &str,
) -> bool {
    let probe = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let ok = matches!(
        tokio::time::timeout(Duration::from_secs(30), probe).await,
        Ok(Ok(o)) if o.status.success()
    );
    if !ok && std::env::var_os(require_var).is_some() {
        panic!("{how} is required ({require_var} is set)");
    }
    if !ok {
        eprintln!("skipped: {how} not found");
    }
    ok
}

/// Runs `program args` in `cwd` for at most [`SCRIPT_TIMEOUT`] (the child
/// is killed after that), asserts exit status 0 with its stderr shown
/// otherwise, and returns the JSON it printed last on stdout.
pub async fn run_script(what: &str, program: &str, args: &[&str], cwd: &str) -> Value {
    let run = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("{what}: took over {SCRIPT_TIMEOUT:?}; killed"))
        .unwrap_or_else(|e| panic!("{what}: could not start {program}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stderr}\nstdout:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    let summary: Value = last
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("{what}: no JSON summary on stdout:\n{stdout}\n{stderr}"));
    assert_eq!(summary["ok"], true, "{what}: {summary}\n{stderr}");
    summary
}

/// A tenant signing with `alg`, the user ada, and three clients: a machine
/// client, a confidential web client and a public one. The scripts'
/// configuration.
async fn tenant_with_clients(app: &TestApp, tenant: &str, alg: &str) -> Value {
    app.create_tenant(tenant, alg).await;
    assert_eq!(
        app.register(tenant, "ada").await.status(),
        StatusCode::CREATED
    );
    let service = create_client(
        app,
        tenant,
        json!({"name": "Billing service", "type": "confidential",
               "grants": ["client_credentials"], "scopes": ["invoices:read", "invoices:write"]}),
    )
    .await;
    let user_scopes = json!(["openid", "profile", "email", "offline_access"]);
    let web = create_client(
        app,
        tenant,
        json!({"name": "Orders web", "type": "confidential",
               "grants": ["authorization_code", "refresh_token"],
               "scopes": user_scopes, "redirect_uris": [REDIRECT]}),
    )
    .await;
    let public = create_client(
        app,
        tenant,
        json!({"name": "Orders SPA", "type": "public",
               "grants": ["authorization_code", "refresh_token"],
               "scopes": user_scopes, "redirect_uris": [REDIRECT]}),
    )
    .await;
    json!({
        "issuer": app.iss(tenant),
        "alg": alg,
        "username": "ada",
        "password": PASSWORD,
        "service": {
            "client_id": service["client_id"],
            "client_secret": service["client_secret"],
            "scope": "invoices:read invoices:write",
        },
        "web": {
            "client_id": web["client_id"],
            "client_secret": web["client_secret"],
            "redirect_uri": REDIRECT,
        },
        "public": {"client_id": public["client_id"], "redirect_uri": REDIRECT},
    })
}

async fn authlib_available() -> bool {
    tool_available(
        "python3",
        &[
            "-c",
            "import requests; from authlib.integrations.requests_client import OAuth2Session; \
             from authlib.oidc.core import CodeIDToken; from authlib.jose import JsonWebToken",
        ],
        env!("CARGO_MANIFEST_DIR"),
        "GATEHOUSE_TEST_REQUIRE_OAUTH_INTEROP",
        "python3 with Authlib and requests (pip install 'authlib>=1.3' requests)",
    )
    .await
}

pub async fn node_module_available(module: &str, require_var: &str) -> bool {
    tool_available(
        "node",
        &[
            "--input-type=module",
            "-e",
            &format!("await import({module:?})"),
        ],
        JS_DIR,
        require_var,
        &format!("node with the npm package {module} (npm ci in {JS_DIR})"),
    )
    .await
}

#[tokio::test]
async fn authlib_client_credentials_introspection_revocation_and_code_flow_with_pkce() {
    if !authlib_available().await {
        return;
    }
    let app = spawn_app().await;
    for (tenant, alg) in TENANTS {
        let config = tenant_with_clients(&app, tenant, alg).await;
        let summary = run_script(
            &format!("Authlib against the {alg} tenant"),
            "python3",
            &[AUTHLIB_SCRIPT, &config.to_string()],
            env!("CARGO_MANIFEST_DIR"),
        )
        .await;
        assert_eq!(summary["alg"], alg);
        assert_eq!(summary["issuer"], app.iss(tenant));
        // Authlib's discovery validation has one known complaint, shown
        // here and reproduced by the ignored test below.
        for deviation in summary["discovery_deviations"].as_array().unwrap() {
            eprintln!(
                "{alg}: Authlib's OpenIDProviderMetadata.validate(): {}",
                deviation.as_str().unwrap_or_default()
            );
        }
    }
}

#[tokio::test]
async fn openid_client_code_flow_with_pkce_userinfo_refresh_and_revocation() {
    if !node_module_available("openid-client", "GATEHOUSE_TEST_REQUIRE_OAUTH_INTEROP").await {
        return;
    }
    let app = spawn_app().await;
    let script = Path::new(JS_DIR).join("openid_client_flow.mjs");
    for (tenant, alg) in TENANTS {
        let config = tenant_with_clients(&app, tenant, alg).await;
        let summary = run_script(
            &format!("openid-client against the {alg} tenant"),
            "node",
            &[script.to_str().unwrap(), &config.to_string()],
            JS_DIR,
        )
        .await;
        assert_eq!(summary["alg"], alg);
    }
}

/// A reproduction, not a fix: OpenID Connect Discovery 1.0 §3 says of
/// `id_token_signing_alg_values_supported` "The algorithm RS256 MUST be
/// included", and Core §15.1 makes RS256 ID tokens mandatory to offer
/// (a client that registers no `id_token_signed_response_alg` expects
/// RS256). A tenant created with ES256, PS256 or EdDSA lists and signs
/// only its own algorithm, so Authlib's `OpenIDProviderMetadata.validate()`
/// raises `ValueError: "RS256" MUST be included in
/// "id_token_signing_alg_values_supported"`. Listing RS256 alone would not
/// do: the ID tokens would then have to be signable with RS256 too.
#[tokio::test]
#[ignore = "server gap: non-RS256 tenants omit RS256 from id_token_signing_alg_values_supported (OIDC Discovery 1.0 §3)"]
async fn discovery_offers_rs256_id_tokens_on_every_tenant() {
    let app = spawn_app().await;
    app.create_tenant("es", "ES256").await;
    let r = app.get("/t/es/.well-known/openid-configuration").await;
    assert_eq!(r.status(), StatusCode::OK);
    let meta: Value = r.json().await.unwrap();
    let algs = &meta["id_token_signing_alg_values_supported"];
    assert!(
        algs.as_array().unwrap().contains(&json!("RS256")),
        "id_token_signing_alg_values_supported = {algs}"
    );
}
