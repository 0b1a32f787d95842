//! In-process numbers: what one core can do with gatehouse-core alone, no
//! HTTP, no database. These are the ceilings the HTTP numbers are compared
//! against.
//!
//! * JWT verification: one token signed by a freshly generated key of the
//!   chosen algorithm, verified with `gatehouse_jwt::verify_access_token`
//!   over the keyring's public `KeySet` (the very call `/auth` makes) in a
//!   tight loop.
//! * argon2id: one PHC hash made at the default (OWASP) parameters, verified
//!   with `Argon2Hasher::verify` (what `/login` calls) in a tight loop.
//!
//! Each is measured on one thread and on `threads` threads at once.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::clock::{Clock, SystemClock};
use gatehouse_core::id::{new_id, random_token};
use gatehouse_core::keyring::TenantKeyring;
use gatehouse_core::keys::{KeyState, SigningKeyRecord};
use gatehouse_core::password::{Argon2Hasher, Argon2Params, PasswordHasher};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_core::tenant::{
    DEFAULT_ACCESS_TTL_SECS, Tenant, TenantName, TenantSettings, issuer_url,
};
use gatehouse_core::token::{AccessClaims, Audience};
use gatehouse_jwt::{DEFAULT_LEEWAY_SECS, verify_access_token};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::BenchResult;
use crate::stats::Repeated;

/// Hard cap on the operations of one timed run, so a loop is bounded in
/// count as well as in time even if the clock misbehaves.
const MAX_OPS_PER_RUN: u64 = 1_000_000_000;

/// How the in-process measurement is run.
#[derive(Debug, Clone)]
pub struct RawOptions {
    pub algorithm: SigningAlgorithm,
    /// Length of one timed run.
    pub duration: Duration,
    /// Timed runs per quantity; the median is reported.
    pub repeats: u32,
    /// Untimed run before the first timed one (caches, CPU clock ramp-up).
    pub warmup: Duration,
    /// Threads of the multi-threaded variant (the machine's core count).
    pub threads: usize,
}

/// What `raw` measured; written as JSON and read back by `report`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawResults {
    pub algorithm: String,
    /// Length of the token being verified, for comparison with the server's.
    pub token_bytes: usize,
    pub duration_secs: f64,
    pub repeats: u32,
    pub threads: usize,
    /// Access tokens signed per second (what `/login` does besides
    /// hashing), one thread.
    #[serde(default)]
    pub sign_1t: Option<Repeated>,
    /// `verify_access_token` calls per second, one thread.
    pub verify_1t: Repeated,
    /// The same on `threads` threads, summed.
    pub verify_nt: Repeated,
    pub argon2: Argon2Params,
    /// argon2id verifications per second, one thread.
    pub hash_1t: Repeated,
    /// The same on `threads` threads, summed.
    pub hash_nt: Repeated,
    /// The largest share of the machine's CPU time (0–1) that went to
    /// something other than the benchmark threads during any raw run, from
    /// `/proc/stat` (`None` where that does not exist). Near 0 on an idle
    /// machine; more means the numbers are low because of other work.
    pub other_cpu_share: Option<f64>,
}

pub fn run(opts: &RawOptions) -> BenchResult<RawResults> {
    // ---- JWT verification ---------------------------------------------
    let keyring = bench_keyring(opts.algorithm)?;
    let token = sign_like_the_server(&keyring)?;
    let keys = keyring.key_set();
    // Fail loudly before timing anything if the token does not verify: a
    // loop of fast failures would look like a spectacular result.
    verify_access_token(keys, &token, SystemClock.now(), DEFAULT_LEEWAY_SECS)
        .map_err(|e| format!("the benchmark token does not verify: {e}"))?;
    let verify = || {
        verify_access_token(
            black_box(keys),
            black_box(&token),
            SystemClock.now(),
            DEFAULT_LEEWAY_SECS,
        )
        .is_ok()
    };
    let label = format!("{} verify", opts.algorithm);
    let mut others = OtherCpu::default();
    let sign = || sign_like_the_server(black_box(&keyring)).is_ok();
    let sign_1t = measure(
        &format!("{} sign", opts.algorithm),
        &sign,
        1,
        opts,
        &mut others,
    )?;
    let verify_1t = measure(&label, &verify, 1, opts, &mut others)?;
    let verify_nt = measure(&label, &verify, opts.threads, opts, &mut others)?;

    // ---- argon2id -----------------------------------------------------
    let params = Argon2Params::default();
    let hasher = Argon2Hasher::new(params)?;
    let password = SecretString::from("correct horse battery staple".to_string());
    let hash = hasher.hash(&password)?;
    if !hasher.verify(&password, &hash) {
        return Err("the benchmark password does not verify against its own hash".into());
    }
    let check = || hasher.verify(black_box(&password), black_box(&hash));
    let hash_1t = measure("argon2id verify", &check, 1, opts, &mut others)?;
    let hash_nt = measure("argon2id verify", &check, opts.threads, opts, &mut others)?;

    Ok(RawResults {
        algorithm: opts.algorithm.to_string(),
        token_bytes: token.len(),
        duration_secs: opts.duration.as_secs_f64(),
        repeats: opts.repeats,
        threads: opts.threads,
        sign_1t: Some(sign_1t),
        verify_1t,
        verify_nt,
        argon2: params,
        hash_1t,
        hash_nt,
        other_cpu_share: others.max,
    })
}

