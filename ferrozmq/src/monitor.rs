//! Monitor events: what happens to a socket's endpoints and connections (listening, accepted,
//! connected, handshake results, disconnections), delivered to any number of [`Monitor`]s.
//!
//! Every socket has a [`MonitorHub`]; the engine, `bind` and the inproc registry report to it.
//! With no monitor attached, reporting costs one relaxed atomic load: events are built lazily,
//! only when someone listens. Each [`Monitor`] has its own bounded queue
//! ([`MONITOR_CAPACITY`] events); when it is full the *oldest* queued event is dropped and
//! counted ([`Monitor::dropped`]), so a slow reader still sees the latest state, and the final
//! [`MonitorEventKind::MonitorStopped`] always arrives.
//!
//! # Which event, when
//!
//! | event | when | endpoint | peer |
//! |---|---|---|---|
//! | `Listening` | `bind` succeeded (any transport) | resolved endpoint | — |
//! | `BindFailed` | `bind` failed on an open socket | as given | — |
//! | `Closed` | a listener stopped: `unbind`, or the socket closed | bound endpoint | — |
//! | `Accepted` | a listener took a tcp/ipc connection | bound endpoint | remote address (tcp) |
//! | `AcceptFailed` | `accept` failed (resource exhaustion, aborted connection) | bound endpoint | — |
//! | `ConnectDelayed` | a tcp/ipc connect is in progress (the kernel said EINPROGRESS) | connect target | — |
//! | `Connected` | a connect completed | connect target | remote address / ipc path |
//! | `ConnectRetried` | the next connect attempt is scheduled, after a failed connect or a lost connection | connect target | — |
//! | `HandshakeSucceeded` | the ZMTP handshake completed (the socket may still refuse the peer: then `Disconnected` with [`DisconnectReason::Refused`]) | | |
//! | `HandshakeFailed` | the connection ended before its handshake completed | | |
//! | `Disconnected` | an accepted or connected connection ended, always, whatever the cause — also after `HandshakeFailed` (as libzmq) | | |
//! | `MonitorStopped` | last event: the socket is closed and the engine is done with it (lingering connections flushed), or the socket is gone | empty | — |
//!
//! Connection events carry the endpoint of the listener or connect they belong to.
//!
//! inproc reports only `Listening`, `BindFailed`, `Closed` (unbind or close) and
//! `MonitorStopped`: inproc peers share queues directly, with no connection, handshake or
//! disconnection to report.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ferrozmq_proto::SessionError;
use parking_lot::{Condvar, Mutex};

use crate::error::BindError;

/// Events queued per monitor before the oldest are dropped.
pub const MONITOR_CAPACITY: usize = 4096;

/// Receives the events of one socket from the moment it was created by
/// [`Socket::monitor`](crate::Socket::monitor). `Send + Sync`; any number of monitors may watch
/// one socket, each gets every event.
///
/// The stream ends with [`MonitorEventKind::MonitorStopped`], after which [`Monitor::recv`]
/// returns `None`. Blocking ([`Monitor::recv`], the `Iterator`), time-out, non-blocking and
/// `async` ([`Monitor::recv_async`], any executor) receives are offered.
#[derive(Debug)]
pub struct Monitor {
    chan: Arc<Channel>,
}

/// One socket event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MonitorEvent {
    /// What happened.
    pub kind: MonitorEventKind,
    /// The endpoint concerned: the bound endpoint for listener and accepted-connection events,
    /// the connect target for connect events; empty for `MonitorStopped`.
    pub endpoint: String,
    /// The remote address (`tcp://IP:PORT`, or `ipc://PATH` for a connected ipc stream), when
    /// there is a connection and the address is known.
    pub peer: Option<String>,
}

