//! The attack suite's cases, through the extractor: a representative set
//! of every attack family in `crates/gatehouse-jwt/tests/attacks.rs`
//! (built with that suite's own key helpers), each thrown at
//!
//! 1. the raw verifier, `gatehouse_jwt::verify_access_token`, over the
//!    tenant's key set (what the suite checks),
//! 2. [`Verifier::verify`],
//! 3. an axum route taking [`CurrentUser`], and
//! 4. a route behind [`AuthLayer`](gatehouse_verify::AuthLayer),
//!
//! and all four must refuse it for the same reason: the raw verifier's
//! sentence is the `error_description` of the extractor's 401. The controls
//! show the same builders make tokens all four accept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gatehouse_jwt::{
    DEFAULT_LEEWAY_SECS, KeySet, MAX_TOKEN_BYTES, SigningAlgorithm, verify_access_token,
};
use gatehouse_verify::{CurrentUser, ManualClock, Verifier, VerifyError};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use support::{TestKey, generate, keys};
use tower::ServiceExt;

const NOW: i64 = 1_700_000_000;
const PUBLIC_URL: &str = "https://auth.example.com";

/// A tenant: its key, the raw key set the attack suite verifies against,
/// and a [`Verifier`] over the same keys, at the same instant.
struct Tenant {
    key: TestKey,
    keys: KeySet,
    verifier: Verifier,
}

fn tenant(name: &str, alg: SigningAlgorithm) -> Tenant {
    let key = generate(alg);
    let iss = format!("{PUBLIC_URL}/t/{name}");
    // The document a verifier fetches. HS256 has no public JWK: its
    // secret goes in as an `oct` JWK, bound to its kid exactly as the
    // keyring binds it (the kid-less `shared_secret` is tested apart).
    let jwks = match &key.public_jwk {
        Some(_) => keys::jwks_json(&[&key]),
        None => json!({"keys": [{
            "kty": "oct", "alg": "HS256", "kid": key.kid,
            "k": URL_SAFE_NO_PAD.encode(&key.private_der),
        }]})
        .to_string(),
    };
    let raw = KeySet::from_jwks(
        &iss,
        vec![iss.clone()],
        &serde_json::from_str(&jwks).unwrap(),
    );
    assert_eq!(raw.keys.len(), 1);
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(NOW as u64));
    let verifier = Verifier::builder(&iss)
        .jwks(jwks)
        .clock(clock)
        .build()
        .unwrap();
    Tenant {
        key,
        keys: raw,
        verifier,
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn b64_text(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s.as_bytes())
}

fn sign_with(input: &str, key: &EncodingKey, alg: Algorithm) -> String {
    jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap()
}

impl Tenant {
    fn alg(&self) -> SigningAlgorithm {
        self.key.alg
    }

    fn header(&self) -> Value {
        json!({"alg": self.alg().as_str(), "typ": "at+jwt", "kid": self.key.kid})
    }

    fn claims(&self) -> Value {
        json!({
            "iss": self.keys.issuer, "sub": "user-1", "aud": self.keys.issuer,
            "exp": NOW + 900, "iat": NOW, "nbf": NOW, "jti": "jti-1",
            "client_id": "client-1", "scope": "openid", "roles": ["reader"],
        })
    }

    fn sign_input(&self, input: &str) -> String {
        format!(
            "{input}.{}",
            sign_with(input, &self.key.encoding, self.alg().jsonwebtoken())
        )
    }

    fn token(&self, header: &Value, claims: &Value) -> String {
        self.sign_input(&format!("{}.{}", b64(header), b64(claims)))
    }

    fn honest(&self) -> String {
        self.token(&self.header(), &self.claims())
    }

    fn with(base: Value, name: &str, value: Option<Value>) -> Value {
        let mut v = base;
        match value {
            Some(x) => v[name] = x,
            None => {
                v.as_object_mut().unwrap().remove(name);
            }
        }
        v
    }

    fn header_with(&self, name: &str, value: Option<Value>) -> Value {
        Self::with(self.header(), name, value)
    }

