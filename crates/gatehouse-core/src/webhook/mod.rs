//! Verification of incoming webhook signatures: is this request really from
//! the sender that holds our shared secret, and is its body the one signed?
//!
//! Pure: the caller hands over the headers (through [`HeaderLookup`]), the
//! raw body, the configured secrets and the current time; nothing here reads
//! a clock, a socket or a file, so every rule is testable with fixed inputs.
//!
//! Four schemes, one file each:
//! - [`Scheme::GitHub`]: `X-Hub-Signature-256: sha256=<hex>` over the raw body.
//! - [`Scheme::Stripe`]: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=…]` over
//!   `<ts>.<body>`.
//! - [`Scheme::Standard`]: Standard Webhooks, `webhook-id`,
//!   `webhook-timestamp`, `webhook-signature: v1,<base64> …` over
//!   `<id>.<ts>.<body>`, with `whsec_` secrets.
//! - [`Scheme::Generic`]: a configurable HMAC header for everything else.
//!
//! Rules shared by every scheme:
//! - MACs are computed by the `hmac` crate and compared only with
//!   [`Mac::verify_slice`], which is constant time; a timing difference
//!   would let a sender learn the expected signature byte by byte.
//! - Several secrets per rule, tried in order, any one verifying suffices:
//!   during a rotation the old and the new secret are both configured, so no
//!   delivery is dropped while the sender switches.
//! - A signed timestamp more than the tolerance away from `now`, in either
//!   direction, is refused: that bounds how long a captured delivery can be
//!   replayed.
//! - Header parsing is total and bounded: any input gives `Ok` or a
//!   [`WebhookError`], never a panic; each header is at most
//!   [`MAX_HEADER_LEN`] bytes and at most [`MAX_SIGNATURES`] signatures are
//!   considered, so a hostile header cannot make us compute without end.

mod generic;
mod github;
mod standard;
mod stripe;

use std::borrow::Cow;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::{Sha256, Sha512};

use crate::clock::UnixTime;

/// The replay window that Stripe's libraries and the Standard Webhooks
/// reference libraries use by default: five minutes.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// Longest header value read. Sixteen hex SHA-512 signatures with their
/// keys fit in about 2.2 KiB; anything longer is not a real delivery.
/// (The refusal message spells the number out: change both together.)
pub const MAX_HEADER_LEN: usize = 4096;

/// Most signatures considered in one header. Senders put two there during a
/// rotation; the cap stops a header from asking for thousands of compares.
/// (The refusal message spells the number out: change both together.)
pub const MAX_SIGNATURES: usize = 16;

/// How a rule's deliveries are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
    /// GitHub signs no timestamp, so there is no replay window to check.
    GitHub,
    /// Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]` over
    /// `<ts>.<body>`.
    Stripe {
        /// How far `t` may be from now, either way ([`DEFAULT_TOLERANCE_SECS`]).
        tolerance_secs: u64,
    },
    /// Standard Webhooks (standardwebhooks.com): HMAC-SHA256 over
    /// `<webhook-id>.<webhook-timestamp>.<body>`, base64 in
    /// `webhook-signature` as space-separated `v1,<sig>` entries.
    Standard {
        /// How far `webhook-timestamp` may be from now, either way
        /// ([`DEFAULT_TOLERANCE_SECS`]).
        tolerance_secs: u64,
    },
    /// Any other HMAC header: `<header>: [prefix]<encoded MAC>`.
    Generic {
        algorithm: Digest,
        /// The signature header's name, lowercase.
        header: String,
        encoding: Encoding,
        /// Text before the MAC, such as `sha512=`; required when set.
        prefix: Option<String>,
        /// Where the sender puts a signed timestamp, if it does. When set,
        /// the MAC covers `<timestamp>.<body>` (Stripe's construction) and
        /// the timestamp must be within `tolerance_secs` of now; when
        /// absent, the MAC covers the body alone.
        timestamp_header: Option<String>,
        /// Only read when `timestamp_header` is set.
        tolerance_secs: u64,
    },
}

/// The hash inside the HMAC, for [`Scheme::Generic`] (the named schemes
/// all use SHA-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Sha256,
    Sha512,
}

/// How the MAC is written in the header, for [`Scheme::Generic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Upper or lower case.
    Hex,
    /// The standard alphabet (RFC 4648 §4), padding optional.
    Base64,
}

/// How the verifier reads the request's headers: `name` is lowercase; the
/// first value, if any.
///
/// A trait rather than `http::HeaderMap` so that core stays free of HTTP
/// types; the server implements it over its request headers.
pub trait HeaderLookup {
    fn header(&self, name: &str) -> Option<&str>;
}