/// The kinds of [`MonitorEvent`], after libzmq's `ZMQ_EVENT_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MonitorEventKind {
    /// A connect completed (`ZMQ_EVENT_CONNECTED`).
    Connected,
    /// A connect is in progress (`ZMQ_EVENT_CONNECT_DELAYED`).
    ConnectDelayed,
    /// The next connect attempt is scheduled in `interval` (`ZMQ_EVENT_CONNECT_RETRIED`).
    ConnectRetried {
        /// Delay before the attempt (RECONNECT_IVL, doubled up to RECONNECT_IVL_MAX).
        interval: Duration,
    },
    /// The host name of a tcp connect did not resolve (libzmq reports it as a failed
    /// connect attempt); the next attempt, which resolves again, follows `ConnectRetried`.
    ResolveFailed {
        /// Why, as the resolver said.
        error: String,
    },
    /// A `bind` succeeded (`ZMQ_EVENT_LISTENING`).
    Listening,
    /// A `bind` failed (`ZMQ_EVENT_BIND_FAILED`). Endpoint syntax errors map to
    /// `InvalidInput`, an address taken to `AddrInUse`, a foreign address to
    /// `AddrNotAvailable`, other OS errors to their own kind.
    BindFailed {
        /// Why.
        error: io::ErrorKind,
    },
    /// A connection was accepted (`ZMQ_EVENT_ACCEPTED`).
    Accepted,
    /// Accepting a connection failed (`ZMQ_EVENT_ACCEPT_FAILED`); the listener goes on.
    AcceptFailed {
        /// Why.
        error: io::ErrorKind,
    },
    /// A listener was closed by `unbind` or by closing the socket (`ZMQ_EVENT_CLOSED`).
    Closed,
    /// A connection ended (`ZMQ_EVENT_DISCONNECTED`).
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// The ZMTP handshake completed (`ZMQ_EVENT_HANDSHAKE_SUCCEEDED`).
    HandshakeSucceeded,
    /// The connection ended during its handshake (`ZMQ_EVENT_HANDSHAKE_FAILED_*`).
    HandshakeFailed(HandshakeFailure),
    /// The last event of every monitor (`ZMQ_EVENT_MONITOR_STOPPED`).
    MonitorStopped,
}

/// Why a handshake failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeFailure {
    /// The peer broke ZMTP: bad greeting, unsupported version, malformed or unexpected
    /// command, incompatible socket type, an ERROR command (`..._FAILED_PROTOCOL`).
    Protocol(SessionError),
    /// Authentication failed: today a peer ERROR carrying a ZAP status code (RFC 27, see
    /// [`SessionError::is_auth`]); PLAIN, CURVE and ZAP report here too (`..._FAILED_AUTH`).
    Auth(SessionError),
    /// The connection was lost, or the handshake timed out, with no protocol fault
    /// (`..._FAILED_NO_DETAIL`); the `Disconnected` event that follows says how.
    NoDetail,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The peer closed the connection.
    PeerClosed,
    /// A socket error (e.g. `ConnectionReset`).
    Io(io::ErrorKind),
    /// The session failed: the peer broke the protocol, or a handshake or heartbeat time-out
    /// expired.
    Protocol(SessionError),
    /// The socket would not take the peer after its handshake.
    Refused(PeerRefusal),
    /// Closed on this side: the socket closed (after LINGER), or `disconnect`.
    Local,
}

/// Why a socket would not take a peer that completed its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerRefusal {
    /// A PAIR socket already has its one peer.
    PairTaken,
    /// ROUTER: another peer has this routing id (and ROUTER_HANDOVER is off).
    DuplicateRoutingId,
    /// The socket types cannot talk to each other.
    IncompatibleSocketType,
    /// The socket is closed, or the connect was dropped meanwhile.
    SocketClosed,
}

/// Why a [`Monitor`] receive returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorRecvError {
    /// [`Monitor::try_recv`]: no event queued now.
    #[error("no monitor event queued")]
    Empty,
    /// [`Monitor::recv_timeout`]: no event within the time-out.
    #[error("no monitor event within the time-out")]
    Timeout,
    /// The monitor stopped and every event was received.
    #[error("monitor stopped")]
    Stopped,
}

impl Monitor {
    /// The next event, blocking until one arrives; `None` once the monitor has stopped and
    /// every event (`MonitorStopped` last) was received.
    pub fn recv(&self) -> Option<MonitorEvent> {
        self.chan.recv(None).ok()
    }

