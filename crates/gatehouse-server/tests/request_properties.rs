//! Property tests of the HTTP surface with arbitrary input: the real router
//! (`gatehouse_server::app`) on a real store, driven in-process with
//! `tower::ServiceExt::oneshot` (no sockets), argon2id at its minimum cost.
//! Every property runs on each configured backend: SQLite always,
//! PostgreSQL and MySQL/MariaDB when `GATEHOUSE_TEST_POSTGRES_URL` /
//! `GATEHOUSE_TEST_MYSQL_URL` name test servers (with fewer cases there, to
//! keep the file near a minute per backend).
//!
//! Properties, for every request: the status is never 5xx, and every 4xx
//! is `application/json` with non-empty string `error` and
//! `error_description`. Inputs are JSON objects with each endpoint's field
//! names holding values of random types, random bytes and random strings
//! as bodies, under right and wrong content types, and random bearer tokens
//! (also valid tokens with one part replaced), and text no database
//! column or name profile should meet unchecked (NUL and other controls,
//! bidi controls, default-ignorable characters, JSON lone-surrogate
//! escapes, over-long values) in names, passwords and tenant path
//! segments. The fuzz target
//! `fuzz/fuzz_targets/request_bodies.rs` explores the same surface without
//! bounds; these run in CI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use gatehouse_core::clock::SystemClock;
use gatehouse_core::password::{Argon2Hasher, Argon2Params};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_core::service::{Parts, Services, Settings};
use gatehouse_server::state::{AppState, CompatSettings, Inner};
use gatehouse_store::{DatabaseUrl, StoreOptions};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

const ADMIN_TOKEN: &str = "props-admin-token-0123456789";
const PASSWORD: &str = "correct horse battery staple";
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// One server per test and backend: its runtime, router and a valid login.
struct Fixture {
    rt: Arc<tokio::runtime::Runtime>,
    /// Which backend, for failure messages.
    backend: &'static str,
    app: Router,
    access_token: String,
    refresh_token: String,
}

struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// Runs `test` once per configured backend, each on a fresh database.
fn on_every_backend(test: impl Fn(&Fixture)) {
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let databases = rt.block_on(gatehouse_store::testing::test_databases(dir.path()));
    for (backend, db) in databases {
        let fx = Fixture::new(rt.clone(), backend, &db.url);
        test(&fx);
        drop(fx);
        rt.block_on(db.cleanup());
    }
}

impl Fixture {
    fn new(rt: Arc<tokio::runtime::Runtime>, backend: &'static str, url: &str) -> Self {
        let app = rt.block_on(async {
            let store =
                gatehouse_store::open(&DatabaseUrl::parse(url).unwrap(), &StoreOptions::default())
                    .await
                    .unwrap();
            // argon2's minimum memory is 8 KiB per lane; 64 KiB keeps every
            // hash well under a millisecond.
            let hasher = Argon2Hasher::new(Argon2Params {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            })
            .unwrap();
            let master = MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap();
            let services = Services::new(
                Parts {
                    store,
                    hasher: Arc::new(hasher),
                    clock: Arc::new(SystemClock),
                    master: Arc::new(master),
                },
                Settings::default(),
                "http://gatehouse.test",
            )
            .unwrap();
            services.tenants.ensure("default").await.unwrap();
            gatehouse_server::app(AppState::new(Inner {
                services,
                admin_token: Some(SecretString::from(ADMIN_TOKEN.to_string())),
                // Every probe comes without a peer: one shared bucket.
                client_ip: Default::default(),
                rate_limits: gatehouse_server::rate_limit::RateLimits::off(),
                compat: CompatSettings {
                    openfaas_token_ttl_secs: 4 * 3600,
                    knock_token_ttl_secs: 24 * 3600,
                    knock_root: true,
                    domain_root: true,
                },
                mail: gatehouse_server::mail::MailStatus::log(),
                metrics: None,
            }))
        });
        let mut fx = Self {
            rt,
            backend,
            app,
            access_token: String::new(),
            refresh_token: String::new(),
        };
        let credentials = json!({"username": "prop-user", "password": PASSWORD}).to_string();
        let post = |path| {
            fx.send(&Probe::post(path, Some(JSON), credentials.as_str()))
                .unwrap()
        };
        assert_eq!(post("/t/default/register").status, StatusCode::CREATED);
        let r = post("/t/default/login");
        assert_eq!(r.status, StatusCode::OK);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        fx.access_token = v["access_token"].as_str().unwrap().to_string();
        fx.refresh_token = v["refresh_token"].as_str().unwrap().to_string();
        fx
    }