/// Name/value pairs, as [`signature_headers`] returns them; names compare
/// without regard to ASCII case, as HTTP header names do (RFC 9110 §5.1).
impl HeaderLookup for Vec<(String, String)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a delivery was refused. Each message is safe to return to the
/// sender: it says what is wrong and never contains a secret or the
/// signature we expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Our configuration fault, not the sender's: the rule has no secret.
    #[error("no webhook secret is configured for this rule")]
    NoSecret,

    /// Our configuration fault: a configured secret cannot be used as a key.
    /// Refused outright rather than skipped, so a bad secret is noticed at
    /// once instead of when the rotation that still hides it completes.
    #[error("webhook secret number {position} cannot be used: {reason}")]
    UnusableSecret {
        /// 1-based position in the configured list.
        position: usize,
        reason: &'static str,
    },

    #[error("the `{header}` header is missing")]
    MissingHeader { header: String },

    /// `reason` completes the sentence: "the `x` header is longer than …".
    #[error("the `{header}` header {reason}")]
    MalformedHeader {
        header: String,
        reason: &'static str,
    },

    #[error("the request carries no timestamp (expected in the `{header}` header)")]
    MissingTimestamp { header: String },

    #[error(
        "the timestamp in the `{header}` header is not a whole number of seconds since the Unix epoch"
    )]
    MalformedTimestamp { header: String },

    /// Too old (a replay or a long-delayed retry) or too far ahead (a
    /// sender's clock that is wrong, or a signature minted for later).
    #[error(
        "the signed timestamp is more than {tolerance_secs} s away from the current time; the delivery is refused as a possible replay"
    )]
    TimestampOutsideTolerance { tolerance_secs: u64 },

    /// Wrong secret and tampered body are deliberately one variant: telling
    /// them apart would tell a forger which of the two to work on.
    #[error("the signature does not match the body")]
    SignatureMismatch,
}

impl WebhookError {
    /// True when the fault is in our configuration, not in the request: the
    /// caller answers 5xx and logs, rather than blaming the sender with 403.
    pub fn is_configuration_fault(&self) -> bool {
        matches!(self, Self::NoSecret | Self::UnusableSecret { .. })
    }
}

/// Checks that `headers` carry a valid signature of `body` under one of
/// `secrets`, and that any signed timestamp is within the scheme's
/// tolerance of `now`.
///
/// `secrets` are the stored secret values, tried in order. For
/// [`Scheme::Standard`] a secret is base64, optionally after `whsec_` (as
/// the reference libraries accept it either way); for the others the
/// secret's UTF-8 bytes are the key.
///
/// The checks run cheapest first — configuration, header syntax, timestamp,
/// then one HMAC per secret — so a malformed or stale request costs no
/// hashing of the body.
pub fn verify(
    scheme: &Scheme,
    secrets: &[SecretString],
    headers: &dyn HeaderLookup,
    body: &[u8],
    now: UnixTime,
) -> Result<(), WebhookError> {
    if secrets.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    let keys = secrets
        .iter()
        .enumerate()
        .map(|(i, secret)| key(scheme, secret, i + 1))
        .collect::<Result<Vec<_>, _>>()?;

    let claim = read_claim(scheme, headers)?;
    if let (Some(timestamp), Some(tolerance_secs)) = (claim.timestamp, scheme.tolerance_secs()) {
        check_fresh(timestamp, now, tolerance_secs)?;
    }

    let digest = scheme.digest();
    for key in &keys {
        if matches(
            digest,
            key.bytes(),
            &claim.preamble,
            body,
            &claim.signatures,
        ) {
            return Ok(());
        }
    }
    Err(WebhookError::SignatureMismatch)
}

/// Checks that `secret` can serve as a key for `scheme`, without a request:
/// for configuration loading, so that a bad secret fails at start rather
/// than on the first delivery.
pub fn check_secret(scheme: &Scheme, secret: &SecretString) -> Result<(), WebhookError> {
    key(scheme, secret, 1).map(|_| ())
}