    /// The next event, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<MonitorEvent, MonitorRecvError> {
        // A time-out too large for the clock is a wait forever.
        self.chan.recv(Some(Instant::now().checked_add(timeout)))
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&self) -> Result<MonitorEvent, MonitorRecvError> {
        let mut st = self.chan.state.lock();
        st.pop().ok_or(if st.stopped {
            MonitorRecvError::Stopped
        } else {
            MonitorRecvError::Empty
        })
    }

    /// The next event, asynchronously; `None` once stopped and drained. Works under any
    /// executor: the task is woken by the socket's own events, not by a runtime.
    pub async fn recv_async(&self) -> Option<MonitorEvent> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next event (`Ready(None)` once stopped and drained); registers the
    /// task's waker otherwise. The building block of [`Monitor::recv_async`], for a stream
    /// adapter.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<MonitorEvent>> {
        let mut st = self.chan.state.lock();
        if let Some(ev) = st.pop() {
            return Poll::Ready(Some(ev));
        }
        if st.stopped {
            return Poll::Ready(None);
        }
        if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            st.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// How many events were dropped because this monitor's queue was full.
    pub fn dropped(&self) -> u64 {
        self.chan.state.lock().dropped
    }
}

/// Async iteration (`futures_core::Stream`): each event in turn, ending after
/// `MonitorStopped`; works under any executor. `Monitor` is also an `Iterator`, so with
/// `futures::StreamExt` in scope write `StreamExt::next(&mut monitor)` (or use
/// [`Monitor::recv_async`]) to say which `next` is meant.
impl futures_core::Stream for Monitor {
    type Item = MonitorEvent;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<MonitorEvent>> {
        self.poll_recv(cx)
    }
}

/// Blocking iteration: each event in turn, ending after `MonitorStopped`.
impl Iterator for Monitor {
    type Item = MonitorEvent;

    fn next(&mut self) -> Option<MonitorEvent> {
        self.recv()
    }
}

/// Blocking iteration over a shared monitor.
impl Iterator for &Monitor {
    type Item = MonitorEvent;

    fn next(&mut self) -> Option<MonitorEvent> {
        self.recv()
    }
}

impl MonitorEvent {
    pub(crate) fn new(
        kind: MonitorEventKind,
        endpoint: impl Into<String>,
        peer: Option<String>,
    ) -> MonitorEvent {
        MonitorEvent {
            kind,
            endpoint: endpoint.into(),
            peer,
        }
    }
}

/// One line: `accepted tcp://127.0.0.1:5555 (peer tcp://127.0.0.1:40112)`, with the detail
/// after a colon: `disconnected tcp://... (peer ...): closed by peer`.
impl fmt::Display for MonitorEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if !self.endpoint.is_empty() {
            write!(f, " {}", self.endpoint)?;
        }
        if let Some(peer) = &self.peer {
            write!(f, " (peer {peer})")?;
        }
        self.kind.write_detail(f, ": ")
    }
}

impl MonitorEventKind {
    /// A short lower-case name: `"connect retried"`, `"handshake failed"`.
    pub fn name(&self) -> &'static str {
        match self {
            MonitorEventKind::Connected => "connected",
            MonitorEventKind::ConnectDelayed => "connect delayed",
            MonitorEventKind::ConnectRetried { .. } => "connect retried",
            MonitorEventKind::ResolveFailed { .. } => "resolve failed",
            MonitorEventKind::Listening => "listening",
            MonitorEventKind::BindFailed { .. } => "bind failed",
            MonitorEventKind::Accepted => "accepted",
            MonitorEventKind::AcceptFailed { .. } => "accept failed",
            MonitorEventKind::Closed => "closed",
            MonitorEventKind::Disconnected { .. } => "disconnected",
            MonitorEventKind::HandshakeSucceeded => "handshake succeeded",
            MonitorEventKind::HandshakeFailed(_) => "handshake failed",
            MonitorEventKind::MonitorStopped => "monitor stopped",
        }
    }

    fn write_detail(&self, f: &mut fmt::Formatter<'_>, sep: &str) -> fmt::Result {
        match self {
            MonitorEventKind::ConnectRetried { interval } => {
                write!(f, "{sep}next attempt in {}", human_duration(*interval))
            }
            MonitorEventKind::BindFailed { error } | MonitorEventKind::AcceptFailed { error } => {
                write!(f, "{sep}{error}")
            }
            MonitorEventKind::Disconnected { reason } => write!(f, "{sep}{reason}"),
            MonitorEventKind::ResolveFailed { error } => write!(f, "{sep}{error}"),
            MonitorEventKind::HandshakeFailed(why) => write!(f, "{sep}{why}"),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for MonitorEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        self.write_detail(f, ": ")
    }
}

