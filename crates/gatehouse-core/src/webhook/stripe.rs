//! Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]`, each `v1` an
//! HMAC-SHA256 of `<ts>.<body>` (Stripe docs, "Verify webhook signatures
//! manually").
//!
//! Stripe sends one `v1` per active signing secret, so during a rotation on
//! Stripe's side the header holds two and either may be the one we hold.
//! `v0` (a test-mode scheme) and keys Stripe may add later are ignored, as
//! Stripe's own libraries do.

use super::{Claim, Digest, Encoding, HeaderLookup, MAX_SIGNATURES, UnixTime, WebhookError};

pub(super) const HEADER: &str = "stripe-signature";

pub(super) fn read(headers: &dyn HeaderLookup) -> Result<Claim<'_>, WebhookError> {
    let value = super::required(headers, HEADER)?;
    let mut timestamp: Option<&str> = None;
    let mut offered = 0;
    let mut signatures = Vec::new();
    for element in value.split(',') {
        let (key, value) = element
            .trim()
            .split_once('=')
            .ok_or_else(|| super::malformed(HEADER, "has an element that is not `key=value`"))?;
        match key {
            "t" if timestamp.is_some() => {
                return Err(super::malformed(HEADER, "has more than one `t=` timestamp"));
            }
            "t" => timestamp = Some(value),
            "v1" => {
                offered += 1;
                if offered > MAX_SIGNATURES {
                    return Err(super::malformed(HEADER, "holds more than 16 signatures"));
                }
                // One undecodable entry cannot match, but another may.
                if let Some(signature) =
                    super::decode_signature(Digest::Sha256, Encoding::Hex, value)
                {
                    signatures.push(signature);
                }
            }
            _ => {}
        }
    }
    let text = timestamp.ok_or_else(|| WebhookError::MissingTimestamp {
        header: HEADER.to_owned(),
    })?;
    let timestamp = super::parse_timestamp(text, HEADER)?;
    if offered == 0 {
        return Err(super::malformed(HEADER, "holds no `v1` signature"));
    }
    if signatures.is_empty() {
        return Err(super::malformed(
            HEADER,
            "holds no `v1` signature that is a hex HMAC-SHA256",
        ));
    }
    Ok(Claim {
        // What Stripe signs is the `t` text as sent, then `.`, then the body.
        preamble: vec![text.as_bytes(), b"."],
        timestamp: Some(timestamp),
        signatures,
    })
}

