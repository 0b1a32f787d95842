//! The domain's metrics, recorded through the `metrics` facade: each use
//! case calls one function here at the point where it knows the outcome.
//! Until a recorder is installed (the server does so when `/metrics` is
//! on) every call is a no-op, so the CLI and a node without metrics pay
//! nothing.
//!
//! Labels are small closed sets (an outcome, a grant, an algorithm, a
//! credential kind, a store method): never a tenant, a user, a path, an
//! address or anything a caller sent, so neither the number of series nor
//! what they tell can be driven from outside.
//!
//! | metric | labels | recorded by |
//! |---|---|---|
//! | `gatehouse_logins_total` | `outcome` | every password check ([`crate::service::password_login`]) |
//! | `gatehouse_lockouts_total` | | the password check that locks an account |
//! | `gatehouse_tokens_issued_total` | `grant`, `algorithm` | every access token signed ([`crate::service::issue`]'s callers) |
//! | `gatehouse_gate_decisions_total` | `decision`, `credential` | the gate ([`crate::service::gate`]): `/auth`, proxy mode, the compat `/auth`, the Lambda authorizer |
//! | `gatehouse_key_rotations_total` | `trigger` | a successor key published ([`crate::service::signing_keys`]) |
//! | `gatehouse_store_call_duration_seconds` | `method` | every store call, through [`StoreMetrics`] |
//! | `gatehouse_store_errors_total` | `method`, `kind` | every failed store call, through [`StoreMetrics`] |

use std::time::Duration;

use crate::algorithm::SigningAlgorithm;
use crate::store::{Hook, StoreError, StoreResult};

/// How a password check ended (`gatehouse_logins_total{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The password matched and the account may sign in.
    Success,
    /// Unknown user or wrong password (told apart nowhere, here neither).
    Invalid,
    /// The password matched; the account is disabled.
    Disabled,
    /// The password matched; the email address is not verified yet.
    Unverified,
    /// Refused before the password was checked: the account is locked.
    Locked,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Success => "success",
            LoginOutcome::Invalid => "invalid",
            LoginOutcome::Disabled => "disabled",
            LoginOutcome::Unverified => "unverified",
            LoginOutcome::Locked => "locked",
        }
    }
}

/// Counts one password check by its outcome.
pub fn login(outcome: LoginOutcome) {
    metrics::counter!("gatehouse_logins_total", "outcome" => outcome.as_str()).increment(1);
}

/// Counts an account locked by repeated failed logins (the check that
/// crossed the threshold, once per lock, not each refused attempt).
pub fn lockout() {
    metrics::counter!("gatehouse_lockouts_total").increment(1);
}

/// What asked for a token (`gatehouse_tokens_issued_total{grant}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// `/login` and the OAuth password grant.
    Password,
    RefreshToken,
    ClientCredentials,
    AuthorizationCode,
    /// The domain service's `GET /refresh`: a fresh access token of a
    /// still-valid one.
    Reissue,
    /// The OpenFaaS functions' login format.
    CompatOpenfaas,
    /// knock's `POST /user_token`.
    CompatKnock,
}

impl Grant {
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::Password => "password",
            Grant::RefreshToken => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
            Grant::AuthorizationCode => "authorization_code",
            Grant::Reissue => "reissue",
            Grant::CompatOpenfaas => "compat_openfaas",
            Grant::CompatKnock => "compat_knock",
        }
    }
}

/// Counts one access token signed for `grant` with a key of `algorithm`.
pub fn token_issued(grant: Grant, algorithm: SigningAlgorithm) {
    metrics::counter!(
        "gatehouse_tokens_issued_total",
        "grant" => grant.as_str(),
        "algorithm" => algorithm.as_str()
    )
    .increment(1);
}

/// Counts one answer of the gate: `decision` is `allow`, `challenge`,
/// `deny` or `error` (a store fault), `credential` the kind that was
/// proven (allow) or presented (`jwt`, `api_key`, `basic`, `hmac`,
/// `public`, `malformed`, `none`).
pub fn gate_decision(decision: &'static str, credential: &'static str) {
    metrics::counter!(
        "gatehouse_gate_decisions_total",
        "decision" => decision,
        "credential" => credential
    )
    .increment(1);
}

/// Why a successor signing key was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationTrigger {
    /// The rotation period ran out (key maintenance, on the node that won).
    Scheduled,
    /// An operator asked (`/admin/t/{tenant}/keys/rotate`).
    Manual,
}

/// Counts one key rotation started (a successor published).
pub fn key_rotation(trigger: RotationTrigger) {
    let trigger = match trigger {
        RotationTrigger::Scheduled => "scheduled",
        RotationTrigger::Manual => "manual",
    };
    metrics::counter!("gatehouse_key_rotations_total", "trigger" => trigger).increment(1);
}

/// A [`Hook`] that times every store call and counts its failures by
/// kind: wrap the store in a [`crate::store::PassThrough`] with it. The
/// method name is the port method's (`user_by_login`), a fixed set.
#[derive(Debug, Default, Clone, Copy)]
pub struct StoreMetrics;

impl Hook for StoreMetrics {
    fn before(&self, _method: &'static str) -> StoreResult<()> {
        Ok(())
    }

    fn after(&self, method: &'static str, elapsed: Duration, error: Option<&StoreError>) {
        metrics::histogram!("gatehouse_store_call_duration_seconds", "method" => method)
            .record(elapsed.as_secs_f64());
        if let Some(error) = error {
            let kind = match error {
                // A unique-constraint answer is part of the domain (a
                // taken username), counted apart from faults.
                StoreError::Conflict(_) => "conflict",
                StoreError::Unavailable(_) => "unavailable",
                StoreError::Unstorable(_) => "unstorable",
                StoreError::Backend(_) => "backend",
            };
            metrics::counter!("gatehouse_store_errors_total", "method" => method, "kind" => kind)
                .increment(1);
        }
    }
}
