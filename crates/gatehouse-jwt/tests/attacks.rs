//! Known attacks on JWT verification, each built by hand and thrown at
//! [`verify_access_token`] over a [`KeySet`]. Every malicious token is otherwise well formed
//! and, unless the attack is about the signature, correctly signed, so the
//! one thing under test is the one thing that is wrong. The control tests
//! show that the same builders make tokens that pass.
//!
//! Keys come from aws-lc-rs directly (see `common`); what only the signing
//! side (the tenant keyring) does is tested in gatehouse-core's
//! `tests/keyring_tokens.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::sync::LazyLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gatehouse_jwt::{
    AccessClaims, Audience, DEFAULT_LEEWAY_SECS, KeySet, MAX_TOKEN_BYTES, SigningAlgorithm,
    TokenError, verify_access_token,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Value, json};

mod common;

const NOW: i64 = 1_700_000_000;
const LEEWAY: i64 = DEFAULT_LEEWAY_SECS;
const PUBLIC_URL: &str = "https://auth.example.com";

/// The order of the P-256 group.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

// ---- fixtures ------------------------------------------------------------

/// An issuer (a Gatehouse tenant, `{PUBLIC_URL}/t/{name}`) with one key,
/// its public key set, and the key's private half so tests can sign
/// whatever they like with it.
struct Fixture {
    keys: KeySet,
    key: common::TestKey,
    kid: String,
    alg: SigningAlgorithm,
    encoding: EncodingKey,
    /// PKCS#8 DER of the private key, or the raw HS256 secret.
    private_der: Vec<u8>,
}

fn fixture(name: &str, alg: SigningAlgorithm, audiences: &[&str]) -> Fixture {
    let key = common::generate(alg);
    let issuer = format!("{PUBLIC_URL}/t/{name}");
    // As a tenant accepts: its configured audiences, else its issuer.
    let audiences = if audiences.is_empty() {
        vec![issuer.clone()]
    } else {
        audiences.iter().map(|a| a.to_string()).collect()
    };
    let keys = KeySet::new(issuer, audiences, vec![key.verifying.clone()]);
    // Round trip through a JWKS document where there is one, so the key
    // set is exactly what a downstream verifier would hold.
    let keys = match &key.public_jwk {
        Some(_) => {
            let jwks = serde_json::from_str(&common::jwks_json(&[&key])).unwrap();
            let from_jwks = KeySet::from_jwks(keys.issuer.clone(), keys.audiences.clone(), &jwks);
            assert_eq!(from_jwks.keys.len(), 1);
            from_jwks
        }
        None => keys,
    };
    Fixture {
        keys,
        kid: key.kid.clone(),
        alg,
        encoding: key.encoding.clone(),
        private_der: key.private_der.clone(),
        key,
    }
}

static RS: LazyLock<Fixture> = LazyLock::new(|| fixture("acme", SigningAlgorithm::RS256, &[]));
static PS: LazyLock<Fixture> = LazyLock::new(|| fixture("pss", SigningAlgorithm::PS256, &[]));
static ES: LazyLock<Fixture> = LazyLock::new(|| fixture("ecdsa", SigningAlgorithm::ES256, &[]));
static ED: LazyLock<Fixture> = LazyLock::new(|| fixture("edwards", SigningAlgorithm::EdDSA, &[]));
static HS: LazyLock<Fixture> = LazyLock::new(|| fixture("hmac", SigningAlgorithm::HS256, &[]));
static RS_OTHER: LazyLock<Fixture> =
    LazyLock::new(|| fixture("globex", SigningAlgorithm::RS256, &[]));
static ES_OTHER: LazyLock<Fixture> =
    LazyLock::new(|| fixture("initech", SigningAlgorithm::ES256, &[]));
static RS_ATTACKER: LazyLock<Fixture> =
    LazyLock::new(|| fixture("attacker", SigningAlgorithm::RS256, &[]));
static ES_ATTACKER: LazyLock<Fixture> =
    LazyLock::new(|| fixture("attacker-ec", SigningAlgorithm::ES256, &[]));

fn all() -> [&'static Fixture; 5] {
    [&RS, &PS, &ES, &ED, &HS]
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn b64_text(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s.as_bytes())
}

fn jwt_alg(name: &str) -> Algorithm {
    Algorithm::from_str(name).unwrap()
}

/// The base64url signature over `input`.
fn sign_with(input: &str, key: &EncodingKey, alg: Algorithm) -> String {
    jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap()
}

impl Fixture {
    fn jwt_alg(&self) -> Algorithm {
        jwt_alg(self.alg.as_str())
    }

    fn header(&self) -> Value {
        json!({"alg": self.alg.as_str(), "typ": "at+jwt", "kid": self.kid})
    }

    fn claims(&self) -> Value {
        json!({
            "iss": self.keys.issuer,
            "sub": "user-1",
            "aud": self.keys.audiences[0],
            "exp": NOW + 900,
            "iat": NOW,
            "nbf": NOW,
            "jti": "jti-1",
            "client_id": "client-1",
            "scope": "openid",
            "roles": ["reader"],
        })
    }

    /// `input` (header.payload, already encoded) signed with this tenant's
    /// key and algorithm.
    fn sign_input(&self, input: &str) -> String {
        format!(
            "{input}.{}",
            sign_with(input, &self.encoding, self.jwt_alg())
        )
    }

    fn token(&self, header: &Value, claims: &Value) -> String {
        self.sign_input(&format!("{}.{}", b64(header), b64(claims)))
    }

    fn token_with_claims(&self, claims: &Value) -> String {
        self.token(&self.header(), claims)
    }

    fn token_with_header(&self, header: &Value) -> String {
        self.token(header, &self.claims())
    }

    fn honest(&self) -> String {
        self.token(&self.header(), &self.claims())
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        verify_access_token(&self.keys, token, NOW, LEEWAY)
    }

    #[track_caller]
    fn accepts(&self, token: &str, what: &str) -> AccessClaims {
        self.verify(token)
            .unwrap_or_else(|e| panic!("{}: {what} was rejected: {e}", self.alg))
    }

