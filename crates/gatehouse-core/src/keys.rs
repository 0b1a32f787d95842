//! Signing keys: how they are made, stored and turned into signers and
//! public JWKs.
//!
//! Private material is kept as PKCS#8 PEM (asymmetric) or base64url (the
//! HS256 secret): standard, portable encodings that any tool can read.
//! Key generation uses aws-lc-rs; signing and verifying go through
//! `jsonwebtoken` on the same aws-lc-rs backend (constant-time RSA).

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_jwt::VerifyingKey;
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::algorithm::SigningAlgorithm;
use crate::clock::UnixTime;
use crate::id::{random_bytes, random_token};
use crate::sealing::MasterKeys;
use crate::{Error, Result};

/// Where a key is in its life. Only `current` signs; `next` and `retired`
/// are published so verifiers already (or still) know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Next,
    Current,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Retired => "retired",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "next" => Ok(KeyState::Next),
            "current" => Ok(KeyState::Current),
            "retired" => Ok(KeyState::Retired),
            other => Err(Error::Internal(format!(
                "unknown key state `{other}` in store"
            ))),
        }
    }
}

/// A signing key as it is stored.
#[derive(Clone)]
pub struct SigningKeyRecord {
    /// The JWS `kid`: random, so it reveals nothing and cannot collide across tenants.
    pub kid: String,
    pub tenant_id: String,
    pub algorithm: SigningAlgorithm,
    pub state: KeyState,
    /// The PKCS#8 PEM (or base64url HS256 secret), sealed with the master
    /// key (see [`crate::sealing`]). Never logged.
    pub private_material: SecretString,
    /// Created and published (as `next`, or as `current` for a tenant's first key).
    pub created_at: UnixTime,
    /// When it started signing.
    pub activated_at: Option<UnixTime>,
    /// When it stopped signing; it stays published until the tokens it
    /// signed have expired.
    pub retired_at: Option<UnixTime>,
}

impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("tenant_id", &self.tenant_id)
            .field("algorithm", &self.algorithm)
            .field("state", &self.state)
            .field("private_material", &"[redacted]")
            .finish()
    }
}

impl SigningKeyRecord {
    /// A fresh key for `algorithm`, sealed with the primary master key.
    /// RSA-2048 takes tens of milliseconds; the others are instant.
    pub fn generate(
        tenant_id: &str,
        algorithm: SigningAlgorithm,
        state: KeyState,
        now: UnixTime,
        master: &MasterKeys,
    ) -> Result<Self> {
        let keygen_failed = |e| Error::Internal(format!("{algorithm} key generation failed: {e}"));
        let material = match algorithm {
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(keygen_failed)?;
                let der = pair.as_der().map_err(keygen_failed)?;
                pkcs8_pem(der.as_ref())
            }
            SigningAlgorithm::ES256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(keygen_failed)?;
                pkcs8_pem(pair.to_pkcs8v1().map_err(keygen_failed)?.as_ref())
            }
            SigningAlgorithm::EdDSA => {
                let pair = Ed25519KeyPair::generate().map_err(keygen_failed)?;
                pkcs8_pem(pair.to_pkcs8v1().map_err(keygen_failed)?.as_ref())
            }
            // RFC 7518 §3.2: an HS256 key must be at least 256 bits.
            SigningAlgorithm::HS256 => URL_SAFE_NO_PAD.encode(random_bytes::<32>()?),
        };
        let kid = random_token::<12>()?;
        let sealed = master.seal(material.as_bytes(), &seal_context(tenant_id, &kid))?;
        Ok(Self {
            kid,
            tenant_id: tenant_id.to_string(),
            algorithm,
            state,
            private_material: SecretString::from(sealed),
            created_at: now,
            activated_at: (state == KeyState::Current).then_some(now),
            retired_at: None,
        })
    }

    /// The private material in the clear. Material stored before sealing
    /// existed (plain PEM) is accepted so `rewrap` can seal it.
    pub fn open(&self, master: &MasterKeys) -> Result<SecretString> {
        let stored = self.private_material.expose_secret();
        if MasterKeys::is_sealed(stored) {
            master.open(stored, &seal_context(&self.tenant_id, &self.kid))
        } else {
            Ok(self.private_material.clone())
        }
    }

    /// The material sealed anew with the primary master key, or `None` if
    /// it already is.
    pub fn resealed(&self, master: &MasterKeys) -> Result<Option<SecretString>> {
        if master.is_sealed_by_primary(self.private_material.expose_secret()) {
            return Ok(None);
        }
        let clear = self.open(master)?;
        let sealed = master.seal(
            clear.expose_secret().as_bytes(),
            &seal_context(&self.tenant_id, &self.kid),
        )?;
        Ok(Some(SecretString::from(sealed)))
    }
}

