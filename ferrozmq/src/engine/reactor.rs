//! The reactor loop: poll, dispatch readiness to listeners and connections, run the inbox
//! (commands and pipe signals), fire timers; until shut down and every lingering connection
//! is done.
//!
//! Monitor events of listeners (accepted, accept failed, closed) and connectors (connect
//! retried) are reported here, as is the end of each connection; and `MonitorStopped` once a
//! closed socket has no listener, connector or connection left in the engine.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::backoff::Backoff;
use super::connection::{CloseReason, Connection, Origin};
use super::timers::{Timer, TimerQueue};
use super::{Command, Shared, Wake, WAKER};
use crate::endpoint::tcp_endpoint;
use crate::monitor::{MonitorEvent, MonitorEventKind};
use crate::socket::link::SocketLink;
use crate::transport::{Listener, Target};
use connect::Connector;

mod connect;

enum Entry {
    Listener(ListenerEntry),
    Conn(Box<Connection>),
}

struct ListenerEntry {
    listener: Listener,
    socket: SocketLink,
    bind_id: u64,
    unlink: Option<PathBuf>,
    /// The bound endpoint, for monitor events.
    endpoint: String,
    /// Out of descriptors: accepting is retried at this time (or sooner, when one of our
    /// connections closes), since an edge-triggered poll reports no new edge while the
    /// backlog stays non-empty.
    retry_at: Option<Instant>,
}

/// How long a listener that ran out of descriptors waits before trying to accept again,
/// unless a connection of this reactor closes first.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// A socket's share of the reactor: the tokens of its listeners and connections and the ids
/// of its connects, so closing a socket, or finding it done, looks at its own entries only
/// (not at every connection of the reactor: 5,000 peers closing once cost 5,000^2 steps).
#[derive(Default)]
struct SocketIndex {
    tokens: HashSet<usize>,
    connects: HashSet<u64>,
}

struct Reactor {
    poll: Poll,
    shared: Arc<Shared>,
    entries: Slab<Entry>,
    /// Socket id -> its entries and connects (kept in step with `entries` and `connectors`).
    by_socket: HashMap<u64, SocketIndex>,
    connectors: HashMap<(u64, u64), Connector>,
    timers: TimerQueue,
    /// Listeners waiting to accept again (see [`ListenerEntry::retry_at`]).
    stalled: Vec<usize>,
    next_gen: u64,
    shutting_down: bool,
}

/// Runs the reactor until shut down.
pub(super) fn run(poll: Poll, shared: Arc<Shared>) {
    let mut r = Reactor {
        poll,
        shared,
        entries: Slab::new(),
        by_socket: HashMap::new(),
        connectors: HashMap::new(),
        timers: TimerQueue::default(),
        stalled: Vec::new(),
        next_gen: 1,
        shutting_down: false,
    };
    let mut events = Events::with_capacity(1024);
    loop {
        if r.shutting_down
            && r.connectors.is_empty()
            && !r.entries.iter().any(|(_, e)| matches!(e, Entry::Conn(_)))
        {
            break;
        }
        let now = Instant::now();
        let mut timeout = r
            .timers
            .next_deadline()
            .map(|t| t.saturating_duration_since(now));
        r.shared.sleep.announce_sleep();
        {
            let inbox = r.shared.inbox.lock();
            if !inbox.commands.is_empty() || !inbox.ready.is_empty() {
                timeout = Some(Duration::ZERO);
            }
        }
        let res = r.poll.poll(&mut events, timeout);
        r.shared.sleep.awake();
        if let Err(e) = res {
            if e.kind() != std::io::ErrorKind::Interrupted {
                tracing::error!("ferrozmq I/O thread: poll failed: {e}");
                break;
            }
        }
        let now = Instant::now();
        for ev in events.iter() {
            let token = ev.token();
            if token == WAKER {
                continue;
            }
            r.ready(token.0, now);
        }
        r.run_inbox(now);
        r.run_timers(Instant::now());
    }
    // Whatever is left (nothing, normally) is dropped here.
    let tokens: Vec<usize> = r.entries.iter().map(|(t, _)| t).collect();
    for t in tokens {
        r.close_entry(t, CloseReason::Local);
    }
}