    #[track_caller]
    fn rejects(&self, token: &str, what: &str) {
        match self.verify(token) {
            Ok(claims) => panic!(
                "{} tenant ACCEPTED {what}: {claims:?}\ntoken: {}",
                self.alg,
                token.chars().take(400).collect::<String>()
            ),
            // Shown with --nocapture: why each attack failed.
            Err(reason) => println!("{}: {what}: {reason}", self.alg),
        }
    }

    fn public_jwk(&self) -> Value {
        serde_json::to_value(self.key.public_jwk.as_ref().unwrap()).unwrap()
    }

    fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_jwk(self.key.public_jwk.as_ref().unwrap()).unwrap()
    }

    /// The claims with one member replaced (or removed, for `None`).
    fn claims_with(&self, name: &str, value: Option<Value>) -> Value {
        let mut claims = self.claims();
        let obj = claims.as_object_mut().unwrap();
        match value {
            Some(v) => {
                obj.insert(name.to_string(), v);
            }
            None => {
                obj.remove(name);
            }
        }
        claims
    }

    fn header_with(&self, name: &str, value: Option<Value>) -> Value {
        let mut header = self.header();
        let obj = header.as_object_mut().unwrap();
        match value {
            Some(v) => {
                obj.insert(name.to_string(), v);
            }
            None => {
                obj.remove(name);
            }
        }
        header
    }
}

fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    let p = (
        it.next().unwrap().to_string(),
        it.next().unwrap().to_string(),
        it.next().unwrap().to_string(),
    );
    assert!(it.next().is_none());
    p
}

// ---- controls ------------------------------------------------------------

#[test]
fn control_honest_tokens_pass_for_every_algorithm() {
    for f in all() {
        // Built by hand, as the attacks are.
        let claims = f.accepts(&f.honest(), "the honest hand-built token");
        assert_eq!(claims.iss, f.keys.issuer);
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.aud, Audience::One(f.keys.issuer.clone()));
        // And as Gatehouse itself signs (the keyring's own signing is
        // checked in gatehouse-core's keyring_tokens.rs).
        let own: AccessClaims = serde_json::from_value(f.claims()).unwrap();
        let signed = f.key.sign(&own);
        assert_eq!(
            f.accepts(&signed, "a token signed as the keyring signs"),
            own
        );
    }
}

#[test]
fn control_typ_is_matched_as_rfc_7515_says() {
    // RFC 7515 §4.1.9: typ is case-insensitive and may omit "application/".
    for f in [&*RS, &*ES] {
        for typ in ["at+jwt", "AT+JWT", "At+Jwt", "application/at+jwt"] {
            f.accepts(
                &f.token_with_header(&f.header_with("typ", Some(json!(typ)))),
                &format!("typ {typ}"),
            );
        }
    }
}

// ---- alg: none -----------------------------------------------------------

#[test]
fn alg_none_is_rejected() {
    for f in all() {
        let honest = f.honest();
        let (_, _, real_sig) = parts(&honest);
        for none in ["none", "None", "NONE", "nOnE"] {
            for header in [
                f.header_with("alg", Some(json!(none))),
                json!({"alg": none, "typ": "at+jwt"}),
                json!({"alg": none}),
            ] {
                let input = format!("{}.{}", b64(&header), b64(&f.claims()));
                f.rejects(
                    &format!("{input}."),
                    &format!("alg {none}, empty signature"),
                );
                f.rejects(
                    &format!("{input}.{real_sig}"),
                    &format!("alg {none}, signature copied from an honest token"),
                );
                f.rejects(&input, &format!("alg {none}, no signature part"));
            }
        }
    }
}

// ---- algorithm substitution ----------------------------------------------

/// The same key, honestly used with another algorithm of its family: a
/// verifier that took the algorithm from the header would accept.
#[test]
fn header_alg_other_than_the_keys_is_rejected() {
    let cases: [(&Fixture, &[&str]); 3] = [
        (&RS, &["PS256", "RS384", "RS512", "PS384", "PS512"]),
        (&PS, &["RS256", "PS384", "PS512", "RS384", "RS512"]),
        (&HS, &["HS384", "HS512"]),
    ];
    for (f, others) in cases {
        for other in others {
            let header = f.header_with("alg", Some(json!(other)));
            let input = format!("{}.{}", b64(&header), b64(&f.claims()));
            let sig = sign_with(&input, &f.encoding, jwt_alg(other));
            if f.alg != SigningAlgorithm::HS256 {
                // Precondition: the signature is genuine under the header's
                // algorithm with the tenant's published key.
                assert!(
                    jsonwebtoken::crypto::verify(
                        &sig,
                        input.as_bytes(),
                        &f.decoding_key(),
                        jwt_alg(other)
                    )
                    .unwrap()
                );
            }
            f.rejects(
                &format!("{input}.{sig}"),
                &format!("{other} header on a {} key, signed with {other}", f.alg),
            );
        }
    }
}

#[test]
fn header_alg_of_another_family_is_rejected() {
    // An RS256 key named with ES256/EdDSA headers, and so on; the signature
    // is the key's own (honest) one, only the header lies.
    for f in all() {
        for other in ["RS256", "PS256", "ES256", "EdDSA", "HS256", "ES384"] {
            if other == f.alg.as_str() {
                continue;
            }
            let header = f.header_with("alg", Some(json!(other)));
            f.rejects(
                &f.token_with_header(&header),
                &format!("{other} header on a {} key", f.alg),
            );
        }
    }
}

// ---- RS256 → HS256 key confusion -----------------------------------------