pub(super) fn sign(key: &[u8], body: &[u8], now: UnixTime) -> Vec<(String, String)> {
    let t = now.to_string();
    let mac = super::compute(Digest::Sha256, key, &[t.as_bytes(), b"."], body);
    vec![(HEADER.to_owned(), format!("t={t},v1={}", hex::encode(mac)))]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use super::super::test_support::{headers, secret, secrets};
    use super::super::{DEFAULT_TOLERANCE_SECS, Scheme, signature_headers, verify};
    use super::*;

    const SECRET: &str = "whsec_test_3c2d9f0a5b8e4c1d7f6a2b9e0c3d8f1a";
    const BODY: &[u8] = br#"{"id":"evt_1","object":"event","type":"invoice.paid"}"#;
    const T: i64 = 1_700_000_000;
    const SCHEME: Scheme = Scheme::Stripe {
        tolerance_secs: DEFAULT_TOLERANCE_SECS,
    };

    /// Stripe's documented construction, written out independently of the
    /// module: hex(HMAC-SHA256(secret, "<t>.<body>")).
    fn stripe_signature(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    fn check(value: &str, body: &[u8], now: i64) -> Result<(), WebhookError> {
        verify(
            &SCHEME,
            &secrets(&[SECRET]),
            &headers(&[("Stripe-Signature", value)]),
            body,
            now,
        )
    }

    #[test]
    fn a_signature_made_by_stripes_documented_scheme_verifies() {
        let value = format!("t={T},v1={}", stripe_signature(SECRET, T, BODY));
        assert_eq!(check(&value, BODY, T), Ok(()));
    }

    #[test]
    fn signing_agrees_with_the_documented_scheme() {
        let h = signature_headers(&SCHEME, &secret(SECRET), BODY, T, "");
        let expected = format!("t={T},v1={}", stripe_signature(SECRET, T, BODY));
        assert_eq!(h, headers(&[(HEADER, &expected)]));
    }

    #[test]
    fn the_second_v1_may_be_the_valid_one_and_other_keys_are_ignored() {
        let stale = stripe_signature("the previous secret", T, BODY);
        let good = stripe_signature(SECRET, T, BODY);
        let value = format!("t={T}, v1={stale}, v0={stale}, v1={good}, v9=whatever");
        assert_eq!(check(&value, BODY, T), Ok(()));
        // An undecodable first entry does not hide a good second one.
        let value = format!("t={T},v1=not-hex,v1={good}");
        assert_eq!(check(&value, BODY, T), Ok(()));
    }

    #[test]
    fn a_tampered_body_or_a_wrong_secret_is_a_mismatch() {
        let value = format!("t={T},v1={}", stripe_signature(SECRET, T, BODY));
        assert_eq!(
            check(&value, b"{}", T),
            Err(WebhookError::SignatureMismatch)
        );
        let value = format!("t={T},v1={}", stripe_signature("not ours", T, BODY));
        assert_eq!(check(&value, BODY, T), Err(WebhookError::SignatureMismatch));
    }

    #[test]
    fn a_signature_moved_to_another_timestamp_is_a_mismatch() {
        let value = format!("t={},v1={}", T + 1, stripe_signature(SECRET, T, BODY));
        assert_eq!(check(&value, BODY, T), Err(WebhookError::SignatureMismatch));
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_refused_both_ways() {
        let value = format!("t={T},v1={}", stripe_signature(SECRET, T, BODY));
        let outside = WebhookError::TimestampOutsideTolerance {
            tolerance_secs: 300,
        };
        assert_eq!(check(&value, BODY, T + 300), Ok(()));
        assert_eq!(check(&value, BODY, T - 300), Ok(()));
        // Too old: a replay of a captured delivery.
        assert_eq!(check(&value, BODY, T + 301), Err(outside.clone()));
        // Too far ahead: now is before the signed time.
        assert_eq!(check(&value, BODY, T - 301), Err(outside.clone()));
        assert_eq!(
            outside.to_string(),
            "the signed timestamp is more than 300 s away from the current time; \
             the delivery is refused as a possible replay"
        );
    }

    #[test]
    fn a_missing_or_malformed_timestamp_is_named() {
        let sig = stripe_signature(SECRET, T, BODY);
        assert_eq!(
            check(&format!("v1={sig}"), BODY, T),
            Err(WebhookError::MissingTimestamp {
                header: HEADER.into()
            })
        );
        for t in ["", "abc", "-5", "1.7e9", "17000000000000000000000"] {
            assert_eq!(
                check(&format!("t={t},v1={sig}"), BODY, T),
                Err(WebhookError::MalformedTimestamp {
                    header: HEADER.into()
                }),
                "{t:?}"
            );
        }
    }

    #[test]
    fn junk_headers_are_malformed_not_panics() {
        let sig = stripe_signature(SECRET, T, BODY);
        let many = format!("t={T}{}", format!(",v1={sig}").repeat(17));
        let huge = format!("t={T},v1={}", "0".repeat(5000));
        for junk in [
            String::new(),
            ",".to_owned(),
            format!("t={T}"),
            format!("t={T},v0={sig}"),
            format!("t={T},v1="),
            format!("t={T},v1=zz"),
            format!("t={T},t={T},v1={sig}"),
            format!("t={T},v1={sig},garbage"),
            many,
            huge,
        ] {
            let err = check(&junk, BODY, T).unwrap_err();
            assert!(
                matches!(err, WebhookError::MalformedHeader { .. }),
                "{junk:.60}: {err:?}"
            );
        }
    }

    #[test]
    fn sixteen_signatures_are_still_considered() {
        let stale = stripe_signature("the previous secret", T, BODY);
        let good = stripe_signature(SECRET, T, BODY);
        let value = format!("t={T}{},v1={good}", format!(",v1={stale}").repeat(15));
        assert_eq!(check(&value, BODY, T), Ok(()));
    }
}