impl Reactor {
    fn run_inbox(&mut self, now: Instant) {
        let (commands, ready) = {
            let mut inbox = self.shared.inbox.lock();
            (
                std::mem::take(&mut inbox.commands),
                std::mem::take(&mut inbox.ready),
            )
        };
        for cmd in commands {
            self.command(cmd, now);
        }
        for (token, wake) in ready {
            if let Some(Entry::Conn(_)) = self.entries.get(token.0) {
                self.drive_for(token.0, now, wake == Wake::Output);
            }
        }
    }

    /// Runs one command from a socket (one method per command).
    fn command(&mut self, cmd: Command, now: Instant) {
        match cmd {
            Command::Listen {
                socket,
                bind_id,
                listener,
                unlink,
            } => self.on_listen(socket, bind_id, listener, unlink, now),
            Command::Connect {
                socket,
                connect_id,
                target,
                peer,
            } => self.on_connect(socket, connect_id, target, peer, now),
            Command::Unbind { socket_id, bind_id } => self.on_unbind(socket_id, bind_id),
            Command::Disconnect {
                socket_id,
                connect_id,
            } => {
                if let Some(c) = self.remove_connector((socket_id, connect_id)) {
                    if let Some(t) = c.active {
                        self.close_entry(t, CloseReason::Local);
                    }
                }
            }
            Command::CloseSocket { socket, linger } => {
                socket.mark_engine_closed();
                self.close_socket(socket.id(), linger, now);
                self.stop_monitor_if_done(&socket, true);
            }
            #[cfg(test)]
            Command::Crash => panic!("reactor crash requested by a test"),
            Command::Resolved {
                socket_id,
                connect_id,
                result,
            } => self.on_resolved((socket_id, connect_id), result, now),
            Command::Shutdown => self.on_shutdown(),
        }
    }

    /// A bound listener: accept on it (unless its socket closed meanwhile).
    fn on_listen(
        &mut self,
        socket: SocketLink,
        bind_id: u64,
        mut listener: Listener,
        unlink: Option<PathBuf>,
        now: Instant,
    ) {
        let endpoint = listener_endpoint(&listener, unlink.as_deref());
        // A close that overtook this bind (another thread): nothing to listen for.
        // (`bind` reported it listening; the monitor has normally stopped already.)
        let registered = if socket.is_engine_closed() {
            false
        } else {
            let token = self.entries.vacant_key();
            self.poll
                .registry()
                .register(&mut listener, Token(token), Interest::READABLE)
                .map_err(|e| tracing::warn!("cannot register listener: {e}"))
                .is_ok()
        };
        if !registered {
            if let Some(path) = unlink {
                let _ = std::fs::remove_file(path);
            }
            socket.emit(|| MonitorEvent::new(MonitorEventKind::Closed, endpoint, None));
            return;
        }
        let socket_id = socket.id();
        let token = self.entries.insert(Entry::Listener(ListenerEntry {
            listener,
            socket,
            bind_id,
            unlink,
            endpoint,
            retry_at: None,
        }));
        self.index(socket_id).tokens.insert(token);
        self.accept(token, now);
    }

    /// An unbind: close that listener.
    fn on_unbind(&mut self, socket_id: u64, bind_id: u64) {
        let tokens = self.socket_tokens(socket_id);
        let found = tokens.into_iter().find(|&t| {
            matches!(self.entries.get(t),
                Some(Entry::Listener(l)) if l.bind_id == bind_id)
        });
        if let Some(t) = found {
            self.close_entry(t, CloseReason::Local);
        }
    }

    /// The context terminates: stop once every lingering connection is done.
    fn on_shutdown(&mut self) {
        self.shutting_down = true;
        // Only connects still flushing within their LINGER outlive the shutdown.
        let idle: Vec<_> = self
            .connectors
            .iter()
            .filter_map(|(k, c)| c.linger.is_none().then_some(*k))
            .collect();
        let dropped: Vec<_> = idle
            .into_iter()
            .filter_map(|k| self.remove_connector(k))
            .map(|c| c.socket)
            .collect();
        // Every socket was closed before the shutdown; a connection not lingering
        // has nothing left to wait for.
        let idle: Vec<usize> = self
            .entries
            .iter()
            .filter_map(|(t, e)| match e {
                Entry::Conn(c) if c.linger.is_none() => Some(t),
                _ => None,
            })
            .collect();
        for t in idle {
            self.close_entry(t, CloseReason::Local);
        }
        let listeners: Vec<usize> = self
            .entries
            .iter()
            .filter_map(|(t, e)| matches!(e, Entry::Listener(_)).then_some(t))
            .collect();
        for t in listeners {
            self.close_entry(t, CloseReason::Local);
        }
        for socket in dropped {
            self.stop_monitor_if_done(&socket, false);
        }
    }

