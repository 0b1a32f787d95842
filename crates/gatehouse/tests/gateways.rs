//! The gateway snippets in `deploy/`, run for real: nginx and Caddy started
//! from `deploy/nginx/gatehouse.conf` and `deploy/caddy/Caddyfile` (their
//! placeholders substituted), in front of an upstream that echoes what it
//! received, asking a real `gatehouse serve`. Traefik and Envoy are not
//! packaged here: their tests replay, straight to Gatehouse, the request
//! each one documents sending for the snippets in `deploy/traefik` and
//! `deploy/envoy`.
//!
//! Without nginx or Caddy the test for it skips, unless
//! `GATEHOUSE_TEST_REQUIRE_GATEWAYS` is set (CI sets it): then it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, Uri};
use base64::Engine;
use reqwest::RequestBuilder;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};

/// The bound on every wait: a child starting, a port opening.
const WAIT: Duration = Duration::from_secs(20);
/// The bound on every request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const REQUIRE_VAR: &str = "GATEHOUSE_TEST_REQUIRE_GATEWAYS";
const TENANT: &str = "default";
/// The original request every case sends through a gateway (the policy's
/// `functions` rule: a JWT or an API key).
const ORIGINAL_URI: &str = "/function/hello?x=1";
/// A route of the policy's `billing` rule: the scope `billing` is needed.
const BILLING_URI: &str = "/function/billing-eu/charge";
/// A route of the policy's `legacy` rule: Basic, realm `legacy`.
const LEGACY_URI: &str = "/function/legacy/report";
const PASSWORD: &str = "correct horse battery staple";
const ADMIN_TOKEN: &str = "gateway-tests-admin-token-0123456789";

/// Every identity header a snippet copies to the upstream. Gatehouse
/// sending one that is not here fails [`Gatehouse::start`]: add it here
/// and to every snippet in `deploy/`.
const IDENTITY_HEADERS: [&str; 8] = [
    "x-auth-subject",
    "x-auth-username",
    "x-auth-email",
    "x-auth-scope",
    "x-auth-roles",
    "x-auth-tenant",
    "x-auth-credential",
    "x-auth-key-id",
];

/// What a client forges to pass as someone else: identity headers in both
/// spellings, one of them twice, next to (or instead of) a credential.
const FORGED: [(&str, &str); 6] = [
    ("X-Auth-Subject", "admin"),
    ("X-Auth-Subject", "root"),
    ("X-Auth-Roles", "admin"),
    ("X-Auth-Key-Id", "forged"),
    ("x-auth-credential", "api_key"),
    // Read as X-Auth-Subject by CGI, WSGI and PHP, which fold `_` and `-`.
    ("X_Auth_Subject", "admin"),
];

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap()
}

/// Identity headers by name, lowercased and with `_` read as `-` (as a
/// framework that folds them would read them), each with every value sent.
type Identity = BTreeMap<String, Vec<String>>;

fn identity_of<'a>(headers: impl IntoIterator<Item = (&'a str, String)>) -> Identity {
    let mut identity = Identity::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase().replace('_', "-");
        if name.starts_with("x-auth-") {
            identity.entry(name).or_default().push(value);
        }
    }
    identity
}

