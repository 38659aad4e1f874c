//! How the socket's calls wait: [`Wait`] (no wait, a time-out, forever, or as the socket's
//! SNDTIMEO/RCVTIMEO say), the timer a blocking call parks with, and where batch calls take
//! and put their messages ([`Outbox`], [`Inbox`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, MutexGuard};

use super::core::CoreState;
use crate::error::{RecvError, SendErrorKind};
use crate::Message;

/// How long a blocking call may wait.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wait {
    /// Return `WouldBlock` at once.
    No,
    /// Wait at most this long, then `Timeout` (the clock is read only if a wait is needed).
    For(Duration),
    /// Wait as long as it takes.
    Forever,
    /// As the socket's SNDTIMEO (or RCVTIMEO) says, read under the lock the call takes anyway.
    Configured,
}

impl Wait {
    /// The wait for a time-out option (`None`: forever; zero: do not wait).
    pub(crate) fn from_timeout(timeout: Option<Duration>) -> Wait {
        match timeout {
            None => Wait::Forever,
            Some(d) if d.is_zero() => Wait::No,
            Some(d) => Wait::For(d),
        }
    }

    pub(super) fn or_configured(self, timeout: Option<Duration>) -> Wait {
        match self {
            Wait::Configured => Wait::from_timeout(timeout),
            w => w,
        }
    }
}

/// Where a send takes its messages from: one message, or a caller's queue (`send_many`).
pub(crate) trait Outbox {
    /// The next message to send, if any.
    fn take_next(&mut self) -> Option<Message>;
}

impl Outbox for Option<Message> {
    fn take_next(&mut self) -> Option<Message> {
        self.take()
    }
}

impl Outbox for VecDeque<Message> {
    fn take_next(&mut self) -> Option<Message> {
        self.pop_front()
    }
}

/// Where a receive puts its messages: one slot, or a caller's buffer (`recv_many`).
pub(crate) trait Inbox {
    /// Stores a received message.
    fn put(&mut self, msg: Message);
}

impl Inbox for Option<Message> {
    fn put(&mut self, msg: Message) {
        *self = Some(msg);
    }
}

impl Inbox for Vec<Message> {
    fn put(&mut self, msg: Message) {
        self.push(msg);
    }
}

/// Why a wait ended without success.
#[derive(Debug, Clone, Copy)]
pub(super) enum GaveUp {
    WouldBlock,
    Timeout,
}

impl From<GaveUp> for SendErrorKind {
    fn from(g: GaveUp) -> Self {
        match g {
            GaveUp::WouldBlock => SendErrorKind::WouldBlock,
            GaveUp::Timeout => SendErrorKind::Timeout,
        }
    }
}

impl From<GaveUp> for RecvError {
    fn from(g: GaveUp) -> Self {
        match g {
            GaveUp::WouldBlock => RecvError::WouldBlock,
            GaveUp::Timeout => RecvError::Timeout,
        }
    }
}

/// The waiting half of a blocking call: the deadline is computed on the first wait only, and
/// after it passes the caller gets one more attempt before `Timeout`.
pub(super) struct WaitTimer {
    wait: Wait,
    deadline: Option<Instant>,
    expired: bool,
}

impl WaitTimer {
    pub(super) fn new(wait: Wait) -> Self {
        WaitTimer {
            wait,
            deadline: None,
            expired: false,
        }
    }

    /// Parks on `cv` as allowed; `Some` when the caller must give up instead.
    pub(super) fn wait(
        &mut self,
        cv: &Condvar,
        guard: &mut MutexGuard<'_, CoreState>,
    ) -> Option<GaveUp> {
        match self.wait {
            Wait::No => Some(GaveUp::WouldBlock),
            _ if self.expired => Some(GaveUp::Timeout),
            Wait::Forever | Wait::Configured => {
                cv.wait(guard);
                None
            }
            Wait::For(d) => {
                let t = *self.deadline.get_or_insert_with(|| far_future(d));
                // Spurious or early wake-ups just loop; past the deadline, one last attempt.
                if cv.wait_until(guard, t).timed_out() || Instant::now() >= t {
                    self.expired = true;
                }
                None
            }
        }
    }
}

/// `now + d`, saturating at a far-off instant for absurd durations.
fn far_future(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}
