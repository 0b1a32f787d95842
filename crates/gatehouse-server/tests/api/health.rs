use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn healthz_and_readyz_answer_ok() {
    let app = spawn_app().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = spawn_app().await;
    assert_eq!(
        error_code(app.get("/nope").await, StatusCode::NOT_FOUND).await,
        "not_found"
    );
    assert_eq!(
        error_code(
            app.get("/t/default/register").await,
            StatusCode::METHOD_NOT_ALLOWED
        )
        .await,
        "invalid_request"
    );
}
