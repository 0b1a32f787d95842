//! Named tenant secrets: the shared secrets of incoming webhooks
//! (`github-hook`, `stripe-live`), referred to by name from policies.
//!
//! Sealed at rest with the master key like signing keys, with the tenant
//! and the name as associated data, so a sealed value moved to another
//! row does not open. The value is returned once, when it is generated,
//! and never again.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};

use crate::clock::UnixTime;
use crate::id::random_bytes;
use crate::sealing::MasterKeys;
use crate::{Error, Result};

/// Longest value accepted (a webhook secret is tens of bytes).
pub const MAX_VALUE_BYTES: usize = 1024;

/// A secret as stored.
#[derive(Debug, Clone)]
pub struct TenantSecret {
    pub tenant_id: String,
    pub name: String,
    /// The value, sealed by the master key.
    pub sealed: SecretString,
    pub created_at: UnixTime,
}

impl TenantSecret {
    /// Seals `value` as the secret `name` of the tenant.
    pub fn seal(
        tenant_id: &str,
        name: &str,
        value: &SecretString,
        now: UnixTime,
        master: &MasterKeys,
    ) -> Result<Self> {
        check_name(name)?;
        check_value(value)?;
        let sealed = master.seal(
            value.expose_secret().as_bytes(),
            &seal_context(tenant_id, name),
        )?;
        Ok(Self {
            tenant_id: tenant_id.to_string(),
            name: name.to_string(),
            sealed: SecretString::from(sealed),
            created_at: now,
        })
    }

    pub fn open(&self, master: &MasterKeys) -> Result<SecretString> {
        master.open(
            self.sealed.expose_secret(),
            &seal_context(&self.tenant_id, &self.name),
        )
    }
}

/// A new random value: 32 bytes, in the Standard Webhooks form
/// (`whsec_<base64>`), which the other schemes use as plain text.
pub fn generate() -> Result<SecretString> {
    Ok(SecretString::from(format!(
        "whsec_{}",
        STANDARD.encode(random_bytes::<32>()?)
    )))
}

/// Names are what policies refer to: `[A-Za-z0-9_.-]{1,64}`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "name",
            "a secret name is 1 to 64 letters, digits, `_`, `.` or `-`",
        ))
    }
}

fn check_value(value: &SecretString) -> Result<()> {
    let v = value.expose_secret();
    if v.is_empty() || v.len() > MAX_VALUE_BYTES {
        return Err(Error::invalid(
            "value",
            format!("a secret value is 1 to {MAX_VALUE_BYTES} bytes"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::invalid(
            "value",
            "a secret value holds no control characters",
        ));
    }
    Ok(())
}

fn seal_context(tenant_id: &str, name: &str) -> String {
    format!("gatehouse-tenant-secret/{tenant_id}/{name}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_own_row() {
        let master = MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap();
        let value = generate().unwrap();
        let s = TenantSecret::seal("t1", "hook", &value, 5, &master).unwrap();
        assert!(!s.sealed.expose_secret().contains(value.expose_secret()));
        assert_eq!(
            s.open(&master).unwrap().expose_secret(),
            value.expose_secret()
        );
        let moved = TenantSecret {
            name: "other".into(),
            ..s.clone()
        };
        assert!(moved.open(&master).is_err());
        let other_tenant = TenantSecret {
            tenant_id: "t2".into(),
            ..s
        };
        assert!(other_tenant.open(&master).is_err());
    }

    #[test]
    fn names_and_values_are_checked() {
        assert!(check_name("github-hook.v2_x").is_ok());
        for bad in ["", "a b", "a/b", &"x".repeat(65), "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let master = MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap();
        for bad in ["", "a\nb", &"x".repeat(1025)] {
            let v = SecretString::from(bad.to_string());
            assert!(TenantSecret::seal("t", "n", &v, 0, &master).is_err());
        }
    }
}
