//! Properties of the verifier's entry points (`verify_access_token`,
//! `verify_compact`, `VerifyingKey::verify_signature`) over generated input:
//! nothing panics, nothing but an untouched honest token is accepted.
//!
//! Each property runs a bounded number of cases (see `CASES`), and the
//! exhaustive tests below them walk every position of one token per
//! algorithm, so the file stays within a few seconds in a debug build.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_jwt::{
    AccessClaims, Audience, DEFAULT_LEEWAY_SECS, KeySet, MAX_TOKEN_BYTES, SigningAlgorithm,
    VerifyingKey, verify_access_token, verify_compact,
};
use proptest::prelude::*;
use proptest::sample::Index;

mod common;

const NOW: i64 = 1_700_000_000;
const CASES: u32 = 384;

/// The characters a one-character mutation may write: the base64url
/// alphabet, the part separator and the padding character.
const MUTATION_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=";

struct Signed {
    keys: KeySet,
    token: String,
}

impl Signed {
    fn new(name: &str, alg: SigningAlgorithm) -> Self {
        let key = common::generate(alg);
        let issuer = format!("https://auth.example.com/t/{name}");
        let keys = KeySet::new(
            issuer.clone(),
            vec![issuer.clone()],
            vec![key.verifying.clone()],
        );
        let claims = AccessClaims {
            iss: issuer.clone(),
            sub: "user-1".into(),
            aud: Audience::One(issuer),
            exp: NOW + 900,
            iat: NOW,
            nbf: NOW,
            jti: "jti-1".into(),
            client_id: "client-1".into(),
            sid: Some("session-1".into()),
            scope: "openid profile".into(),
            preferred_username: Some("ada".into()),
            email: Some("ada@example.com".into()),
            email_verified: None,
            given_name: None,
            family_name: None,
            roles: vec!["reader".into()],
        };
        let token = key.sign(&claims);
        let signed = Self { keys, token };
        assert!(signed.accepts(&signed.token), "{alg}: the honest token");
        signed
    }

    fn verify(&self, token: &str) -> bool {
        verify_access_token(&self.keys, token, NOW, DEFAULT_LEEWAY_SECS).is_ok()
    }

    /// The issuer's one key, the one that signed [`Self::token`].
    fn key(&self) -> &VerifyingKey {
        &self.keys.keys[0]
    }

    /// Both entry points agree: the full check, and the signature layer
    /// alone with the issuer's key.
    fn accepts(&self, token: &str) -> bool {
        let full = self.verify(token);
        let key = self.key();
        let compact = verify_compact(token, |_| Ok(key)).is_ok();
        assert!(
            !full || compact,
            "the full check accepted what the signature layer refused: {token}"
        );
        full
    }
}

static SIGNED: LazyLock<Vec<Signed>> = LazyLock::new(|| {
    [
        ("rsa", SigningAlgorithm::RS256),
        ("pss", SigningAlgorithm::PS256),
        ("ecdsa", SigningAlgorithm::ES256),
        ("edwards", SigningAlgorithm::EdDSA),
        ("hmac", SigningAlgorithm::HS256),
    ]
    .into_iter()
    .map(|(name, alg)| Signed::new(name, alg))
    .collect()
});

fn signed(i: &Index) -> &'static Signed {
    i.get(SIGNED.as_slice())
}

/// `token` with the character at `pos` replaced by `replacement`, or by
/// the next character of the alphabet if it is the one already there.
fn substitute(token: &str, pos: usize, replacement: u8) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let mut c = replacement;
    if bytes[pos] == c {
        let i = MUTATION_ALPHABET.iter().position(|x| *x == c).unwrap();
        c = MUTATION_ALPHABET[(i + 1) % MUTATION_ALPHABET.len()];
    }
    bytes[pos] = c;
    String::from_utf8(bytes).unwrap()
}

