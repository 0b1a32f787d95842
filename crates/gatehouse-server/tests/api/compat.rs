//! The replaced systems' clients, replayed: each request below is the
//! literal text the old client sent, and each answer is checked for the
//! exact shape the old client reads.

use gatehouse_core::password::PasswordHash;
use gatehouse_core::store::UserStore;
use gatehouse_core::user::{LoginName, User};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, claims_of, error_code, header_of, spawn_app};

/// POSTs a body as the old clients did: `curl -d` / `faas-cli invoke`, raw
/// text with no JSON content type.
async fn post_raw(app: &TestApp, path: &str, body: &str) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.base))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---- OpenFaaS Ruby functions ----------------------------------------------

const OPENFAAS: &str = "/t/default/compat/openfaas";

/// The register function's example payload, verbatim from its README.
const RUBY_REGISTER: &str = r#"{
  "username": "auser",
  "password": "TestPassword",
  "email": "auser@test.email",
  "first_name": "Test",
  "last_name": "User"
}"#;

#[tokio::test]
async fn openfaas_register_answers_as_the_ruby_function() {
    let app = spawn_app().await;
    let r = post_raw(&app, &format!("{OPENFAAS}/register"), RUBY_REGISTER).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        json_of(r).await,
        json!({"username": "auser", "status": "created"})
    );

    // Same username, or another username with the same email: the
    // original's one conflict answer, as valid JSON.
    for body in [
        RUBY_REGISTER.to_string(),
        RUBY_REGISTER.replace(r#""auser","#, r#""another","#),
    ] {
        let r = post_raw(&app, &format!("{OPENFAAS}/register"), &body).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.text().await.unwrap(),
            r#"{"error":"Username or E-Mail already in use"}"#
        );
    }

    // What the original could not answer gets a 4xx, in the same shape.
    let r = post_raw(&app, &format!("{OPENFAAS}/register"), "{'username': 'x'}").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(r).await["error"], "the body is not valid JSON");
    let r = post_raw(
        &app,
        &format!("{OPENFAAS}/register"),
        r#"{"username":"shorty","password":"short","email":"s@x.io"}"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let error = json_of(r).await["error"].as_str().unwrap().to_string();
    assert!(error.contains("at least 8 characters"), "{error}");
}

#[tokio::test]
async fn openfaas_login_token_carries_the_ruby_claims() {
    let app = spawn_app().await;
    post_raw(&app, &format!("{OPENFAAS}/register"), RUBY_REGISTER).await;

    let before = now();
    let r = post_raw(
        &app,
        &format!("{OPENFAAS}/login"),
        r#"{"username": "auser", "password": "TestPassword"}"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = json_of(r).await;
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["token", "username"]);
    assert_eq!(body["username"], "auser");

    let token = body["token"].as_str().unwrap();
    assert_eq!(header_of(token)["alg"], "RS256");
    let claims = claims_of(token);
    assert_eq!(
        claims["user"],
        json!({"email": "auser@test.email", "first_name": "Test", "last_name": "User", "username": "auser"})
    );
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["nbf"].as_i64().unwrap(), iat);
    assert!(
        (before - 10..=now() - 10).contains(&iat),
        "iat {iat} is not 10 s back"
    );
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 4 * 3600 + 10);

    // It is a Gatehouse access token too: the forward-auth check takes it.
    let r = app.get_with_bearer("/t/default/auth", token).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-auth-username"], "auser");

    for wrong in [
        r#"{"username": "auser", "password": "WrongPassword"}"#,
        r#"{"username": "nobody", "password": "TestPassword"}"#,
    ] {
        let r = post_raw(&app, &format!("{OPENFAAS}/login"), wrong).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.text().await.unwrap(),
            r#"{"error":"Invalid username/password"}"#
        );
    }
}

#[tokio::test]
async fn openfaas_verify_returns_payload_and_header_like_ruby_jwt() {
    let app = spawn_app().await;
    post_raw(&app, &format!("{OPENFAAS}/register"), RUBY_REGISTER).await;
    let body = json_of(
        post_raw(
            &app,
            &format!("{OPENFAAS}/login"),
            r#"{"username": "auser", "password": "TestPassword"}"#,
        )
        .await,
    )
    .await;
    let token = body["token"].as_str().unwrap();

    // The Ruby function's input was the bare token; a trailing newline
    // (`echo $TOKEN | faas-cli invoke`) is fine.
    for input in [format!("{token}\n"), json!({ "token": token }).to_string()] {
        let r = post_raw(&app, &format!("{OPENFAAS}/verify"), &input).await;
        assert_eq!(r.status(), StatusCode::OK);
        let decoded = json_of(r).await;
        assert_eq!(decoded[0]["user"]["username"], "auser");
        assert_eq!(decoded[1]["alg"], "RS256");
    }

    let mut tampered = token.to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let r = post_raw(&app, &format!("{OPENFAAS}/verify"), &tampered).await;
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"error":"JWT Signature mismatch"}"#
    );
    let r = post_raw(&app, &format!("{OPENFAAS}/verify"), "not-a-jwt").await;
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"error":"Failed to Decode JWT"}"#
    );
}

// ---- Rails knock -----------------------------------------------------------