fn identity_in(headers: &reqwest::header::HeaderMap) -> Identity {
    identity_of(headers.iter().map(|(n, v)| {
        (
            n.as_str(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        )
    }))
}

/// Gatehouse with the route policy of `deploy/policy.json`, one registered
/// user, logged in, and an API key with the scope `billing`.
struct Gatehouse {
    server: common::Server,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
    user_id: String,
    token: String,
    api_key: String,
    api_key_id: String,
    /// The identity headers `/auth` answers for `token`, asked directly:
    /// exactly what the upstream must see behind a gateway.
    identity: Identity,
}

impl Gatehouse {
    /// `gatehouse serve`, then register and log in over HTTP (README,
    /// "From nothing to a verified token"), then the policy and a key.
    async fn start() -> Gatehouse {
        Self::start_with(&[]).await
    }

    async fn start_with(args: &[&str]) -> Gatehouse {
        let dir = tempfile::tempdir().unwrap();
        let server = common::serve(dir.path(), args, &[("GATEHOUSE_ADMIN_TOKEN", ADMIN_TOKEN)]);
        let http = http_client();
        let iss = format!("{}/t/{TENANT}", server.base);
        let password = PASSWORD;
        let alice =
            json!({"username": "alice", "password": password, "email": "alice@example.com"});
        let r = http
            .post(format!("{iss}/register"))
            .json(&alice)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let user: Value = r.json().await.unwrap();
        let user_id = user["id"].as_str().unwrap().to_string();
        let r = http
            .post(format!("{iss}/login"))
            .json(&json!({"username": "alice", "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let tokens: Value = r.json().await.unwrap();
        let token = tokens["access_token"].as_str().unwrap().to_string();
        assert_eq!(common::claims_of(&token)["sub"], user_id.as_str());

        let admin = format!("{}/admin/t/{TENANT}", server.base);
        let r = http
            .put(format!("{admin}/policies"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&example_policy())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = http
            .post(format!("{admin}/apikeys"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"name": "gateway-tests", "scopes": ["billing"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let key: Value = r.json().await.unwrap();

        let r = http
            .get(format!("{iss}/auth"))
            .header("x-original-method", "POST")
            .header("x-original-uri", ORIGINAL_URI)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let identity = identity_in(r.headers());
        assert_eq!(identity["x-auth-subject"], [user_id.as_str()]);
        assert_eq!(identity["x-auth-credential"], ["jwt"]);
        for name in identity.keys() {
            assert!(
                IDENTITY_HEADERS.contains(&name.as_str()),
                "Gatehouse sends {name}, which the deploy/ snippets do not copy: add it to them and to IDENTITY_HEADERS"
            );
        }
        Gatehouse {
            server,
            _dir: dir,
            http,
            user_id,
            token,
            api_key: key["key"].as_str().unwrap().to_string(),
            api_key_id: key["id"].as_str().unwrap().to_string(),
            identity,
        }
    }

    fn base(&self) -> &str {
        &self.server.base
    }
}

/// `deploy/policy.json`, the example policy every gateway test applies.
fn example_policy() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/policy.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One request as the upstream received it, from the JSON it answered.
#[derive(Debug)]
struct Seen {
    method: String,
    /// Path and query.
    uri: String,
    /// Every header, in the order received; names lowercased.
    headers: Vec<(String, String)>,
}

impl Seen {
    fn from_json(body: &Value) -> Seen {
        Seen {
            method: body["method"].as_str().unwrap().to_string(),
            uri: body["uri"].as_str().unwrap().to_string(),
            headers: body["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h[0].as_str().unwrap().to_string(),
                        h[1].as_str().unwrap().to_string(),
                    )
                })
                .collect(),
        }
    }

    fn identity(&self) -> Identity {
        identity_of(self.headers.iter().map(|(n, v)| (n.as_str(), v.clone())))
    }
}

/// The protected service: an HTTP server on 127.0.0.1 that answers every
/// request with its method, URI and every header as JSON, and counts them.
struct Upstream {
    base: String,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    async fn start() -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let echo = move |method: Method, uri: Uri, headers: HeaderMap| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let headers: Vec<[String; 2]> = headers
                    .iter()
                    .map(|(n, v)| {
                        let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                        [n.as_str().to_string(), value]
                    })
                    .collect();
                axum::Json(
                    json!({"method": method.as_str(), "uri": uri.to_string(), "headers": headers}),
                )
            }
        };
        let app = axum::Router::new().fallback(echo);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Upstream { base, hits, task }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// `name` on `PATH` or in the usual sbin folders (nginx is in /usr/sbin,
/// often not on a non-root `PATH`). Missing: `None` with a note, or a
/// failure when `GATEHOUSE_TEST_REQUIRE_GATEWAYS` is set.
fn gateway_binary(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from));
    let found = dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os(REQUIRE_VAR).is_none(),
            "{name} is not installed, and {REQUIRE_VAR} is set: the {name} tests must run"
        );
        eprintln!(
            "skipped: {name} is not installed (install it to run this test; with {REQUIRE_VAR}=1 this is a failure)"
        );
    }
    found
}

/// `deploy/<snippet>` with each `{{NAME}}` replaced; none may be left.
fn render(snippet: &str, vars: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(snippet);
    let mut text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    for (name, value) in vars {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    if let Some(at) = text.find("{{") {
        let line = text[at..].lines().next().unwrap_or("");
        panic!("deploy/{snippet}: a placeholder the test does not set: {line}");
    }
    text
}

/// A gateway running a `deploy/` snippet, as a child process stopped on
/// drop (its output is printed if the test failed).
struct Gateway {
    name: &'static str,
    base: String,
    child: Child,
    dir: tempfile::TempDir,
    /// How to stop it so that nothing outlives it: nginx's master must
    /// take its workers down (`nginx -s stop`); a SIGKILL would orphan them.
    stop: Option<Command>,
}

impl Gateway {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }

    /// Waits, bounded, until the gateway accepts connections on `port`.
    fn wait_until_listening(mut self, port: u16) -> Gateway {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited at start ({status}):\n{}", self.name, self.log());
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return self;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {addr} within {WAIT:?}:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = &mut self.stop {
            let _ = stop.stdout(Stdio::null()).stderr(Stdio::null()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} output:\n{}", self.name, self.log());
        }
    }
}

fn log_file(dir: &Path) -> (Stdio, Stdio) {
    let log = File::create(dir.join("gateway.log")).unwrap();
    (log.try_clone().unwrap().into(), log.into())
}

/// nginx from `deploy/nginx/gatehouse.conf`, as the snippet says to run it:
/// `nginx -p DIR -c DIR/gatehouse.conf -g 'daemon off;'`.
fn start_nginx(bin: &Path, gatehouse: &Gatehouse, upstream: &Upstream) -> Gateway {
    let port = common::free_port();
    let dir = tempfile::tempdir().unwrap();
    // Run as root, nginx's workers are `nobody`: they must be able to reach
    // the temporary folders it makes under the prefix.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let listen = format!("127.0.0.1:{port}");
    let conf = dir.path().join("gatehouse.conf");
    let text = render(
        "nginx/gatehouse.conf",
        &[
            ("LISTEN", &listen),
            ("GATEHOUSE", gatehouse.base()),
            ("UPSTREAM", &upstream.base),
            ("TENANT", TENANT),
        ],
    );
    std::fs::write(&conf, text).unwrap();
    let prefix = dir.path().to_str().unwrap().to_string();
    let conf = conf.to_str().unwrap().to_string();
    let (out, err) = log_file(dir.path());
    let child = Command::new(bin)
        .args(["-p", &prefix, "-c", &conf, "-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
    let mut stop = Command::new(bin);
    stop.args(["-p", &prefix, "-c", &conf, "-s", "stop"]);
    Gateway {
        name: "nginx",
        base: format!("http://{listen}"),
        child,
        dir,
        stop: Some(stop),
    }
    .wait_until_listening(port)
}

/// Caddy from `deploy/caddy/Caddyfile`: `caddy run --config Caddyfile
/// --adapter caddyfile`, its config and data folders inside the test's.
fn start_caddy(bin: &Path, gatehouse: &Gatehouse, upstream: &Upstream) -> Gateway {
    let port = common::free_port();
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let caddyfile = dir.path().join("Caddyfile");
    let text = render(
        "caddy/Caddyfile",
        &[
            ("LISTEN", &listen),
            ("GATEHOUSE", gatehouse.base()),
            ("UPSTREAM", &upstream.base),
            ("TENANT", TENANT),
        ],
    );
    std::fs::write(&caddyfile, text).unwrap();
    let (out, err) = log_file(dir.path());
    let child = Command::new(bin)
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&caddyfile)
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
    Gateway {
        name: "caddy",
        base: format!("http://{listen}"),
        child,
        dir,
        stop: None,
    }
    .wait_until_listening(port)
}

fn with_forged(mut request: RequestBuilder) -> RequestBuilder {
    for (name, value) in FORGED {
        request = request.header(name, value);
    }
    request
}

/// What stands in front of the upstream: a gateway, or proxy mode.
struct Front<'a> {
    name: &'a str,
    base: &'a str,
}

impl<'a> From<&'a Gateway> for Front<'a> {
    fn from(gateway: &'a Gateway) -> Self {
        Front {
            name: gateway.name,
            base: &gateway.base,
        }
    }
}

