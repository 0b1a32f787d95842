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
            leeway_secs: gatehouse_jwt::DEFAULT_LEEWAY_SECS,
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

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::algorithm::SigningAlgorithm;
    use crate::tenant::TenantName;

    const DAY: i64 = 24 * 3600;

    fn tenant() -> Tenant {
        Tenant {
            id: "t".into(),
            name: TenantName::parse("t").unwrap(),
            algorithm: SigningAlgorithm::ES256,
            access_ttl_secs: 900,
            audiences: vec![],
            display_name: None,
            settings: Default::default(),
            created_at: 0,
        }
    }

    fn key(
        kid: &str,
        state: KeyState,
        created: i64,
        activated: Option<i64>,
        retired: Option<i64>,
    ) -> SigningKeyRecord {
        SigningKeyRecord {
            kid: kid.into(),
            tenant_id: "t".into(),
            algorithm: SigningAlgorithm::ES256,
            state,
            private_material: SecretString::from("unused".to_string()),
            created_at: created,
            activated_at: activated,
            retired_at: retired,
        }
    }

    #[test]
    fn a_successor_is_published_one_window_before_the_period_ends() {
        let p = RotationPolicy::default(); // 30 d period, 1 d window
        let keys = [key("k1", KeyState::Current, 0, Some(0), None)];
        assert!(plan(&tenant(), &keys, &p, 29 * DAY - 1).is_empty());
        assert_eq!(
            plan(&tenant(), &keys, &p, 29 * DAY),
            vec![KeyAction::CreateNext]
        );
    }

    #[test]
    fn the_successor_signs_only_after_the_window() {
        let p = RotationPolicy::default();
        let keys = [
            key("k1", KeyState::Current, 0, Some(0), None),
            key("k2", KeyState::Next, 29 * DAY, None, None),
        ];
        assert!(plan(&tenant(), &keys, &p, 30 * DAY - 1).is_empty());
        assert_eq!(
            plan(&tenant(), &keys, &p, 30 * DAY),
            vec![KeyAction::Promote {
                next_kid: "k2".into(),
                current_kid: "k1".into()
            }]
        );
    }

    #[test]
    fn a_retired_key_stays_until_its_last_token_expired() {
        let p = RotationPolicy::default();
        let retired_at = 30 * DAY;
        let keys = [
            key("k2", KeyState::Current, 29 * DAY, Some(retired_at), None),
            key("k1", KeyState::Retired, 0, Some(0), Some(retired_at)),
        ];
        // access_ttl 900 s + leeway 30 s
        assert!(plan(&tenant(), &keys, &p, retired_at + 929).is_empty());
        assert_eq!(
            plan(&tenant(), &keys, &p, retired_at + 930),
            vec![KeyAction::Remove { kid: "k1".into() }]
        );
    }
}