/// What `raw-core` measured: the one-thread ceilings `bench/compare.sh`
/// sets the HTTP figures of a server pinned to one core against.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoreResults {
    pub duration_secs: f64,
    pub repeats: u32,
    /// Per algorithm: tokens signed and verified per second, one thread.
    pub algorithms: Vec<AlgorithmCore>,
    pub argon2: Argon2Params,
    /// `Argon2Hasher::hash` per second (a new salt each, as `/register`
    /// and a password change), one thread.
    pub argon2_hash_1t: Repeated,
    /// `Argon2Hasher::verify` per second (what `/login` runs), one thread.
    pub argon2_verify_1t: Repeated,
    /// As [`RawResults::other_cpu_share`].
    pub other_cpu_share: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlgorithmCore {
    pub algorithm: String,
    /// Length of the token verified (claims as `/login` issues them).
    pub token_bytes: usize,
    pub sign_1t: Repeated,
    pub verify_1t: Repeated,
}

/// One thread only, every algorithm, then argon2id hash and verify: the
/// same keyring, token and loops as [`run`], without the multi-threaded
/// variants (a server pinned to one core is compared with one thread).
pub fn run_core(
    algorithms: &[SigningAlgorithm],
    duration: Duration,
    repeats: u32,
    warmup: Duration,
) -> BenchResult<CoreResults> {
    let mut others = OtherCpu::default();
    let mut per_algorithm = Vec::with_capacity(algorithms.len());
    for &algorithm in algorithms {
        let opts = RawOptions {
            algorithm,
            duration,
            repeats,
            warmup,
            threads: 1,
        };
        let keyring = bench_keyring(algorithm)?;
        let token = sign_like_the_server(&keyring)?;
        let keys = keyring.key_set();
        verify_access_token(keys, &token, SystemClock.now(), DEFAULT_LEEWAY_SECS)
            .map_err(|e| format!("the {algorithm} benchmark token does not verify: {e}"))?;
        let sign = || sign_like_the_server(black_box(&keyring)).is_ok();
        let verify = || {
            verify_access_token(
                black_box(keys),
                black_box(&token),
                SystemClock.now(),
                DEFAULT_LEEWAY_SECS,
            )
            .is_ok()
        };
        let sign_1t = measure(&format!("{algorithm} sign"), &sign, 1, &opts, &mut others)?;
        let verify_1t = measure(
            &format!("{algorithm} verify"),
            &verify,
            1,
            &opts,
            &mut others,
        )?;
        per_algorithm.push(AlgorithmCore {
            algorithm: algorithm.to_string(),
            token_bytes: token.len(),
            sign_1t,
            verify_1t,
        });
    }

    let opts = RawOptions {
        // Not used by `measure`; only the timing fields are.
        algorithm: SigningAlgorithm::default(),
        duration,
        repeats,
        warmup,
        threads: 1,
    };
    let params = Argon2Params::default();
    let hasher = Argon2Hasher::new(params)?;
    let password = SecretString::from("correct horse battery staple".to_string());
    let hash = hasher.hash(&password)?;
    if !hasher.verify(&password, &hash) {
        return Err("the benchmark password does not verify against its own hash".into());
    }
    let make = || hasher.hash(black_box(&password)).is_ok();
    let check = || hasher.verify(black_box(&password), black_box(&hash));
    let argon2_hash_1t = measure("argon2id hash", &make, 1, &opts, &mut others)?;
    let argon2_verify_1t = measure("argon2id verify", &check, 1, &opts, &mut others)?;

    Ok(CoreResults {
        duration_secs: duration.as_secs_f64(),
        repeats,
        algorithms: per_algorithm,
        argon2: params,
        argon2_hash_1t,
        argon2_verify_1t,
        other_cpu_share: others.max,
    })
}

/// A tenant named `bench` with one current key of `algorithm`, built exactly
/// as the server builds one (only without a database): the private key is
/// sealed with a throwaway master key and opened again when loaded.
fn bench_keyring(algorithm: SigningAlgorithm) -> BenchResult<TenantKeyring> {
    let now = SystemClock.now();
    let master = MasterKeys::parse(&MasterKeys::generate_text()?)?;
    let tenant = Tenant {
        id: new_id(),
        name: TenantName::parse("bench")?,
        algorithm,
        access_ttl_secs: DEFAULT_ACCESS_TTL_SECS,
        audiences: Vec::new(),
        display_name: None,
        settings: TenantSettings::default(),
        created_at: now,
    };
    let key = SigningKeyRecord::generate(&tenant.id, algorithm, KeyState::Current, now, &master)?;
    let issuer = issuer_url("http://127.0.0.1:8080", &tenant.name);
    Ok(TenantKeyring::new(tenant, issuer, &[key], &master)?)
}

