//! Puts the in-process and HTTP numbers of one run side by side: a plain
//! text table on stdout and one JSON document for `bench/results/`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::http::{HttpResults, PhaseResults};
use crate::raw::RawResults;
use crate::stats::{Repeated, ratio};

/// Bumped when the JSON layout changes incompatibly.
pub const SCHEMA: &str = "gatehouse-bench/1";

/// How much of the in-process ceiling each endpoint reaches.
#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    /// `/auth` 200s per second ÷ `verify_access_token` per second, 1 thread.
    pub auth_over_verify_1t: f64,
    /// The same against the raw rate on all threads.
    pub auth_over_verify_nt: f64,
    /// `/login` 200s per second ÷ argon2id verifications per second, 1 thread.
    pub login_over_hash_1t: f64,
    /// The same against the raw rate on all threads.
    pub login_over_hash_nt: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    /// UTC, `YYYYMMDDTHHMMSSZ`; also the name of the JSON file.
    pub timestamp: String,
    /// Free-form facts about the run (commit, CPU, knobs) from `--meta`.
    pub meta: BTreeMap<String, String>,
    pub raw: RawResults,
    pub http: HttpResults,
    pub ratios: Ratios,
    /// Things that make the numbers suspect, also printed under the table.
    pub warnings: Vec<String>,
}

impl Report {
    pub fn new(
        timestamp: String,
        meta: BTreeMap<String, String>,
        raw: RawResults,
        http: HttpResults,
    ) -> Self {
        let ratios = Ratios {
            auth_over_verify_1t: ratio(http.auth.rps.median, raw.verify_1t.median),
            auth_over_verify_nt: ratio(http.auth.rps.median, raw.verify_nt.median),
            login_over_hash_1t: ratio(http.login.rps.median, raw.hash_1t.median),
            login_over_hash_nt: ratio(http.login.rps.median, raw.hash_nt.median),
        };
        let mut warnings = Vec::new();
        if raw.algorithm != http.algorithm {
            warnings.push(format!(
                "the raw numbers are for {} but the server's tenant signs with {}: \
                 the /auth ratio compares different algorithms",
                raw.algorithm, http.algorithm
            ));
        }
        for phase in [&http.auth, &http.login] {
            warnings.extend(phase.failure_warning());
        }
        // On an otherwise idle machine N threads do close to N times the
        // work of one (argon2 ~1.7x on 2 cores, memory-bound). Much less
        // means something else was using the cores during the raw runs.
        if raw.threads > 1 {
            for (name, one, many) in [
                ("verify", &raw.verify_1t, &raw.verify_nt),
                ("argon2id", &raw.hash_1t, &raw.hash_nt),
            ] {
                let scaling = ratio(many.median, one.median);
                if scaling < 0.75 * raw.threads as f64 {
                    warnings.push(format!(
                        "raw {name} on {} threads is only {scaling:.2}x one thread: other \
                         processes were using the CPU, so every number here is low",
                        raw.threads
                    ));
                }
            }
        }
        if let Some(other) = raw.other_cpu_share
            && other > 0.10
        {
            warnings.push(format!(
                "up to {:.0}% of the CPU went to other processes during the raw runs; \
                 rerun on a quiet machine",
                other * 100.0
            ));
        }
        let all = [
            ("raw verify, 1 thread", &raw.verify_1t),
            ("raw verify, all threads", &raw.verify_nt),
            ("raw argon2id, 1 thread", &raw.hash_1t),
            ("raw argon2id, all threads", &raw.hash_nt),
            (http.auth.endpoint.as_str(), &http.auth.rps),
            (http.login.endpoint.as_str(), &http.login.rps),
        ];
        for (name, r) in all {
            if r.spread() > 0.15 {
                warnings.push(format!(
                    "{name}: repeats differ by {:.0}% of the median; the machine was busy",
                    r.spread() * 100.0
                ));
            }
        }
        Self {
            schema: SCHEMA,
            timestamp,
            meta,
            raw,
            http,
            ratios,
            warnings,
        }
    }

