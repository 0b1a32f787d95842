//! Users: who they are, what a registration must contain, and how names are
//! compared (case-insensitively, per tenant).
//!
//! Every name is checked here before it can reach a database, so text a
//! backend cannot hold (a NUL, which PostgreSQL refuses; a value longer than
//! its MySQL column) is a clear 400, and a login with such a name is simply
//! a failed login.

use precis_profiles::precis_core::profile::PrecisFastInvocation;
use precis_profiles::precis_core::{FreeformClass, StringClass};
use precis_profiles::{UsernameCaseMapped, UsernameCasePreserved};
use secrecy::SecretString;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::clock::UnixTime;
use crate::password::PasswordHash;
use crate::{Error, Result};

// Limits in characters, as people count, and in bytes, so that every value
// (and its lookup key) fits the narrowest column that holds it: MySQL's
// `username`/`username_key` VARCHAR(255), `email`/`email_key` VARCHAR(320),
// `first_name`/`last_name` VARCHAR(512).
const MAX_USERNAME_CHARS: usize = 64;
const MAX_USERNAME_BYTES: usize = 255;
const MAX_EMAIL_CHARS: usize = 254; // RFC 5321 §4.5.3.1.3 path limit
const MAX_EMAIL_BYTES: usize = 320;
const MAX_NAME_CHARS: usize = 128;
const MAX_NAME_BYTES: usize = 512;

/// No character is longer than 4 bytes in UTF-8: text of more bytes than
/// this many times a limit fails it whatever it holds, and is refused
/// before any normalisation work is spent on it.
const MAX_UTF8_CHAR_BYTES: usize = 4;

const USERNAME_RULE: &str = "the username may contain letters, digits and printable ASCII \
     symbols only; no spaces, control, bidi or invisible characters";

#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// Stable identifier; the `sub` of every token the user gets.
    pub id: String,
    #[serde(skip)]
    pub tenant_id: String,
    /// In its UsernameCasePreserved form ([`username_display`]);
    /// uniqueness uses [`username_key`] of it.
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub roles: Vec<String>,
    /// The user proved they receive mail at `email` (a verification or
    /// reset link), or an admin said so.
    #[serde(default)]
    pub email_verified: bool,
    /// A disabled user cannot log in, refresh or pass a session check;
    /// disabling ends their sessions.
    #[serde(default)]
    pub disabled: bool,
    /// Failed password attempts since the last success or lock (the
    /// account soft-lock, `service::lockout`).
    #[serde(default)]
    pub failed_logins: i64,
    /// Locks in a row; each lasts twice the one before, up to the cap.
    #[serde(skip)]
    pub lock_count: i64,
    /// Until when password attempts are refused.
    #[serde(default)]
    pub locked_until: Option<UnixTime>,
    #[serde(skip)]
    pub password_hash: PasswordHash,
    pub created_at: UnixTime,
}