    /// Sends one request; `None` when it could not be built (a URI or
    /// header value that no HTTP server would have accepted).
    fn send(&self, probe: &Probe) -> Option<Answer> {
        let mut b = Request::builder()
            .method(probe.method.clone())
            .uri(probe.path.as_str())
            .header(header::CONTENT_LENGTH, probe.body.len());
        if let Some(ct) = probe.content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        if let Some(token) = &probe.bearer {
            b = b.header(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).ok()?,
            );
        }
        let req = b.body(Body::from(probe.body.clone())).ok()?;
        Some(self.rt.block_on(async {
            let response = self.app.clone().oneshot(req).await.unwrap();
            let status = response.status();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap()
                .to_vec();
            Answer {
                status,
                content_type,
                body,
            }
        }))
    }

    /// Sends `probe` and checks `property` of its answer, named on failure
    /// by the backend and `what`. A request that could not be built passes:
    /// no server would have seen it.
    fn holds(&self, probe: &Probe, what: &str, property: Property) -> Result<(), TestCaseError> {
        match self.send(probe) {
            Some(a) => property(&format!("{} {what}", self.backend), &a),
            None => Ok(()),
        }
    }

    /// `cases` cases of `strategy` (see [`runner`]), each turned by
    /// `request` into one request and the words that name it, whose answer
    /// must satisfy `property`.
    fn every_request<S: Strategy>(
        &self,
        cases: u32,
        strategy: &S,
        property: Property,
        request: impl Fn(S::Value) -> (Probe, String),
    ) {
        runner(self, cases)
            .run(strategy, |value| {
                let (probe, what) = request(value);
                self.holds(&probe, &what, property)
            })
            .unwrap();
    }
}

/// One request to send.
struct Probe {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    bearer: Option<String>,
    body: Vec<u8>,
}

impl Probe {
    fn post(
        path: impl Into<String>,
        content_type: Option<&'static str>,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            content_type,
            bearer: None,
            body: body.into(),
        }
    }

    fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            content_type: None,
            bearer: None,
            body: Vec::new(),
        }
    }

    fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.to_string());
        self
    }
}

/// A property of one answer, given the words that name its request.
type Property = fn(&str, &Answer) -> Result<(), TestCaseError>;

/// A body as text, for failure messages.
fn text(body: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(body)
}

/// The first property alone, for the compat routes, whose errors keep the
/// replaced systems' `{"error": …}` shape.
fn no_server_error(what: &str, a: &Answer) -> Result<(), TestCaseError> {
    prop_assert!(
        !a.status.is_server_error(),
        "{what} -> {}: {}",
        a.status,
        String::from_utf8_lossy(&a.body)
    );
    Ok(())
}

/// The two properties.
fn check(what: &str, a: &Answer) -> Result<(), TestCaseError> {
    let body = String::from_utf8_lossy(&a.body);
    no_server_error(what, a)?;
    if a.status.is_client_error() {
        prop_assert!(
            a.content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/json")),
            "{what} -> {} with content type {:?}: {body}",
            a.status,
            a.content_type
        );
        let v: Value = serde_json::from_slice(&a.body)
            .map_err(|e| TestCaseError::fail(format!("{what} -> {}: {e}: {body}", a.status)))?;
        for key in ["error", "error_description"] {
            prop_assert!(
                v.get(key)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty()),
                "{what} -> {}: no `{key}` in {body}",
                a.status
            );
        }
    }
    Ok(())
}