fn base64url_part(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9_-]{{0,{max}}}")).unwrap()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_strings_are_rejected(s in any::<String>(), which in any::<Index>()) {
        prop_assert!(!signed(&which).accepts(&s));
    }

    #[test]
    fn arbitrary_bytes_as_text_are_rejected(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        which in any::<Index>(),
    ) {
        let s = String::from_utf8_lossy(&bytes);
        prop_assert!(!signed(&which).accepts(&s));
    }

    #[test]
    fn three_random_base64url_parts_are_rejected(
        h in base64url_part(120),
        p in base64url_part(300),
        s in base64url_part(400),
        which in any::<Index>(),
    ) {
        let token = [h, p, s].join(".");
        prop_assert!(!signed(&which).accepts(&token), "accepted: {}", token);
    }

    #[test]
    fn any_number_of_random_parts_is_rejected(
        parts in proptest::collection::vec(base64url_part(60), 0..12),
        which in any::<Index>(),
    ) {
        prop_assert!(!signed(&which).accepts(&parts.join(".")));
    }

    /// The honest header and payload with random signature bytes of every
    /// length around the real one.
    #[test]
    fn random_signatures_are_rejected(
        sig in proptest::collection::vec(any::<u8>(), 0..600),
        which in any::<Index>(),
    ) {
        let t = signed(&which);
        let input = t.token.rsplit_once('.').unwrap().0;
        let token = [input, &URL_SAFE_NO_PAD.encode(&sig)].join(".");
        prop_assert!(!t.accepts(&token), "accepted: {}", token);
    }

    /// The honest header and signature over random payload bytes, and a
    /// random JSON object.
    #[test]
    fn random_payloads_are_rejected(
        payload in proptest::collection::vec(any::<u8>(), 0..400),
        claims in proptest::collection::btree_map("[a-z_]{1,10}", any::<i64>(), 0..10),
        which in any::<Index>(),
    ) {
        let t = signed(&which);
        let mut it = t.token.split('.');
        let (h, _, s) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let token = [h, &URL_SAFE_NO_PAD.encode(&payload), s].join(".");
        prop_assert!(!t.accepts(&token), "accepted: {}", token);
        let json = serde_json::to_vec(&claims).unwrap();
        let token = [h, &URL_SAFE_NO_PAD.encode(json), s].join(".");
        prop_assert!(!t.accepts(&token), "accepted: {}", token);
    }

    /// Any one character replaced (with one of base64url, `.`, `=`) breaks
    /// the token. Strict base64url has no second spelling of the same
    /// bytes, so there is no "harmless" mutation to allow for.
    #[test]
    fn single_character_substitutions_are_rejected(
        which in any::<Index>(),
        pos in any::<Index>(),
        c in proptest::sample::select(MUTATION_ALPHABET),
    ) {
        let t = signed(&which);
        let mutated = substitute(&t.token, pos.index(t.token.len()), c);
        prop_assert_ne!(&mutated, &t.token);
        prop_assert!(!t.accepts(&mutated), "accepted: {}", mutated);
    }

    #[test]
    fn truncations_are_rejected(which in any::<Index>(), keep in any::<Index>()) {
        let t = signed(&which);
        let n = keep.index(t.token.len());
        prop_assert!(!t.accepts(&t.token[..n]));
        prop_assert!(!t.accepts(&t.token[t.token.len() - n..]));
    }

    #[test]
    fn deletions_and_insertions_are_rejected(
        which in any::<Index>(),
        pos in any::<Index>(),
        c in proptest::sample::select(MUTATION_ALPHABET),
    ) {
        let t = signed(&which);
        let i = pos.index(t.token.len());
        let mut deleted = t.token.clone();
        deleted.remove(i);
        prop_assert!(!t.accepts(&deleted));
        let mut inserted = t.token.clone();
        inserted.insert(i, c as char);
        prop_assert!(!t.accepts(&inserted));
    }

    /// Appending or prepending anything at all.
    #[test]
    fn extensions_are_rejected(which in any::<Index>(), extra in ".{1,40}") {
        let t = signed(&which);
        let appended = t.token.clone() + &extra;
        prop_assert!(!t.accepts(&appended), "accepted: {}", appended);
        let prepended = extra + &t.token;
        prop_assert!(!t.accepts(&prepended), "accepted: {}", prepended);
    }

    /// The signature primitive: random messages and signature text never
    /// verify, and never panic.
    #[test]
    fn verify_signature_refuses_random_input(
        which in any::<Index>(),
        message in proptest::collection::vec(any::<u8>(), 0..200),
        sig_text in ".{0,400}",
        sig_bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let key = signed(&which).key();
        prop_assert!(!key.verify_signature(&message, &sig_text));
        prop_assert!(!key.verify_signature(&message, &URL_SAFE_NO_PAD.encode(&sig_bytes)));
    }

    /// A genuine signature does not verify any other message.
    #[test]
    fn a_signature_binds_its_message(
        which in any::<Index>(),
        message in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let t = signed(&which);
        let (input, sig) = t.token.rsplit_once('.').unwrap();
        prop_assume!(message != input.as_bytes());
        let key = t.key();
        prop_assert!(key.verify_signature(input.as_bytes(), sig));
        prop_assert!(!key.verify_signature(&message, sig));
    }
}

// ---- exhaustive walks over one token per algorithm ------------------------

#[test]
fn every_single_character_substitution_is_rejected() {
    let mut checked = 0usize;
    for t in SIGNED.iter() {
        for pos in 0..t.token.len() {
            for &c in MUTATION_ALPHABET {
                if t.token.as_bytes()[pos] == c {
                    continue;
                }
                let mutated = substitute(&t.token, pos, c);
                assert!(!t.accepts(&mutated), "accepted: {mutated}");
                checked += 1;
            }
        }
    }
    println!("{checked} single-character substitutions rejected");
}

#[test]
fn every_truncation_and_deletion_is_rejected() {
    for t in SIGNED.iter() {
        let n = t.token.len();
        for keep in 0..n {
            assert!(!t.accepts(&t.token[..keep]), "prefix {keep}");
            assert!(!t.accepts(&t.token[n - keep..]), "suffix {keep}");
            let mut deleted = t.token.clone();
            deleted.remove(keep);
            assert!(!t.accepts(&deleted), "deleted {keep}");
        }
        assert!(t.accepts(&t.token));
    }
}

#[test]
fn honest_tokens_are_well_under_the_size_cap() {
    for t in SIGNED.iter() {
        assert!(t.token.len() < MAX_TOKEN_BYTES / 4, "{}", t.token.len());
    }
}