impl fmt::Display for HandshakeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeFailure::Protocol(e) => write!(f, "protocol: {e}"),
            HandshakeFailure::Auth(e) => write!(f, "authentication: {e}"),
            HandshakeFailure::NoDetail => f.write_str("connection lost or timed out"),
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::PeerClosed => f.write_str("closed by peer"),
            DisconnectReason::Io(kind) => write!(f, "socket error: {kind}"),
            DisconnectReason::Protocol(e) => write!(f, "{e}"),
            DisconnectReason::Refused(r) => write!(f, "peer refused: {r}"),
            DisconnectReason::Local => f.write_str("closed locally"),
        }
    }
}

impl fmt::Display for PeerRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerRefusal::PairTaken => "pair socket already has a peer",
            PeerRefusal::DuplicateRoutingId => "routing id already in use",
            PeerRefusal::IncompatibleSocketType => "incompatible socket type",
            PeerRefusal::SocketClosed => "socket closed",
        })
    }
}

/// The `io::ErrorKind` a failed `bind` reports in [`MonitorEventKind::BindFailed`].
pub(crate) fn bind_error_kind(e: &BindError) -> io::ErrorKind {
    match e {
        BindError::Endpoint(_) => io::ErrorKind::InvalidInput,
        BindError::AddrInUse(_) => io::ErrorKind::AddrInUse,
        BindError::AddrNotAvailable(_) => io::ErrorKind::AddrNotAvailable,
        BindError::Io(e) => e.kind(),
        BindError::Closed => io::ErrorKind::NotConnected,
        BindError::EngineFailed => io::ErrorKind::BrokenPipe,
    }
}

/// The monitors of one socket. The engine, `bind` and inproc report events through it.
#[derive(Debug)]
pub(crate) struct MonitorHub {
    /// A monitor may be listening (cleared when the last one is found gone, or on stop).
    active: AtomicBool,
    state: Mutex<HubState>,
}

#[derive(Debug, Default)]
struct HubState {
    channels: Vec<Weak<Channel>>,
    stopped: bool,
}

/// The queue shared by one [`Monitor`] and the hub.
#[derive(Debug, Default)]
struct Channel {
    state: Mutex<ChannelState>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct ChannelState {
    queue: VecDeque<MonitorEvent>,
    dropped: u64,
    stopped: bool,
    wakers: Vec<Waker>,
}

impl MonitorHub {
    pub(crate) fn new() -> Self {
        MonitorHub {
            active: AtomicBool::new(false),
            state: Mutex::new(HubState::default()),
        }
    }

    /// Whether any monitor may be listening.
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// A new monitor receiving every event from now on. On a stopped hub it receives
    /// `MonitorStopped` at once.
    pub(crate) fn subscribe(&self) -> Monitor {
        let chan = Arc::new(Channel::default());
        let mut hub = self.state.lock();
        if hub.stopped {
            let mut st = chan.state.lock();
            st.queue.push_back(stopped_event());
            st.stopped = true;
        } else {
            hub.channels.push(Arc::downgrade(&chan));
            self.active.store(true, Ordering::Relaxed);
        }
        drop(hub);
        Monitor { chan }
    }

