//! `gatehouse lambda` and `gatehouse lambda-authorizer`, fed the event
//! documents API Gateway sends (kept as JSON fixtures in
//! `tests/fixtures/lambda/`), through the same conversion `lambda_http::run`
//! applies to every invocation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use base64::Engine as _;
use gatehouse::lambda::{self, authorizer, http::handle_event};
use gatehouse_core::password::Argon2Params;
use gatehouse_server::{AppState, Config};
use serde_json::Value;

const PUBLIC_URL: &str = "https://abcdef123.execute-api.us-east-1.amazonaws.com/prod";

fn fixture(name: &str, token: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/lambda/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text.replace("{{TOKEN}}", token)).unwrap()
}

fn config(dir: &std::path::Path) -> Config {
    Config {
        database_url: format!("sqlite://{}", dir.join("lambda.db").display()),
        public_url: Some(PUBLIC_URL.into()),
        lambda_allow_sqlite: true,
        argon2: Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..Config::default()
    }
}

async fn lambda_state(dir: &std::path::Path) -> AppState {
    lambda::state(&config(dir)).await.unwrap()
}

/// The decoded body of a Lambda proxy response.
fn body_of(response: &Value) -> Value {
    let body = response["body"].as_str().unwrap();
    if response["isBase64Encoded"] == true {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    } else {
        serde_json::from_str(body).unwrap()
    }
}

#[tokio::test]
async fn api_gateway_rest_and_http_api_events_reach_the_router() {
    let dir = tempfile::tempdir().unwrap();
    let state = lambda_state(dir.path()).await;
    let app = || gatehouse_server::app(state.clone());

    // REST API (payload 1.0): register, then log in with a base64 body.
    let response = handle_event(app(), fixture("rest-v1-register.json", ""))
        .await
        .unwrap();
    assert_eq!(response["statusCode"], 201, "{response}");
    assert_eq!(body_of(&response)["username"], "lambda-alice");
    // REST answers carry multi-value headers.
    assert_eq!(
        response["multiValueHeaders"]["content-type"][0],
        "application/json"
    );

    let response = handle_event(app(), fixture("rest-v1-login-base64.json", ""))
        .await
        .unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let token = body_of(&response)["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    // HTTP API (payload 2.0).
    let response = handle_event(app(), fixture("http-v2-login.json", ""))
        .await
        .unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let claims = common::claims_of(body_of(&response)["access_token"].as_str().unwrap());
    assert_eq!(claims["iss"], format!("{PUBLIC_URL}/t/default"));
    // No socket behind the adapter: the client is API Gateway's sourceIp,
    // as both events name it.
    let ctx = state.services.contexts.get("default").await.unwrap();
    let sessions = state
        .services
        .users
        .sessions(&ctx, "lambda-alice")
        .await
        .unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    for session in &sessions {
        assert_eq!(session.ip.as_deref(), Some("203.0.113.10"), "{session:?}");
    }

    let response = handle_event(app(), fixture("http-v2-jwks.json", ""))
        .await
        .unwrap();
    assert_eq!(response["statusCode"], 200);
    assert!(!body_of(&response)["keys"].as_array().unwrap().is_empty());

    let response = handle_event(app(), fixture("http-v2-auth.json", &token))
        .await
        .unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["headers"]["x-auth-username"], "lambda-alice");
    let response = handle_event(app(), fixture("http-v2-auth.json", "forged.token.value"))
        .await
        .unwrap();
    assert_eq!(response["statusCode"], 401);
    assert_eq!(body_of(&response)["error"], "invalid_token");
}

#[tokio::test]
async fn authorizer_answers_each_event_type_in_its_own_shape() {
    let dir = tempfile::tempdir().unwrap();
    let state = lambda_state(dir.path()).await;
    let app = gatehouse_server::app(state.clone());
    handle_event(app.clone(), fixture("rest-v1-register.json", ""))
        .await
        .unwrap();
    let login = handle_event(app, fixture("http-v2-login.json", ""))
        .await
        .unwrap();
    let token = body_of(&login)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let sub = common::claims_of(&token)["sub"]
        .as_str()
        .unwrap()
        .to_string();

    // REST TOKEN and REQUEST: an IAM policy for the whole stage.
    for name in ["authorizer-token.json", "authorizer-request.json"] {
        let answer = authorizer::handle(&state, "default", &fixture(name, &token))
            .await
            .unwrap();
        assert_eq!(answer["principalId"], sub, "{name}");
        let statement = &answer["policyDocument"]["Statement"][0];
        assert_eq!(answer["policyDocument"]["Version"], "2012-10-17");
        assert_eq!(statement["Effect"], "Allow");
        assert_eq!(statement["Action"], "execute-api:Invoke");
        assert_eq!(
            statement["Resource"],
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/*/*"
        );
        assert_eq!(answer["context"]["username"], "lambda-alice");
        assert_eq!(answer["context"]["tenant"], "default");
        // API Gateway refuses objects and arrays in the context.
        for (k, v) in answer["context"].as_object().unwrap() {
            assert!(v.is_string() || v.is_number() || v.is_boolean(), "{k}");
        }

        let forged = authorizer::handle(&state, "default", &fixture(name, "a.b.c")).await;
        assert_eq!(forged.unwrap_err().to_string(), authorizer::UNAUTHORIZED);
    }
    let missing = authorizer::handle(
        &state,
        "default",
        &fixture("authorizer-token-missing.json", ""),
    )
    .await;
    assert_eq!(missing.unwrap_err().to_string(), authorizer::UNAUTHORIZED);

    // HTTP API 2.0: the simple response.
    let answer = authorizer::handle(
        &state,
        "default",
        &fixture("authorizer-v2-request.json", &token),
    )
    .await
    .unwrap();
    assert_eq!(answer["isAuthorized"], true);
    assert_eq!(answer["context"]["sub"], sub);
    let answer = authorizer::handle(
        &state,
        "default",
        &fixture("authorizer-v2-request.json", "a.b.c"),
    )
    .await
    .unwrap();
    assert_eq!(answer, serde_json::json!({"isAuthorized": false}));
}

#[test]
fn sqlite_on_lambda_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let refused = Config {
        lambda_allow_sqlite: false,
        ..config(dir.path())
    };
    let message = lambda::check_config(&refused).unwrap_err().to_string();
    assert!(
        message.contains("GATEHOUSE_LAMBDA_ALLOW_SQLITE"),
        "{message}"
    );
    let no_url = Config {
        public_url: None,
        ..config(dir.path())
    };
    let message = lambda::check_config(&no_url).unwrap_err().to_string();
    assert!(message.contains("GATEHOUSE_PUBLIC_URL"), "{message}");

    // The real binary says so in one line and exits non-zero.
    let output = Command::new(common::BIN)
        .arg("lambda")
        .current_dir(dir.path())
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("GATEHOUSE_PUBLIC_URL", PUBLIC_URL)
        .env_remove("GATEHOUSE_LAMBDA_ALLOW_SQLITE")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SQLite is refused on AWS Lambda"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("gatehouse.db").exists(),
        "nothing was created"
    );
}
