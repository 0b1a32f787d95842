//! Verifying access tokens offline, against an issuer's [`KeySet`].
//!
//! The order of checks follows RFC 8725 (JWT BCP): bound the input, read the
//! header without trusting it, pick the key by `kid` among the issuer's own
//! published keys, verify with the algorithm *of that key* (see
//! [`crate::jws`]), and only then read the claims: `typ` (RFC 9068 §4),
//! `iss`, `aud`, and the time claims against the caller's clock.

use crate::claims::{ACCESS_TOKEN_TYP, AccessClaims};
use crate::error::TokenError;
use crate::jws::verify_compact;
use crate::key_set::KeySet;

/// Default clock-skew allowance for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY_SECS: i64 = 30;

/// Verifies `token` as an access token of `keys`' issuer at `now` (seconds
/// since the Unix epoch), allowing `leeway_secs` of clock skew.
///
/// `exp` holds while `now < exp + leeway` (RFC 7519 §4.1.4); `nbf` and
/// `iat` hold while they are `≤ now + leeway` (§4.1.5). The arithmetic
/// saturates, so extreme values cannot overflow.
pub fn verify_access_token(
    keys: &KeySet,
    token: &str,
    now: i64,
    leeway_secs: i64,
) -> Result<AccessClaims, TokenError> {
    let jws = verify_compact(token, |header| {
        // RFC 9068 §4 / RFC 8725 §3.11: only a token typed as an access
        // token is one, so an ID token or other JWT cannot stand in for it.
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(TokenError::NotAnAccessToken);
        }
        let kid = header.kid.as_deref().ok_or(TokenError::NoKid)?;
        keys.key(kid).ok_or(TokenError::UnknownKey)
    })?;

    let claims: AccessClaims =
        serde_json::from_slice(&jws.payload).map_err(|_| TokenError::MalformedClaims)?;

    if claims.iss != keys.issuer {
        return Err(TokenError::WrongIssuer);
    }
    if !claims.aud.is_any_of(&keys.audiences) {
        return Err(TokenError::WrongAudience);
    }
    if now >= claims.exp.saturating_add(leeway_secs) {
        return Err(TokenError::Expired);
    }
    let not_before = now.saturating_add(leeway_secs);
    if claims.nbf > not_before || claims.iat > not_before {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}
