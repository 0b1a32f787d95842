//! A tenant's keyring: the tenant, its issuer URL and its loaded keys. It
//! signs with the current key, and yields the public [`KeySet`] that
//! `gatehouse-jwt` verifies against (the published keys, HS256 secrets
//! included). It is what the server caches so `/auth` needs no database read.

use gatehouse_jwt::KeySet;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Header, encode};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::algorithm::SigningAlgorithm;
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
    /// What verification needs: the issuer, the accepted audiences and the
    /// verifying half of every published key.
    key_set: KeySet,
    /// The JWKS document, serialised once per load, and its ETag.
    jwks_json: String,
    jwks_etag: String,
    /// Unique per load on this node: what a verification is remembered
    /// under (see `service::verified_tokens`), so a reload (a key added,
    /// retired or removed, an audience changed) forgets every earlier
    /// verdict at once.
    generation: u64,
}

/// The source of [`TenantKeyring::generation`].
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl TenantKeyring {
    pub fn new(
        tenant: Tenant,
        issuer: String,
        records: &[SigningKeyRecord],
        master: &MasterKeys,
    ) -> Result<Self> {
        // Before the first key is read: jsonwebtoken fixes its provider then.
        crate::crypto::prepared_signers::install();
        let mut loaded = records
            .iter()
            .map(|r| LoadedKey::load(r, master))
            .collect::<Result<Vec<_>>>()?;
        loaded.sort_by_key(|(k, _)| std::cmp::Reverse(k.state == KeyState::Current));
        let (keys, verifying): (Vec<_>, Vec<_>) = loaded.into_iter().unzip();
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
        let key_set = KeySet::new(
            issuer.clone(),
            accepted_audiences(&tenant, &issuer),
            verifying,
        );
        Ok(Self {
            tenant,
            issuer,
            keys,
            key_set,
            jwks_json,
            jwks_etag,
            generation: GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// This load's number, unique on this node unless kept by
    /// [`keep_generation_if_same`](Self::keep_generation_if_same).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Takes `previous`'s generation when this load verifies exactly as it
    /// did: same issuer, same audiences, same keys (by kid, which is
    /// random per key and never reused, and algorithm). A key's state
    /// (next, current, retired) does not matter: every published key
    /// verifies. Anything else keeps the new generation, which forgets
    /// every verdict remembered under the old one.
    pub fn keep_generation_if_same(&mut self, previous: &TenantKeyring) {
        fn verifies_with(k: &TenantKeyring) -> (&str, &[String], Vec<(&str, SigningAlgorithm)>) {
            let mut keys: Vec<_> = k
                .keys
                .iter()
                .map(|key| (key.kid.as_str(), key.algorithm))
                .collect();
            keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
            (&k.issuer, &k.key_set.audiences, keys)
        }
        if verifies_with(self) == verifies_with(previous) {
            self.generation = previous.generation;
        }
    }

    /// The key that signs now.
    pub fn signing_key(&self) -> &LoadedKey {
        // `new` guarantees the first key is the current one.
        &self.keys[0]
    }

    /// What `gatehouse_jwt::verify_access_token` checks this tenant's
    /// tokens against.
    pub fn key_set(&self) -> &KeySet {
        &self.key_set
    }

    /// Accepted `aud` values; the issuer when the tenant names none.
    pub fn audiences(&self) -> Vec<String> {
        self.key_set.audiences.clone()
    }

    /// Signs an access token: [`AccessClaims`], or a compatibility format
    /// that embeds them and adds claims of its own.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String> {
        self.sign_typed(claims, ACCESS_TOKEN_TYP)
    }

    /// Signs claims with the current key under the JWS `typ` of their kind
    /// (`at+jwt` for access tokens, `JWT` for ID tokens), so one kind can
    /// never be taken for the other (RFC 8725 §3.11).
    pub fn sign_typed<C: Serialize>(&self, claims: &C, typ: &str) -> Result<String> {
        let key = self.signing_key();
        let mut header = Header::new(key.algorithm.jsonwebtoken());
        header.typ = Some(typ.to_string());
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

/// The `aud` values a tenant's tokens carry and its verifier accepts: the
/// tenant's configured audiences, or its issuer when it names none.
fn accepted_audiences(tenant: &Tenant, issuer: &str) -> Vec<String> {
    if tenant.audiences.is_empty() {
        vec![issuer.to_string()]
    } else {
        tenant.audiences.clone()
    }
}
