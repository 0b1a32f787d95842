//! Project Wycheproof test vectors (C2SP/wycheproof `testvectors_v1/`,
//! Apache License 2.0) run against Gatehouse's signature layer.
//!
//! The vectors live outside the repository, in
//! `shared/testdata/wycheproof/` beside it (see the README and LICENSE
//! there). They are required: if they are missing this test fails, it does
//! not skip.
//!
//! Verdicts are compared case by case. Gatehouse offers five algorithms
//! (RS256, PS256, ES256, EdDSA, HS256); a case of any other algorithm must be
//! rejected whatever its label says. Every other difference from the label
//! is listed below by tcId, with its reason, and the test asserts that the
//! differences are exactly those.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_jwt::{VerifyingKey, verify_compact};
use jsonwebtoken::jwk::Jwk;
use serde_json::{Value, json};

/// The algorithms Gatehouse signs and verifies with.
const OFFERED: [&str; 5] = ["RS256", "PS256", "ES256", "EdDSA", "HS256"];

/// "valid" cases of an offered algorithm that Gatehouse rejects on purpose.
/// Both carry a `?` inside a base64url part. Gatehouse decodes base64url
/// strictly (RFC 7515 §2: the URL-safe alphabet, no padding, no other
/// characters), so a `?` makes the token malformed; the vector expects a
/// decoder that skips characters outside the alphabet.
const STRICTER_POLICY: [(u64, &str); 2] = [
    (
        372,
        "`?` inserted in the base64url header: strict base64url (RFC 7515 §2) refuses it",
    ),
    (
        373,
        "`?` inserted in the base64url payload: strict base64url (RFC 7515 §2) refuses it",
    ),
];

/// "invalid" cases that Gatehouse accepts because the vector itself is
/// defective: their `jws` is byte-for-byte the `jws` of tcId 357
/// ("ValidMac", labelled valid, same key). Their comments say a padding
/// character was added, but the published string has none. The test checks
/// the identity, so a corrected vector would show up as a new difference;
/// the padded forms the comments describe are checked separately below
/// (`intended_padding_vectors_are_rejected`).
const DEFECTIVE_INVALID_LABEL: [(u64, &str); 2] = [
    (
        367,
        "invalidBase64Padding: identical to valid tcId 357, the padding is missing from the vector",
    ),
    (
        370,
        "invalidBase64PaddingInPayload: identical to valid tcId 357, the padding is missing from the vector",
    ),
];
const DEFECTIVE_TWIN: u64 = 357;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/wycheproof")
}

fn load(name: &str) -> Value {
    let dir = vectors_dir();
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the Wycheproof vectors are required and missing: cannot read {} ({e}). \
             They belong in shared/testdata/wycheproof/ beside the repository \
             (C2SP/wycheproof testvectors_v1, with its README and LICENSE); \
             this test fails rather than skips without them.",
            path.display()
        )
    });
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

fn groups(file: &Value) -> &Vec<Value> {
    file["testGroups"].as_array().expect("testGroups")
}

fn tests(group: &Value) -> &Vec<Value> {
    group["tests"].as_array().expect("tests")
}

fn tc_id(case: &Value) -> u64 {
    case["tcId"].as_u64().expect("tcId")
}

fn declared_count(file: &Value) -> usize {
    file["numberOfTests"].as_u64().expect("numberOfTests") as usize
}

/// The group's key as Gatehouse would be given it: the public JWK, or for
/// an `oct` key (which has no public half) the private one. Private members
/// are removed, so a verifier never sees them.
fn group_jwk(group: &Value) -> Value {
    let mut jwk = group
        .get("public")
        .or_else(|| group.get("private"))
        .cloned()
        .expect("a JWS group has a key");
    if let Some(obj) = jwk.as_object_mut()
        && obj.get("kty").and_then(Value::as_str) != Some("oct")
    {
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
            obj.remove(private);
        }
    }
    jwk
}

fn key_from_jwk(jwk: &Value) -> Result<VerifyingKey, String> {
    let parsed: Jwk = serde_json::from_value(jwk.clone())
        .map_err(|e| format!("not a JWK jsonwebtoken reads: {e}"))?;
    VerifyingKey::from_jwk(&parsed).map_err(|e| format!("refused by from_jwk: {e}"))
}

/// The `alg` a JWS header names, read leniently (only to classify a case,
/// never to verify it).
fn header_alg(jws: &str) -> Option<String> {
    let first = jws.split('.').next()?;
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let bytes = lenient.decode(first.trim_end_matches('=')).ok()?;
    let header: Value = serde_json::from_slice(&bytes).ok()?;
    header["alg"].as_str().map(str::to_string)
}