    /// Reports an event, built by `make` only if a monitor is listening.
    pub(crate) fn emit(&self, make: impl FnOnce() -> MonitorEvent) {
        // A monitor created concurrently with this event may miss it: it was not yet there.
        if !self.active.load(Ordering::Relaxed) {
            return;
        }
        let mut wakers = Vec::new();
        {
            let mut hub = self.state.lock();
            if hub.stopped {
                return;
            }
            let live: Vec<Arc<Channel>> = hub.channels.iter().filter_map(Weak::upgrade).collect();
            if live.len() != hub.channels.len() {
                hub.channels.retain(|w| w.strong_count() > 0);
            }
            if live.is_empty() {
                self.active.store(false, Ordering::Relaxed);
                return;
            }
            // Delivered under the hub lock, so every monitor sees events in one order.
            let ev = make();
            for chan in &live {
                chan.push(ev.clone(), false, &mut wakers);
            }
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Sends `MonitorStopped` to every monitor and ends them; later events are ignored.
    /// Idempotent.
    pub(crate) fn stop(&self) {
        let mut wakers = Vec::new();
        {
            let mut hub = self.state.lock();
            if hub.stopped {
                return;
            }
            hub.stopped = true;
            self.active.store(false, Ordering::Relaxed);
            for chan in hub.channels.drain(..).filter_map(|w| w.upgrade()) {
                chan.push(stopped_event(), true, &mut wakers);
            }
        }
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// The socket is gone: its monitors stop (if the engine has not stopped them already).
impl Drop for MonitorHub {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Channel {
    /// Queues an event (dropping the oldest if full) and wakes receivers; async wakers are
    /// handed back to be woken after the locks are released.
    fn push(&self, ev: MonitorEvent, last: bool, wakers: &mut Vec<Waker>) {
        let mut st = self.state.lock();
        if st.queue.len() >= MONITOR_CAPACITY {
            st.queue.pop_front();
            st.dropped += 1;
        }
        st.queue.push_back(ev);
        st.stopped |= last;
        wakers.append(&mut st.wakers);
        self.ready.notify_all();
    }

    /// Waits for an event until `deadline` (`None` or `Some(None)`: forever).
    fn recv(&self, deadline: Option<Option<Instant>>) -> Result<MonitorEvent, MonitorRecvError> {
        let mut st = self.state.lock();
        loop {
            if let Some(ev) = st.pop() {
                return Ok(ev);
            }
            if st.stopped {
                return Err(MonitorRecvError::Stopped);
            }
            match deadline.flatten() {
                None => self.ready.wait(&mut st),
                Some(d) => {
                    if self.ready.wait_until(&mut st, d).timed_out() {
                        // One last look: an event may have come with the time-out.
                        return st.pop().ok_or(if st.stopped {
                            MonitorRecvError::Stopped
                        } else {
                            MonitorRecvError::Timeout
                        });
                    }
                }
            }
        }
    }
}

impl ChannelState {
    fn pop(&mut self) -> Option<MonitorEvent> {
        self.queue.pop_front()
    }
}

fn stopped_event() -> MonitorEvent {
    MonitorEvent::new(MonitorEventKind::MonitorStopped, "", None)
}

/// A duration as people read it: `99 ms`, `1.5 s`, `250 µs` (whole milliseconds below ten
/// seconds, tenths of a second above; never a dozen decimals).
pub(crate) fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else if ms < 10_000 {
        format!("{ms} ms")
    } else {
        let tenths = ms / 100;
        match tenths % 10 {
            0 => format!("{} s", tenths / 10),
            t => format!("{}.{t} s", tenths / 10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: MonitorEventKind) -> MonitorEvent {
        MonitorEvent::new(kind, "tcp://127.0.0.1:5555", None)
    }

    #[test]
    fn nothing_is_built_without_a_monitor() {
        let hub = MonitorHub::new();
        hub.emit(|| unreachable!("built with nobody listening"));
        let m = hub.subscribe();
        drop(m);
        // The first emit after the last monitor went finds it gone and builds nothing.
        hub.emit(|| unreachable!("built for a dropped monitor"));
        assert!(!hub.is_active());
    }

    #[test]
    fn every_monitor_gets_every_event_then_stopped_then_none() {
        let hub = MonitorHub::new();
        let a = hub.subscribe();
        hub.emit(|| ev(MonitorEventKind::Listening));
        let b = hub.subscribe();
        hub.emit(|| ev(MonitorEventKind::Closed));
        hub.stop();
        hub.emit(|| ev(MonitorEventKind::Accepted));
        let kinds = |m: &Monitor| m.map(|e| e.kind).collect::<Vec<_>>();
        assert_eq!(
            kinds(&a),
            [
                MonitorEventKind::Listening,
                MonitorEventKind::Closed,
                MonitorEventKind::MonitorStopped
            ]
        );
        assert_eq!(
            kinds(&b),
            [MonitorEventKind::Closed, MonitorEventKind::MonitorStopped]
        );
        assert_eq!(a.try_recv(), Err(MonitorRecvError::Stopped));
        assert_eq!(
            b.recv_timeout(Duration::from_secs(10)),
            Err(MonitorRecvError::Stopped)
        );
    }

    #[test]
    fn a_monitor_made_after_stop_ends_at_once() {
        let hub = MonitorHub::new();
        hub.stop();
        let m = hub.subscribe();
        assert_eq!(
            m.recv().map(|e| e.kind),
            Some(MonitorEventKind::MonitorStopped)
        );
        assert_eq!(m.recv(), None);
    }

    #[test]
    fn dropping_the_hub_stops_its_monitors() {
        let hub = MonitorHub::new();
        let m = hub.subscribe();
        drop(hub);
        assert_eq!(
            m.recv().map(|e| e.kind),
            Some(MonitorEventKind::MonitorStopped)
        );
        assert_eq!(m.recv(), None);
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts() {
        let hub = MonitorHub::new();
        let m = hub.subscribe();
        for i in 0..MONITOR_CAPACITY + 3 {
            let interval = Duration::from_millis(i as u64);
            hub.emit(|| ev(MonitorEventKind::ConnectRetried { interval }));
        }
        hub.stop();
        assert_eq!(m.dropped(), 4, "three events plus one for MonitorStopped");
        let first = m.try_recv().unwrap();
        assert_eq!(
            first.kind,
            MonitorEventKind::ConnectRetried {
                interval: Duration::from_millis(4)
            }
        );
        let rest: Vec<_> = (&m).collect();
        assert_eq!(rest.len(), MONITOR_CAPACITY - 1);
        assert_eq!(rest.last().unwrap().kind, MonitorEventKind::MonitorStopped);
    }

    #[test]
    fn try_recv_and_time_out_when_empty() {
        let hub = MonitorHub::new();
        let m = hub.subscribe();
        assert_eq!(m.try_recv(), Err(MonitorRecvError::Empty));
        assert_eq!(
            m.recv_timeout(Duration::from_millis(1)),
            Err(MonitorRecvError::Timeout)
        );
    }

    #[test]
    fn display_is_one_line_with_the_detail() {
        let mut e = ev(MonitorEventKind::Disconnected {
            reason: DisconnectReason::PeerClosed,
        });
        e.peer = Some("tcp://127.0.0.1:40000".into());
        assert_eq!(
            e.to_string(),
            "disconnected tcp://127.0.0.1:5555 (peer tcp://127.0.0.1:40000): closed by peer"
        );
        assert_eq!(
            ev(MonitorEventKind::ConnectRetried {
                interval: Duration::from_millis(100)
            })
            .to_string(),
            "connect retried tcp://127.0.0.1:5555: next attempt in 100 ms"
        );
        assert_eq!(stopped_event().to_string(), "monitor stopped");
    }

    #[test]
    fn monitors_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Monitor>();
        check::<MonitorEvent>();
    }

    #[test]
    fn durations_print_as_people_read_them() {
        let d = |us: u64| human_duration(Duration::from_micros(us));
        assert_eq!(d(99_275), "99 ms");
        assert_eq!(d(250), "250 µs");
        assert_eq!(d(1_500_000), "1500 ms");
        assert_eq!(d(12_000_000), "12 s");
        assert_eq!(d(12_340_000), "12.3 s");
    }
}
