//! The authorization code flow with PKCE through the hosted sign-in page,
//! ID tokens and RP-initiated logout, driven over HTTP like a browser
//! without JavaScript would (redirects not followed, cookies carried by
//! hand). The real-browser test is `browser.rs` (Chromium), and real client
//! libraries drive the same flow in `oauth_interop.rs`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{
    Options, PASSWORD, TestApp, claims_of, error_code, header_of, spawn_app, spawn_app_with,
};
use crate::oauth_clients::{basic, create_client, post_form_basic};

const REDIRECT: &str = "https://app.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A browser: no redirects followed, cookies kept by hand.
struct Browser {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, r: &reqwest::Response) {
        for set in r.headers().get_all("set-cookie") {
            let text = set.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() && !text.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let r = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&r);
        r
    }

    async fn post_form(&mut self, url: &str, form: &[(String, String)]) -> reqwest::Response {
        let r = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&r);
        r
    }

    fn has_cookie(&self, name: &str) -> bool {
        self.cookies.iter().any(|(k, _)| k == name)
    }
}

/// The hidden and visible fields of the sign-in form, as the browser would
/// post them.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for input in html.split("<input").skip(1) {
        let attr = |name: &str| -> Option<String> {
            let start = input.find(&format!("{name}=\""))? + name.len() + 2;
            let end = input[start..].find('"')? + start;
            Some(
                input[start..end]
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
            )
        };
        if let Some(name) = attr("name") {
            fields.push((name, attr("value").unwrap_or_default()));
        }
    }
    fields
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(k, _)| k != name);
    fields.push((name.to_string(), value.to_string()));
}