fn offered(alg: Option<&str>) -> bool {
    alg.is_none_or(|a| OFFERED.contains(&a))
}

#[derive(Default, Debug)]
struct Tally {
    checked: usize,
    accepted: usize,
    rejected: usize,
    /// Cases of an algorithm Gatehouse does not offer (all rejected).
    not_offered: usize,
    /// Of those, the ones labelled "valid".
    not_offered_valid: usize,
    not_offered_valid_ids: Vec<u64>,
    acceptable: usize,
}

#[test]
fn json_web_signature_vectors() {
    let file = load("json_web_signature_test.json");
    let mut tally = Tally::default();
    let mut disagreements: Vec<String> = Vec::new();
    let mut stricter: BTreeSet<u64> = BTreeSet::new();
    let mut defective: BTreeSet<u64> = BTreeSet::new();
    let mut jws_by_id: BTreeMap<u64, String> = BTreeMap::new();
    let mut key_verdicts: Vec<String> = Vec::new();

    for group in groups(&file) {
        let jwk = group_jwk(group);
        let key_alg = jwk["alg"].as_str().map(str::to_string);
        let key = key_from_jwk(&jwk);
        key_verdicts.push(format!(
            "{:<22} alg {:<6} kid {:<40} {}",
            group["comment"].as_str().unwrap_or(""),
            key_alg.as_deref().unwrap_or("-"),
            jwk["kid"].as_str().unwrap_or("-"),
            match &key {
                Ok(k) => format!("accepted as {}", k.algorithm()),
                Err(e) => e.clone(),
            }
        ));
        if let Ok(k) = &key {
            assert!(
                offered(key_alg.as_deref()),
                "from_jwk accepted a key of an algorithm Gatehouse does not offer: {jwk}"
            );
            assert_eq!(Some(k.algorithm().as_str()), key_alg.as_deref());
        }

        for case in tests(group) {
            let id = tc_id(case);
            let label = case["result"].as_str().expect("result");
            tally.checked += 1;

            let (accepted, case_alg) = match (&case["jws"], &key) {
                (Value::String(jws), Ok(k)) => {
                    jws_by_id.insert(id, jws.clone());
                    (verify_compact(jws, |_| Ok(k)).is_ok(), header_alg(jws))
                }
                (Value::String(jws), Err(_)) => {
                    jws_by_id.insert(id, jws.clone());
                    (false, header_alg(jws))
                }
                // A JWS that is not a string (e.g. a JSON serialization
                // given as an object) has no compact form: rejected. Its
                // JSON text must be rejected too.
                (other, Ok(k)) => {
                    assert!(
                        verify_compact(&other.to_string(), |_| Ok(k)).is_err(),
                        "tcId {id}: a non-compact JWS was accepted"
                    );
                    (false, None)
                }
                (_, Err(_)) => (false, None),
            };
            if accepted {
                tally.accepted += 1;
            } else {
                tally.rejected += 1;
            }

            let policy_offered = offered(key_alg.as_deref()) && offered(case_alg.as_deref());
            if !policy_offered {
                tally.not_offered += 1;
                if label == "valid" {
                    tally.not_offered_valid += 1;
                    tally.not_offered_valid_ids.push(id);
                }
                if accepted {
                    disagreements.push(format!(
                        "tcId {id}: algorithm {case_alg:?} (key {key_alg:?}) is not offered, \
                         yet the case was accepted"
                    ));
                }
                continue;
            }
            match (label, accepted) {
                ("valid", true) | ("invalid", false) => {}
                ("acceptable", _) => tally.acceptable += 1,
                ("valid", false) if STRICTER_POLICY.iter().any(|(t, _)| *t == id) => {
                    stricter.insert(id);
                }
                ("invalid", true) if DEFECTIVE_INVALID_LABEL.iter().any(|(t, _)| *t == id) => {
                    defective.insert(id);
                }
                _ => disagreements.push(format!(
                    "tcId {id} ({}): labelled {label}, Gatehouse {}",
                    case["comment"].as_str().unwrap_or(""),
                    if accepted { "accepted" } else { "rejected" }
                )),
            }
        }
    }

    println!("Wycheproof json_web_signature_test.json, keys:");
    for line in &key_verdicts {
        println!("  {line}");
    }
    println!(
        "checked {} cases: {} accepted, {} rejected; {} of an algorithm Gatehouse does not \
         offer (all rejected, {} of them labelled valid); {} acceptable",
        tally.checked,
        tally.accepted,
        tally.rejected,
        tally.not_offered,
        tally.not_offered_valid,
        tally.acceptable
    );
    println!(
        "  valid cases rejected because their algorithm is not offered: {:?}",
        tally.not_offered_valid_ids
    );
    for (id, why) in STRICTER_POLICY {
        println!("  stricter policy, tcId {id}: {why}");
    }
    for (id, why) in DEFECTIVE_INVALID_LABEL {
        println!("  defective vector, tcId {id}: {why}");
    }

    assert_eq!(tally.checked, declared_count(&file), "numberOfTests");
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s) with Wycheproof:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert_eq!(
        stricter,
        STRICTER_POLICY
            .iter()
            .map(|(t, _)| *t)
            .collect::<BTreeSet<_>>(),
        "the valid cases rejected by deliberate policy are exactly the documented ones"
    );
    assert_eq!(
        defective,
        DEFECTIVE_INVALID_LABEL
            .iter()
            .map(|(t, _)| *t)
            .collect::<BTreeSet<_>>(),
        "the defective invalid cases are exactly the documented ones"
    );
    let twin = &jws_by_id[&DEFECTIVE_TWIN];
    for (id, _) in DEFECTIVE_INVALID_LABEL {
        assert_eq!(
            &jws_by_id[&id], twin,
            "tcId {id} is no longer a copy of tcId {DEFECTIVE_TWIN}: re-examine it"
        );
    }
    // Every valid case of an offered algorithm, minus the documented ones,
    // was accepted, so the offered algorithms really were exercised.
    assert!(tally.accepted >= 20, "{tally:?}");
}

