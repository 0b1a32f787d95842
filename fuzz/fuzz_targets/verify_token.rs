//! Fuzzes offline token verification: `gatehouse_jwt::verify_access_token`
//! and the signature layer under it, `gatehouse_jwt::verify_compact`.
//!
//! Fixtures (built once, from the fixed keys in `fixtures/`, no master key):
//! one signing key per algorithm (RS256, ES256, EdDSA, HS256), a single-key
//! `KeySet` for each, a "mixed" key set that holds all four at once (RS256
//! signing, the others published too, as during an algorithm change), and
//! one valid access token per key set, signed as Gatehouse's keyring signs.
//! The public keys reach their key sets as a JWKS document, through
//! `KeySet::from_jwks`, as a downstream verifier's would; the HS256 secret,
//! never published, through `VerifyingKey::hs256`.
//!
//! The first input byte picks a mode (byte % 5):
//!
//! * 0 `raw`: the rest of the input, as lossy UTF-8, is the token.
//! * 1 `splice`: byte 1 picks a valid token and one of its three parts; the
//!   rest of the input (lossy UTF-8) replaces that part.
//! * 2 `splice64`: as 1, but the part is replaced by base64url(rest), so the
//!   fuzzer explores the JSON of headers and payloads.
//! * 3 `resign`: byte 1 picks a key; the rest is `header JSON \0 payload
//!   JSON` (no `\0`: a well-formed header for that key and the rest as the
//!   payload). Both are base64url-encoded and signed with the genuine key
//!   (or, with bit 2 of byte 1 set, with HS256 keyed by the public JWKS:
//!   the classic algorithm-confusion forgery).
//! * 4 `insert`: bytes 1-2 give a position in a valid token where the rest
//!   of the input (lossy UTF-8) is inserted.
//!
//! Properties (a violation `panic!`s, which libFuzzer reports as a crash):
//!
//! * nothing panics;
//! * in modes 0, 1, 2, 4 no string other than the genuine tokens verifies:
//!   `verify_access_token(k, t)` is `Ok` only if `t` is one of the tokens
//!   minted for key set `k`, and `verify_compact(t, key)` is `Ok` only if
//!   `t` is a token minted by `key`;
//! * in mode 3 (genuinely signed, attacker-chosen header and claims) a
//!   verified token satisfies every rule checked independently here: the
//!   header's `alg` is the key's, `typ` is `at+jwt`, `kid` is the key's, no
//!   forbidden header parameter, `iss`, `aud`, `exp`, `nbf`, `iat` as the
//!   verifier documents; a confusion-forged token never verifies.

#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_jwt::{
    ACCESS_TOKEN_TYP, AccessClaims, Audience, KeySet, SigningAlgorithm, VerifyingKey,
    verify_access_token, verify_compact,
};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{EncodingKey, Header};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The fixed "now" of every verification.
const NOW: i64 = 1_700_000_000;
const LEEWAY: i64 = 30;
const ISSUER: &str = "https://auth.example.test/t/fuzz";

const ALGS: [SigningAlgorithm; 4] = [
    SigningAlgorithm::RS256,
    SigningAlgorithm::ES256,
    SigningAlgorithm::EdDSA,
    SigningAlgorithm::HS256,
];

struct Key {
    kid: String,
    alg: SigningAlgorithm,
    /// For re-signing fuzzer-chosen headers and payloads.
    encoding: EncodingKey,
    /// The published JWK (`None` for HS256, which is never published).
    public_jwk: Option<Jwk>,
    /// The verifier, as its key set holds it.
    verifying: VerifyingKey,
}

struct Fixture {
    keys: Vec<Key>,
    /// key_sets[0..4]: one key each (the key of the same index);
    /// key_sets[4]: all four keys.
    key_sets: Vec<KeySet>,
    /// The JWKS document of the mixed key set (its three public keys), as
    /// Gatehouse would serve it.
    mixed_jwks_json: String,
    /// tokens[i] was minted for key_sets[i] (so tokens[4] by key 0, RS256).
    tokens: Vec<String>,
}

