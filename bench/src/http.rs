//! Load generation against a running Gatehouse server: `/auth` with a valid
//! bearer token, then `/login` for one registered user, each from a fixed
//! number of concurrent connections.
//!
//! Method: the workers of a phase start together and keep exactly
//! `concurrency` requests in flight (each worker sends its next request as
//! soon as the previous answer is read). The first `warmup` seconds are
//! discarded; then `windows` back-to-back windows of `window` seconds each
//! are measured in one continuous run, so there is no ramp-up or tail inside
//! a window. A request counts in the window in which its answer completed;
//! answers after the last window are dropped. Only 200s count towards the
//! rate; other statuses and transport errors are reported.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::tenant::TenantName;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::BenchResult;
use crate::stats::{Repeated, percentile_sorted, steal_share, steal_ticks};

/// Per worker and phase: a hard cap on requests, so every loop is bounded in
/// count as well as in time.
const MAX_REQUESTS_PER_WORKER: u64 = 50_000_000;
/// Per worker and phase: latency samples kept (the rest are counted only).
const MAX_LATENCY_SAMPLES_PER_WORKER: usize = 2_000_000;
/// A worker gives up after this many transport errors in a row: the server
/// is gone, and spinning on refused connections would only burn CPU.
const MAX_CONSECUTIVE_ERRORS: u32 = 200;

/// How long one phase runs: the same warm-up and windows for every phase
/// of every subcommand that loads a server (`http`, `guard`).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Length of one measured window.
    pub window: Duration,
    /// Measured windows per phase; the median rate is reported.
    pub windows: u32,
    /// Discarded load at the start of each phase (connections, caches).
    pub warmup: Duration,
    /// Upper bound on one request, so a stuck server cannot stall the run.
    pub request_timeout: Duration,
}

impl Timing {
    /// The longest a phase can take: warm-up, windows and one late request.
    pub fn phase_secs(&self) -> f64 {
        self.warmup.as_secs_f64()
            + self.window.as_secs_f64() * f64::from(self.windows.max(1))
            + self.request_timeout.as_secs_f64()
    }
}

#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// `http://127.0.0.1:PORT`; only loopback addresses are accepted.
    pub base_url: String,
    pub tenant: String,
    pub timing: Timing,
    pub auth_concurrency: usize,
    pub login_concurrency: usize,
    /// Worker threads of the load generator's runtime (recorded only).
    pub client_threads: usize,
}

/// One phase (one endpoint) of the HTTP benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseResults {
    /// `GET /t/{tenant}/auth` or `POST /t/{tenant}/login`.
    pub endpoint: String,
    pub concurrency: usize,
    pub window_secs: f64,
    pub warmup_secs: f64,
    /// 200 answers per second, one sample per window.
    pub rps: Repeated,
    /// Totals over the measured windows.
    pub ok: u64,
    pub non_200: u64,
    pub transport_errors: u64,
    /// Non-200 answers by status code.
    pub non_200_by_status: BTreeMap<u16, u64>,
    /// The first transport error seen, if any, to explain the count.
    pub first_error: Option<String>,
    /// Latency of the 200 answers, in milliseconds.
    pub latency_ms: Latency,
    /// Share of the machine's CPU time the hypervisor gave to other guests
    /// during the windows (Linux `/proc/stat` steal; `None` elsewhere).
    /// Near 0 on a quiet host; more means the rates are low.
    #[serde(default)]
    pub steal_share: Option<f64>,
}

