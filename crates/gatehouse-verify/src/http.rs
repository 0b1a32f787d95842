//! The one HTTP client the verifier talks to its issuer with: bounded in
//! time and in the size of what it reads, no redirects followed.
//!
//! It is hyper's, not reqwest's, on purpose: its TLS (rustls on aws-lc-rs,
//! with Mozilla's roots) is configured here, explicitly, so depending on
//! this crate changes no TLS feature of the service's own HTTP clients.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, AGE, CACHE_CONTROL, ETAG, HeaderValue, IF_NONE_MATCH, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::cache_control;
use crate::error::BuildError;

/// A discovery document or a JWKS is a few kilobytes; this bounds what a
/// broken or hostile endpoint can make us hold.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

const USER_AGENT_VALUE: &str = concat!("gatehouse-verify/", env!("CARGO_PKG_VERSION"));

/// Why a fetch failed; logged, and kept for [`crate::Verifier::refresh`].
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("{url} cannot be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url} answered more than {MAX_BODY_BYTES} bytes")]
    TooLarge { url: String },
    #[error("{url} answered something that is not {what}: {reason}")]
    Malformed {
        url: String,
        what: &'static str,
        reason: String,
    },
    #[error(
        "the discovery document names the issuer {found:?}, not {expected:?} (OIDC Discovery §4.3)"
    )]
    IssuerMismatch { expected: String, found: String },
    #[error("fetched less than {interval:?} ago (last attempt: {last})")]
    RateLimited { interval: Duration, last: String },
}

/// A `GET` that may be answered "not modified".
pub(crate) enum Fetched {
    Body {
        bytes: Bytes,
        etag: Option<String>,
        freshness: Option<Duration>,
    },
    NotModified {
        freshness: Option<Duration>,
    },
}

/// An answer read whole (within [`MAX_BODY_BYTES`]).
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

#[cfg(feature = "rustls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "rustls"))]
type Connector = HttpConnector;

/// The client: connection pooling, a connect timeout, and an overall
/// timeout per request (answer included).
#[derive(Clone)]
pub(crate) struct HttpClient {
    inner: HyperClient<Connector, Full<Bytes>>,
    timeout: Duration,
}

pub(crate) fn client(timeout: Duration) -> Result<HttpClient, BuildError> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(timeout));
    #[cfg(feature = "rustls")]
    let connector = {
        http.enforce_http(false);
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config()?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http)
    };
    #[cfg(not(feature = "rustls"))]
    let connector = http;
    let inner = HyperClient::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector);
    Ok(HttpClient { inner, timeout })
}

/// rustls on aws-lc-rs (the provider the rest of Gatehouse uses), with
/// Mozilla's root certificates: no process-wide provider is installed or
/// assumed.
#[cfg(feature = "rustls")]
fn tls_config() -> Result<rustls::ClientConfig, BuildError> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BuildError::Http(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl HttpClient {
    /// Sends `request` and reads the answer, all within the timeout.
    /// Redirects are not followed: the configured URL is the one trusted,
    /// and a redirect elsewhere is a misconfiguration to fix.
    pub(crate) async fn send(
        &self,
        mut request: Request<Full<Bytes>>,
        url: &str,
    ) -> Result<Answer, FetchError> {
        let headers = request.headers_mut();
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let unreachable = |reason: String| FetchError::Unreachable {
            url: url.to_string(),
            reason,
        };
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| unreachable(innermost(&e)))?;
            let (parts, body) = response.into_parts();
            let too_large = || FetchError::TooLarge {
                url: url.to_string(),
            };
            let declared = parts
                .headers
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
                return Err(too_large());
            }
            let body = Limited::new(body, MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        too_large()
                    } else {
                        unreachable(e.to_string())
                    }
                })?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer within {:?}", self.timeout)))?
    }

    /// `GET url`, revalidating with `etag` when there is one (RFC 9110
    /// §13.1.2). Only 200 (and 304 after an `If-None-Match`) count as
    /// answers.
    pub(crate) async fn get(&self, url: &str, etag: Option<&str>) -> Result<Fetched, FetchError> {
        let mut request = Request::builder().method(Method::GET).uri(uri(url)?);
        if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let request = request
            .body(Full::default())
            .map_err(|e| malformed_url(url, e.to_string()))?;
        let answer = self.send(request, url).await?;
        let header = |name| {
            answer
                .headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let freshness = cache_control::freshness(header(CACHE_CONTROL), header(AGE));
        match answer.status {
            StatusCode::NOT_MODIFIED if etag.is_some() => Ok(Fetched::NotModified { freshness }),
            StatusCode::OK => Ok(Fetched::Body {
                etag: header(ETAG).map(str::to_string),
                bytes: answer.body,
                freshness,
            }),
            status => Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            }),
        }
    }

    /// `POST url` with a form body and an `Authorization` header.
    #[cfg(feature = "introspect")]
    pub(crate) async fn post_form(
        &self,
        url: &str,
        authorization: &HeaderValue,
        form: &[(&str, &str)],
    ) -> Result<Answer, FetchError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri(url)?)
            .header(hyper::header::AUTHORIZATION, authorization.clone())
            .header(
                hyper::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| malformed_url(url, e.to_string()))?;
        self.send(request, url).await
    }
}

fn uri(url: &str) -> Result<Uri, FetchError> {
    let uri: Uri = url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| malformed_url(url, e.to_string()))?;
    #[cfg(not(feature = "rustls"))]
    if uri.scheme_str() == Some("https") {
        return Err(malformed_url(
            url,
            "https needs gatehouse-verify's `rustls` feature".into(),
        ));
    }
    Ok(uri)
}

fn malformed_url(url: &str, reason: String) -> FetchError {
    FetchError::Malformed {
        url: url.to_string(),
        what: "a usable URL",
        reason,
    }
}

/// The innermost cause says what actually happened (refused, reset, ...).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        reason = s.to_string();
        source = s.source();
    }
    reason
}