fn pem_variants(label: &str, tag: &str, der: &[u8]) -> Vec<(String, Vec<u8>)> {
    let p = pem::Pem::new(tag, der.to_vec());
    let crlf = pem::encode(&p);
    let lf = pem::encode_config(
        &p,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    vec![
        (format!("{label} PEM (CRLF)"), crlf.clone().into_bytes()),
        (format!("{label} PEM (LF)"), lf.clone().into_bytes()),
        (
            format!("{label} PEM without final newline"),
            lf.trim_end().as_bytes().to_vec(),
        ),
    ]
}

/// Every encoding of the tenant's public key an attacker might guess a
/// confused verifier would use as an HMAC secret.
fn public_key_encodings(f: &Fixture) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let jwk = f.public_jwk();
    match f.alg {
        SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
            let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&f.private_der).unwrap();
            let pkcs1 = pair.public_key().as_ref().to_vec();
            let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
            out.extend(pem_variants("SPKI", "PUBLIC KEY", &spki));
            out.extend(pem_variants("PKCS#1", "RSA PUBLIC KEY", &pkcs1));
            out.push(("SPKI DER".into(), spki));
            out.push(("PKCS#1 DER".into(), pkcs1));
            let n = jwk["n"].as_str().unwrap();
            out.push(("modulus bytes".into(), URL_SAFE_NO_PAD.decode(n).unwrap()));
            out.push(("modulus base64url text".into(), n.as_bytes().to_vec()));
        }
        SigningAlgorithm::ES256 => {
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &f.private_der).unwrap();
            let point = pair.public_key().as_ref().to_vec();
            let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
            out.extend(pem_variants("SPKI", "PUBLIC KEY", &spki));
            out.push(("SPKI DER".into(), spki));
            out.push(("uncompressed point".into(), point.clone()));
            out.push(("x coordinate".into(), point[1..33].to_vec()));
        }
        SigningAlgorithm::EdDSA => {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&f.private_der).unwrap();
            let raw = pair.public_key().as_ref().to_vec();
            let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
            out.extend(pem_variants("SPKI", "PUBLIC KEY", &spki));
            out.push(("SPKI DER".into(), spki));
            out.push(("raw public key".into(), raw));
        }
        SigningAlgorithm::HS256 => unreachable!("an HS256 key has no public half"),
    }
    out.push((
        "JWKS JSON text".into(),
        common::jwks_json(&[&f.key]).into_bytes(),
    ));
    out.push((
        "single JWK JSON text".into(),
        serde_json::to_vec(&jwk).unwrap(),
    ));
    out.push(("kid".into(), f.kid.as_bytes().to_vec()));
    out.push(("empty secret".into(), Vec::new()));
    out
}

#[test]
fn hs256_signed_with_the_public_key_is_rejected() {
    for f in [&*RS, &*PS, &*ES, &*ED] {
        let encodings = public_key_encodings(f);
        assert!(encodings.len() >= 7);
        for (label, secret) in encodings {
            let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": f.kid});
            let input = format!("{}.{}", b64(&header), b64(&f.claims()));
            let mac = sign_with(&input, &EncodingKey::from_secret(&secret), Algorithm::HS256);
            f.rejects(
                &format!("{input}.{mac}"),
                &format!("HS256 keyed with the {} public key as {label}", f.alg),
            );
        }
    }
}

// ---- keys and key locations in the header ---------------------------------

#[test]
fn embedded_jwk_is_rejected() {
    for (f, attacker) in [(&*RS, &*RS_ATTACKER), (&*ES, &*ES_ATTACKER)] {
        let mut attacker_jwk = attacker.public_jwk();
        for kid in [Some(f.kid.clone()), None] {
            match &kid {
                Some(k) => attacker_jwk["kid"] = json!(k),
                None => {
                    attacker_jwk.as_object_mut().unwrap().remove("kid");
                }
            }
            let mut header = json!({"alg": f.alg.as_str(), "typ": "at+jwt", "jwk": attacker_jwk});
            if let Some(k) = &kid {
                header["kid"] = json!(k);
            }
            let input = format!("{}.{}", b64(&header), b64(&f.claims()));
            let sig = sign_with(&input, &attacker.encoding, attacker.jwt_alg());
            // Precondition: the signature checks out with the embedded key.
            assert!(
                jsonwebtoken::crypto::verify(
                    &sig,
                    input.as_bytes(),
                    &attacker.decoding_key(),
                    attacker.jwt_alg()
                )
                .unwrap()
            );
            f.rejects(
                &format!("{input}.{sig}"),
                &format!("embedded attacker jwk (kid {kid:?})"),
            );
            // Even an embedded copy of the tenant's own key, honestly
            // signed, is refused: a header must not carry keys.
            let mut own = f.header();
            own["jwk"] = f.public_jwk();
            f.rejects(&f.token_with_header(&own), "embedded copy of the real key");
        }
    }
}

#[test]
fn key_locations_in_the_header_are_rejected() {
    let f = &*RS;
    let attacker = &*RS_ATTACKER;
    let attacker_spki = aws_lc_rs::rsa::KeyPair::from_pkcs8(&attacker.private_der)
        .unwrap()
        .public_key()
        .as_der()
        .unwrap()
        .as_ref()
        .to_vec();
    let params: [(&str, Value); 4] = [
        (
            "jku",
            json!("https://attacker.example/.well-known/jwks.json"),
        ),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("x5c", json!([STANDARD.encode(&attacker_spki)])),
        (
            "jku",
            json!(format!("{}/.well-known/jwks.json", f.keys.issuer)),
        ),
    ];
    for (name, value) in params {
        let header = f.header_with(name, Some(value.clone()));
        // Signed by the attacker, as the header invites...
        let input = format!("{}.{}", b64(&header), b64(&f.claims()));
        let forged = format!(
            "{input}.{}",
            sign_with(&input, &attacker.encoding, Algorithm::RS256)
        );
        f.rejects(&forged, &format!("{name}: {value}, attacker-signed"));
        // ...and by the real key: the parameter alone is refused.
        f.rejects(
            &f.token_with_header(&header),
            &format!("{name}: {value}, honestly signed"),
        );
    }
}