    /// Reports `MonitorStopped` once a closed socket has nothing left in the engine: no
    /// listener, connector or connection (lingering ones included). `force` checks even with
    /// no monitor listening (a monitor made later still gets the stop); otherwise the scan is
    /// skipped for sockets nobody watches, whose monitor hub stops when the socket is dropped.
    fn stop_monitor_if_done(&self, socket: &SocketLink, force: bool) {
        if !socket.is_engine_closed() || !(force || socket.monitor_active()) {
            return;
        }
        if !self.by_socket.contains_key(&socket.id()) {
            socket.stop_monitors();
        }
    }

    /// The index entry of a socket, made on first use.
    fn index(&mut self, socket_id: u64) -> &mut SocketIndex {
        self.by_socket.entry(socket_id).or_default()
    }

    /// Forgets a token or connect of a socket; the socket's entry goes with its last one.
    fn unindex(&mut self, socket_id: u64, token: Option<usize>, connect: Option<u64>) {
        if let Some(index) = self.by_socket.get_mut(&socket_id) {
            if let Some(t) = token {
                index.tokens.remove(&t);
            }
            if let Some(c) = connect {
                index.connects.remove(&c);
            }
            if index.tokens.is_empty() && index.connects.is_empty() {
                self.by_socket.remove(&socket_id);
            }
        }
    }

    /// The tokens of a socket's listeners and connections.
    fn socket_tokens(&self, socket_id: u64) -> Vec<usize> {
        self.by_socket
            .get(&socket_id)
            .map(|i| i.tokens.iter().copied().collect())
            .unwrap_or_default()
    }

    /// A socket closed: listeners and connectors go now; connections flush for `linger`.
    fn close_socket(&mut self, socket_id: u64, linger: Option<Duration>, now: Instant) {
        // A LINGER too long to represent is as good as no deadline at all.
        let deadline = linger.and_then(|d| now.checked_add(d));
        let mut gone = Vec::new();
        let connects: Vec<u64> = self
            .by_socket
            .get(&socket_id)
            .map(|i| i.connects.iter().copied().collect())
            .unwrap_or_default();
        for connect_id in connects {
            let key = (socket_id, connect_id);
            let Some(c) = self.connectors.get_mut(&key) else {
                continue;
            };
            // A connect whose queue still holds messages keeps trying within LINGER, as
            // libzmq does; one with nothing queued goes now.
            let pending = c.peer.is_some_and(|p| c.socket.has_pending_output(p));
            if pending && linger != Some(Duration::ZERO) {
                c.linger = Some(deadline);
                // A retry due after the deadline (or never) is brought forward to it, when
                // the connect gives up: LINGER bounds the wait, not RECONNECT_IVL.
                if let (None, Some(deadline)) = (c.active, deadline) {
                    if c.timer_at.is_none_or(|t| t > deadline) {
                        let timer = Timer::Reconnect {
                            socket_id: key.0,
                            connect_id: key.1,
                        };
                        c.timer_at = self.timers.reschedule(timer, c.timer_at, Some(deadline));
                    }
                }
            } else {
                gone.push(key);
            }
        }
        for key in gone {
            self.remove_connector(key);
        }
        let tokens = self.socket_tokens(socket_id);
        for t in tokens {
            let keep = match self.entries.get_mut(t) {
                Some(Entry::Conn(c)) => {
                    c.linger = Some(deadline);
                    linger != Some(Duration::ZERO) && c.is_attached() && !c.flushed()
                }
                _ => false,
            };
            if keep {
                self.schedule(t);
            } else {
                self.close_entry(t, CloseReason::Local);
            }
        }
    }

    fn ready(&mut self, token: usize, now: Instant) {
        match self.entries.get(token) {
            Some(Entry::Listener(_)) => self.accept(token, now),
            Some(Entry::Conn(_)) => self.drive(token, now),
            None => {}
        }
    }

