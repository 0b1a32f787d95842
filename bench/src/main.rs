//! `gatehouse-bench`: how close the HTTP endpoints come to the cost of the
//! work they cannot avoid.
//!
//! * `raw`    — in-process ceilings: JWT verifications and argon2id
//!   verifications per second, on one thread and on all cores.
//! * `raw-core` — the same on one thread only, every algorithm's sign and
//!   verify plus argon2id hash and verify (for `bench/compare.sh`).
//! * `http`   — load against a running server: `/auth` and `/login`
//!   requests per second at a fixed concurrency.
//! * `coldstart` — from spawning `gatehouse serve` to its first 200.
//! * `guard`  — `/auth` decisions per second per credential kind of a
//!   route policy, and proxy mode against the bare `upstream`.
//! * `upstream` — a minimal origin server for the proxy-mode comparison.
//! * `report` — joins the two JSON outputs of one run into a table, the
//!   ratios, and one JSON document.
//!
//! `bench/run.sh` drives `raw`, `http` and `report` against a throwaway
//! server, `bench/guard.sh` drives `upstream` and `guard`; see
//! `bench/README.md`.

// No unwrap/expect (the workspace denies them): bad flags, server answers
// and I/O failures all surface as one-line errors from `main`.

mod coldstart;
mod guard;
mod http;
mod legacy;
mod raw;
mod report;
mod seed;
mod stats;
mod upstream;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use gatehouse_core::algorithm::SigningAlgorithm;

