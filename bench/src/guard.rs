//! `guard`: `{iss}/auth` decisions per second for each credential kind a
//! route policy accepts, and proxy mode against the bare upstream.
//!
//! Set-up goes through the real admin API (so the server must run with
//! `GATEHOUSE_ADMIN_TOKEN`): it replaces the tenant's route policy with
//! [`POLICY`] (one rule per kind), sets the webhook secret, creates an API
//! key, and registers and logs in a fresh user. Before any load, every kind
//! is checked once: it must answer 200 with its own `X-Auth-Credential`, and
//! the same request without the credential must not answer 200 (the rule
//! really gates). Then each kind is one phase of [`crate::http::phase`]:
//! same warm-up, windows, median and latency as `http`.
//!
//! With `--upstream-url` (a `gatehouse-bench upstream`) the same request is
//! measured against the upstream directly; with `--proxy-url` too (the
//! server's `--proxy-listen`), through proxy mode with a JWT on the `jwt`
//! rule and without a credential on the `public` rule, and the ratios to
//! direct are reported.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::BenchResult;
use crate::http::{
    BenchUser, PhaseResults, Timing, bearer_header, check_health, load_client, login,
    loopback_base_url, outlives, phase, register, tenant_exists, token_algorithm, truncate,
};
use crate::stats::{Repeated, ratio};
use crate::upstream::SAW_CREDENTIAL;

/// Bumped when the JSON layout changes incompatibly.
pub const SCHEMA: &str = "gatehouse-bench-guard/1";

/// One rule per credential kind, and deny for everything else.
pub const POLICY: &str = r#"{"rules": [
  {"name": "public", "path": "/function/public", "allow": ["public"]},
  {"name": "jwt",    "path": "/function/jwt",    "allow": ["jwt"]},
  {"name": "key",    "path": "/function/key",    "allow": ["api_key"]},
  {"name": "basic",  "path": "/function/basic",  "allow": ["basic"]},
  {"name": "hook",   "methods": ["POST"], "path": "/function/hook", "allow": ["hmac"],
   "hmac": {"scheme": "github", "secret": "bench-hook"}},
  {"name": "rest",   "path": "/**", "allow": ["deny"]}
]}"#;

/// The webhook secret the `hook` rule names.
const HOOK_SECRET: &str = "bench-hook";

/// What the HMAC phase posts: a small GitHub-like event.
const HOOK_BODY: &[u8] =
    br#"{"action":"opened","number":1,"repository":{"full_name":"bench/gatehouse"}}"#;

/// Every kind, in the order they are measured.
pub const KINDS: [&str; 5] = ["public", "jwt", "api_key", "basic", "hmac"];

#[derive(Debug, Clone)]
pub struct GuardOptions {
    pub base_url: String,
    pub tenant: String,
    pub admin_token: SecretString,
    pub timing: Timing,
    pub concurrency: usize,
    pub client_threads: usize,
    /// The kinds to measure (a subset of [`KINDS`]).
    pub kinds: Vec<String>,
    /// Replace a route policy the tenant already has.
    pub replace_policy: bool,
    /// A `gatehouse-bench upstream`, measured directly.
    pub upstream_url: Option<String>,
    /// The server's proxy listener, forwarding to `upstream_url`.
    pub proxy_url: Option<String>,
    pub meta: BTreeMap<String, String>,
}