/// Sends `request` through the gateway; it must reach the upstream (once)
/// and come back 200. Returns what the upstream saw.
async fn passes(gateway: &Front<'_>, upstream: &Upstream, request: RequestBuilder) -> Seen {
    let before = upstream.hits();
    let r = request.send().await.unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, 200, "{}: {body}", gateway.name);
    assert_eq!(upstream.hits(), before + 1, "{}", gateway.name);
    Seen::from_json(&serde_json::from_str(&body).unwrap())
}

/// Sends `request` through the gateway; it must be answered `status`
/// without reaching the upstream. Returns the response.
async fn refused(
    gateway: &Front<'_>,
    upstream: &Upstream,
    request: RequestBuilder,
    status: u16,
) -> reqwest::Response {
    let before = upstream.hits();
    let r = request.send().await.unwrap();
    assert_eq!(r.status(), status, "{}", gateway.name);
    assert_eq!(
        upstream.hits(),
        before,
        "{}: a refused request reached the upstream",
        gateway.name
    );
    r
}

/// A 401 carries Gatehouse's RFC 6750 challenge, once.
fn assert_bearer_challenge(gateway: &Front<'_>, r: &reqwest::Response, error: Option<&str>) {
    let challenges: Vec<_> = r.headers().get_all(WWW_AUTHENTICATE).iter().collect();
    assert_eq!(challenges.len(), 1, "{}: {challenges:?}", gateway.name);
    let challenge = challenges[0].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer"),
        "{}: {challenge}",
        gateway.name
    );
    if let Some(error) = error {
        assert!(
            challenge.contains(&format!("error=\"{error}\"")),
            "{}: {challenge}",
            gateway.name
        );
    }
}

