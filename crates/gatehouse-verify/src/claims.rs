//! The claims of a verified Gatehouse access token, as this crate hands
//! them out.
//!
//! This is this crate's own type, not `gatehouse-jwt`'s: the verifier's
//! internals can change without changing what downstream code compiles
//! against, and the struct is `#[non_exhaustive]` so a claim Gatehouse adds
//! later is not a breaking change.

use serde::{Deserialize, Serialize};

/// The claims of a Gatehouse access token (RFC 9068 §2.2 plus the OIDC
/// profile claims Gatehouse adds), after every check has passed.
///
/// Times are whole seconds since the Unix epoch. Optional claims are absent
/// for machine tokens (client credentials) or when the user has not set
/// them. To build one in a test of your own handlers, deserialize it:
///
/// ```
/// use gatehouse_verify::AccessClaims;
///
/// let claims: AccessClaims = serde_json::from_value(serde_json::json!({
///     "iss": "http://127.0.0.1:8080/t/default", "sub": "u1",
///     "aud": ["http://127.0.0.1:8080/t/default"], "exp": 2000000000,
///     "iat": 1700000000, "nbf": 1700000000, "jti": "j1", "client_id": "c1",
///     "scope": "openid notes:read", "roles": ["editor"]
/// }))?;
/// assert!(claims.has_scope("notes:read"));
/// assert!(claims.has_role("editor"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessClaims {
    /// The issuer: the tenant's URL, `{public_url}/t/{tenant}`.
    pub iss: String,
    /// The subject: the user's stable id (or, for a machine token, the
    /// client's).
    pub sub: String,
    /// The audiences the token is meant for (a single `aud` string becomes
    /// a one-element list).
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// The token's unique id, for logs.
    pub jti: String,
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// The session the token belongs to (absent for machine tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Space-separated granted scopes (RFC 6749 §3.3); see
    /// [`AccessClaims::scopes`].
    #[serde(default)]
    pub scope: String,
    /// OIDC `preferred_username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// OIDC `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// OIDC `email_verified`: whether the user proved they receive mail at
    /// `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// OIDC `given_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// OIDC `family_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// The user's roles in the tenant.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl AccessClaims {
    /// The granted scopes, one by one.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    /// Whether `scope` was granted (exact, case-sensitive, as RFC 6749 §3.3
    /// compares scopes).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// Whether the user holds `role` (exact, case-sensitive).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// RFC 7519 §4.1.3: `aud` is a string or an array of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(a) => vec![a],
        OneOrMany::Many(list) => list,
    })
}

impl AccessClaims {
    /// From the verifier's own type, which stays out of this crate's API
    /// (no `From` impl: a public impl would tie this crate's semver to it).
    pub(crate) fn from_jwt(c: gatehouse_jwt::AccessClaims) -> Self {
        let aud = match c.aud {
            gatehouse_jwt::Audience::One(a) => vec![a],
            gatehouse_jwt::Audience::Many(list) => list,
        };
        Self {
            iss: c.iss,
            sub: c.sub,
            aud,
            exp: c.exp,
            iat: c.iat,
            nbf: c.nbf,
            jti: c.jti,
            client_id: c.client_id,
            sid: c.sid,
            scope: c.scope,
            preferred_username: c.preferred_username,
            email: c.email,
            email_verified: c.email_verified,
            given_name: c.given_name,
            family_name: c.family_name,
            roles: c.roles,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scopes_split_on_spaces_and_compare_exactly() {
        let claims: AccessClaims = serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "s", "aud": ["a"], "exp": 2, "iat": 1, "nbf": 1,
            "jti": "j", "client_id": "c", "scope": " openid  notes:read ", "roles": []
        }))
        .unwrap();
        assert_eq!(
            claims.scopes().collect::<Vec<_>>(),
            ["openid", "notes:read"]
        );
        assert!(claims.has_scope("notes:read"));
        assert!(!claims.has_scope("notes"));
        assert!(!claims.has_scope("NOTES:READ"));
        assert!(!claims.has_scope(""));
        assert!(!claims.has_role("admin"));
    }

    #[test]
    fn aud_may_be_a_string_or_a_list() {
        let with_aud = |aud: serde_json::Value| {
            serde_json::from_value::<AccessClaims>(serde_json::json!({
                "iss": "i", "sub": "s", "aud": aud, "exp": 2, "iat": 1, "nbf": 1,
                "jti": "j", "client_id": "c"
            }))
            .map(|c| c.aud)
        };
        assert_eq!(with_aud(serde_json::json!("a")).unwrap(), ["a"]);
        assert_eq!(with_aud(serde_json::json!(["a", "b"])).unwrap(), ["a", "b"]);
        assert!(with_aud(serde_json::json!(1)).is_err());
    }

    #[test]
    fn a_single_audience_becomes_a_list() {
        let jwt: gatehouse_jwt::AccessClaims = serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "s", "aud": "a", "exp": 2, "iat": 1, "nbf": 1,
            "jti": "j", "client_id": "c", "email_verified": true
        }))
        .unwrap();
        let claims = AccessClaims::from_jwt(jwt);
        assert_eq!(claims.aud, ["a"]);
        assert_eq!(claims.email_verified, Some(true));
    }
}
