//! ID tokens (OpenID Connect Core §2): who signed in, when and how, for
//! one client. Signed with the tenant's key like access tokens, but typed
//! `JWT`, so neither can stand in for the other (the access-token verifier
//! insists on `at+jwt`, RFC 9068 §4).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_jwt::{KeySet, SigningAlgorithm, TokenError, verify_compact};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use super::scope;
use crate::clock::UnixTime;
use crate::user::User;

/// The `typ` header of an ID token (RFC 7519 §5.1's recommended value).
pub const ID_TOKEN_TYP: &str = "JWT";

/// The claims of an ID token (OIDC Core §2, §5.1 for the profile claims,
/// which are included by scope).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The client the ID token is for: exactly its `client_id`.
    pub aud: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    /// When the user entered their password (§2; required by us always,
    /// so `max_age` clients can check it).
    pub auth_time: UnixTime,
    /// The authorization request's `nonce`, echoed (§3.1.2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// §3.1.3.6: the left half of the hash of the access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The browser sign-in (OIDC Front-Channel Logout §3): what
    /// RP-initiated logout with this token as `id_token_hint` ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The authorized party (§2): the client, as the only audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(flatten)]
    pub profile: ProfileClaims,
}

/// The standard claims of a user a scope opens (OIDC Core §5.4): `profile`
/// opens the names, `email` the address. Shared by ID tokens and userinfo.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProfileClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// The tenant's roles of the user (Gatehouse's own claim, with `profile`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

impl ProfileClaims {
    /// What `granted_scope` (space-separated) lets a client see of `user`.
    pub fn of(user: &User, granted_scope: &str) -> Self {
        let mut claims = ProfileClaims::default();
        if scope::claim_has(granted_scope, scope::PROFILE) {
            let name = match (&user.first_name, &user.last_name) {
                (Some(g), Some(f)) => Some(format!("{g} {f}")),
                (Some(n), None) | (None, Some(n)) => Some(n.clone()),
                (None, None) => None,
            };
            claims.preferred_username = Some(user.username.clone());
            claims.name = name;
            claims.given_name = user.first_name.clone();
            claims.family_name = user.last_name.clone();
            claims.roles = user.roles.clone();
        }
        if scope::claim_has(granted_scope, scope::EMAIL) {
            claims.email = user.email.clone();
            claims.email_verified = user.email.as_ref().map(|_| user.email_verified);
        }
        claims
    }
}

/// OIDC Core §3.1.3.6: base64url of the left-most half of the hash of the
/// access token's ASCII octets, the hash being the one of the ID token's
/// `alg`. For EdDSA over Ed25519 that is SHA-512, as the OpenID
/// Foundation's certified libraries compute it (oidc-token-hash).
pub fn token_hash(algorithm: SigningAlgorithm, token: &str) -> String {
    let digest: Vec<u8> = match algorithm {
        SigningAlgorithm::EdDSA => Sha512::digest(token.as_bytes()).to_vec(),
        _ => Sha256::digest(token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// What an `id_token_hint` (OIDC RP-Initiated Logout §2) says, once its
/// signature, type and issuer are checked. Its expiry is not: a hint may
/// be long expired when the user logs out (§4).
#[derive(Debug, Clone, PartialEq)]
pub struct IdTokenHint {
    pub sub: String,
    /// The client it was issued to.
    pub client_id: String,
    pub sid: Option<String>,
}

/// Checks an ID token this tenant signed, as a logout hint.
pub fn verify_hint(keys: &KeySet, token: &str) -> Result<IdTokenHint, TokenError> {
    let jws = verify_compact(token, |header| {
        if !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(ID_TOKEN_TYP))
        {
            return Err(TokenError::MalformedClaims);
        }
        let kid = header.kid.as_deref().ok_or(TokenError::NoKid)?;
        keys.key(kid).ok_or(TokenError::UnknownKey)
    })?;
    let claims: IdTokenClaims =
        serde_json::from_slice(&jws.payload).map_err(|_| TokenError::MalformedClaims)?;
    if claims.iss != keys.issuer {
        return Err(TokenError::WrongIssuer);
    }
    Ok(IdTokenHint {
        sub: claims.sub,
        client_id: claims.aud,
        sid: claims.sid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_follows_oidc_core_examples() {
        // OIDC Core Appendix A.3/A.4: RS256, the access token below → 77QmUPtjPfzWtF2AnpK9RQ.
        assert_eq!(
            token_hash(
                SigningAlgorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        // SHA-512 for Ed25519: 64 bytes → 32 → 43 characters.
        assert_eq!(token_hash(SigningAlgorithm::EdDSA, "x").len(), 43);
    }

    #[test]
    fn profile_claims_follow_scope() {
        let user = User {
            id: "u".into(),
            tenant_id: "t".into(),
            username: "ada".into(),
            email: Some("ada@example.com".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            roles: vec!["billing".into()],
            email_verified: true,
            disabled: false,
            failed_logins: 0,
            lock_count: 0,
            locked_until: None,
            password_hash: crate::password::PasswordHash(String::new()),
            created_at: 0,
        };
        let none = ProfileClaims::of(&user, "openid");
        assert_eq!(none, ProfileClaims::default());
        let all = ProfileClaims::of(&user, "openid profile email");
        assert_eq!(all.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(all.email.as_deref(), Some("ada@example.com"));
        assert_eq!(all.roles, vec!["billing".to_string()]);
        let email_only = ProfileClaims::of(&user, "openid email");
        assert!(email_only.preferred_username.is_none() && email_only.email.is_some());
    }
}
