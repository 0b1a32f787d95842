//! Tenants: the unit of isolation. Each has its own users, keys and issuer
//! URL, and a token of one tenant never passes in another.

use serde::{Deserialize, Serialize};

use crate::algorithm::SigningAlgorithm;
use crate::clock::UnixTime;
use crate::{Error, Result};

/// The tenant every install has from its first start, so a single-project
/// user never has to name one.
pub const DEFAULT_TENANT: &str = "default";

/// Default access-token lifetime: short, because access tokens are verified
/// offline and cannot be recalled before they expire.
pub const DEFAULT_ACCESS_TTL_SECS: i64 = 15 * 60;

/// A tenant name: lowercase `[a-z0-9-]`, 1 to 63 characters, not starting or
/// ending with `-`. It appears in URLs (`/t/{name}`) and in the issuer, so it
/// is restricted to what needs no escaping anywhere (the DNS label rules).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantName(String);

impl TenantName {
    pub fn parse(name: &str) -> Result<Self> {
        let valid_chars = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if name.is_empty() || name.len() > 63 || !valid_chars {
            return Err(Error::invalid(
                "name",
                "a tenant name must be 1 to 63 characters of lowercase letters, digits and `-`",
            ));
        }
        if name.starts_with('-') || name.ends_with('-') {
            return Err(Error::invalid(
                "name",
                "a tenant name must not start or end with `-`",
            ));
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantName {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<TenantName> for String {
    fn from(n: TenantName) -> String {
        n.0
    }
}

impl std::fmt::Display for TenantName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub name: TenantName,
    /// The algorithm of the tenant's signing keys; verification is bound to
    /// each key's own algorithm, never to a token's header.
    pub algorithm: SigningAlgorithm,
    /// Lifetime of the access tokens it issues, in seconds.
    pub access_ttl_secs: i64,
    /// Accepted `aud` values. Empty means "the tenant's issuer URL", which
    /// keeps a fresh install working without configuration.
    pub audiences: Vec<String>,
    /// The name the hosted login page shows; `None` shows [`Tenant::name`].
    #[serde(default)]
    pub display_name: Option<String>,
    /// Account policies an admin may change at any time.
    #[serde(default)]
    pub settings: TenantSettings,
    pub created_at: UnixTime,
}

/// Whether a user's email must be confirmed (per tenant).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailVerification {
    /// No verification mails; `email_verified` stays as the admin sets it.
    Off,
    /// A verification link is mailed on register and email change; logins
    /// work before it is used.
    #[default]
    Optional,
    /// As `Optional`, and a login with an unverified email is refused
    /// (`email_not_verified`) until the link is used.
    Required,
}

impl EmailVerification {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "off" => Ok(Self::Off),
            "optional" => Ok(Self::Optional),
            "required" => Ok(Self::Required),
            _ => Err(Error::invalid(
                "email_verification",
                "email_verification must be off, optional or required",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }
}

/// A tenant's account policies, stored as one JSON document so a new one
/// needs no migration. Unknown or missing members take their defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantSettings {
    pub email_verification: EmailVerification,
    /// The From address of the tenant's mails; the server's default
    /// (`GATEHOUSE_SMTP_FROM`) when unset.
    pub mail_from: Option<String>,
    /// The shortest new password accepted (8 to 128; 8 when unset).
    pub password_min_length: Option<u32>,
}

impl TenantSettings {
    /// The shortest new password accepted.
    pub fn min_password_chars(&self) -> u32 {
        self.password_min_length.unwrap_or(8)
    }

    /// Checks the values a person set.
    pub fn validate(&self) -> Result<()> {
        if let Some(n) = self.password_min_length
            && !crate::password_policy::MIN_LENGTH_RANGE.contains(&n)
        {
            return Err(Error::invalid(
                "password_min_length",
                "password_min_length must be between 8 and 128",
            ));
        }
        if let Some(from) = &self.mail_from
            && (from.len() > 320 || from.chars().any(char::is_control) || !from.contains('@'))
        {
            return Err(Error::invalid(
                "mail_from",
                "mail_from must be an address like `Acme <no-reply@acme.example>`",
            ));
        }
        Ok(())
    }
}

impl Tenant {
    /// What people see on the hosted pages.
    pub fn shown_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(self.name.as_str())
    }
}

/// Checks a display name: 1 to 100 printable characters.
pub fn valid_display_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "display_name",
            "the display name must be 1 to 100 printable characters",
        ));
    }
    Ok(name.to_string())
}

/// What an operator may choose when creating a tenant.
#[derive(Debug, Clone, Default)]
pub struct TenantSpec {
    pub algorithm: Option<SigningAlgorithm>,
    pub access_ttl_secs: Option<i64>,
    pub audiences: Vec<String>,
    pub display_name: Option<String>,
}

impl TenantSpec {
    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(ttl) = self.access_ttl_secs
            && !(60..=24 * 3600).contains(&ttl)
        {
            return Err(Error::invalid(
                "access_ttl",
                "the access-token lifetime must be between 1 minute and 24 hours",
            ));
        }
        for aud in &self.audiences {
            if aud.is_empty() || aud.len() > 255 || aud.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "audience",
                    "each audience must be 1 to 255 printable characters",
                ));
            }
        }
        Ok(())
    }
}

/// The issuer URL of a tenant: `{public_url}/t/{tenant}` (DESIGN.md).
pub fn issuer_url(public_url: &str, tenant: &TenantName) -> String {
    format!("{}/t/{}", public_url.trim_end_matches('/'), tenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_follow_dns_label_rules() {
        for ok in ["default", "a", "acme-prod", "x1", &"a".repeat(63)] {
            assert!(TenantName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Acme",
            "a_b",
            "a b",
            "-a",
            "a-",
            "ä",
            "a/b",
            "a\0",
            &"a".repeat(64),
        ] {
            assert!(TenantName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
