//! The reactor's timers: an ordered set of `(deadline, timer)` in which each timer has at most
//! one live entry, moved in place when its deadline changes.
//!
//! A heap with lazy deletion (push a new entry, skip stale ones when they come due) let a peer
//! grow the reactor without bound: every PING with a long TTL moved its connection's deadline
//! and left the old entry behind until it expired, up to 6553.5 s later. Here an entry is
//! removed when it is replaced, so the set holds one entry per connection, connector and
//! stalled listener, whatever the peers send.

use std::collections::BTreeSet;
use std::time::Instant;

/// What a timer is for.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy, Debug)]
pub(super) enum Timer {
    /// A connection's next deadline (session timers or linger).
    Conn { token: usize, gen: u64 },
    /// A connector's next attempt.
    Reconnect { socket_id: u64, connect_id: u64 },
    /// A listener that ran out of descriptors tries to accept again.
    Accept { token: usize },
}

/// Deadlines in order; each [`Timer`] at most once.
#[derive(Debug, Default)]
pub(super) struct TimerQueue {
    set: BTreeSet<(Instant, Timer)>,
}

impl TimerQueue {
    /// Moves `timer` from `old` (its current deadline, if it has one) to `new` (`None`
    /// cancels it). Returns the deadline now in force, for the caller to remember.
    pub(super) fn reschedule(
        &mut self,
        timer: Timer,
        old: Option<Instant>,
        new: Option<Instant>,
    ) -> Option<Instant> {
        if old == new {
            return new;
        }
        if let Some(old) = old {
            self.set.remove(&(old, timer));
        }
        if let Some(new) = new {
            self.set.insert((new, timer));
        }
        new
    }

    /// The earliest deadline.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.set.first().map(|&(t, _)| t)
    }

    /// Removes and returns the earliest timer due at `now`.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<(Instant, Timer)> {
        match self.set.first() {
            Some(&(t, _)) if t <= now => self.set.pop_first(),
            _ => None,
        }
    }

    /// Number of live timers.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.set.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn moving_a_deadline_keeps_one_entry() {
        let now = Instant::now();
        let mut q = TimerQueue::default();
        let timer = Timer::Conn { token: 1, gen: 1 };
        let mut at = None;
        // A PING with a long TTL after every read used to leave one entry per move.
        for i in 0..10_000u64 {
            let new = now + Duration::from_secs(6553) + Duration::from_millis(i);
            at = q.reschedule(timer, at, Some(new));
        }
        assert_eq!(q.len(), 1);
        assert_eq!(q.next_deadline(), at);
        q.reschedule(timer, at, None);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn due_timers_come_out_in_order() {
        let now = Instant::now();
        let mut q = TimerQueue::default();
        let a = Timer::Accept { token: 3 };
        let b = Timer::Reconnect {
            socket_id: 1,
            connect_id: 2,
        };
        q.reschedule(b, None, Some(now + Duration::from_millis(2)));
        q.reschedule(a, None, Some(now + Duration::from_millis(1)));
        q.reschedule(
            Timer::Conn { token: 0, gen: 9 },
            None,
            Some(now + Duration::from_secs(9)),
        );
        let later = now + Duration::from_millis(5);
        assert_eq!(q.pop_due(later).map(|(_, t)| t), Some(a));
        assert_eq!(q.pop_due(later).map(|(_, t)| t), Some(b));
        assert_eq!(q.pop_due(later), None);
        assert_eq!(q.len(), 1);
    }
}
