//! The axum glue over a fixed key set: what `CurrentUser`, `Claims<T>`,
//! `AuthLayer`, `require_scope` and `require_role` answer, in Gatehouse's
//! error format (status, `WWW-Authenticate`, JSON body).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Extension, Json, Router};
use gatehouse_jwt::SigningAlgorithm;
use gatehouse_verify::{
    AuthRejection, Claims, Clock, CurrentUser, ManualClock, Verifier, require_role, require_scope,
};
use serde_json::{Value, json};
use support::{TestKey, claims, generate, keys};
use tower::ServiceExt;

const ISS: &str = "https://auth.example.com/t/acme";

struct Fixture {
    key: TestKey,
    clock: ManualClock,
    verifier: Verifier,
}

fn fixture() -> Fixture {
    let key = generate(SigningAlgorithm::ES256);
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(ISS)
        .jwks(keys::jwks_json(&[&key]))
        .clock(clock.clone())
        .build()
        .unwrap();
    Fixture {
        key,
        clock,
        verifier,
    }
}

impl Fixture {
    fn token(&self) -> String {
        self.key.sign(&claims(ISS, self.clock.now()))
    }
}

/// A router with every guard this crate offers.
fn app(verifier: &Verifier) -> Router {
    #[derive(serde::Deserialize)]
    struct Mine {
        sub: String,
        preferred_username: String,
    }
    #[derive(serde::Deserialize)]
    struct NeedsPlan {
        #[allow(dead_code)]
        plan: String,
    }
    let guarded = Router::new()
        .route(
            "/guarded",
            get(|Extension(user): Extension<CurrentUser>| async move { user.id().to_string() }),
        )
        .route(
            "/guarded/notes",
            get(|| async { "notes" }).route_layer(require_scope("notes:read")),
        )
        .route(
            "/guarded/write",
            get(|| async { "written" }).route_layer(require_scope("notes:write")),
        )
        .route(
            "/guarded/editor",
            get(|| async { "edited" }).route_layer(require_role("editor")),
        )
        .route(
            "/guarded/admin",
            get(|| async { "admin" }).route_layer(require_role("admin")),
        )
        .route_layer(verifier.layer());
    Router::new()
        .route(
            "/me",
            get(|user: CurrentUser| async move {
                Json(json!({"sub": user.id(), "username": user.username(), "email": user.email()}))
            }),
        )
        .route(
            "/mine",
            get(|Claims(mine): Claims<Mine>| async move {
                format!("{} {}", mine.sub, mine.preferred_username)
            }),
        )
        .route("/all", get(|Claims(all): Claims| async move { Json(all) }))
        .route(
            "/plan",
            get(|Claims(_): Claims<NeedsPlan>| async { "has a plan" }),
        )
        .route(
            "/in-handler",
            get(|user: CurrentUser| async move {
                user.require_scope("notes:write")?;
                Ok::<_, AuthRejection>("written")
            }),
        )
        // A requirement without the AuthLayer in front of it.
        .route(
            "/unguarded-requirement",
            get(|| async { "let through?" }).route_layer(require_role("editor")),
        )
        .merge(guarded)
        .with_state(verifier.clone())
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    retry_after: Option<String>,
    body: Value,
    text: String,
}

async fn get_with(app: &Router, path: &str, authorization: Option<&str>) -> Answer {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let h = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &header::HeaderValue| v.to_str().unwrap().to_string())
    };
    let (challenge, retry_after) = (h(header::WWW_AUTHENTICATE), h(header::RETRY_AFTER));
    let content_type = h(header::CONTENT_TYPE);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    // Every refusal of this crate is in Gatehouse's error format.
    if [401, 403, 503].contains(&status.as_u16()) {
        assert_eq!(content_type.as_deref(), Some("application/json"), "{path}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    Answer {
        status,
        challenge,
        retry_after,
        body,
        text,
    }
}

async fn get_bearer(app: &Router, path: &str, token: &str) -> Answer {
    get_with(app, path, Some(&format!("Bearer {token}"))).await
}

