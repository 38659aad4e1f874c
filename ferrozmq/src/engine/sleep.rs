//! The reactor's sleep flag: how a producer (a socket queueing a command, a pipe signalling a
//! connection) knows whether the reactor thread must be woken from `epoll_wait`.
//!
//! The protocol, a store-then-check on each side with sequentially consistent order between
//! the two (Dekker's pattern):
//! - the reactor calls [`SleepFlag::announce_sleep`], *then* looks at its inbox, and sleeps
//!   only if the inbox was empty; on waking it calls [`SleepFlag::awake`];
//! - a producer puts its work in the inbox, *then* asks [`SleepFlag::must_wake`] and writes
//!   the eventfd only if it says so.
//!
//! Either the reactor's look finds the work, or the producer's question finds the reactor
//! announced and wakes it: no work waits for an unrelated event. Producers that see the
//! reactor awake skip the eventfd write (a syscall) entirely; that is the common case under
//! load. Model-checked below with loom (see `crate::loom`).

use crate::loom::{AtomicBool, Ordering};

/// Whether the reactor is (about to be) asleep in `poll`.
#[derive(Debug)]
pub(crate) struct SleepFlag {
    polling: AtomicBool,
}

impl SleepFlag {
    pub(crate) fn new() -> SleepFlag {
        SleepFlag {
            polling: AtomicBool::new(false),
        }
    }

    /// Reactor: about to check its inbox and, if empty, sleep.
    pub(crate) fn announce_sleep(&self) {
        self.polling.store(true, Ordering::SeqCst);
    }

    /// Reactor: back from `poll`.
    pub(crate) fn awake(&self) {
        self.polling.store(false, Ordering::SeqCst);
    }

    /// Producer, after publishing its work: true if the reactor must be woken.
    pub(crate) fn must_wake(&self) -> bool {
        self.polling.load(Ordering::SeqCst)
    }
}

#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use crate::loom::{model, Mutex};
    use ::loom::sync::{Arc, Condvar};
    use ::loom::thread;

    /// The eventfd: a wake sets it; a poll with no time-out blocks until it is set, and
    /// clears it.
    #[derive(Default)]
    struct EventFd {
        set: ::loom::sync::Mutex<bool>,
        cv: Condvar,
    }

    impl EventFd {
        fn wake(&self) {
            *self.set.lock().unwrap() = true;
            self.cv.notify_one();
        }

        fn poll(&self, block: bool) {
            let mut set = self.set.lock().unwrap();
            while block && !*set {
                set = self.cv.wait(set).unwrap();
            }
            *set = false;
        }
    }

    struct Reactor {
        flag: SleepFlag,
        inbox: Mutex<Vec<u32>>,
        eventfd: EventFd,
    }

    fn produce(r: &Reactor, item: u32) {
        r.inbox.lock().push(item);
        if r.flag.must_wake() {
            r.eventfd.wake();
        }
    }

    /// The reactor loop as `reactor::run` has it: announce, check the inbox, poll (blocking
    /// only if the inbox was empty), wake up, drain. Returns once `n` items arrived; a lost
    /// wake-up leaves it blocked for ever, which loom reports.
    fn run(r: &Reactor, n: usize) -> Vec<u32> {
        let mut got = Vec::new();
        while got.len() < n {
            r.flag.announce_sleep();
            let empty = r.inbox.lock().is_empty();
            r.eventfd.poll(empty);
            r.flag.awake();
            got.append(&mut r.inbox.lock());
        }
        got
    }

    #[test]
    fn loom_work_queued_while_the_reactor_goes_to_sleep_wakes_it() {
        model(|| {
            let r = Arc::new(Reactor {
                flag: SleepFlag::new(),
                inbox: Mutex::new(Vec::new()),
                eventfd: EventFd::default(),
            });
            let producers: Vec<_> = (1..=2)
                .map(|i| {
                    let r = r.clone();
                    thread::spawn(move || produce(&r, i))
                })
                .collect();
            let mut got = run(&r, 2);
            for p in producers {
                p.join().unwrap();
            }
            got.sort_unstable();
            assert_eq!(got, [1, 2]);
        });
    }
}