#[test]
fn crit_is_rejected() {
    let f = &*RS;
    for crit in [
        json!(["exp"]),
        json!(["b64"]),
        json!(["x-custom"]),
        json!([]),
    ] {
        let mut header = f.header_with("crit", Some(crit.clone()));
        f.rejects(&f.token_with_header(&header), &format!("crit {crit}"));
        header["b64"] = json!(false);
        f.rejects(
            &f.token_with_header(&header),
            &format!("crit {crit}, b64 false"),
        );
    }
    // RFC 7797 unencoded payload: `b64: false` with the raw claims as payload.
    let header = f.header_with("b64", Some(json!(false)));
    let raw_payload = serde_json::to_string(&f.claims()).unwrap();
    f.rejects(
        &f.sign_input(&format!("{}.{}", b64(&header), raw_payload)),
        "b64 false, unencoded payload",
    );
    f.rejects(&f.token_with_header(&header), "b64 false without crit");
}

// ---- typ -----------------------------------------------------------------

#[test]
fn typ_other_than_at_jwt_is_rejected() {
    for f in all() {
        let mut typs = vec![None];
        for t in [
            "JWT",
            "jwt",
            "id_token",
            "application/jwt",
            "JOSE",
            "at+jwt ",
            " at+jwt",
            "at+jwt\u{0}",
            "at-jwt",
            "atjwt",
            "logout+jwt",
            "",
        ] {
            typs.push(Some(json!(t)));
        }
        typs.push(Some(json!(null)));
        typs.push(Some(json!(["at+jwt"])));
        for typ in typs {
            let what = format!("typ {typ:?}");
            let header = match typ {
                None => f.header_with("typ", None),
                Some(t) => f.header_with("typ", Some(t)),
            };
            f.rejects(&f.token_with_header(&header), &what);
        }
    }
}

#[test]
fn id_token_signed_by_the_real_key_is_rejected() {
    for f in all() {
        // An OIDC ID token: typ JWT, aud the client, a nonce, everything else
        // an access token would have too, so only the type tells them apart.
        let header = f.header_with("typ", Some(json!("JWT")));
        let mut claims = f.claims();
        claims["nonce"] = json!("n-0S6_WzA2Mj");
        claims["auth_time"] = json!(NOW - 10);
        claims["azp"] = json!("client-1");
        f.rejects(&f.token(&header, &claims), "an ID token (typ JWT)");
        f.rejects(
            &f.token(&f.header_with("typ", None), &claims),
            "an ID token without typ",
        );
    }
}

// ---- iss and aud ---------------------------------------------------------

#[test]
fn wrong_issuer_is_rejected() {
    let f = &*RS;
    let iss = f.keys.issuer.clone();
    for bad in [
        json!("https://evil.example/t/acme"),
        json!(format!("{iss}/")),
        json!(iss.to_uppercase()),
        json!(format!("{PUBLIC_URL}/t/globex")),
        json!(RS_OTHER.keys.issuer),
        json!(format!("{iss}\u{0}")),
        json!(" ".to_string() + &iss),
        json!(""),
        json!(null),
        json!([iss]),
        json!(42),
    ] {
        f.rejects(
            &f.token_with_claims(&f.claims_with("iss", Some(bad.clone()))),
            &format!("iss {bad}"),
        );
    }
}

#[test]
fn wrong_or_missing_audience_is_rejected() {
    let f = &*RS;
    let iss = f.keys.issuer.clone();
    for bad in [
        Some(json!("https://api.other.example")),
        Some(json!(format!("{iss}/"))),
        Some(json!(iss.to_uppercase())),
        Some(json!(RS_OTHER.keys.issuer)),
        Some(json!([])),
        Some(json!(["https://a.example", "https://b.example"])),
        Some(json!([[iss]])),
        Some(json!([iss, 1])),
        Some(json!("")),
        Some(json!(null)),
        Some(json!(7)),
        Some(json!({"aud": iss})),
        None,
    ] {
        f.rejects(
            &f.token_with_claims(&f.claims_with("aud", bad.clone())),
            &format!("aud {bad:?}"),
        );
    }
    // One accepted audience among others is enough (RFC 7519 §4.1.3).
    f.accepts(
        &f.token_with_claims(&f.claims_with("aud", Some(json!(["https://x.example", iss])))),
        "aud list containing the issuer",
    );
}

#[test]
fn configured_audiences_replace_the_issuer() {
    static API: LazyLock<Fixture> = LazyLock::new(|| {
        fixture(
            "orders",
            SigningAlgorithm::ES256,
            &["api://orders", "api://billing"],
        )
    });
    let f = &*API;
    let iss = f.keys.issuer.clone();
    f.accepts(&f.honest(), "aud api://orders");
    f.accepts(
        &f.token_with_claims(&f.claims_with("aud", Some(json!(["x", "api://billing"])))),
        "aud list with api://billing",
    );
    for bad in [
        json!(iss),
        json!("api://Orders"),
        json!("api://orders/"),
        json!(["api://other"]),
    ] {
        f.rejects(
            &f.token_with_claims(&f.claims_with("aud", Some(bad.clone()))),
            &format!("aud {bad} at a tenant with configured audiences"),
        );
    }
}

// ---- time ----------------------------------------------------------------

fn timed(f: &Fixture, exp: i64, nbf: i64, iat: i64) -> String {
    let mut claims = f.claims();
    claims["exp"] = json!(exp);
    claims["nbf"] = json!(nbf);
    claims["iat"] = json!(iat);
    f.token_with_claims(&claims)
}

#[test]
fn expired_tokens_are_rejected() {
    let f = &*ES;
    f.rejects(
        &timed(f, NOW - 3600, NOW - 4500, NOW - 4500),
        "expired an hour ago",
    );
    f.rejects(
        &timed(f, NOW - LEEWAY - 1, NOW - 900, NOW - 900),
        "expired just beyond the leeway",
    );
    f.rejects(&timed(f, i64::MIN, i64::MIN, i64::MIN), "exp i64::MIN");
}