    fn claims_with(&self, name: &str, value: Option<Value>) -> Value {
        Self::with(self.claims(), name, value)
    }
}

/// Every attack family of the suite, for one tenant (and `other`, another
/// tenant of the same algorithm where one is needed).
fn attacks(t: &Tenant, other: &Tenant, attacker: &Tenant) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |what: &str, token: String| out.push((what.to_string(), token));
    let honest = t.honest();
    let mut parts = honest.split('.');
    let (h, p, s) = (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    );

    // alg: none, in its spellings, with and without a signature.
    for none in ["none", "None", "NONE"] {
        let input = format!("{}.{}", b64(&t.header_with("alg", Some(json!(none)))), p);
        add(&format!("alg {none}, empty signature"), format!("{input}."));
        add(
            &format!("alg {none}, copied signature"),
            format!("{input}.{s}"),
        );
        add(&format!("alg {none}, no signature part"), input);
    }
    // Another algorithm in the header than the key's, the signature honest
    // under the key's own algorithm (only the header lies).
    for other_alg in [
        "RS256", "PS256", "ES256", "EdDSA", "HS256", "ES384", "RS512",
    ] {
        if other_alg != t.alg().as_str() {
            add(
                &format!("{other_alg} header on a {} key", t.alg()),
                t.token(&t.header_with("alg", Some(json!(other_alg))), &t.claims()),
            );
        }
    }
    // The same key honestly used with a sibling algorithm.
    let siblings: &[&str] = match t.alg() {
        SigningAlgorithm::RS256 => &["PS256", "RS384", "RS512"],
        SigningAlgorithm::PS256 => &["RS256", "PS512"],
        SigningAlgorithm::HS256 => &["HS384", "HS512"],
        _ => &[],
    };
    for sib in siblings {
        let input = format!(
            "{}.{}",
            b64(&t.header_with("alg", Some(json!(sib)))),
            b64(&t.claims())
        );
        let sig = sign_with(&input, &t.key.encoding, sib.parse().unwrap());
        add(
            &format!("signed with {sib} by the {} key", t.alg()),
            format!("{input}.{sig}"),
        );
    }
    // RS256 → HS256 key confusion: the public key, in the encodings a
    // confused verifier might use, as an HMAC secret.
    if let Some(jwk) = &t.key.public_jwk {
        let mut secrets: Vec<(&str, Vec<u8>)> = vec![
            ("the JWKS text", keys::jwks_json(&[&t.key]).into_bytes()),
            ("the JWK text", serde_json::to_vec(jwk).unwrap()),
            ("the kid", t.key.kid.as_bytes().to_vec()),
            ("nothing", Vec::new()),
        ];
        match t.alg() {
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&t.key.private_der).unwrap();
                let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
                let pem = pem::encode(&pem::Pem::new("PUBLIC KEY", spki.clone()));
                secrets.push(("the SPKI PEM", pem.into_bytes()));
                secrets.push(("the SPKI DER", spki));
                secrets.push(("the PKCS#1 DER", pair.public_key().as_ref().to_vec()));
            }
            SigningAlgorithm::ES256 => {
                let pair =
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &t.key.private_der)
                        .unwrap();
                secrets.push(("the EC point", pair.public_key().as_ref().to_vec()));
            }
            _ => {}
        }
        for (label, secret) in secrets {
            let input = format!(
                "{}.{}",
                b64(&t.header_with("alg", Some(json!("HS256")))),
                b64(&t.claims())
            );
            let mac = sign_with(&input, &EncodingKey::from_secret(&secret), Algorithm::HS256);
            add(
                &format!("HS256 keyed with {label}"),
                format!("{input}.{mac}"),
            );
        }
    }
    // Keys and key locations in the header, attacker-signed and honest.
    if let Some(jwk) = &attacker.key.public_jwk {
        let header = t.header_with("jwk", Some(serde_json::to_value(jwk).unwrap()));
        add(
            "embedded attacker jwk",
            attacker.token(&header, &t.claims()),
        );
    }
    if let Some(own) = &t.key.public_jwk {
        let header = t.header_with("jwk", Some(serde_json::to_value(own).unwrap()));
        add(
            "embedded copy of the real key",
            t.token(&header, &t.claims()),
        );
    }
    for (name, value) in [
        (
            "jku",
            json!("https://attacker.example/.well-known/jwks.json"),
        ),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("x5c", json!([STANDARD.encode(b"not really a certificate")])),
        ("crit", json!(["exp"])),
        ("b64", json!(false)),
        ("zip", json!("DEF")),
        ("cty", json!("JWT")),
        ("jku", Value::Null),
        ("crit", Value::Null),
    ] {
        let header = t.header_with(name, Some(value.clone()));
        add(
            &format!("{name}: {value}, honestly signed"),
            t.token(&header, &t.claims()),
        );
        add(
            &format!("{name}: {value}, attacker-signed"),
            attacker.token(&header, &t.claims()),
        );
    }
    // typ: only at+jwt is an access token (an ID token is not).
    for typ in [
        None,
        Some(json!("JWT")),
        Some(json!("application/jwt")),
        Some(json!("at+jwt ")),
        Some(json!("at-jwt")),
        Some(json!("")),
        Some(json!(null)),
        Some(json!(["at+jwt"])),
    ] {
        let what = format!("typ {typ:?}");
        add(&what, t.token(&t.header_with("typ", typ), &t.claims()));
    }
    let mut id_claims = t.claims();
    id_claims["nonce"] = json!("n-0S6_WzA2Mj");
    id_claims["azp"] = json!("client-1");
    add(
        "an ID token",
        t.token(&t.header_with("typ", Some(json!("JWT"))), &id_claims),
    );
    // iss, aud and the times.
    let iss = t.keys.issuer.clone();
    for (name, value) in [
        ("iss", Some(json!("https://evil.example/t/acme"))),
        ("iss", Some(json!(format!("{iss}/")))),
        ("iss", Some(json!(iss.to_uppercase()))),
        ("iss", Some(json!(other.keys.issuer))),
        ("iss", None),
        ("aud", Some(json!("https://evil.example"))),
        ("aud", Some(json!([]))),
        ("aud", Some(json!([other.keys.issuer]))),
        ("aud", Some(json!(format!("{iss} ")))),
        ("aud", None),
        ("exp", Some(json!(NOW - DEFAULT_LEEWAY_SECS))),
        ("exp", Some(json!(NOW - 3600))),
        ("exp", Some(json!(0))),
        ("exp", Some(json!(i64::MIN))),
        ("exp", Some(json!((NOW + 900).to_string()))),
        ("exp", Some(json!((NOW + 900) as f64 + 0.5))),
        ("exp", None),
        ("nbf", Some(json!(NOW + DEFAULT_LEEWAY_SECS + 1))),
        ("nbf", Some(json!(i64::MAX))),
        ("iat", Some(json!(NOW + 3600))),
        ("sub", None),
        ("sub", Some(json!(1))),
        ("roles", Some(json!("admin"))),
    ] {
        add(
            &format!("claims with {name} = {value:?}"),
            t.token(&t.header(), &t.claims_with(name, value.clone())),
        );
    }
    // Cross-tenant: the other tenant's honest token, and its key over this
    // tenant's claims and kid.
    add("the other tenant's honest token", other.honest());
    add(
        "the other tenant's key with this tenant's kid",
        other.sign_input(&format!("{}.{}", b64(&t.header()), b64(&t.claims()))),
    );
    add(
        "the other tenant's key over this tenant's claims",
        other.token(&other.header(), &t.claims()),
    );
    // Hostile kids.
    let kid = t.key.kid.clone();
    for bad in [
        json!("../../dev/null"),
        json!("' OR 1=1 --"),
        json!("*"),
        json!(""),
        json!(format!("{kid} ")),
        json!(format!("{kid}\u{0}")),
        json!(kid.to_uppercase()),
        json!(&kid[..kid.len() - 1]),
        json!("k".repeat(5000)),
        json!(null),
        json!(1),
        json!([kid]),
    ] {
        let what: String = format!("kid {bad}").chars().take(40).collect();
        add(
            &what,
            t.token(&t.header_with("kid", Some(bad)), &t.claims()),
        );
    }
    add("no kid", t.token(&t.header_with("kid", None), &t.claims()));
    // The signature itself.
    let mut flipped = URL_SAFE_NO_PAD.decode(&s).unwrap();
    flipped[0] ^= 1;
    add(
        "a flipped signature bit",
        format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(&flipped)),
    );
    add(
        "the signature truncated",
        format!("{h}.{p}.{}", &s[..s.len() - 4]),
    );
    add(
        "forged claims, honest signature",
        format!(
            "{h}.{}.{s}",
            b64(&t.claims_with("sub", Some(json!("admin"))))
        ),
    );
    if t.alg() == SigningAlgorithm::ES256 {
        // The psychic signature (CVE-2022-21449): r = s = 0.
        add(
            "ES256 r = s = 0",
            format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode([0u8; 64])),
        );
    }
    // Shape and encoding.
    for bad in [
        String::new(),
        "..".into(),
        format!("{h}.{p}"),
        format!("{h}..{s}"),
        format!("{h}.{p}.{s}.{s}"),
        format!("{honest}="),
        format!("{honest}x"),
        format!("{h}.{p}.{s}{s}"),
        t.sign_input(&format!("{h}=.{p}")),
        keys::random_token::<32>(),
    ] {
        let what: String = format!("shape {bad:?}").chars().take(50).collect();
        add(&what, bad);
    }
    // The standard alphabet instead of base64url, where it differs.
    let std_sig = s.replace('-', "+").replace('_', "/");
    if std_sig != s {
        add(
            "a signature in the standard alphabet",
            format!("{h}.{p}.{std_sig}"),
        );
    }
    let std_header = STANDARD.encode(serde_json::to_vec(&t.header()).unwrap());
    if std_header.trim_end_matches('=') != h {
        add(
            "a header in the standard alphabet",
            t.sign_input(&format!("{std_header}.{p}")),
        );
    }
    // Duplicate members, whichever copy is honest.
    let kid = &t.key.kid;
    let alg = t.alg().as_str();
    for header in [
        format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{kid}","alg":"none"}}"#),
        format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}","typ":"at+jwt"}}"#),
        format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"other","kid":"{kid}"}}"#),
    ] {
        add(
            &format!("header {header}"),
            t.sign_input(&format!("{}.{p}", b64_text(&header))),
        );
    }
    let body = serde_json::to_string(&t.claims()).unwrap();
    let body = body.strip_suffix('}').unwrap();
    for extra in [
        r#""iss":"https://evil.example""#,
        r#""sub":"admin""#,
        r#""roles":["admin"]"#,
    ] {
        add(
            &format!("claims with a second {extra}"),
            t.sign_input(&format!("{h}.{}", b64_text(&format!("{body},{extra}}}")))),
        );
    }
    // Size.
    let huge = t.claims_with("roles", Some(json!(vec!["r".repeat(100); 100])));
    let huge = t.token(&t.header(), &huge);
    assert!(huge.len() > MAX_TOKEN_BYTES);
    add("a token over the size cap", huge);
    out
}

