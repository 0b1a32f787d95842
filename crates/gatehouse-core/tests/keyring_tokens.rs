//! What only the signing side does, checked against the verifier: the
//! tenant keyring signs tokens that `gatehouse-jwt` accepts over the
//! [`KeySet`] the keyring yields, and no other tenant's key set accepts
//! them. The attacks on the verifier itself live in
//! `crates/gatehouse-jwt/tests/attacks.rs`, over key sets built directly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::keyring::TenantKeyring;
use gatehouse_core::keys::{KeyState, SigningKeyRecord};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_core::tenant::{Tenant, TenantName, issuer_url};
use gatehouse_core::token::{AccessClaims, Audience};
use gatehouse_jwt::{DEFAULT_LEEWAY_SECS, KeySet, TokenError, verify_access_token};
use jsonwebtoken::EncodingKey;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000;
const PUBLIC_URL: &str = "https://auth.example.com";

fn keyring(name: &str, alg: SigningAlgorithm, audiences: &[&str]) -> TenantKeyring {
    let master = MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap();
    let tenant_id = format!("id-{name}");
    let record =
        SigningKeyRecord::generate(&tenant_id, alg, KeyState::Current, NOW - 86_400, &master)
            .unwrap();
    let tenant_name = TenantName::parse(name).unwrap();
    let tenant = Tenant {
        id: tenant_id,
        name: tenant_name.clone(),
        algorithm: alg,
        access_ttl_secs: 900,
        audiences: audiences.iter().map(|a| a.to_string()).collect(),
        display_name: None,
        settings: Default::default(),
        created_at: NOW - 86_400,
    };
    TenantKeyring::new(
        tenant,
        issuer_url(PUBLIC_URL, &tenant_name),
        &[record],
        &master,
    )
    .unwrap()
}

static KEYRINGS: LazyLock<Vec<TenantKeyring>> = LazyLock::new(|| {
    [
        ("acme", SigningAlgorithm::RS256),
        ("pss", SigningAlgorithm::PS256),
        ("ecdsa", SigningAlgorithm::ES256),
        ("edwards", SigningAlgorithm::EdDSA),
        ("hmac", SigningAlgorithm::HS256),
    ]
    .into_iter()
    .map(|(name, alg)| keyring(name, alg, &[]))
    .collect()
});
static RS_OTHER: LazyLock<TenantKeyring> =
    LazyLock::new(|| keyring("globex", SigningAlgorithm::RS256, &[]));
static ES_OTHER: LazyLock<TenantKeyring> =
    LazyLock::new(|| keyring("initech", SigningAlgorithm::ES256, &[]));

fn claims(k: &TenantKeyring) -> AccessClaims {
    AccessClaims {
        iss: k.issuer.clone(),
        sub: "user-1".into(),
        aud: Audience::from_list(k.audiences()),
        exp: NOW + 900,
        iat: NOW,
        nbf: NOW,
        jti: "jti-1".into(),
        client_id: "client-1".into(),
        sid: None,
        scope: "openid".into(),
        preferred_username: None,
        email: None,
        email_verified: None,
        given_name: None,
        family_name: None,
        roles: vec!["reader".into()],
    }
}

fn verify(keys: &KeySet, token: &str) -> Result<AccessClaims, TokenError> {
    verify_access_token(keys, token, NOW, DEFAULT_LEEWAY_SECS)
}

fn header_of(token: &str) -> Value {
    let h = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap()
}

#[test]
fn tokens_the_keyring_signs_verify_against_its_key_set() {
    for k in KEYRINGS.iter() {
        let alg = k.signing_key().algorithm;
        let own = claims(k);
        let token = k.sign(&own).unwrap();
        assert_eq!(verify(k.key_set(), &token).unwrap(), own, "{alg}");
        let header = header_of(&token);
        assert_eq!(header["typ"], "at+jwt", "{alg}");
        assert_eq!(header["alg"], alg.as_str(), "{alg}");
        assert_eq!(header["kid"], k.signing_key().kid.as_str(), "{alg}");
    }
}

#[test]
fn the_key_set_is_the_tenants_public_side() {
    for k in KEYRINGS.iter() {
        let set = k.key_set();
        let alg = k.signing_key().algorithm;
        assert_eq!(set.issuer, k.issuer);
        // No audiences configured: the issuer is the audience.
        assert_eq!(set.audiences, vec![k.issuer.clone()]);
        assert_eq!(set.keys.len(), 1);
        // HS256 secrets verify too, though the JWKS never shows them.
        let key = set.key(&k.signing_key().kid).unwrap();
        assert_eq!(key.algorithm(), alg);
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(k.jwks_json()).unwrap();
        assert_eq!(jwks.keys.len(), usize::from(!alg.is_symmetric()), "{alg}");
        // A downstream verifier filling its key set from the JWKS accepts
        // the same tokens (HS256 aside: it has nothing published).
        let from_jwks = KeySet::from_jwks(k.issuer.clone(), k.audiences(), &jwks);
        let token = k.sign(&claims(k)).unwrap();
        assert_eq!(verify(&from_jwks, &token).is_ok(), !alg.is_symmetric());
    }
    let api = keyring(
        "orders",
        SigningAlgorithm::ES256,
        &["api://orders", "api://billing"],
    );
    assert_eq!(api.key_set().audiences, ["api://orders", "api://billing"]);
    let token = api.sign(&claims(&api)).unwrap();
    assert!(verify(api.key_set(), &token).is_ok());
}