/// Any failure, printed as one line.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse-bench",
    about = "Throughput of Gatehouse: in-process ceilings versus /auth and /login over HTTP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// In-process: JWT verification and argon2id verification per second.
    Raw {
        /// Signing algorithm of the benchmark key: RS256, PS256, ES256, EdDSA or HS256.
        #[arg(long, env = "ALG", default_value = "RS256")]
        algorithm: String,
        /// Seconds per timed run.
        #[arg(long, default_value = "3", value_parser = seconds)]
        duration: Duration,
        /// Timed runs per quantity; the median is reported.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
        repeats: u32,
        /// Untimed seconds before each quantity's first run.
        #[arg(long, default_value = "0.5", value_parser = seconds_or_zero)]
        warmup: Duration,
        /// Threads of the multi-threaded variant (default: available cores).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: Option<u16>,
        /// Write the results here as JSON (default: stdout).
        #[arg(long)]
        json_out: Option<PathBuf>,
    },
    /// In-process, one thread: sign and verify per algorithm, argon2id hash
    /// and verify (the ceilings of a server pinned to one core; see
    /// `bench/compare.sh`).
    RawCore {
        /// Algorithms, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "RS256,PS256,ES256,EdDSA,HS256"
        )]
        algorithms: Vec<String>,
        /// Seconds per timed run.
        #[arg(long, default_value = "3", value_parser = seconds)]
        duration: Duration,
        /// Timed runs per quantity; the median is reported.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
        repeats: u32,
        /// Untimed seconds before each quantity's first run.
        #[arg(long, default_value = "0.5", value_parser = seconds_or_zero)]
        warmup: Duration,
        /// Write the results here as JSON (default: stdout).
        #[arg(long)]
        json_out: Option<PathBuf>,
    },
    /// Over HTTP: /auth and /login requests per second against a running server.
    Http {
        /// The server's root, e.g. http://127.0.0.1:8080 (loopback only).
        #[arg(long)]
        base_url: String,
        /// The tenant whose endpoints are loaded.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Seconds per measured window.
        #[arg(long, default_value = "10", value_parser = seconds)]
        duration: Duration,
        /// Measured windows per endpoint; the median is reported.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
        repeats: u32,
        /// Discarded seconds of load before each endpoint's windows.
        #[arg(long, default_value = "2", value_parser = seconds_or_zero)]
        warmup: Duration,
        /// Concurrent connections for /auth.
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=4096))]
        auth_concurrency: u16,
        /// Concurrent connections for /login.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=4096))]
        login_concurrency: u16,
        /// Worker threads of the load generator. One leaves the server at
        /// least one core of its own on a small machine, and measured faster
        /// than two on the 2-core reference box (less contention).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
        client_threads: u16,
        /// Seconds before a single request is given up as an error.
        #[arg(long, default_value = "30", value_parser = seconds)]
        request_timeout: Duration,
        /// Write the results here as JSON (default: stdout).
        #[arg(long)]
        json_out: Option<PathBuf>,
    },
    /// From spawning `gatehouse serve` to its first successful answer, and
    /// its resident memory then (see `bench/coldstart.sh`).
    Coldstart {
        /// The `gatehouse` binary to start.
        #[arg(long)]
        bin: PathBuf,
        /// Its database; `{run}` is replaced by the run number.
        #[arg(long)]
        database_url: String,
        /// `login` (an existing user), `jwks` (a database made at start) or
        /// `healthz` (the first answer at all).
        #[arg(long, value_enum, default_value = "login")]
        probe: coldstart::Probe,
        /// Starts measured; the median is reported.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
        runs: u32,
        #[arg(long, default_value = "bench-user")]
        username: String,
        #[arg(long, env = "BENCH_PASSWORD", default_value = "bench-password-123")]
        password: String,
        /// Seconds one start may take before the run fails.
        #[arg(long, default_value = "30", value_parser = seconds)]
        timeout: Duration,
        #[arg(long)]
        json_out: Option<PathBuf>,
    },
    /// Over HTTP: `/auth` decisions per second for each credential kind of a
    /// route policy (set up over the admin API), and proxy mode against the
    /// bare upstream. Replaces the tenant's policy: a throwaway server only.
    Guard {
        /// The server's root, e.g. http://127.0.0.1:8080 (loopback only).
        #[arg(long)]
        base_url: String,
        /// The tenant whose policy, secret, key and user are set up.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// The server's GATEHOUSE_ADMIN_TOKEN (read from that variable by default).
        #[arg(long, env = "GATEHOUSE_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
        /// Credential kinds to measure, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "public,jwt,api_key,basic,hmac",
              value_parser = clap::builder::PossibleValuesParser::new(guard::KINDS))]
        kinds: Vec<String>,
        /// Replace a route policy the tenant already has.
        #[arg(long)]
        replace_policy: bool,
        /// A `gatehouse-bench upstream` root: measured directly.
        #[arg(long)]
        upstream_url: Option<String>,
        /// The server's proxy listener (`serve --proxy-listen`) in front of
        /// --upstream-url: measured with a JWT and on the public rule.
        #[arg(long)]
        proxy_url: Option<String>,
        /// Seconds per measured window.
        #[arg(long, default_value = "10", value_parser = seconds)]
        duration: Duration,
        /// Measured windows per phase; the median is reported.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
        repeats: u32,
        /// Discarded seconds of load before each phase's windows.
        #[arg(long, default_value = "2", value_parser = seconds_or_zero)]
        warmup: Duration,
        /// Concurrent connections of every phase.
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=4096))]
        concurrency: u16,
        /// Worker threads of the load generator (see `http`).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
        client_threads: u16,
        /// Seconds before a single request is given up as an error.
        #[arg(long, default_value = "30", value_parser = seconds)]
        request_timeout: Duration,
        /// Write the results here as JSON (the table goes to stdout).
        #[arg(long)]
        json_out: Option<PathBuf>,
        /// `KEY=VALUE` facts recorded with the run (commit, CPU, knobs).
        #[arg(long = "meta", value_parser = key_value)]
        meta: Vec<(String, String)>,
    },
    /// A minimal origin for proxy mode: 200 and a 3-byte body for every
    /// request, echoing the X-Auth-Credential it received.
    Upstream {
        /// Loopback address to listen on, e.g. 127.0.0.1:9000.
        #[arg(long)]
        listen: SocketAddr,
        /// Worker threads of its runtime.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: u16,
        /// Seconds after which it stops by itself.
        #[arg(long, default_value = "3600", value_parser = seconds)]
        lifetime: Duration,
    },
    /// What one password check costs at each imported-hash cap, one thread.
    LegacyCaps {
        /// Checks per kind; the median is reported.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
        runs: u32,
    },
    /// Scale runs' data (`bench/scale.sh`): tenants with their own keys and
    /// clients through core's services, users in batches with one
    /// precomputed argon2id hash, straight into the server's store.
    Seed(seed::SeedArgs),
    /// One client-credentials access token per tenant of a `seed
    /// --clients-out` file, from the running server.
    MintTokens(seed::MintArgs),
    /// Join the JSON of `raw` and `http` into the table, ratios and one JSON file.
    Report {
        #[arg(long)]
        raw: PathBuf,
        #[arg(long)]
        http: PathBuf,
        /// UTC timestamp of the run (also names the JSON file).
        #[arg(long)]
        timestamp: String,
        /// Write the combined JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// `KEY=VALUE` facts recorded with the run (commit, CPU, knobs).
        #[arg(long = "meta", value_parser = key_value)]
        meta: Vec<(String, String)>,
    },
}