fn location(r: &reqwest::Response) -> url::Url {
    url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap()
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

struct Client {
    id: String,
    secret: Option<String>,
}

async fn web_client(app: &TestApp, tenant: &str) -> Client {
    let c = create_client(
        app,
        tenant,
        json!({"name": "Orders web", "type": "confidential",
               "grants": ["authorization_code", "refresh_token"],
               "scopes": ["openid", "profile", "email", "offline_access", "orders:read"],
               "redirect_uris": [REDIRECT, "http://127.0.0.1:8123/callback"],
               "post_logout_redirect_uris": ["https://app.example/bye"]}),
    )
    .await;
    Client {
        id: c["client_id"].as_str().unwrap().into(),
        secret: c["client_secret"].as_str().map(Into::into),
    }
}

async fn public_client(app: &TestApp) -> Client {
    let c = create_client(
        app,
        "default",
        json!({"name": "SPA", "type": "public", "redirect_uris": [REDIRECT]}),
    )
    .await;
    Client {
        id: c["client_id"].as_str().unwrap().into(),
        secret: None,
    }
}

/// The authorize URL with the defaults of a good request; `extra` replaces
/// a default of the same name, and an empty value drops it.
fn authorize_url(app: &TestApp, client: &Client, extra: &[(&str, &str)]) -> String {
    let challenge = challenge(VERIFIER);
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email offline_access"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in extra {
        params.retain(|(k, _)| k != name);
        if !value.is_empty() {
            params.push((name, value));
        }
    }
    let mut url = url::Url::parse(&format!("{}/authorize", app.iss("default"))).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

/// Opens the authorize URL, signs in as `username`; the redirect back.
async fn sign_in(
    browser: &mut Browser,
    url: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let r = browser.get(url).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let html = r.text().await.unwrap();
    let mut fields = form_fields(&html);
    set(&mut fields, "username", username);
    set(&mut fields, "password", password);
    let action = url.split('?').next().unwrap().to_string();
    browser.post_form(&action, &fields).await
}

/// The code from the redirect back: at once if the browser is signed in,
/// else after signing in as ada.
async fn code_for(
    app: &TestApp,
    browser: &mut Browser,
    client: &Client,
    extra: &[(&str, &str)],
) -> String {
    let url = authorize_url(app, client, extra);
    let r = browser.get(&url).await;
    let r = if r.status() == StatusCode::FOUND {
        r
    } else {
        sign_in(browser, &url, "ada", PASSWORD).await
    };
    assert!(r.status().is_redirection(), "{}", r.status());
    let back = location(&r);
    assert_eq!(back.as_str().split('?').next().unwrap(), REDIRECT);
    param(&back, "code").unwrap()
}

async fn exchange(
    app: &TestApp,
    client: &Client,
    code: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    match &client.secret {
        Some(secret) => {
            post_form_basic(app, "/t/default/token", &basic(&client.id, secret), &form).await
        }
        None => {
            form.push(("client_id", &client.id));
            app.post_form("/t/default/token", &form).await
        }
    }
}

/// The refresh grant, authenticated as the (confidential) client.
async fn refresh_as(app: &TestApp, client: &Client, refresh_token: &str) -> reqwest::Response {
    let secret = client.secret.as_deref().unwrap();
    post_form_basic(
        app,
        "/t/default/token",
        &basic(&client.id, secret),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

async fn app_with_ada() -> TestApp {
    let app = spawn_app().await;
    app.register("default", "ada").await;
    app
}

#[tokio::test]
async fn code_flow_with_pkce_signs_in_and_issues_tokens_with_an_id_token() {
    let app = app_with_ada().await;
    let client = web_client(&app, "default").await;
    let mut browser = Browser::new();

    let r = browser.get(&authorize_url(&app, &client, &[])).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let html = r.text().await.unwrap();
    assert!(html.contains("Sign in to default") && html.contains("Orders web"));
    assert!(html.contains("<label for=\"username\">") && html.contains("<label for=\"password\">"));
    assert!(browser.has_cookie("gatehouse_csrf"));

    let r = sign_in(
        &mut browser,
        &authorize_url(&app, &client, &[]),
        "ada",
        PASSWORD,
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("gatehouse_session="))
        .unwrap();
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"));
    assert!(session_cookie.contains("Path=/t/default"));
    let back = location(&r);
    assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    // RFC 9207.
    assert_eq!(param(&back, "iss"), Some(app.iss("default")));
    let code = param(&back, "code").unwrap();

    let r = exchange(&app, &client, &code, Some(VERIFIER)).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid profile email offline_access");
    assert!(tokens["refresh_token"].as_str().is_some(), "offline_access");
    let at = tokens["access_token"].as_str().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(header_of(id_token)["typ"], "JWT");
    let id = claims_of(id_token);
    assert_eq!(id["iss"], app.iss("default"));
    assert_eq!(id["aud"], client.id.as_str());
    assert_eq!(id["azp"], client.id.as_str());
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["preferred_username"], "ada");
    assert!(id["auth_time"].as_i64().is_some() && id["sid"].as_str().is_some());
    let left_half = &Sha256::digest(at.as_bytes())[..16];
    assert_eq!(id["at_hash"], URL_SAFE_NO_PAD.encode(left_half));
    let access = claims_of(at);
    assert_eq!(access["client_id"], client.id.as_str());
    assert_eq!(access["sub"], id["sub"]);
    // The ID token is no access token.
    let r = app.get_with_bearer("/t/default/auth", id_token).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.get_with_bearer("/t/default/userinfo", at).await;
    assert_eq!(r.status(), StatusCode::OK);

    // The refresh token belongs to this client only.
    let rt = tokens["refresh_token"].as_str().unwrap();
    let r = app.refresh("default", rt).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
    let second = app.login("default", "ada").await;
    let r = refresh_as(&app, &client, second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );

    // Signed in: the next authorization skips the form...
    let r = browser
        .get(&authorize_url(&app, &client, &[("state", "again")]))
        .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let back = location(&r);
    assert_eq!(param(&back, "state").as_deref(), Some("again"));
    assert!(param(&back, "code").is_some());
    // ...unless prompt=login or max_age=0 asks for the password again.
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let r = browser.get(&authorize_url(&app, &client, &[extra])).await;
        // max_age=0 passes in the same second as the sign-in.
        if extra.0 == "max_age" && r.status() == StatusCode::FOUND {
            continue;
        }
        assert_eq!(r.status(), StatusCode::OK, "{extra:?}");
    }
}

#[tokio::test]
async fn a_code_used_twice_fails_and_revokes_what_the_first_use_issued() {
    let app = app_with_ada().await;
    let client = web_client(&app, "default").await;
    let mut browser = Browser::new();
    let code = code_for(&app, &mut browser, &client, &[]).await;
    let first: Value = exchange(&app, &client, &code, Some(VERIFIER))
        .await
        .json()
        .await
        .unwrap();
    let r = exchange(&app, &client, &code, Some(VERIFIER)).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
    let r = refresh_as(&app, &client, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
}

#[tokio::test]
async fn the_exchange_checks_verifier_redirect_uri_and_client() {
    let app = app_with_ada().await;
    let client = web_client(&app, "default").await;
    let other = web_client(&app, "default").await;
    let mut browser = Browser::new();

    let code = code_for(&app, &mut browser, &client, &[]).await;
    let r = exchange(&app, &client, &code, Some(&"x".repeat(43))).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );

    let code = code_for(&app, &mut browser, &client, &[]).await;
    let r = exchange(&app, &client, &code, None).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );

    let code = code_for(&app, &mut browser, &client, &[]).await;
    let r = post_form_basic(
        &app,
        "/t/default/token",
        &basic(&client.id, client.secret.as_deref().unwrap()),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:8123/callback"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );

    // Another client's code.
    let code = code_for(&app, &mut browser, &client, &[]).await;
    let r = exchange(&app, &other, &code, Some(VERIFIER)).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );

    // A confidential client without its secret.
    let code = code_for(&app, &mut browser, &client, &[]).await;
    let r = app
        .post_form(
            "/t/default/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", &client.id),
            ],
        )
        .await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_client"
    );

    // Without a challenge, a verifier is a downgrade attempt.
    let code = code_for(
        &app,
        &mut browser,
        &client,
        &[("code_challenge", ""), ("code_challenge_method", "")],
    )
    .await;
    let r = exchange(&app, &client, &code, Some(VERIFIER)).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
    let code = code_for(
        &app,
        &mut browser,
        &client,
        &[("code_challenge", ""), ("code_challenge_method", "")],
    )
    .await;
    let r = exchange(&app, &client, &code, None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_code_expires_after_a_minute() {
    let app = spawn_app_with(Options {
        manual_clock: true,
        admin_token: true,
        ..Options::default()
    })
    .await;
    app.register("default", "ada").await;
    let client = web_client(&app, "default").await;
    let mut browser = Browser::new();
    let code = code_for(&app, &mut browser, &client, &[]).await;
    app.clock.as_ref().unwrap().advance(61);
    let r = exchange(&app, &client, &code, Some(VERIFIER)).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn public_clients_must_use_pkce_with_s256() {
    let app = app_with_ada().await;
    let client = public_client(&app).await;
    let mut browser = Browser::new();
    for (extra, description) in [
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "PKCE",
        ),
        (vec![("code_challenge_method", "plain")], "plain"),
        (vec![("code_challenge_method", "")], "code_challenge_method"),
    ] {
        let r = browser.get(&authorize_url(&app, &client, &extra)).await;
        assert_eq!(r.status(), StatusCode::FOUND, "{extra:?}");
        let back = location(&r);
        assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));
        assert!(
            param(&back, "error_description")
                .unwrap()
                .contains(description)
        );
        assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
        assert_eq!(param(&back, "iss"), Some(app.iss("default")));
    }
    let code = code_for(&app, &mut browser, &client, &[]).await;
    let r = exchange(&app, &client, &code, Some(VERIFIER)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens: Value = r.json().await.unwrap();
    // A public client registered without scopes gets the OIDC ones.
    assert_eq!(tokens["scope"], "openid profile email offline_access");
}

