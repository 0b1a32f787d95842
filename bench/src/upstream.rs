//! `upstream`: the smallest origin worth putting behind proxy mode, so that
//! "direct" measures the load generator and one hop and "through the
//! proxy" adds exactly Gatehouse's gate and forwarding.
//!
//! Every method and path answers 200 with a 3-byte body. The identity the
//! proxy added is echoed back as `X-Bench-Saw-Credential` (the request's
//! `X-Auth-Credential`), so `guard` can check that the proxy gated the
//! request and replaced the client's own `X-Auth-*` headers. Loopback
//! only; it stops on Ctrl-C, SIGTERM or after `lifetime`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderName, StatusCode};

use crate::BenchResult;

/// The response header carrying the `X-Auth-Credential` the upstream saw.
pub const SAW_CREDENTIAL: &str = "x-bench-saw-credential";

#[derive(Debug, Clone)]
pub struct UpstreamOptions {
    pub listen: SocketAddr,
    /// The server stops by itself after this long.
    pub lifetime: Duration,
}

pub async fn run(opts: &UpstreamOptions) -> BenchResult<()> {
    if !opts.listen.ip().is_loopback() {
        return Err(format!(
            "--listen {}: only a loopback address (127.0.0.1:PORT) is allowed",
            opts.listen
        )
        .into());
    }
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
    eprintln!(
        "upstream: listening on http://{} for at most {:.0}s",
        listener.local_addr()?,
        opts.lifetime.as_secs_f64()
    );
    let app = Router::new().fallback(answer);
    let lifetime = opts.lifetime;
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminated() => {}
                () = tokio::time::sleep(lifetime) => {
                    eprintln!("upstream: lifetime over, stopping");
                }
            }
        })
        .await?;
    Ok(())
}

async fn answer(headers: HeaderMap) -> (StatusCode, HeaderMap, &'static str) {
    let mut out = HeaderMap::new();
    if let Some(credential) = headers.get("x-auth-credential") {
        out.insert(HeaderName::from_static(SAW_CREDENTIAL), credential.clone());
    }
    (StatusCode::OK, out, "ok\n")
}

/// SIGTERM (what `guard.sh` sends); never resolves if it cannot be watched.
async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}
