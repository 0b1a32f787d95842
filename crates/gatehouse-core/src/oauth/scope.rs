//! Scopes (RFC 6749 §3.3) and what OpenID Connect makes of them.
//!
//! The rule for a user's token: what was asked for, limited to what the
//! client is registered for and what the user may have. Every user may
//! have the OIDC scopes; any other scope only a user holding a role of
//! the same name (so `billing` needs the role `billing`).

use crate::token::is_valid_scope;
use crate::{Error, Result};

pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";
/// OIDC Core §11: ask for a refresh token.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The OIDC scopes, open to every user.
pub const OIDC_SCOPES: [&str; 4] = [OPENID, PROFILE, EMAIL, OFFLINE_ACCESS];

/// A parsed, de-duplicated scope list in request order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a requested `scope`; `None` or empty is the empty list.
    pub fn parse(text: Option<&str>) -> Result<Self> {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            return Ok(Self::default());
        };
        if !is_valid_scope(text) {
            return Err(Error::invalid(
                "scope",
                "the scope is not a valid list of scope tokens",
            ));
        }
        let mut out: Vec<String> = Vec::new();
        for s in text.split(' ') {
            if !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        }
        Ok(Self(out))
    }

    pub fn from_list(list: &[String]) -> Self {
        Self(list.to_vec())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// The first requested scope outside `allowed`, if any.
    pub fn first_outside<'a>(&'a self, allowed: &[String]) -> Option<&'a str> {
        self.0
            .iter()
            .find(|s| !allowed.contains(s))
            .map(String::as_str)
    }

    /// Keeps only the scopes a user with `roles` may have.
    pub fn for_user(&self, roles: &[String]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|s| OIDC_SCOPES.contains(&s.as_str()) || roles.contains(s))
                .cloned()
                .collect(),
        )
    }

    /// Space-separated, as in a token's `scope` claim.
    pub fn to_claim(&self) -> String {
        self.0.join(" ")
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Whether a space-separated scope claim holds `scope`.
pub fn claim_has(claim: &str, scope: &str) -> bool {
    claim.split(' ').any(|s| s == scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_get_oidc_scopes_and_the_scopes_of_their_roles() {
        let asked = Scopes::parse(Some("openid billing admin openid")).unwrap();
        assert_eq!(asked.to_claim(), "openid billing admin");
        let granted = asked.for_user(&["billing".to_string()]);
        assert_eq!(granted.to_claim(), "openid billing");
        assert_eq!(
            asked.first_outside(&["openid".into(), "billing".into()]),
            Some("admin")
        );
        assert!(Scopes::parse(Some("a  b")).is_err());
        assert!(Scopes::parse(None).unwrap().is_empty());
        assert!(claim_has("openid email", "email"));
        assert!(!claim_has("openid emails", "email"));
    }
}
