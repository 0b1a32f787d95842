//! Any other sender that puts an HMAC of the body in one header:
//! `<header>: [prefix]<hex or base64 MAC>`, optionally with a signed
//! timestamp in a second header, in which case the MAC covers
//! `<timestamp>.<body>` (the construction Stripe made common) and the
//! timestamp must be fresh.

use super::{Claim, Digest, Encoding, HeaderLookup, UnixTime, WebhookError};

/// The fields of [`super::Scheme::Generic`] that say where the signature is,
/// borrowed so the scheme is not cloned per request.
pub(super) struct Layout<'s> {
    pub algorithm: Digest,
    pub header: &'s str,
    pub encoding: Encoding,
    pub prefix: Option<&'s str>,
    pub timestamp_header: Option<&'s str>,
}

pub(super) fn read<'h>(
    layout: &Layout<'_>,
    headers: &'h dyn HeaderLookup,
) -> Result<Claim<'h>, WebhookError> {
    let name = super::lowercase(layout.header);
    let value = super::required(headers, &name)?;
    let encoded = match layout.prefix {
        Some(prefix) => value
            .strip_prefix(prefix)
            .ok_or_else(|| super::malformed(&name, "does not start with the configured prefix"))?,
        None => value,
    };
    let signature = super::decode_signature(layout.algorithm, layout.encoding, encoded)
        .ok_or_else(|| {
            super::malformed(
                &name,
                match (layout.encoding, layout.algorithm) {
                    (Encoding::Hex, Digest::Sha256) => "does not hold a hex HMAC-SHA256",
                    (Encoding::Hex, Digest::Sha512) => "does not hold a hex HMAC-SHA512",
                    (Encoding::Base64, Digest::Sha256) => "does not hold a base64 HMAC-SHA256",
                    (Encoding::Base64, Digest::Sha512) => "does not hold a base64 HMAC-SHA512",
                },
            )
        })?;

    let (preamble, timestamp) = match layout.timestamp_header {
        None => (Vec::new(), None),
        Some(timestamp_header) => {
            let timestamp_name = super::lowercase(timestamp_header);
            let text = super::optional(headers, &timestamp_name)?.ok_or_else(|| {
                WebhookError::MissingTimestamp {
                    header: timestamp_name.clone().into_owned(),
                }
            })?;
            let timestamp = super::parse_timestamp(text, &timestamp_name)?;
            (vec![text.as_bytes(), b".".as_slice()], Some(timestamp))
        }
    };
    Ok(Claim {
        preamble,
        timestamp,
        signatures: vec![signature],
    })
}