#[test]
fn tokens_not_yet_valid_are_rejected() {
    let f = &*ES;
    f.rejects(&timed(f, NOW + 7200, NOW + 3600, NOW), "nbf an hour ahead");
    f.rejects(&timed(f, NOW + 7200, NOW, NOW + 3600), "iat an hour ahead");
    f.rejects(
        &timed(f, NOW + 900, NOW + LEEWAY + 1, NOW),
        "nbf just beyond the leeway",
    );
    f.rejects(
        &timed(f, NOW + 900, NOW, NOW + LEEWAY + 1),
        "iat just beyond the leeway",
    );
    f.rejects(&timed(f, i64::MAX, i64::MAX, NOW), "nbf i64::MAX");
    f.rejects(&timed(f, i64::MAX, NOW, i64::MAX), "iat i64::MAX");
}

/// `exp`: valid while now < exp + leeway (RFC 7519 §4.1.4, "before").
/// `nbf`, `iat`: valid while they are ≤ now + leeway (§4.1.5, "after or equal").
#[test]
fn leeway_boundaries() {
    let f = &*ES;
    let at = |now: i64, leeway: i64, token: &str| {
        verify_access_token(&f.keys, token, now, leeway).is_ok()
    };
    let exp_at_now = timed(f, NOW, NOW - 900, NOW - 900);
    assert!(
        at(NOW - 1, 0, &exp_at_now),
        "one second before exp, no leeway"
    );
    assert!(!at(NOW, 0, &exp_at_now), "at exp, no leeway");
    assert!(
        at(NOW + LEEWAY - 1, LEEWAY, &exp_at_now),
        "last second of the leeway"
    );
    assert!(!at(NOW + LEEWAY, LEEWAY, &exp_at_now), "end of the leeway");

    let nbf_at_now = timed(f, NOW + 900, NOW, NOW - 10);
    assert!(at(NOW, 0, &nbf_at_now), "at nbf, no leeway");
    assert!(
        !at(NOW - 1, 0, &nbf_at_now),
        "one second before nbf, no leeway"
    );
    assert!(
        at(NOW - LEEWAY, LEEWAY, &nbf_at_now),
        "nbf exactly leeway ahead"
    );
    assert!(
        !at(NOW - LEEWAY - 1, LEEWAY, &nbf_at_now),
        "nbf beyond the leeway"
    );

    let iat_at_now = timed(f, NOW + 900, NOW - 10, NOW);
    assert!(at(NOW, 0, &iat_at_now), "at iat, no leeway");
    assert!(
        !at(NOW - 1, 0, &iat_at_now),
        "one second before iat, no leeway"
    );
    assert!(
        at(NOW - LEEWAY, LEEWAY, &iat_at_now),
        "iat exactly leeway ahead"
    );
    assert!(
        !at(NOW - LEEWAY - 1, LEEWAY, &iat_at_now),
        "iat beyond the leeway"
    );

    // Saturating arithmetic at the extremes: no overflow panic, sane verdicts.
    let forever = timed(f, i64::MAX, i64::MIN, i64::MIN);
    assert!(at(NOW, LEEWAY, &forever));
    assert!(at(i64::MAX - 1, LEEWAY, &forever));
    assert!(!at(i64::MAX, LEEWAY, &forever));
    assert!(at(NOW, i64::MAX, &forever));
}

#[test]
fn malformed_time_claims_are_rejected() {
    let f = &*ES;
    for name in ["exp", "nbf", "iat"] {
        for bad in [
            json!("1700000900"),
            json!(1_700_000_900.5),
            json!(1e300),
            json!(null),
            json!(true),
            json!([NOW]),
            json!(u64::MAX),
        ] {
            f.rejects(
                &f.token_with_claims(&f.claims_with(name, Some(bad.clone()))),
                &format!("{name} {bad}"),
            );
        }
    }
}

// ---- required claims -----------------------------------------------------

#[test]
fn each_required_claim_missing_is_rejected() {
    for f in all() {
        for name in ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id"] {
            f.rejects(
                &f.token_with_claims(&f.claims_with(name, None)),
                &format!("claims without {name}"),
            );
            f.rejects(
                &f.token_with_claims(&f.claims_with(name, Some(Value::Null))),
                &format!("claims with {name}: null"),
            );
        }
    }
}

#[test]
fn payloads_that_are_not_a_claims_object_are_rejected() {
    let f = &*RS;
    let header = b64(&f.header());
    for payload in [
        String::new(),
        b64_text("null"),
        b64_text("[]"),
        b64_text("\"claims\""),
        b64_text("{}"),
        b64(&json!([f.claims()])),
        // A complete claims object followed by more JSON.
        URL_SAFE_NO_PAD.encode(format!("{}{{}}", f.claims())),
        URL_SAFE_NO_PAD.encode([0xffu8, 0xfe, 0x00]),
    ] {
        f.rejects(
            &f.sign_input(&format!("{header}.{payload}")),
            &format!("payload {payload}"),
        );
    }
}

// ---- nesting and compression ---------------------------------------------

#[test]
fn nested_tokens_are_rejected() {
    for f in [&*RS, &*ES] {
        let inner = f.honest();
        for cty in ["JWT", "jwt", "at+jwt", "application/json"] {
            let header = f.header_with("cty", Some(json!(cty)));
            // The payload is the inner (valid) token, as RFC 7519 §5.2 nests.
            f.rejects(
                &f.sign_input(&format!("{}.{}", b64(&header), b64_text(&inner))),
                &format!("cty {cty} around a valid token"),
            );
            // The parameter alone is refused, even over plain claims.
            f.rejects(
                &f.token_with_header(&header),
                &format!("cty {cty} over claims"),
            );
        }
    }
}

/// A raw DEFLATE stream (RFC 1951) holding `data` in stored blocks.
fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = data.chunks(0xffff).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

