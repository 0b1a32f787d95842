//! Prometheus metrics of a node: the recorder core's `metrics` calls land
//! in, the HTTP middleware that counts and times every request by its
//! route template, and the gauges read at scrape time (the hashing pool,
//! the mail queue). Off unless `metrics_token` or `metrics_listen` is set;
//! off, no recorder exists, no middleware runs and the store is not
//! wrapped, so a node without metrics pays nothing.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `gatehouse_http_requests_total` | counter | `route`, `method`, `status` |
//! | `gatehouse_http_request_duration_seconds` | histogram | `route`, `method` |
//! | `gatehouse_hash_pool_busy` | gauge | (password checks running now) |
//! | `gatehouse_hash_pool_workers` | gauge | |
//! | `gatehouse_hash_pool_shed_total` | counter | (checks refused with 503) |
//! | `gatehouse_mail_queue_depth` | gauge | (mails waiting or in flight; SMTP only) |
//! | `gatehouse_mail_dropped_total` | counter | (refused by a full queue; SMTP only) |
//!
//! and the domain's metrics, named in `gatehouse_core::telemetry`.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::SecretString;

use crate::config::Config;
use crate::state::AppState;

/// Upper bounds of the latency histograms' buckets, in seconds: from a
/// cached `/auth` (well under a millisecond) to a login queued behind
/// argon2 or a slow database (seconds).
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often recorded histogram samples are folded into their buckets
/// when nobody scrapes (otherwise they would pile up in memory).
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The node's metrics, when they are on.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    /// The bearer token `/metrics` on the main listener asks for; `None`
    /// serves it only on `metrics_listen`.
    pub token: Option<SecretString>,
}

impl Metrics {
    /// The metrics `config` asks for: `None` when neither `metrics_token`
    /// nor `metrics_listen` is set. Installs the process's recorder the
    /// first time (later nodes of the same process, as in tests, share it).
    pub fn from_config(config: &Config) -> Result<Option<Self>, String> {
        if config.metrics_token.is_none() && config.metrics_listen.is_none() {
            return Ok(None);
        }
        Ok(Some(Self {
            handle: recorder()?,
            token: config.metrics_token.clone(),
        }))
    }

    /// The Prometheus text exposition of everything recorded, with the
    /// scrape-time gauges of `state` refreshed first.
    pub fn render(&self, state: &AppState) -> String {
        let pool = state.services.hashing_pool();
        let stats = pool.stats();
        let load =
            |n: &std::sync::atomic::AtomicUsize| n.load(std::sync::atomic::Ordering::Relaxed);
        metrics::gauge!("gatehouse_hash_pool_busy").set(load(&stats.busy) as f64);
        metrics::gauge!("gatehouse_hash_pool_workers").set(pool.settings().worker_count() as f64);
        metrics::counter!("gatehouse_hash_pool_shed_total").absolute(load(&stats.shed) as u64);
        // Depth and drops only: the sent and given-up counts would tell
        // decoy mails (for accounts that do not exist) from real ones.
        if let Some(mail) = state.mail.snapshot() {
            metrics::gauge!("gatehouse_mail_queue_depth").set(mail.queued as f64);
            metrics::counter!("gatehouse_mail_dropped_total").absolute(mail.dropped);
        }
        self.handle.render()
    }
}

/// Folds recorded histogram samples into their buckets every
/// [`UPKEEP_INTERVAL`], whether or not anyone scrapes: samples wait in
/// memory until then.
pub async fn upkeep(metrics: Metrics) {
    let mut ticker = tokio::time::interval(UPKEEP_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        metrics.handle.run_upkeep();
    }
}

/// The process's one recorder: `metrics` has a single global one.
fn recorder() -> Result<PrometheusHandle, String> {
    static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    RECORDER
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| format!("cannot install the metrics recorder: {e}"))
        })
        .clone()
}

/// Counts and times one request under its route template
/// (`/t/{tenant}/auth`, never the path it was called with: tenant names,
/// ids and tokens sit in paths, and every distinct value would be a new
/// series). A request no route matched is counted under `unmatched`.
pub(crate) async fn record_http(
    State(unmatched): State<&'static str>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // An `Arc<str>` inside: kept without copying the text.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let method = method_label(request.method());
    let response = next.run(request).await;
    let route = matched.as_ref().map_or(unmatched, MatchedPath::as_str);
    record_request(route, method, response.status().as_u16(), started.elapsed());
    response
}

/// The series of one route, method and status, registered once: looking a
/// series up by its labels in the recorder costs allocations and hashing
/// that every request on the hot path (`/auth`) would otherwise pay.
struct HttpSeries {
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

type SeriesOfRoutes = HashMap<String, HashMap<(&'static str, u16), HttpSeries>>;

/// Bounded as the series are: routes × methods × statuses. One per
/// process, as the recorder is.
static HTTP_SERIES: LazyLock<RwLock<SeriesOfRoutes>> = LazyLock::new(Default::default);

fn record_request(route: &str, method: &'static str, status: u16, elapsed: Duration) {
    let record = |series: &HttpSeries| {
        series.requests.increment(1);
        series.duration.record(elapsed.as_secs_f64());
    };
    if let Ok(known) = HTTP_SERIES.read()
        && let Some(series) = known.get(route).and_then(|m| m.get(&(method, status)))
    {
        record(series);
        return;
    }
    let series = HttpSeries {
        requests: metrics::counter!(
            "gatehouse_http_requests_total",
            "route" => route.to_string(),
            "method" => method,
            "status" => status.to_string()
        ),
        duration: metrics::histogram!(
            "gatehouse_http_request_duration_seconds",
            "route" => route.to_string(),
            "method" => method
        ),
    };
    record(&series);
    if let Ok(mut known) = HTTP_SERIES.write() {
        known
            .entry(route.to_string())
            .or_default()
            .insert((method, status), series);
    }
}

/// The method as a label: the standard ones by name, any other token a
/// client invents as `other` (each would otherwise be a new series).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let invented = Method::from_bytes(b"X-SECRET-abc123").unwrap_or(Method::TRACE);
        assert_eq!(method_label(&invented), "other");
        assert_eq!(method_label(&Method::CONNECT), "other");
    }
}