/// What every forward-auth gateway in front of `upstream` must do.
async fn forward_auth_cases(gatehouse: &Gatehouse, gateway: &Front<'_>, upstream: &Upstream) {
    let http = &gatehouse.http;
    let url = format!("{}{ORIGINAL_URI}", gateway.base);
    let name = gateway.name;

    // A valid JWT reaches the upstream, the request unchanged, with
    // Gatehouse's identity headers and no others.
    let seen = passes(
        gateway,
        upstream,
        http.post(&url).bearer_auth(&gatehouse.token),
    )
    .await;
    assert_eq!(seen.method, "POST", "{name}");
    assert_eq!(seen.uri, ORIGINAL_URI, "{name}");
    assert_eq!(seen.identity(), gatehouse.identity, "{name}");
    assert_eq!(
        seen.identity()["x-auth-subject"],
        [gatehouse.user_id.as_str()]
    );
    assert_eq!(seen.identity()["x-auth-credential"], ["jwt"]);

    // Forged identity headers next to a valid token: the upstream sees the
    // real subject, and none of the forged headers in any spelling.
    let forged = with_forged(http.get(&url).bearer_auth(&gatehouse.token));
    let seen = passes(gateway, upstream, forged).await;
    assert_eq!(seen.identity(), gatehouse.identity, "{name}");

    // No credential: 401 with Gatehouse's challenge.
    let r = refused(gateway, upstream, http.get(&url), 401).await;
    assert_bearer_challenge(gateway, &r, None);

    // Forged identity headers alone are no credential.
    let r = refused(gateway, upstream, with_forged(http.get(&url)), 401).await;
    assert_bearer_challenge(gateway, &r, None);

    // A garbage token.
    let garbage = http.get(&url).bearer_auth("not-a-token");
    let r = refused(gateway, upstream, garbage, 401).await;
    assert_bearer_challenge(gateway, &r, Some("invalid_token"));

    // An API key reaches the upstream as the key, forged headers or not.
    let key = with_forged(http.get(&url).header("x-api-key", &gatehouse.api_key));
    let seen = passes(gateway, upstream, key).await;
    let identity = seen.identity();
    assert_eq!(identity["x-auth-credential"], ["api_key"], "{name}");
    assert_eq!(
        identity["x-auth-key-id"],
        [gatehouse.api_key_id.as_str()],
        "{name}"
    );
    assert_eq!(identity["x-auth-scope"], ["billing"], "{name}");
    assert_eq!(identity["x-auth-subject"].len(), 1, "{name}: {identity:?}");

    // Basic credentials on the rule that takes them, as the user.
    let legacy = format!("{}{LEGACY_URI}", gateway.base);
    let basic = http.get(&legacy).basic_auth("alice", Some(PASSWORD));
    let seen = passes(gateway, upstream, with_forged(basic)).await;
    let identity = seen.identity();
    assert_eq!(identity["x-auth-credential"], ["basic"], "{name}");
    assert_eq!(identity["x-auth-username"], ["alice"], "{name}");
    assert_eq!(
        identity["x-auth-subject"],
        [gatehouse.user_id.as_str()],
        "{name}"
    );
    // ... and without them, the rule's Basic challenge.
    let r = refused(gateway, upstream, http.get(&legacy), 401).await;
    let challenges: Vec<_> = r.headers().get_all(WWW_AUTHENTICATE).iter().collect();
    assert_eq!(challenges.len(), 1, "{name}: {challenges:?}");
    assert!(
        challenges[0]
            .to_str()
            .unwrap()
            .starts_with("Basic realm=\"legacy\""),
        "{name}: {challenges:?}"
    );
    let wrong = http
        .get(&legacy)
        .basic_auth("alice", Some("wrong password"));
    refused(gateway, upstream, wrong, 401).await;

    // A valid JWT without the scope the billing rule needs: 403, and the
    // upstream never sees it; the key that carries the scope passes.
    let billing = format!("{}{BILLING_URI}", gateway.base);
    let jwt = http.post(&billing).bearer_auth(&gatehouse.token);
    refused(gateway, upstream, jwt, 403).await;
    let key = http.post(&billing).header("x-api-key", &gatehouse.api_key);
    let seen = passes(gateway, upstream, key).await;
    assert_eq!(seen.identity()["x-auth-credential"], ["api_key"], "{name}");
    // A route no rule allows: the catch-all deny.
    let other = http
        .get(format!("{}/admin/t/default/keys", gateway.base))
        .bearer_auth(&gatehouse.token);
    refused(gateway, upstream, other, 403).await;
}