    fn accept(&mut self, token: usize, now: Instant) {
        loop {
            let Some(Entry::Listener(l)) = self.entries.get(token) else {
                return;
            };
            let socket = l.socket.clone();
            let opts = socket.options();
            match l.listener.accept(&opts) {
                Ok(stream) => {
                    let endpoint = l.endpoint.clone();
                    let gen = self.gen();
                    let conn =
                        Connection::new(gen, stream, socket, Origin::Accepted, None, endpoint, now);
                    conn.report_accepted();
                    if let Some(token) = self.add_conn(conn) {
                        self.drive(token, now);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // A connection reset before we took it: report it, take the next one.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => {
                    report_accept_failed(&socket, &l.endpoint, &e);
                }
                Err(e) => {
                    // EMFILE and friends: the backlog stays non-empty, so no new edge will
                    // come. Retry on a timer, or as soon as one of our connections closes.
                    tracing::warn!("accept failed: {e}");
                    report_accept_failed(&socket, &l.endpoint, &e);
                    self.stall_listener(token, now);
                    return;
                }
            }
        }
    }

    /// Schedules another accept on a listener that ran out of descriptors.
    fn stall_listener(&mut self, token: usize, now: Instant) {
        let Some(Entry::Listener(l)) = self.entries.get_mut(token) else {
            return;
        };
        if l.retry_at.is_none() {
            l.retry_at = self.timers.reschedule(
                Timer::Accept { token },
                None,
                now.checked_add(ACCEPT_RETRY),
            );
            self.stalled.push(token);
        }
    }

    /// Accepts again on a stalled listener (its timer fired, or descriptors were freed).
    fn retry_accept(&mut self, token: usize, now: Instant) {
        let Some(Entry::Listener(l)) = self.entries.get_mut(token) else {
            return;
        };
        self.timers
            .reschedule(Timer::Accept { token }, l.retry_at.take(), None);
        self.stalled.retain(|&t| t != token);
        self.accept(token, now);
    }

    /// Registers a connection; the caller drives it once its bookkeeping is in place.
    fn add_conn(&mut self, conn: Connection) -> Option<usize> {
        let entry = self.entries.vacant_entry();
        let token = entry.key();
        let mut conn = Box::new(conn);
        if let Err(e) = conn.register(self.poll.registry(), Token(token)) {
            tracing::warn!("cannot register connection: {e}");
            conn.report_close(&CloseReason::Io(e));
            return None;
        }
        let socket_id = conn.socket.id();
        entry.insert(Entry::Conn(conn));
        self.index(socket_id).tokens.insert(token);
        Some(token)
    }

    /// Lets a connection do all it can, then closes it or re-arms its timer.
    fn drive(&mut self, token: usize, now: Instant) {
        self.drive_for(token, now, false);
    }

    /// As [`Reactor::drive`]; `write_only` when only its outgoing pipe woke it.
    fn drive_for(&mut self, token: usize, now: Instant, write_only: bool) {
        let Some(Entry::Conn(c)) = self.entries.get_mut(token) else {
            return;
        };
        let was_connecting = c.is_connecting();
        let result = c.drive(now, &self.shared, Token(token), write_only);
        // A connect that completed starts its back-off over (libzmq makes a new connecter
        // for each attempt), even if the peer drops the connection at once, before the
        // handshake (in this very drive, possibly): so before the close below reschedules.
        if was_connecting && !c.is_connecting() {
            if let Origin::Connected { connect_id } = c.origin {
                let key = (c.socket.id(), connect_id);
                if let Some(conn) = self.connectors.get_mut(&key) {
                    let ivl = conn.socket.options().reconnect_ivl;
                    conn.backoff.reset(ivl);
                }
            }
        }
        if let Err(reason) = result {
            self.close_entry(token, reason);
            return;
        }
        let lingering_done = c.linger.is_some() && c.flushed();
        if lingering_done {
            self.close_entry(token, CloseReason::Local);
        } else {
            self.schedule(token);
        }
    }

    /// Moves the connection's timer to its next deadline (one live entry per connection).
    fn schedule(&mut self, token: usize) {
        let Some(Entry::Conn(c)) = self.entries.get_mut(token) else {
            return;
        };
        let timer = Timer::Conn { token, gen: c.gen };
        c.timer_at = self.timers.reschedule(timer, c.timer_at, c.deadline());
    }

    fn run_timers(&mut self, now: Instant) {
        while let Some((t, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::Conn { token, gen } => {
                    let Some(Entry::Conn(c)) = self.entries.get_mut(token) else {
                        continue;
                    };
                    if c.gen != gen || c.timer_at != Some(t) {
                        continue;
                    }
                    c.timer_at = None;
                    if c.linger.flatten().is_some_and(|d| d <= now) {
                        self.close_entry(token, CloseReason::Local);
                        continue;
                    }
                    if let Err(e) = c.handle_timeout(now) {
                        self.close_entry(token, CloseReason::Protocol(e));
                        continue;
                    }
                    self.drive(token, now);
                }
                Timer::Reconnect {
                    socket_id,
                    connect_id,
                } => {
                    let key = (socket_id, connect_id);
                    let Some(c) = self.connectors.get_mut(&key) else {
                        continue;
                    };
                    c.timer_at = None;
                    if c.active.is_none() {
                        self.start_connect(key, now);
                    }
                }
                Timer::Accept { token } => self.retry_accept(token, now),
            }
        }
    }

    fn close_entry(&mut self, token: usize, reason: CloseReason) {
        let Some(entry) = self.entries.try_remove(token) else {
            return;
        };
        let socket_id = match &entry {
            Entry::Listener(l) => l.socket.id(),
            Entry::Conn(c) => c.socket.id(),
        };
        self.unindex(socket_id, Some(token), None);
        match entry {
            Entry::Listener(mut l) => {
                let _ = self.poll.registry().deregister(&mut l.listener);
                self.timers
                    .reschedule(Timer::Accept { token }, l.retry_at, None);
                self.stalled.retain(|&t| t != token);
                let ListenerEntry {
                    listener,
                    socket,
                    unlink,
                    endpoint,
                    ..
                } = l;
                // Closed first, then reported: a monitor that sees `Closed` (or the stop)
                // may bind the address again at once.
                drop(listener);
                if let Some(path) = unlink {
                    let _ = std::fs::remove_file(path);
                }
                socket.emit(|| MonitorEvent::new(MonitorEventKind::Closed, endpoint, None));
                self.stop_monitor_if_done(&socket, false);
            }
            Entry::Conn(mut c) => {
                c.mark_closing();
                if matches!(reason, CloseReason::Protocol(_)) {
                    c.flush_best_effort();
                }
                tracing::debug!(peer = %c.peer_name(), "connection closed: {reason}");
                c.deregister(self.poll.registry());
                self.timers
                    .reschedule(Timer::Conn { token, gen: c.gen }, c.timer_at, None);
                c.detach(&reason);
                // Reported after the detach, so a monitor that sees the disconnection finds
                // the peer gone from the socket; before the reconnect, so `ConnectRetried`
                // follows `Disconnected`.
                c.report_close(&reason);
                if let Origin::Connected { connect_id } = c.origin {
                    let key = (c.socket.id(), connect_id);
                    if self
                        .connectors
                        .get(&key)
                        .is_some_and(|k| k.active == Some(token))
                    {
                        self.schedule_reconnect(key, Instant::now());
                    }
                }
                self.stop_monitor_if_done(&c.socket, false);
                // Its descriptor is free now: a listener that ran out may accept again.
                drop(c);
                let now = Instant::now();
                for token in std::mem::take(&mut self.stalled) {
                    self.retry_accept(token, now);
                }
            }
        }
    }

    fn gen(&mut self) -> u64 {
        self.next_gen += 1;
        self.next_gen
    }
}

/// The endpoint a listener is bound to (what `bind` returned).
fn listener_endpoint(listener: &Listener, path: Option<&std::path::Path>) -> String {
    match listener {
        Listener::Tcp(l) => l.local_addr().map(tcp_endpoint).unwrap_or_default(),
        Listener::Ipc(_) => path.map_or_else(String::new, |p| format!("ipc://{}", p.display())),
    }
}

/// The endpoint a connect goes to, as an endpoint string.
fn report_accept_failed(socket: &SocketLink, endpoint: &str, e: &std::io::Error) {
    socket.emit(|| {
        let kind = MonitorEventKind::AcceptFailed { error: e.kind() };
        MonitorEvent::new(kind, endpoint, None)
    });
}
