//! Guarding functions end to end through `{iss}/auth`: route policies,
//! API keys, Basic credentials and HMAC webhooks.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, PASSWORD, TestApp, spawn_app};

const POLICY: &str = r#"{"rules": [
  {"name": "health",  "methods": ["GET"], "path": "/function/health", "allow": ["public"]},
  {"name": "billing", "function": "billing-*", "allow": ["jwt", "api_key"], "scopes": ["billing"]},
  {"name": "reports", "path": "/function/reports/**", "allow": ["jwt", "api_key"]},
  {"name": "hook",    "methods": ["POST"], "path": "/function/github-hook", "allow": ["hmac"],
   "hmac": {"scheme": "github", "secrets": ["github-hook", "github-hook-next"]}},
  {"name": "legacy",  "path": "/function/legacy/**", "allow": ["basic"], "realm": "legacy"},
  {"name": "rest",    "path": "/**", "allow": ["deny"]}
]}"#;

impl TestApp {
    async fn admin_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> reqwest::Response {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        r.send().await.unwrap()
    }

    /// `{iss}/auth` for the original request `method path`, as Traefik
    /// and Caddy name it.
    async fn auth(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> reqwest::Response {
        let mut r = self
            .client
            .post(format!("{}/t/default/auth", self.base))
            .header("x-forwarded-method", method)
            .header("x-forwarded-uri", path)
            .body(body.to_vec());
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send().await.unwrap()
    }
}

async fn with_policy() -> TestApp {
    let app = spawn_app().await;
    let r = app
        .admin_raw(
            reqwest::Method::PUT,
            "/admin/t/default/policies",
            Some(POLICY),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    app
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn policies_are_replaced_whole_and_bad_lists_change_nothing() {
    let app = with_policy().await;
    let got: Value = app
        .admin_raw(reqwest::Method::GET, "/admin/t/default/policies", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["rules"].as_array().unwrap().len(), 6);
    assert_eq!(got["rules"][1]["function"], "billing-*");

    let bad = r#"{"rules": [{"name": "ok", "path": "/a", "allow": ["jwt"]},
                            {"name": "broken", "path": "/b", "allow": []}]}"#;
    let r = app
        .admin_raw(reqwest::Method::PUT, "/admin/t/default/policies", Some(bad))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    let msg = body["error_description"].as_str().unwrap();
    assert!(
        msg.contains("rule \"broken\"") && msg.contains("allow"),
        "{msg}"
    );
    let after: Value = app
        .admin_raw(reqwest::Method::GET, "/admin/t/default/policies", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after, got, "nothing half-applied");
    // Without the admin token: closed.
    let r = app.get("/admin/t/default/policies").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rules_decide_public_deny_and_scopes() {
    let app = with_policy().await;
    let tokens = app.user_with_tokens("default", "ada").await;
    let jwt = tokens["access_token"].as_str().unwrap();
    let bearer = format!("Bearer {jwt}");

    let r = app.auth("GET", "/function/health", &[], b"").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "x-auth-credential"), "public");

    // Nothing matches but the catch-all deny; the path tricks are refused.
    for path in [
        "/function/other",
        "/function/health/../../admin",
        "/function/reports%2F..%2Fx",
    ] {
        let r = app
            .auth("GET", path, &[("authorization", &bearer)], b"")
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }

