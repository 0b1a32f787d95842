//! The issued tokens verify with an independent JOSE implementation
//! (Python's PyJWT) against the JWKS URL, for each of the five algorithms.
//!
//! Needs `python3` with `pyjwt[crypto]`; `.ci/run` installs it and sets
//! `GATEHOUSE_TEST_REQUIRE_INTEROP=1`, so in CI a missing PyJWT fails the
//! test instead of skipping it.

use std::time::Duration;

use gatehouse_core::store::{KeyStore, TenantStore};
use serde_json::Value;
use tokio::process::Command;

use crate::helpers::spawn_app;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/verify_with_pyjwt.py"
);

async fn pyjwt_available() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output()
        .await;
    let ok = matches!(probe, Ok(o) if o.status.success());
    if !ok && std::env::var_os("GATEHOUSE_TEST_REQUIRE_INTEROP").is_some() {
        panic!(
            "PyJWT is required (GATEHOUSE_TEST_REQUIRE_INTEROP is set): pip install 'pyjwt[crypto]'"
        );
    }
    ok
}

#[tokio::test]
async fn pyjwt_verifies_tokens_of_every_algorithm_against_the_jwks_url() {
    if !pyjwt_available().await {
        eprintln!("skipped: python3 with pyjwt[crypto] not found");
        return;
    }
    let app = spawn_app().await;
    app.register("default", "alice").await;
    for (tenant, alg) in [
        ("rs", "RS256"),
        ("ps", "PS256"),
        ("es", "ES256"),
        ("ed", "EdDSA"),
        ("hs", "HS256"),
    ] {
        app.create_tenant(tenant, alg).await;
        let tokens = app.user_with_tokens(tenant, "alice").await;
        let jwt = tokens["access_token"].as_str().unwrap();
        let iss = app.iss(tenant);
        let mut args = vec![
            SCRIPT.to_string(),
            jwt.to_string(),
            iss.clone(),
            iss.clone(),
            alg.to_string(),
        ];
        if alg == "HS256" {
            // The secret a verifying service would be given (`gatehouse key secret`).
            let t = app.store.tenant_by_name(tenant).await.unwrap().unwrap();
            let keys = app.store.keys_for_tenant(&t.id).await.unwrap();
            let secret = keys[0].open(&app.master).unwrap();
            args.push(secrecy::ExposeSecret::expose_secret(&secret).to_string());
        }
        let out = tokio::time::timeout(
            Duration::from_secs(30),
            Command::new("python3").args(&args).output(),
        )
        .await
        .expect("PyJWT took over 30 s")
        .unwrap();
        assert!(
            out.status.success(),
            "{alg}: PyJWT rejected the token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let claims: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(claims["preferred_username"], "alice", "{alg}");
        assert_eq!(claims["iss"], iss.as_str());

        // And a token from another tenant must fail under PyJWT too.
        if alg != "HS256" {
            let foreign = app.login("default", "alice").await;
            let out = Command::new("python3")
                .args([
                    SCRIPT,
                    foreign["access_token"].as_str().unwrap(),
                    &iss,
                    &iss,
                    alg,
                ])
                .output()
                .await
                .unwrap();
            assert!(
                !out.status.success(),
                "{alg}: PyJWT accepted a foreign token"
            );
        }
    }
}