/// A runner of `cases` cases on SQLite, half as many on a database
/// server, where each request is a network round trip or more.
fn runner(fx: &Fixture, cases: u32) -> TestRunner {
    let cases = if fx.backend == "sqlite" {
        cases
    } else {
        (cases / 2).max(16)
    };
    TestRunner::new(Config {
        cases,
        // Nothing is written next to the sources; a failure prints its input.
        failure_persistence: None,
        ..Config::default()
    })
}

// ---- strategies ---------------------------------------------------------

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A plausible value for a field of that name, or anything at all.
fn field_value(name: &'static str) -> BoxedStrategy<Value> {
    let plausible: BoxedStrategy<String> = match name {
        "username" => "[a-zA-Z0-9._'-]{0,16}".boxed(),
        "password" => prop_oneof![".{0,12}", Just(PASSWORD.to_string())].boxed(),
        "email" => "[a-z]{0,6}@?[a-z]{0,6}(\\.[a-z]{2,3})?".boxed(),
        "first_name" | "last_name" => ".{0,20}".boxed(),
        "scope" => "[ -~]{0,20}".boxed(),
        "refresh_token" => "[A-Za-z0-9_-]{0,44}".boxed(),
        "grant_type" => select(vec!["password", "refresh_token", "client_credentials", ""])
            .prop_map(str::to_string)
            .boxed(),
        "name" => "[a-z0-9-]{0,10}".boxed(),
        "algorithm" => select(vec!["ES256", "EdDSA", "HS256", "none", "rs256", "ES512"])
            .prop_map(str::to_string)
            .boxed(),
        "access_ttl" => "[0-9]{0,21}(ms|s|m|h|d|x)?".boxed(),
        _ => any::<String>().boxed(),
    };
    prop_oneof![
        3 => plausible.prop_map(Value::String),
        1 => hostile_text().prop_map(Value::String),
        1 => any_json(),
    ]
    .boxed()
}

/// Text that no database column or name profile should meet unchecked:
/// pieces of NUL and other controls, bidi controls, default-ignorable and
/// combining characters, non-BMP and fullwidth letters, spaces, quotes;
/// or values far over every length limit.
fn hostile_text() -> BoxedStrategy<String> {
    let piece = prop_oneof![
        3 => select(vec![
            "\0", "\u{1}", "\u{1b}[31m", "\t", "\n", "\u{7f}", "\u{85}", "\u{202e}",
            "\u{2066}", "\u{200e}", "\u{200b}", "\u{feff}", "\u{ad}", "\u{2028}", "\u{301}",
            "\u{20000}", "😀", "ａ", "İ", "ß", "Σ", " ", "\u{3000}", "%", "%00", "'", "\\", "\"",
            "\u{fffd}", "\u{10ffff}", "@",
        ])
        .prop_map(str::to_string),
        2 => "[a-zA-Z0-9]{1,6}",
    ];
    prop_oneof![
        8 => prop::collection::vec(piece, 1..8).prop_map(|p| p.concat()),
        1 => (65usize..400).prop_map(|n| "x".repeat(n)),
        1 => (1usize..40).prop_map(|n| "é\0😀".repeat(n * 50)),
    ]
    .boxed()
}

/// A JSON object with each of `fields` (most of the time), holding hostile
/// text, written out by hand so that it can also carry escapes that no
/// Rust string holds (`\ud800`, a lone surrogate).
fn hostile_json_body(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        4 => hostile_text().prop_map(|t| Value::String(t).to_string()),
        1 => hostile_text().prop_map(|t| Value::String(format!("{t}@example.com")).to_string()),
        1 => select(vec![
            r#""a\ud800b""#,
            r#""\udfff""#,
            r#""\ud800\u0041""#,
            r#""\udbff\udfffok""#,
            r#""\u0000""#,
            r#""ad\u202emin""#,
        ])
        .prop_map(str::to_string),
        2 => Just(json!(PASSWORD).to_string()),
    ]
    .boxed();
    let entries: Vec<_> = fields
        .iter()
        .map(|f| {
            // The domain service's `domain` names the tenant: mostly a real one,
            // so that the rest of the body is read.
            let value = if *f == "domain" {
                prop_oneof![3 => Just(json!("default").to_string()), 1 => value.clone()].boxed()
            } else {
                value.clone()
            };
            prop::option::weighted(0.8, value.prop_map(move |v| (*f, v)))
        })
        .collect();
    entries.prop_map(|entries| {
        let members: Vec<String> = entries
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{}:{v}", json!(k)))
            .collect();
        format!("{{{}}}", members.join(",")).into_bytes()
    })
}