/// Associated data of a sealed key: its row identity.
fn seal_context(tenant_id: &str, kid: &str) -> String {
    format!("gatehouse-signing-key/{tenant_id}/{kid}")
}

fn pkcs8_pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec()))
}

/// A key ready to sign, and (for asymmetric keys) the public JWK that the
/// tenant's JWKS publishes. Its verifying half lives in the keyring's
/// [`gatehouse_jwt::KeySet`], made by [`LoadedKey::load`] alongside it.
pub struct LoadedKey {
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    pub state: KeyState,
    pub(crate) encoding: EncodingKey,
    /// `None` for HS256: a shared secret is never published.
    pub public_jwk: Option<Jwk>,
}

impl fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl LoadedKey {
    /// Opens `record` with the master key: the signer, and the verifier
    /// made through `gatehouse-jwt` (from the published JWK, or from the
    /// HS256 secret).
    pub fn load(record: &SigningKeyRecord, master: &MasterKeys) -> Result<(Self, VerifyingKey)> {
        // Before jsonwebtoken's first use (the JWK below), which fixes its
        // provider.
        crate::crypto::prepared_signers::install();
        let corrupt = |e: jsonwebtoken::errors::Error| {
            Error::Internal(format!(
                "signing key {} of tenant {} cannot be loaded: {e}",
                record.kid, record.tenant_id
            ))
        };
        let clear = record.open(master)?;
        let material = clear.expose_secret().as_bytes();
        let alg = record.algorithm.jsonwebtoken();
        let encoding = match record.algorithm {
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                EncodingKey::from_rsa_pem(material).map_err(corrupt)?
            }
            SigningAlgorithm::ES256 => EncodingKey::from_ec_pem(material).map_err(corrupt)?,
            SigningAlgorithm::EdDSA => EncodingKey::from_ed_pem(material).map_err(corrupt)?,
            SigningAlgorithm::HS256 => {
                let secret = URL_SAFE_NO_PAD.decode(material).map_err(|e| {
                    Error::Internal(format!("HS256 secret {} is not base64url: {e}", record.kid))
                })?;
                let verifying =
                    VerifyingKey::hs256(Some(record.kid.clone()), &secret).map_err(|e| {
                        Error::Internal(format!("HS256 secret {} is not usable: {e}", record.kid))
                    })?;
                let key = Self {
                    kid: record.kid.clone(),
                    algorithm: record.algorithm,
                    state: record.state,
                    encoding: EncodingKey::from_secret(&secret),
                    public_jwk: None,
                };
                return Ok((key, verifying));
            }
        };
        // The verifier is built from the very JWK we publish, so what
        // Gatehouse accepts and what others verify against cannot drift.
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).map_err(corrupt)?;
        jwk.common.key_id = Some(record.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let verifying = VerifyingKey::from_jwk(&jwk).map_err(|e| {
            Error::Internal(format!("published key {} is not usable: {e}", record.kid))
        })?;
        let key = Self {
            kid: record.kid.clone(),
            algorithm: record.algorithm,
            state: record.state,
            encoding,
            public_jwk: Some(jwk),
        };
        Ok((key, verifying))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_generates_a_sealed_loadable_key() {
        let master = MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap();
        for alg in SigningAlgorithm::ALL {
            let rec = SigningKeyRecord::generate("t1", alg, KeyState::Current, 0, &master).unwrap();
            assert!(MasterKeys::is_sealed(rec.private_material.expose_secret()));
            let (key, verifying) = LoadedKey::load(&rec, &master).unwrap();
            assert_eq!(key.algorithm, alg);
            assert_eq!(verifying.algorithm(), alg);
            assert_eq!(verifying.kid(), Some(rec.kid.as_str()));
            assert_eq!(key.public_jwk.is_none(), alg.is_symmetric(), "{alg}");
            let debug = format!("{rec:?}");
            assert!(!debug.contains(rec.private_material.expose_secret()));
        }
    }
}