#[test]
fn each_tenant_rejects_the_other_keyrings_tokens() {
    for (a, b) in [(&KEYRINGS[0], &*RS_OTHER), (&KEYRINGS[2], &*ES_OTHER)] {
        assert_eq!(a.signing_key().algorithm, b.signing_key().algorithm);
        let from_a = a.sign(&claims(a)).unwrap();
        let from_b = b.sign(&claims(b)).unwrap();
        assert!(verify(a.key_set(), &from_a).is_ok());
        assert!(verify(b.key_set(), &from_b).is_ok());
        assert_eq!(verify(b.key_set(), &from_a), Err(TokenError::UnknownKey));
        assert_eq!(verify(a.key_set(), &from_b), Err(TokenError::UnknownKey));
        // Even with the victim's iss and aud, the key gives it away.
        let forged = a.sign(&claims(b)).unwrap();
        assert_eq!(verify(b.key_set(), &forged), Err(TokenError::UnknownKey));
    }
}

#[test]
fn a_minted_refresh_token_is_not_an_access_token() {
    let minted = gatehouse_core::refresh::mint("id-acme", "session-1", NOW, NOW + 3600).unwrap();
    let refresh = minted.token.expose_secret().to_string();
    for k in KEYRINGS.iter() {
        assert!(verify(k.key_set(), &refresh).is_err());
        assert!(verify(k.key_set(), &format!("{refresh}.{refresh}.{refresh}")).is_err());
        let token = k.sign(&claims(k)).unwrap();
        let mut parts = token.split('.');
        let (h, _, s) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
        assert!(verify(k.key_set(), &format!("{h}.{refresh}.{s}")).is_err());
    }
}

/// The classic confusion forgery with the exact JWKS text the keyring
/// serves as the HMAC secret.
#[test]
fn hs256_keyed_with_the_served_jwks_is_rejected() {
    for k in KEYRINGS
        .iter()
        .filter(|k| !k.signing_key().algorithm.is_symmetric())
    {
        let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": k.signing_key().kid});
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        let input = format!(
            "{}.{}",
            b64(&header),
            b64(&serde_json::to_value(claims(k)).unwrap())
        );
        let mac = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &EncodingKey::from_secret(k.jwks_json().as_bytes()),
            jsonwebtoken::Algorithm::HS256,
        )
        .unwrap();
        assert_eq!(
            verify(k.key_set(), &format!("{input}.{mac}")),
            Err(TokenError::AlgorithmMismatch)
        );
    }
}

/// `/auth` remembers verdicts per keyring generation: a reload that
/// verifies exactly as before keeps it, any change of keys, issuer or
/// audiences does not.
#[test]
fn a_reload_keeps_the_generation_only_when_it_verifies_the_same() {
    let master = MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap();
    let name = TenantName::parse("gen").unwrap();
    let tenant = |audiences: &[&str]| Tenant {
        id: "id-gen".into(),
        name: name.clone(),
        algorithm: SigningAlgorithm::ES256,
        access_ttl_secs: 900,
        audiences: audiences.iter().map(|a| a.to_string()).collect(),
        display_name: None,
        settings: Default::default(),
        created_at: NOW - 86_400,
    };
    let key = |state| {
        SigningKeyRecord::generate("id-gen", SigningAlgorithm::ES256, state, NOW, &master).unwrap()
    };
    let current = key(KeyState::Current);
    let issuer = issuer_url(PUBLIC_URL, &name);
    let load = |audiences: &[&str], records: &[SigningKeyRecord]| {
        TenantKeyring::new(tenant(audiences), issuer.clone(), records, &master).unwrap()
    };

    let first = load(&[], std::slice::from_ref(&current));
    let mut same = load(&[], std::slice::from_ref(&current));
    assert_ne!(same.generation(), first.generation(), "every load is new");
    same.keep_generation_if_same(&first);
    assert_eq!(same.generation(), first.generation());

    let mut more_keys = load(&[], &[current.clone(), key(KeyState::Next)]);
    more_keys.keep_generation_if_same(&first);
    assert_ne!(more_keys.generation(), first.generation(), "a key added");

    let mut other_audience = load(&["https://api.example"], std::slice::from_ref(&current));
    other_audience.keep_generation_if_same(&first);
    assert_ne!(
        other_audience.generation(),
        first.generation(),
        "an audience changed"
    );

    let mut other_key = load(&[], &[key(KeyState::Current)]);
    other_key.keep_generation_if_same(&first);
    assert_ne!(
        other_key.generation(),
        first.generation(),
        "the key replaced"
    );
}