#[tokio::test]
async fn knock_user_token_answers_201_with_jwt_and_404_on_bad_credentials() {
    let app = spawn_app().await;
    let user: Value = json_of(app.register("default", "knocker").await).await;
    let id = user["id"].as_str().unwrap();

    // knock's documented request, as a Rails front end sends it.
    let request =
        format!(r#"{{"auth": {{"email": "knocker@example.com", "password": "{PASSWORD}"}}}}"#);
    for path in ["/user_token", "/t/default/user_token"] {
        let r = app
            .client
            .post(format!("{}{path}", app.base))
            .header("content-type", "application/json")
            .body(request.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{path}");
        let body = json_of(r).await;
        assert_eq!(body.as_object().unwrap().len(), 1);
        let jwt = body["jwt"].as_str().unwrap();
        let claims = claims_of(jwt);
        assert_eq!(claims["sub"], id);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            24 * 3600
        );
        assert_eq!(
            app.get_with_bearer("/t/default/auth", jwt).await.status(),
            StatusCode::OK
        );
    }

    let wrong = r#"{"auth": {"email": "knocker@example.com", "password": "not the password"}}"#;
    let r = post_raw(&app, "/user_token", wrong).await;
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    let r = post_raw(&app, "/user_token", r#"{"email": "knocker@example.com"}"#).await;
    assert_eq!(
        error_code(r, StatusCode::BAD_REQUEST).await,
        "invalid_request"
    );
}

// ---- the domain-based service ------------------------------------------------

#[tokio::test]
async fn domain_service_login_refresh_and_auth() {
    let app = spawn_app().await;
    app.create_tenant("acme", "ES256").await;
    assert_eq!(
        app.register("acme", "dora").await.status(),
        StatusCode::CREATED
    );

    let login = format!(r#"{{"domain": "acme", "username": "dora", "password": "{PASSWORD}"}}"#);
    let r = post_raw(&app, "/login", &login).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = json_of(r).await;
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["refresh_token", "token"]);
    let token = body["token"].as_str().unwrap().to_string();
    assert_eq!(claims_of(&token)["iss"], app.iss("acme"));

    // /auth: the tenant comes from the token; Bearer or the bare token.
    let r = app.get_with_bearer("/auth", &token).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-auth-tenant"], "acme");
    let bare = app
        .client
        .get(format!("{}/auth", app.base))
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::OK);
    assert_eq!(
        error_code(app.get("/auth").await, StatusCode::FORBIDDEN).await,
        "access_denied"
    );
    let r = app.get_with_bearer("/auth", "garbage.token.here").await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "access_denied");

    // /refresh: a new token of the same session.
    let r = app.get_with_bearer("/refresh", &token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let fresh = json_of(r).await["token"].as_str().unwrap().to_string();
    assert_ne!(fresh, token);
    assert_eq!(claims_of(&fresh)["sid"], claims_of(&token)["sid"]);
    assert_eq!(
        app.get_with_bearer("/auth", &fresh).await.status(),
        StatusCode::OK
    );

    // Once the session ends, refreshing stops.
    let r = app
        .client
        .post(format!("{}/t/acme/logout", app.base))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = app.get_with_bearer("/refresh", &fresh).await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );

    // A wrong password or domain: the usual answers.
    let wrong = login.replace(PASSWORD, "not the password");
    let r = post_raw(&app, "/login", &wrong).await;
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "invalid_grant"
    );
    let r = post_raw(&app, "/login", &login.replace("acme", "nowhere")).await;
    assert_eq!(
        error_code(r, StatusCode::NOT_FOUND).await,
        "tenant_not_found"
    );
}

// ---- imported users: the first login upgrades the hash ---------------------

#[tokio::test]
async fn legacy_hash_is_upgraded_to_argon2id_at_first_login() {
    let app = spawn_app().await;
    let tenant = app
        .state
        .services
        .tenants
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name.as_str() == "default")
        .unwrap();
    // sha256("TestPassword"), as the Ruby register function stored it.
    let legacy = "7bcf9d89298f1bfae16fa02ed6b61908fd2fa8de45dd8e2153a3c47300765328";
    let user = User {
        id: "42".into(),
        tenant_id: tenant.id.clone(),
        username: "olduser".into(),
        email: Some("old@test.email".into()),
        first_name: None,
        last_name: None,
        roles: vec![],
        email_verified: false,
        disabled: false,
        password_hash: PasswordHash(legacy.into()),
        created_at: now(),
        failed_logins: 0,
        lock_count: 0,
        locked_until: None,
    };
    app.store.create_user(&user).await.unwrap();
    let stored = |app: &TestApp| {
        let store = app.store.clone();
        let tenant_id = tenant.id.clone();
        async move {
            store
                .user_by_login(&tenant_id, &LoginName::Username("olduser".into()))
                .await
                .unwrap()
                .unwrap()
                .password_hash
                .0
        }
    };

    let wrong = r#"{"username": "olduser", "password": "NotThePassword"}"#;
    let before = app.hasher.verify_count();
    let r = post_raw(&app, &format!("{OPENFAAS}/login"), wrong).await;
    assert_eq!(json_of(r).await["error"], "Invalid username/password");
    assert_eq!(
        app.hasher.verify_count() - before,
        1,
        "a SHA-256 check costs an argon2 run too, like an unknown user's"
    );
    assert_eq!(stored(&app).await, legacy, "a failed login changes nothing");

    let right = r#"{"username": "olduser", "password": "TestPassword"}"#;
    let r = post_raw(&app, &format!("{OPENFAAS}/login"), right).await;
    let token = json_of(r).await["token"].as_str().unwrap().to_string();
    assert_eq!(
        claims_of(&token)["sub"],
        "42",
        "the legacy id stays the subject"
    );
    let upgraded = stored(&app).await;
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");

    // The same password keeps working against the new hash.
    let r = post_raw(&app, &format!("{OPENFAAS}/login"), right).await;
    assert!(json_of(r).await["token"].is_string());
    assert_eq!(stored(&app).await, upgraded, "no second upgrade");
}
