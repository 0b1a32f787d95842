//! Time, injectable: the verifier reads "now" from a [`Clock`] for the
//! token's `exp`/`nbf`/`iat` and for the age of its cached keys, so a test
//! can expire a token or age the key cache without sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where a [`Verifier`](crate::Verifier) reads the current time.
///
/// The default is [`SystemClock`]. Tests hand in a [`ManualClock`] (or their
/// own implementation) with
/// [`VerifierBuilder::clock`](crate::VerifierBuilder::clock).
pub trait Clock: Send + Sync + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to: for tests of expiry and of the key
/// cache's ages.
///
/// Clones share one time, so a test keeps a clone and advances it while the
/// verifier holds another:
///
/// ```
/// use std::time::Duration;
/// use gatehouse_verify::{Clock, ManualClock};
///
/// let clock = ManualClock::starting_now();
/// let held_by_the_verifier = clock.clone();
/// let before = held_by_the_verifier.now();
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(held_by_the_verifier.now(), before + Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// A clock standing at the system's current time.
    pub fn starting_now() -> Self {
        Self::new(SystemTime::now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock to `to` (which may lie in the past).
    pub fn set(&self, to: SystemTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whole seconds since the Unix epoch, as JWT times are written (RFC 7519
/// §2, "NumericDate"); negative before 1970.
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// How long after `earlier` `later` is; zero if the clock went backwards.
pub(crate) fn elapsed(earlier: SystemTime, later: SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_on_both_sides_of_the_epoch() {
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_secs(42)), 42);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(42)), -42);
    }

    #[test]
    fn a_manual_clock_is_shared_by_its_clones() {
        let clock = ManualClock::new(UNIX_EPOCH);
        let other = clock.clone();
        clock.advance(Duration::from_secs(5));
        assert_eq!(other.now(), UNIX_EPOCH + Duration::from_secs(5));
        other.set(UNIX_EPOCH);
        assert_eq!(clock.now(), UNIX_EPOCH);
    }
}
