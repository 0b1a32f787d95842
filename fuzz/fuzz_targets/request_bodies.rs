//! Fuzzes the HTTP surface in-process: the real axum router
//! (`gatehouse_server::app`) on a real SQLite store, driven with
//! `tower::ServiceExt::oneshot` (no sockets).
//!
//! Fixture (built once): a current-thread tokio runtime; a SQLite database in
//! `gatehouse-fuzz/<pid>/` under /dev/shm when it exists (else the temp dir,
//! or `$GATEHOUSE_FUZZ_DB_DIR`); argon2id at m=64 KiB, t=1, p=1 so hashing
//! costs microseconds; tenants `default` (RS256, via `Auth::ensure_tenant`)
//! and `acme` (ES256, audience `api://acme`); in each, a user `fuzzer` that
//! has logged in, so valid access and refresh tokens exist to splice into.
//!
//! Input: byte 0 is a selector, the rest is the payload.
//!
//! * bits 0-3 (mod 12), the route:
//!   0 `POST /t/{t}/register` JSON body; 1 `POST /t/{t}/login` JSON body;
//!   2 `POST /t/{t}/token` form body; 3 `POST /t/{t}/logout` with the
//!   payload as Bearer token; 4 `POST /t/{t}/logout` JSON body;
//!   5 `GET /t/{t}/auth` with the payload as Bearer token; 6 `GET /t/{t}/auth`
//!   with a valid access token whose part `payload[0] % 3` is replaced by the
//!   rest; 7 `GET /t/{t}/auth?{payload}` with a valid access token;
//!   8 `POST /admin/tenants` JSON body with the admin token; 9 `GET
//!   /admin/tenants` with the payload as Bearer token; 10 any request:
//!   method `payload[0] % 7`, then `path\nbody`, with the admin token;
//!   11 `POST /t/{t}/logout` with a spliced access token (as 6).
//! * bits 4-5, the content type: 0 the right one, 1 none, 2 the other
//!   (JSON for a form and vice versa), 3 an odd one.
//! * bit 6, the tenant `{t}`: `default` or `acme`.
//! * bit 7, amplify: the body is the payload repeated past the 64 KiB body
//!   limit.
//!
//! Properties (a violation `panic!`s): no panic anywhere (libFuzzer's hook
//! aborts on any panic, including one the router's catch-panic layer would
//! turn into a 500); the status is never 5xx; every 4xx (except to `HEAD`,
//! which has no body by definition) is `application/json` with a non-empty
//! string `error` and a non-empty string `error_description`.
//!
//! The server is stateful across inputs (users registered by one input exist
//! for the next), so a crash usually but not always reproduces from its
//! single input; see README.md.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::auth::{Auth, AuthSettings};
use gatehouse_core::clock::SystemClock;
use gatehouse_core::password::{Argon2Hasher, Argon2Params};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_core::tenant::TenantSpec;
use gatehouse_server::keyring_cache::KeyringCache;
use gatehouse_server::state::{AppState, Inner};
use gatehouse_store::{DatabaseUrl, StoreOptions};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN_TOKEN: &str = "fuzz-admin-token-0123456789";
const PASSWORD: &str = "correct horse battery staple";
const BODY_LIMIT: usize = 64 * 1024;
const TENANTS: [&str; 2] = ["default", "acme"];

struct Tokens {
    access: String,
    #[allow(dead_code)]
    refresh: String,
}

struct Server {
    rt: tokio::runtime::Runtime,
    app: Router,
    /// Per tenant (index as in `TENANTS`).
    tokens: Vec<Tokens>,
}

struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    let response = match app.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the response body is readable")
        .to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