/// The groups whose key is meant for encryption are refused because they
/// name no `alg`; they must still be refused when they do.
#[test]
fn encryption_keys_are_refused_even_with_an_algorithm() {
    let file = load("json_web_signature_test.json");
    let mut seen = 0;
    for group in groups(&file) {
        let mut jwk = group_jwk(group);
        let for_encryption = jwk.get("use") == Some(&json!("enc"))
            || jwk["key_ops"]
                .as_array()
                .is_some_and(|ops| !ops.contains(&json!("verify")));
        if !for_encryption {
            continue;
        }
        seen += 1;
        let alg = if jwk["kty"] == "RSA" {
            "RS256"
        } else {
            "ES256"
        };
        jwk["alg"] = json!(alg);
        assert!(
            key_from_jwk(&jwk).is_err(),
            "a key for encryption was accepted once it named {alg}: {jwk}"
        );
        // Without the encryption marking, the same key is fine.
        let obj = jwk.as_object_mut().unwrap();
        obj.remove("use");
        obj.remove("key_ops");
        assert!(key_from_jwk(&jwk).is_ok(), "{jwk}");
    }
    assert_eq!(seen, 4, "the four encryption-key groups");
}

/// What tcIds 367 and 370 were meant to test: a base64url part carrying
/// `=` padding, with a MAC that is correct over the padded text. Built here
/// with the group's key (the `base64` group, 32 zero bytes).
#[test]
fn intended_padding_vectors_are_rejected() {
    let file = load("json_web_signature_test.json");
    let group = groups(&file)
        .iter()
        .find(|g| tests(g).iter().any(|c| tc_id(c) == DEFECTIVE_TWIN))
        .expect("the group of tcId 357");
    let jwk = group_jwk(group);
    let key = key_from_jwk(&jwk).expect("the base64 group's HS256 key");
    let secret = URL_SAFE_NO_PAD.decode(jwk["k"].as_str().unwrap()).unwrap();
    let enc = jsonwebtoken::EncodingKey::from_secret(&secret);
    let sign = |input: &str| {
        let mac =
            jsonwebtoken::crypto::sign(input.as_bytes(), &enc, jsonwebtoken::Algorithm::HS256)
                .unwrap();
        format!("{input}.{mac}")
    };
    let header = "eyJraWQiOiJoczI1Ni1rZXkiLCJhbGciOiJIUzI1NiJ9";
    let payload = "VGVzdA";
    let honest = sign(&format!("{header}.{payload}"));
    let twin = tests(group)
        .iter()
        .find(|c| tc_id(c) == DEFECTIVE_TWIN)
        .unwrap()["jws"]
        .as_str()
        .unwrap();
    assert_eq!(honest, twin, "the honest form is tcId 357");
    assert!(verify_compact(&honest, |_| Ok(&key)).is_ok());

    for padded in [
        sign(&format!("{header}=.{payload}")),
        sign(&format!("{header}.{payload}==")),
        format!("{honest}="),
    ] {
        assert!(
            verify_compact(&padded, |_| Ok(&key)).is_err(),
            "padded base64url accepted: {padded}"
        );
    }
}