/// Headers that make `body` verify under `scheme` and `secret` at `now`.
///
/// A helper for tests and benchmarks that need to sign requests the way a
/// sender would; request handling never calls it. `id` is the
/// `webhook-id` of [`Scheme::Standard`] and is ignored by the others.
/// A secret that [`check_secret`] refuses still yields headers, but they
/// never verify (its raw bytes are used as the key).
pub fn signature_headers(
    scheme: &Scheme,
    secret: &SecretString,
    body: &[u8],
    now: UnixTime,
    id: &str,
) -> Vec<(String, String)> {
    let key = key(scheme, secret, 1).ok();
    let key_bytes = match &key {
        Some(key) => key.bytes(),
        None => secret.expose_secret().as_bytes(),
    };
    match scheme {
        Scheme::GitHub => github::sign(key_bytes, body),
        Scheme::Stripe { .. } => stripe::sign(key_bytes, body, now),
        Scheme::Standard { .. } => standard::sign(key_bytes, body, now, id),
        Scheme::Generic {
            algorithm,
            header,
            encoding,
            prefix,
            timestamp_header,
            ..
        } => generic::sign(
            &generic::Layout {
                algorithm: *algorithm,
                header,
                encoding: *encoding,
                prefix: prefix.as_deref(),
                timestamp_header: timestamp_header.as_deref(),
            },
            key_bytes,
            body,
            now,
        ),
    }
}

impl Scheme {
    /// The replay window, for the schemes whose signature covers a timestamp.
    fn tolerance_secs(&self) -> Option<u64> {
        match self {
            Scheme::GitHub => None,
            Scheme::Stripe { tolerance_secs } | Scheme::Standard { tolerance_secs } => {
                Some(*tolerance_secs)
            }
            Scheme::Generic {
                timestamp_header,
                tolerance_secs,
                ..
            } => timestamp_header.as_ref().map(|_| *tolerance_secs),
        }
    }

    fn digest(&self) -> Digest {
        match self {
            Scheme::Generic { algorithm, .. } => *algorithm,
            Scheme::GitHub | Scheme::Stripe { .. } | Scheme::Standard { .. } => Digest::Sha256,
        }
    }
}

impl Digest {
    /// Bytes in a MAC; a signature of another length cannot be ours.
    const fn output_len(self) -> usize {
        match self {
            Digest::Sha256 => 32,
            Digest::Sha512 => 64,
        }
    }
}

/// What a scheme read from the request, before any MAC is computed.
struct Claim<'h> {
    /// The bytes the MAC covers before the body, in order (`<ts>`, `.` for
    /// Stripe). Kept as slices of the headers so nothing is copied.
    preamble: Vec<&'h [u8]>,
    /// The signed timestamp, for the schemes that sign one.
    timestamp: Option<UnixTime>,
    /// The offered signatures, decoded and of the digest's length; never
    /// empty (a header without one is malformed) and at most
    /// [`MAX_SIGNATURES`].
    signatures: Vec<Vec<u8>>,
}

fn read_claim<'h>(
    scheme: &Scheme,
    headers: &'h dyn HeaderLookup,
) -> Result<Claim<'h>, WebhookError> {
    match scheme {
        Scheme::GitHub => github::read(headers),
        Scheme::Stripe { .. } => stripe::read(headers),
        Scheme::Standard { .. } => standard::read(headers),
        Scheme::Generic {
            algorithm,
            header,
            encoding,
            prefix,
            timestamp_header,
            ..
        } => generic::read(
            &generic::Layout {
                algorithm: *algorithm,
                header,
                encoding: *encoding,
                prefix: prefix.as_deref(),
                timestamp_header: timestamp_header.as_deref(),
            },
            headers,
        ),
    }
}

/// A secret as HMAC key bytes: borrowed where the key is the secret's own
/// text, decoded (and zeroed on drop) for Standard Webhooks.
enum Key<'s> {
    Text(&'s [u8]),
    Decoded(SecretSlice<u8>),
}

impl Key<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Key::Text(bytes) => bytes,
            Key::Decoded(bytes) => bytes.expose_secret(),
        }
    }
}

fn key<'s>(
    scheme: &Scheme,
    secret: &'s SecretString,
    position: usize,
) -> Result<Key<'s>, WebhookError> {
    let text = secret.expose_secret();
    let key = match scheme {
        // Standard Webhooks: "base64 encoded, prefixed with `whsec_`"; the
        // reference libraries strip the prefix if present and decode either
        // way, so a bare base64 secret is accepted too.
        Scheme::Standard { .. } => {
            let encoded = text.strip_prefix(standard::SECRET_PREFIX).unwrap_or(text);
            let decoded = BASE64
                .decode(encoded)
                .map_err(|_| WebhookError::UnusableSecret {
                    position,
                    reason: "a Standard Webhooks secret is base64, after an optional `whsec_`",
                })?;
            Key::Decoded(decoded.into())
        }
        Scheme::GitHub | Scheme::Stripe { .. } | Scheme::Generic { .. } => {
            Key::Text(text.as_bytes())
        }
    };
    // An empty HMAC key is a key anyone can sign with.
    if key.bytes().is_empty() {
        return Err(WebhookError::UnusableSecret {
            position,
            reason: "it is empty",
        });
    }
    Ok(key)
}