/// `text` as one path segment: every byte but RFC 3986 unreserved ones
/// percent-encoded, so the server decodes exactly `text`.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An object whose keys are mostly the endpoint's own field names.
fn object_with(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let entry = prop_oneof![
        6 => select(fields).prop_flat_map(|f| (Just(f.to_string()), field_value(f))),
        1 => ("[a-z_]{1,8}", any_json()),
    ];
    prop::collection::vec(entry, 0..6).prop_map(|entries| {
        let mut m = Map::new();
        for (k, v) in entries {
            m.insert(k, v);
        }
        Value::Object(m)
    })
}

/// A JSON body (mostly a plausible object), raw bytes or a raw string.
fn json_body(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => object_with(fields).prop_map(|v| v.to_string().into_bytes()),
        1 => any_json().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => any::<String>().prop_map(String::into_bytes),
    ]
}

fn content_type(right: &'static str) -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        6 => Just(Some(right)),
        1 => Just(None),
        1 => Just(Some(if right == JSON { FORM } else { JSON })),
        1 => Just(Some("text/plain; charset=utf-8")),
    ]
}

/// A form body: pairs with the token endpoint's field names, or bytes.
fn form_body() -> impl Strategy<Value = Vec<u8>> {
    const FIELDS: &[&str] = &[
        "grant_type",
        "username",
        "password",
        "refresh_token",
        "scope",
        "client_id",
    ];
    let pair = prop_oneof![
        6 => select(FIELDS).prop_flat_map(|f| {
            (Just(f.to_string()), field_value(f).prop_map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            }))
        }),
        1 => (any::<String>(), any::<String>()),
    ];
    prop_oneof![
        6 => prop::collection::vec(pair, 0..6)
            .prop_map(|pairs| serde_urlencoded::to_string(pairs).unwrap().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => "[a-z_=&%0-9A-F+]{0,64}".prop_map(String::into_bytes),
    ]
}

/// What goes after `Bearer `: anything, something JWT-shaped, or a valid
/// access token with one part replaced (the test body splices it).
#[derive(Debug, Clone)]
enum BearerInput {
    Raw(String),
    Splice(usize, String),
}

fn bearer_input() -> impl Strategy<Value = BearerInput> {
    prop_oneof![
        2 => any::<String>().prop_map(BearerInput::Raw),
        2 => "[A-Za-z0-9_=+/-]{0,30}(\\.[A-Za-z0-9_=+/-]{0,30}){0,4}".prop_map(BearerInput::Raw),
        3 => (0..3usize, prop_oneof!["[A-Za-z0-9_-]{0,60}", any::<String>()])
            .prop_map(|(i, s)| BearerInput::Splice(i, s)),
    ]
}

fn bearer_of(fx: &Fixture, input: &BearerInput) -> String {
    match input {
        BearerInput::Raw(s) => s.clone(),
        BearerInput::Splice(i, s) => {
            let mut parts: Vec<&str> = fx.access_token.split('.').collect();
            parts[*i] = s;
            parts.join(".")
        }
    }
}

// ---- properties ---------------------------------------------------------

