//! Access tokens: the claims of an RFC 9068 JWT access token and the
//! response that carries them.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::ser::SerializeStruct;

/// The claims and their types are the verifier's (`gatehouse-jwt`); they are
/// re-exported here, where the issuing side builds them.
pub use gatehouse_jwt::claims::{ACCESS_TOKEN_TYP, AccessClaims, Audience};

/// The OAuth 2.0 token response (RFC 6749 §5.1), with the OpenID Connect
/// ID token when `openid` was granted (OIDC Core §3.1.3.3). The tokens are
/// secrets: `Debug` hides them and only serialisation into the response
/// shows them.
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: SecretString,
    pub expires_in: i64,
    /// None for client credentials (RFC 6749 §4.4.3: "SHOULD NOT be
    /// included") and for a code-flow session without `offline_access`.
    pub refresh_token: Option<SecretString>,
    pub scope: String,
    pub id_token: Option<SecretString>,
}

impl Serialize for TokenResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("TokenResponse", 6)?;
        st.serialize_field("access_token", self.access_token.expose_secret())?;
        st.serialize_field("token_type", "Bearer")?;
        st.serialize_field("expires_in", &self.expires_in)?;
        match &self.refresh_token {
            Some(token) => st.serialize_field("refresh_token", token.expose_secret())?,
            None => st.skip_field("refresh_token")?,
        }
        st.serialize_field("scope", &self.scope)?;
        match &self.id_token {
            Some(token) => st.serialize_field("id_token", token.expose_secret())?,
            None => st.skip_field("id_token")?,
        }
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
            refresh_token: Some(SecretString::from("r3fr3sh".to_string())),
            scope: "openid".into(),
            id_token: None,
        };
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("r3fr3sh") && !dbg.contains("aaa.bbb"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["refresh_token"], "r3fr3sh");
        assert!(json.get("id_token").is_none());
    }
}