    // A JWT passes where no scope is needed, with the identity headers.
    let r = app
        .auth(
            "GET",
            "/function/reports/q3?x=1",
            &[("authorization", &bearer)],
            b"",
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "x-auth-credential"), "jwt");
    assert_eq!(header(&r, "x-auth-username"), "ada");
    // No credential: 401 with a Bearer challenge.
    let r = app.auth("GET", "/function/reports/q3", &[], b"").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").starts_with("Bearer"));
    // Missing scope: 403 naming it.
    let r = app
        .auth(
            "POST",
            "/async-function/billing-eu/charge",
            &[("authorization", &bearer)],
            b"",
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("billing")
    );
    // With the scope (granted to holders of the role `billing`), it passes.
    let r = app
        .admin(
            reqwest::Method::PUT,
            "/admin/t/default/users/ada/roles/billing",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post_json(
            "/t/default/login",
            &json!({"username": "ada", "password": PASSWORD, "scope": "billing"}),
        )
        .await;
    let scoped: Value = r.json().await.unwrap();
    let r = app
        .auth(
            "POST",
            "/async-function/billing-eu/charge",
            &[(
                "authorization",
                &format!("Bearer {}", scoped["access_token"].as_str().unwrap()),
            )],
            b"",
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn api_keys_are_shown_once_hashed_at_rest_and_revoked_at_once() {
    let app = with_policy().await;
    let r = app
        .admin_raw(
            reqwest::Method::POST,
            "/admin/t/default/apikeys",
            Some(r#"{"name": "ci", "scopes": ["billing"]}"#),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("ghk_"), "{key}");

    let listed = app
        .admin_raw(reqwest::Method::GET, "/admin/t/default/apikeys", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains(&id) && !listed.contains(&key[37..]),
        "{listed}"
    );

    // The row holds a hash, not the key.
    let db = std::fs::read(app.db_dir().join("gatehouse.db")).unwrap();
    let secret = &key[key.len() - 43..];
    assert!(!String::from_utf8_lossy(&db).contains(secret));

    for headers in [
        vec![("authorization", format!("Bearer {key}"))],
        vec![("x-api-key", key.clone())],
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.auth("GET", "/function/billing-eu", &h, b"").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "x-auth-credential"), "api_key");
        assert_eq!(header(&r, "x-auth-key-id"), id);
    }
    // Another tenant does not know it.
    app.create_tenant("other", "EdDSA").await;
    let r = app
        .client
        .get(format!("{}/t/other/auth", app.base))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = app
        .admin_raw(
            reqwest::Method::DELETE,
            &format!("/admin/t/default/apikeys/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .auth("GET", "/function/billing-eu", &[("x-api-key", &key)], b"")
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "revoked: refused at once"
    );

    // A forged key of the right shape: 401, not a fault.
    let forged = format!("ghk_{}_{}", "0".repeat(32), "A".repeat(43));
    let r = app
        .auth(
            "GET",
            "/function/billing-eu",
            &[("x-api-key", &forged)],
            b"",
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_users_own_key_acts_as_them_with_at_most_their_scopes() {
    let app = with_policy().await;
    let tokens = app.user_with_tokens("default", "grace").await;
    let jwt = tokens["access_token"].as_str().unwrap();
    let create = |body: Value| {
        app.client
            .post(format!("{}/t/default/apikeys", app.base))
            .bearer_auth(jwt)
            .json(&body)
            .send()
    };
    let r = create(json!({"name": "mine", "scopes": ["billing"]}))
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "the token lacks billing"
    );
    let r = create(json!({"name": "mine", "expires_in": 3600}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let key = created["key"].as_str().unwrap();
    let r = app
        .auth("GET", "/function/reports/x", &[("x-api-key", key)], b"")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "x-auth-username"), "grace");
    // Not billing: the key carries only the token's scopes.
    let r = app
        .auth("GET", "/function/billing-x", &[("x-api-key", key)], b"")
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let list: Value = app
        .client
        .get(format!("{}/t/default/apikeys", app.base))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["api_keys"].as_array().unwrap().len(), 1);
    assert!(list["api_keys"][0].get("key").is_none());
    let r = app
        .client
        .delete(format!(
            "{}/t/default/apikeys/{}",
            app.base,
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .auth("GET", "/function/reports/x", &[("x-api-key", key)], b"")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn basic_credentials_pass_rules_that_take_them() {
    let app = with_policy().await;
    assert_eq!(
        app.register("default", "lin").await.status(),
        StatusCode::CREATED
    );
    let basic =
        |user: &str, pass: &str| format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")));
    let r = app
        .auth(
            "GET",
            "/function/legacy/run",
            &[("authorization", &basic("lin", PASSWORD))],
            b"",
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "x-auth-credential"), "basic");
    assert_eq!(header(&r, "x-auth-username"), "lin");
    let r = app
        .auth(
            "GET",
            "/function/legacy/run",
            &[("authorization", &basic("lin", "wrong-password"))],
            b"",
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&r, "www-authenticate"),
        r#"Basic realm="legacy", charset="UTF-8""#
    );
    let r = app.auth("GET", "/function/legacy/run", &[], b"").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").starts_with("Basic realm=\"legacy\""));
    // The second success within the cache time runs no argon2.
    let before = app.hasher.verify_count();
    for _ in 0..5 {
        let r = app
            .auth(
                "GET",
                "/function/legacy/run",
                &[("authorization", &basic("lin", PASSWORD))],
                b"",
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(app.hasher.verify_count(), before, "cached");

    // A credential not yet cached, sent by 16 requests at once (as when a
    // cached success expires under load): one password check serves them.
    assert_eq!(
        app.register("default", "mo").await.status(),
        StatusCode::CREATED
    );
    let before = app.hasher.verify_count();
    let mo = basic("mo", PASSWORD);
    let headers = [("authorization", mo.as_str())];
    let answers = futures::future::join_all(
        (0..16).map(|_| app.auth("GET", "/function/legacy/run", &headers, b"")),
    )
    .await;
    assert!(answers.iter().all(|r| r.status() == StatusCode::OK));
    assert_eq!(app.hasher.verify_count(), before + 1, "one check for all");
}

#[tokio::test]
async fn github_webhooks_verify_and_secrets_rotate() {
    let app = with_policy().await;
    let r = app
        .admin_raw(
            reqwest::Method::PUT,
            "/admin/t/default/secrets/github-hook",
            Some(r#"{"value": "It's a Secret to Everybody"}"#),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // GitHub's documented example.
    let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let r = app
        .auth(
            "POST",
            "/function/github-hook",
            &[("x-hub-signature-256", good)],
            b"Hello, World!",
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "x-auth-credential"), "hmac");
    let r = app
        .auth(
            "POST",
            "/function/github-hook",
            &[("x-hub-signature-256", good)],
            b"Hello, World?",
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "tampered body");
    // No body reached forward auth: 403 with a sentence.
    let r = app
        .auth(
            "POST",
            "/function/github-hook",
            &[("x-hub-signature-256", good)],
            b"",
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Rotation: the next secret verifies too while both are set.
    let r = app
        .admin_raw(
            reqwest::Method::PUT,
            "/admin/t/default/secrets/github-hook-next",
            Some(r#"{"generate": true}"#),
        )
        .await;
    let generated: Value = r.json().await.unwrap();
    let next = generated["value"].as_str().unwrap().to_string();
    let sig = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(next.as_bytes()).unwrap();
        mac.update(b"payload");
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let r = app
        .auth(
            "POST",
            "/function/github-hook",
            &[("x-hub-signature-256", &sig)],
            b"payload",
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Names are listed, values never.
    let listed = app
        .admin_raw(reqwest::Method::GET, "/admin/t/default/secrets", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("github-hook-next")
            && !listed.contains(&next)
            && !listed.contains("Everybody")
    );
}

#[tokio::test]
async fn envoy_sends_the_original_path_after_the_prefix() {
    let app = with_policy().await;
    let tokens = app.user_with_tokens("default", "eve").await;
    let jwt = tokens["access_token"].as_str().unwrap();
    let r = app
        .client
        .get(format!(
            "{}/t/default/auth/function/reports/x?y=1",
            app.base
        ))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .delete(format!("{}/t/default/auth/function/other", app.base))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_webhook_rule_without_a_usable_secret_is_a_server_fault_not_the_senders() {
    let app = with_policy().await;
    let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    // The rule's secrets were never set.
    let r = app
        .auth(
            "POST",
            "/function/github-hook",
            &[("x-hub-signature-256", good)],
            b"Hello, World!",
        )
        .await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "server_error");
    assert!(
        !body["error_description"]
            .as_str()
            .unwrap()
            .contains("github-hook"),
        "the detail is for the log"
    );

    // A Standard Webhooks secret that is not base64 cannot be a key.
    let policy = r#"{"rules": [{"name": "std", "path": "/function/std", "allow": ["hmac"],
                                "hmac": {"scheme": "standard", "secret": "std"}}]}"#;
    let r = app
        .admin_raw(
            reqwest::Method::PUT,
            "/admin/t/default/policies",
            Some(policy),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .admin_raw(
            reqwest::Method::PUT,
            "/admin/t/default/secrets/std",
            Some(r#"{"value": "whsec_not*base64!"}"#),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .auth(
            "POST",
            "/function/std",
            &[
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", "1700000000"),
                ("webhook-signature", "v1,AAAA"),
            ],
            b"{}",
        )
        .await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
