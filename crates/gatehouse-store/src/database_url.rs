//! A database URL whose `Debug` and `Display` never show its password, so
//! it can appear in logs and error messages.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::OpenError;

#[derive(Clone)]
pub struct DatabaseUrl {
    full: SecretString,
    scheme: String,
    redacted: String,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, OpenError> {
        let scheme = raw
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+'))
            .ok_or_else(|| {
                OpenError::MalformedUrl(
                    "expected SCHEME://..., for example sqlite://gatehouse.db".to_string(),
                )
            })?;
        let redacted = match url::Url::parse(raw) {
            Ok(mut u) if u.password().is_some() => {
                // set_password only fails for URLs that cannot have one.
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            Ok(_) => raw.to_string(),
            // Not a URL the `url` crate understands (e.g. `sqlite:file.db`):
            // keep only the scheme in messages, in case it hides a secret.
            Err(_) if scheme == "sqlite" => raw.to_string(),
            Err(_) => format!("{scheme}://***"),
        };
        Ok(Self {
            full: SecretString::from(raw.to_string()),
            scheme,
            redacted,
        })
    }

    /// The same URL under another scheme (`mariadb://` is spoken as `mysql://`).
    pub(crate) fn with_scheme(&self, scheme: &str) -> Self {
        let raw = self.full.expose_secret();
        let rest = raw.split_once(':').map_or("", |(_, r)| r);
        Self {
            full: SecretString::from(format!("{scheme}:{rest}")),
            scheme: scheme.to_string(),
            redacted: self.redacted.clone(),
        }
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The URL with its password, for the driver only.
    pub(crate) fn expose(&self) -> &str {
        self.full.expose_secret()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_shows() {
        let u = DatabaseUrl::parse("postgres://gh:s3cret@db:5432/gatehouse").unwrap();
        assert_eq!(u.scheme(), "postgres");
        assert!(!u.to_string().contains("s3cret"));
        assert!(!format!("{u:?}").contains("s3cret"));
        assert!(u.expose().contains("s3cret"));
        assert_eq!(
            DatabaseUrl::parse("sqlite://g.db").unwrap().to_string(),
            "sqlite://g.db"
        );
        assert!(DatabaseUrl::parse("nonsense").is_err());
    }
}