/// Durations are given in (fractional) seconds, bounded so that every run
/// of the tool ends: more than 0, at most an hour.
fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err("must be more than 0 and at most 3600 seconds".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Like [`seconds`], but 0 (no warm-up) is allowed.
fn seconds_or_zero(text: &str) -> Result<Duration, String> {
    if text.parse::<f64>() == Ok(0.0) {
        return Ok(Duration::ZERO);
    }
    seconds(text)
}

fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The whole chain: reqwest's own message ("error sending
            // request") hides the cause (e.g. "connection refused").
            let mut message = e.to_string();
            let mut source = e.source();
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("gatehouse-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> BenchResult<()> {
    match cli.command {
        Command::LegacyCaps { runs } => {
            println!("| check | median ms |\n|---|---|");
            for (name, ms) in legacy::run(runs as usize)? {
                println!("| {name} | {ms:.1} |");
            }
            Ok(())
        }
        Command::Raw {
            algorithm,
            duration,
            repeats,
            warmup,
            threads,
            json_out,
        } => {
            let opts = raw::RawOptions {
                algorithm: algorithm.parse::<SigningAlgorithm>()?,
                duration,
                repeats,
                warmup,
                threads: threads.map_or_else(cores, usize::from),
            };
            let results = raw::run(&opts)?;
            write_json(&results, json_out.as_deref())
        }
        Command::RawCore {
            algorithms,
            duration,
            repeats,
            warmup,
            json_out,
        } => {
            let algorithms = algorithms
                .iter()
                .map(|a| a.parse::<SigningAlgorithm>())
                .collect::<Result<Vec<_>, _>>()?;
            let results = raw::run_core(&algorithms, duration, repeats, warmup)?;
            write_json(&results, json_out.as_deref())
        }
        Command::Http {
            base_url,
            tenant,
            duration,
            repeats,
            warmup,
            auth_concurrency,
            login_concurrency,
            client_threads,
            request_timeout,
            json_out,
        } => {
            let client_threads = usize::from(client_threads);
            let opts = http::HttpOptions {
                base_url,
                tenant,
                timing: http::Timing {
                    window: duration,
                    windows: repeats,
                    warmup,
                    request_timeout,
                },
                auth_concurrency: usize::from(auth_concurrency),
                login_concurrency: usize::from(login_concurrency),
                client_threads,
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(client_threads)
                .enable_all()
                .build()?;
            let results = runtime.block_on(http::run(&opts))?;
            write_json(&results, json_out.as_deref())
        }
        Command::Guard {
            base_url,
            tenant,
            admin_token,
            kinds,
            replace_policy,
            upstream_url,
            proxy_url,
            duration,
            repeats,
            warmup,
            concurrency,
            client_threads,
            request_timeout,
            json_out,
            meta,
        } => {
            let client_threads = usize::from(client_threads);
            let opts = guard::GuardOptions {
                base_url,
                tenant,
                admin_token: secrecy::SecretString::from(admin_token),
                timing: http::Timing {
                    window: duration,
                    windows: repeats,
                    warmup,
                    request_timeout,
                },
                concurrency: usize::from(concurrency),
                client_threads,
                kinds,
                replace_policy,
                upstream_url,
                proxy_url,
                meta: meta.into_iter().collect(),
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(client_threads)
                .enable_all()
                .build()?;
            let results = runtime.block_on(guard::run(&opts))?;
            print!("{}", results.table());
            if let Some(path) = json_out {
                write_json(&results, Some(&path))?;
            }
            Ok(())
        }
        Command::Upstream {
            listen,
            threads,
            lifetime,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(usize::from(threads))
                .enable_all()
                .build()?;
            runtime.block_on(upstream::run(&upstream::UpstreamOptions {
                listen,
                lifetime,
            }))
        }
        Command::Coldstart {
            bin,
            database_url,
            probe,
            runs,
            username,
            password,
            timeout,
            json_out,
        } => {
            let opts = coldstart::Options {
                bin,
                database_url,
                probe,
                runs,
                username,
                password,
                timeout,
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let results = runtime.block_on(coldstart::run(&opts))?;
            write_json(&results, json_out.as_deref())
        }
        Command::Seed(args) => {
            let json_out = args.json_out.clone();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let results = runtime.block_on(seed::seed(args))?;
            write_json(&results, json_out.as_deref())
        }
        Command::MintTokens(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(seed::mint_tokens(args)),
        Command::Report {
            raw,
            http,
            timestamp,
            out,
            meta,
        } => {
            let raw: raw::RawResults = read_json(&raw)?;
            let http: http::HttpResults = read_json(&http)?;
            let report = report::Report::new(timestamp, meta.into_iter().collect(), raw, http);
            print!("{}", report.table());
            if let Some(path) = out {
                write_json(&report, Some(&path))?;
                println!("\nresults written to {}", path.display());
            }
            Ok(())
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> BenchResult<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not valid: {e}", path.display()).into())
}

/// Pretty JSON to `path`, or to stdout without one.
fn write_json<T: serde::Serialize>(value: &T, path: Option<&Path>) -> BenchResult<()> {
    let text = serde_json::to_string_pretty(value)?;
    match path {
        Some(p) => std::fs::write(p, text + "\n")
            .map_err(|e| format!("cannot write {}: {e}", p.display()).into()),
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_bounded() {
        assert_eq!(seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert!(seconds("0").is_err());
        assert!(seconds("-1").is_err());
        assert!(seconds("NaN").is_err());
        assert!(seconds("3601").is_err());
        assert_eq!(seconds_or_zero("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn meta_is_key_value() {
        assert_eq!(key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(key_value("ab").is_err());
    }

    #[test]
    fn cli_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