impl User {
    /// A new account as every way in creates it (registration, import,
    /// the bench's seeding): a fresh id, no email, names or roles, not
    /// verified, not disabled, never failed a login. Callers fill in what
    /// they know with struct update syntax.
    pub fn new_account(
        tenant_id: &str,
        username: String,
        password_hash: PasswordHash,
        created_at: UnixTime,
    ) -> Self {
        Self {
            id: crate::id::new_id(),
            tenant_id: tenant_id.to_string(),
            username,
            email: None,
            first_name: None,
            last_name: None,
            roles: Vec::new(),
            email_verified: false,
            disabled: false,
            failed_logins: 0,
            lock_count: 0,
            locked_until: None,
            password_hash,
            created_at,
        }
    }
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

/// The identifier a login names: a username or an email address, as typed.
#[derive(Debug, Clone)]
pub enum LoginName {
    Username(String),
    Email(String),
}

impl LoginName {
    /// The form the store looks this name up by ([`username_key`] or
    /// [`email_key`]), or `None` when the text cannot be the name of any
    /// user (it fails the username profile, holds a NUL, is over-long):
    /// such a login is answered as for an unknown user, and the store is
    /// not asked.
    pub fn lookup_key(&self) -> Option<String> {
        match self {
            LoginName::Username(u) => username_key(u),
            LoginName::Email(e) => email_key(e),
        }
    }
}

// ---- usernames ---------------------------------------------------------
//
// RFC 8265 §3: a username is stored and shown in its UsernameCasePreserved
// form (width mapping, NFC, the bidi rule, IdentifierClass) and compared in
// its UsernameCaseMapped form (the same, lowercased). So `ａｄｍｉｎ` is
// `admin`, `e\u{301}` is `é`, and `admin\u{202e}` is no username at all.
// For ASCII the key is the ASCII lowercase it always was, so databases
// made by older versions keep working.

/// The username as it is stored and shown (RFC 8265 §3.4), or why the text
/// is not a username.
pub fn username_display(username: &str) -> Result<String> {
    if username.is_empty() || username.len() > MAX_USERNAME_BYTES * MAX_UTF8_CHAR_BYTES {
        return Err(username_length_error());
    }
    let display = enforce_username::<UsernameCasePreserved>(username)
        .ok_or_else(|| Error::invalid("username", USERNAME_RULE))?;
    if !fits_username(&display) {
        return Err(username_length_error());
    }
    // Its key must fit its column too (lowercasing may lengthen a name).
    match username_key(&display) {
        Some(_) => Ok(display),
        None => Err(username_length_error()),
    }
}

/// The form in which usernames are compared and indexed (the store's
/// `username_key`): the UsernameCaseMapped form (RFC 8265 §3.3), so
/// `Alice`, `alice` and `ＡＬＩＣＥ` are one user in every backend. No
/// database collation is relied on: they differ between SQLite,
/// PostgreSQL and MySQL. `None` when the text is not a username.
pub fn username_key(username: &str) -> Option<String> {
    if username.len() > MAX_USERNAME_BYTES * MAX_UTF8_CHAR_BYTES {
        return None;
    }
    enforce_username::<UsernameCaseMapped>(username).filter(|key| fits_username(key))
}

/// The profile's enforcement, plus one rule of our own: a name does not
/// begin with a combining mark, which would attach itself to whatever a
/// page shows before it (as IDNA2008 rules for labels, RFC 5891 §4.2.3.2).
fn enforce_username<P: PrecisFastInvocation>(username: &str) -> Option<String> {
    let enforced = P::enforce(username).ok()?.into_owned();
    let first = enforced.chars().next()?;
    (!is_combining_mark(first)).then_some(enforced)
}

fn fits_username(name: &str) -> bool {
    (1..=MAX_USERNAME_CHARS).contains(&name.chars().count()) && name.len() <= MAX_USERNAME_BYTES
}

fn username_length_error() -> Error {
    Error::invalid(
        "username",
        format!("the username must be 1 to {MAX_USERNAME_CHARS} characters long"),
    )
}

// ---- emails ------------------------------------------------------------

/// The email as it is stored and shown: NFC, without spaces, control, bidi
/// or invisible characters, of the shallow shape `local@domain`.
pub fn email_display(email: &str) -> Result<String> {
    let shape = || Error::invalid("email", "the email must look like name@example.com");
    if email.len() > MAX_EMAIL_BYTES * MAX_UTF8_CHAR_BYTES {
        return Err(shape());
    }
    let nfc: String = email.nfc().collect();
    // Deliberately shallow: one `@` with text on both sides. Only sending
    // mail proves an address; stricter syntax checks reject real addresses.
    let shape_ok = match nfc.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    };
    let fits = |s: &str| s.chars().count() <= MAX_EMAIL_CHARS && s.len() <= MAX_EMAIL_BYTES;
    if !shape_ok || !fits(&nfc) || !fits(&email_key_of(&nfc)) {
        return Err(shape());
    }
    // RFC 8264 §9.11 FreeformClass refuses controls and the
    // default-ignorable code points (bidi controls, zero-width spaces...)
    // while allowing any letter, digit or symbol; the spaces it allows have
    // no place in an address.
    if nfc.chars().any(char::is_whitespace) || FreeformClass::default().allows(&nfc).is_err() {
        return Err(Error::invalid(
            "email",
            "the email must not contain spaces, control, bidi or invisible characters",
        ));
    }
    Ok(nfc)
}

