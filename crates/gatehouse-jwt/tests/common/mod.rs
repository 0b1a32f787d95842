//! Keys for the verifier's tests, made with aws-lc-rs directly: no master
//! key, no keyring. Each key is signed with as Gatehouse signs (`typ:
//! at+jwt`, `kid`) and published as Gatehouse publishes it (a JWK with
//! `kid` and `use: sig`, HS256 excepted), and its [`VerifyingKey`] is made
//! from that very JWK (or from the HS256 secret), as the keyring does.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_jwt::{ACCESS_TOKEN_TYP, SigningAlgorithm, VerifyingKey};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;

/// A signing key of one algorithm with everything a test needs of it.
pub struct TestKey {
    pub kid: String,
    pub alg: SigningAlgorithm,
    pub encoding: EncodingKey,
    /// PKCS#8 DER of the private key, or the raw HS256 secret.
    pub private_der: Vec<u8>,
    /// The published JWK; `None` for HS256.
    pub public_jwk: Option<Jwk>,
    pub verifying: VerifyingKey,
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).unwrap();
    out
}

/// Random base64url text of `N` bytes (how Gatehouse makes kids and
/// refresh tokens).
pub fn random_token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

/// A fresh key for `alg` (RSA-2048 for RS256/PS256, P-256, Ed25519, a
/// 256-bit HS256 secret), with a random 12-byte kid.
pub fn generate(alg: SigningAlgorithm) -> TestKey {
    let pkcs8 = match alg {
        SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
            pair.as_der().unwrap().as_ref().to_vec()
        }
        SigningAlgorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .unwrap()
            .to_pkcs8v1()
            .unwrap()
            .as_ref()
            .to_vec(),
        SigningAlgorithm::EdDSA => Ed25519KeyPair::generate()
            .unwrap()
            .to_pkcs8v1()
            .unwrap()
            .as_ref()
            .to_vec(),
        SigningAlgorithm::HS256 => random_bytes::<32>().to_vec(),
    };
    from_material(alg, random_token::<12>(), pkcs8)
}

/// A key from PKCS#8 DER (or the raw HS256 secret).
pub fn from_material(alg: SigningAlgorithm, kid: String, private_der: Vec<u8>) -> TestKey {
    if alg == SigningAlgorithm::HS256 {
        return TestKey {
            verifying: VerifyingKey::hs256(Some(kid.clone()), &private_der).unwrap(),
            encoding: EncodingKey::from_secret(&private_der),
            kid,
            alg,
            private_der,
            public_jwk: None,
        };
    }
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", private_der.clone()));
    let encoding = match alg {
        SigningAlgorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        SigningAlgorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
    }
    .unwrap();
    let mut jwk = Jwk::from_encoding_key(&encoding, alg.jsonwebtoken()).unwrap();
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    TestKey {
        verifying: VerifyingKey::from_jwk(&jwk).unwrap(),
        encoding,
        kid,
        alg,
        private_der,
        public_jwk: Some(jwk),
    }
}

impl TestKey {
    /// Signs `claims` as Gatehouse's keyring does.
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        let mut header = Header::new(self.alg.jsonwebtoken());
        header.typ = Some(ACCESS_TOKEN_TYP.to_string());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// The JWKS document of `keys`, serialised as Gatehouse serves it (HS256
/// secrets never appear).
pub fn jwks_json(keys: &[&TestKey]) -> String {
    let set = JwkSet {
        keys: keys.iter().filter_map(|k| k.public_jwk.clone()).collect(),
    };
    serde_json::to_string(&set).unwrap()
}
