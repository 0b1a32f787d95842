//! Fuzzes offline token verification: `gatehouse_core::verify::verify_access_token`
//! and the signature layer under it, `gatehouse_core::jws::verify_compact`.
//!
//! Fixtures (built once): one signing key per algorithm (RS256, ES256,
//! EdDSA, HS256), a single-key keyring for each, a "mixed" keyring that
//! publishes all four at once (RS256 current, the others next/retired, as
//! during an algorithm change), and one valid access token per keyring.
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
//!   minted for keyring `k`, and `verify_compact(t, key)` is `Ok` only if
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
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::jws::verify_compact;
use gatehouse_core::keyring::TenantKeyring;
use gatehouse_core::keys::{KeyState, SigningKeyRecord};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_core::tenant::{Tenant, TenantName};
use gatehouse_core::token::{AccessClaims, Audience};
use gatehouse_core::verify::verify_access_token;
use jsonwebtoken::EncodingKey;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
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
}

struct Fixture {
    keys: Vec<Key>,
    /// keyrings[0..4]: one key each (the key of the same index);
    /// keyrings[4]: all four keys.
    keyrings: Vec<TenantKeyring>,
    /// tokens[i] was minted by keyrings[i] (so tokens[4] by key 0, RS256).
    tokens: Vec<String>,
}

impl Fixture {
    /// Indices of the tokens keyring `k` must accept.
    fn accepted_by_keyring(&self, k: usize) -> &'static [usize] {
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

fn tenant() -> Tenant {
    Tenant {
        id: "tenant-fuzz".into(),
        name: TenantName::parse("fuzz").expect("valid tenant name"),
        algorithm: SigningAlgorithm::RS256,
        access_ttl_secs: 900,
        audiences: Vec::new(),
        created_at: NOW - 1000,
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

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let master =
            MasterKeys::parse(&MasterKeys::generate_text().expect("master key")).expect("parse");
        let t = tenant();
        let mut records = Vec::new();
        let mut keys = Vec::new();
        for (alg, (kid, pem)) in ALGS.into_iter().zip(KEY_MATERIAL) {
            let material = pem.trim().as_bytes();
            let encoding = match alg {
                SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                    EncodingKey::from_rsa_pem(material).expect("rsa pem")
                }
                SigningAlgorithm::ES256 => EncodingKey::from_ec_pem(material).expect("ec pem"),
                SigningAlgorithm::EdDSA => EncodingKey::from_ed_pem(material).expect("ed pem"),
                SigningAlgorithm::HS256 => {
                    EncodingKey::from_secret(&URL_SAFE_NO_PAD.decode(material).expect("hs secret"))
                }
            };
            keys.push(Key {
                kid: kid.to_string(),
                alg,
                encoding,
            });
            // Unsealed material is accepted (as stored by older versions).
            records.push(SigningKeyRecord {
                kid: kid.to_string(),
                tenant_id: t.id.clone(),
                algorithm: alg,
                state: KeyState::Current,
                private_material: SecretString::from(pem.trim().to_string()),
                created_at: NOW - 1000,
                activated_at: Some(NOW - 1000),
                retired_at: None,
            });
        }
        let mut keyrings = Vec::new();
        for r in &records {
            keyrings.push(
                TenantKeyring::new(t.clone(), ISSUER.into(), std::slice::from_ref(r), &master)
                    .expect("keyring"),
            );
        }
        // The mixed keyring: RS256 signs, the others are published too.
        let mut mixed = records.clone();
        mixed[1].state = KeyState::Next;
        mixed[2].state = KeyState::Retired;
        mixed[3].state = KeyState::Retired;
        keyrings.push(TenantKeyring::new(t, ISSUER.into(), &mixed, &master).expect("keyring"));

        let tokens: Vec<String> = keyrings
            .iter()
            .enumerate()
            .map(|(i, k)| k.sign(&claims(&format!("jti-{i}"))).expect("sign"))
            .collect();
        // Sanity: the fixture itself must verify, or the oracle is void.
        for (k, keyring) in keyrings.iter().enumerate() {
            for (i, token) in tokens.iter().enumerate() {
                let ok = verify_access_token(keyring, token, NOW, LEEWAY).is_ok();
                let expected = k == 4 || k == i || (k == 0 && i == 4);
                assert_eq!(ok, expected, "fixture: keyring {k} token {i}");
            }
        }
        let f = Fixture {
            keys,
            keyrings,
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

/// Runs `token` through every keyring and every key and checks that only
/// genuine tokens pass.
fn check_forgery(f: &Fixture, token: &str) {
    for (k, keyring) in f.keyrings.iter().enumerate() {
        if let Ok(claims) = verify_access_token(keyring, token, NOW, LEEWAY) {
            if std::env::var_os("GATEHOUSE_FUZZ_DEBUG").is_some()
                && !f.tokens.iter().any(|t| t == token)
            {
                eprintln!(
                    "note: keyring {k} accepted another signature over a minted token's content: {token}"
                );
            }
            if !is_genuine(f, token, f.accepted_by_keyring(k)) {
                panic!(
                    "FORGERY: keyring {k} ({:?}) accepted a token that was never minted\n\
                     token: {token:?}\nclaims: {claims:?}",
                    f.keys.get(k).map(|key| key.alg)
                );
            }
        }
    }
    for (n, key) in f.keys.iter().enumerate() {
        let verifying = &f.keyrings[n].keys()[0].verifying;
        if let Ok(jws) = verify_compact(token, |_| Ok(verifying)) {
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
        let secret = EncodingKey::from_secret(f.keyrings[4].jwks_json().as_bytes());
        jsonwebtoken::crypto::sign(message.as_bytes(), &secret, jsonwebtoken::Algorithm::HS256)
    } else {
        let alg = match key.alg {
            SigningAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            SigningAlgorithm::PS256 => jsonwebtoken::Algorithm::PS256,
            SigningAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            SigningAlgorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            SigningAlgorithm::HS256 => jsonwebtoken::Algorithm::HS256,
        };
        jsonwebtoken::crypto::sign(message.as_bytes(), &key.encoding, alg)
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
    let verifying = &f.keyrings[n].keys()[0].verifying;
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

    // The whole access-token check, against the key's own keyring and the
    // mixed one.
    for k in [n, 4] {
        let keyring = &f.keyrings[k];
        let Ok(claims) = verify_access_token(keyring, &token, NOW, LEEWAY) else {
            continue;
        };
        if std::env::var_os("GATEHOUSE_FUZZ_DEBUG").is_some() {
            eprintln!("resign: keyring {k} accepted {token}");
        }
        let fail = |why: &str| -> ! {
            panic!(
                "verify_access_token (keyring {k}) accepted a token that {why}\ntoken: {token:?}\nclaims: {claims:?}"
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
        if p.get("iss").and_then(Value::as_str) != Some(keyring.issuer.as_str()) {
            fail("has the wrong issuer");
        }
        let accepted = keyring.audiences();
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
            || claims.iss != keyring.issuer
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
