//! `GET /openapi.json`: the OpenAPI 3.1 description of every route
//! (`crate::openapi`).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_json))
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "health",
    summary = "This description (OpenAPI 3.1)",
    responses(
        (status = 200, description = "The OpenAPI document.", body = crate::openapi::schemas::OpenApiDocument),
    )
)]
async fn openapi_json() -> Response {
    match crate::openapi::json() {
        Ok(json) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response(),
        Err(e) => ApiError::internal(format!("the OpenAPI document did not serialise: {e}"))
            .into_response(),
    }
}
