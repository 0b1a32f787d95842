//! Registered clients (admin API), client authentication, the client
//! credentials grant, introspection (RFC 7662), revocation (RFC 7009) and
//! userinfo (OIDC Core §5.3).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, claims_of, error_code, header_of, spawn_app};

/// Registers a client at `tenant` through the admin API; the 201 body.
pub async fn create_client(app: &TestApp, tenant: &str, spec: Value) -> Value {
    let r = app
        .admin(
            Method::POST,
            &format!("/admin/t/{tenant}/clients"),
            Some(spec),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

/// A confidential machine client with the given scopes: (id, secret).
pub async fn service_client(app: &TestApp, tenant: &str, scopes: &[&str]) -> (String, String) {
    let c = create_client(
        app,
        tenant,
        json!({"name": "billing-service", "type": "confidential",
               "grants": ["client_credentials"], "scopes": scopes}),
    )
    .await;
    (
        c["client_id"].as_str().unwrap().to_string(),
        c["client_secret"].as_str().unwrap().to_string(),
    )
}

/// `client_secret_basic` (RFC 6749 §2.3.1).
pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// POSTs a form with HTTP Basic client authentication.
pub async fn post_form_basic(
    app: &TestApp,
    path: &str,
    auth: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.base))
        .header("authorization", auth)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn client_credentials(
    app: &TestApp,
    id: &str,
    secret: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    post_form_basic(app, "/t/default/token", &basic(id, secret), &form).await
}

#[tokio::test]
async fn clients_are_registered_listed_rotated_and_deleted_with_the_secret_shown_once() {
    let app = spawn_app().await;
    let made = create_client(
        &app,
        "default",
        json!({"name": "web", "type": "confidential",
               "grants": ["authorization_code", "refresh_token"],
               "scopes": ["openid", "profile", "orders:read"],
               "redirect_uris": ["https://app.example/cb"],
               "post_logout_redirect_uris": ["https://app.example/bye"]}),
    )
    .await;
    let id = made["client_id"].as_str().unwrap();
    let secret = made["client_secret"].as_str().unwrap();
    // 256 random bits as unpadded base64url.
    assert_eq!(secret.len(), 43);
    assert_eq!(made["type"], "confidential");
    assert_eq!(made["redirect_uris"], json!(["https://app.example/cb"]));
    assert_eq!(made["token_endpoint_auth_method"], "client_secret_basic");

    let r = app
        .admin(Method::GET, "/admin/t/default/clients", None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(!text.contains(secret), "a list must never show the secret");
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let r = app
        .admin(Method::GET, &format!("/admin/t/default/clients/{id}"), None)
        .await;
    let shown: Value = r.json().await.unwrap();
    assert_eq!(shown["name"], "web");
    assert!(shown.get("client_secret").is_none());

    // Stored only as its SHA-256.
    let mut db = Vec::new();
    for entry in std::fs::read_dir(app.db_dir()).unwrap() {
        db.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
    }
    assert!(!String::from_utf8_lossy(&db).contains(secret));

    let r = app
        .admin(
            Method::DELETE,
            &format!("/admin/t/default/clients/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .admin(Method::GET, &format!("/admin/t/default/clients/{id}"), None)
        .await;
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
}

#[tokio::test]
async fn bad_client_registrations_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    for (spec, field) in [
        (json!({"name": "x", "grants": ["password"]}), "password"),
        (json!({"name": "x", "type": "secret"}), "type"),
        (
            json!({"name": "x", "grants": ["authorization_code"]}),
            "redirect",
        ),
        (
            json!({"name": "x", "grants": ["authorization_code"], "redirect_uris": ["http://app.example/cb"]}),
            "http",
        ),
        (
            json!({"name": "x", "type": "public", "grants": ["client_credentials"]}),
            "public",
        ),
        (json!({"name": "x", "colour": "blue"}), "colour"),
    ] {
        let r = app
            .admin(Method::POST, "/admin/t/default/clients", Some(spec.clone()))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{spec}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error_description"].as_str().unwrap().contains(field),
            "{spec}: {body}"
        );
    }
}

#[tokio::test]
async fn client_credentials_grant_a_token_for_the_client_itself() {
    let app = spawn_app().await;
    let (id, secret) = service_client(&app, "default", &["invoices:read", "invoices:write"]).await;

    // client_secret_basic, all registered scopes by default.
    let r = client_credentials(&app, &id, &secret, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let tokens: Value = r.json().await.unwrap();
    assert!(tokens.get("refresh_token").is_none(), "RFC 6749 §4.4.3");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "invoices:read invoices:write");
    let at = tokens["access_token"].as_str().unwrap();
    let claims = claims_of(at);
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["client_id"], id.as_str());
    assert!(claims.get("sid").is_none());
    assert_eq!(header_of(at)["typ"], "at+jwt");

    // client_secret_post, with a narrower scope.
    let r = app
        .post_form(
            "/t/default/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", "invoices:read"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["scope"], "invoices:read");

    // The gate lets it pass, as the client.
    let r = app
        .get_with_bearer("/t/default/auth", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-auth-subject"], id.as_str());

    // A scope the client is not registered for.
    let r = client_credentials(&app, &id, &secret, Some("invoices:read admin")).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_scope"
    );
}

#[tokio::test]
async fn failed_client_authentication_is_401_invalid_client_with_a_basic_challenge() {
    let app = spawn_app().await;
    let (id, secret) = service_client(&app, "default", &[]).await;
    app.create_tenant("other", "ES256").await;
    let (other_id, other_secret) = service_client(&app, "other", &[]).await;
    let wrong = format!("{}x", &secret[..42]);
    for auth in [
        basic(&id, &wrong),
        basic("no-such-client", &secret),
        // A client of another tenant is unknown here.
        basic(&other_id, &other_secret),
        // Not base64.
        "Basic !!!".to_string(),
    ] {
        let r = post_form_basic(
            &app,
            "/t/default/token",
            &auth,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth}");
        let challenge = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.starts_with("Basic realm="), "{challenge}");
        assert_eq!(
            error_code(r, StatusCode::UNAUTHORIZED).await,
            "invalid_client"
        );
    }
    // A confidential client that sends no secret.
    let r = app
        .post_form(
            "/t/default/token",
            &[("grant_type", "client_credentials"), ("client_id", &id)],
        )
        .await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_client"
    );
    // Two methods at once (RFC 6749 §2.3).
    let r = post_form_basic(
        &app,
        "/t/default/token",
        &basic(&id, &secret),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_request"
    );
}

