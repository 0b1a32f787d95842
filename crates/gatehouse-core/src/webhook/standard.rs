//! Standard Webhooks (spec/standard-webhooks.md in
//! github.com/standard-webhooks/standard-webhooks): HMAC-SHA256 over
//! `<webhook-id>.<webhook-timestamp>.<body>`, sent base64 in
//! `webhook-signature` as space-separated `<version>,<signature>` entries.
//!
//! Only `v1` (symmetric) entries are ours to check; `v1a` (ed25519) and
//! unknown versions are skipped. The list exists, the spec says, for "zero
//! downtime secret rotation": a sender signs with the old and the new key.

use super::{Claim, Digest, Encoding, HeaderLookup, MAX_SIGNATURES, UnixTime, WebhookError};

pub(super) const ID: &str = "webhook-id";
pub(super) const TIMESTAMP: &str = "webhook-timestamp";
pub(super) const SIGNATURE: &str = "webhook-signature";
/// The spec's serialisation of a symmetric secret: `whsec_<base64>`.
pub(super) const SECRET_PREFIX: &str = "whsec_";
const VERSION: &str = "v1";

pub(super) fn read(headers: &dyn HeaderLookup) -> Result<Claim<'_>, WebhookError> {
    let value = super::required(headers, SIGNATURE)?;
    let id = super::required(headers, ID)?;
    // The spec: the id "not be allowed to include any `.`", or the split
    // between id, timestamp and body in the signed text would be ambiguous.
    if id.is_empty() || id.contains('.') {
        return Err(super::malformed(ID, "must be a non-empty id without `.`"));
    }
    let text =
        super::optional(headers, TIMESTAMP)?.ok_or_else(|| WebhookError::MissingTimestamp {
            header: TIMESTAMP.to_owned(),
        })?;
    let timestamp = super::parse_timestamp(text, TIMESTAMP)?;

    let mut offered = 0;
    let mut signatures = Vec::new();
    for entry in value.split_ascii_whitespace() {
        let (version, signature) = entry.split_once(',').ok_or_else(|| {
            super::malformed(SIGNATURE, "has an entry that is not `version,signature`")
        })?;
        if version != VERSION {
            continue;
        }
        offered += 1;
        if offered > MAX_SIGNATURES {
            return Err(super::malformed(SIGNATURE, "holds more than 16 signatures"));
        }
        // One undecodable entry cannot match, but another may.
        if let Some(signature) =
            super::decode_signature(Digest::Sha256, Encoding::Base64, signature)
        {
            signatures.push(signature);
        }
    }
    if offered == 0 {
        return Err(super::malformed(SIGNATURE, "holds no `v1` signature"));
    }
    if signatures.is_empty() {
        return Err(super::malformed(
            SIGNATURE,
            "holds no `v1` signature that is a base64 HMAC-SHA256",
        ));
    }
    Ok(Claim {
        preamble: vec![id.as_bytes(), b".", text.as_bytes(), b"."],
        timestamp: Some(timestamp),
        signatures,
    })
}