#[tokio::test]
async fn a_valid_token_gives_the_current_user_and_its_claims() {
    let f = fixture();
    let app = app(&f.verifier);
    let token = f.token();
    let me = get_bearer(&app, "/me", &token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        me.body,
        json!({"sub": "user-1", "username": "alice", "email": "alice@example.com"})
    );
    assert_eq!(get_bearer(&app, "/mine", &token).await.text, "user-1 alice");
    let all = get_bearer(&app, "/all", &token).await.body;
    assert_eq!(all["aud"], json!([ISS]));
    assert_eq!(all["roles"], json!(["editor"]));
    // The scheme is case-insensitive.
    let lower = get_with(&app, "/me", Some(&format!("bearer {token}"))).await;
    assert_eq!(lower.status, StatusCode::OK);
}

#[tokio::test]
async fn no_token_is_a_bare_challenge() {
    let f = fixture();
    let app = app(&f.verifier);
    for authorization in [
        None,
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer"),
        Some("Bearer    "),
    ] {
        for path in ["/me", "/all", "/guarded", "/guarded/notes"] {
            let a = get_with(&app, path, authorization).await;
            assert_eq!(
                a.status,
                StatusCode::UNAUTHORIZED,
                "{path} {authorization:?}"
            );
            // RFC 6750 §3.1: no error code when no credentials were sent.
            assert_eq!(a.challenge.as_deref(), Some("Bearer"));
            assert_eq!(a.body["error"], "invalid_request");
        }
    }
}

#[tokio::test]
async fn an_invalid_token_is_401_invalid_token_with_the_reason() {
    let f = fixture();
    let app = app(&f.verifier);
    let token = f.token();
    f.clock.advance(Duration::from_secs(900 + 30));
    for path in ["/me", "/mine", "/all", "/guarded", "/guarded/notes"] {
        let a = get_bearer(&app, path, &token).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            a.challenge.as_deref(),
            Some("Bearer error=\"invalid_token\", error_description=\"the token has expired\"")
        );
        assert_eq!(
            a.body,
            json!({"error": "invalid_token", "error_description": "the token has expired"})
        );
    }
    let garbage = get_bearer(&app, "/me", "not-a-token").await;
    assert_eq!(
        garbage.body["error_description"],
        "the token is not a compact JWS (three parts)"
    );
}

#[tokio::test]
async fn claims_that_do_not_fit_the_services_type_are_401() {
    let f = fixture();
    let app = app(&f.verifier);
    let a = get_bearer(&app, "/plan", &f.token()).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.body["error_description"],
        "the token lacks a claim this service needs"
    );
}

#[tokio::test]
async fn the_layer_guards_and_the_requirements_answer_403() {
    let f = fixture();
    let app = app(&f.verifier);
    let token = f.token();
    assert_eq!(get_bearer(&app, "/guarded", &token).await.text, "user-1");
    assert_eq!(
        get_bearer(&app, "/guarded/notes", &token).await.text,
        "notes"
    );
    assert_eq!(
        get_bearer(&app, "/guarded/editor", &token).await.text,
        "edited"
    );

    let write = get_bearer(&app, "/guarded/write", &token).await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    assert_eq!(
        write.challenge.as_deref(),
        Some(
            "Bearer error=\"insufficient_scope\", error_description=\"this request needs the scope `notes:write`\", scope=\"notes:write\""
        )
    );
    assert_eq!(write.body["error"], "insufficient_scope");

    let admin = get_bearer(&app, "/guarded/admin", &token).await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.body["error"], "insufficient_scope");
    assert_eq!(
        admin.body["error_description"],
        "this request needs the role `admin`"
    );

    let in_handler = get_bearer(&app, "/in-handler", &token).await;
    assert_eq!(in_handler.status, StatusCode::FORBIDDEN);
    assert_eq!(in_handler.body["error"], "insufficient_scope");

    // A requirement that no AuthLayer went before lets nothing through.
    let unguarded = get_bearer(&app, "/unguarded-requirement", &token).await;
    assert_eq!(unguarded.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_paths_behind_the_layer_stay_404() {
    let f = fixture();
    let a = get_with(&app(&f.verifier), "/guarded/nothing-here", None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unavailable_keys_are_503_with_retry_after() {
    let key = generate(SigningAlgorithm::ES256);
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let iss = format!("http://{closed}/t/acme");
    let verifier = Verifier::builder(&iss)
        .refetch_interval(Duration::from_secs(7))
        .build()
        .unwrap();
    let token = key.sign(&claims(&iss, std::time::SystemTime::now()));
    for path in ["/me", "/guarded"] {
        let a = get_bearer(&app(&verifier), path, &token).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(a.retry_after.as_deref(), Some("7"));
        assert_eq!(a.body["error"], "temporarily_unavailable");
    }
}