/// Random JSON bodies built around `fields`, POSTed to `path`.
fn json_route_never_fails(path: &str, fields: &'static [&'static str]) {
    on_every_backend(|fx| {
        let bodies = (json_body(fields), content_type(JSON));
        fx.every_request(200, &bodies, check, |(body, ct)| {
            let what = format!("{path} {ct:?} {}", text(&body));
            (Probe::post(path, ct, body), what)
        });
    });
}

#[test]
fn register_never_fails_on_the_server_side() {
    json_route_never_fails(
        "/t/default/register",
        &["username", "password", "email", "first_name", "last_name"],
    );
}

#[test]
fn login_never_fails_on_the_server_side() {
    json_route_never_fails(
        "/t/default/login",
        &["username", "email", "password", "scope"],
    );
}

/// Hostile text in every field of the routes that take names and
/// passwords (the compat ones too), as the JSON body would carry it.
#[test]
fn hostile_names_and_passwords_never_fail_on_the_server_side() {
    const ROUTES: &[(&str, &[&str], bool)] = &[
        (
            "/t/default/register",
            &["username", "password", "email", "first_name", "last_name"],
            true,
        ),
        ("/t/default/login", &["username", "email", "password"], true),
        ("/t/default/login", &["email", "password"], true),
        (
            "/t/default/compat/openfaas/register",
            &["username", "password", "email", "first_name", "last_name"],
            false,
        ),
        (
            "/t/default/compat/openfaas/login",
            &["username", "password"],
            false,
        ),
        ("/login", &["domain", "username", "password"], true),
    ];
    on_every_backend(|fx| {
        for &(path, fields, json_errors) in ROUTES {
            let property: Property = if json_errors { check } else { no_server_error };
            fx.every_request(48, &hostile_json_body(fields), property, |body| {
                let what = format!("{path} {}", text(&body));
                (Probe::post(path, Some(JSON), body), what)
            });
        }
        // knock's body nests the credentials.
        let credentials = hostile_json_body(&["email", "password"]);
        fx.every_request(48, &credentials, check, |auth| {
            let body = [b"{\"auth\":".as_slice(), &auth, b"}"].concat();
            let what = format!("/user_token {}", text(&body));
            (Probe::post("/user_token", Some(JSON), body), what)
        });
        // The password grant, form-encoded.
        let form = (
            hostile_text(),
            prop_oneof![hostile_text(), Just(PASSWORD.to_string())],
        );
        fx.every_request(48, &form, check, |(username, password)| {
            let body = serde_urlencoded::to_string([
                ("grant_type", "password"),
                ("username", &username),
                ("password", &password),
            ])
            .unwrap();
            let what = format!("token {body}");
            (Probe::post("/t/default/token", Some(FORM), body), what)
        });
    });
}

/// Hostile text as the tenant of a path: at most "no such tenant".
#[test]
fn hostile_tenant_path_segments_never_fail_on_the_server_side() {
    on_every_backend(|fx| {
        let login = json!({"username": "prop-user", "password": PASSWORD}).to_string();
        runner(fx, 48)
            .run(&hostile_text(), |tenant| {
                let seg = path_segment(&tenant);
                let requests = [
                    Probe::post(format!("/t/{seg}/login"), Some(JSON), login.as_str()),
                    Probe::post(format!("/t/{seg}/register"), Some(JSON), login.as_str()),
                    Probe::get(format!("/t/{seg}/auth")).bearer(&fx.access_token),
                    Probe::get(format!("/t/{seg}/.well-known/jwks.json")),
                    Probe::get(format!("/admin/t/{seg}/keys")).bearer(ADMIN_TOKEN),
                    Probe::post(format!("/admin/t/{seg}/keys/rotate"), None, Vec::new())
                        .bearer(ADMIN_TOKEN),
                ];
                for probe in &requests {
                    fx.holds(probe, &format!("{} {tenant:?}", probe.path), check)?;
                }
                Ok(())
            })
            .unwrap();
    });
}

#[test]
fn token_endpoint_never_fails_on_the_server_side() {
    on_every_backend(|fx| {
        let bodies = (form_body(), content_type(FORM));
        fx.every_request(200, &bodies, check, |(body, ct)| {
            let what = format!("token {ct:?} {}", text(&body));
            (Probe::post("/t/default/token", ct, body), what)
        });
    });
}

