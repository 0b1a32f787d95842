//! The verdicts of `/auth`'s signature checks, remembered: a token
//! presented again costs a SHA-256 and a map lookup, not an RSA or ECDSA
//! verification.
//!
//! What is remembered is only what the signature check proves, and only
//! for as long as it stays true:
//! - the key is the SHA-256 of the whole token together with the
//!   *generation* of the tenant keyring that accepted it. Any reload of
//!   the keyring (a key rotated in, retired or removed, an audience
//!   changed, the tenant deleted) makes a new generation, so no earlier
//!   verdict is ever found again: a token of a removed key is refused at
//!   once, as without the cache;
//! - an entry is used only while `now < exp + leeway`, the verifier's own
//!   expiry rule, so a remembered token expires exactly when it would have;
//! - failures are never remembered (a bad token costs a verification each
//!   time, as a good one does on first sight).
//!
//! What is *not* skipped: everything after the signature. `session=check`
//! still reads the session on every request, so a logout or a revoked
//! session is refused at once; route rules, scopes and roles are judged
//! on every request from the remembered claims. An access token is
//! self-contained (RFC 9068): revoking one (RFC 7009) ends its session,
//! which `session=check` sees; without `session=check` a revoked access
//! token passes until it expires, cache or no cache.
//!
//! Memory is bounded by `max_entries` (S3-FIFO eviction: a flood of
//! one-off tokens cannot push out the ones presented again and again).

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::clock::UnixTime;
use crate::token::AccessClaims;

/// How many verdicts a node keeps; from configuration. Zero: none.
#[derive(Debug, Clone, Copy)]
pub struct VerifiedTokenCacheSettings {
    pub max_entries: usize,
}

impl Default for VerifiedTokenCacheSettings {
    /// 16,384 entries: about 10 MB with typical claims, and enough for
    /// every token alive at once behind a busy gateway (tokens live 15
    /// minutes; 16,384 distinct callers in that window).
    fn default() -> Self {
        Self {
            max_entries: 16_384,
        }
    }
}

/// A token's identity in the cache: which keyring load accepted it, and
/// the SHA-256 of its text.
#[derive(Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    generation: u64,
    digest: [u8; 32],
}

#[derive(Clone)]
struct Verdict {
    claims: Arc<AccessClaims>,
    /// The first second the verifier would refuse the token: `exp + leeway`.
    refused_from: UnixTime,
}

pub(crate) struct VerifiedTokens {
    cache: Option<quick_cache::sync::Cache<TokenKey, Verdict>>,
}

impl VerifiedTokens {
    pub(crate) fn new(settings: VerifiedTokenCacheSettings) -> Self {
        Self {
            cache: (settings.max_entries > 0)
                .then(|| quick_cache::sync::Cache::new(settings.max_entries)),
        }
    }

    /// The claims `verify` proved for this token under this keyring load,
    /// or what `verify` says now (remembered if it says yes).
    pub(crate) fn get_or_verify<E>(
        &self,
        generation: u64,
        token: &str,
        now: UnixTime,
        leeway_secs: i64,
        verify: impl FnOnce() -> Result<AccessClaims, E>,
    ) -> Result<Arc<AccessClaims>, E> {
        let Some(cache) = &self.cache else {
            return verify().map(Arc::new);
        };
        let key = TokenKey {
            generation,
            digest: Sha256::digest(token.as_bytes()).into(),
        };
        if let Some(verdict) = cache.get(&key) {
            if now < verdict.refused_from {
                return Ok(verdict.claims);
            }
            // Expired: drop it now rather than wait for eviction, and let
            // the verifier give its own answer.
            cache.remove(&key);
        }
        let claims = Arc::new(verify()?);
        let refused_from = claims.exp.saturating_add(leeway_secs);
        if now < refused_from {
            cache.insert(
                key,
                Verdict {
                    claims: claims.clone(),
                    refused_from,
                },
            );
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Audience;
    use std::cell::Cell;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://issuer".into(),
            sub: "user".into(),
            aud: Audience::One("https://issuer".into()),
            exp,
            iat: exp - 900,
            nbf: exp - 900,
            jti: "j".into(),
            client_id: "c".into(),
            sid: None,
            scope: String::new(),
            preferred_username: None,
            email: None,
            email_verified: None,
            given_name: None,
            family_name: None,
            roles: Vec::new(),
        }
    }

    #[test]
    fn a_verdict_is_reused_only_for_the_same_token_and_keyring_load_and_until_expiry() {
        let cache = VerifiedTokens::new(VerifiedTokenCacheSettings { max_entries: 16 });
        let calls = Cell::new(0);
        let verify = |exp| {
            calls.set(calls.get() + 1);
            Ok::<_, ()>(claims(exp))
        };
        let check = |generation, token, now| {
            cache
                .get_or_verify(generation, token, now, 30, || verify(1_000))
                .map(|c| c.sub.clone())
        };
        assert_eq!(check(1, "a.b.c", 500), Ok("user".into()));
        assert_eq!(check(1, "a.b.c", 600), Ok("user".into()));
        assert_eq!(calls.get(), 1, "the second sight is remembered");
        assert!(check(1, "a.b.d", 600).is_ok());
        assert_eq!(calls.get(), 2, "another token is verified");
        assert!(check(2, "a.b.c", 600).is_ok());
        assert_eq!(calls.get(), 3, "another keyring load forgets");
        assert!(check(1, "a.b.c", 1_029).is_ok());
        assert_eq!(calls.get(), 3, "still within exp + leeway");
        assert!(check(1, "a.b.c", 1_030).is_ok());
        assert_eq!(calls.get(), 4, "at exp + leeway the verifier answers again");
    }

    #[test]
    fn failures_are_not_remembered_and_a_zero_size_keeps_nothing() {
        let cache = VerifiedTokens::new(VerifiedTokenCacheSettings { max_entries: 16 });
        let calls = Cell::new(0);
        for _ in 0..3 {
            let r = cache.get_or_verify(1, "bad", 0, 30, || {
                calls.set(calls.get() + 1);
                Err::<AccessClaims, _>("no")
            });
            assert_eq!(r.err(), Some("no"));
        }
        assert_eq!(calls.get(), 3);

        let off = VerifiedTokens::new(VerifiedTokenCacheSettings { max_entries: 0 });
        for _ in 0..3 {
            off.get_or_verify(1, "t", 0, 30, || {
                calls.set(calls.get() + 1);
                Ok::<_, ()>(claims(1_000))
            })
            .ok();
        }
        assert_eq!(calls.get(), 6);
    }

    #[test]
    fn memory_stays_within_the_bound() {
        let cache = VerifiedTokens::new(VerifiedTokenCacheSettings { max_entries: 100 });
        for i in 0..10_000 {
            let _ = cache.get_or_verify(1, &format!("token-{i}"), 0, 30, || {
                Ok::<_, ()>(claims(1_000))
            });
        }
        let len = cache.cache.as_ref().map_or(0, |c| c.len());
        assert!(len <= 110, "{len} entries kept");
    }
}