#[test]
fn compressed_tokens_are_rejected() {
    let f = &*RS;
    let claims = serde_json::to_vec(&f.claims()).unwrap();
    let deflated = URL_SAFE_NO_PAD.encode(deflate_stored(&claims));
    for zip in ["DEF", "def", "GZIP"] {
        let header = f.header_with("zip", Some(json!(zip)));
        f.rejects(
            &f.sign_input(&format!("{}.{deflated}", b64(&header))),
            &format!("zip {zip}, deflated claims"),
        );
        f.rejects(
            &f.token_with_header(&header),
            &format!("zip {zip}, plain claims"),
        );
    }
    // JWE-only parameters on a JWS.
    let header = f.header_with("enc", Some(json!("A256GCM")));
    f.rejects(&f.token_with_header(&header), "enc A256GCM");
}

// ---- size ----------------------------------------------------------------

/// A correctly signed token of exactly `len` bytes, padded through a role
/// name and optional JSON whitespace in the header.
fn token_of_len(f: &Fixture, len: usize) -> String {
    let base = f
        .token_with_claims(&f.claims_with("roles", Some(json!([""]))))
        .len();
    // Each role byte adds 4/3 of a character; start a little short.
    let start = (len.saturating_sub(base) * 3 / 4).saturating_sub(8);
    for role_len in start..len {
        for spaces in 0..4 {
            let header = format!(
                "{{\"alg\":\"{}\",\"typ\":\"at+jwt\",{}\"kid\":\"{}\"}}",
                f.alg,
                " ".repeat(spaces),
                f.kid
            );
            let claims = f.claims_with("roles", Some(json!(["r".repeat(role_len)])));
            let token = f.sign_input(&format!("{}.{}", b64_text(&header), b64(&claims)));
            if token.len() == len {
                return token;
            }
            if token.len() > len + 8 {
                panic!("no token of exactly {len} bytes");
            }
        }
    }
    unreachable!()
}

#[test]
fn oversized_tokens_are_rejected() {
    for f in [&*RS, &*ES, &*HS] {
        let at_limit = token_of_len(f, MAX_TOKEN_BYTES);
        f.accepts(&at_limit, "a token of exactly MAX_TOKEN_BYTES");
        f.rejects(
            &token_of_len(f, MAX_TOKEN_BYTES + 1),
            "a token one byte over MAX_TOKEN_BYTES",
        );
        let huge = f.claims_with("roles", Some(json!(vec!["admin"; 100_000])));
        f.rejects(&f.token_with_claims(&huge), "a ~1 MB token");
    }
}

// ---- ECDSA edge cases (CVE-2022-21449 and range checks) -------------------

#[test]
fn es256_degenerate_signatures_are_rejected() {
    let f = &*ES;
    let honest = f.honest();
    let (h, p, sig) = parts(&honest);
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    assert_eq!(sig.len(), 64);
    let (r, s) = (sig[..32].to_vec(), sig[32..].to_vec());
    let zero = vec![0u8; 32];
    let ones = vec![0xffu8; 32];
    let mut n_plus_1 = P256_N.to_vec();
    n_plus_1[31] += 1;
    let join = |a: &[u8], b: &[u8]| [a, b].concat();
    let der_of = |r: &[u8], s: &[u8]| {
        let int = |v: &[u8]| {
            let mut v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
            if v.is_empty() || v[0] & 0x80 != 0 {
                v.insert(0, 0);
            }
            [vec![0x02, v.len() as u8], v].concat()
        };
        let body = [int(r), int(s)].concat();
        [vec![0x30, body.len() as u8], body].concat()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("r = 0", join(&zero, &s)),
        ("s = 0", join(&r, &zero)),
        ("r = s = 0 (64 zero bytes)", join(&zero, &zero)),
        (
            "DER r = s = 0",
            vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00],
        ),
        ("r = n", join(&P256_N, &s)),
        ("s = n", join(&r, &P256_N)),
        ("r = n + 1", join(&n_plus_1, &s)),
        ("s = n + 1", join(&r, &n_plus_1)),
        ("r = 2^256 - 1", join(&ones, &s)),
        ("s = 2^256 - 1", join(&r, &ones)),
        ("r = s = n", join(&P256_N, &P256_N)),
        ("the honest signature, DER-encoded", der_of(&r, &s)),
        ("r and s swapped", join(&s, &r)),
        ("63 bytes", sig[..63].to_vec()),
        ("65 bytes", [sig.clone(), vec![0]].concat()),
        ("empty", Vec::new()),
    ];
    for (what, bad) in &cases {
        f.rejects(
            &format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(bad)),
            &format!("ES256 signature with {what}"),
        );
    }
    // The psychic signature over forged claims.
    let forged = f.claims_with("sub", Some(json!("admin")));
    for (what, bad) in &cases[..4] {
        f.rejects(
            &format!("{h}.{}.{}", b64(&forged), URL_SAFE_NO_PAD.encode(bad)),
            &format!("forged claims with an ES256 signature of {what}"),
        );
    }
}

// ---- cross-tenant --------------------------------------------------------

#[test]
fn another_tenants_key_with_a_copied_kid_is_rejected() {
    for (victim, other) in [(&*RS, &*RS_OTHER), (&*ES, &*ES_OTHER)] {
        // Claims and kid of the victim, signature of the other tenant's key.
        let input = format!("{}.{}", b64(&victim.header()), b64(&victim.claims()));
        let forged = other.sign_input(&input);
        victim.rejects(
            &forged,
            "signed by another tenant's key with the victim's kid",
        );
        // With its own kid it is simply unknown here.
        victim.rejects(
            &other.token(&other.header(), &victim.claims()),
            "signed by another tenant's key with its own kid",
        );
    }
}

#[test]
fn each_tenant_rejects_the_others_tokens() {
    for (a, b) in [(&*RS, &*RS_OTHER), (&*ES, &*ES_OTHER)] {
        assert_eq!(a.alg, b.alg);
        a.accepts(&a.honest(), "own token");
        b.accepts(&b.honest(), "own token");
        b.rejects(&a.honest(), "the other tenant's honest token");
        a.rejects(&b.honest(), "the other tenant's honest token");
        // Even with the victim's iss and aud, the key gives it away.
        b.rejects(
            &a.token(&a.header(), &b.claims()),
            "the other tenant's key over this tenant's claims",
        );
        // Tokens signed as Gatehouse itself signs.
        let claims: AccessClaims = serde_json::from_value(a.claims()).unwrap();
        b.rejects(
            &a.key.sign(&claims),
            "a token signed as the other keyring signs",
        );
    }
}

