//! A tenant's keyring: the tenant, its issuer URL and its loaded keys. It
//! signs with the current key and verifies against the published ones, and
//! it is what the server caches so `/auth` needs no database read.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Header, encode};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::keys::{KeyState, LoadedKey, SigningKeyRecord};
use crate::sealing::MasterKeys;
use crate::tenant::Tenant;
use crate::token::ACCESS_TOKEN_TYP;
#[cfg(doc)]
use crate::token::AccessClaims;
use crate::{Error, Result};

#[derive(Debug)]
pub struct TenantKeyring {
    pub tenant: Tenant,
    /// `{public_url}/t/{tenant}`: the `iss` of every token it signs.
    pub issuer: String,
    /// Published keys, the current one first.
    keys: Vec<LoadedKey>,
    /// The JWKS document, serialised once per load, and its ETag.
    jwks_json: String,
    jwks_etag: String,
}

impl TenantKeyring {
    pub fn new(
        tenant: Tenant,
        issuer: String,
        records: &[SigningKeyRecord],
        master: &MasterKeys,
    ) -> Result<Self> {
        let mut keys = records
            .iter()
            .map(|r| LoadedKey::load(r, master))
            .collect::<Result<Vec<_>>>()?;
        keys.sort_by_key(|k| std::cmp::Reverse(k.state == KeyState::Current));
        if keys.first().map(|k| k.state) != Some(KeyState::Current) {
            return Err(Error::Internal(format!(
                "tenant {} has no current signing key",
                tenant.name
            )));
        }
        let jwks = JwkSet {
            keys: keys.iter().filter_map(|k| k.public_jwk.clone()).collect(),
        };
        let jwks_json = serde_json::to_string(&jwks)
            .map_err(|e| Error::Internal(format!("JWKS serialisation failed: {e}")))?;
        let jwks_etag = format!("\"{}\"", hex::encode(&Sha256::digest(&jwks_json)[..16]));
        Ok(Self {
            tenant,
            issuer,
            keys,
            jwks_json,
            jwks_etag,
        })
    }

    /// The key that signs now.
    pub fn signing_key(&self) -> &LoadedKey {
        // `new` guarantees the first key is the current one.
        &self.keys[0]
    }

    /// A published key by `kid`; the only way a verifier finds a key.
    pub fn key(&self, kid: &str) -> Option<&LoadedKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Accepted `aud` values; the issuer when the tenant names none.
    pub fn audiences(&self) -> Vec<String> {
        if self.tenant.audiences.is_empty() {
            vec![self.issuer.clone()]
        } else {
            self.tenant.audiences.clone()
        }
    }

    /// Signs an access token: [`AccessClaims`], or a compatibility format
    /// that embeds them and adds claims of its own.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String> {
        let key = self.signing_key();
        let mut header = Header::new(key.algorithm.jwt());
        header.typ = Some(ACCESS_TOKEN_TYP.to_string());
        header.kid = Some(key.kid.clone());
        encode(&header, claims, &key.encoding)
            .map_err(|e| Error::Internal(format!("signing with key {} failed: {e}", key.kid)))
    }

    /// The public keys for `/.well-known/jwks.json`, serialised. HS256
    /// secrets have no public JWK and so never appear.
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    /// A strong ETag of [`jwks_json`](Self::jwks_json), for `If-None-Match`.
    pub fn jwks_etag(&self) -> &str {
        &self.jwks_etag
    }

    /// All published keys (any state), the current one first.
    pub fn keys(&self) -> &[LoadedKey] {
        &self.keys
    }
}
