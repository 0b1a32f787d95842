//! One API Gateway event through the router, the way `lambda_http::run`
//! does it for every invocation: the event document becomes an HTTP
//! request, the router answers, and the answer becomes the response
//! document of the event's payload version. Exposed so the tests can feed
//! real event documents through exactly this path.

use axum::Router;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;

use crate::CliResult;

pub async fn handle_event(router: Router, event: Value) -> CliResult<Value> {
    let request: LambdaRequest = serde_json::from_value(event)
        .map_err(|e| format!("not an API Gateway event this function understands: {e}"))?;
    let adapter = Adapter::from(router);
    let response = adapter
        .oneshot(LambdaEvent::new(request, Context::default()))
        .await
        .map_err(|e| format!("the router failed: {e}"))?;
    Ok(serde_json::to_value(response)?)
}
