//! Proxy mode: for gateways that cannot call out (the OpenFaaS gateway
//! itself), Gatehouse stands in front of the upstream. Each request on the
//! proxy listener is judged by the same gate as `{iss}/auth`, with the
//! policies of one tenant; one that may pass goes on to the upstream with
//! the identity headers, one that may not gets the gate's 401 or 403.
//!
//! - Bodies stream both ways. Only a request whose rule checks an HMAC
//!   signature is buffered first (the signature covers the body), up to
//!   `proxy_max_body_bytes` (then 413) and within `proxy_timeout` (408).
//! - The upstream: refused or unreachable → 502; no answer within
//!   `proxy_timeout`, or a stall that long mid-answer → 504. Both in the
//!   JSON error format, the detail in the log only.
//! - At most `proxy_max_in_flight` requests at once (each holds its slot
//!   until its answer has streamed); beyond, 503 with `Retry-After` at
//!   once, so overload sheds instead of queueing without bound.
//! - Header fields: see [`headers`].

mod headers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use gatehouse_core::service::gate::{Credential, GateRequest};
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::error::ApiResult;
use crate::routes::gate::HttpHeaders;
use crate::routes::gate::forward_auth::{admit, identity_headers};
use crate::state::AppState;

/// What proxy mode needs of the configuration.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// `http://host:port[/prefix]`, without a trailing `/`.
    pub upstream: String,
    pub tenant: String,
    pub max_body_bytes: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_in_flight: usize,
}

impl ProxySettings {
    /// The settings of a configuration with `proxy_listen` set (validation
    /// made sure `upstream` is then set too).
    pub fn from_config(config: &Config) -> Option<Self> {
        config.proxy_listen.as_ref()?;
        Some(Self {
            upstream: config
                .upstream
                .as_deref()?
                .trim_end_matches('/')
                .to_string(),
            tenant: config.proxy_tenant.clone(),
            max_body_bytes: config.proxy_max_body_bytes,
            connect_timeout: config.proxy_connect_timeout,
            timeout: config.proxy_timeout,
            max_in_flight: config.proxy_max_in_flight,
        })
    }
}

/// Proxy mode's own failures; `ApiError` maps them (the status table).
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(
        "the request body is larger than the {limit} bytes this route buffers to check its \
         signature"
    )]
    BodyTooLarge { limit: usize },
    #[error("the request body did not arrive within {secs} s")]
    BodyTimeout { secs: u64 },
    #[error("the request body could not be read")]
    BodyBroken,
    #[error("the proxy is forwarding as many requests as it may; retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("the upstream could not be reached")]
    Unreachable(String),
    #[error("the upstream did not answer within {secs} s")]
    Timeout { secs: u64, detail: String },
}

/// The forwarding half of proxy mode, shared by every request.
pub struct Proxy {
    state: AppState,
    settings: ProxySettings,
    client: reqwest::Client,
    in_flight: Arc<Semaphore>,
}

impl Proxy {
    pub fn new(state: AppState, settings: ProxySettings) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            // The upstream is named by configuration only: no `HTTP_PROXY`
            // detour, and a redirect goes back to the client, not followed.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight)),
            state,
            settings,
            client,
        })
    }

    /// The proxy listener's router: every path and method is forwarded.
    pub fn router(self) -> Router {
        // Every proxied request counts under the route label `proxy`.
        let http_metrics = self.state.metrics.is_some().then_some("proxy");
        crate::routes::observed(Router::new().fallback(forward), http_metrics)
            .with_state(Arc::new(self))
    }

    async fn forward(&self, peer: SocketAddr, request: Request) -> ApiResult<Response> {
        let slot = Arc::clone(&self.in_flight)
            .try_acquire_owned()
            .map_err(|_| ProxyError::Busy {
                retry_after_secs: 1,
            })?;
        let ctx = self
            .state
            .services
            .contexts
            .get(&self.settings.tenant)
            .await?;
        let (parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let gate = &self.state.services.gate;
        let (buffered, streamed) = if gate.wants_body(&ctx, parts.method.as_str(), path) {
            (Some(self.read_body(body).await?), None)
        } else {
            (None, Some(body))
        };
        let lookup = HttpHeaders(&parts.headers);
        let decision = gate
            .decide(
                &ctx,
                GateRequest {
                    method: parts.method.as_str(),
                    path,
                    credential: Credential::from_headers(&lookup),
                    headers: &lookup,
                    body: buffered.as_deref(),
                    check_session: false,
                },
            )
            .await?;
        let identity = admit(decision)?;

        let outgoing = self
            .client
            .request(
                parts.method.clone(),
                format!("{}{path}", self.settings.upstream),
            )
            .headers(headers::to_upstream(
                &parts.headers,
                peer,
                identity_headers(&identity),
            ));
        let outgoing = match (buffered, streamed) {
            (Some(bytes), _) => outgoing.body(bytes),
            (None, Some(body)) if crate::extract::has_body(&parts.headers) => {
                outgoing.body(reqwest::Body::wrap_stream(body.into_data_stream()))
            }
            _ => outgoing,
        };
        let answer = tokio::time::timeout(self.settings.timeout, outgoing.send())
            .await
            .map_err(|_| self.timed_out("no answer started"))?
            .map_err(|e| {
                if e.is_timeout() {
                    self.timed_out(&e.to_string())
                } else {
                    ProxyError::Unreachable(format!("{}: {e}", self.settings.upstream))
                }
            })?;

        let status = answer.status();
        let fields = headers::to_client(answer.headers());
        // The slot is held until the answer has streamed to the client.
        let stream = answer.bytes_stream().map(move |chunk| {
            let _held = &slot;
            chunk
        });
        let mut response = Response::new(Body::from_stream(stream));
        *response.status_mut() = status;
        *response.headers_mut() = fields;
        Ok(response)
    }

    /// The whole body, for a signature check: bounded in size and time.
    async fn read_body(&self, body: Body) -> Result<Bytes, ProxyError> {
        let limit = self.settings.max_body_bytes;
        let read = async {
            let mut stream = body.into_data_stream();
            let mut buffer = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|_| ProxyError::BodyBroken)?;
                if buffer.len() + chunk.len() > limit {
                    return Err(ProxyError::BodyTooLarge { limit });
                }
                buffer.extend_from_slice(&chunk);
            }
            Ok(Bytes::from(buffer))
        };
        tokio::time::timeout(self.settings.timeout, read)
            .await
            .map_err(|_| ProxyError::BodyTimeout {
                secs: self.settings.timeout.as_secs(),
            })?
    }

    fn timed_out(&self, detail: &str) -> ProxyError {
        ProxyError::Timeout {
            secs: self.settings.timeout.as_secs(),
            detail: format!("{}: {detail}", self.settings.upstream),
        }
    }
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    match proxy.forward(peer, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}
