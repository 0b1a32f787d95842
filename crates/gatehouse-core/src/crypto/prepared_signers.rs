//! Signing keys parsed once, not once per token.
//!
//! `jsonwebtoken` builds each JWS itself (header, claims, base64url, the
//! signing input) and asks its process-wide [`CryptoProvider`] for a
//! signer per call; the stock aws-lc-rs provider parses the private key
//! from DER on every one of them. Parsing costs more than signing: an RSA
//! key's checks take about 600 µs beside a 400 µs RS256 signature, a P-256
//! key about 15 µs beside a 21 µs ES256 one (measured on the 2-core bench
//! machine). That is the hot path of client credentials and of every login.
//!
//! So Gatehouse installs the stock provider with one change: its signer
//! factory keeps each parsed key pair, found again by the SHA-256 of the
//! key's DER (about 1 µs). JOSE stays `jsonwebtoken`'s and cryptography
//! aws-lc-rs's; only the parse is remembered. HMAC keys need no parsing and
//! go to the stock factory, as does anything the cache cannot hold.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Once, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256, RsaKeyPair,
};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, aws_lc};
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::signature::{Error as SignatureError, Signer};
use jsonwebtoken::{Algorithm, EncodingKey};
use sha2::{Digest, Sha256};

/// The provider Gatehouse signs with: aws-lc-rs, with parsed keys kept.
static PROVIDER: LazyLock<CryptoProvider> = LazyLock::new(|| CryptoProvider {
    signer_factory: prepared_signer,
    verifier_factory: aws_lc::DEFAULT_PROVIDER.verifier_factory,
    key_utils: aws_lc::DEFAULT_PROVIDER.key_utils.clone(),
});

/// More keys than any node holds (each tenant publishes two or three); if
/// it is ever reached the cache starts over, so memory stays bounded.
const MAX_KEYS: usize = 4096;

static PARSED: LazyLock<RwLock<HashMap<[u8; 32], Arc<ParsedKey>>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// Installs the provider for this process. Idempotent. It must come before
/// the first use of `jsonwebtoken`'s cryptography, which fixes the stock
/// provider otherwise; then signing still works, only without the cache,
/// and the log says so.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let provider: &'static CryptoProvider = &PROVIDER;
        if provider.install_default().is_ok() {
            INSTALLED.store(true, Ordering::Release);
        } else {
            tracing::warn!(
                "signing keys are parsed per token: jsonwebtoken's provider was chosen before Gatehouse installed its own"
            );
        }
    });
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Whether this process signs with the cached parses (for tests and the
/// bench to check).
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Acquire)
}

/// How many parsed keys are kept now.
pub fn parsed_keys() -> usize {
    PARSED.read().map(|m| m.len()).unwrap_or(0)
}

enum ParsedKey {
    Rsa(RsaKeyPair),
    P256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

struct PreparedSigner {
    key: Arc<ParsedKey>,
    algorithm: Algorithm,
}

fn prepared_signer(
    algorithm: &Algorithm,
    key: &EncodingKey,
) -> Result<Box<dyn JwtSigner>, JwtError> {
    if !matches!(
        algorithm,
        Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 | Algorithm::EdDSA
    ) {
        return (aws_lc::DEFAULT_PROVIDER.signer_factory)(algorithm, key);
    }
    let id: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let known = PARSED.read().ok().and_then(|m| m.get(&id).cloned());
    let parsed = match known {
        Some(parsed) => parsed,
        None => {
            let parsed = Arc::new(parse(*algorithm, key.as_bytes())?);
            if let Ok(mut map) = PARSED.write() {
                if map.len() >= MAX_KEYS {
                    map.clear();
                }
                map.insert(id, parsed.clone());
            }
            parsed
        }
    };
    let fits = matches!(
        (&*parsed, algorithm),
        (ParsedKey::Rsa(_), Algorithm::RS256 | Algorithm::PS256)
            | (ParsedKey::P256(_), Algorithm::ES256)
            | (ParsedKey::Ed25519(_), Algorithm::EdDSA)
    );
    if !fits {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(PreparedSigner {
        key: parsed,
        algorithm: *algorithm,
    }))
}

/// The same parses the stock provider does per call.
fn parse(algorithm: Algorithm, der: &[u8]) -> Result<ParsedKey, JwtError> {
    match algorithm {
        Algorithm::RS256 | Algorithm::PS256 => RsaKeyPair::from_der(der)
            .map(ParsedKey::Rsa)
            .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()).into()),
        Algorithm::ES256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map(ParsedKey::P256)
            .map_err(|_| ErrorKind::InvalidEcdsaKey.into()),
        Algorithm::EdDSA => Ed25519KeyPair::from_pkcs8(der)
            .map(ParsedKey::Ed25519)
            .map_err(|_| ErrorKind::InvalidEddsaKey.into()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

impl Signer<Vec<u8>> for PreparedSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, SignatureError> {
        let rng = SystemRandom::new();
        match (&*self.key, self.algorithm) {
            (ParsedKey::Rsa(pair), algorithm) => {
                let padding = if algorithm == Algorithm::PS256 {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut signature)
                    .map_err(SignatureError::from_source)?;
                Ok(signature)
            }
            (ParsedKey::P256(pair), _) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(SignatureError::from_source),
            (ParsedKey::Ed25519(pair), _) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

impl JwtSigner for PreparedSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::SigningAlgorithm;
    use crate::keys::{KeyState, LoadedKey, SigningKeyRecord};
    use crate::sealing::MasterKeys;
    use gatehouse_jwt::verify_compact;

    #[test]
    fn every_asymmetric_algorithm_signs_through_one_parse_and_verifies() {
        install();
        let master = MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap();
        for algorithm in [
            SigningAlgorithm::RS256,
            SigningAlgorithm::PS256,
            SigningAlgorithm::ES256,
            SigningAlgorithm::EdDSA,
            SigningAlgorithm::HS256,
        ] {
            let record =
                SigningKeyRecord::generate("t", algorithm, KeyState::Current, 0, &master).unwrap();
            let (key, verifying) = LoadedKey::load(&record, &master).unwrap();
            let mut header = jsonwebtoken::Header::new(algorithm.jsonwebtoken());
            header.kid = Some(key.kid.clone());
            for n in 0..3 {
                let token =
                    jsonwebtoken::encode(&header, &serde_json::json!({"n": n}), &key.encoding)
                        .unwrap();
                let checked = verify_compact(&token, |_| Ok(&verifying)).unwrap();
                assert_eq!(checked.payload, format!("{{\"n\":{n}}}").as_bytes());
            }
            // Another test of this binary may have fixed the stock provider
            // first; tests/prepared_signers.rs checks the cache in a process
            // of its own.
            if installed() && algorithm != SigningAlgorithm::HS256 {
                let id: [u8; 32] = Sha256::digest(key.encoding.as_bytes()).into();
                assert!(PARSED.read().unwrap().contains_key(&id), "{algorithm}");
            }
        }
    }
}