impl Fixture {
    /// Indices of the tokens key set `k` must accept.
    fn accepted_by_key_set(&self, k: usize) -> &'static [usize] {
        match k {
            // Token 4 is signed by key 0 for the same issuer.
            0 => &[0, 4],
            1 => &[1],
            2 => &[2],
            3 => &[3],
            _ => &[0, 1, 2, 3, 4],
        }
    }

    /// Indices of the tokens signed by key `key`.
    fn signed_by_key(&self, key: usize) -> &'static [usize] {
        match key {
            0 => &[0, 4],
            1 => &[1],
            2 => &[2],
            _ => &[3],
        }
    }
}

fn claims(jti: &str) -> AccessClaims {
    AccessClaims {
        iss: ISSUER.into(),
        sub: "user-1".into(),
        aud: Audience::One(ISSUER.into()),
        exp: NOW + 900,
        iat: NOW - 10,
        nbf: NOW - 10,
        jti: jti.into(),
        client_id: "gatehouse".into(),
        sid: Some("session-1".into()),
        scope: "openid profile".into(),
        preferred_username: Some("alice".into()),
        email: Some("alice@example.test".into()),
        given_name: None,
        family_name: None,
        roles: vec!["admin".into()],
    }
}

/// Fixed keys (fuzzing only, see fixtures/README.md), so the valid tokens
/// are the same in every run (ES256 signatures aside, which are randomised)
/// and seed files can contain them.
const KEY_MATERIAL: [(&str, &str); 4] = [
    ("kid-rs256", include_str!("../fixtures/rs256.pem")),
    ("kid-es256", include_str!("../fixtures/es256.pem")),
    ("kid-eddsa", include_str!("../fixtures/eddsa.pem")),
    ("kid-hs256", include_str!("../fixtures/hs256.txt")),
];

/// A key from its fixture, published as Gatehouse publishes it (a JWK with
/// `kid` and `use: sig`).
fn load_key(alg: SigningAlgorithm, kid: &str, material: &str) -> Key {
    let material = material.trim().as_bytes();
    if alg == SigningAlgorithm::HS256 {
        let secret = URL_SAFE_NO_PAD.decode(material).expect("hs secret");
        return Key {
            kid: kid.to_string(),
            alg,
            encoding: EncodingKey::from_secret(&secret),
            public_jwk: None,
            verifying: VerifyingKey::hs256(Some(kid.to_string()), &secret).expect("hs key"),
        };
    }
    let encoding = match alg {
        SigningAlgorithm::ES256 => EncodingKey::from_ec_pem(material).expect("ec pem"),
        SigningAlgorithm::EdDSA => EncodingKey::from_ed_pem(material).expect("ed pem"),
        _ => EncodingKey::from_rsa_pem(material).expect("rsa pem"),
    };
    let mut jwk = Jwk::from_encoding_key(&encoding, alg.jsonwebtoken()).expect("jwk");
    jwk.common.key_id = Some(kid.to_string());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Key {
        kid: kid.to_string(),
        alg,
        encoding,
        verifying: VerifyingKey::from_jwk(&jwk).expect("verifying key"),
        public_jwk: Some(jwk),
    }
}

/// The key set of `keys` as a downstream verifier would fill it: the
/// public keys through a JWKS document, the HS256 secret directly.
fn key_set(keys: &[&Key]) -> (KeySet, String) {
    let jwks = JwkSet {
        keys: keys.iter().filter_map(|k| k.public_jwk.clone()).collect(),
    };
    let jwks_json = serde_json::to_string(&jwks).expect("jwks json");
    let parsed: JwkSet = serde_json::from_str(&jwks_json).expect("jwks parse");
    let mut set = KeySet::from_jwks(ISSUER, vec![ISSUER.to_string()], &parsed);
    assert_eq!(set.keys.len(), jwks.keys.len(), "every published key is usable");
    set.keys.extend(
        keys.iter()
            .filter(|k| k.alg.is_symmetric())
            .map(|k| k.verifying.clone()),
    );
    (set, jwks_json)
}