/// A token with the claims `/login` puts in one (a user without email or
/// names, the default scope), so its size and parsing cost match the
/// token the HTTP benchmark sends to `/auth`.
fn sign_like_the_server(keyring: &TenantKeyring) -> BenchResult<String> {
    let now = SystemClock.now();
    let claims = AccessClaims {
        iss: keyring.issuer.clone(),
        sub: new_id(),
        aud: Audience::from_list(keyring.audiences()),
        // Valid for an hour: longer than any sensible benchmark run.
        exp: now + 3600,
        iat: now,
        nbf: now,
        jti: random_token::<16>()?,
        client_id: "gatehouse".to_string(),
        sid: Some(new_id()),
        scope: "openid profile email".to_string(),
        preferred_username: Some("bench-user-0000000000000".to_string()),
        email: None,
        // As the server: only a user with an email has it.
        email_verified: None,
        given_name: None,
        family_name: None,
        roles: Vec::new(),
    };
    Ok(keyring.sign(&claims)?)
}

/// One warm-up and `repeats` timed runs of `op` on `threads` threads.
fn measure<F>(
    label: &str,
    op: &F,
    threads: usize,
    opts: &RawOptions,
    others: &mut OtherCpu,
) -> BenchResult<Repeated>
where
    F: Fn() -> bool + Sync,
{
    if !opts.warmup.is_zero() {
        throughput(op, threads, opts.warmup)?;
    }
    let mut samples = Vec::with_capacity(opts.repeats as usize);
    for i in 1..=opts.repeats {
        let before = cpu_ticks();
        let rate = throughput(op, threads, opts.duration)?;
        let other = others.record(before, cpu_ticks(), threads);
        let other = other
            .map(|o| format!(", other CPU use {:.0}%", o * 100.0))
            .unwrap_or_default();
        eprintln!(
            "raw: {label}, {threads} thread(s), run {i}/{}: {rate:.1}/s{other}",
            opts.repeats
        );
        samples.push(rate);
    }
    Ok(Repeated::new(samples))
}

/// The whole machine's busy and total CPU time so far, in clock ticks
/// ([`crate::stats::cpu_fields`]). Steal counts as busy: the hypervisor
/// gave it to others.
fn cpu_ticks() -> Option<(u64, u64)> {
    let fields = crate::stats::cpu_fields()?;
    let total: u64 = fields.iter().sum();
    let idle = fields[3] + fields[4];
    Some((total.saturating_sub(idle), total))
}

/// The machine's CPUs, as `/proc/stat` counts them (its `cpu` line sums
/// them all), not the ones this process may use: under `taskset -c 0`
/// available parallelism is 1, and one busy thread is still only half of a
/// two-CPU machine's time.
fn machine_cpus() -> usize {
    std::fs::read_to_string("/proc/stat")
        .map(|stat| {
            stat.lines()
                .filter(|l| {
                    l.strip_prefix("cpu")
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
                })
                .count()
        })
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or_else(crate::cores)
}

/// The largest share of CPU time used by anything but our own threads.
#[derive(Debug, Default)]
struct OtherCpu {
    max: Option<f64>,
}

impl OtherCpu {
    /// Records one run; returns its share. Our `threads` busy threads are
    /// expected to keep `threads / cores` of the machine busy; what is busy
    /// beyond that belongs to other processes (or the hypervisor).
    fn record(
        &mut self,
        before: Option<(u64, u64)>,
        after: Option<(u64, u64)>,
        threads: usize,
    ) -> Option<f64> {
        let ((busy0, total0), (busy1, total1)) = (before?, after?);
        let total = total1.checked_sub(total0).filter(|t| *t > 0)?;
        let busy = busy1.saturating_sub(busy0) as f64 / total as f64;
        let ours = (threads as f64 / machine_cpus() as f64).min(1.0);
        let other = (busy - ours).max(0.0);
        self.max = Some(self.max.map_or(other, |m| m.max(other)));
        Some(other)
    }
}

/// Runs `op` in a loop on `threads` threads for `duration` and returns the
/// summed rate in operations per second. Each thread times itself from a
/// common start (a barrier), so thread start-up is not counted. `op`
/// returning `false` aborts the measurement: every call is meant to succeed.
fn throughput<F>(op: &F, threads: usize, duration: Duration) -> BenchResult<f64>
where
    F: Fn() -> bool + Sync,
{
    let threads = threads.max(1);
    let barrier = Barrier::new(threads);
    let per_thread = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    let deadline = start + duration;
                    let mut count: u64 = 0;
                    // Bounded by the deadline and by MAX_OPS_PER_RUN.
                    while count < MAX_OPS_PER_RUN {
                        if !op() {
                            return Err(count);
                        }
                        count += 1;
                        if Instant::now() >= deadline {
                            break;
                        }
                    }
                    Ok((count, start.elapsed()))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(0)))
            .collect::<Vec<_>>()
    });
    let mut rate = 0.0;
    for result in per_thread {
        match result {
            Ok((count, elapsed)) => rate += count as f64 / elapsed.as_secs_f64(),
            Err(done) => {
                return Err(
                    format!("an operation failed (after {done} successes on its thread)").into(),
                );
            }
        }
    }
    Ok(rate)
}
