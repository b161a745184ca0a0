//! Time, injectable: every time decision in the engine goes through a [`Clock`].

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

/// A source of the current time. The engine never reads the system clock directly.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The real wall clock. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to, for tests and simulations.
///
/// Starts at the current time; clones share one time, so keep a clone to advance the
/// clock you put in [`Config::clock`](crate::Config::clock).
///
/// ```
/// use std::time::Duration;
/// use authlite::{Clock, ManualClock};
/// let clock = ManualClock::new();
/// let shared = clock.clone();
/// let before = shared.now();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(shared.now().duration_since(before).unwrap(), Duration::from_secs(60));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A manual clock set to the current wall-clock time.
    pub fn new() -> Self {
        ManualClock::at(SystemTime::now())
    }

    /// A manual clock set to `time`.
    pub fn at(time: SystemTime) -> Self {
        ManualClock { now: Arc::new(Mutex::new(time)) }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock();
        *now += by;
    }

    /// Sets the clock to `time` (which may be in the past).
    pub fn set(&self, time: SystemTime) {
        *self.now.lock() = time;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock()
    }
}

/// Milliseconds since the Unix epoch, as stored in the database. Times before 1970 clamp to 0.
pub(crate) fn to_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// The inverse of [`to_millis`]; negative values clamp to the epoch.
pub(crate) fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(from_millis(to_millis(t)), t);
        assert_eq!(to_millis(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(from_millis(-5), UNIX_EPOCH);
    }

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::at(UNIX_EPOCH);
        let b = a.clone();
        a.advance(Duration::from_secs(5));
        assert_eq!(b.now(), UNIX_EPOCH + Duration::from_secs(5));
        b.set(UNIX_EPOCH);
        assert_eq!(a.now(), UNIX_EPOCH);
    }
}
