//! Verifying access tokens offline, against a tenant's keyring.
//!
//! The order of checks follows RFC 8725 (JWT BCP): bound the input, read the
//! header without trusting it, pick the key by `kid` among the tenant's own
//! published keys, then verify with the algorithm *of that key* — never the
//! one the header names — and only then look at the claims.

use std::collections::HashSet;

use jsonwebtoken::{Validation, decode, decode_header};

use crate::clock::UnixTime;
use crate::keyring::TenantKeyring;
use crate::token::{ACCESS_TOKEN_TYP, AccessClaims};
use crate::{Error, Result};

/// Tokens we issue are well under 2 KiB; 8 KiB leaves room for many roles
/// and bounds the work an attacker can make us do.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

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
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid("the token is too large"));
    }
    // A compact JWS has exactly three parts; anything else (JWE, nested,
    // garbage with many dots) stops here.
    if token.split('.').count() != 3 {
        return Err(invalid("the token is not a signed JWT"));
    }
    let header = decode_header(token).map_err(|_| invalid("the token header is malformed"))?;

    // RFC 8725 §3.1 / §3.10: keys and key locations from the token itself
    // are never trusted, and we understand no critical extensions.
    if header.jwk.is_some()
        || header.jku.is_some()
        || header.x5u.is_some()
        || header.x5c.is_some()
        || header.crit.is_some()
        || header.zip.is_some()
        || header.enc.is_some()
    {
        return Err(invalid(
            "the token header carries a field that is not accepted",
        ));
    }
    // RFC 9068 §4: reject anything not typed as an access token, so an ID
    // token or another JWT cannot stand in for one (RFC 8725 §3.11).
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
    let key = keyring
        .key(kid)
        .ok_or_else(|| invalid("the token was not signed by a key of this tenant"))?;
    if header.alg != key.algorithm.jwt() {
        return Err(invalid("the token's algorithm does not match its key"));
    }

    let mut validation = Validation::new(key.algorithm.jwt());
    validation.set_issuer(&[keyring.issuer.as_str()]);
    validation.set_audience(&keyring.audiences());
    // Time is checked below against the injected clock, not the library's.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims = HashSet::new();

    let claims = decode::<AccessClaims>(token, &key.decoding, &validation)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => invalid("the token signature is invalid"),
                ErrorKind::InvalidIssuer => invalid("the token was issued by another issuer"),
                ErrorKind::InvalidAudience => invalid("the token is not meant for this audience"),
                ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => {
                    invalid("the token lacks a required claim or has a malformed one")
                }
                _ => invalid("the token is malformed"),
            }
        })?
        .claims;

    if now >= claims.exp + leeway_secs {
        return Err(invalid("the token has expired"));
    }
    if claims.nbf > now + leeway_secs || claims.iat > now + leeway_secs {
        return Err(invalid("the token is not valid yet"));
    }
    Ok(claims)
}
