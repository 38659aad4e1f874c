//! Reconnect back-off, as libzmq's RECONNECT_IVL and RECONNECT_IVL_MAX: the first retry
//! waits RECONNECT_IVL, each later one twice the one before, up to RECONNECT_IVL_MAX when that
//! is set above RECONNECT_IVL (otherwise the interval stays RECONNECT_IVL); a connect that
//! completes starts over. Saturating: an interval never overflows.

use std::time::Duration;

/// RECONNECT_IVL when the option is unset.
pub(super) const DEFAULT_RECONNECT_IVL: Duration = Duration::from_millis(100);

/// The back-off of one connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Backoff {
    next: Duration,
}

impl Backoff {
    /// Starts at `ivl` (RECONNECT_IVL; `None` for the default).
    pub(super) fn new(ivl: Option<Duration>) -> Backoff {
        Backoff {
            next: ivl.unwrap_or(DEFAULT_RECONNECT_IVL),
        }
    }

    /// The delay before the next attempt; the one after doubles, up to `max`
    /// (RECONNECT_IVL_MAX, read at each retry as libzmq does).
    pub(super) fn next_delay(&mut self, max: Option<Duration>) -> Duration {
        let delay = self.next;
        if let Some(max) = max.filter(|&m| m > delay) {
            self.next = delay.saturating_mul(2).min(max);
        }
        delay
    }

    /// A connect completed: the next failure waits `ivl` again.
    pub(super) fn reset(&mut self, ivl: Option<Duration>) {
        *self = Backoff::new(ivl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn doubles_up_to_the_maximum_and_starts_over() {
        let mut b = Backoff::new(Some(100 * MS));
        let max = Some(500 * MS);
        let delays: Vec<_> = (0..5).map(|_| b.next_delay(max)).collect();
        assert_eq!(delays, [100 * MS, 200 * MS, 400 * MS, 500 * MS, 500 * MS]);
        b.reset(Some(100 * MS));
        assert_eq!(b.next_delay(max), 100 * MS);
    }

    #[test]
    fn without_a_larger_maximum_the_interval_stays() {
        let mut b = Backoff::new(None);
        assert_eq!(b.next_delay(None), DEFAULT_RECONNECT_IVL);
        assert_eq!(b.next_delay(Some(50 * MS)), DEFAULT_RECONNECT_IVL);
        assert_eq!(b.next_delay(None), DEFAULT_RECONNECT_IVL);
    }

    #[test]
    fn huge_intervals_saturate() {
        let forever = Duration::from_secs(u64::MAX);
        let mut b = Backoff::new(Some(Duration::from_secs(u64::MAX / 2 + 1)));
        b.next_delay(Some(forever));
        assert_eq!(b.next_delay(Some(forever)), forever);
        assert_eq!(b.next_delay(Some(forever)), forever);
    }
}
