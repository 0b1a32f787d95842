//! Registered OAuth clients (RFC 6749 §2): who may ask for tokens, with
//! which grants, for which scopes, and where codes may be sent.
//!
//! A confidential client's secret is 256 random bits, shown once and
//! stored as its SHA-256: a slow KDF buys nothing against 256 random bits
//! and would cost every client-credentials grant an argon2 or bcrypt run.
//! A rotation keeps the previous secret valid until a deadline, so the
//! services holding it can be updated without an outage.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::scope;
use crate::clock::UnixTime;
use crate::id::random_token;
use crate::token::is_valid_scope;
use crate::{Error, Result};

/// RFC 6749 §2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    /// Can keep a secret (a server-side app, a service).
    Confidential,
    /// Cannot (a single-page or native app): no secret, PKCE required.
    Public,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "confidential" => Ok(ClientType::Confidential),
            "public" => Ok(ClientType::Public),
            _ => Err(Error::invalid(
                "type",
                "the client type must be `confidential` or `public`",
            )),
        }
    }
}

/// The grants a registered client may be allowed. The password grant is
/// not among them: it stays with the tenant's own first-party client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    RefreshToken,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "authorization_code" => Ok(GrantType::AuthorizationCode),
            "client_credentials" => Ok(GrantType::ClientCredentials),
            "refresh_token" => Ok(GrantType::RefreshToken),
            "password" => Err(Error::invalid(
                "grants",
                "the password grant is reserved for the tenant's own first-party client; \
                 registered clients use authorization_code",
            )),
            _ => Err(Error::invalid(
                "grants",
                "each grant must be one of authorization_code, client_credentials, refresh_token",
            )),
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client as stored: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The `client_id`: random, unguessable, URL-safe.
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub client_type: ClientType,
    pub grants: Vec<GrantType>,
    /// The most it may be granted.
    pub scopes: Vec<String>,
    /// Exact URIs codes may be sent to (RFC 6749 §3.1.2; compared as
    /// strings, never by prefix).
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Hex SHA-256 of the secret; `None` for a public client.
    pub secret_hash: Option<String>,
    /// The secret before the last rotation, valid until
    /// `previous_secret_expires_at`.
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<UnixTime>,
    pub created_at: UnixTime,
}

impl ClientRecord {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grants.contains(&grant)
    }

    pub fn is_public(&self) -> bool {
        self.client_type == ClientType::Public
    }

    /// Whether `secret` is the client's current secret, or its previous
    /// one still inside the rotation overlap. Both are compared in
    /// constant time, always, so the timing says nothing about which.
    pub fn secret_matches(&self, secret: &SecretString, now: UnixTime) -> bool {
        let presented = hash_secret(secret);
        let matches = |stored: &Option<String>| -> bool {
            stored
                .as_deref()
                .is_some_and(|h| bool::from(presented.as_bytes().ct_eq(h.as_bytes())))
        };
        let current = matches(&self.secret_hash);
        let previous = matches(&self.previous_secret_hash)
            && self.previous_secret_expires_at.is_some_and(|at| now < at);
        current | previous
    }

    /// Whether `uri` is one of the registered redirect URIs, exactly.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }
}

/// What an operator asks for when registering a client.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    #[serde(alias = "client_name")]
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: Option<String>,
    /// RFC 7591 §2's way of saying the type: `none` is a public client,
    /// `client_secret_basic` / `client_secret_post` a confidential one
    /// (both methods always work for it).
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub grants: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
}

const MAX_NAME_CHARS: usize = 128;
const MAX_URIS: usize = 32;
const MAX_URI_BYTES: usize = 2000;
const MAX_SCOPES: usize = 64;

/// A spec that passed every rule.
#[derive(Debug, Clone)]
pub struct ValidClientSpec {
    pub name: String,
    pub client_type: ClientType,
    pub grants: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
}