pub(super) fn sign(key: &[u8], body: &[u8], now: UnixTime, id: &str) -> Vec<(String, String)> {
    let t = now.to_string();
    let mac = super::compute(
        Digest::Sha256,
        key,
        &[id.as_bytes(), b".", t.as_bytes(), b"."],
        body,
    );
    vec![
        (ID.to_owned(), id.to_owned()),
        (TIMESTAMP.to_owned(), t),
        (
            SIGNATURE.to_owned(),
            format!("{VERSION},{}", super::encode(Encoding::Base64, &mac)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::super::test_support::{headers, secret, secrets};
    use super::super::{DEFAULT_TOLERANCE_SECS, Scheme, signature_headers, verify};
    use super::*;

    const SCHEME: Scheme = Scheme::Standard {
        tolerance_secs: DEFAULT_TOLERANCE_SECS,
    };

    /// A reference vector from the standard-webhooks repository.
    struct Vector {
        secret: &'static str,
        id: &'static str,
        timestamp: i64,
        payload: &'static [u8],
        signature: &'static str,
    }

    /// libraries/javascript/src/webhook.test.ts, "sign function works".
    const JS: Vector = Vector {
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp: 1_614_265_330,
        payload: br#"{"test": 2432232314}"#,
        signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    };

    /// libraries/rust/src/lib.rs, `test_sign`.
    const RUST: Vector = Vector {
        secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        timestamp: 1_649_367_553,
        payload: br#"{"email":"test@example.com","username":"test_user"}"#,
        signature: "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
    };

    fn request(v: &Vector, signature: &str) -> Vec<(String, String)> {
        let t = v.timestamp.to_string();
        headers(&[(ID, v.id), (TIMESTAMP, &t), (SIGNATURE, signature)])
    }

    fn check(
        v: &Vector,
        h: &Vec<(String, String)>,
        body: &[u8],
        now: i64,
    ) -> Result<(), WebhookError> {
        verify(&SCHEME, &secrets(&[v.secret]), h, body, now)
    }

    #[test]
    fn the_reference_vectors_verify() {
        for v in [JS, RUST] {
            assert_eq!(
                check(&v, &request(&v, v.signature), v.payload, v.timestamp),
                Ok(()),
                "{}",
                v.id
            );
        }
    }

    #[test]
    fn signing_reproduces_the_reference_vectors() {
        for v in [JS, RUST] {
            let h = signature_headers(&SCHEME, &secret(v.secret), v.payload, v.timestamp, v.id);
            assert_eq!(h, request(&v, v.signature));
        }
    }

    #[test]
    fn a_secret_without_the_whsec_prefix_is_the_same_key() {
        // webhook.test.ts, "verification works with and without signature
        // prefix": the reference libraries base64-decode either way.
        let bare = JS.secret.strip_prefix(SECRET_PREFIX).unwrap();
        let h = request(&JS, JS.signature);
        assert_eq!(
            verify(&SCHEME, &secrets(&[bare]), &h, JS.payload, JS.timestamp),
            Ok(())
        );
    }

    #[test]
    fn a_later_v1_entry_may_be_the_valid_one_and_other_versions_are_skipped() {
        // The shape of webhook.test.ts's "multi sig payload is valid".
        let other = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
        let list = format!(
            "v1,{other} v2,{other} v1a,{other}  {} v1,{other}",
            JS.signature
        );
        assert_eq!(
            check(&JS, &request(&JS, &list), JS.payload, JS.timestamp),
            Ok(())
        );
        // Without the valid entry the same list is a mismatch.
        let list = format!("v1,{other} v2,{other} v1,{other}");
        assert_eq!(
            check(&JS, &request(&JS, &list), JS.payload, JS.timestamp),
            Err(WebhookError::SignatureMismatch)
        );
    }

    #[test]
    fn the_valid_signature_under_another_version_does_not_count() {
        let moved = JS.signature.replacen("v1,", "v1a,", 1);
        let err = check(&JS, &request(&JS, &moved), JS.payload, JS.timestamp).unwrap_err();
        assert!(
            matches!(err, WebhookError::MalformedHeader { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_tampered_body_a_wrong_secret_or_another_id_is_a_mismatch() {
        let h = request(&JS, JS.signature);
        assert_eq!(
            check(&JS, &h, br#"{"test": 2432232315}"#, JS.timestamp),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(
            verify(
                &SCHEME,
                &secrets(&[RUST.secret]),
                &h,
                JS.payload,
                JS.timestamp
            ),
            Err(WebhookError::SignatureMismatch)
        );
        let t = JS.timestamp.to_string();
        let h = headers(&[
            (ID, "msg_other"),
            (TIMESTAMP, &t),
            (SIGNATURE, JS.signature),
        ]);
        assert_eq!(
            check(&JS, &h, JS.payload, JS.timestamp),
            Err(WebhookError::SignatureMismatch)
        );
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_refused_both_ways() {
        let h = request(&JS, JS.signature);
        let outside = Err(WebhookError::TimestampOutsideTolerance {
            tolerance_secs: 300,
        });
        assert_eq!(check(&JS, &h, JS.payload, JS.timestamp + 300), Ok(()));
        assert_eq!(check(&JS, &h, JS.payload, JS.timestamp - 300), Ok(()));
        assert_eq!(check(&JS, &h, JS.payload, JS.timestamp + 301), outside);
        assert_eq!(check(&JS, &h, JS.payload, JS.timestamp - 301), outside);
    }

    #[test]
    fn missing_headers_are_named() {
        let t = JS.timestamp.to_string();
        let cases = [
            (
                headers(&[(ID, JS.id), (TIMESTAMP, &t)]),
                WebhookError::MissingHeader {
                    header: SIGNATURE.into(),
                },
            ),
            (
                headers(&[(TIMESTAMP, &t), (SIGNATURE, JS.signature)]),
                WebhookError::MissingHeader { header: ID.into() },
            ),
            (
                headers(&[(ID, JS.id), (SIGNATURE, JS.signature)]),
                WebhookError::MissingTimestamp {
                    header: TIMESTAMP.into(),
                },
            ),
        ];
        for (h, expected) in cases {
            assert_eq!(check(&JS, &h, JS.payload, JS.timestamp), Err(expected));
        }
    }

    #[test]
    fn junk_headers_are_errors_not_panics() {
        let t = JS.timestamp.to_string();
        let many = vec![JS.signature; 17].join(" ");
        let huge = format!("v1,{}", "A".repeat(5000));
        for signature in [
            "",
            "   ",
            "v1,",
            "v1",
            "v1,dawfeoifkpqwoekfpqoekf",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",
            "v1,!!!!",
            many.as_str(),
            huge.as_str(),
        ] {
            let h = headers(&[(ID, JS.id), (TIMESTAMP, &t), (SIGNATURE, signature)]);
            let err = check(&JS, &h, JS.payload, JS.timestamp);
            // The signature without its padding is still the signature.
            if signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE" {
                assert_eq!(err, Ok(()));
                continue;
            }
            assert!(
                matches!(err, Err(WebhookError::MalformedHeader { .. })),
                "{signature:.40}: {err:?}"
            );
        }
        for stamp in ["hello", "", "-1614265330", "1614265330.0"] {
            let h = headers(&[(ID, JS.id), (TIMESTAMP, stamp), (SIGNATURE, JS.signature)]);
            assert_eq!(
                check(&JS, &h, JS.payload, JS.timestamp),
                Err(WebhookError::MalformedTimestamp {
                    header: TIMESTAMP.into()
                }),
                "{stamp:?}"
            );
        }
        for id in ["", "msg.1"] {
            let h = headers(&[(ID, id), (TIMESTAMP, &t), (SIGNATURE, JS.signature)]);
            assert!(matches!(
                check(&JS, &h, JS.payload, JS.timestamp),
                Err(WebhookError::MalformedHeader { .. })
            ));
        }
    }

    #[test]
    fn a_secret_that_is_not_base64_is_a_configuration_fault() {
        let h = request(&JS, JS.signature);
        for bad in ["whsec_not base64!", "whsec_", "plain text secret"] {
            let err = verify(
                &SCHEME,
                &secrets(&[JS.secret, bad]),
                &h,
                JS.payload,
                JS.timestamp,
            )
            .unwrap_err();
            assert!(
                matches!(err, WebhookError::UnusableSecret { position: 2, .. }),
                "{bad}: {err:?}"
            );
            assert!(!err.to_string().contains(bad));
        }
    }
}