/// One credential kind's phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KindResults {
    /// `public`, `jwt`, `api_key`, `basic`, `hmac`: the `X-Auth-Credential`
    /// every counted answer carried.
    pub kind: String,
    /// What the request presented, for the table.
    pub credential: String,
    pub phase: PhaseResults,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProxyResults {
    pub upstream_url: String,
    pub proxy_url: Option<String>,
    /// `GET {upstream}/function/jwt`, no gate in between.
    pub direct: PhaseResults,
    /// `GET {proxy}/function/jwt` with `Authorization: Bearer <jwt>`.
    pub proxy_jwt: Option<PhaseResults>,
    /// `GET {proxy}/function/public` without a credential.
    pub proxy_public: Option<PhaseResults>,
    /// Median through the proxy ÷ median direct.
    pub proxy_jwt_over_direct: Option<f64>,
    pub proxy_public_over_direct: Option<f64>,
    /// Proxying a JWT request ÷ only deciding it at `/auth`.
    pub proxy_jwt_over_auth_jwt: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GuardResults {
    pub schema: String,
    pub meta: BTreeMap<String, String>,
    pub base_url: String,
    pub tenant: String,
    /// The tenant's signing algorithm (the JWT kind's verification).
    pub algorithm: String,
    pub concurrency: usize,
    pub client_threads: usize,
    pub kinds: Vec<KindResults>,
    pub proxy: Option<ProxyResults>,
    /// Things that make the numbers suspect, also printed under the table.
    pub warnings: Vec<String>,
}

/// One request shape, sent unchanged for a whole phase.
#[derive(Clone)]
struct Probe {
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Probe {
    fn get(url: String) -> Self {
        Self {
            method: Method::GET,
            url,
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }

    /// A forward-auth check at `{iss}/auth` of the original `method path`,
    /// named as the nginx `auth_request` snippet names it.
    fn auth(iss: &str, method: Method, path: &'static str) -> Self {
        let mut probe = Self::get(format!("{iss}/auth"));
        probe.headers.insert(
            HeaderName::from_static("x-original-method"),
            HeaderValue::from_str(method.as_str()).unwrap_or(HeaderValue::from_static("GET")),
        );
        probe.headers.insert(
            HeaderName::from_static("x-original-uri"),
            HeaderValue::from_static(path),
        );
        probe.method = method;
        probe
    }

    fn with(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    fn build(&self, client: &Client) -> reqwest::RequestBuilder {
        let request = client
            .request(self.method.clone(), &self.url)
            .headers(self.headers.clone());
        if self.body.is_empty() {
            request
        } else {
            request.body(self.body.clone())
        }
    }

    async fn send(&self, client: &Client) -> BenchResult<reqwest::Response> {
        Ok(self.build(client).send().await?)
    }

    fn loader(&self) -> crate::http::MakeRequest {
        let probe = self.clone();
        Arc::new(move |c: &Client| probe.build(c))
    }
}

pub async fn run(opts: &GuardOptions) -> BenchResult<GuardResults> {
    let base = loopback_base_url(&opts.base_url)?;
    let tenant = gatehouse_core::tenant::TenantName::parse(&opts.tenant)
        .map_err(|e| format!("--tenant {:?}: {e}", opts.tenant))?;
    let iss = format!("{base}/t/{tenant}");
    let upstream = opts
        .upstream_url
        .as_deref()
        .map(loopback_base_url)
        .transpose()?;
    let proxy = opts
        .proxy_url
        .as_deref()
        .map(loopback_base_url)
        .transpose()?;
    if proxy.is_some() && upstream.is_none() {
        return Err("--proxy-url needs --upstream-url: the ratio is to the direct rate".into());
    }
    let client = load_client(opts.concurrency, opts.timing.request_timeout)?;
    let admin = Admin {
        client: &client,
        base: &base,
        tenant: tenant.as_str(),
        token: &opts.admin_token,
    };

    // ---- set-up over the admin API ---------------------------------------
    check_health(&client, &base).await?;
    tenant_exists(&client, &iss).await?;
    let current = admin
        .call(Method::GET, "policies", None, StatusCode::OK)
        .await?;
    let has_rules = current["rules"].as_array().is_some_and(|r| !r.is_empty());
    if has_rules && !opts.replace_policy {
        return Err(format!(
            "tenant {tenant} already has a route policy; guard replaces it (pass \
             --replace-policy on a throwaway server)"
        )
        .into());
    }
    admin
        .call(Method::PUT, "policies", Some(POLICY), StatusCode::OK)
        .await?;
    let hook_secret = SecretString::from(gatehouse_core::id::random_token::<32>()?);
    let secret_body = serde_json::to_string(&json!({"value": hook_secret.expose_secret()}))?;
    admin
        .call(
            Method::PUT,
            &format!("secrets/{HOOK_SECRET}"),
            Some(&secret_body),
            StatusCode::OK,
        )
        .await?;
    let created = admin
        .call(
            Method::POST,
            "apikeys",
            Some(r#"{"name": "bench"}"#),
            StatusCode::CREATED,
        )
        .await?;
    let api_key = SecretString::from(
        created["key"]
            .as_str()
            .ok_or("POST apikeys answered no `key`")?
            .to_string(),
    );
    let user = BenchUser::new()?;
    let credentials = user.credentials()?;
    register(&client, &iss, &credentials).await?;
    let (token, expires_in) = login(&client, &iss, &credentials).await?;
    let algorithm = token_algorithm(&token);

    // ---- the probes, each checked before it is measured --------------------
    let mut kinds = Vec::new();
    for kind in KINDS {
        if !opts.kinds.iter().any(|k| k == kind) {
            continue;
        }
        let (label, bare, probe) = match kind {
            "public" => {
                let bare = Probe::auth(&iss, Method::GET, "/function/public");
                ("none (public rule)".to_string(), None, bare)
            }
            "jwt" => {
                // It serves from now to the end of the jwt phase.
                let phases_until = (kinds.len() + 1) as f64;
                outlives(
                    expires_in,
                    opts.timing.phase_secs() * phases_until,
                    "the phases up to jwt",
                )?;
                let bare = Probe::auth(&iss, Method::GET, "/function/jwt");
                let probe = bare.clone().with(AUTHORIZATION, bearer_header(&token)?);
                (
                    format!("Authorization: Bearer ({algorithm} JWT)"),
                    Some(bare),
                    probe,
                )
            }
            "api_key" => {
                let bare = Probe::auth(&iss, Method::GET, "/function/key");
                let mut key = HeaderValue::from_str(api_key.expose_secret())?;
                key.set_sensitive(true);
                let probe = bare.clone().with(HeaderName::from_static("x-api-key"), key);
                ("X-API-Key".to_string(), Some(bare), probe)
            }
            "basic" => {
                let bare = Probe::auth(&iss, Method::GET, "/function/basic");
                let pair = format!("{}:{}", user.username, user.password.expose_secret());
                let mut basic = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(pair)))?;
                basic.set_sensitive(true);
                let probe = bare.clone().with(AUTHORIZATION, basic);
                (
                    "Authorization: Basic (cached success)".to_string(),
                    Some(bare),
                    probe,
                )
            }
            _ => {
                let mut bare = Probe::auth(&iss, Method::POST, "/function/hook");
                bare.body = HOOK_BODY.to_vec();
                bare.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                let signature = github_signature(hook_secret.expose_secret(), HOOK_BODY)?;
                let probe = bare.clone().with(
                    HeaderName::from_static("x-hub-signature-256"),
                    HeaderValue::from_str(&signature)?,
                );
                (
                    format!("X-Hub-Signature-256 over {} bytes", HOOK_BODY.len()),
                    Some(bare),
                    probe,
                )
            }
        };
        expect_credential(&client, &probe, kind, None).await?;
        if let Some(bare) = &bare {
            refused_without(&client, bare, kind).await?;
        }
        kinds.push((kind, label, probe));
    }

    let mut results = Vec::new();
    for (kind, label, probe) in kinds {
        let endpoint = format!(
            "{kind}: {} {}/auth",
            probe.method,
            iss.trim_start_matches(&base)
        );
        let phase = phase(
            &client,
            endpoint,
            opts.concurrency,
            &opts.timing,
            probe.loader(),
        )
        .await;
        results.push(KindResults {
            kind: kind.to_string(),
            credential: label,
            phase,
        });
    }

    // ---- proxy mode against the bare upstream ------------------------------
    let proxy_results = match &upstream {
        None => None,
        Some(upstream) => {
            let direct_probe = Probe::get(format!("{upstream}/function/jwt"));
            let answer = direct_probe.send(&client).await?;
            if answer.status() != StatusCode::OK {
                return Err(format!("the upstream answered {}", answer.status()).into());
            }
            let direct = phase(
                &client,
                format!("direct: GET {upstream}/function/jwt"),
                opts.concurrency,
                &opts.timing,
                direct_probe.loader(),
            )
            .await;
            let (proxy_jwt, proxy_public) = match &proxy {
                None => (None, None),
                Some(proxy) => {
                    let (jwt, public) =
                        measure_proxy(&client, opts, &iss, proxy, &credentials).await?;
                    (Some(jwt), Some(public))
                }
            };
            let auth_jwt = results.iter().find(|k| k.kind == "jwt");
            Some(ProxyResults {
                upstream_url: upstream.clone(),
                proxy_url: proxy.clone(),
                proxy_jwt_over_direct: proxy_jwt
                    .as_ref()
                    .map(|p| ratio(p.rps.median, direct.rps.median)),
                proxy_public_over_direct: proxy_public
                    .as_ref()
                    .map(|p| ratio(p.rps.median, direct.rps.median)),
                proxy_jwt_over_auth_jwt: proxy_jwt
                    .as_ref()
                    .zip(auth_jwt)
                    .map(|(p, a)| ratio(p.rps.median, a.phase.rps.median)),
                direct,
                proxy_jwt,
                proxy_public,
            })
        }
    };

    let mut out = GuardResults {
        schema: SCHEMA.to_string(),
        meta: opts.meta.clone(),
        base_url: base,
        tenant: tenant.to_string(),
        algorithm,
        concurrency: opts.concurrency,
        client_threads: opts.client_threads,
        kinds: results,
        proxy: proxy_results,
        warnings: Vec::new(),
    };
    out.warnings = warnings(&out);
    Ok(out)
}

/// Checks proxy mode, then measures it: a JWT on the `jwt` rule, nothing on
/// the `public` one.
async fn measure_proxy(
    client: &Client,
    opts: &GuardOptions,
    iss: &str,
    proxy: &str,
    credentials: &[u8],
) -> BenchResult<(PhaseResults, PhaseResults)> {
    let (token, expires_in) = login(client, iss, credentials).await?;
    outlives(expires_in, opts.timing.phase_secs(), "the proxy jwt phase")?;
    // A client's own X-Auth-* must never reach the upstream: send a forged
    // one and expect the proxy's instead.
    let forged = HeaderName::from_static("x-auth-credential");
    let bare = Probe::get(format!("{proxy}/function/jwt"))
        .with(forged.clone(), HeaderValue::from_static("forged"));
    let jwt = bare.clone().with(AUTHORIZATION, bearer_header(&token)?);
    let public = Probe::get(format!("{proxy}/function/public"))
        .with(forged, HeaderValue::from_static("forged"));
    expect_credential(client, &jwt, "jwt", Some(SAW_CREDENTIAL)).await?;
    expect_credential(client, &public, "public", Some(SAW_CREDENTIAL)).await?;
    refused_without(client, &bare, "proxy jwt").await?;
    let jwt_phase = phase(
        client,
        format!("proxy jwt: GET {proxy}/function/jwt"),
        opts.concurrency,
        &opts.timing,
        jwt.loader(),
    )
    .await;
    let public_phase = phase(
        client,
        format!("proxy public: GET {proxy}/function/public"),
        opts.concurrency,
        &opts.timing,
        public.loader(),
    )
    .await;
    Ok((jwt_phase, public_phase))
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, as GitHub signs a delivery.
fn github_signature(secret: &str, body: &[u8]) -> BenchResult<String> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| format!("HMAC key: {e}"))?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// One request must answer 200 with `kind` in `header` (default: the
/// gate's own `X-Auth-Credential`); anything else stops the run.
async fn expect_credential(
    client: &Client,
    probe: &Probe,
    kind: &str,
    header: Option<&str>,
) -> BenchResult<()> {
    let header = header.unwrap_or("x-auth-credential");
    let answer = probe.send(client).await?;
    let status = answer.status();
    let seen = answer
        .headers()
        .get(header)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if status != StatusCode::OK || seen != kind {
        let body = answer.text().await.unwrap_or_default();
        return Err(format!(
            "{kind}: {} {} answered {status} with {header}: {seen:?}, expected 200 with \
             {kind:?}: {}",
            probe.method,
            probe.url,
            truncate(&body)
        )
        .into());
    }
    Ok(())
}

/// The same request without its credential must not pass: otherwise the
/// phase would measure a rule that gates nothing.
async fn refused_without(client: &Client, bare: &Probe, kind: &str) -> BenchResult<()> {
    let status = bare.send(client).await?.status();
    if status == StatusCode::OK {
        return Err(format!(
            "{kind}: {} {} passed without a credential; the policy is not applied",
            bare.method, bare.url
        )
        .into());
    }
    Ok(())
}

/// `/admin/t/{tenant}/...` with the admin token.
struct Admin<'a> {
    client: &'a Client,
    base: &'a str,
    tenant: &'a str,
    token: &'a SecretString,
}

impl Admin<'_> {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        expect: StatusCode,
    ) -> BenchResult<Value> {
        let url = format!("{}/admin/t/{}/{path}", self.base, self.tenant);
        let mut request = self
            .client
            .request(method.clone(), &url)
            .bearer_auth(self.token.expose_secret());
        if let Some(b) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        let answer = request.send().await?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        if status != expect {
            let hint = if status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED {
                " (is the server running with GATEHOUSE_ADMIN_TOKEN set to --admin-token?)"
            } else {
                ""
            };
            return Err(format!(
                "{method} /admin/t/{}/{path} answered {status}{hint}: {}",
                self.tenant,
                truncate(&text)
            )
            .into());
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn warnings(results: &GuardResults) -> Vec<String> {
    let mut phases: Vec<&PhaseResults> = results.kinds.iter().map(|k| &k.phase).collect();
    if let Some(p) = &results.proxy {
        phases.push(&p.direct);
        phases.extend(p.proxy_jwt.iter().chain(&p.proxy_public));
    }
    let mut out = Vec::new();
    for phase in phases {
        out.extend(phase.failure_warning());
        if let Some(steal) = phase.steal_share
            && steal > 0.05
        {
            out.push(format!(
                "{}: {:.0}% of the CPU time was stolen by the hypervisor; the rates are low",
                phase.endpoint,
                steal * 100.0
            ));
        }
        if phase.rps.spread() > 0.15 {
            out.push(format!(
                "{}: windows differ by {:.0}% of the median; the machine was busy",
                phase.endpoint,
                phase.rps.spread() * 100.0
            ));
        }
    }
    out
}

impl GuardResults {
    /// The Markdown table (as pasted into bench/README.md) and the ratios.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let first = self
            .kinds
            .first()
            .map(|k| &k.phase)
            .or(self.proxy.as_ref().map(|p| &p.direct));
        if let Some(p) = first {
            let _ = writeln!(
                out,
                "Gatehouse guard benchmark: tenant {} ({}), {} connections, {} client \
                 thread(s), {}s warm-up + {} x {}s windows per phase",
                self.tenant,
                self.algorithm,
                self.concurrency,
                self.client_threads,
                p.warmup_secs,
                p.rps.samples.len(),
                p.window_secs
            );
        }
        for (k, v) in &self.meta {
            let _ = writeln!(out, "  {k}: {v}");
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| phase | credential | median/s | min/s | max/s | p50 ms | p99 ms | non-200 | errors | steal |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
        let mut row = |name: &str, credential: &str, p: &PhaseResults| {
            let r: &Repeated = &p.rps;
            let _ = writeln!(
                out,
                "| {name} | {credential} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
                r.median,
                r.min,
                r.max,
                p.latency_ms.p50,
                p.latency_ms.p99,
                p.non_200,
                p.transport_errors,
                p.steal_share
                    .map_or_else(|| "n/a".to_string(), |s| format!("{:.1}%", s * 100.0))
            );
        };
        for k in &self.kinds {
            row(&format!("`/auth` {}", k.kind), &k.credential, &k.phase);
        }
        if let Some(p) = &self.proxy {
            row("upstream direct", "none", &p.direct);
            if let Some(j) = &p.proxy_jwt {
                row("proxy `jwt` rule", "Authorization: Bearer (JWT)", j);
            }
            if let Some(j) = &p.proxy_public {
                row("proxy `public` rule", "none", j);
            }
            let mut ratios = Vec::new();
            if let Some(r) = p.proxy_jwt_over_direct {
                ratios.push(format!("proxy jwt / direct {r:.3}"));
            }
            if let Some(r) = p.proxy_public_over_direct {
                ratios.push(format!("proxy public / direct {r:.3}"));
            }
            if let Some(r) = p.proxy_jwt_over_auth_jwt {
                ratios.push(format!("proxy jwt / `/auth` jwt {r:.3}"));
            }
            if !ratios.is_empty() {
                let _ = writeln!(out, "\nratios (medians): {}", ratios.join(", "));
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out);
            for w in &self.warnings {
                let _ = writeln!(out, "warning: {w}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_githubs_documented_example() {
        // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
        assert_eq!(
            github_signature("It's a Secret to Everybody", b"Hello, World!").unwrap(),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn the_policy_is_json_with_a_rule_per_kind() {
        let policy: Value = serde_json::from_str(POLICY).unwrap();
        let rules = policy["rules"].as_array().unwrap();
        for kind in ["public", "jwt", "api_key", "basic", "hmac"] {
            assert!(
                rules.iter().any(|r| r["allow"][0] == kind),
                "no rule allows {kind}"
            );
        }
        assert_eq!(rules.last().unwrap()["allow"][0], "deny");
    }
}