impl ClientSpec {
    /// Checks every field; the error names the field and the rule.
    pub fn validate(self) -> Result<ValidClientSpec> {
        let name = self.name.trim().to_string();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "name",
                format!("the client name must be 1 to {MAX_NAME_CHARS} printable characters"),
            ));
        }
        let by_auth_method = match self.token_endpoint_auth_method.as_deref() {
            None => None,
            Some("none") => Some(ClientType::Public),
            Some("client_secret_basic" | "client_secret_post") => Some(ClientType::Confidential),
            Some(_) => {
                return Err(Error::invalid(
                    "token_endpoint_auth_method",
                    "token_endpoint_auth_method must be client_secret_basic, client_secret_post or none",
                ));
            }
        };
        let client_type = match (self.client_type.as_deref(), by_auth_method) {
            (None, by_method) => by_method.unwrap_or(ClientType::Confidential),
            (Some(t), by_method) => {
                let t = ClientType::parse(t)?;
                if by_method.is_some_and(|m| m != t) {
                    return Err(Error::invalid(
                        "token_endpoint_auth_method",
                        "token_endpoint_auth_method does not fit the client type \
                         (`none` is for public clients, the secret methods for confidential ones)",
                    ));
                }
                t
            }
        };
        let mut grants = Vec::new();
        for g in &self.grants {
            let grant = GrantType::parse(g)?;
            if !grants.contains(&grant) {
                grants.push(grant);
            }
        }
        // No grants named: what the shape of the client says it is for. A
        // service (confidential, no redirect URI) gets client credentials;
        // a web or native app signs users in and refreshes.
        if grants.is_empty() {
            grants = if client_type == ClientType::Confidential && self.redirect_uris.is_empty() {
                vec![GrantType::ClientCredentials]
            } else {
                vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
            };
        }
        if client_type == ClientType::Public && grants.contains(&GrantType::ClientCredentials) {
            return Err(Error::invalid(
                "grants",
                "a public client has no secret, so it cannot use client_credentials",
            ));
        }
        if self.scopes.len() > MAX_SCOPES {
            return Err(Error::invalid(
                "scopes",
                format!("a client may have at most {MAX_SCOPES} scopes"),
            ));
        }
        let mut scopes: Vec<String> = Vec::new();
        for s in &self.scopes {
            if s.contains(' ') || !is_valid_scope(s) {
                return Err(Error::invalid(
                    "scopes",
                    "each scope must be printable ASCII without spaces, `\"` or `\\`",
                ));
            }
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        // A web client registered without scopes gets the OpenID Connect
        // ones (and `offline_access` if it may refresh), so a sign-in
        // works out of the box; API scopes are always named explicitly.
        if scopes.is_empty() && grants.contains(&GrantType::AuthorizationCode) {
            scopes = [scope::OPENID, scope::PROFILE, scope::EMAIL]
                .iter()
                .map(|s| s.to_string())
                .collect();
            if grants.contains(&GrantType::RefreshToken) {
                scopes.push(scope::OFFLINE_ACCESS.to_string());
            }
        }
        let redirect_uris = valid_uris("redirect_uris", &self.redirect_uris)?;
        let post_logout_redirect_uris =
            valid_uris("post_logout_redirect_uris", &self.post_logout_redirect_uris)?;
        if grants.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            return Err(Error::invalid(
                "redirect_uris",
                "a client with the authorization_code grant needs at least one redirect URI",
            ));
        }
        Ok(ValidClientSpec {
            name,
            client_type,
            grants,
            scopes,
            redirect_uris,
            post_logout_redirect_uris,
        })
    }
}

