//! Cold start: from spawning `gatehouse serve` to its first successful
//! answer, as a serverless platform sees it when an instance starts for a
//! request. The clock starts before `spawn` (so process creation, dynamic
//! linking, configuration, migrations, the master-key check and binding
//! all count) and stops when the probe request gets a 200.
//!
//! * `login` probe: `POST /t/default/login` with an existing user, so the
//!   time includes one argon2id verification at the default cost.
//! * `jwks` probe: `GET /t/default/.well-known/jwks.json`, for a database
//!   that does not exist yet (schema creation and key generation count).
//! * `healthz` probe: `GET /healthz`, the first request served at all
//!   (`bench/compare.sh`, on an existing database).
//!
//! After the first 200 it reads the server's resident set size from
//! `/proc/<pid>/status`, then stops it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::BenchResult;
use crate::stats::median;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Probe {
    Login,
    Jwks,
    Healthz,
}

pub struct Options {
    pub bin: std::path::PathBuf,
    /// `{run}` is replaced by the run's number (a fresh database per run).
    pub database_url: String,
    pub probe: Probe,
    pub runs: u32,
    pub username: String,
    pub password: String,
    pub timeout: Duration,
}

/// Between two probe attempts while the server is not up yet.
const POLL_EVERY: Duration = Duration::from_millis(1);

pub async fn run(options: &Options) -> BenchResult<Value> {
    let client = Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut millis = Vec::new();
    let mut rss_kib = Vec::new();
    for run in 1..=options.runs {
        let (ms, rss) = one_start(&client, options, run).await?;
        eprintln!("  run {run}: first 200 after {ms:.1} ms, RSS {rss} KiB");
        millis.push(ms);
        rss_kib.push(rss as f64);
    }
    Ok(json!({
        "probe": format!("{:?}", options.probe).to_lowercase(),
        "runs": options.runs,
        "first_ok_ms": millis,
        "first_ok_ms_median": median(&millis),
        "first_ok_ms_min": millis.iter().copied().fold(f64::INFINITY, f64::min),
        "first_ok_ms_max": millis.iter().copied().fold(0.0, f64::max),
        "rss_kib_median": median(&rss_kib),
    }))
}

async fn one_start(client: &Client, options: &Options, run: u32) -> BenchResult<(f64, u64)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let url = options.database_url.replace("{run}", &run.to_string());
    let started = Instant::now();
    let mut child = Command::new(&options.bin)
        .args(["--database-url", &url, "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let outcome = async {
        loop {
            let request = match options.probe {
                Probe::Login => client
                    .post(format!("{base}/t/default/login"))
                    .json(&json!({"username": options.username, "password": options.password})),
                Probe::Jwks => client.get(format!("{base}/t/default/.well-known/jwks.json")),
                Probe::Healthz => client.get(format!("{base}/healthz")),
            };
            match request.send().await {
                Ok(r) if r.status() == StatusCode::OK => {
                    return Ok(started.elapsed().as_secs_f64() * 1000.0);
                }
                Ok(r) => return Err(format!("the probe got {}", r.status()).into()),
                Err(e) if e.is_connect() => {
                    if started.elapsed() > options.timeout {
                        return Err("the server did not answer within the timeout".into());
                    }
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(format!("the server exited ({status}) before answering").into());
                    }
                    tokio::time::sleep(POLL_EVERY).await;
                }
                Err(e) => return Err(format!("the probe failed: {e}").into()),
            }
        }
    }
    .await;
    let rss = resident_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let ms: BenchResult<f64> = outcome;
    Ok((ms?, rss?))
}

fn resident_kib(pid: u32) -> BenchResult<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/<pid>/status".into())
}