    /// The plain text table.
    pub fn table(&self) -> String {
        let raw = &self.raw;
        let http = &self.http;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Gatehouse benchmark {}  algorithm {}  (medians of {} runs; rates per second)",
            self.timestamp, raw.algorithm, raw.repeats
        );
        for (k, v) in &self.meta {
            let _ = writeln!(out, "  {k}: {v}");
        }
        if let Some(other) = raw.other_cpu_share {
            let _ = writeln!(
                out,
                "  other processes' CPU use during the raw runs: up to {:.0}%",
                other * 100.0
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<44} {:>12} {:>12} {:>12}  notes",
            "measurement", "median/s", "min/s", "max/s"
        );
        let _ = writeln!(out, "{}", "-".repeat(96));
        let n = raw.threads;
        let mut row = |name: String, r: &Repeated, notes: String| {
            let _ = writeln!(
                out,
                "{name:<44} {:>12} {:>12} {:>12}  {notes}",
                num(r.median),
                num(r.min),
                num(r.max)
            );
        };
        row(
            format!("raw {} verify_access_token, 1 thread", raw.algorithm),
            &raw.verify_1t,
            format!("{} runs x {}s", raw.repeats, raw.duration_secs),
        );
        row(
            format!("raw {} verify_access_token, {n} threads", raw.algorithm),
            &raw.verify_nt,
            String::new(),
        );
        row(
            format!("HTTP {}", http.auth.endpoint),
            &http.auth.rps,
            phase_notes(&http.auth),
        );
        let a = &raw.argon2;
        row(
            format!(
                "raw argon2id verify (m={},t={},p={}), 1 thread",
                a.memory_kib, a.iterations, a.parallelism
            ),
            &raw.hash_1t,
            String::new(),
        );
        row(
            format!("raw argon2id verify, {n} threads"),
            &raw.hash_nt,
            String::new(),
        );
        row(
            format!("HTTP {}", http.login.endpoint),
            &http.login.rps,
            phase_notes(&http.login),
        );
        if let Some(register) = &http.register {
            row(
                format!("HTTP {}", register.endpoint),
                &register.rps,
                phase_notes(register),
            );
        }
        if let Some(sign) = &raw.sign_1t {
            row(
                format!("raw {} sign (issue a token), 1 thread", raw.algorithm),
                sign,
                String::new(),
            );
        }

        let r = &self.ratios;
        let _ = writeln!(out);
        let _ = writeln!(out, "ratios (HTTP median / raw median)");
        let _ = writeln!(
            out,
            "  /auth rps / raw verify/s, 1 thread     {:>8.3}",
            r.auth_over_verify_1t
        );
        let _ = writeln!(
            out,
            "  /auth rps / raw verify/s, {n} threads    {:>8.3}",
            r.auth_over_verify_nt
        );
        let _ = writeln!(
            out,
            "  /login rps / raw hash/s, 1 thread      {:>8.3}",
            r.login_over_hash_1t
        );
        let _ = writeln!(
            out,
            "  /login rps / raw hash/s, {n} threads     {:>8.3}",
            r.login_over_hash_nt
        );
        if !self.warnings.is_empty() {
            let _ = writeln!(out);
            for w in &self.warnings {
                let _ = writeln!(out, "warning: {w}");
            }
        }
        out
    }
}

/// Concurrency, error counts and latency of one HTTP phase, for the table.
fn phase_notes(p: &PhaseResults) -> String {
    format!(
        "c={} {}x{}s non-200={} err={} p50={:.1}ms p99={:.1}ms",
        p.concurrency,
        p.rps.samples.len(),
        p.window_secs,
        p.non_200,
        p.transport_errors,
        p.latency_ms.p50,
        p.latency_ms.p99
    )
}

/// A rate for the table: one decimal below 100, none above.
fn num(v: f64) -> String {
    if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}
