//! The claims of an RFC 9068 JWT access token, as Gatehouse issues them.

use serde::{Deserialize, Serialize};

/// RFC 9068 §2.1: the `typ` header of a JWT access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims of an access token (RFC 9068 §2.2 plus OIDC profile claims).
/// Fields without `Option` are required: a token missing one does not parse
/// and is rejected. Times are whole seconds since the Unix epoch (RFC 7519
/// §2, "NumericDate").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    /// The tenant's issuer URL, `{public_url}/t/{tenant}`.
    pub iss: String,
    /// The user's stable id.
    pub sub: String,
    /// Who the token is for: the tenant's audiences, or its issuer.
    pub aud: Audience,
    /// Expiry: the token is refused from this second on (plus leeway).
    pub exp: i64,
    /// Issued at; a token "issued" in the future (beyond leeway) is refused.
    pub iat: i64,
    /// Not before (plus leeway).
    pub nbf: i64,
    /// Unique per token, so a token can be named in logs and revocation lists.
    pub jti: String,
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// The session this token descends from (absent for machine tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Space-separated granted scopes (RFC 6749 §3.3).
    #[serde(default)]
    pub scope: String,
    /// OIDC `preferred_username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// OIDC `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// OIDC `email_verified`: whether the user proved they receive mail at
    /// `email` (present whenever `email` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// OIDC `given_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// OIDC `family_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// The user's roles, for policies that require one.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// RFC 7519 §4.1.3: `aud` is a string or an array of strings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience, serialised as a string.
    One(String),
    /// Several audiences, serialised as an array.
    Many(Vec<String>),
}

impl Audience {
    /// A string for one audience, an array otherwise.
    pub fn from_list(mut list: Vec<String>) -> Self {
        if list.len() == 1 {
            Audience::One(list.remove(0))
        } else {
            Audience::Many(list)
        }
    }

    /// Whether any of the audiences is one of `accepted` (RFC 7519 §4.1.3:
    /// one match is enough; comparison is exact).
    pub fn is_any_of(&self, accepted: &[String]) -> bool {
        match self {
            Audience::One(a) => accepted.contains(a),
            Audience::Many(list) => list.iter().any(|a| accepted.contains(a)),
        }
    }
}