#[tokio::test]
async fn nginx_auth_request_in_front_of_an_upstream() {
    let Some(bin) = gateway_binary("nginx") else {
        return;
    };
    let gatehouse = Gatehouse::start().await;
    let upstream = Upstream::start().await;
    let nginx = start_nginx(&bin, &gatehouse, &upstream);
    forward_auth_cases(&gatehouse, &(&nginx).into(), &upstream).await;
}

#[tokio::test]
async fn caddy_forward_auth_in_front_of_an_upstream() {
    let Some(bin) = gateway_binary("caddy") else {
        return;
    };
    let gatehouse = Gatehouse::start().await;
    let upstream = Upstream::start().await;
    let caddy = start_caddy(&bin, &gatehouse, &upstream);
    forward_auth_cases(&gatehouse, &(&caddy).into(), &upstream).await;
}

/// Proxy mode run with the args of `deploy/openfaas/proxy.yml` (but the
/// API's `--listen`, which the test picks), in front of the upstream: the
/// same cases as a gateway, since it must hold to the same rules.
#[tokio::test]
async fn proxy_mode_in_front_of_an_upstream() {
    let upstream = Upstream::start().await;
    let proxy_port = common::free_port();
    let proxy_listen = format!("127.0.0.1:{proxy_port}");
    let manifest = render(
        "openfaas/proxy.yml",
        &[
            ("PROXY_LISTEN", &proxy_listen),
            ("UPSTREAM", &upstream.base),
            ("TENANT", TENANT),
        ],
    );
    let args = yaml_list(&manifest, "args");
    assert_eq!(args.first().map(String::as_str), Some("serve"));
    let args: Vec<&str> = args[1..]
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--listen"))
        .collect();
    assert!(args.contains(&format!("--upstream={}", upstream.base).as_str()));
    let gatehouse = Gatehouse::start_with(&args).await;
    let base = format!("http://{proxy_listen}");
    let front = Front {
        name: "proxy mode",
        base: &base,
    };
    forward_auth_cases(&gatehouse, &front, &upstream).await;

    // What forward auth cannot do: a signed webhook, its body checked.
    let secret = gatehouse
        .http
        .put(format!(
            "{}/admin/t/{TENANT}/secrets/github-hook",
            gatehouse.base()
        ))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"value": "It's a Secret to Everybody"}))
        .send()
        .await
        .unwrap();
    assert_eq!(secret.status(), 200);
    // GitHub's documented example.
    let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let hook = format!("{base}/function/github-hook");
    let signed = gatehouse
        .http
        .post(&hook)
        .header("x-hub-signature-256", signature)
        .body("Hello, World!");
    let seen = passes(&front, &upstream, with_forged(signed)).await;
    assert_eq!(seen.identity()["x-auth-credential"], ["hmac"]);
    assert!(
        !seen.identity().contains_key("x-auth-subject"),
        "a webhook has no subject"
    );
    let tampered = gatehouse
        .http
        .post(&hook)
        .header("x-hub-signature-256", signature)
        .body("Hello, World?");
    refused(&front, &upstream, tampered, 401).await;
}