/// RFC 6749 §3.1.2: absolute, no fragment. Plain `http` only for loopback
/// (RFC 8252 §7.3) and custom schemes for native apps (§7.1).
fn valid_uris(field: &'static str, uris: &[String]) -> Result<Vec<String>> {
    if uris.len() > MAX_URIS {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_URIS} URIs may be registered"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for uri in uris {
        if uri.len() > MAX_URI_BYTES {
            return Err(Error::invalid(field, "a URI is longer than 2000 bytes"));
        }
        let parsed = url::Url::parse(uri).map_err(|_| {
            Error::invalid(field, format!("`{}` is not an absolute URI", clip(uri)))
        })?;
        if parsed.fragment().is_some() {
            return Err(Error::invalid(
                field,
                "a redirect URI must not have a fragment (RFC 6749 §3.1.2)",
            ));
        }
        let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(Error::invalid(
                    field,
                    "plain http redirect URIs are allowed only for loopback hosts; use https",
                ));
            }
            "javascript" | "data" | "file" | "vbscript" => {
                return Err(Error::invalid(field, "that URI scheme is not allowed"));
            }
            // Native apps' private-use schemes (RFC 8252 §7.1).
            _ => {}
        }
        if !out.contains(uri) {
            out.push(uri.clone());
        }
    }
    Ok(out)
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// A new client secret: 256 random bits as base64url, and its hash.
pub fn mint_secret() -> Result<(SecretString, String)> {
    let secret = SecretString::from(random_token::<32>()?);
    let hash = hash_secret(&secret);
    Ok((secret, hash))
}

/// A new `client_id`: 128 random bits as hex. Hex rather than base64url so
/// an id never starts with `-` (which a shell command or `curl -u` would
/// read as an option) and needs no escaping anywhere.
pub fn mint_client_id() -> Result<String> {
    Ok(hex::encode(crate::id::random_bytes::<16>()?))
}

/// Hex SHA-256 of a client secret.
pub fn hash_secret(secret: &SecretString) -> String {
    hex::encode(Sha256::digest(secret.expose_secret().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ClientSpec {
        ClientSpec {
            name: "web".into(),
            client_type: Some("confidential".into()),
            token_endpoint_auth_method: None,
            grants: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: vec!["openid".into(), "profile".into()],
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
        }
    }

    #[test]
    fn specs_are_checked() {
        assert!(spec().validate().is_ok());
        let bad = |f: fn(&mut ClientSpec)| {
            let mut s = spec();
            f(&mut s);
            s.validate().is_err()
        };
        assert!(bad(|s| s.name = " ".into()));
        assert!(bad(|s| s.grants = vec!["password".into()]));
        assert!(bad(|s| s.redirect_uris = vec![]));
        assert!(bad(
            |s| s.redirect_uris = vec!["http://app.example/cb".into()]
        ));
        assert!(bad(
            |s| s.redirect_uris = vec!["https://app.example/cb#x".into()]
        ));
        assert!(bad(|s| s.redirect_uris = vec!["/cb".into()]));
        assert!(bad(|s| s.scopes = vec!["a b".into()]));
        assert!(bad(|s| {
            s.client_type = Some("public".into());
            s.grants = vec!["client_credentials".into()];
        }));
        let mut service = spec();
        service.grants = vec![];
        service.redirect_uris = vec![];
        assert_eq!(
            service.validate().unwrap().grants,
            vec![GrantType::ClientCredentials]
        );
        let mut loopback = spec();
        loopback.redirect_uris = vec!["http://127.0.0.1:9/cb".into(), "com.example.app:/cb".into()];
        assert!(loopback.validate().is_ok());
    }

    #[test]
    fn secrets_match_current_and_previous_within_overlap() {
        let (current, current_hash) = mint_secret().unwrap();
        let (old, old_hash) = mint_secret().unwrap();
        let record = ClientRecord {
            id: "c".into(),
            tenant_id: "t".into(),
            name: "n".into(),
            client_type: ClientType::Confidential,
            grants: vec![GrantType::ClientCredentials],
            scopes: vec![],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            secret_hash: Some(current_hash),
            previous_secret_hash: Some(old_hash),
            previous_secret_expires_at: Some(100),
            created_at: 0,
        };
        assert_eq!(current.expose_secret().len(), 43);
        assert!(record.secret_matches(&current, 500));
        assert!(record.secret_matches(&old, 99));
        assert!(!record.secret_matches(&old, 100));
        assert!(!record.secret_matches(&SecretString::from("x".to_string()), 0));
    }
}
