//! The one HTTP client the verifier talks to its issuer with: bounded in
//! time and in the size of what it reads, no redirects followed.

use std::time::Duration;

use reqwest::header::{AGE, CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use reqwest::{Client, StatusCode};

use crate::cache_control;
use crate::error::BuildError;

/// A discovery document or a JWKS is a few kilobytes; this bounds what a
/// broken or hostile endpoint can make us hold.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

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
        bytes: Vec<u8>,
        etag: Option<String>,
        freshness: Option<Duration>,
    },
    NotModified {
        freshness: Option<Duration>,
    },
}

pub(crate) fn client(timeout: Duration) -> Result<Client, BuildError> {
    let builder = Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // The configured URL is the one trusted; a redirect elsewhere is a
        // misconfiguration to fix, not a hop to follow silently.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gatehouse-verify/", env!("CARGO_PKG_VERSION")));
    #[cfg(feature = "rustls")]
    let builder = builder.use_preconfigured_tls(tls_config()?);
    builder.build().map_err(|e| BuildError::Http(e.to_string()))
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

/// `GET url`, revalidating with `etag` when there is one (RFC 9110
/// §13.1.2). Only 200 (and 304 after an `If-None-Match`) count as answers.
pub(crate) async fn get(
    client: &Client,
    url: &str,
    etag: Option<&str>,
) -> Result<Fetched, FetchError> {
    let mut request = client.get(url).header("accept", "application/json");
    if let Some(etag) = etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    let response = request.send().await.map_err(|e| FetchError::Unreachable {
        url: url.to_string(),
        reason: without_url(&e),
    })?;
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let freshness =
        cache_control::freshness(header(CACHE_CONTROL).as_deref(), header(AGE).as_deref());
    match response.status() {
        StatusCode::NOT_MODIFIED if etag.is_some() => Ok(Fetched::NotModified { freshness }),
        StatusCode::OK => {
            let new_etag = header(ETAG);
            let bytes = read_bounded(response, url).await?;
            Ok(Fetched::Body {
                bytes,
                etag: new_etag,
                freshness,
            })
        }
        status => Err(FetchError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        }),
    }
}

/// The body, refused past [`MAX_BODY_BYTES`] before or while reading it.
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    url: &str,
) -> Result<Vec<u8>, FetchError> {
    let too_large = || FetchError::TooLarge {
        url: url.to_string(),
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(FetchError::Unreachable {
                    url: url.to_string(),
                    reason: without_url(&e),
                });
            }
        }
    }
}

/// reqwest's message names the URL again; ours already does.
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let mut reason = e.to_string();
    if let Some(url) = e.url() {
        reason = reason.replace(&format!(" ({url})"), "");
    }
    // The innermost cause says what actually happened (refused, timed out).
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.source().is_none() {
            reason = format!("{reason}: {s}");
        }
        source = s.source();
    }
    reason
}
