//! The reactor loop: poll, dispatch readiness to listeners and connections, run the inbox
//! (commands and pipe signals), fire timers; until shut down and every lingering connection
//! is done.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrozmq_proto::pattern::PeerId;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::connection::{CloseReason, Connection, Origin};
use super::{Command, Shared, WAKER};
use crate::socket::core::SocketCore;
use crate::transport::{Listener, Target};

enum Entry {
    Listener(ListenerEntry),
    Conn(Box<Connection>),
}

struct ListenerEntry {
    listener: Listener,
    socket: Arc<SocketCore>,
    bind_id: u64,
    unlink: Option<PathBuf>,
}

/// A `connect`: keeps one connection up, reconnecting with back-off.
struct Connector {
    socket: Arc<SocketCore>,
    target: Target,
    peer: Option<PeerId>,
    /// Current delay before the next attempt.
    ivl: Duration,
    /// The connection in progress or up.
    active: Option<usize>,
    /// Bumped to cancel a pending reconnect timer.
    gen: u64,
    /// Set once the socket closed with messages still queued for this connect: keep trying
    /// until they are flushed or this deadline passes (`Some(None)`: no deadline).
    linger: Option<Option<Instant>>,
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Timer {
    Conn {
        token: usize,
        gen: u64,
    },
    Reconnect {
        socket_id: u64,
        connect_id: u64,
        gen: u64,
    },
}

struct Reactor {
    poll: Poll,
    shared: Arc<Shared>,
    entries: Slab<Entry>,
    connectors: HashMap<(u64, u64), Connector>,
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    next_gen: u64,
    shutting_down: bool,
}

/// Runs the reactor until shut down.
pub(super) fn run(poll: Poll, shared: Arc<Shared>) {
    let mut r = Reactor {
        poll,
        shared,
        entries: Slab::new(),
        connectors: HashMap::new(),
        timers: BinaryHeap::new(),
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
            .peek()
            .map(|Reverse((t, _))| t.saturating_duration_since(now));
        r.shared.polling.store(true, Ordering::SeqCst);
        {
            let inbox = r.shared.inbox.lock();
            if !inbox.commands.is_empty() || !inbox.ready.is_empty() {
                timeout = Some(Duration::ZERO);
            }
        }
        let res = r.poll.poll(&mut events, timeout);
        r.shared.polling.store(false, Ordering::SeqCst);
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
        for token in ready {
            if let Some(Entry::Conn(_)) = self.entries.get(token.0) {
                self.drive(token.0, now);
            }
        }
    }

    fn command(&mut self, cmd: Command, now: Instant) {
        match cmd {
            Command::Listen {
                socket,
                bind_id,
                mut listener,
                unlink,
            } => {
                // A close that overtook this bind (another thread): nothing to listen for.
                if socket.engine_closed.load(Ordering::Relaxed) {
                    if let Some(path) = unlink {
                        let _ = std::fs::remove_file(path);
                    }
                    return;
                }
                let entry = self.entries.vacant_entry();
                let token = entry.key();
                if let Err(e) =
                    self.poll
                        .registry()
                        .register(&mut listener, Token(token), Interest::READABLE)
                {
                    tracing::warn!("cannot register listener: {e}");
                    return;
                }
                entry.insert(Entry::Listener(ListenerEntry {
                    listener,
                    socket,
                    bind_id,
                    unlink,
                }));
                self.accept(token, now);
            }
            Command::Connect {
                socket,
                connect_id,
                target,
                peer,
            } => {
                if socket.engine_closed.load(Ordering::Relaxed) {
                    return;
                }
                let ivl = socket
                    .options()
                    .reconnect_ivl
                    .unwrap_or(Duration::from_millis(100));
                let key = (socket.id, connect_id);
                self.connectors.insert(
                    key,
                    Connector {
                        socket,
                        target,
                        peer,
                        ivl,
                        active: None,
                        gen: 0,
                        linger: None,
                    },
                );
                self.start_connect(key, now);
            }
            Command::Unbind { socket_id, bind_id } => {
                let found = self.entries.iter().find_map(|(t, e)| match e {
                    Entry::Listener(l) if l.socket.id == socket_id && l.bind_id == bind_id => {
                        Some(t)
                    }
                    _ => None,
                });
                if let Some(t) = found {
                    self.close_entry(t, CloseReason::Local);
                }
            }
            Command::Disconnect {
                socket_id,
                connect_id,
            } => {
                if let Some(c) = self.connectors.remove(&(socket_id, connect_id)) {
                    if let Some(t) = c.active {
                        self.close_entry(t, CloseReason::Local);
                    }
                }
            }
            Command::CloseSocket { socket, linger } => {
                socket.engine_closed.store(true, Ordering::Relaxed);
                self.close_socket(socket.id, linger, now);
            }
            Command::Shutdown => {
                self.shutting_down = true;
                // Only connects still flushing within their LINGER outlive the shutdown.
                self.connectors.retain(|_, c| c.linger.is_some());
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
            }
        }
    }

    /// A socket closed: listeners and connectors go now; connections flush for `linger`.
    fn close_socket(&mut self, socket_id: u64, linger: Option<Duration>, now: Instant) {
        let deadline = linger.map(|d| now + d);
        self.connectors.retain(|(s, _), c| {
            if *s != socket_id {
                return true;
            }
            // A connect whose queue still holds messages keeps trying within LINGER, as
            // libzmq does; one with nothing queued goes now.
            let pending = c.peer.is_some_and(|p| c.socket.has_pending_output(p));
            if pending && linger != Some(Duration::ZERO) {
                c.linger = Some(deadline);
                true
            } else {
                false
            }
        });
        let tokens: Vec<usize> = self
            .entries
            .iter()
            .filter_map(|(t, e)| match e {
                Entry::Listener(l) if l.socket.id == socket_id => Some(t),
                Entry::Conn(c) if c.socket.id == socket_id => Some(t),
                _ => None,
            })
            .collect();
        for t in tokens {
            let keep = match self.entries.get_mut(t) {
                Some(Entry::Conn(c)) => {
                    c.linger = Some(linger.map(|d| now + d));
                    linger != Some(Duration::ZERO) && c.att.is_some() && !c.flushed()
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
                    let gen = self.gen();
                    let conn =
                        Connection::new(gen, stream, socket, Origin::Accepted, None, false, now);
                    if let Some(token) = self.add_conn(conn) {
                        self.drive(token, now);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                // A connection reset before we took it: take the next one.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::Interrupted | std::io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    // EMFILE and friends: skip this round; the next readiness edge retries.
                    tracing::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Registers a connection; the caller drives it once its bookkeeping is in place.
    fn add_conn(&mut self, conn: Connection) -> Option<usize> {
        let entry = self.entries.vacant_entry();
        let token = entry.key();
        let mut conn = Box::new(conn);
        if let Err(e) = self.poll.registry().register(
            &mut conn.stream,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            tracing::warn!("cannot register connection: {e}");
            return None;
        }
        entry.insert(Entry::Conn(conn));
        Some(token)
    }

    /// Lets a connection do all it can, then closes it or re-arms its timer.
    fn drive(&mut self, token: usize, now: Instant) {
        let Some(Entry::Conn(c)) = self.entries.get_mut(token) else {
            return;
        };
        let was_attached = c.att.is_some();
        let result = c.drive(now, &self.shared, Token(token));
        if let Err(reason) = result {
            self.close_entry(token, reason);
            return;
        }
        let lingering_done = c.linger.is_some() && c.flushed();
        if !was_attached && c.att.is_some() {
            if let Origin::Connected { connect_id } = c.origin {
                let key = (c.socket.id, connect_id);
                if let Some(conn) = self.connectors.get_mut(&key) {
                    conn.ivl = conn
                        .socket
                        .options()
                        .reconnect_ivl
                        .unwrap_or(Duration::from_millis(100));
                }
            }
        }
        if lingering_done {
            self.close_entry(token, CloseReason::Local);
        } else {
            self.schedule(token);
        }
    }

    /// Puts the connection's next deadline in the timer heap if it changed.
    fn schedule(&mut self, token: usize) {
        let Some(Entry::Conn(c)) = self.entries.get_mut(token) else {
            return;
        };
        let Some(t) = c.deadline() else { return };
        if c.timer_at != Some(t) {
            c.timer_at = Some(t);
            self.timers
                .push(Reverse((t, Timer::Conn { token, gen: c.gen })));
        }
    }

    fn run_timers(&mut self, now: Instant) {
        while let Some(Reverse((t, timer))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
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
                    if let Err(e) = c.session.handle_timeout(now) {
                        self.close_entry(token, CloseReason::Protocol(e));
                        continue;
                    }
                    self.drive(token, now);
                }
                Timer::Reconnect {
                    socket_id,
                    connect_id,
                    gen,
                } => {
                    let key = (socket_id, connect_id);
                    if self
                        .connectors
                        .get(&key)
                        .is_some_and(|c| c.gen == gen && c.active.is_none())
                    {
                        self.start_connect(key, now);
                    }
                }
            }
        }
    }

    fn start_connect(&mut self, key: (u64, u64), now: Instant) {
        let Some(c) = self.connectors.get(&key) else {
            return;
        };
        if c.linger.flatten().is_some_and(|d| d <= now) {
            self.connectors.remove(&key);
            return;
        }
        let socket = c.socket.clone();
        let peer = c.peer;
        let linger = c.linger;
        let opts = socket.options();
        match c.target.connect(&opts) {
            Ok(stream) => {
                let gen = self.gen();
                let conn = Connection::new(
                    gen,
                    stream,
                    socket,
                    Origin::Connected { connect_id: key.1 },
                    peer,
                    true,
                    now,
                );
                let mut conn = conn;
                conn.linger = linger;
                let token = self.add_conn(conn);
                if let Some(c) = self.connectors.get_mut(&key) {
                    c.active = token;
                }
                match token {
                    // Driven only now, so that a connect refused at once finds `active` set
                    // and schedules its retry.
                    Some(t) => self.drive(t, now),
                    None => self.schedule_reconnect(key, now),
                }
            }
            Err(e) => {
                tracing::debug!("connect failed: {e}");
                self.schedule_reconnect(key, now);
            }
        }
    }

    /// Schedules the next attempt with exponential back-off (RECONNECT_IVL, RECONNECT_IVL_MAX).
    fn schedule_reconnect(&mut self, key: (u64, u64), now: Instant) {
        let Some(c) = self.connectors.get_mut(&key) else {
            return;
        };
        c.active = None;
        let opts = c.socket.options();
        let flushed = c.peer.is_none_or(|p| !c.socket.has_pending_output(p));
        let expired = c.linger.flatten().is_some_and(|d| d <= now);
        // The reactor's own view of "closed" is `linger` (set when it handles CloseSocket; the
        // socket's flag may already be up before that command arrives). A closed socket's
        // connect lives on only while LINGER lets it flush its queue.
        let retry = opts.reconnect_ivl.is_some()
            && match c.linger {
                None => !self.shutting_down,
                Some(_) => !flushed && !expired,
            };
        if !retry {
            self.connectors.remove(&key);
            return;
        }
        let mut delay = c.ivl;
        if let Some(deadline) = c.linger.flatten() {
            delay = delay.min(deadline.saturating_duration_since(now));
        }
        if let Some(max) = opts.reconnect_ivl_max {
            if max > c.ivl {
                c.ivl = (c.ivl * 2).min(max);
            }
        }
        c.gen += 1;
        let gen = c.gen;
        let timer = Timer::Reconnect {
            socket_id: key.0,
            connect_id: key.1,
            gen,
        };
        self.timers.push(Reverse((now + delay, timer)));
    }

    fn close_entry(&mut self, token: usize, reason: CloseReason) {
        let Some(entry) = self.entries.try_remove(token) else {
            return;
        };
        match entry {
            Entry::Listener(mut l) => {
                let _ = self.poll.registry().deregister(&mut l.listener);
                if let Some(path) = l.unlink {
                    let _ = std::fs::remove_file(path);
                }
            }
            Entry::Conn(mut c) => {
                if matches!(reason, CloseReason::Protocol(_)) {
                    c.flush_best_effort();
                }
                tracing::debug!(peer = %c.peer_name, "connection closed: {reason}");
                let _ = self.poll.registry().deregister(&mut c.stream);
                c.detach();
                if let Origin::Connected { connect_id } = c.origin {
                    let key = (c.socket.id, connect_id);
                    if self
                        .connectors
                        .get(&key)
                        .is_some_and(|k| k.active == Some(token))
                    {
                        self.schedule_reconnect(key, Instant::now());
                    }
                }
            }
        }
    }

    fn gen(&mut self) -> u64 {
        self.next_gen += 1;
        self.next_gen
    }
}
