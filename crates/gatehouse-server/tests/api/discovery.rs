use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{header_of, spawn_app};

#[tokio::test]
async fn jwks_publishes_public_keys_only_and_is_cacheable() {
    let app = spawn_app().await;
    let tokens = app.user_with_tokens("default", "alice").await;
    let kid = header_of(tokens["access_token"].as_str().unwrap())["kid"].clone();

    let r = app.get("/t/default/.well-known/jwks.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(cache.contains("max-age="), "{cache}");
    let jwks: Value = r.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(k["kid"], kid);
    assert_eq!(
        (k["kty"].as_str(), k["alg"].as_str(), k["use"].as_str()),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    // No private parameters, ever.
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(k.get(private).is_none(), "JWKS leaks `{private}`");
    }
}

#[tokio::test]
async fn each_algorithm_publishes_its_key_type_and_hs256_publishes_nothing() {
    let app = spawn_app().await;
    for (tenant, alg, kty) in [
        ("ps", "PS256", Some("RSA")),
        ("es", "ES256", Some("EC")),
        ("ed", "EdDSA", Some("OKP")),
        ("hs", "HS256", None),
    ] {
        app.create_tenant(tenant, alg).await;
        let jwks = app.jwks(tenant).await;
        let keys = jwks["keys"].as_array().unwrap();
        match kty {
            Some(kty) => {
                assert_eq!(keys.len(), 1, "{alg}");
                assert_eq!(keys[0]["kty"], kty);
                assert_eq!(keys[0]["alg"], alg);
                assert!(keys[0].get("d").is_none());
            }
            None => assert!(keys.is_empty(), "an HS256 secret must never be published"),
        }
    }
}

#[tokio::test]
async fn openid_configuration_describes_the_tenant() {
    let app = spawn_app().await;
    let r = app.get("/t/default/.well-known/openid-configuration").await;
    assert_eq!(r.status(), StatusCode::OK);
    let c: Value = r.json().await.unwrap();
    let iss = app.iss("default");
    assert_eq!(c["issuer"], iss.as_str());
    assert_eq!(c["jwks_uri"], format!("{iss}/.well-known/jwks.json"));
    assert_eq!(c["token_endpoint"], format!("{iss}/token"));
    // What the code flow needs, and only what is implemented.
    assert_eq!(c["authorization_endpoint"], format!("{iss}/authorize"));
    assert_eq!(c["userinfo_endpoint"], format!("{iss}/userinfo"));
    assert_eq!(c["introspection_endpoint"], format!("{iss}/introspect"));
    assert_eq!(c["revocation_endpoint"], format!("{iss}/revoke"));
    assert_eq!(c["end_session_endpoint"], format!("{iss}/end_session"));
    assert_eq!(c["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        c["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        c["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(c["authorization_response_iss_parameter_supported"], true);
    let methods = c["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&"client_secret_basic".into()));
    assert!(methods.contains(&"client_secret_post".into()));
    let grants = c["grant_types_supported"].as_array().unwrap();
    for grant in [
        "authorization_code",
        "client_credentials",
        "refresh_token",
        "password",
    ] {
        assert!(grants.contains(&grant.into()), "{grant}");
    }
    assert!(!grants.contains(&"implicit".into()));
}
