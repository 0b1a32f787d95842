//! Access tokens: the claims of an RFC 9068 JWT access token and the
//! response that carries them.

use secrecy::{ExposeSecret, SecretString};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// RFC 9068 §2.1: the `typ` header of a JWT access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims of an access token (RFC 9068 §2.2 plus OIDC profile claims).
/// Fields without `Option` are required: a token missing one does not parse
/// and is rejected.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub iss: String,
    /// The user's stable id.
    pub sub: String,
    pub aud: Audience,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub nbf: UnixTime,
    /// Unique per token, so a token can be named in logs and revocation lists.
    pub jti: String,
    pub client_id: String,
    /// The session this token descends from (absent for machine tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default)]
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// RFC 7519 §4.1.3: `aud` is a string or an array of strings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn from_list(mut list: Vec<String>) -> Self {
        if list.len() == 1 {
            Audience::One(list.remove(0))
        } else {
            Audience::Many(list)
        }
    }
}

/// The OAuth 2.0 token response (RFC 6749 §5.1). The tokens are secrets:
/// `Debug` hides them and only serialisation into the response shows them.
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: SecretString,
    pub expires_in: i64,
    pub refresh_token: SecretString,
    pub scope: String,
}

impl Serialize for TokenResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("TokenResponse", 5)?;
        st.serialize_field("access_token", self.access_token.expose_secret())?;
        st.serialize_field("token_type", "Bearer")?;
        st.serialize_field("expires_in", &self.expires_in)?;
        st.serialize_field("refresh_token", self.refresh_token.expose_secret())?;
        st.serialize_field("scope", &self.scope)?;
        st.end()
    }
}

/// Checks a requested scope against RFC 6749 §3.3: space-separated tokens
/// of printable ASCII other than `"` and `\`.
pub fn is_valid_scope(scope: &str) -> bool {
    scope.len() <= 1024
        && scope.split(' ').all(|tok| {
            !tok.is_empty()
                && tok
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_syntax() {
        assert!(is_valid_scope("openid profile"));
        assert!(!is_valid_scope(""));
        assert!(!is_valid_scope("a  b"));
        assert!(!is_valid_scope("a\"b"));
        assert!(!is_valid_scope("ä"));
    }

    #[test]
    fn token_response_hides_tokens_in_debug() {
        let r = TokenResponse {
            access_token: SecretString::from("aaa.bbb.ccc".to_string()),
            expires_in: 900,
            refresh_token: SecretString::from("r3fr3sh".to_string()),
            scope: "openid".into(),
        };
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("r3fr3sh") && !dbg.contains("aaa.bbb"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["refresh_token"], "r3fr3sh");
    }
}