#[tokio::test]
async fn unknown_clients_and_unregistered_redirect_uris_are_never_redirected_to() {
    let app = app_with_ada().await;
    let client = web_client(&app, "default").await;
    app.create_tenant("other", "ES256").await;
    let theirs = web_client(&app, "other").await;
    let mut browser = Browser::new();
    for url in [
        authorize_url(
            &app,
            &Client {
                id: "nope".into(),
                secret: None,
            },
            &[],
        ),
        // Another tenant's client is unknown here.
        authorize_url(&app, &theirs, &[]),
        authorize_url(
            &app,
            &client,
            &[("redirect_uri", "https://evil.example/cb")],
        ),
        // Prefixes and look-alikes are not the registered URI.
        authorize_url(
            &app,
            &client,
            &[("redirect_uri", "https://app.example/cb/more")],
        ),
        authorize_url(
            &app,
            &client,
            &[("redirect_uri", "https://app.example/cb?x=1")],
        ),
        authorize_url(&app, &client, &[("redirect_uri", "https://app.example/c")]),
    ] {
        let r = browser.get(&url).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{url}");
        assert!(r.headers().get("location").is_none());
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}

#[tokio::test]
async fn other_bad_requests_go_back_to_the_client() {
    let app = app_with_ada().await;
    let client = web_client(&app, "default").await;
    let mut browser = Browser::new();
    for (extra, error) in [
        (vec![("scope", "openid admin")], "invalid_scope"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("prompt", "none")], "login_required"),
    ] {
        let r = browser.get(&authorize_url(&app, &client, &extra)).await;
        assert_eq!(r.status(), StatusCode::FOUND, "{extra:?}");
        let back = location(&r);
        assert!(back.as_str().starts_with(REDIRECT));
        assert_eq!(param(&back, "error").as_deref(), Some(error), "{extra:?}");
        assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    }
    // A client not registered for the code flow.
    let machine = create_client(
        &app,
        "default",
        json!({"name": "m", "grants": ["client_credentials"], "redirect_uris": [REDIRECT]}),
    )
    .await;
    let r = browser
        .get(&authorize_url(
            &app,
            &Client {
                id: machine["client_id"].as_str().unwrap().into(),
                secret: None,
            },
            &[],
        ))
        .await;
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("unauthorized_client")
    );
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer_on_the_page() {
    let app = app_with_ada().await;
    let client = web_client(&app, "default").await;
    let mut pages = Vec::new();
    for (user, password) in [("ada", "wrong password!"), ("nobody", PASSWORD)] {
        let mut browser = Browser::new();
        let r = sign_in(
            &mut browser,
            &authorize_url(&app, &client, &[]),
            user,
            password,
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().get("location").is_none());
        assert!(!browser.has_cookie("gatehouse_session"));
        let html = r.text().await.unwrap();
        assert!(html.contains("The username or password is incorrect."));
        assert!(html.contains("role=\"alert\""));
        pages.push(html.replace(user, "USER"));
    }
    // Same page but for the CSRF token.
    let strip = |p: &str| {
        p.lines()
            .filter(|l| !l.contains("csrf_token"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&pages[0]), strip(&pages[1]));
    // The email works as the login name too.
    let mut browser = Browser::new();
    let r = sign_in(
        &mut browser,
        &authorize_url(&app, &client, &[]),
        "ada@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_sign_in_form_needs_its_csrf_token() {
    let app = app_with_ada().await;
    let client = web_client(&app, "default").await;
    let url = authorize_url(&app, &client, &[]);
    let action = url.split('?').next().unwrap().to_string();
    let mut browser = Browser::new();
    let html = browser.get(&url).await.text().await.unwrap();
    let mut fields = form_fields(&html);
    set(&mut fields, "username", "ada");
    set(&mut fields, "password", PASSWORD);

    let mut wrong = fields.clone();
    set(&mut wrong, "csrf_token", "forged-token-value");
    let mut missing = fields.clone();
    missing.retain(|(k, _)| k != "csrf_token");
    for form in [wrong, missing] {
        let r = browser.post_form(&action, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.headers().get("location").is_none());
    }
    // A browser without the cookie (another site's form) fails too.
    let mut stranger = Browser::new();
    let r = stranger.post_form(&action, &fields).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The real form passes.
    let r = browser.post_form(&action, &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_browser_session_and_its_tokens() {
    let app = app_with_ada().await;
    let client = web_client(&app, "default").await;
    let mut browser = Browser::new();
    let code = code_for(&app, &mut browser, &client, &[]).await;
    let tokens: Value = exchange(&app, &client, &code, Some(VERIFIER))
        .await
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();

    // An unregistered post-logout URI is refused, and nothing ends.
    let r = browser
        .get(&format!(
            "{}/end_session?id_token_hint={id_token}&post_logout_redirect_uri=https://evil.example/",
            app.iss("default")
        ))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());

    let r = browser
        .get(&format!(
            "{}/end_session?id_token_hint={id_token}&post_logout_redirect_uri=https://app.example/bye&state=s1",
            app.iss("default")
        ))
        .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        "https://app.example/bye?state=s1"
    );
    assert!(!browser.has_cookie("gatehouse_session"));
    let r = refresh_as(&app, &client, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
    // The next authorization asks for the password again.
    let r = browser.get(&authorize_url(&app, &client, &[])).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Without a redirect: a signed-out page.
    let r = browser
        .get(&format!("{}/end_session", app.iss("default")))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("signed out"));
}

#[tokio::test]
async fn the_page_shows_the_tenant_display_name() {
    let app = app_with_ada().await;
    let r = app
        .admin(
            Method::PATCH,
            "/admin/tenants/default",
            Some(json!({"display_name": "Acme <Orders>"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let client = web_client(&app, "default").await;
    let mut browser = Browser::new();
    let html = browser
        .get(&authorize_url(&app, &client, &[]))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign in to Acme &lt;Orders&gt;"), "{html}");
}