/// The items of the first `key:` block list of a YAML snippet.
fn yaml_list(text: &str, key: &str) -> Vec<String> {
    let mut lines = text.lines().map(str::trim);
    lines
        .by_ref()
        .find(|l| *l == format!("{key}:"))
        .unwrap_or_else(|| panic!("no `{key}:` list in the snippet"));
    lines
        .map_while(|l| l.strip_prefix("- "))
        .map(|item| item.trim_matches('"').to_string())
        .collect()
}

/// The value of the first `key:` line of a YAML snippet, unquoted.
fn yaml_value(text: &str, key: &str) -> String {
    let line = text
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no `{key}:` in the snippet"));
    line[key.len() + 1..].trim().trim_matches('"').to_string()
}

/// What Gatehouse must answer a gateway's sub-request. `check` builds the
/// sub-request the gateway sends for an original `POST uri` that carries
/// `headers`.
async fn sub_request_cases(
    gatehouse: &Gatehouse,
    name: &str,
    check_uri: impl Fn(&str, &[(&str, &str)]) -> RequestBuilder,
) {
    let check = |headers: &[(&str, &str)]| check_uri(ORIGINAL_URI, headers);
    let bearer = format!("Bearer {}", gatehouse.token);

    // A valid JWT: 200 with the identity headers the gateway copies. A
    // forged X-Auth-Subject that came along changes nothing.
    let r = check(&[("authorization", &bearer), ("x-auth-subject", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{name}");
    let identity = identity_in(r.headers());
    assert_eq!(identity, gatehouse.identity, "{name}");
    assert_eq!(identity["x-auth-subject"], [gatehouse.user_id.as_str()]);

    // No credential: 401 with a Bearer challenge, which the gateway passes on.
    let r = check(&[("x-auth-subject", "admin")]).send().await.unwrap();
    assert_eq!(r.status(), 401, "{name}");
    let challenge = r.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{name}: {challenge}");

    // A garbage token.
    let r = check(&[("authorization", "Bearer not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "{name}");
    let challenge = r.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{name}: {challenge}");

    // An API key: 200 as the key.
    let r = check(&[("x-api-key", &gatehouse.api_key)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{name}");
    let identity = identity_in(r.headers());
    assert_eq!(identity["x-auth-credential"], ["api_key"], "{name}");
    assert_eq!(
        identity["x-auth-key-id"],
        [gatehouse.api_key_id.as_str()],
        "{name}"
    );

    // Basic credentials on the rule that takes them; none: its challenge.
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"))
    );
    let r = check_uri(LEGACY_URI, &[("authorization", &basic)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{name}");
    let identity = identity_in(r.headers());
    assert_eq!(identity["x-auth-credential"], ["basic"], "{name}");
    assert_eq!(
        identity["x-auth-subject"],
        [gatehouse.user_id.as_str()],
        "{name}"
    );
    let r = check_uri(LEGACY_URI, &[]).send().await.unwrap();
    assert_eq!(r.status(), 401, "{name}");
    let challenge = r.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.starts_with("Basic realm=\"legacy\""),
        "{name}: {challenge}"
    );

    // A JWT without the scope the billing rule needs: 403.
    let r = check_uri(BILLING_URI, &[("authorization", &bearer)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "{name}");
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("billing"),
        "{name}: {body}"
    );
}

/// Traefik's ForwardAuth (pkg/middlewares/auth/forward.go): a GET to
/// `address` with every header of the original request except the
/// hop-by-hop ones, no body, and with trustForwardHeader off
/// X-Forwarded-Method, -Proto, -Host, -Uri and -For set from the request
/// Traefik received.
#[tokio::test]
async fn traefik_forward_auth_request_replayed() {
    let gatehouse = Gatehouse::start().await;
    let snippet = render(
        "traefik/dynamic.yml",
        &[
            ("GATEHOUSE", gatehouse.base()),
            ("UPSTREAM", "http://127.0.0.1:9"),
            ("TENANT", TENANT),
        ],
    );
    let address = yaml_value(&snippet, "address");
    assert_eq!(address, format!("{}/t/{TENANT}/auth", gatehouse.base()));
    for header in IDENTITY_HEADERS {
        let listed = format!("- {header}");
        assert!(
            snippet.to_ascii_lowercase().contains(&listed),
            "deploy/traefik/dynamic.yml: authResponseHeaders lacks {header}"
        );
    }
    sub_request_cases(&gatehouse, "traefik", |uri, original| {
        let mut check = gatehouse.http.get(&address);
        for (name, value) in original {
            check = check.header(*name, *value);
        }
        check
            .header("user-agent", "curl/8.5.0")
            .header("accept", "*/*")
            .header("x-forwarded-method", "POST")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "app.example.test")
            .header("x-forwarded-uri", uri)
            .header("x-forwarded-for", "203.0.113.7")
    })
    .await;
}

/// Envoy's HTTP ext_authz (source/extensions/filters/common/ext_authz/
/// ext_authz_http_impl.cc): the original method, `path_prefix` + the
/// original path and query, the original Host, Authorization and the
/// snippet's allowed_headers, and the buffered body (with_request_body)
/// with its Content-Length.
#[tokio::test]
async fn envoy_ext_authz_request_replayed() {
    let gatehouse = Gatehouse::start().await;
    let snippet = render(
        "envoy/envoy.yaml",
        &[
            ("LISTEN_ADDRESS", "127.0.0.1"),
            ("LISTEN_PORT", "10000"),
            ("GATEHOUSE_ADDRESS", "127.0.0.1"),
            ("GATEHOUSE_PORT", "8080"),
            ("UPSTREAM_ADDRESS", "127.0.0.1"),
            ("UPSTREAM_PORT", "9"),
            ("TENANT", TENANT),
        ],
    );
    let path_prefix = yaml_value(&snippet, "path_prefix");
    assert_eq!(path_prefix, format!("/t/{TENANT}/auth"));
    // What allowed_headers lets through besides Authorization (always sent).
    let allowed = ["x-api-key", "content-type", "x-hub-signature-256"];
    for header in allowed {
        assert!(
            snippet.contains(&format!("exact: {header}")),
            "deploy/envoy/envoy.yaml: allowed_headers lacks {header}"
        );
    }
    sub_request_cases(&gatehouse, "envoy", |uri, original| {
        let body = r#"{"hello":"world"}"#;
        let mut check = gatehouse
            .http
            .post(format!("{}{path_prefix}{uri}", gatehouse.base()))
            .header("host", "app.example.test")
            .header("content-type", "application/json")
            .header("x-envoy-auth-partial-body", "false")
            .body(body);
        for (name, value) in original {
            if *name == "authorization" || allowed.contains(name) {
                check = check.header(*name, *value);
            }
        }
        check
    })
    .await;
}

/// Every snippet names every identity header (to copy it, to clear the
/// client's): one added to IDENTITY_HEADERS and to some snippets but not
/// the others fails here.
#[test]
fn every_snippet_names_every_identity_header() {
    for snippet in [
        "nginx/gatehouse.conf",
        "caddy/Caddyfile",
        "traefik/dynamic.yml",
        "envoy/envoy.yaml",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy")
            .join(snippet);
        let text = std::fs::read_to_string(&path).unwrap().to_ascii_lowercase();
        for header in IDENTITY_HEADERS {
            assert!(
                text.contains(header),
                "deploy/{snippet} never names {header}"
            );
        }
    }
}
