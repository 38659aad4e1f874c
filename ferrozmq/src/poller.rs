//! [`Poller`]: waits until any of many sockets (and plain file descriptors) is readable or
//! writable, with a time-out, like `zmq_poll`; [`PollerWaker`] releases a waiting poller from
//! any thread; [`Poller::wait_async`] is the same wait for sockets as a future.
//!
//! How a wait sleeps without spinning: every poller owns a wake channel (a non-blocking
//! `UnixStream` pair). Its read end sleeps in `poll(2)` beside the caller's descriptors
//! (level-triggered, as `zmq_poll`). Sockets are asked through `SocketCore::poll_ready`, which
//! checks readiness and, for each kind that is not ready, registers the poller's `Waker` under
//! the same lock, so no wake-up falls between the check and the sleep. That waker writes one
//! byte to the channel only when its doorbell flips from unrung to rung: however many
//! sockets fire while the poller is busy, they cost one write and one wake-up. The poller
//! drains the channel, resets the bell, then scans the sockets again; a wake that lands after
//! the reset writes a fresh byte, so none is lost (model-checked with loom: see `Doorbell`). Wake-ups may be spurious (another thread
//! took the message first): the poller re-checks and sleeps again, and counts it in
//! [`PollerStats`].
//!
//! Async: sockets have `send_async`/`recv_async`, which compose in `futures::select!` or
//! `tokio::select!` (a losing branch takes nothing). For "whichever of these sockets is ready"
//! as one future, [`Poller::wait_async`] (and [`Poller::poll_wait`] for a hand-written stream)
//! registers the task's own waker in each socket, so it runs under any executor. Descriptor
//! items are not covered there (that needs the runtime's reactor); the async wait refuses
//! them with [`PollError::FdInAsyncWait`].
//!
//! Descriptor items are borrowed (`BorrowedFd<'fd>`, the poller's lifetime parameter), so a
//! descriptor cannot be closed while it is an item; `poll(2)` is called through `rustix`, and
//! the poller has no `unsafe` code.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rustix::event::{PollFd, PollFlags, Timespec};
use smallvec::SmallVec;

use crate::socket::core::SocketCore;
use crate::Socket;

/// Waits on many sockets and file descriptors at once.
///
/// Items are added with [`Poller::add`] (a socket) or [`Poller::add_fd`] (a borrowed
/// descriptor, e.g. of a pipe or a TCP stream the application owns, which must outlive the
/// poller: that is its lifetime `'fd`), each with an [`Interest`]; each gets a
/// [`PollerKey`] that identifies it in the [`PollEvent`]s that [`Poller::wait`] reports.
///
/// Readiness is level-triggered, as in `zmq_poll`: an item is reported on every wait for as
/// long as it stays ready. A socket is *readable* when a receive would return a message now,
/// *writable* when a send would be taken now (for ROUTER always, as in libzmq). Since sockets
/// are shared between threads, another thread may take a reported message first; the
/// following `try_recv` then says `WouldBlock`, which is not an error.
///
/// The poller holds a clone of each socket it polls, so a socket stays open while it is an
/// item. A socket that is closed anyway (by [`Socket::close`] or its context's termination)
/// is reported with [`PollEvent::is_error`] on every wait.
///
/// A `Poller` is used by one thread at a time (`wait` takes `&mut self`); any thread may
/// interrupt a wait through a [`PollerWaker`].
#[derive(Debug)]
pub struct Poller<'fd> {
    items: Vec<Item<'fd>>,
    next_key: u64,
    /// How many items are descriptors (when none, a wait that must not sleep skips `poll(2)`).
    fds: usize,
    shared: Arc<Shared>,
    /// Read end of the wake channel.
    wake_rx: UnixStream,
    /// Registered in sockets by blocking waits; wakes through the channel.
    waker: Waker,
    /// The `poll(2)` entry `i + 1` belongs to `items[fd_items[i]]` (entry 0: the wake channel).
    fd_items: Vec<usize>,
    stats: PollerStats,
}

/// Identifies one item of a [`Poller`]. Keys are never reused by the same poller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PollerKey(u64);

/// Which readiness an item is polled for. Combine with `|`:
/// `Interest::READABLE | Interest::WRITABLE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interest {
    readable: bool,
    writable: bool,
}

