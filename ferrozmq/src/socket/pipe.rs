//! [`Pipe`]: a bounded one-way message queue between a socket and a connection (or between two
//! inproc sockets), with wake-ups only on the edges that matter.
//!
//! The reader is signalled only when the queue goes from empty to non-empty, and the writer
//! only when a queue it found full drains below the low-water mark. Pipe methods never fire a
//! signal themselves: they hand it back, and the caller fires it after releasing every other
//! lock it holds. That rule (no signal while a socket lock is held) is what keeps two inproc
//! sockets that send to each other free of lock-order deadlocks.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};

use crate::Message;

/// A drained queue whose buffer grew past this many messages gives it back.
const QUEUE_KEEP: usize = 4096;

/// Something to wake: a socket (a peer became readable/writable) or a reactor connection.
pub(crate) trait Notify: Send + Sync {
    /// Wakes the target. Called with no socket lock held.
    fn notify(&self);
}

/// A wake-up handed back by a pipe operation, to fire once the caller's locks are released.
pub(crate) type Signal = Arc<dyn Notify>;

/// Why a push was refused; the message comes back.
#[derive(Debug)]
pub(crate) enum PushError {
    /// At the high-water mark.
    Full(Message),
    /// The reading side is gone.
    Closed(Message),
}

/// A bounded FIFO of whole messages.
pub(crate) struct Pipe {
    state: Mutex<PipeState>,
    /// High-water mark in messages; 0 = unlimited.
    hwm: usize,
    /// A writer that found the pipe full is woken once fewer than this many remain.
    lwm: usize,
    /// ZMQ_CONFLATE: keep only the newest message.
    conflate: bool,
    /// The queue's length as of the last unlock (see [`PipeGuard`]): lets the writer check
    /// for room, and anyone check for emptiness, without taking the lock. Only the writer
    /// adds, so its own reading can only be too high (a reader drained meanwhile), never too
    /// low: "there is room" read from it is always true.
    queued: AtomicUsize,
}

/// The pipe's lock; on release it publishes the queue length to `Pipe::queued`.
struct PipeGuard<'a> {
    guard: MutexGuard<'a, PipeState>,
    queued: &'a AtomicUsize,
}

impl std::ops::Deref for PipeGuard<'_> {
    type Target = PipeState;
    fn deref(&self) -> &PipeState {
        &self.guard
    }
}

impl std::ops::DerefMut for PipeGuard<'_> {
    fn deref_mut(&mut self) -> &mut PipeState {
        &mut self.guard
    }
}

impl Drop for PipeGuard<'_> {
    fn drop(&mut self) {
        self.queued.store(self.guard.queue.len(), Ordering::Release);
    }
}

struct PipeState {
    queue: VecDeque<Message>,
    reader: Option<Signal>,
    writer: Option<Signal>,
    /// A writer was refused (or the engine filled the pipe) and waits for room.
    writer_blocked: bool,
    /// The reader will never read again; pushes fail.
    reader_closed: bool,
}

