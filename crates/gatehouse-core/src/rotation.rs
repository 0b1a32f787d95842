//! The life of a tenant's signing keys, decided as a pure function of the
//! keys and the time, so it is tested by moving a clock.
//!
//! `next` (published, not signing) → `current` (signing) → `retired`
//! (published until every token it signed has expired) → removed.
//!
//! A new key is published `prepublish` before it signs. That window must be
//! longer than any verifier's cache of the JWKS (our `Cache-Control:
//! max-age`, and each node's keyring cache), so that by the time a token
//! signed with the new key arrives, every verifier already knows the key.

use crate::clock::UnixTime;
use crate::keys::{KeyState, SigningKeyRecord};
use crate::tenant::Tenant;

/// How keys age; from configuration.
#[derive(Debug, Clone, Copy)]
pub struct RotationPolicy {
    /// A key signs for this long before its successor takes over.
    pub period_secs: i64,
    /// A successor is published this long before it starts signing.
    pub prepublish_secs: i64,
    /// Clock skew tolerated by verifiers: a retired key stays published
    /// this much longer than the last token it signed.
    pub leeway_secs: i64,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            period_secs: 30 * 24 * 3600,
            prepublish_secs: 24 * 3600,
            leeway_secs: crate::verify::DEFAULT_LEEWAY_SECS,
        }
    }
}

/// One step of key maintenance. Each is applied by the store as a
/// conditional write, so when several nodes plan the same step at once,
/// exactly one applies it and the others find it done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAction {
    /// Publish a successor (of the tenant's configured algorithm).
    CreateNext,
    /// The successor starts signing; the current key retires.
    Promote {
        next_kid: String,
        current_kid: String,
    },
    /// A retired key whose tokens have all expired leaves the JWKS.
    Remove { kid: String },
}

/// What should happen to `tenant`'s keys at `now`.
pub fn plan(
    tenant: &Tenant,
    keys: &[SigningKeyRecord],
    policy: &RotationPolicy,
    now: UnixTime,
) -> Vec<KeyAction> {
    let mut actions = Vec::new();
    let current = keys.iter().find(|k| k.state == KeyState::Current);
    let next = keys.iter().find(|k| k.state == KeyState::Next);

    match (current, next) {
        (Some(current), None) => {
            let active_since = current.activated_at.unwrap_or(current.created_at);
            if now >= active_since + policy.period_secs - policy.prepublish_secs {
                actions.push(KeyAction::CreateNext);
            }
        }
        (Some(current), Some(next)) => {
            if now >= next.created_at + policy.prepublish_secs {
                actions.push(KeyAction::Promote {
                    next_kid: next.kid.clone(),
                    current_kid: current.kid.clone(),
                });
            }
        }
        // No current key: nothing can sign; `ensure` paths create one. Not
        // ours to guess here.
        (None, _) => {}
    }

    // A token signed just before retirement lives `access_ttl` more.
    let keep_for = tenant.access_ttl_secs + policy.leeway_secs;
    for k in keys.iter().filter(|k| k.state == KeyState::Retired) {
        let retired_at = k.retired_at.unwrap_or(k.created_at);
        if now >= retired_at + keep_for {
            actions.push(KeyAction::Remove { kid: k.kid.clone() });
        }
    }
    actions
}