fn hex_bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

/// A P-256 coordinate from Wycheproof's hex (which may carry a leading
/// sign byte) as the 32-byte big-endian value a JWK holds.
fn coordinate(hex_text: &Value) -> String {
    let raw = hex_bytes(hex_text);
    let trimmed: Vec<u8> = raw.iter().copied().skip_while(|b| *b == 0).collect();
    assert!(trimmed.len() <= 32, "coordinate longer than 32 bytes");
    let mut out = vec![0u8; 32 - trimmed.len()];
    out.extend(trimmed);
    URL_SAFE_NO_PAD.encode(out)
}

/// Runs a file of raw-signature vectors (`msg`, `sig` in hex) against the
/// key `make_key` builds for each group, and returns the tally.
fn run_signature_file(
    name: &str,
    make_key: impl Fn(&Value) -> Result<VerifyingKey, String>,
) -> Tally {
    let file = load(name);
    let mut tally = Tally::default();
    let mut disagreements = Vec::new();
    let mut acceptable_verdicts = Vec::new();
    for group in groups(&file) {
        let key = make_key(group);
        if let Err(e) = &key {
            println!("{name}: group key refused: {e}");
        }
        for case in tests(group) {
            let id = tc_id(case);
            let label = case["result"].as_str().expect("result");
            let msg = hex_bytes(&case["msg"]);
            let sig = URL_SAFE_NO_PAD.encode(hex_bytes(&case["sig"]));
            let accepted = key.as_ref().is_ok_and(|k| k.verify_signature(&msg, &sig));
            tally.checked += 1;
            if accepted {
                tally.accepted += 1;
            } else {
                tally.rejected += 1;
            }
            match (label, accepted) {
                ("valid", true) | ("invalid", false) => {}
                ("acceptable", a) => {
                    tally.acceptable += 1;
                    acceptable_verdicts.push(format!(
                        "tcId {id} {:?}: {}",
                        case["flags"],
                        if a { "accepted" } else { "rejected" }
                    ));
                }
                _ => disagreements.push(format!(
                    "tcId {id} ({} {:?}): labelled {label}, Gatehouse {}",
                    case["comment"].as_str().unwrap_or(""),
                    case["flags"],
                    if accepted { "accepted" } else { "rejected" }
                )),
            }
        }
    }
    println!(
        "Wycheproof {name}: checked {} cases: {} accepted, {} rejected, {} acceptable \
         (either verdict allowed)",
        tally.checked, tally.accepted, tally.rejected, tally.acceptable
    );
    for line in &acceptable_verdicts {
        println!("  acceptable {line}");
    }
    assert_eq!(tally.checked, declared_count(&file), "numberOfTests");
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s) with Wycheproof {name}:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    tally
}

#[test]
fn ecdsa_p256_sha256_p1363_vectors() {
    let tally = run_signature_file("ecdsa_secp256r1_sha256_p1363_test.json", |group| {
        let pk = &group["publicKey"];
        assert_eq!(pk["curve"], "secp256r1");
        let (x, y) = (coordinate(&pk["wx"]), coordinate(&pk["wy"]));
        // The uncompressed point says the same.
        let point = hex_bytes(&pk["uncompressed"]);
        assert_eq!(point.len(), 65);
        assert_eq!(point[0], 4);
        assert_eq!(URL_SAFE_NO_PAD.encode(&point[1..33]), x);
        assert_eq!(URL_SAFE_NO_PAD.encode(&point[33..]), y);
        // And so does the JWK, where the group has one.
        if let Some(published) = group.get("publicKeyJwk") {
            assert_eq!(published["x"].as_str(), Some(x.as_str()));
            assert_eq!(published["y"].as_str(), Some(y.as_str()));
        }
        key_from_jwk(&json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "x": x, "y": y
        }))
    });
    assert!(tally.accepted > 0 && tally.rejected > 0, "{tally:?}");
}

#[test]
fn ed25519_vectors() {
    let tally = run_signature_file("ed25519_test.json", |group| {
        let pk = &group["publicKey"];
        assert_eq!(pk["curve"], "edwards25519");
        let x = URL_SAFE_NO_PAD.encode(hex_bytes(&pk["pk"]));
        if let Some(published) = group.get("publicKeyJwk") {
            assert_eq!(published["x"].as_str(), Some(x.as_str()));
        }
        key_from_jwk(&json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "x": x
        }))
    });
    assert!(tally.accepted > 0 && tally.rejected > 0, "{tally:?}");
}