#[test]
fn logout_never_fails_on_the_server_side() {
    on_every_backend(|fx| {
        let strategy = prop_oneof![
            (bearer_input(), Just(Vec::new()), Just(None)).prop_map(|(b, body, ct)| (
                Some(b),
                body,
                ct
            )),
            (json_body(&["refresh_token"]), content_type(JSON))
                .prop_map(|(body, ct)| (None, body, ct)),
        ];
        fx.every_request(200, &strategy, check, |(bearer, body, ct)| {
            let token = bearer.as_ref().map(|b| bearer_of(fx, b));
            let what = format!("logout {token:?} {}", text(&body));
            let mut probe = Probe::post("/t/default/logout", ct, body);
            probe.bearer = token;
            (probe, what)
        });
    });
}

#[test]
fn forward_auth_never_fails_on_the_server_side() {
    on_every_backend(|fx| {
        let query = prop_oneof![
            3 => Just(String::new()),
            1 => Just("?session=check".to_string()),
            1 => "\\?[a-z=&%0-9]{0,20}",
        ];
        fx.every_request(200, &(bearer_input(), query), check, |(bearer, query)| {
            let token = bearer_of(fx, &bearer);
            let what = format!("auth{query} {token:?}");
            (
                Probe::get(format!("/t/default/auth{query}")).bearer(&token),
                what,
            )
        });
    });
}

#[test]
fn admin_tenants_never_fail_on_the_server_side() {
    on_every_backend(|fx| {
        const FIELDS: &[&str] = &["name", "algorithm", "access_ttl", "audiences"];
        // Each valid name costs a key generation (RSA when no algorithm is
        // named), so fewer cases here.
        let bodies = (json_body(FIELDS), content_type(JSON));
        fx.every_request(64, &bodies, check, |(body, ct)| {
            let what = format!("admin {ct:?} {}", text(&body));
            (
                Probe::post("/admin/tenants", ct, body).bearer(ADMIN_TOKEN),
                what,
            )
        });
        fx.every_request(100, &bearer_input(), check, |bearer| {
            let token = bearer_of(fx, &bearer);
            let what = format!("admin list {token:?}");
            (Probe::get("/admin/tenants").bearer(&token), what)
        });
    });
}

/// A refresh token, once used, must not work again; the second use is a
/// client error (and revokes the session), never a server error.
#[test]
fn refresh_token_reuse_is_a_client_error() {
    on_every_backend(|fx| {
        let refresh = Probe::post(
            "/t/default/token",
            Some(FORM),
            format!(
                "grant_type=refresh_token&refresh_token={}",
                fx.refresh_token
            ),
        );
        let first = fx.send(&refresh).unwrap();
        assert_eq!(first.status, StatusCode::OK, "{}", fx.backend);
        let again = fx.send(&refresh).unwrap();
        assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", fx.backend);
        check("refresh reuse", &again).unwrap();
    });
}

/// Findings of the fuzzer (fuzz/README.md, GH-FUZZ-1 and -2), now fixed:
/// axum's own body and path rejections used to bypass the JSON error format.
#[test]
fn extractor_rejections_are_json_errors() {
    on_every_backend(|fx| {
        let big = vec![b'x'; 64 * 1024 + 1];
        for (what, probe) in [
            (
                "logout with a 64 KiB + 1 body",
                Probe::post("/t/default/logout", Some(JSON), big.clone()),
            ),
            (
                "rotate with a 64 KiB + 1 body",
                Probe::post("/admin/t/default/keys/rotate", Some(JSON), big.clone())
                    .bearer(ADMIN_TOKEN),
            ),
            (
                "GET /admin/t/%ff/keys",
                Probe::get("/admin/t/%ff/keys").bearer(ADMIN_TOKEN),
            ),
        ] {
            check(what, &fx.send(&probe).unwrap()).unwrap();
        }
    });
}
