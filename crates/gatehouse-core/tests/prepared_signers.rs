//! In a process of its own, so nothing else chose jsonwebtoken's provider
//! first: a tenant's keyring signs with keys parsed once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::crypto::prepared_signers;
use gatehouse_core::keyring::TenantKeyring;
use gatehouse_core::keys::{KeyState, SigningKeyRecord};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_core::tenant::{Tenant, TenantName};
use gatehouse_jwt::verify_compact;

#[test]
fn keyrings_sign_with_keys_parsed_once() {
    let master = MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap();
    let mut asymmetric = 0;
    for algorithm in [
        SigningAlgorithm::RS256,
        SigningAlgorithm::PS256,
        SigningAlgorithm::ES256,
        SigningAlgorithm::EdDSA,
        SigningAlgorithm::HS256,
    ] {
        let tenant = Tenant {
            id: format!("t-{algorithm}"),
            name: TenantName::parse("acme").unwrap(),
            algorithm,
            access_ttl_secs: 900,
            audiences: vec![],
            display_name: None,
            settings: Default::default(),
            created_at: 0,
        };
        let record =
            SigningKeyRecord::generate(&tenant.id, algorithm, KeyState::Current, 0, &master)
                .unwrap();
        let keyring =
            TenantKeyring::new(tenant, "http://i/t/acme".into(), &[record], &master).unwrap();
        assert!(prepared_signers::installed());
        for n in 0..3 {
            let token = keyring.sign(&serde_json::json!({"n": n})).unwrap();
            let kid = keyring.signing_key().kid.clone();
            verify_compact(&token, |_| Ok(keyring.key_set().key(&kid).unwrap())).unwrap();
        }
        if algorithm != SigningAlgorithm::HS256 {
            asymmetric += 1;
        }
        // One parse per key, however many tokens.
        assert_eq!(prepared_signers::parsed_keys(), asymmetric, "{algorithm}");
    }
}