/// One ready item, as reported by [`Poller::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollEvent {
    key: PollerKey,
    readable: bool,
    writable: bool,
    error: bool,
}

/// Counters that show how a poller slept and woke, e.g. to check that a loop does not spin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollerStats {
    /// Calls to [`Poller::wait`].
    pub waits: u64,
    /// Times a wait called `poll(2)` with a non-zero time-out, i.e. could sleep.
    pub sleeps: u64,
    /// Sleeps ended by the wake channel (a socket may have become ready, or a
    /// [`PollerWaker::wake`]).
    pub wakeups: u64,
    /// Wake-ups after which nothing was ready, so the wait slept again.
    pub spurious_wakeups: u64,
    /// Bytes written to the wake channel by any thread (many socket signals while the poller
    /// is busy cost one).
    pub wake_signals: u64,
}

/// Releases a [`Poller`]'s current or next wait, from any thread. `Clone + Send + Sync`.
#[derive(Debug, Clone)]
pub struct PollerWaker {
    shared: Arc<Shared>,
}

/// Why a poller operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// The key names no item of this poller (it was removed, or belongs to another poller).
    #[error("no poller item has key {0:?}")]
    UnknownKey(PollerKey),
    /// [`Poller::wait_async`] cannot wait on file descriptors (it has no reactor for them);
    /// this item is one.
    #[error("item {0:?} is a file descriptor, which an async wait cannot poll")]
    FdInAsyncWait(PollerKey),
    /// Creating the wake channel or `poll(2)` failed.
    #[error("poll failed")]
    Io(#[from] io::Error),
}

/// What an item polls.
#[derive(Debug)]
enum Source<'fd> {
    /// The handle keeps the socket open; the core is what is asked.
    Socket(Socket),
    Fd(BorrowedFd<'fd>),
}

#[derive(Debug)]
struct Item<'fd> {
    key: PollerKey,
    source: Source<'fd>,
    interest: Interest,
}

/// What the poller shares with socket wakers and `PollerWaker`s.
#[derive(Debug)]
struct Shared {
    /// Whether a byte is in the channel (or about to be) that the poller has not consumed,
    /// and whether `PollerWaker::wake` was called since the poller last looked.
    doorbell: Doorbell,
    /// Write end of the wake channel.
    wake_tx: UnixStream,
    wake_signals: AtomicU64,
    /// The task of a pending `wait_async`, for `PollerWaker::wake`.
    task: Mutex<Option<Waker>>,
}