fn json_request(path: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let base = std::env::var_os("GATEHOUSE_FUZZ_DB_DIR")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                let shm = std::path::Path::new("/dev/shm");
                shm.is_dir().then(|| shm.to_path_buf())
            })
            .unwrap_or_else(std::env::temp_dir);
        // One directory per process, named by pid; directories of processes
        // that are gone (statics are never dropped, and libFuzzer's fork
        // mode starts many processes) are removed here.
        let root = base.join("gatehouse-fuzz");
        std::fs::create_dir_all(&root).expect("temp dir");
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                let name = e.file_name();
                let stale = name
                    .to_str()
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
                if stale {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = root.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}", dir.join("gatehouse.db").display());
        let (app, tokens) = rt.block_on(async {
            let store = gatehouse_store::open(
                &DatabaseUrl::parse(&url).expect("url"),
                &StoreOptions::default(),
            )
            .await
            .expect("store");
            let hasher = Argon2Hasher::new(Argon2Params {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            })
            .expect("argon2 params");
            let master = MasterKeys::parse(&MasterKeys::generate_text().expect("master key"))
                .expect("master key");
            let auth = Auth::new(
                store,
                Arc::new(hasher),
                Arc::new(SystemClock),
                Arc::new(master),
                AuthSettings::default(),
            );
            auth.ensure_tenant("default").await.expect("default tenant");
            auth.create_tenant(
                "acme",
                TenantSpec {
                    algorithm: Some(SigningAlgorithm::ES256),
                    access_ttl_secs: Some(3600),
                    audiences: vec!["api://acme".into()],
                },
            )
            .await
            .expect("acme tenant");
            let state = AppState::new(Inner {
                auth,
                keyrings: KeyringCache::new(Duration::from_secs(60)),
                public_url: "http://gatehouse.test".into(),
                admin_token: Some(SecretString::from(ADMIN_TOKEN.to_string())),
            });
            let app = gatehouse_server::app(state);
            let mut tokens = Vec::new();
            for tenant in TENANTS {
                let r = send(
                    &app,
                    json_request(
                        &format!("/t/{tenant}/register"),
                        &json!({"username": "fuzzer", "password": PASSWORD,
                                "email": "fuzzer@example.test"}),
                    ),
                )
                .await;
                assert_eq!(r.status, StatusCode::CREATED, "fixture: register");
                let r = send(
                    &app,
                    json_request(
                        &format!("/t/{tenant}/login"),
                        &json!({"username": "fuzzer", "password": PASSWORD}),
                    ),
                )
                .await;
                assert_eq!(r.status, StatusCode::OK, "fixture: login");
                let v: Value = serde_json::from_slice(&r.body).expect("token response");
                tokens.push(Tokens {
                    access: v["access_token"].as_str().expect("access").to_string(),
                    refresh: v["refresh_token"].as_str().expect("refresh").to_string(),
                });
            }
            (app, tokens)
        });
        Server { rt, app, tokens }
    })
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// The content type to send, given the right one and the selector bits.
fn content_type(right: &str, variant: u8) -> Option<&'static str> {
    let (right, other, odd) = if right == FORM {
        (
            FORM,
            JSON,
            "application/x-www-form-urlencoded; charset=ISO-8859-1",
        )
    } else {
        (JSON, FORM, "application/vnd.gatehouse+json; charset=utf-8")
    };
    match variant & 3 {
        0 => Some(right),
        1 => None,
        2 => Some(other),
        _ => Some(odd),
    }
}

fn bearer(token: &[u8]) -> Option<HeaderValue> {
    let mut v = b"Bearer ".to_vec();
    v.extend_from_slice(token);
    // What hyper would refuse never reaches the router.
    HeaderValue::from_bytes(&v).ok()
}

fn splice_token(token: &str, payload: &[u8]) -> Vec<u8> {
    let Some((&sel, rest)) = payload.split_first() else {
        return token.as_bytes().to_vec();
    };
    let mut parts: Vec<&[u8]> = token.split('.').map(str::as_bytes).collect();
    let i = usize::from(sel) % parts.len();
    parts[i] = rest;
    parts.join(&b'.')
}

const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::HEAD,
    Method::OPTIONS,
];

struct Planned {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    authorization: Option<HeaderValue>,
    body: Vec<u8>,
}

fn plan(s: &Server, data: &[u8]) -> Option<Planned> {
    let (&sel, payload) = data.split_first()?;
    let route = (sel & 0x0f) % 12;
    let ct_variant = (sel >> 4) & 3;
    let t = usize::from((sel >> 6) & 1);
    let tenant = TENANTS[t];
    let amplify = sel & 0x80 != 0;
    let valid = &s.tokens[t].access;

    let mut p = Planned {
        method: Method::POST,
        path: String::new(),
        content_type: None,
        authorization: None,
        body: Vec::new(),
    };
    match route {
        0 | 1 | 4 | 8 => {
            p.path = match route {
                0 => format!("/t/{tenant}/register"),
                1 => format!("/t/{tenant}/login"),
                4 => format!("/t/{tenant}/logout"),
                _ => "/admin/tenants".into(),
            };
            if route == 8 {
                p.authorization = bearer(ADMIN_TOKEN.as_bytes());
            }
            p.content_type = content_type(JSON, ct_variant);
            p.body = payload.to_vec();
        }
        2 => {
            p.path = format!("/t/{tenant}/token");
            p.content_type = content_type(FORM, ct_variant);
            p.body = payload.to_vec();
        }
        3 => {
            p.path = format!("/t/{tenant}/logout");
            p.authorization = Some(bearer(payload)?);
        }
        5 => {
            p.method = Method::GET;
            p.path = format!("/t/{tenant}/auth");
            p.authorization = Some(bearer(payload)?);
        }
        6 | 11 => {
            p.method = if route == 6 {
                Method::GET
            } else {
                Method::POST
            };
            p.path = format!("/t/{tenant}/{}", if route == 6 { "auth" } else { "logout" });
            p.authorization = Some(bearer(&splice_token(valid, payload))?);
        }
        7 => {
            p.method = Method::GET;
            p.path = format!("/t/{tenant}/auth?{}", String::from_utf8_lossy(payload));
            p.authorization = bearer(valid.as_bytes());
        }
        9 => {
            p.method = Method::GET;
            p.path = "/admin/tenants".into();
            p.authorization = Some(bearer(payload)?);
        }
        _ => {
            let (&m, rest) = payload.split_first()?;
            p.method = METHODS[usize::from(m) % METHODS.len()].clone();
            let (path, body) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            let path = String::from_utf8_lossy(path);
            p.path = if path.starts_with('/') {
                path.into_owned()
            } else {
                format!("/{path}")
            };
            p.authorization = bearer(ADMIN_TOKEN.as_bytes());
            if !body.is_empty() {
                p.content_type = content_type(JSON, ct_variant);
            }
            p.body = body.to_vec();
        }
    }
    if amplify {
        let unit: &[u8] = if p.body.is_empty() { b" " } else { &p.body };
        let mut big = Vec::with_capacity(BODY_LIMIT + unit.len() + 1);
        while big.len() <= BODY_LIMIT {
            big.extend_from_slice(unit);
        }
        p.body = big;
    }
    Some(p)
}

