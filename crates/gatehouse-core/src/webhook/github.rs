//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`
//! (docs.github.com, "Validating webhook deliveries"). GitHub signs no
//! timestamp, so a captured delivery can be replayed; the delivery's
//! `X-GitHub-Delivery` id is what a consumer deduplicates on.

use super::{Claim, Digest, Encoding, HeaderLookup, WebhookError};

pub(super) const HEADER: &str = "x-hub-signature-256";
const PREFIX: &str = "sha256=";

pub(super) fn read(headers: &dyn HeaderLookup) -> Result<Claim<'_>, WebhookError> {
    let value = super::required(headers, HEADER)?;
    let hex = value
        .strip_prefix(PREFIX)
        .ok_or_else(|| super::malformed(HEADER, "does not start with `sha256=`"))?;
    let signature =
        super::decode_signature(Digest::Sha256, Encoding::Hex, hex).ok_or_else(|| {
            super::malformed(HEADER, "does not hold a hex HMAC-SHA256 after `sha256=`")
        })?;
    Ok(Claim {
        preamble: Vec::new(),
        timestamp: None,
        signatures: vec![signature],
    })
}

pub(super) fn sign(key: &[u8], body: &[u8]) -> Vec<(String, String)> {
    let mac = super::compute(Digest::Sha256, key, &[], body);
    vec![(HEADER.to_owned(), format!("{PREFIX}{}", hex::encode(mac)))]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::super::test_support::{headers, secret, secrets};
    use super::super::{Scheme, signature_headers, verify};
    use super::*;

    // docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries,
    // "Testing the webhook payload validation": this secret and payload must
    // give this signature.
    const SECRET: &str = "It's a Secret to Everybody";
    const PAYLOAD: &[u8] = b"Hello, World!";
    const SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    const NOW: i64 = 1_700_000_000;

    fn check(value: &str, body: &[u8], secret_texts: &[&str]) -> Result<(), WebhookError> {
        verify(
            &Scheme::GitHub,
            &secrets(secret_texts),
            &headers(&[(HEADER, value)]),
            body,
            NOW,
        )
    }

    #[test]
    fn githubs_documented_example_verifies() {
        assert_eq!(check(SIGNATURE, PAYLOAD, &[SECRET]), Ok(()));
    }

    #[test]
    fn signing_reproduces_githubs_documented_example() {
        let h = signature_headers(&Scheme::GitHub, &secret(SECRET), PAYLOAD, NOW, "");
        assert_eq!(h, headers(&[(HEADER, SIGNATURE)]));
    }

    #[test]
    fn upper_case_hex_is_the_same_signature() {
        let upper = format!("sha256={}", SIGNATURE[7..].to_ascii_uppercase());
        assert_eq!(check(&upper, PAYLOAD, &[SECRET]), Ok(()));
    }

    #[test]
    fn a_tampered_body_or_a_wrong_secret_is_a_mismatch() {
        assert_eq!(
            check(SIGNATURE, b"Hello, World?", &[SECRET]),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(
            check(SIGNATURE, PAYLOAD, &["It's a Secret to Nobody"]),
            Err(WebhookError::SignatureMismatch)
        );
    }

    #[test]
    fn the_missing_header_is_named() {
        let err = verify(
            &Scheme::GitHub,
            &secrets(&[SECRET]),
            &headers(&[("x-hub-signature", "sha1=00")]),
            PAYLOAD,
            NOW,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the `x-hub-signature-256` header is missing"
        );
    }

    #[test]
    fn junk_values_are_malformed_not_panics() {
        let huge = format!("sha256={}", "a".repeat(10_000));
        let one_byte_short = &SIGNATURE[..SIGNATURE.len() - 2];
        for junk in [
            "",
            "sha256=",
            "sha256=zz",
            "sha256=abc",
            one_byte_short,
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d",
            "SHA256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17,x",
            "sha256=é",
            &huge,
        ] {
            let err = check(junk, PAYLOAD, &[SECRET]).unwrap_err();
            assert!(
                matches!(err, WebhookError::MalformedHeader { .. }),
                "{junk:.40}: {err:?}"
            );
        }
    }
}