#[tokio::test]
async fn clients_may_only_use_their_grants_and_registered_clients_not_the_password_grant() {
    let app = spawn_app().await;
    app.register("default", "ada").await;
    let web = create_client(
        &app,
        "default",
        json!({"name": "web", "grants": ["authorization_code"],
               "redirect_uris": ["https://app.example/cb"]}),
    )
    .await;
    let (id, secret) = (
        web["client_id"].as_str().unwrap(),
        web["client_secret"].as_str().unwrap(),
    );
    let r = client_credentials(&app, id, secret, None).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "unauthorized_client"
    );
    let r = post_form_basic(
        &app,
        "/t/default/token",
        &basic(id, secret),
        &[
            ("grant_type", "password"),
            ("username", "ada"),
            ("password", crate::helpers::PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "unauthorized_client"
    );
    // A public client cannot use client credentials.
    let public = create_client(
        &app,
        "default",
        json!({"name": "spa", "type": "public", "redirect_uris": ["http://127.0.0.1:9/cb"]}),
    )
    .await;
    assert!(public.get("client_secret").is_none());
    assert_eq!(public["token_endpoint_auth_method"], "none");
    let r = app
        .post_form(
            "/t/default/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", public["client_id"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "unauthorized_client"
    );
}

#[tokio::test]
async fn a_rotated_secret_keeps_working_for_the_overlap_and_a_deleted_client_stops_at_once() {
    let app = spawn_app().await;
    let (id, old) = service_client(&app, "default", &[]).await;
    let r = app
        .admin(
            Method::POST,
            &format!("/admin/t/default/clients/{id}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let rotated: Value = r.json().await.unwrap();
    let new = rotated["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(rotated["previous_secret_expires_at"].as_i64().is_some());
    for secret in [&old, &new] {
        let r = client_credentials(&app, &id, secret, None).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    // A rotation without overlap ends the old secret at once.
    let r = app
        .admin(
            Method::POST,
            &format!("/admin/t/default/clients/{id}/rotate-secret"),
            Some(json!({"overlap": 0})),
        )
        .await;
    let newest: Value = r.json().await.unwrap();
    let newest = newest["client_secret"].as_str().unwrap().to_string();
    let r = client_credentials(&app, &id, &new, None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client_credentials(&app, &id, &newest, None).await;
    assert_eq!(r.status(), StatusCode::OK);

    let r = app
        .admin(
            Method::DELETE,
            &format!("/admin/t/default/clients/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = client_credentials(&app, &id, &newest, None).await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_client"
    );
}

/// Introspects `token` as the client `(id, secret)`.
async fn introspect(app: &TestApp, tenant: &str, id: &str, secret: &str, token: &str) -> Value {
    let r = post_form_basic(
        app,
        &format!("/t/{tenant}/introspect"),
        &basic(id, secret),
        &[("token", token)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

#[tokio::test]
async fn introspection_tells_active_tokens_and_nothing_about_the_rest() {
    let app = spawn_app().await;
    let (id, secret) = service_client(&app, "default", &["invoices:read"]).await;
    let user = app.user_with_tokens("default", "ada").await;
    let at = user["access_token"].as_str().unwrap();
    let rt = user["refresh_token"].as_str().unwrap();

    let active = introspect(&app, "default", &id, &secret, at).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["username"], "ada");
    assert_eq!(active["client_id"], "gatehouse");
    assert_eq!(active["scope"], "openid profile email");
    assert_eq!(active["iss"], app.iss("default"));
    assert!(active["exp"].as_i64().is_some());
    let refresh = introspect(&app, "default", &id, &secret, rt).await;
    assert_eq!(refresh["active"], true);
    assert_eq!(refresh["sub"], active["sub"]);

    let machine: Value = client_credentials(&app, &id, &secret, None)
        .await
        .json()
        .await
        .unwrap();
    let machine = introspect(
        &app,
        "default",
        &id,
        &secret,
        machine["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(machine["active"], true);
    assert_eq!(machine["sub"], id.as_str());

    // Another tenant's token, garbage, and tokens of an ended session all
    // get the same bare answer.
    app.create_tenant("other", "ES256").await;
    let theirs = app.user_with_tokens("other", "bob").await;
    let r = app.post_with_bearer("/t/default/logout", at).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for token in [
        theirs["access_token"].as_str().unwrap(),
        theirs["refresh_token"].as_str().unwrap(),
        "garbage",
        "a.b.c",
        at,
        rt,
    ] {
        let answer = introspect(&app, "default", &id, &secret, token).await;
        assert_eq!(answer, json!({"active": false}), "{token}");
    }
}

#[tokio::test]
async fn introspection_needs_an_authenticated_confidential_client() {
    let app = spawn_app().await;
    let user = app.user_with_tokens("default", "ada").await;
    let at = user["access_token"].as_str().unwrap();
    let r = app
        .post_form("/t/default/introspect", &[("token", at)])
        .await;
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_client"
    );
    let (id, _) = service_client(&app, "default", &[]).await;
    let r = post_form_basic(
        &app,
        "/t/default/introspect",
        &basic(&id, "wrong"),
        &[("token", at)],
    )
    .await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_client"
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_session_and_unknown_tokens_are_fine() {
    let app = spawn_app().await;
    let user = app.user_with_tokens("default", "ada").await;
    let rt = user["refresh_token"].as_str().unwrap();
    // A first-party token is revoked by the first-party client (no secret).
    let r = app
        .post_form("/t/default/revoke", &[("token", "nothing-like-it")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post_form(
            "/t/default/revoke",
            &[("token", rt), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.refresh("default", rt).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_grant"
    );
    // A registered client cannot revoke another client's token: nothing
    // happens, and it cannot tell.
    let other = app.login("default", "ada").await;
    let (id, secret) = service_client(&app, "default", &[]).await;
    let r = post_form_basic(
        &app,
        "/t/default/revoke",
        &basic(&id, &secret),
        &[("token", other["refresh_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .refresh("default", other["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // A missing token is a bad request.
    let r = app.post_form("/t/default/revoke", &[]).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_request"
    );
}

#[tokio::test]
async fn userinfo_answers_the_claims_the_scope_opens() {
    let app = spawn_app().await;
    app.post_json(
        "/t/default/register",
        &json!({"username": "ada", "password": crate::helpers::PASSWORD,
                "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    let all = app.login("default", "ada").await;
    for method in [Method::GET, Method::POST] {
        let r = app
            .client
            .request(method, format!("{}/t/default/userinfo", app.base))
            .bearer_auth(all["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let info: Value = r.json().await.unwrap();
        assert_eq!(
            info["sub"],
            claims_of(all["access_token"].as_str().unwrap())["sub"]
        );
        assert_eq!(info["preferred_username"], "ada");
        assert_eq!(info["name"], "Ada Lovelace");
        assert_eq!(info["email"], "ada@example.com");
    }
    let r = app
        .post_json(
            "/t/default/login",
            &json!({"username": "ada", "password": crate::helpers::PASSWORD, "scope": "openid email"}),
        )
        .await;
    let email_only: Value = r.json().await.unwrap();
    let info: Value = app
        .get_with_bearer(
            "/t/default/userinfo",
            email_only["access_token"].as_str().unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], "ada@example.com");
    assert!(info.get("preferred_username").is_none() && info.get("name").is_none());

    // Without `openid`: 403 insufficient_scope, with the challenge.
    let r = app
        .post_json(
            "/t/default/login",
            &json!({"username": "ada", "password": crate::helpers::PASSWORD, "scope": "email"}),
        )
        .await;
    let no_openid: Value = r.json().await.unwrap();
    let r = app
        .get_with_bearer(
            "/t/default/userinfo",
            no_openid["access_token"].as_str().unwrap(),
        )
        .await;
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    assert_eq!(
        error_code(r, StatusCode::FORBIDDEN).await,
        "insufficient_scope"
    );
    // No token, and the token of an ended session: 401.
    let r = app.get("/t/default/userinfo").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.post_with_bearer("/t/default/logout", all["access_token"].as_str().unwrap())
        .await;
    let r = app
        .get_with_bearer("/t/default/userinfo", all["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );
}

#[tokio::test]
async fn roles_are_granted_carried_and_limit_user_scopes() {
    let app = spawn_app().await;
    app.register("default", "ada").await;
    let r = app
        .admin(
            Method::PUT,
            "/admin/t/default/users/ada/roles",
            Some(json!({"roles": ["billing", "ops"]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .admin(
            Method::POST,
            "/admin/t/default/users/ada/roles",
            Some(json!({"role": "support"})),
        )
        .await;
    let roles: Value = r.json().await.unwrap();
    assert_eq!(roles["roles"], json!(["billing", "ops", "support"]));
    let r = app
        .admin(
            Method::DELETE,
            "/admin/t/default/users/ada/roles/support",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .admin(Method::DELETE, "/admin/t/default/users/ada/roles/ops", None)
        .await;
    let roles: Value = r.json().await.unwrap();
    assert_eq!(roles["roles"], json!(["billing"]));
    let r = app
        .post_json(
            "/t/default/login",
            &json!({"username": "ada", "password": crate::helpers::PASSWORD,
                    "scope": "openid billing ops"}),
        )
        .await;
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid billing");
    let claims = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["roles"], json!(["billing"]));
    // Role names are scope tokens.
    let r = app
        .admin(
            Method::PUT,
            "/admin/t/default/users/ada/roles",
            Some(json!({"roles": ["has space"]})),
        )
        .await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_request"
    );
    let r = app
        .admin(Method::GET, "/admin/t/default/users/nobody/roles", None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