impl Pipe {
    /// A new pipe with the given high-water mark (0 = unlimited).
    pub(crate) fn new(hwm: usize) -> Arc<Pipe> {
        Arc::new(Pipe {
            state: Mutex::new(PipeState {
                queue: VecDeque::new(),
                reader: None,
                writer: None,
                writer_blocked: false,
                reader_closed: false,
            }),
            hwm,
            lwm: hwm.div_ceil(2),
            conflate: false,
            queued: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> PipeGuard<'_> {
        PipeGuard {
            guard: self.state.lock(),
            queued: &self.queued,
        }
    }

    /// A pipe that keeps only the newest message (ZMQ_CONFLATE): a push replaces what is
    /// queued, so it is never full.
    pub(crate) fn conflating() -> Arc<Pipe> {
        let mut pipe = Pipe::new(0);
        if let Some(p) = Arc::get_mut(&mut pipe) {
            p.conflate = true;
        }
        pipe
    }

    /// Sets (or clears) what to wake when the pipe becomes readable.
    pub(crate) fn set_reader(&self, reader: Option<Signal>) {
        self.lock().reader = reader;
    }

    /// Sets (or clears) what to wake when the pipe has room again.
    pub(crate) fn set_writer(&self, writer: Option<Signal>) {
        self.lock().writer = writer;
    }

    /// Pushes one message if below the high-water mark. `Ok(Some(signal))` when the reader
    /// must be woken (the queue was empty).
    pub(crate) fn try_push(&self, msg: Message) -> Result<Option<Signal>, PushError> {
        let mut st = self.lock();
        if st.reader_closed {
            return Err(PushError::Closed(msg));
        }
        if self.hwm != 0 && st.queue.len() >= self.hwm {
            st.writer_blocked = true;
            return Err(PushError::Full(msg));
        }
        let was_empty = st.queue.is_empty();
        if self.conflate {
            st.queue.clear();
        }
        st.queue.push_back(msg);
        Ok(if was_empty { st.reader.clone() } else { None })
    }

    /// Pushes one message whatever the high-water mark (subscriptions: they must not be lost
    /// and are few). Fails only if the reader is gone.
    pub(crate) fn push_forced(&self, msg: Message) -> Result<Option<Signal>, PushError> {
        let mut st = self.lock();
        if st.reader_closed {
            return Err(PushError::Closed(msg));
        }
        let was_empty = st.queue.is_empty();
        st.queue.push_back(msg);
        Ok(if was_empty { st.reader.clone() } else { None })
    }

    /// True if a push would be taken now; if not, the writer is marked as waiting, so it is
    /// signalled when room appears (XPUB_NODROP checks every target before sending to any).
    pub(crate) fn has_room(&self) -> bool {
        if self.hwm == 0 || self.conflate || self.queued.load(Ordering::Acquire) < self.hwm {
            return true;
        }
        let mut st = self.lock();
        if st.reader_closed || self.hwm == 0 || self.conflate || st.queue.len() < self.hwm {
            return true;
        }
        st.writer_blocked = true;
        false
    }

    /// Drops every queued message (a subscriber's stale subscriptions, before it resends them
    /// all to a new connection).
    pub(crate) fn clear(&self) -> Option<Signal> {
        let mut st = self.lock();
        st.queue.clear();
        Self::writer_signal(&mut st, self.lwm)
    }

    /// Pushes a batch regardless of the high-water mark (the engine's read path: one read's
    /// worth of messages). Returns the reader's signal if it must be woken, and whether the
    /// pipe is now at or above its high-water mark (the engine then stops reading until the
    /// writer signal says there is room).
    pub(crate) fn push_batch(&self, batch: &mut VecDeque<Message>) -> (Option<Signal>, bool) {
        let mut st = self.lock();
        if st.reader_closed {
            batch.clear();
            return (None, false);
        }
        let was_empty = st.queue.is_empty();
        if self.conflate {
            if let Some(last) = batch.pop_back() {
                st.queue.clear();
                st.queue.push_back(last);
            }
            batch.clear();
        } else if was_empty {
            // O(1) under the lock: the batch becomes the queue, and the caller keeps the
            // empty queue's allocation for its next batch.
            std::mem::swap(&mut st.queue, batch);
        } else {
            st.queue.append(batch);
        }
        let full = self.hwm != 0 && st.queue.len() >= self.hwm;
        if full {
            st.writer_blocked = true;
        }
        let signal = if was_empty && !st.queue.is_empty() {
            st.reader.clone()
        } else {
            None
        };
        (signal, full)
    }

    /// Pops one message. The signal, if any, wakes a writer waiting for room.
    pub(crate) fn try_pop(&self) -> Option<(Message, Option<Signal>)> {
        let mut st = self.lock();
        let msg = st.queue.pop_front()?;
        let signal = Self::writer_signal(&mut st, self.lwm);
        Some((msg, signal))
    }

    /// Moves up to `max` messages into `out`. The signal, if any, wakes a waiting writer.
    pub(crate) fn pop_batch(&self, out: &mut VecDeque<Message>, max: usize) -> Option<Signal> {
        let mut st = self.lock();
        if out.is_empty() && st.queue.len() <= max {
            // O(1) under the lock: take the whole queue, leave the caller's empty buffer (and
            // its allocation) for the writer. Keeps the lock hold short on the hot path.
            std::mem::swap(&mut st.queue, out);
        } else {
            let n = st.queue.len().min(max);
            out.extend(st.queue.drain(..n));
        }
        Self::writer_signal(&mut st, self.lwm)
    }

    fn writer_signal(st: &mut PipeState, lwm: usize) -> Option<Signal> {
        if st.queue.is_empty() && st.queue.capacity() > QUEUE_KEEP {
            // Drained after a burst (a high or no high-water mark): give the memory back.
            st.queue = VecDeque::new();
        }
        if st.writer_blocked && st.queue.len() < lwm.max(1) {
            st.writer_blocked = false;
            st.writer.clone()
        } else {
            None
        }
    }

    /// How many messages a reader should take per lock: 1 for a conflating pipe (only the
    /// newest counts), else a quarter of the high-water mark, at most 64, so batching barely
    /// stretches the HWM.
    pub(crate) fn read_batch(&self) -> usize {
        match (self.conflate, self.hwm) {
            (true, _) => 1,
            (false, 0) => 64,
            (false, hwm) => (hwm / 4).clamp(1, 64),
        }
    }

    /// Number of queued messages as of the last unlock (a snapshot, taken without the lock).
    pub(crate) fn len(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// True if nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many more messages fit below the high-water mark (`None`: no mark). A snapshot:
    /// exact for the single writer, since a reader can only make more room.
    pub(crate) fn room(&self) -> Option<usize> {
        (self.hwm != 0 && !self.conflate).then(|| self.hwm.saturating_sub(self.len()))
    }

    /// True if a push would be refused for lack of room.
    pub(crate) fn is_full(&self) -> bool {
        self.hwm != 0 && self.len() >= self.hwm
    }

    /// Marks the reading side gone: later pushes fail, queued messages are dropped and the
    /// writer is released.
    pub(crate) fn close_reader(&self) -> Option<Signal> {
        let mut st = self.lock();
        st.reader_closed = true;
        st.queue.clear();
        st.reader = None;
        st.writer.take()
    }
}

impl std::fmt::Debug for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipe")
            .field("len", &self.len())
            .field("hwm", &self.hwm)
            .finish()
    }
}

/// Fires signals collected while locks were held.
pub(crate) fn fire(signals: impl IntoIterator<Item = Signal>) {
    for s in signals {
        s.notify();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counter(AtomicUsize);
    impl Notify for Counter {
        fn notify(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn reader_signalled_only_on_empty_to_non_empty() {
        let pipe = Pipe::new(0);
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        pipe.set_reader(Some(c.clone()));
        assert!(pipe.try_push(Message::from("a")).unwrap().is_some());
        assert!(pipe.try_push(Message::from("b")).unwrap().is_none());
        assert!(pipe.try_pop().is_some());
        assert!(pipe.try_pop().is_some());
        assert!(pipe.try_pop().is_none());
        assert!(pipe.try_push(Message::from("c")).unwrap().is_some());
    }

    #[test]
    fn writer_signalled_below_low_water_mark_after_refusal() {
        let pipe = Pipe::new(4);
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        pipe.set_writer(Some(c.clone()));
        for i in 0..4 {
            pipe.try_push(Message::from(vec![i])).unwrap();
        }
        assert!(matches!(
            pipe.try_push(Message::from("x")),
            Err(PushError::Full(_))
        ));
        assert!(pipe.try_pop().unwrap().1.is_none()); // 3 left, lwm 2
        assert!(pipe.try_pop().unwrap().1.is_none()); // 2 left
        assert!(pipe.try_pop().unwrap().1.is_some()); // 1 left: below lwm
        assert!(pipe.try_pop().unwrap().1.is_none()); // already signalled
    }

    #[test]
    fn conflating_pipe_keeps_the_newest_message_only() {
        let pipe = Pipe::conflating();
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        pipe.set_reader(Some(c.clone()));
        assert!(pipe.try_push(Message::from("a")).unwrap().is_some());
        assert!(pipe.try_push(Message::from("b")).unwrap().is_none());
        let mut batch = VecDeque::from([Message::from("c"), Message::from("d")]);
        let (_, full) = pipe.push_batch(&mut batch);
        assert!(!full);
        assert_eq!(pipe.len(), 1);
        assert_eq!(pipe.try_pop().unwrap().0, Message::from("d"));
        assert!(pipe.try_pop().is_none());
    }

    #[test]
    fn has_room_marks_the_writer_so_it_is_signalled_later() {
        let pipe = Pipe::new(2);
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        pipe.set_writer(Some(c.clone()));
        pipe.try_push(Message::from("a")).unwrap();
        assert!(pipe.has_room());
        pipe.push_forced(Message::from("b")).unwrap();
        pipe.push_forced(Message::from("c")).unwrap();
        assert!(!pipe.has_room());
        assert!(pipe.try_pop().unwrap().1.is_none()); // 2 left, lwm 1
        assert!(pipe.try_pop().unwrap().1.is_none()); // 1 left
        assert!(pipe.try_pop().unwrap().1.is_some()); // 0 left: below lwm, writer woken
    }

    #[test]
    fn batch_push_reports_full_and_closed_reader_refuses() {
        let pipe = Pipe::new(2);
        let mut batch =
            VecDeque::from([Message::from("a"), Message::from("b"), Message::from("c")]);
        let (_, full) = pipe.push_batch(&mut batch);
        assert!(full);
        assert_eq!(pipe.len(), 3);
        let mut out = VecDeque::new();
        pipe.pop_batch(&mut out, 10);
        assert_eq!(out.len(), 3);
        pipe.close_reader();
        assert!(matches!(
            pipe.try_push(Message::from("d")),
            Err(PushError::Closed(_))
        ));
    }
}

/// Model checks of the pipe's edges: every wait below would hang (and loom report a deadlock)
/// if a wake-up were lost in some interleaving. Run with `--cfg loom` (see `crate::loom`).
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use crate::loom::model;
    use ::loom::sync::Notify as Event;
    use ::loom::thread;

    /// A signal target: a thread waiting for a wake-up (a permit, as a condvar plus flag).
    struct Waiter(Event);
    impl Notify for Waiter {
        fn notify(&self) {
            self.0.notify();
        }
    }

    fn waiter() -> Arc<Waiter> {
        Arc::new(Waiter(Event::new()))
    }

    /// Receives `n` messages one by one, sleeping on `readable` whenever the pipe is empty.
    fn receive(pipe: &Pipe, readable: &Waiter, n: usize) -> Vec<Message> {
        let mut got = Vec::new();
        while got.len() < n {
            match pipe.try_pop() {
                Some((m, signal)) => {
                    got.push(m);
                    fire(signal);
                }
                None => readable.0.wait(),
            }
        }
        got
    }

    /// Sends `n` messages, sleeping on `writable` whenever the pipe is full.
    fn send(pipe: &Pipe, writable: &Waiter, n: usize) {
        for i in 0..n {
            let mut msg = Message::from(vec![i as u8]);
            loop {
                match pipe.try_push(msg) {
                    Ok(signal) => {
                        fire(signal);
                        break;
                    }
                    Err(PushError::Full(m)) => {
                        msg = m;
                        writable.0.wait();
                    }
                    Err(PushError::Closed(_)) => unreachable!("nobody closes the pipe"),
                }
            }
        }
    }

    fn numbered(n: usize) -> Vec<Message> {
        (0..n).map(|i| Message::from(vec![i as u8])).collect()
    }

    #[test]
    fn loom_reader_that_saw_empty_is_woken_by_the_next_push() {
        model(|| {
            let pipe = Pipe::new(0);
            let (readable, writable) = (waiter(), waiter());
            pipe.set_reader(Some(readable.clone()));
            let writer = {
                let pipe = pipe.clone();
                thread::spawn(move || send(&pipe, &writable, 3))
            };
            assert_eq!(receive(&pipe, &readable, 3), numbered(3));
            writer.join().unwrap();
            assert_eq!(pipe.len(), 0);
        });
    }

    #[test]
    fn loom_writer_refused_at_hwm_is_woken_below_the_low_water_mark() {
        model(|| {
            let pipe = Pipe::new(1);
            let (readable, writable) = (waiter(), waiter());
            pipe.set_reader(Some(readable.clone()));
            pipe.set_writer(Some(writable.clone()));
            let writer = {
                let pipe = pipe.clone();
                thread::spawn(move || send(&pipe, &writable, 3))
            };
            assert_eq!(receive(&pipe, &readable, 3), numbered(3));
            writer.join().unwrap();
            assert_eq!(pipe.len(), 0);
        });
    }

    #[test]
    fn loom_engine_batches_pause_at_hwm_and_resume() {
        // The reactor's read path: push_batch up to the mark, then wait for the writer signal;
        // the socket takes batches.
        model(|| {
            let pipe = Pipe::new(2);
            let (readable, writable) = (waiter(), waiter());
            pipe.set_reader(Some(readable.clone()));
            pipe.set_writer(Some(writable.clone()));
            let writer = {
                let pipe = pipe.clone();
                thread::spawn(move || {
                    for _ in 0..2 {
                        let mut batch = VecDeque::from([Message::from("a"), Message::from("b")]);
                        while !batch.is_empty() {
                            let (signal, full) = pipe.push_batch(&mut batch);
                            fire(signal);
                            if full {
                                writable.0.wait();
                            }
                        }
                    }
                })
            };
            let mut got = VecDeque::new();
            while got.len() < 4 {
                let before = got.len();
                fire(pipe.pop_batch(&mut got, 1));
                if got.len() == before {
                    readable.0.wait();
                }
            }
            writer.join().unwrap();
            assert_eq!(pipe.len(), 0);
        });
    }

    #[test]
    fn loom_has_room_then_forced_push_is_woken() {
        // XPUB_NODROP: check for room, wait if none, then push regardless of the mark.
        model(|| {
            let pipe = Pipe::new(1);
            let (readable, writable) = (waiter(), waiter());
            pipe.set_reader(Some(readable.clone()));
            pipe.set_writer(Some(writable.clone()));
            let writer = {
                let pipe = pipe.clone();
                thread::spawn(move || {
                    for _ in 0..3 {
                        while !pipe.has_room() {
                            writable.0.wait();
                        }
                        fire(pipe.push_forced(Message::from("s")).unwrap());
                    }
                })
            };
            receive(&pipe, &readable, 3);
            writer.join().unwrap();
        });
    }

    #[test]
    fn loom_close_leaves_nothing_behind_and_releases_the_writer() {
        model(|| {
            let pipe = Pipe::new(0);
            let writable = waiter();
            pipe.set_writer(Some(writable.clone()));
            let writer = {
                let pipe = pipe.clone();
                thread::spawn(move || {
                    for _ in 0..2 {
                        let _ = pipe.try_push(Message::from("a"));
                    }
                })
            };
            let released = pipe.close_reader();
            writer.join().unwrap();
            assert!(released.is_some());
            assert_eq!(pipe.len(), 0);
            assert!(pipe.try_pop().is_none());
        });
    }

    #[test]
    fn loom_conflating_pipe_keeps_the_newest_and_wakes_the_reader() {
        model(|| {
            let pipe = Pipe::conflating();
            let readable = waiter();
            pipe.set_reader(Some(readable.clone()));
            let writer = {
                let pipe = pipe.clone();
                thread::spawn(move || {
                    for i in 0..2u8 {
                        fire(pipe.try_push(Message::from(vec![i])).unwrap());
                    }
                })
            };
            // The newest message always arrives, whatever the reader took before it.
            loop {
                match pipe.try_pop() {
                    Some((m, _)) if m == Message::from(vec![1u8]) => break,
                    Some(_) => {}
                    None => readable.0.wait(),
                }
            }
            writer.join().unwrap();
            assert_eq!(pipe.len(), 0);
        });
    }
}
