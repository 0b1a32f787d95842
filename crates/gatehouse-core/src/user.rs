//! Users: who they are, what a registration must contain, and how names are
//! compared (case-insensitively, per tenant).

use secrecy::SecretString;
use serde::Serialize;

use crate::clock::UnixTime;
use crate::password::PasswordHash;
use crate::{Error, Result};

const MAX_USERNAME_CHARS: usize = 64;
const MAX_EMAIL_CHARS: usize = 254; // RFC 5321 §4.5.3.1.3 path limit
const MAX_NAME_CHARS: usize = 128;

#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// Stable identifier; the `sub` of every token the user gets.
    pub id: String,
    #[serde(skip)]
    pub tenant_id: String,
    /// As the user typed it; uniqueness uses [`lookup_key`] of it.
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub roles: Vec<String>,
    #[serde(skip)]
    pub password_hash: PasswordHash,
    pub created_at: UnixTime,
}

/// The form in which usernames and emails are compared and indexed: Unicode
/// lowercase, so `Alice` and `alice` are one user in every backend (we do
/// not rely on a database collation, which differs between SQLite,
/// PostgreSQL and MySQL).
pub fn lookup_key(name: &str) -> String {
    name.to_lowercase()
}

/// A registration as it arrives, before any rule is checked.
#[derive(Debug)]
pub struct Registration {
    pub username: String,
    pub password: SecretString,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// A user as an import file or a legacy database describes them, with the
/// password hash the old system stored (see [`crate::legacy_hash`]).
#[derive(Debug, Default, Clone)]
pub struct ImportedUser {
    /// The old system's id, kept as the user's id if given.
    pub id: Option<String>,
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub roles: Vec<String>,
    pub password_hash: String,
}

/// The identifier a login names: a username or an email address.
#[derive(Debug, Clone)]
pub enum LoginName {
    Username(String),
    Email(String),
}

pub(crate) fn validate_username(username: &str) -> Result<()> {
    let chars = username.chars().count();
    if chars == 0 || chars > MAX_USERNAME_CHARS {
        return Err(Error::invalid(
            "username",
            format!("the username must be 1 to {MAX_USERNAME_CHARS} characters long"),
        ));
    }
    if username
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(
            "username",
            "the username must not contain spaces or control characters",
        ));
    }
    Ok(())
}

/// Ids are generated, except those kept from an import: any printable text
/// up to 36 characters (`42`, a UUID, a Mongo ObjectId...), the
/// width of the id columns.
pub(crate) fn validate_user_id(id: &str) -> Result<()> {
    if id.len() > 36 || !id.is_ascii() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            "id",
            "the id must be at most 36 ASCII characters without spaces or control characters",
        ));
    }
    Ok(())
}

pub(crate) fn validate_email(email: &str) -> Result<()> {
    // Deliberately shallow: one `@` with text on both sides. Only sending
    // mail proves an address; stricter syntax checks reject real addresses.
    let shape_ok = match email.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    };
    if !shape_ok
        || email.chars().count() > MAX_EMAIL_CHARS
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(
            "email",
            "the email must look like name@example.com",
        ));
    }
    Ok(())
}

pub(crate) fn validate_name(field: &'static str, value: &str) -> Result<()> {
    if value.chars().count() > MAX_NAME_CHARS || value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("the {field} must be at most {MAX_NAME_CHARS} printable characters"),
        ));
    }
    Ok(())
}

/// Checks what a new user (registered or imported) says about themselves;
/// returns the optional fields with empty ones made absent.
pub(crate) fn validate_profile(
    username: &str,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
) -> Result<(Option<String>, Option<String>, Option<String>)> {
    validate_username(username)?;
    let email = non_empty(email);
    if let Some(email) = &email {
        validate_email(email)?;
    }
    let first_name = non_empty(first_name);
    let last_name = non_empty(last_name);
    for (field, value) in [("first_name", &first_name), ("last_name", &last_name)] {
        if let Some(v) = value {
            validate_name(field, v)?;
        }
    }
    Ok((email, first_name, last_name))
}

/// Empty optional fields are treated as absent, so `"email": ""` does not
/// claim the empty address for one user of the tenant.
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("O'Brien;DROP--TABLE").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("a b").is_err());
        assert!(validate_username("a\0b").is_err());
        assert!(validate_username(&"x".repeat(65)).is_err());
    }

    #[test]
    fn emails() {
        assert!(validate_email("a@b").is_ok());
        assert!(validate_email("a@b@c").is_err());
        assert!(validate_email("@b").is_err());
        assert!(validate_email("ab").is_err());
    }

    #[test]
    fn lookup_is_case_insensitive() {
        assert_eq!(
            lookup_key("ÄLice@Example.COM"),
            lookup_key("älice@example.com")
        );
    }
}