impl<'fd> Poller<'fd> {
    /// A poller with no items.
    pub fn new() -> Result<Poller<'fd>, PollError> {
        let (wake_rx, wake_tx) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        wake_tx.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            doorbell: Doorbell::new(),
            wake_tx,
            wake_signals: AtomicU64::new(0),
            task: Mutex::new(None),
        });
        let waker = Waker::from(Arc::new(ChannelWaker(shared.clone())));
        Ok(Poller {
            items: Vec::new(),
            next_key: 0,
            fds: 0,
            shared,
            wake_rx,
            waker,
            fd_items: Vec::new(),
            stats: PollerStats::default(),
        })
    }

    /// Adds a socket (the poller keeps a clone of the handle until the item is removed).
    pub fn add(&mut self, socket: &Socket, interest: Interest) -> PollerKey {
        self.insert(Source::Socket(socket.clone()), interest)
    }

    /// Adds a file descriptor, polled with `poll(2)` (readable: `POLLIN`, writable:
    /// `POLLOUT`; `POLLERR` and `POLLHUP` are reported as [`PollEvent::is_error`]). The
    /// borrow keeps the descriptor open for as long as the poller lives.
    pub fn add_fd(&mut self, fd: BorrowedFd<'fd>, interest: Interest) -> PollerKey {
        self.fds += 1;
        self.insert(Source::Fd(fd), interest)
    }

    /// Changes what an item is polled for.
    pub fn modify(&mut self, key: PollerKey, interest: Interest) -> Result<(), PollError> {
        let i = self.index(key)?;
        self.items[i].interest = interest;
        Ok(())
    }

    /// Removes an item (and, for a socket, drops the poller's handle of it).
    pub fn remove(&mut self, key: PollerKey) -> Result<(), PollError> {
        let i = self.index(key)?;
        if let Source::Fd(_) = self.items.remove(i).source {
            self.fds -= 1;
        }
        Ok(())
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if the poller has no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// A handle that releases this poller's wait from any thread.
    pub fn waker(&self) -> PollerWaker {
        PollerWaker {
            shared: self.shared.clone(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> PollerStats {
        PollerStats {
            wake_signals: self.shared.wake_signals.load(Ordering::Relaxed),
            ..self.stats
        }
    }

    /// Waits until at least one item is ready, `timeout` passes (`None`: no time-out;
    /// zero: just look), or a [`PollerWaker`] wakes it. Clears `events`, fills it with the
    /// ready items (sockets first, then descriptors, each in the order added) and returns how many there are: zero after
    /// a time-out or a wake with nothing ready.
    pub fn wait(
        &mut self,
        events: &mut Vec<PollEvent>,
        timeout: Option<Duration>,
    ) -> Result<usize, PollError> {
        events.clear();
        self.stats.waits += 1;
        let deadline = timeout.map(|t| {
            let now = Instant::now();
            now.checked_add(t).unwrap_or(now + FAR_FUTURE)
        });
        let mut after_wakeup = false;
        loop {
            let woken = self.shared.doorbell.take_user();
            if woken {
                // Consume the wake's byte now, so it does not cut the next sleep short.
                self.drain_channel();
            }
            self.scan_sockets(&self.waker, events);
            let must_return = woken || !events.is_empty();
            if after_wakeup && !must_return {
                self.stats.spurious_wakeups += 1;
            }
            let timeout_ms = if must_return {
                0
            } else {
                remaining_ms(deadline)
            };
            if timeout_ms == 0 && self.fds == 0 {
                return Ok(events.len());
            }
            after_wakeup = self.poll_fds(events, timeout_ms)?;
            if timeout_ms == 0 || !events.is_empty() {
                return Ok(events.len());
            }
            // Woken by the channel (sockets may be ready now), by a signal (EINTR) or by the
            // time-out: scan again; a passed deadline makes the next round not sleep.
        }
    }

    /// The async wait, for socket items only: resolves when at least one socket is ready or a
    /// [`PollerWaker`] wakes it, with the ready items in `events` (cleared first). The future
    /// is woken by the sockets themselves, so it works under any executor; it has no time-out
    /// of its own (race it with a timer, e.g. in `tokio::select!`). Fails at once with
    /// [`PollError::FdInAsyncWait`] if the poller has descriptor items.
    pub async fn wait_async(&mut self, events: &mut Vec<PollEvent>) -> Result<usize, PollError> {
        std::future::poll_fn(|cx| self.poll_wait(cx, events)).await
    }

    /// The poll function behind [`Poller::wait_async`], for hand-written futures and streams:
    /// `Ready` with the number of events (possibly zero after a [`PollerWaker::wake`]), or
    /// `Pending` with the task registered in every socket that is not ready.
    pub fn poll_wait(
        &mut self,
        cx: &mut TaskContext<'_>,
        events: &mut Vec<PollEvent>,
    ) -> Poll<Result<usize, PollError>> {
        events.clear();
        if let Some(item) = self
            .items
            .iter()
            .find(|i| matches!(i.source, Source::Fd(_)))
        {
            return Poll::Ready(Err(PollError::FdInAsyncWait(item.key)));
        }
        {
            // Registered before looking at the flag, so a concurrent wake is not lost.
            let mut task = self.shared.task.lock();
            if !task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        let woken = self.shared.doorbell.take_user();
        self.scan_sockets(cx.waker(), events);
        if woken || !events.is_empty() {
            *self.shared.task.lock() = None;
            Poll::Ready(Ok(events.len()))
        } else {
            Poll::Pending
        }
    }

    fn insert(&mut self, source: Source<'fd>, interest: Interest) -> PollerKey {
        let key = PollerKey(self.next_key);
        self.next_key += 1;
        // Keys only grow, so `items` stays sorted by key.
        self.items.push(Item {
            key,
            source,
            interest,
        });
        key
    }

    fn index(&self, key: PollerKey) -> Result<usize, PollError> {
        self.items
            .binary_search_by_key(&key, |i| i.key)
            .map_err(|_| PollError::UnknownKey(key))
    }

    /// Asks every socket item for its readiness, registering `waker` where not ready.
    fn scan_sockets(&self, waker: &Waker, events: &mut Vec<PollEvent>) {
        for item in &self.items {
            let Source::Socket(socket) = &item.source else {
                continue;
            };
            let Interest { readable, writable } = item.interest;
            if !readable && !writable {
                continue;
            }
            let core: &SocketCore = socket.core();
            let (r, w) = core.poll_ready(readable, writable, Some(waker));
            // A closed socket reports nothing ready and registers nothing: say so instead.
            let error = !r && !w && core.is_closed();
            if r || w || error {
                events.push(PollEvent {
                    key: item.key,
                    readable: r,
                    writable: w,
                    error,
                });
            }
        }
    }

    /// One `poll(2)` over the wake channel and the descriptor items. Appends ready
    /// descriptors to `events`; returns whether the wake channel had been signalled.
    fn poll_fds(
        &mut self,
        events: &mut Vec<PollEvent>,
        timeout_ms: i32,
    ) -> Result<bool, PollError> {
        self.fd_items.clear();
        let mut pollfds: SmallVec<[PollFd<'_>; 8]> = SmallVec::new();
        pollfds.push(PollFd::new(&self.wake_rx, PollFlags::IN));
        for (i, item) in self.items.iter().enumerate() {
            if let Source::Fd(fd) = &item.source {
                let mut flags = PollFlags::empty();
                if item.interest.readable {
                    flags |= PollFlags::IN;
                }
                if item.interest.writable {
                    flags |= PollFlags::OUT;
                }
                pollfds.push(PollFd::from_borrowed_fd(fd.as_fd(), flags));
                self.fd_items.push(i);
            }
        }
        if timeout_ms != 0 {
            self.stats.sleeps += 1;
        }
        let timeout = (timeout_ms >= 0).then(|| Timespec {
            tv_sec: i64::from(timeout_ms / 1000),
            tv_nsec: i64::from(timeout_ms % 1000) * 1_000_000,
        });
        match rustix::event::poll(&mut pollfds, timeout.as_ref()) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(false),
            Err(e) => return Err(io::Error::from(e).into()),
        }
        let signalled = pollfds.first().is_some_and(|p| !p.revents().is_empty());
        for (pfd, &i) in pollfds.iter().skip(1).zip(&self.fd_items) {
            let rev = pfd.revents();
            if rev.is_empty() {
                continue;
            }
            events.push(PollEvent {
                key: self.items[i].key,
                readable: rev.contains(PollFlags::IN),
                writable: rev.contains(PollFlags::OUT),
                error: rev.intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL),
            });
        }
        drop(pollfds);
        if signalled {
            self.drain_channel();
            if timeout_ms != 0 {
                self.stats.wakeups += 1;
            }
        }
        Ok(signalled)
    }

    /// Empties the wake channel, then lets the next wake write again. The sockets are scanned
    /// after this, so a wake that came before the flag was cleared is seen by that scan.
    fn drain_channel(&mut self) {
        let mut buf = [0u8; 64];
        while let Ok(n) = (&self.wake_rx).read(&mut buf) {
            if n < buf.len() {
                break;
            }
        }
        self.shared.doorbell.reset();
    }
}

impl Interest {
    /// Readable: a receive would return a message now (or the descriptor has input).
    pub const READABLE: Interest = Interest {
        readable: true,
        writable: false,
    };
    /// Writable: a send would be taken now (or the descriptor has room).
    pub const WRITABLE: Interest = Interest {
        readable: false,
        writable: true,
    };
    /// Polled for nothing (the item stays, as in `zmq_poll` with `events = 0`).
    pub const NONE: Interest = Interest {
        readable: false,
        writable: false,
    };

    /// Both interests (also written `a | b`); usable in constants.
    pub const fn union(self, other: Interest) -> Interest {
        Interest {
            readable: self.readable || other.readable,
            writable: self.writable || other.writable,
        }
    }

    /// Whether readable is asked.
    pub fn is_readable(self) -> bool {
        self.readable
    }

    /// Whether writable is asked.
    pub fn is_writable(self) -> bool {
        self.writable
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        self.union(rhs)
    }
}

impl PollEvent {
    /// The item this event is about.
    pub fn key(&self) -> PollerKey {
        self.key
    }

    /// The item is readable (asked for and ready).
    pub fn is_readable(&self) -> bool {
        self.readable
    }

    /// The item is writable (asked for and ready).
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// A socket item is closed, or a descriptor reported `POLLERR`, `POLLHUP` or `POLLNVAL`
    /// (libzmq's `ZMQ_POLLERR`). Reported whatever the interest, on every wait while it holds.
    pub fn is_error(&self) -> bool {
        self.error
    }
}

impl PollerWaker {
    /// Makes the poller's current wait return (with zero or more events); if it is not
    /// waiting, its next wait returns at once. Cheap when repeated: one channel write until
    /// the poller has woken.
    pub fn wake(&self) {
        if self.shared.doorbell.ring_user() {
            self.shared.write_byte();
        }
        let task = self.shared.task.lock().take();
        if let Some(task) = task {
            task.wake();
        }
    }
}

impl Shared {
    /// Writes one byte to the wake channel unless one is already pending.
    fn signal(&self) {
        if self.doorbell.ring() {
            self.write_byte();
        }
    }

    fn write_byte(&self) {
        self.wake_signals.fetch_add(1, Ordering::Relaxed);
        // WouldBlock means the channel is full of bytes the poller will read anyway.
        let _ = (&self.wake_tx).write(&[1]);
    }
}

/// The `Waker` a blocking wait registers in sockets.
#[derive(Debug)]
struct ChannelWaker(Arc<Shared>);

impl Wake for ChannelWaker {
    fn wake(self: Arc<Self>) {
        self.0.signal();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.signal();
    }
}

/// Stands in for "forever" when `now + timeout` overflows.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The `poll(2)` time-out until `deadline`: -1 for none, rounded up to whole milliseconds so a
/// wait never returns (and spins) just short of its deadline; 0 once it has passed.
fn remaining_ms(deadline: Option<Instant>) -> i32 {
    let Some(deadline) = deadline else {
        return -1;
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let ms = left.as_nanos().div_ceil(1_000_000);
    i32::try_from(ms).unwrap_or(i32::MAX)
}

/// One byte in the wake channel per sleep, however many wakers ring: the first ring since the
/// last reset writes it. The poller resets after draining the channel and *then* re-checks
/// everything it waits for, so a ring that comes after the drain either finds the bell reset
/// (and writes a fresh byte) or came before the reset, and its cause is seen by the re-check.
///
/// `PollerWaker::wake`'s flag lives in the same word as the bell: a wake sets both with one
/// read-modify-write and the poller clears them with others, so all of them fall in one
/// modification order, whatever the memory orderings. (With two separate atomics, a
/// store-buffering interleaving allowed by the memory model could let the wake see the bell
/// still rung while the poller misses the flag; loom found it.) Model-checked below.
#[derive(Debug)]
struct Doorbell {
    state: crate::loom::AtomicUsize,
}

/// A byte is in the channel, or about to be written.
const RUNG: usize = 1;
/// `PollerWaker::wake` was called since the poller last took the flag.
const USER_WOKEN: usize = 2;

impl Doorbell {
    fn new() -> Doorbell {
        Doorbell {
            state: crate::loom::AtomicUsize::new(0),
        }
    }

    /// A socket became ready: true if the caller must write the byte.
    fn ring(&self) -> bool {
        self.state.fetch_or(RUNG, crate::loom::Ordering::AcqRel) & RUNG == 0
    }

    /// `PollerWaker::wake`: sets the flag; true if the caller must write the byte.
    fn ring_user(&self) -> bool {
        self.state
            .fetch_or(RUNG | USER_WOKEN, crate::loom::Ordering::AcqRel)
            & RUNG
            == 0
    }

    /// The channel was drained: the next ring writes again.
    fn reset(&self) {
        self.state.fetch_and(!RUNG, crate::loom::Ordering::AcqRel);
    }

    /// Takes `PollerWaker::wake`'s flag: true if it was set.
    fn take_user(&self) -> bool {
        self.state
            .fetch_and(!USER_WOKEN, crate::loom::Ordering::AcqRel)
            & USER_WOKEN
            != 0
    }
}

#[cfg(all(test, loom))]
mod loom_model {
    use super::Doorbell;
    use crate::loom::{model, Mutex};
    use ::loom::sync::{Arc, Condvar};
    use ::loom::thread;

    /// The wake channel: bytes written and not yet read.
    #[derive(Default)]
    struct Channel {
        bytes: ::loom::sync::Mutex<usize>,
        cv: Condvar,
    }

    struct Shared {
        bell: Doorbell,
        channel: Channel,
        /// A socket's state, under its lock as in `SocketCore`: ready or not.
        socket: Mutex<bool>,
    }

    fn write_byte(s: &Shared) {
        *s.channel.bytes.lock().unwrap() += 1;
        s.channel.cv.notify_one();
    }

    #[test]
    fn loom_no_ring_or_wake_is_lost_while_the_poller_drains() {
        model(|| {
            let s = Arc::new(Shared {
                bell: Doorbell::new(),
                channel: Channel::default(),
                socket: Mutex::new(false),
            });
            let socket = {
                let s = s.clone();
                thread::spawn(move || {
                    // The socket's waker fires after its state changed, outside its lock.
                    *s.socket.lock() = true;
                    if s.bell.ring() {
                        write_byte(&s);
                    }
                })
            };
            let user = {
                let s = s.clone();
                thread::spawn(move || {
                    if s.bell.ring_user() {
                        write_byte(&s);
                    }
                })
            };
            // `Poller::wait`: take the wake flag, scan the socket, and sleep on the channel
            // until both were seen; after each wake-up, drain and reset, then look again. A
            // lost ring or wake leaves it blocked for ever, which loom reports.
            let (mut ready, mut woken) = (false, false);
            loop {
                woken |= s.bell.take_user();
                ready |= *s.socket.lock();
                if ready && woken {
                    break;
                }
                let mut bytes = s.channel.bytes.lock().unwrap();
                while *bytes == 0 {
                    bytes = s.channel.cv.wait(bytes).unwrap();
                }
                *bytes = 0;
                drop(bytes);
                s.bell.reset();
            }
            socket.join().unwrap();
            user.join().unwrap();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_rounds_up_and_saturates() {
        assert_eq!(remaining_ms(None), -1);
        assert_eq!(remaining_ms(Some(Instant::now())), 0);
        let soon = Instant::now() + Duration::from_micros(10);
        assert!(remaining_ms(Some(soon)) <= 1);
        let later = Instant::now() + Duration::from_secs(1 << 40);
        assert_eq!(remaining_ms(Some(later)), i32::MAX);
    }

    #[test]
    fn many_signals_cost_one_write_until_drained() {
        let mut poller = Poller::new().unwrap();
        let waker = poller.waker();
        for _ in 0..10 {
            poller.waker.wake_by_ref();
        }
        assert_eq!(poller.stats().wake_signals, 1);
        let mut events = Vec::new();
        // A wait that sleeps finds the channel signalled and consumes it ...
        assert_eq!(
            poller
                .wait(&mut events, Some(Duration::from_millis(1)))
                .unwrap(),
            0
        );
        assert_eq!(poller.stats().wakeups, 1);
        // ... and the next signal writes again.
        waker.wake();
        assert_eq!(poller.stats().wake_signals, 2);
        assert_eq!(poller.wait(&mut events, None).unwrap(), 0);
    }

    #[test]
    fn keys_are_not_reused() {
        let mut poller = Poller::new().unwrap();
        let stdin = std::io::stdin();
        let a = poller.add_fd(stdin.as_fd(), Interest::READABLE);
        poller.remove(a).unwrap();
        let b = poller.add_fd(stdin.as_fd(), Interest::READABLE);
        assert_ne!(a, b);
        assert!(matches!(poller.remove(a), Err(PollError::UnknownKey(k)) if k == a));
        assert!(poller.modify(b, Interest::WRITABLE).is_ok());
    }
}