impl PhaseResults {
    /// The warning for a phase that saw anything but 200s, if it did.
    pub fn failure_warning(&self) -> Option<String> {
        (self.non_200 > 0 || self.transport_errors > 0).then(|| {
            format!(
                "{}: {} non-200 answers {:?} and {} transport errors{}",
                self.endpoint,
                self.non_200,
                self.non_200_by_status,
                self.transport_errors,
                self.first_error
                    .as_deref()
                    .map(|e| format!(" (first: {e})"))
                    .unwrap_or_default()
            )
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// What `http` measured; written as JSON and read back by `report`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpResults {
    pub base_url: String,
    pub tenant: String,
    /// The tenant's signing algorithm: the `alg` of the token it issued.
    pub algorithm: String,
    /// Length of the bearer token sent to `/auth`.
    pub token_bytes: usize,
    pub client_threads: usize,
    pub auth: PhaseResults,
    pub login: PhaseResults,
    /// `POST /t/{tenant}/register`, a new username per request.
    #[serde(default)]
    pub register: Option<PhaseResults>,
}

pub async fn run(opts: &HttpOptions) -> BenchResult<HttpResults> {
    let base = loopback_base_url(&opts.base_url)?;
    let tenant =
        TenantName::parse(&opts.tenant).map_err(|e| format!("--tenant {:?}: {e}", opts.tenant))?;
    let iss = format!("{base}/t/{tenant}");
    let max_conns = opts.auth_concurrency.max(opts.login_concurrency);
    let client = load_client(max_conns, opts.timing.request_timeout)?;

    // ---- set-up: the server answers, a user exists, a token works ------
    check_health(&client, &base).await?;
    tenant_exists(&client, &iss).await?;

    let user = BenchUser::new()?;
    let credentials = user.credentials()?;
    register(&client, &iss, &credentials).await?;
    let (token, expires_in) = login(&client, &iss, &credentials).await?;
    let algorithm = token_algorithm(&token);
    let bearer = bearer_header(&token)?;
    // The one token serves the whole /auth phase; it must outlive it.
    outlives(expires_in, opts.timing.phase_secs(), "the /auth phase")?;
    let first = client
        .get(format!("{iss}/auth"))
        .header(AUTHORIZATION, bearer.clone())
        .send()
        .await?;
    if first.status() != StatusCode::OK {
        let status = first.status();
        let body = first.text().await.unwrap_or_default();
        return Err(format!("the first /auth answered {status}: {}", truncate(&body)).into());
    }

    // ---- phase 1: /auth --------------------------------------------------
    let auth_url = format!("{iss}/auth");
    let auth_header = bearer.clone();
    let auth = phase(
        &client,
        format!("GET /t/{tenant}/auth"),
        opts.auth_concurrency,
        &opts.timing,
        Arc::new(move |c: &Client| c.get(&auth_url).header(AUTHORIZATION, auth_header.clone())),
    )
    .await;

    // ---- phase 2: /login -------------------------------------------------
    let login_url = format!("{iss}/login");
    let login = phase(
        &client,
        format!("POST /t/{tenant}/login"),
        opts.login_concurrency,
        &opts.timing,
        Arc::new(move |c: &Client| {
            c.post(&login_url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(credentials.clone())
        }),
    )
    .await;

    // ---- phase 3: /register (one password hash and one insert each) ----
    let register_url = format!("{iss}/register");
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let run_id = user.username.clone();
    let register = phase(
        &client,
        format!("POST /t/{tenant}/register"),
        opts.login_concurrency,
        &opts.timing,
        Arc::new(move |c: &Client| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            c.post(&register_url).json(&json!({
                "username": format!("{run_id}-{n}"),
                "password": "bench password 0123456789",
            }))
        }),
    )
    .await;

    Ok(HttpResults {
        base_url: base,
        tenant: tenant.to_string(),
        algorithm,
        token_bytes: token.expose_secret().len(),
        client_threads: opts.client_threads,
        auth,
        login,
        register: Some(register),
    })
}

/// The load generator's HTTP client: keep-alive connections, one per
/// worker, to the loopback server only.
pub(crate) fn load_client(max_conns: usize, request_timeout: Duration) -> BenchResult<Client> {
    Ok(Client::builder()
        // Never route benchmark traffic through an HTTP(S)_PROXY from the
        // environment: it goes to the loopback server and nowhere else.
        .no_proxy()
        .pool_max_idle_per_host(max_conns)
        .connect_timeout(Duration::from_secs(5))
        .timeout(request_timeout)
        .tcp_nodelay(true)
        .build()?)
}

pub(crate) async fn check_health(client: &Client, base: &str) -> BenchResult<()> {
    let health = client.get(format!("{base}/healthz")).send().await?;
    if health.status() != StatusCode::OK {
        return Err(format!("{base}/healthz answered {}", health.status()).into());
    }
    Ok(())
}

/// A fresh user per run, with a random password that is never printed.
pub(crate) struct BenchUser {
    pub username: String,
    pub password: SecretString,
}

impl BenchUser {
    pub fn new() -> BenchResult<Self> {
        let username = format!(
            "bench-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let password = SecretString::from(gatehouse_core::id::random_token::<18>()?);
        Ok(Self { username, password })
    }

    /// The JSON body of `/register` and `/login`.
    pub fn credentials(&self) -> BenchResult<Vec<u8>> {
        Ok(serde_json::to_vec(&json!({
            "username": self.username,
            "password": self.password.expose_secret(),
        }))?)
    }
}

/// `Authorization: Bearer <token>`, marked sensitive.
pub(crate) fn bearer_header(token: &SecretString) -> BenchResult<HeaderValue> {
    let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))?;
    bearer.set_sensitive(true);
    Ok(bearer)
}

/// A token must outlive the `needed` seconds of load it serves.
pub(crate) fn outlives(expires_in: i64, needed: f64, what: &str) -> BenchResult<()> {
    if (expires_in as f64) < needed {
        return Err(format!(
            "the tenant's access tokens live {expires_in}s, shorter than {what} \
             ({needed:.0}s); shorten --duration or use a tenant with a longer TTL"
        )
        .into());
    }
    Ok(())
}

/// Accepts `http://<loopback IP>[:port]` only: the benchmark must never
/// send load anywhere but this machine. Returns it without a trailing `/`.
pub(crate) fn loopback_base_url(raw: &str) -> BenchResult<String> {
    let url = Url::parse(raw).map_err(|e| format!("--base-url {raw:?}: {e}"))?;
    let loopback = url
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback());
    if url.scheme() != "http" || !loopback {
        return Err(format!(
            "--base-url {raw:?}: only http://127.0.0.1:PORT (a loopback IP address) is allowed"
        )
        .into());
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(format!("--base-url {raw:?}: give the server root, without a path").into());
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// The tenant answers its OpenID discovery document.
pub(crate) async fn tenant_exists(client: &Client, iss: &str) -> BenchResult<()> {
    let resp = client
        .get(format!("{iss}/.well-known/openid-configuration"))
        .send()
        .await?;
    if resp.status() != StatusCode::OK {
        return Err(format!(
            "{iss}/.well-known/openid-configuration answered {}; does the tenant exist?",
            resp.status()
        )
        .into());
    }
    Ok(())
}

/// The `alg` of a JWT's header: the algorithm the tenant signs with. (The
/// discovery document names none: it advertises no ID tokens.)
pub(crate) fn token_algorithm(token: &SecretString) -> String {
    use base64::Engine;
    let header = token.expose_secret().split('.').next().unwrap_or("");
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|h| h["alg"].as_str().map(String::from))
        .unwrap_or_else(|| "unknown".to_string())
}

pub(crate) async fn register(client: &Client, iss: &str, credentials: &[u8]) -> BenchResult<()> {
    let resp = client
        .post(format!("{iss}/register"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(credentials.to_vec())
        .send()
        .await?;
    if resp.status() != StatusCode::CREATED {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        return Err(format!("register answered {status}: {}", truncate(&body)).into());
    }
    Ok(())
}

/// Logs in once; returns the access token and its lifetime in seconds.
pub(crate) async fn login(
    client: &Client,
    iss: &str,
    credentials: &[u8],
) -> BenchResult<(SecretString, i64)> {
    let resp = client
        .post(format!("{iss}/login"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(credentials.to_vec())
        .send()
        .await?;
    if resp.status() != StatusCode::OK {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        return Err(format!("login answered {status}: {}", truncate(&body)).into());
    }
    let body: Value = resp.json().await?;
    let token = body["access_token"]
        .as_str()
        .ok_or("the login response has no access_token")?;
    let expires_in = body["expires_in"].as_i64().unwrap_or(0);
    Ok((SecretString::from(token.to_string()), expires_in))
}

/// Server error text can be long; keep messages to one readable line.
pub(crate) fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}

/// Builds one request of a phase.
pub(crate) type MakeRequest = Arc<dyn Fn(&Client) -> RequestBuilder + Send + Sync>;

/// What one worker saw in one measured window.
#[derive(Debug, Clone, Copy, Default)]
struct WindowCounts {
    ok: u64,
    non_200: u64,
    errors: u64,
}

#[derive(Debug, Default)]
struct WorkerReport {
    windows: Vec<WindowCounts>,
    statuses: BTreeMap<u16, u64>,
    first_error: Option<String>,
    /// Latencies of 200 answers in microseconds.
    latencies_us: Vec<u32>,
}

/// Runs one phase: `concurrency` workers, warm-up, then the windows.
pub(crate) async fn phase(
    client: &Client,
    endpoint: String,
    concurrency: usize,
    timing: &Timing,
    make: MakeRequest,
) -> PhaseResults {
    let windows = timing.windows.max(1) as usize;
    let start = Instant::now();
    let measure_from = start + timing.warmup;
    let end = measure_from + timing.window * timing.windows.max(1);
    eprintln!(
        "http: {endpoint}: {concurrency} connections, {:.1}s warm-up + {windows} x {:.1}s",
        timing.warmup.as_secs_f64(),
        timing.window.as_secs_f64()
    );

    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let client = client.clone();
            let make = make.clone();
            let window = timing.window;
            tokio::spawn(worker(client, make, measure_from, end, window, windows))
        })
        .collect();

    // The hypervisor's share of the CPU while the windows run.
    tokio::time::sleep_until(measure_from.into()).await;
    let steal_before = steal_ticks();

    let mut per_window = vec![WindowCounts::default(); windows];
    let mut statuses = BTreeMap::new();
    let mut first_error = None;
    let mut latencies = Vec::new();
    for handle in workers {
        let report = match handle.await {
            Ok(r) => r,
            Err(e) => WorkerReport {
                first_error: Some(format!("a load worker failed: {e}")),
                ..WorkerReport::default()
            },
        };
        for (total, w) in per_window.iter_mut().zip(&report.windows) {
            total.ok += w.ok;
            total.non_200 += w.non_200;
            total.errors += w.errors;
        }
        for (status, n) in report.statuses {
            *statuses.entry(status).or_insert(0) += n;
        }
        if first_error.is_none() {
            first_error = report.first_error;
        }
        latencies.extend(report.latencies_us);
    }
    let steal = steal_share(steal_before, steal_ticks());
    latencies.sort_unstable();
    let ms = |us: u32| f64::from(us) / 1000.0;

    let window_secs = timing.window.as_secs_f64();
    let rps: Vec<f64> = per_window
        .iter()
        .map(|w| w.ok as f64 / window_secs)
        .collect();
    for (i, r) in rps.iter().enumerate() {
        eprintln!(
            "http: {endpoint}: window {}/{windows}: {r:.1} 200s/s",
            i + 1
        );
    }
    PhaseResults {
        endpoint,
        concurrency,
        window_secs,
        warmup_secs: timing.warmup.as_secs_f64(),
        rps: Repeated::new(rps),
        ok: per_window.iter().map(|w| w.ok).sum(),
        non_200: per_window.iter().map(|w| w.non_200).sum(),
        transport_errors: per_window.iter().map(|w| w.errors).sum(),
        non_200_by_status: statuses,
        first_error,
        latency_ms: Latency {
            p50: ms(percentile_sorted(&latencies, 50.0)),
            p90: ms(percentile_sorted(&latencies, 90.0)),
            p99: ms(percentile_sorted(&latencies, 99.0)),
            max: ms(latencies.last().copied().unwrap_or(0)),
        },
        steal_share: steal,
    }
}

/// One connection's worth of load: send, read the whole answer, repeat,
/// until `end` (or the request cap, or the server going away).
async fn worker(
    client: Client,
    make: MakeRequest,
    measure_from: Instant,
    end: Instant,
    window: Duration,
    windows: usize,
) -> WorkerReport {
    let mut report = WorkerReport {
        windows: vec![WindowCounts::default(); windows],
        ..WorkerReport::default()
    };
    let mut consecutive_errors = 0u32;
    let mut sent = 0u64;
    while sent < MAX_REQUESTS_PER_WORKER && Instant::now() < end {
        sent += 1;
        let began = Instant::now();
        // Reading the body to the end is part of the request: it is what a
        // gateway does, and it returns the connection to the pool.
        let outcome = match make(&client).send().await {
            Ok(resp) => {
                let status = resp.status();
                resp.bytes().await.map(|_| status)
            }
            Err(e) => Err(e),
        };
        let done = Instant::now();
        let failed = outcome.is_err();
        if let Err(e) = &outcome {
            // Remembered even from the warm-up, to explain later failures.
            report.first_error.get_or_insert_with(|| e.to_string());
        }

        // Count only answers that completed inside a measured window.
        if done >= measure_from && done < end {
            let idx = ((done - measure_from).as_secs_f64() / window.as_secs_f64()) as usize;
            let w = &mut report.windows[idx.min(windows - 1)];
            match outcome {
                // 200 for /auth and /login, 201 for /register.
                Ok(status) if status.is_success() => {
                    w.ok += 1;
                    if report.latencies_us.len() < MAX_LATENCY_SAMPLES_PER_WORKER {
                        let us = (done - began).as_micros();
                        report
                            .latencies_us
                            .push(u32::try_from(us).unwrap_or(u32::MAX));
                    }
                }
                Ok(status) => {
                    w.non_200 += 1;
                    *report.statuses.entry(status.as_u16()).or_insert(0) += 1;
                }
                Err(_) => w.errors += 1,
            }
        }

        if failed {
            consecutive_errors += 1;
            if consecutive_errors >= MAX_CONSECUTIVE_ERRORS {
                report.first_error.get_or_insert_with(|| {
                    "the server stopped answering (transport errors)".to_string()
                });
                break;
            }
            // A short pause so a refused connection does not become a spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
        } else {
            consecutive_errors = 0;
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_algorithm_is_read_from_the_token_header() {
        // {"alg":"RS256","typ":"JWT"}
        let token = SecretString::from("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig".to_string());
        assert_eq!(token_algorithm(&token), "RS256");
        assert_eq!(
            token_algorithm(&SecretString::from("junk".to_string())),
            "unknown"
        );
    }

    #[test]
    fn only_loopback_http_roots_are_accepted() {
        assert_eq!(
            loopback_base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(loopback_base_url("http://127.0.0.2:9").is_ok());
        assert!(loopback_base_url("http://[::1]:9").is_ok());
        for bad in [
            "http://localhost:8080",
            "http://10.0.0.1:8080",
            "https://127.0.0.1:8443",
            "http://127.0.0.1:8080/t/default",
            "127.0.0.1:8080",
        ] {
            assert!(loopback_base_url(bad).is_err(), "{bad}");
        }
    }
}
