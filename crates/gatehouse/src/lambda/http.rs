//! One API Gateway event through the router, the way `lambda_http::run`
//! does it for every invocation: the event document becomes an HTTP
//! request, the router answers, and the answer becomes the response
//! document of the event's payload version. Exposed so the tests can feed
//! real event documents through exactly this path.

use axum::Router;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;

use crate::CliResult;

/// The router as the Lambda handler serves it: requests of a named stage
/// lose their `/{stage}` prefix first, and carry API Gateway's view of the
/// caller as their peer.
pub fn service(
    router: Router,
) -> impl lambda_http::Service<
    lambda_http::Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone {
    router.map_request(|request| with_source_ip(strip_stage(request)))
}

/// There is no socket behind the adapter: the peer is the `sourceIp` API
/// Gateway saw (the TCP peer of API Gateway, so a client cannot set it),
/// which the server's client-address rules then treat as a socket's peer
/// (sessions record it, rate limits count it; `GATEHOUSE_TRUSTED_PROXIES`
/// names a CDN in front of API Gateway).
pub fn with_source_ip(mut request: lambda_http::Request) -> lambda_http::Request {
    let source_ip = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.as_deref(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref(),
        _ => None,
    };
    if let Some(ip) = source_ip.and_then(|ip| ip.parse().ok()) {
        request
            .extensions_mut()
            .insert(gatehouse_server::client_ip::PeerIp(ip));
    }
    request
}

/// `lambda_http` puts a REST API stage in front of the path
/// (`/prod/t/default/login`), because that is the URL the client called.
/// The router's routes start at `/t/...`; the stage belongs in
/// `GATEHOUSE_PUBLIC_URL` (`https://…amazonaws.com/prod`), so issuers match
/// the URLs clients use.
pub fn strip_stage(mut request: lambda_http::Request) -> lambda_http::Request {
    if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_some() {
        return request;
    }
    let stage = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.clone(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| s != "$default" && !s.is_empty()) else {
        return request;
    };
    let prefix = format!("/{stage}");
    let uri = request.uri();
    let Some(rest) = uri.path().strip_prefix(&prefix) else {
        return request;
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return request;
    }
    let path = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(stripped) = lambda_http::http::Uri::from_parts(parts) {
            *request.uri_mut() = stripped;
        }
    }
    request
}

pub async fn handle_event(router: Router, event: Value) -> CliResult<Value> {
    let request: LambdaRequest = serde_json::from_value(event)
        .map_err(|e| format!("not an API Gateway event this function understands: {e}"))?;
    let adapter = Adapter::from(service(router));
    let response = adapter
        .oneshot(LambdaEvent::new(request, Context::default()))
        .await
        .map_err(|e| format!("the router failed: {e}"))?;
    Ok(serde_json::to_value(response)?)
}