// ---- kid -----------------------------------------------------------------

#[test]
fn hostile_kids_are_rejected() {
    for f in [&*RS, &*HS] {
        let kid = f.kid.clone();
        let mut kids: Vec<Value> = [
            "../../dev/null",
            "/dev/null",
            "' OR 1=1 --",
            "\" OR \"\"=\"",
            "*",
            "%",
            "",
            "\u{0}",
            "null",
        ]
        .iter()
        .map(|k| json!(k))
        .collect();
        kids.extend([
            json!(format!("{kid}\u{0}")),
            json!(format!("\u{0}{kid}")),
            json!(format!("{kid} ")),
            json!(format!("{kid}' OR '1'='1")),
            json!(kid.to_uppercase()),
            json!(kid.to_lowercase()),
            json!(&kid[..kid.len() - 1]),
            json!("k".repeat(5000)),
            json!(format!("{kid}{}", "k".repeat(4000))),
            json!(null),
            json!(1),
            json!([kid]),
            json!({"kid": kid}),
        ]);
        if kid.to_uppercase() == kid || kid.to_lowercase() == kid {
            // A kid without letters of both cases gives no case variant.
            kids.retain(|k| k.as_str() != Some(kid.as_str()));
        }
        for bad in kids {
            let token = f.token_with_header(&f.header_with("kid", Some(bad.clone())));
            let what: String = format!("kid {bad}").chars().take(80).collect();
            assert!(
                token.len() <= MAX_TOKEN_BYTES,
                "{what}: keep it under the size cap"
            );
            f.rejects(&token, &what);
        }
        f.rejects(&f.token_with_header(&f.header_with("kid", None)), "no kid");
        f.rejects(
            &f.token_with_header(&f.header_with("kid", Some(json!("k".repeat(100_000))))),
            "a 100 kB kid",
        );
    }
}

// ---- not a JWT at all ------------------------------------------------------

#[test]
fn a_refresh_token_is_not_an_access_token() {
    // As gatehouse-core's `refresh::mint` makes one: 256 random bits,
    // base64url (a minted one is thrown at the keyring in core's tests).
    let refresh = common::random_token::<32>();
    for f in all() {
        f.rejects(&refresh, "a refresh token");
        f.rejects(
            &format!("{refresh}.{refresh}.{refresh}"),
            "refresh tokens in three parts",
        );
        let (h, _, s) = parts(&f.honest());
        f.rejects(&format!("{h}.{refresh}.{s}"), "a refresh token as payload");
    }
}

#[test]
fn dots_and_empty_parts_are_rejected() {
    let f = &*RS;
    let honest = f.honest();
    let (h, p, s) = parts(&honest);
    for bad in [
        String::new(),
        ".".into(),
        "..".into(),
        "...".into(),
        ".".repeat(1000),
        "a.".repeat(1000),
        format!("{honest}{}", ".".repeat(1000)),
        format!("{}{honest}", ".".repeat(1000)),
        format!("{h}.{p}"),
        format!("{h}.{p}."),
        format!("{h}..{s}"),
        format!(".{p}.{s}"),
        format!("{h}.{p}.{s}."),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}.{h}.{p}"),
        format!("{h}.{h}.{p}.{s}"),
    ] {
        let what: String = format!("{bad:?}").chars().take(60).collect();
        f.rejects(&bad, &what);
    }
}

// ---- duplicate JSON members ------------------------------------------------
//
// RFC 7515 §4 and RFC 7519 §4 allow either rejecting duplicate member names
// or taking the last one. Gatehouse's parser (serde) rejects duplicates of
// every member it knows, in the header and in the claims alike: all of these
// are refused, whichever copy is the honest one.

#[test]
fn duplicate_header_members_are_rejected() {
    let f = &*RS;
    let kid = &f.kid;
    for header in [
        format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{kid}","alg":"none"}}"#),
        format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{kid}","alg":"RS256"}}"#),
        format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{kid}","alg":"RS256"}}"#),
        format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}","typ":"at+jwt"}}"#),
        format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{kid}","typ":"JWT"}}"#),
        format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"other","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{kid}","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{kid}","cty":"JWT","cty":"JWT"}}"#),
    ] {
        let token = f.sign_input(&format!("{}.{}", b64_text(&header), b64(&f.claims())));
        f.rejects(&token, &format!("header {header}"));
    }
}