/// Signs `claims` as Gatehouse's keyring does (`typ: at+jwt`, `kid`).
fn sign(key: &Key, claims: &AccessClaims) -> String {
    let mut header = Header::new(key.alg.jsonwebtoken());
    header.typ = Some(ACCESS_TOKEN_TYP.to_string());
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).expect("sign")
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let keys: Vec<Key> = ALGS
            .into_iter()
            .zip(KEY_MATERIAL)
            .map(|(alg, (kid, material))| load_key(alg, kid, material))
            .collect();
        let mut key_sets: Vec<KeySet> = keys.iter().map(|k| key_set(&[k]).0).collect();
        // The mixed key set: RS256 signs, the others are published too.
        let (mixed, mixed_jwks_json) = key_set(&keys.iter().collect::<Vec<_>>());
        key_sets.push(mixed);

        // tokens[i] for key set i; the mixed set's token by its first key.
        let tokens: Vec<String> = (0..key_sets.len())
            .map(|i| sign(&keys[i % keys.len()], &claims(&format!("jti-{i}"))))
            .collect();
        // Sanity: the fixture itself must verify, or the oracle is void.
        for (k, set) in key_sets.iter().enumerate() {
            for (i, token) in tokens.iter().enumerate() {
                let ok = verify_access_token(set, token, NOW, LEEWAY).is_ok();
                let expected = k == 4 || k == i || (k == 0 && i == 4);
                assert_eq!(ok, expected, "fixture: key set {k} token {i}");
            }
        }
        let f = Fixture {
            keys,
            key_sets,
            mixed_jwks_json,
            tokens,
        };
        if let Some(dir) = std::env::var_os("GATEHOUSE_FUZZ_WRITE_SEEDS") {
            write_seeds(&f, std::path::Path::new(&dir));
        }
        f
    })
}

