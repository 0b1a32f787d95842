//! Verifying access tokens offline, against a tenant's keyring.
//!
//! The order of checks follows RFC 8725 (JWT BCP): bound the input, read the
//! header without trusting it, pick the key by `kid` among the tenant's own
//! published keys, verify with the algorithm *of that key* (see
//! [`crate::jws`]), and only then read the claims: `typ` (RFC 9068 §4),
//! `iss`, `aud`, and the time claims against the injected clock.

use crate::clock::UnixTime;
use crate::jws::verify_compact;
use crate::keyring::TenantKeyring;
use crate::token::{ACCESS_TOKEN_TYP, AccessClaims, Audience};
use crate::{Error, Result};

pub use crate::jws::MAX_TOKEN_BYTES;

/// Default clock-skew allowance for `exp` and `nbf`.
pub const DEFAULT_LEEWAY_SECS: i64 = 30;

fn invalid(reason: &str) -> Error {
    Error::InvalidToken(reason.to_string())
}

pub fn verify_access_token(
    keyring: &TenantKeyring,
    token: &str,
    now: UnixTime,
    leeway_secs: i64,
) -> Result<AccessClaims> {
    let jws = verify_compact(token, |header| {
        // RFC 9068 §4 / RFC 8725 §3.11: only a token typed as an access
        // token is one, so an ID token or other JWT cannot stand in for it.
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(invalid(
                "the token is not an access token (typ must be at+jwt)",
            ));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| invalid("the token names no signing key (kid)"))?;
        keyring
            .key(kid)
            .map(|k| &k.verifying)
            .ok_or_else(|| invalid("the token was not signed by a key of this tenant"))
    })?;

    let claims: AccessClaims = serde_json::from_slice(&jws.payload)
        .map_err(|_| invalid("the token lacks a required claim or has a malformed one"))?;

    if claims.iss != keyring.issuer {
        return Err(invalid("the token was issued by another issuer"));
    }
    let accepted = keyring.audiences();
    let aud_ok = match &claims.aud {
        Audience::One(a) => accepted.contains(a),
        Audience::Many(list) => list.iter().any(|a| accepted.contains(a)),
    };
    if !aud_ok {
        return Err(invalid("the token is not meant for this audience"));
    }
    if now >= claims.exp.saturating_add(leeway_secs) {
        return Err(invalid("the token has expired"));
    }
    let not_before = now.saturating_add(leeway_secs);
    if claims.nbf > not_before || claims.iat > not_before {
        return Err(invalid("the token is not valid yet"));
    }
    Ok(claims)
}