/// The form in which emails are compared and indexed (the store's
/// `email_key`): the lowercase of the NFC form. `None` when the text is
/// not an address Gatehouse would store.
pub fn email_key(email: &str) -> Option<String> {
    email_display(email).ok().map(|nfc| email_key_of(&nfc))
}

fn email_key_of(nfc: &str) -> String {
    nfc.to_lowercase()
}

// ---- personal names ----------------------------------------------------

/// A first or last name as it is stored: NFC, at most 128 characters, with
/// no control or bidi control characters (which would reorder what a
/// person or a log reader sees). Other invisible characters stay: the
/// zero-width joiners are part of correct spelling in several scripts.
pub fn name_display(field: &'static str, value: &str) -> Result<String> {
    let too_long = || {
        Error::invalid(
            field,
            format!("the {field} must be at most {MAX_NAME_CHARS} printable characters"),
        )
    };
    if value.len() > MAX_NAME_BYTES * MAX_UTF8_CHAR_BYTES {
        return Err(too_long());
    }
    let nfc: String = value.nfc().collect();
    if nfc.chars().count() > MAX_NAME_CHARS || nfc.len() > MAX_NAME_BYTES {
        return Err(too_long());
    }
    if nfc
        .chars()
        .any(|c| c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return Err(Error::invalid(
            field,
            format!("the {field} must not contain control or bidi control characters"),
        ));
    }
    Ok(nfc)
}

/// Unicode's `Bidi_Control` property (PropList.txt): the marks, embeddings,
/// overrides and isolates that change the order in which text is shown.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Ids are generated, except those kept from an import: any printable text
/// up to 36 characters (`42`, a UUID, a Mongo ObjectId...), the
/// width of the id columns.
pub(crate) fn validate_user_id(id: &str) -> Result<()> {
    if !is_possible_user_id(id) {
        return Err(Error::invalid(
            "id",
            "the id must be at most 36 ASCII characters without spaces or control characters",
        ));
    }
    Ok(())
}