#[test]
fn duplicate_claims_are_rejected() {
    let f = &*RS;
    let honest = serde_json::to_string(&f.claims()).unwrap();
    let body = honest.strip_suffix('}').unwrap();
    let iss = &f.keys.issuer;
    for extra in [
        r#""iss":"https://evil.example""#.to_string(),
        format!(r#""iss":"{iss}""#),
        format!(r#""exp":{}"#, NOW - 3600),
        format!(r#""exp":{}"#, NOW + 900),
        r#""sub":"admin""#.to_string(),
        r#""aud":"https://evil.example""#.to_string(),
        r#""roles":["admin"]"#.to_string(),
    ] {
        let claims = format!("{body},{extra}}}");
        f.rejects(
            &f.sign_input(&format!("{}.{}", b64(&f.header()), b64_text(&claims))),
            &format!("claims with a second {extra}"),
        );
    }
    // Honest copy last: still refused, the parser does not pick one.
    let evil_first = honest.replacen('{', r#"{"iss":"https://evil.example","#, 1);
    f.rejects(
        &f.sign_input(&format!("{}.{}", b64(&f.header()), b64_text(&evil_first))),
        "claims with a forged iss before the honest one",
    );
}

// ---- encoding tricks -------------------------------------------------------

/// `part` with its unused trailing bits set: the same bytes to a lenient
/// decoder, a different string to a strict one. `None` if the part has no
/// unused bits.
fn with_trailing_bits(part: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let unused = match part.len() % 4 {
        2 => 4,
        3 => 2,
        _ => return None,
    };
    let last = *part.as_bytes().last()?;
    let idx = ALPHABET.iter().position(|c| *c == last)?;
    let mut out = part[..part.len() - 1].to_string();
    out.push(ALPHABET[idx | ((1 << unused) - 1)] as char);
    (out != part).then_some(out)
}

#[test]
fn padding_and_trailing_garbage_are_rejected() {
    for f in all() {
        let honest = f.honest();
        let (h, p, s) = parts(&honest);
        let mut bad = vec![
            format!("{honest}="),
            format!("{honest}=="),
            format!("{honest} "),
            format!(" {honest}"),
            format!("{honest}\n"),
            format!("{honest}\r\n"),
            format!("{honest}\u{0}"),
            format!("{honest}x"),
            format!("{honest}AA"),
            format!("{honest}."),
            format!("Bearer {honest}"),
            format!("{h}.{p}.{s}{s}"),
        ];
        let std_sig = s.replace('-', "+").replace('_', "/");
        if std_sig != s {
            bad.push(format!("{h}.{p}.{std_sig}"));
        }
        // Padding in the header or payload, with a signature made over the
        // padded text, so only the decoding can object.
        for (hh, pp) in [
            (format!("{h}="), p.clone()),
            (format!("{h}=="), p.clone()),
            (h.clone(), format!("{p}=")),
            (h.clone(), format!("{p}==")),
            (format!("{h} "), p.clone()),
            (h.clone(), format!(" {p}")),
        ] {
            bad.push(f.sign_input(&format!("{hh}.{pp}")));
        }
        // Standard (not URL-safe) alphabet, re-signed.
        let std_header = STANDARD.encode(serde_json::to_vec(&f.header()).unwrap());
        if std_header.trim_end_matches('=') != h {
            bad.push(f.sign_input(&format!("{std_header}.{p}")));
        }
        // Non-canonical trailing bits, re-signed where the part is signed.
        if let Some(hh) = with_trailing_bits(&h) {
            bad.push(f.sign_input(&format!("{hh}.{p}")));
        }
        if let Some(pp) = with_trailing_bits(&p) {
            bad.push(f.sign_input(&format!("{h}.{pp}")));
        }
        if let Some(ss) = with_trailing_bits(&s) {
            bad.push(format!("{h}.{p}.{ss}"));
        }
        for token in bad {
            let what: String = format!("{token:?}").chars().take(60).collect();
            f.rejects(&token, &format!("{what}…"));
        }
    }
}

#[test]
fn trailing_bits_helper_finds_non_canonical_forms() {
    // The helper must produce something for the signatures we rely on it
    // for: RS256/PS256 (256 bytes → 4 unused bits), ES256 (64 → 4),
    // EdDSA (64 → 4), HS256 (32 → 2).
    for f in all() {
        let (_, _, s) = parts(&f.honest());
        let twin = with_trailing_bits(&s).expect("signature has unused bits");
        assert_ne!(twin, s);
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::GeneralPurposeConfig::new()
                .with_encode_padding(false)
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        assert_eq!(
            lenient.decode(&twin).unwrap(),
            URL_SAFE_NO_PAD.decode(&s).unwrap()
        );
    }
}

// ---- parser limits -------------------------------------------------------

#[test]
fn deeply_nested_json_does_not_crash_the_verifier() {
    let f = &*ES;
    let nested = format!("{}{}", "[".repeat(1500), "]".repeat(1500));
    // In the header (an unknown parameter): past serde_json's depth limit.
    let header = format!(
        r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}","x":{nested}}}"#,
        f.kid
    );
    f.rejects(
        &f.sign_input(&format!("{}.{}", b64_text(&header), b64(&f.claims()))),
        "a header nested 1500 deep",
    );
    // In a claim Gatehouse reads.
    let claims = serde_json::to_string(&f.claims_with("roles", Some(json!("X"))))
        .unwrap()
        .replace(r#""X""#, &nested);
    f.rejects(
        &f.sign_input(&format!("{}.{}", b64(&f.header()), b64_text(&claims))),
        "roles nested 1500 deep",
    );
    // In a claim it does not know: skipped without recursion, and RFC 7519
    // §4 says unknown claims are ignored, so the token stands.
    let claims = serde_json::to_string(&f.claims_with("x", Some(json!("X"))))
        .unwrap()
        .replace(r#""X""#, &nested);
    let token = f.sign_input(&format!("{}.{}", b64(&f.header()), b64_text(&claims)));
    assert!(token.len() <= MAX_TOKEN_BYTES);
    f.accepts(&token, "an unknown claim nested 1500 deep");
}

// ---- known gap -------------------------------------------------------------

/// `verify_compact` documents that headers carrying `jwk`, `jku`, `x5u`,
/// `x5c`, `crit`, `zip`, `enc` or `cty` are "refused outright", and it
/// refuses `b64` on mere presence (even `"b64": null`). The registered
/// parameters, though, are read into `Option`s, so a JSON `null` value
/// reads as absence and the token is accepted. RFC 7515 gives these
/// parameters no null form (`crit` must be a non-empty array, §4.1.11), so
/// such a header is malformed. No key or URL can be smuggled this way, so
/// the impact is a strictness gap, not a forgery.
#[test]
fn null_valued_refused_header_parameters_are_rejected() {
    let f = &*ES;
    for name in ["jwk", "jku", "x5u", "x5c", "crit", "zip", "enc", "cty"] {
        f.rejects(
            &f.token_with_header(&f.header_with(name, Some(Value::Null))),
            &format!("{name}: null"),
        );
    }
}

#[test]
fn null_valued_b64_is_rejected() {
    // The extras check is presence-based, as the registered ones should be.
    let f = &*ES;
    f.rejects(
        &f.token_with_header(&f.header_with("b64", Some(Value::Null))),
        "b64: null",
    );
}
