//! How long an answer from the issuer may be used: `Cache-Control`'s
//! `max-age` less the `Age` a shared cache on the way added (RFC 9111
//! §4.2.1, §5.1), read leniently and clamped by the caller.

use std::time::Duration;

/// The freshness lifetime an answer grants, if its headers name one.
/// `no-store` and `no-cache` grant none (zero): the caller's lower bound
/// then decides how soon to ask again.
pub(crate) fn freshness(cache_control: Option<&str>, age: Option<&str>) -> Option<Duration> {
    let mut max_age = None;
    for directive in cache_control?.split(',') {
        let directive = directive.trim();
        let (name, value) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            // §1.2.2: a delta-seconds too large to hold reads as the largest.
            let seconds = value.filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
            max_age = seconds.map(|v| v.parse::<u64>().unwrap_or(u64::MAX));
        }
    }
    let age = age
        .map(str::trim)
        .and_then(|a| a.parse::<u64>().ok())
        .unwrap_or(0);
    max_age.map(|m| Duration::from_secs(m.saturating_sub(age)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[test]
    fn max_age_is_read() {
        assert_eq!(freshness(Some("public, max-age=300"), None), secs(300));
        assert_eq!(freshness(Some("MAX-AGE = 60 , public"), None), secs(60));
        assert_eq!(freshness(Some("max-age=\"60\""), None), secs(60));
        assert_eq!(
            freshness(Some("max-age=99999999999999999999999"), None),
            secs(u64::MAX)
        );
    }

    #[test]
    fn age_is_subtracted() {
        assert_eq!(freshness(Some("max-age=300"), Some("100")), secs(200));
        assert_eq!(freshness(Some("max-age=300"), Some("1000")), secs(0));
        assert_eq!(freshness(Some("max-age=300"), Some("junk")), secs(300));
    }

    #[test]
    fn no_store_and_no_cache_grant_nothing() {
        assert_eq!(freshness(Some("no-store"), None), secs(0));
        assert_eq!(freshness(Some("max-age=300, no-cache"), None), secs(0));
    }

    #[test]
    fn nothing_usable_is_none() {
        assert_eq!(freshness(None, None), None);
        assert_eq!(freshness(Some("public"), None), None);
        assert_eq!(freshness(Some("max-age=-5"), None), None);
        assert_eq!(freshness(Some("max-age="), None), None);
        assert_eq!(freshness(Some("max-age=1e3"), None), None);
    }
}