/// Whether `id` could be some user's id (see [`validate_user_id`]); a
/// lookup of any other text can be answered "no such user" at once.
pub fn is_possible_user_id(id: &str) -> bool {
    id.len() <= 36 && id.is_ascii() && !id.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// What a new user says about themselves, checked and in the form it is
/// stored in (see [`validate_profile`]).
pub(crate) type Profile = (String, Option<String>, Option<String>, Option<String>);

/// Checks what a new user (registered or imported) says about themselves;
/// returns the username, email and names in the form they are stored in,
/// with empty optional fields made absent.
pub(crate) fn validate_profile(
    username: &str,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
) -> Result<Profile> {
    let username = username_display(username)?;
    let email = non_empty(email).map(|e| email_display(&e)).transpose()?;
    let first_name = non_empty(first_name)
        .map(|v| name_display("first_name", &v))
        .transpose()?;
    let last_name = non_empty(last_name)
        .map(|v| name_display("last_name", &v))
        .transpose()?;
    Ok((username, email, first_name, last_name))
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
        assert!(username_display("alice").is_ok());
        assert!(username_display("O'Brien;DROP--TABLE").is_ok());
        for bad in [
            "",
            "a b",
            "a\0b",
            "a\tb",
            "admin\u{202e}",
            "\u{202e}admin",
            "ad\u{200b}min",
            "admin\u{feff}",
            "ad\u{ad}min",
            "a\u{2028}b",
            "\u{301}",
            "😀",
            &"x".repeat(65),
            &"x".repeat(100_000),
        ] {
            assert!(username_display(bad).is_err(), "{bad:?}");
            assert!(username_key(bad).is_none(), "{bad:?}");
        }
        // Characters count, not bytes: 64 two-byte letters are fine.
        assert!(username_display(&"é".repeat(64)).is_ok());
        // ... but none may outgrow its column: 64 four-byte letters would.
        assert!(username_display(&"\u{20000}".repeat(63)).is_ok());
        assert!(username_display(&"\u{20000}".repeat(64)).is_err());
        // The limit is on the name as stored: 64 letters with combining
        // accents (128 characters as typed) compose to 64.
        assert!(username_display(&"e\u{301}".repeat(64)).is_ok());
    }

    #[test]
    fn usernames_are_normalised_for_display_and_for_comparison() {
        // NFC: the combining form and the precomposed one are one name.
        assert_eq!(username_display("e\u{301}").unwrap(), "é");
        assert_eq!(username_key("E\u{301}"), username_key("é"));
        // Width mapping: fullwidth letters are their ASCII twins.
        assert_eq!(username_display("ａｄｍｉｎ").unwrap(), "admin");
        assert_eq!(username_key("ＡＤＭＩＮ").as_deref(), Some("admin"));
        // Case is kept for display, folded for comparison.
        assert_eq!(username_display("Älice").unwrap(), "Älice");
        assert_eq!(username_key("ÄLice").as_deref(), Some("älice"));
    }

    #[test]
    fn ascii_keys_are_what_older_versions_stored() {
        for name in ["Alice", "BOB_42", "o'brien;drop--table", "%", "_lice", "~!"] {
            assert_eq!(username_key(name), Some(name.to_lowercase()), "{name}");
            assert_eq!(
                email_key(&format!("{name}@Example.COM")),
                Some(format!("{name}@Example.COM").to_lowercase())
            );
        }
    }

    #[test]
    fn emails() {
        assert!(email_display("a@b").is_ok());
        assert!(email_display("ünïcode@bücher.example").is_ok());
        for bad in [
            "a@b@c",
            "@b",
            "ab",
            "a b@c",
            "a\0@b",
            "a@b\u{202e}",
            "a\u{200b}@b",
            "a\u{7f}@b",
            &format!("{}@b", "x".repeat(300)),
        ] {
            assert!(email_display(bad).is_err(), "{bad:?}");
            assert!(email_key(bad).is_none(), "{bad:?}");
        }
        assert_eq!(email_display("e\u{301}@b").unwrap(), "é@b");
        assert_eq!(email_key("É@B"), email_key("e\u{301}@b"));
    }

    #[test]
    fn names() {
        assert_eq!(name_display("first_name", "Zoe\u{308}").unwrap(), "Zoë");
        assert!(name_display("first_name", "Mary Ann O'Neil").is_ok());
        // ZWNJ is part of correct Persian spelling.
        assert!(name_display("last_name", "می\u{200c}خواهم").is_ok());
        for bad in ["a\0b", "a\nb", "a\u{202e}b", "a\u{2066}b", &"x".repeat(129)] {
            assert!(name_display("first_name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn login_names_that_no_user_can_have_have_no_key() {
        assert!(LoginName::Username("a\0b".into()).lookup_key().is_none());
        assert!(LoginName::Email("a\0b@c".into()).lookup_key().is_none());
        assert!(
            LoginName::Username("x".repeat(10_000))
                .lookup_key()
                .is_none()
        );
        assert_eq!(
            LoginName::Username("ＡＤＭＩＮ".into())
                .lookup_key()
                .as_deref(),
            Some("admin")
        );
        assert_eq!(
            LoginName::Email("Ada@Example.com".into())
                .lookup_key()
                .as_deref(),
            Some("ada@example.com")
        );
    }

    #[test]
    fn user_ids() {
        assert!(is_possible_user_id("42"));
        assert!(is_possible_user_id("0190f0a4-6d0e-7c1e-9a8b-0123456789ab"));
        assert!(!is_possible_user_id("a\0b"));
        assert!(!is_possible_user_id("a "));
        assert!(!is_possible_user_id(&"x".repeat(37)));
    }
}