/// Known findings (reported, reproducers in `fuzz/artifacts-found/`): axum
/// extractor rejections that bypass Gatehouse's JSON error format. With
/// `GATEHOUSE_FUZZ_SKIP_KNOWN=1` (what `run.sh` sets) they are logged once
/// per process instead of stopping the run, so the fuzzer can look for
/// others. Matching is on the exact wrong answer, so once fixed nothing is
/// suppressed any more.
fn known_finding(a: &Answer) -> Option<&'static str> {
    if std::env::var_os("GATEHOUSE_FUZZ_SKIP_KNOWN").is_none_or(|v| v == "0") {
        return None;
    }
    let plain = a
        .content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("text/plain"));
    let body = String::from_utf8_lossy(&a.body);
    if !plain {
        return None;
    }
    if a.status == StatusCode::PAYLOAD_TOO_LARGE
        && body.starts_with("Failed to buffer the request body")
    {
        return Some("GH-FUZZ-1 raw Bytes body over 64 KiB answers text/plain 413");
    }
    if a.status == StatusCode::BAD_REQUEST && body.starts_with("Invalid URL") {
        return Some("GH-FUZZ-2 axum Path<String> rejection answers text/plain 400");
    }
    None
}

fn check(p: &Planned, a: &Answer) {
    if let Some(id) = known_finding(a) {
        static SEEN: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
        if let Ok(mut seen) = SEEN.lock()
            && !seen.contains(&id)
        {
            seen.push(id);
            let line = format!(
                "KNOWN FINDING (suppressed): {id}: {} {}\n",
                p.method, p.path
            );
            eprint!("{line}");
            // libFuzzer's fork mode drops its children's output; run.sh
            // collects these lines from a file instead.
            if let Some(path) = std::env::var_os("GATEHOUSE_FUZZ_KNOWN_LOG") {
                use std::io::Write;
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                {
                    let _ = f.write_all(line.as_bytes());
                }
            }
        }
        return;
    }
    let what = || {
        format!(
            "{} {} (content-type {:?}, {} body bytes) -> {}\nresponse body: {}",
            p.method,
            p.path,
            p.content_type,
            p.body.len(),
            a.status,
            String::from_utf8_lossy(&a.body)
        )
    };
    if a.status.is_server_error() {
        panic!("SERVER ERROR: {}", what());
    }
    if a.status.is_client_error() && p.method != Method::HEAD {
        let json_type = a
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"));
        if !json_type {
            panic!(
                "4xx WITHOUT JSON CONTENT TYPE ({:?}): {}",
                a.content_type,
                what()
            );
        }
        let body: Value = match serde_json::from_slice(&a.body) {
            Ok(v) => v,
            Err(e) => panic!("4xx WITH A BODY THAT IS NOT JSON ({e}): {}", what()),
        };
        let non_empty = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        if !non_empty("error") || !non_empty("error_description") {
            panic!("4xx WITHOUT error/error_description: {}", what());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let s = server();
    let Some(p) = plan(s, data) else { return };
    let mut builder = Request::builder().method(p.method.clone()).uri(&p.path);
    if let Some(ct) = p.content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    if let Some(auth) = &p.authorization {
        builder = builder.header(header::AUTHORIZATION, auth.clone());
    }
    // Real clients send a length (hyper would too).
    builder = builder.header(header::CONTENT_LENGTH, p.body.len());
    // A URI hyper would refuse never reaches the router.
    let Ok(req) = builder.body(Body::from(p.body.clone())) else {
        return;
    };
    let answer = s.rt.block_on(send(&s.app, req));
    check(&p, &answer);
});