pub(super) fn sign(
    layout: &Layout<'_>,
    key: &[u8],
    body: &[u8],
    now: UnixTime,
) -> Vec<(String, String)> {
    let t = now.to_string();
    let preamble: Vec<&[u8]> = match layout.timestamp_header {
        Some(_) => vec![t.as_bytes(), b"."],
        None => Vec::new(),
    };
    let mac = super::compute(layout.algorithm, key, &preamble, body);
    let mut headers = vec![(
        super::lowercase(layout.header).into_owned(),
        format!(
            "{}{}",
            layout.prefix.unwrap_or(""),
            super::encode(layout.encoding, &mac)
        ),
    )];
    if let Some(timestamp_header) = layout.timestamp_header {
        headers.push((super::lowercase(timestamp_header).into_owned(), t));
    }
    headers
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use hmac::{Hmac, Mac};
    use sha2::{Sha256, Sha512};

    use super::super::test_support::{headers, secret, secrets};
    use super::super::{Scheme, signature_headers, verify};
    use super::*;

    const SECRET: &str = "a generic shared secret";
    const BODY: &[u8] = br#"{"order":7,"status":"shipped"}"#;
    const NOW: i64 = 1_700_000_000;

    fn sha512_base64_prefixed() -> Scheme {
        Scheme::Generic {
            algorithm: Digest::Sha512,
            header: "x-shop-signature".into(),
            encoding: Encoding::Base64,
            prefix: Some("sha512=".into()),
            timestamp_header: None,
            tolerance_secs: 0,
        }
    }

    fn sha256_hex_timestamped() -> Scheme {
        Scheme::Generic {
            algorithm: Digest::Sha256,
            header: "X-Signature".into(),
            encoding: Encoding::Hex,
            prefix: None,
            timestamp_header: Some("X-Signature-Timestamp".into()),
            tolerance_secs: 120,
        }
    }

    /// The MACs written out independently of the module.
    fn sha512_base64(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        STANDARD.encode(mac.finalize().into_bytes())
    }

    fn sha256_hex(secret: &str, signed: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(signed);
        hex::encode(mac.finalize().into_bytes())
    }

    fn check(
        scheme: &Scheme,
        h: &[(&str, &str)],
        body: &[u8],
        now: i64,
    ) -> Result<(), WebhookError> {
        verify(scheme, &secrets(&[SECRET]), &headers(h), body, now)
    }

    #[test]
    fn sha512_base64_with_a_prefix_verifies() {
        let value = format!("sha512={}", sha512_base64(SECRET, BODY));
        let scheme = sha512_base64_prefixed();
        assert_eq!(
            check(&scheme, &[("x-shop-signature", &value)], BODY, NOW),
            Ok(())
        );
        assert_eq!(
            signature_headers(&scheme, &secret(SECRET), BODY, NOW, ""),
            headers(&[("x-shop-signature", &value)])
        );
    }

    #[test]
    fn sha512_refusals() {
        let scheme = sha512_base64_prefixed();
        let bare = sha512_base64(SECRET, BODY);
        let value = format!("sha512={bare}");
        assert_eq!(
            check(&scheme, &[("x-shop-signature", &value)], b"{}", NOW),
            Err(WebhookError::SignatureMismatch)
        );
        let wrong = format!("sha512={}", sha512_base64("not the secret", BODY));
        assert_eq!(
            check(&scheme, &[("x-shop-signature", &wrong)], BODY, NOW),
            Err(WebhookError::SignatureMismatch)
        );
        // The prefix is required when configured.
        assert_eq!(
            check(&scheme, &[("x-shop-signature", &bare)], BODY, NOW),
            Err(WebhookError::MalformedHeader {
                header: "x-shop-signature".into(),
                reason: "does not start with the configured prefix"
            })
        );
        // A SHA-256 MAC is not a SHA-512 one, however well encoded.
        let short = format!("sha512={}", STANDARD.encode([0u8; 32]));
        assert_eq!(
            check(&scheme, &[("x-shop-signature", &short)], BODY, NOW),
            Err(WebhookError::MalformedHeader {
                header: "x-shop-signature".into(),
                reason: "does not hold a base64 HMAC-SHA512"
            })
        );
        assert_eq!(
            check(&scheme, &[], BODY, NOW),
            Err(WebhookError::MissingHeader {
                header: "x-shop-signature".into()
            })
        );
    }

    #[test]
    fn with_a_timestamp_header_the_mac_covers_the_timestamp() {
        let scheme = sha256_hex_timestamped();
        let t = NOW.to_string();
        let value = sha256_hex(SECRET, &[format!("{t}.").as_bytes(), BODY].concat());
        let h = [
            ("x-signature", value.as_str()),
            ("x-signature-timestamp", t.as_str()),
        ];
        // Header names in the configuration are matched as lowercase.
        assert_eq!(check(&scheme, &h, BODY, NOW), Ok(()));
        assert_eq!(
            signature_headers(&scheme, &secret(SECRET), BODY, NOW, ""),
            headers(&h)
        );
        // Another timestamp with the same MAC: a mismatch.
        let later = (NOW + 1).to_string();
        let moved = [
            ("x-signature", value.as_str()),
            ("x-signature-timestamp", later.as_str()),
        ];
        assert_eq!(
            check(&scheme, &moved, BODY, NOW),
            Err(WebhookError::SignatureMismatch)
        );
    }

    #[test]
    fn the_generic_timestamp_is_held_to_its_tolerance_both_ways() {
        let scheme = sha256_hex_timestamped();
        let h = signature_headers(&scheme, &secret(SECRET), BODY, NOW, "");
        let outside = Err(WebhookError::TimestampOutsideTolerance {
            tolerance_secs: 120,
        });
        let configured = secrets(&[SECRET]);
        assert_eq!(verify(&scheme, &configured, &h, BODY, NOW + 120), Ok(()));
        assert_eq!(verify(&scheme, &configured, &h, BODY, NOW + 121), outside);
        assert_eq!(verify(&scheme, &configured, &h, BODY, NOW - 121), outside);
    }

    #[test]
    fn a_missing_or_malformed_generic_timestamp_is_named() {
        let scheme = sha256_hex_timestamped();
        let value = sha256_hex(SECRET, BODY);
        assert_eq!(
            check(&scheme, &[("x-signature", &value)], BODY, NOW),
            Err(WebhookError::MissingTimestamp {
                header: "x-signature-timestamp".into()
            })
        );
        assert_eq!(
            check(
                &scheme,
                &[
                    ("x-signature", &value),
                    ("x-signature-timestamp", "yesterday")
                ],
                BODY,
                NOW
            ),
            Err(WebhookError::MalformedTimestamp {
                header: "x-signature-timestamp".into()
            })
        );
    }

    #[test]
    fn without_a_timestamp_header_no_time_is_checked() {
        let scheme = Scheme::Generic {
            algorithm: Digest::Sha256,
            header: "x-signature".into(),
            encoding: Encoding::Hex,
            prefix: None,
            timestamp_header: None,
            tolerance_secs: 0,
        };
        let value = sha256_hex(SECRET, BODY);
        assert_eq!(
            check(&scheme, &[("x-signature", &value)], BODY, i64::MIN),
            Ok(())
        );
    }

    #[test]
    fn junk_generic_values_are_malformed() {
        let scheme = sha512_base64_prefixed();
        let huge = "sha512=".to_owned() + &"A".repeat(5000);
        for junk in ["", "sha512=", "sha512=@@@", "sha512=AAAA", huge.as_str()] {
            assert!(
                matches!(
                    check(&scheme, &[("x-shop-signature", junk)], BODY, NOW),
                    Err(WebhookError::MalformedHeader { .. })
                ),
                "{junk:.40}"
            );
        }
    }
}