/// Writes a seed corpus for this target into `dir` (see README.md).
fn write_seeds(f: &Fixture, dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("seed dir");
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: String, mode: u8, bytes: &[u8]| {
        let mut v = vec![mode];
        v.extend_from_slice(bytes);
        seeds.push((name, v));
    };
    for (i, t) in f.tokens.iter().enumerate() {
        add(format!("raw-valid-{i}"), 0, t.as_bytes());
        let dots: Vec<usize> = t.match_indices('.').map(|(p, _)| p).collect();
        add(format!("raw-header-only-{i}"), 0, &t.as_bytes()[..dots[0]]);
        add(format!("raw-unsigned-{i}"), 0, &t.as_bytes()[..=dots[1]]);
        add(
            format!("raw-short-sig-{i}"),
            0,
            &t.as_bytes()[..t.len() - 1],
        );
        add(format!("raw-half-{i}"), 0, &t.as_bytes()[..t.len() / 2]);
        add(format!("raw-extra-part-{i}"), 0, format!("{t}.").as_bytes());
        add(format!("raw-padded-{i}"), 0, format!("{t}=").as_bytes());
        add(format!("raw-spaced-{i}"), 0, format!(" {t} ").as_bytes());
        // Insert a byte in each part.
        for (k, &d) in dots.iter().enumerate() {
            let pos = (d as u16).to_le_bytes();
            add(format!("insert-{i}-{k}"), 4, &[pos[0], pos[1], b'A']);
        }
    }
    let header = |alg: &str, kid: &str, extra: &str| {
        format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{kid}"{extra}}}"#)
    };
    let payload = |extra: &str| {
        format!(
            r#"{{"iss":"{ISSUER}","sub":"user-1","aud":"{ISSUER}","exp":{},"iat":{},"nbf":{},"jti":"j","client_id":"c"{extra}}}"#,
            NOW + 900,
            NOW - 10,
            NOW - 10
        )
    };
    for (n, key) in f.keys.iter().enumerate() {
        let n = n as u8;
        let kid = key.kid.as_str();
        let alg = key.alg.as_str();
        // Splice: the token of key n, each part.
        for part in 0..3u8 {
            add(
                format!("splice-{n}-{part}"),
                1,
                &[n + 5 * part, b'e', b'y', b'J'],
            );
        }
        add(
            format!("splice64-header-{n}"),
            2,
            &[&[n][..], header(alg, kid, "").as_bytes()].concat(),
        );
        add(
            format!("splice64-header-none-{n}"),
            2,
            &[&[n][..], br#"{"alg":"none","typ":"at+jwt"}"#].concat(),
        );
        add(
            format!("splice64-header-hs-{n}"),
            2,
            &[&[n][..], header("HS256", kid, "").as_bytes()].concat(),
        );
        add(
            format!("splice64-payload-{n}"),
            2,
            &[&[n + 5][..], payload("").as_bytes()].concat(),
        );
        let cases = [
            ("ok", header(alg, kid, ""), payload("")),
            (
                "typ-jwt",
                header(alg, kid, "").replace("at+jwt", "JWT"),
                payload(""),
            ),
            (
                "typ-app",
                header(alg, kid, "").replace("at+jwt", "application/AT+JWT"),
                payload(""),
            ),
            ("kid-other", header(alg, "kid-zzz", ""), payload("")),
            ("alg-other", header("PS256", kid, ""), payload("")),
            ("b64", header(alg, kid, r#","b64":false"#), payload("")),
            ("crit", header(alg, kid, r#","crit":["exp"]"#), payload("")),
            (
                "jku",
                header(alg, kid, r#","jku":"https://evil.test/jwks""#),
                payload(""),
            ),
            ("jku-null", header(alg, kid, r#","jku":null"#), payload("")),
            ("cty", header(alg, kid, r#","cty":"JWT""#), payload("")),
            (
                "dup-alg",
                header(alg, kid, r#","alg":"HS256""#),
                payload(""),
            ),
            (
                "aud-list",
                header(alg, kid, ""),
                payload("").replacen(
                    &format!(r#""aud":"{ISSUER}""#),
                    &format!(r#""aud":["x","{ISSUER}"]"#),
                    1,
                ),
            ),
            (
                "aud-empty",
                header(alg, kid, ""),
                payload("").replacen(&format!(r#""aud":"{ISSUER}""#), r#""aud":[]"#, 1),
            ),
            (
                "expired",
                header(alg, kid, ""),
                payload("").replacen(&format!("{}", NOW + 900), &format!("{}", NOW - 31), 1),
            ),
            (
                "exp-max",
                header(alg, kid, ""),
                payload("").replacen(&format!("{}", NOW + 900), "9223372036854775807", 1),
            ),
            (
                "exp-float",
                header(alg, kid, ""),
                payload("").replacen(&format!("{}", NOW + 900), "1.7e9", 1),
            ),
            (
                "nbf-future",
                header(alg, kid, ""),
                payload("").replacen(
                    &format!(r#""nbf":{}"#, NOW - 10),
                    &format!(r#""nbf":{}"#, NOW + 31),
                    1,
                ),
            ),
            (
                "iss-other",
                header(alg, kid, ""),
                payload("").replacen(ISSUER, "https://evil.test", 1),
            ),
            (
                "roles",
                header(alg, kid, ""),
                payload(r#","roles":["a","b"],"sid":"s","scope":"x""#),
            ),
        ];
        for (name, h, p) in cases {
            add(
                format!("resign-{name}-{n}"),
                3,
                &[&[n][..], h.as_bytes(), b"\0", p.as_bytes()].concat(),
            );
        }
        add(
            format!("resign-confusion-{n}"),
            3,
            &[&[n | 4][..], payload("").as_bytes()].concat(),
        );
    }
    add("empty".into(), 0, b"");
    add("dots".into(), 0, b"..");
    add("oversize".into(), 0, "a.b.".repeat(2100).as_bytes());
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).expect("write seed");
    }
}

/// Whether `token` is one of the minted tokens `indices`. ECDSA signatures
/// are randomised, so another signature over exactly the same header and
/// payload as the ES256 token (index 1) also counts as genuine (it could be
/// a fresh signature by the key, e.g. a seed written by another run); what
/// must never verify is a different signed content.
fn is_genuine(f: &Fixture, token: &str, indices: &[usize]) -> bool {
    let signed_part = |t: &str| t.rsplit_once('.').map(|(m, _)| m.to_string());
    indices.iter().any(|&i| {
        f.tokens[i] == token || (i == 1 && signed_part(token) == signed_part(&f.tokens[1]))
    })
}

/// Runs `token` through every key set and every key and checks that only
/// genuine tokens pass.
fn check_forgery(f: &Fixture, token: &str) {
    for (k, set) in f.key_sets.iter().enumerate() {
        if let Ok(claims) = verify_access_token(set, token, NOW, LEEWAY) {
            if std::env::var_os("GATEHOUSE_FUZZ_DEBUG").is_some()
                && !f.tokens.iter().any(|t| t == token)
            {
                eprintln!(
                    "note: key set {k} accepted another signature over a minted token's content: {token}"
                );
            }
            if !is_genuine(f, token, f.accepted_by_key_set(k)) {
                panic!(
                    "FORGERY: key set {k} ({:?}) accepted a token that was never minted\n\
                     token: {token:?}\nclaims: {claims:?}",
                    f.keys.get(k).map(|key| key.alg)
                );
            }
        }
    }
    for (n, key) in f.keys.iter().enumerate() {
        if let Ok(jws) = verify_compact(token, |_| Ok(&key.verifying)) {
            if !is_genuine(f, token, f.signed_by_key(n)) {
                panic!(
                    "FORGERY: verify_compact with the {} key {} accepted a token it never signed\n\
                     token: {token:?}\nheader: {:?}",
                    key.alg, key.kid, jws.header
                );
            }
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn splice(f: &Fixture, selector: u8, replacement: String) -> String {
    let token = &f.tokens[usize::from(selector) % f.tokens.len()];
    let part = usize::from(selector / 5) % 3;
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[part] = replacement;
    parts.join(".")
}

/// Whether a header parameter is present with a non-null value.
fn present(obj: &serde_json::Map<String, Value>, name: &str) -> bool {
    obj.get(name).is_some_and(|v| !v.is_null())
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64()
}

/// Mode 3: genuinely signed, fuzzer-chosen header and claims.
fn resign(f: &Fixture, selector: u8, rest: &[u8]) {
    let n = usize::from(selector) % f.keys.len();
    let confusion = selector & 0b100 != 0;
    let key = &f.keys[n];
    let (header_json, payload_json): (Vec<u8>, &[u8]) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (rest[..i].to_vec(), &rest[i + 1..]),
        None => {
            let alg = if confusion { "HS256" } else { key.alg.as_str() };
            (
                format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{}"}}"#, key.kid).into_bytes(),
                rest,
            )
        }
    };
    let message = format!("{}.{}", b64(&header_json), b64(payload_json));
    let signature = if confusion {
        // HS256 keyed with what a verifier publishes: if any path took the
        // algorithm from the header, this would pass.
        let secret = EncodingKey::from_secret(f.mixed_jwks_json.as_bytes());
        jsonwebtoken::crypto::sign(message.as_bytes(), &secret, jsonwebtoken::Algorithm::HS256)
    } else {
        jsonwebtoken::crypto::sign(message.as_bytes(), &key.encoding, key.alg.jsonwebtoken())
    };
    let Ok(signature) = signature else { return };
    let token = format!("{message}.{signature}");

    if confusion {
        if f.tokens.contains(&token) {
            return;
        }
        check_forgery(f, &token);
        return;
    }

    // The signature layer alone: a pass needs the key's alg and no
    // forbidden parameter.
    let verifying = &key.verifying;
    let header: Option<serde_json::Map<String, Value>> = serde_json::from_slice(&header_json).ok();
    let forbidden = [
        "jwk", "jku", "x5u", "x5c", "crit", "zip", "enc", "cty", "b64",
    ];
    if verify_compact(&token, |_| Ok(verifying)).is_ok() {
        let Some(h) = &header else {
            panic!("verify_compact accepted a header that is not a JSON object: {token:?}");
        };
        if h.get("alg").and_then(Value::as_str) != Some(key.alg.as_str()) {
            panic!(
                "verify_compact accepted alg {:?} for a {} key: {token:?}",
                h.get("alg"),
                key.alg
            );
        }
        if let Some(p) = forbidden.iter().find(|p| present(h, p)) {
            panic!("verify_compact accepted forbidden header parameter {p}: {token:?}");
        }
    }

    // The whole access-token check, against the key's own key set and the
    // mixed one.
    for k in [n, 4] {
        let set = &f.key_sets[k];
        let Ok(claims) = verify_access_token(set, &token, NOW, LEEWAY) else {
            continue;
        };
        if std::env::var_os("GATEHOUSE_FUZZ_DEBUG").is_some() {
            eprintln!("resign: key set {k} accepted {token}");
        }
        let fail = |why: &str| -> ! {
            panic!(
                "verify_access_token (key set {k}) accepted a token that {why}\ntoken: {token:?}\nclaims: {claims:?}"
            )
        };
        let Some(h) = &header else {
            fail("has a non-object header")
        };
        if h.get("alg").and_then(Value::as_str) != Some(key.alg.as_str()) {
            fail("names another algorithm than its key's");
        }
        let typ_ok = h.get("typ").and_then(Value::as_str).is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            fail("is not typed at+jwt");
        }
        if h.get("kid").and_then(Value::as_str) != Some(key.kid.as_str()) {
            fail("names another kid than the key that signed it");
        }
        if forbidden.iter().any(|p| present(h, p)) {
            fail("carries a forbidden header parameter");
        }
        let Ok(Value::Object(p)) = serde_json::from_slice::<Value>(payload_json) else {
            fail("has a payload that is not a JSON object");
        };
        if p.get("iss").and_then(Value::as_str) != Some(set.issuer.as_str()) {
            fail("has the wrong issuer");
        }
        let accepted = &set.audiences;
        let aud_ok = match p.get("aud") {
            Some(Value::String(a)) => accepted.contains(a),
            Some(Value::Array(list)) => list
                .iter()
                .any(|a| a.as_str().is_some_and(|a| accepted.iter().any(|x| x == a))),
            _ => false,
        };
        if !aud_ok {
            fail("is for another audience");
        }
        let (Some(exp), Some(nbf), Some(iat)) = (
            p.get("exp").and_then(as_i64),
            p.get("nbf").and_then(as_i64),
            p.get("iat").and_then(as_i64),
        ) else {
            fail("lacks an integer exp, nbf or iat");
        };
        if NOW >= exp.saturating_add(LEEWAY) {
            fail("has expired");
        }
        if nbf > NOW + LEEWAY || iat > NOW + LEEWAY {
            fail("is not valid yet");
        }
        if claims.exp != exp
            || claims.nbf != nbf
            || claims.iat != iat
            || claims.iss != set.issuer
        {
            fail("was decoded into claims that differ from its payload");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 5 {
        0 => check_forgery(f, &lossy(rest)),
        1 | 2 => {
            let Some((&selector, rest)) = rest.split_first() else {
                return;
            };
            let replacement = if mode % 5 == 1 {
                lossy(rest)
            } else {
                b64(rest)
            };
            check_forgery(f, &splice(f, selector, replacement));
        }
        3 => {
            let Some((&selector, rest)) = rest.split_first() else {
                return;
            };
            resign(f, selector, rest);
        }
        _ => {
            let [a, b, rest @ ..] = rest else { return };
            let token = &f.tokens[usize::from(*a) % f.tokens.len()];
            let mut pos = usize::from(u16::from_le_bytes([*a, *b])) % (token.len() + 1);
            while !token.is_char_boundary(pos) {
                pos -= 1;
            }
            let mut spliced = token.clone();
            spliced.insert_str(pos, &lossy(rest));
            check_forgery(f, &spliced);
        }
    }
});