/// Standard base64 that accepts the padding present or not: senders differ,
/// and the padding carries no information.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn malformed(header: &str, reason: &'static str) -> WebhookError {
    WebhookError::MalformedHeader {
        header: header.to_owned(),
        reason,
    }
}

/// A header the scheme requires, trimmed, within [`MAX_HEADER_LEN`].
fn required<'h>(headers: &'h dyn HeaderLookup, name: &str) -> Result<&'h str, WebhookError> {
    optional(headers, name)?.ok_or_else(|| WebhookError::MissingHeader {
        header: name.to_owned(),
    })
}

fn optional<'h>(
    headers: &'h dyn HeaderLookup,
    name: &str,
) -> Result<Option<&'h str>, WebhookError> {
    match headers.header(name) {
        None => Ok(None),
        Some(value) if value.len() > MAX_HEADER_LEN => {
            Err(malformed(name, "is longer than 4096 bytes"))
        }
        Some(value) => Ok(Some(value.trim())),
    }
}

/// A Unix timestamp as senders write it: ASCII digits only (no sign, no
/// fraction), which also keeps the text that was signed unambiguous.
fn parse_timestamp(text: &str, header: &str) -> Result<UnixTime, WebhookError> {
    let bad = || WebhookError::MalformedTimestamp {
        header: header.to_owned(),
    };
    // 19 digits is the most an i64 holds; the bound also keeps parse cheap.
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse::<UnixTime>().map_err(|_| bad())
}

/// Refuses a timestamp more than `tolerance_secs` from `now` either way.
/// In i128 so that no pair of i64 values can overflow the difference.
fn check_fresh(
    timestamp: UnixTime,
    now: UnixTime,
    tolerance_secs: u64,
) -> Result<(), WebhookError> {
    let skew = (i128::from(now) - i128::from(timestamp)).unsigned_abs();
    if skew > u128::from(tolerance_secs) {
        return Err(WebhookError::TimestampOutsideTolerance { tolerance_secs });
    }
    Ok(())
}

/// Decodes one offered signature; `None` if it is not validly encoded or
/// not the digest's length, since such a string can never match.
fn decode_signature(digest: Digest, encoding: Encoding, text: &str) -> Option<Vec<u8>> {
    let bytes = match encoding {
        Encoding::Hex => hex::decode(text).ok()?,
        Encoding::Base64 => BASE64.decode(text).ok()?,
    };
    (bytes.len() == digest.output_len()).then_some(bytes)
}

fn encode(encoding: Encoding, mac: &[u8]) -> String {
    match encoding {
        Encoding::Hex => hex::encode(mac),
        Encoding::Base64 => BASE64.encode(mac),
    }
}

/// Whether any offered signature is the MAC of `preamble ‖ body` under `key`.
fn matches(
    digest: Digest,
    key: &[u8],
    preamble: &[&[u8]],
    body: &[u8],
    signatures: &[Vec<u8>],
) -> bool {
    match digest {
        Digest::Sha256 => matches_with::<Hmac<Sha256>>(key, preamble, body, signatures),
        Digest::Sha512 => matches_with::<Hmac<Sha512>>(key, preamble, body, signatures),
    }
}

fn matches_with<M: Mac + KeyInit + Clone>(
    key: &[u8],
    preamble: &[&[u8]],
    body: &[u8],
    signatures: &[Vec<u8>],
) -> bool {
    // HMAC takes a key of any length, so this never fails; were it to,
    // "no match" is the safe answer.
    let Ok(mut mac) = <M as Mac>::new_from_slice(key) else {
        return false;
    };
    for part in preamble {
        mac.update(part);
    }
    mac.update(body);
    // The body is hashed once per secret; each candidate costs only the
    // final block. `verify_slice` is the constant-time comparison.
    signatures
        .iter()
        .any(|signature| mac.clone().verify_slice(signature).is_ok())
}

/// The MAC itself, for [`signature_headers`] only.
fn compute(digest: Digest, key: &[u8], preamble: &[&[u8]], body: &[u8]) -> Vec<u8> {
    match digest {
        Digest::Sha256 => compute_with::<Hmac<Sha256>>(key, preamble, body),
        Digest::Sha512 => compute_with::<Hmac<Sha512>>(key, preamble, body),
    }
}