/// What an axum route answers for `Authorization: Bearer {token}`.
async fn answer(app: &Router, token: &str) -> Option<(StatusCode, Option<String>, Value)> {
    // A header cannot carry every string; what it cannot carry never
    // reaches a service, and HTTP strips the spaces around a value. An
    // empty one is no token at all (401 `invalid_request`, tested apart).
    let value = format!("Bearer {token}");
    if token.is_empty()
        || token.trim() != token
        || axum::http::HeaderValue::from_str(&value).is_err()
    {
        return None;
    }
    let request = Request::get("/me")
        .header(header::AUTHORIZATION, value)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Some((status, challenge, serde_json::from_slice(&body).unwrap()))
}

fn apps(verifier: &Verifier) -> [(&'static str, Router); 2] {
    let extractor = Router::new()
        .route(
            "/me",
            get(|user: CurrentUser| async move { Json(json!({"sub": user.id()})) }),
        )
        .with_state(verifier.clone());
    let layer = Router::new()
        .route(
            "/me",
            get(|Extension(user): Extension<CurrentUser>| async move {
                Json(json!({"sub": user.id()}))
            }),
        )
        .route_layer(verifier.layer());
    [("extractor", extractor), ("layer", layer)]
}

#[tokio::test]
async fn every_attack_is_refused_alike_by_the_raw_verifier_and_the_extractor() {
    let rs = tenant("acme", SigningAlgorithm::RS256);
    let rs_other = tenant("globex", SigningAlgorithm::RS256);
    let rs_attacker = tenant("attacker", SigningAlgorithm::RS256);
    let ps = tenant("pss", SigningAlgorithm::PS256);
    let es = tenant("ecdsa", SigningAlgorithm::ES256);
    let es_other = tenant("initech", SigningAlgorithm::ES256);
    let es_attacker = tenant("attacker-ec", SigningAlgorithm::ES256);
    let ed = tenant("edwards", SigningAlgorithm::EdDSA);
    let ed_other = tenant("edwards-2", SigningAlgorithm::EdDSA);
    let hs = tenant("hmac", SigningAlgorithm::HS256);
    let hs_other = tenant("hmac-2", SigningAlgorithm::HS256);
    let cases: [(&Tenant, &Tenant, &Tenant); 5] = [
        (&rs, &rs_other, &rs_attacker),
        (&ps, &rs_other, &rs_attacker),
        (&es, &es_other, &es_attacker),
        (&ed, &ed_other, &es_attacker),
        (&hs, &hs_other, &rs_attacker),
    ];
    let (mut total, mut over_http) = (0, 0);
    for (t, other, attacker) in cases {
        let apps = apps(&t.verifier);
        // Controls: the same builders make tokens everyone accepts.
        for token in [t.honest(), t.key.sign(&t.claims())] {
            verify_access_token(&t.keys, &token, NOW, DEFAULT_LEEWAY_SECS).unwrap();
            t.verifier.verify(&token).await.unwrap();
            for (name, app) in &apps {
                let (status, _, body) = answer(app, &token).await.unwrap();
                assert_eq!(status, StatusCode::OK, "{}: {name}: {body}", t.alg());
                assert_eq!(body["sub"], "user-1");
            }
        }
        for (what, token) in attacks(t, other, attacker) {
            total += 1;
            let raw = match verify_access_token(&t.keys, &token, NOW, DEFAULT_LEEWAY_SECS) {
                Ok(claims) => panic!("{}: the raw verifier ACCEPTED {what}: {claims:?}", t.alg()),
                Err(e) => e.to_string(),
            };
            match t.verifier.verify(&token).await {
                Err(VerifyError::Invalid(e)) => {
                    assert_eq!(e.to_string(), raw, "{}: {what}: Verifier", t.alg());
                }
                other => panic!("{}: Verifier: {what}: {other:?}", t.alg()),
            }
            for (name, app) in &apps {
                let Some((status, challenge, body)) = answer(app, &token).await else {
                    continue;
                };
                over_http += 1;
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{}: {name}: {what}: {body}",
                    t.alg()
                );
                assert_eq!(
                    body["error"],
                    "invalid_token",
                    "{}: {name}: {what}",
                    t.alg()
                );
                assert_eq!(
                    body["error_description"],
                    raw,
                    "{}: {name}: {what}",
                    t.alg()
                );
                let challenge = challenge.unwrap();
                assert!(
                    challenge.starts_with("Bearer error=\"invalid_token\""),
                    "{name}: {what}: {challenge}"
                );
            }
        }
    }
    println!("{total} attacks refused alike; {over_http} extractor/layer requests");
    assert!(total >= 400, "{total}");
}