fn compute_with<M: Mac + KeyInit>(key: &[u8], preamble: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = <M as Mac>::new_from_slice(key) else {
        return Vec::new();
    };
    for part in preamble {
        mac.update(part);
    }
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// `name` as a lowercase header name, allocating only if it is not one
/// already (configuration may spell `X-Signature`).
fn lowercase(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod test_support {
    use secrecy::SecretString;

    pub fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    pub fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    pub fn secrets(texts: &[&str]) -> Vec<SecretString> {
        texts.iter().map(|t| secret(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use proptest::prelude::*;

    use super::test_support::{headers, secret, secrets};
    use super::*;

    const NOW: UnixTime = 1_700_000_000;
    const BODY: &[u8] = br#"{"event":"user.created","id":42}"#;

    fn all_schemes() -> Vec<Scheme> {
        vec![
            Scheme::GitHub,
            Scheme::Stripe {
                tolerance_secs: DEFAULT_TOLERANCE_SECS,
            },
            Scheme::Standard {
                tolerance_secs: DEFAULT_TOLERANCE_SECS,
            },
            Scheme::Generic {
                algorithm: Digest::Sha512,
                header: "x-signature".into(),
                encoding: Encoding::Base64,
                prefix: Some("sha512=".into()),
                timestamp_header: Some("x-timestamp".into()),
                tolerance_secs: 60,
            },
            Scheme::Generic {
                algorithm: Digest::Sha256,
                header: "x-signature".into(),
                encoding: Encoding::Hex,
                prefix: None,
                timestamp_header: None,
                tolerance_secs: 0,
            },
        ]
    }

    // Base64 secrets, so that the same text is a valid key for every scheme.
    const OLD: &str = "whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZC1zZWNyZXQ=";
    const NEW: &str = "whsec_bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldy1zZWNyZXQ=";
    const OTHER: &str = "whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC1vdGhlcg==";

    #[test]
    fn rotation_accepts_either_configured_secret_and_nothing_else() {
        for scheme in all_schemes() {
            let configured = secrets(&[OLD, NEW]);
            for signer in [OLD, NEW] {
                let h = signature_headers(&scheme, &secret(signer), BODY, NOW, "msg_1");
                assert_eq!(
                    verify(&scheme, &configured, &h, BODY, NOW),
                    Ok(()),
                    "{scheme:?} signed with {signer}"
                );
            }
            let h = signature_headers(&scheme, &secret(OTHER), BODY, NOW, "msg_1");
            assert_eq!(
                verify(&scheme, &configured, &h, BODY, NOW),
                Err(WebhookError::SignatureMismatch),
                "{scheme:?}"
            );
        }
    }

    #[test]
    fn after_rotation_the_retired_secret_no_longer_verifies() {
        for scheme in all_schemes() {
            let h = signature_headers(&scheme, &secret(OLD), BODY, NOW, "msg_1");
            assert_eq!(
                verify(&scheme, &secrets(&[NEW]), &h, BODY, NOW),
                Err(WebhookError::SignatureMismatch),
                "{scheme:?}"
            );
        }
    }

    #[test]
    fn a_tampered_body_is_refused_by_every_scheme() {
        for scheme in all_schemes() {
            let h = signature_headers(&scheme, &secret(NEW), BODY, NOW, "msg_1");
            let tampered = br#"{"event":"user.created","id":43}"#;
            assert_eq!(
                verify(&scheme, &secrets(&[NEW]), &h, tampered, NOW),
                Err(WebhookError::SignatureMismatch),
                "{scheme:?}"
            );
        }
    }

    #[test]
    fn no_secret_is_a_configuration_fault() {
        for scheme in all_schemes() {
            let h = signature_headers(&scheme, &secret(NEW), BODY, NOW, "msg_1");
            let err = verify(&scheme, &[], &h, BODY, NOW).unwrap_err();
            assert_eq!(err, WebhookError::NoSecret);
            assert!(err.is_configuration_fault());
        }
    }

    #[test]
    fn an_empty_secret_is_refused_even_beside_a_good_one() {
        // An empty HMAC key would let anyone sign; and a bad secret must
        // surface now, not when the good one is rotated away.
        for scheme in all_schemes() {
            let h = signature_headers(&scheme, &secret(NEW), BODY, NOW, "msg_1");
            let err = verify(&scheme, &secrets(&[NEW, ""]), &h, BODY, NOW).unwrap_err();
            assert_eq!(
                err,
                WebhookError::UnusableSecret {
                    position: 2,
                    reason: "it is empty"
                },
                "{scheme:?}"
            );
            assert!(err.is_configuration_fault());
            assert!(check_secret(&scheme, &secret("")).is_err());
            assert!(check_secret(&scheme, &secret(NEW)).is_ok());
        }
    }

    #[test]
    fn refusals_name_neither_the_secret_nor_the_expected_signature() {
        for scheme in all_schemes() {
            let good = signature_headers(&scheme, &secret(NEW), BODY, NOW, "msg_1");
            let bad = signature_headers(&scheme, &secret(OTHER), BODY, NOW, "msg_1");
            let err = verify(&scheme, &secrets(&[NEW]), &bad, BODY, NOW).unwrap_err();
            let message = err.to_string();
            assert_eq!(message, "the signature does not match the body");
            for (_, value) in &good {
                assert!(!message.contains(value.as_str()));
            }
            assert!(!message.contains(NEW));
            assert!(!format!("{err:?}").contains(NEW));
        }
    }

    #[test]
    fn the_vec_lookup_finds_names_in_any_case_and_takes_the_first() {
        let h = headers(&[("X-Sig", "one"), ("x-sig", "two")]);
        assert_eq!(h.header("x-sig"), Some("one"));
        assert_eq!(h.header("x-other"), None);
    }

    #[test]
    fn tolerance_arithmetic_cannot_overflow() {
        assert!(check_fresh(UnixTime::MAX, UnixTime::MIN, u64::MAX).is_ok());
        assert!(check_fresh(UnixTime::MAX, UnixTime::MIN, 0).is_err());
        assert!(check_fresh(NOW, NOW, 0).is_ok());
    }

    #[test]
    fn timestamps_are_plain_digits() {
        for bad in [
            "",
            "-1",
            "+1",
            "1.5",
            "1e9",
            " 1",
            "99999999999999999999",
            "１２",
        ] {
            assert!(parse_timestamp(bad, "t").is_err(), "{bad:?}");
        }
        assert_eq!(parse_timestamp("0001700000000", "t"), Ok(NOW));
        assert_eq!(
            parse_timestamp("9223372036854775807", "t"),
            Ok(UnixTime::MAX)
        );
        assert!(parse_timestamp("9223372036854775808", "t").is_err());
    }

    fn header_names(scheme: &Scheme) -> Vec<&'static str> {
        match scheme {
            Scheme::GitHub => vec!["x-hub-signature-256"],
            Scheme::Stripe { .. } => vec!["stripe-signature"],
            Scheme::Standard { .. } => {
                vec!["webhook-id", "webhook-timestamp", "webhook-signature"]
            }
            Scheme::Generic { .. } => vec!["x-signature", "x-timestamp"],
        }
    }

    proptest! {
        /// Whatever the headers hold, `verify` answers; it never panics.
        #[test]
        fn arbitrary_header_values_never_panic(
            values in proptest::collection::vec(".{0,300}", 3),
            body in proptest::collection::vec(any::<u8>(), 0..64),
            now in any::<i64>(),
        ) {
            for scheme in all_schemes() {
                let names = header_names(&scheme);
                let h: Vec<(String, String)> = names
                    .iter()
                    .zip(&values)
                    .map(|(n, v)| ((*n).to_owned(), v.clone()))
                    .collect();
                let _ = verify(&scheme, &secrets(&[NEW]), &h, &body, now);
            }
        }

        /// Values built from the schemes' own syntax reach deeper into the
        /// parsers than random text does.
        #[test]
        fn header_shaped_junk_never_panics(
            value in "((t|v1|v0|v1a|sha256|sha512|x)?[=,]?[0-9a-fA-F+/=]{0,70}[ ,]?){0,24}",
            stamp in "[0-9a-z+-]{0,22}",
            id in "[a-z_.]{0,12}",
        ) {
            for scheme in all_schemes() {
                let h = headers(&[
                    ("x-hub-signature-256", &value),
                    ("stripe-signature", &value),
                    ("webhook-signature", &value),
                    ("x-signature", &value),
                    ("webhook-timestamp", &stamp),
                    ("x-timestamp", &stamp),
                    ("webhook-id", &id),
                ]);
                let result = verify(&scheme, &secrets(&[NEW]), &h, BODY, NOW);
                prop_assert!(result != Ok(()));
            }
        }
    }
}
