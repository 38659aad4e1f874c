//! [`SocketCore`]: the shared state behind every handle of one socket, where thread safety
//! lives.
//!
//! One mutex guards the socket's peers, its pattern strategy and its options; two condition
//! variables (readable, writable) and two waker lists park blocked threads and async tasks.
//! Pipes carry the messages with their own leaf locks, so the I/O thread never needs the
//! socket lock to move bytes: it takes it only when a peer attaches, detaches, or a queue
//! changes edge (empty -> non-empty, full -> room). Signals gathered under the lock are fired
//! after it is released (see `pipe.rs`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::task::Waker;

use bytes::Bytes;
use ferrozmq_proto::pattern::{FairQueue, PeerId, PeerMap};
use ferrozmq_proto::{SessionConfig, SocketType};
use parking_lot::{Condvar, Mutex, MutexGuard};

use super::pattern::{Pattern, Peer, PeerMeta, Refusal, Signals};
use super::pipe::{fire, Notify, Pipe};
pub(crate) use super::wait::Wait;
use super::wait::{Inbox, Outbox, WaitTimer};
use crate::context::ContextInner;
use crate::error::{OptionError, RecvError, SendError, SendErrorKind};
use crate::{Message, Options, SocketOption};

/// A pipe pair handed to a connection (or inproc link) on attach.
#[derive(Debug, Clone)]
pub(crate) struct Attachment {
    pub(crate) peer: PeerId,
    /// Messages the socket sends to this peer.
    pub(crate) out: Arc<Pipe>,
    /// Messages this peer sends to the socket.
    pub(crate) inp: Arc<Pipe>,
}

/// The socket itself; handles (`Socket`) and the engine hold it by `Arc`.
pub(crate) struct SocketCore {
    pub(crate) id: u64,
    pub(crate) socket_type: SocketType,
    pub(crate) ctx: Arc<ContextInner>,
    /// The context's I/O thread that serves this socket's listeners and connections.
    io: usize,
    me: Weak<SocketCore>,
    /// Set by the reactor once it has handled this socket's close: later binds and connects
    /// that raced the close are dropped. Only the reactor thread reads or writes it.
    pub(crate) engine_closed: std::sync::atomic::AtomicBool,
    /// Where monitor events go (see `monitor.rs`); has its own lock.
    pub(crate) monitor: crate::monitor::MonitorHub,
    state: Mutex<CoreState>,
    readable: Condvar,
    writable: Condvar,
}

pub(crate) struct CoreState {
    pub(crate) options: Options,
    pub(crate) closed: bool,
    peers: PeerMap<Peer>,
    next_peer: u64,
    pattern: Pattern,
    fq: FairQueue,
    recv_waiters: usize,
    send_waiters: usize,
    recv_wakers: Vec<Waker>,
    send_wakers: Vec<Waker>,
    /// Bound endpoints (as given and as resolved) -> bind id.
    pub(crate) binds: HashMap<String, u64>,
    /// Connected endpoints -> (connect id, persistent peer).
    /// Connected endpoints -> every (connect id, persistent peer) made to it.
    pub(crate) connects: HashMap<String, Vec<(u64, Option<PeerId>)>>,
    pub(crate) last_endpoint: Option<String>,
    pub(crate) next_endpoint_id: u64,
    /// Inproc links: our peer -> (other socket, its peer id for us).
    inproc_links: PeerMap<(Weak<SocketCore>, PeerId)>,
}

impl SocketCore {
    pub(crate) fn new(
        id: u64,
        socket_type: SocketType,
        ctx: Arc<ContextInner>,
        io: usize,
    ) -> Arc<SocketCore> {
        let options = Options::default();
        let pattern = Pattern::new(socket_type, &options);
        Arc::new_cyclic(|me| SocketCore {
            id,
            socket_type,
            ctx,
            io,
            me: me.clone(),
            engine_closed: std::sync::atomic::AtomicBool::new(false),
            monitor: crate::monitor::MonitorHub::new(),
            state: Mutex::new(CoreState {
                options,
                closed: false,
                peers: PeerMap::default(),
                next_peer: 1,
                pattern,
                fq: FairQueue::new(),
                recv_waiters: 0,
                send_waiters: 0,
                recv_wakers: Vec::new(),
                send_wakers: Vec::new(),
                binds: HashMap::new(),
                connects: HashMap::new(),
                last_endpoint: None,
                next_endpoint_id: 1,
                inproc_links: PeerMap::default(),
            }),
            readable: Condvar::new(),
            writable: Condvar::new(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, CoreState> {
        self.state.lock()
    }

    pub(crate) fn options(&self) -> Options {
        self.state.lock().options.clone()
    }

    pub(crate) fn set_option(&self, opt: SocketOption) -> Result<(), OptionError> {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        if st.closed {
            return Err(OptionError::Closed);
        }
        let st = &mut *st;
        if let SocketOption::Subscribe(topic) | SocketOption::Unsubscribe(topic) = &opt {
            let subscribe = matches!(opt, SocketOption::Subscribe(_));
            let mut signals = Signals::new();
            st.pattern
                .subscription(subscribe, topic, &st.peers, &st.options, &mut signals)?;
            drop(guard);
            fire(signals);
            return Ok(());
        }
        st.options.apply(opt)?;
        st.pattern.update_options(&st.options);
        Ok(())
    }

    /// The handshake settings for a new connection of this socket.
    pub(crate) fn session_config(&self) -> SessionConfig {
        let st = self.state.lock();
        let o = &st.options;
        let mut c = SessionConfig::new(self.socket_type);
        c.routing_id = o.routing_id.clone();
        c.max_msg_size = o.max_msg_size;
        c.handshake_timeout = o.handshake_ivl;
        c.heartbeat_ivl = o.heartbeat_ivl;
        c.heartbeat_ttl = o.heartbeat_ttl;
        c.heartbeat_timeout = o.heartbeat_timeout;
        c.legacy_protocols = o.legacy_protocols;
        c.mechanism = o.mechanism_config();
        c
    }

    /// The socket's ZAP_DOMAIN.
    pub(crate) fn zap_domain(&self) -> bytes::Bytes {
        self.state.lock().options.zap_domain.clone()
    }

    /// A strong reference to this socket, while any exists.
    pub(crate) fn arc(&self) -> Option<Arc<SocketCore>> {
        self.me.upgrade()
    }

    /// Whether messages are queued for this peer.
    pub(crate) fn has_pending_output(&self, peer: PeerId) -> bool {
        self.state
            .lock()
            .peers
            .get(&peer)
            .is_some_and(|p| !p.out.is_empty())
    }

    /// Messages queued for every peer that no connection has taken yet.
    pub(crate) fn queued_outgoing(&self) -> usize {
        self.state.lock().peers.values().map(|p| p.out.len()).sum()
    }

    /// The I/O thread serving this socket.
    pub(crate) fn reactor(&self) -> &crate::engine::Reactor {
        self.ctx.reactor(self.io)
    }

    /// Why calls on a closed socket fail: closed by the user, or by a failed I/O thread.
    pub(crate) fn closed_kind(&self) -> SendErrorKind {
        if self.ctx.has_failed() {
            SendErrorKind::EngineFailed
        } else {
            SendErrorKind::Closed
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    // ---- peers: called by `connect`, the engine and inproc ----

    /// Creates a peer and its pipes. `persistent` peers (made by `connect`) keep their queues
    /// across reconnections and are offered to outgoing strategies at once.
    pub(crate) fn create_peer(&self, st: &mut CoreState, persistent: bool) -> Attachment {
        let caps = self.socket_type.capabilities();
        let conflate_in = st.options.conflate && caps.conflates_incoming;
        let conflate_out = st.options.conflate && caps.conflates_outgoing;
        let out = if conflate_out {
            Pipe::conflating()
        } else {
            Pipe::new(st.options.sndhwm)
        };
        let inp = if conflate_in {
            Pipe::conflating()
        } else {
            Pipe::new(st.options.rcvhwm)
        };
        let peer = self.insert_peer(st, out.clone(), inp.clone(), persistent);
        Attachment { peer, out, inp }
    }

    /// Registers a peer over the given pipes, with this socket's signals on its ends.
    fn insert_peer(
        &self,
        st: &mut CoreState,
        out: Arc<Pipe>,
        inp: Arc<Pipe>,
        persistent: bool,
    ) -> PeerId {
        let id = PeerId(st.next_peer);
        st.next_peer += 1;
        out.set_writer(Some(Arc::new(Writable(self.me.clone()))));
        inp.set_reader(Some(Arc::new(Readable(self.me.clone(), id))));
        let assigned_id = if persistent {
            st.options.connect_routing_id.take()
        } else {
            None
        };
        st.peers.insert(
            id,
            Peer {
                out,
                inp,
                connected: false,
                persistent,
                routing_id: None,
                assigned_id,
                local: std::collections::VecDeque::new(),
            },
        );
        if persistent {
            st.pattern.on_peer_created(id);
        }
        id
    }

    /// The binding side of an inproc link: a new peer over the connector's pipes (our `out` is
    /// its incoming pipe and the other way round).
    pub(crate) fn attach_inproc(
        &self,
        meta: &PeerMeta,
        out: Arc<Pipe>,
        inp: Arc<Pipe>,
    ) -> Result<PeerId, Refusal> {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        if st.closed {
            return Err(Refusal::Closed);
        }
        if !self.socket_type.is_compatible(meta.socket_type) {
            return Err(Refusal::Incompatible);
        }
        let peer = self.insert_peer(st, out, inp, false);
        let att = st.peers.get(&peer).map(|p| Attachment {
            peer,
            out: p.out.clone(),
            inp: p.inp.clone(),
        });
        let Some(att) = att else {
            return Err(Refusal::Closed);
        };
        self.finish_attach(guard, att, meta, false).map(|a| a.peer)
    }

    /// A connection to a peer completed its handshake. `existing` is the persistent peer of a
    /// `connect`, if any; otherwise a peer is created.
    pub(crate) fn attach(
        &self,
        existing: Option<PeerId>,
        meta: &PeerMeta,
    ) -> Result<Attachment, Refusal> {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        // A closed socket still lets a connect that is flushing within LINGER attach.
        let known = existing.map(|p| st.peers.contains_key(&p));
        // The connect was dropped (disconnect) while its connection was being made.
        if known == Some(false) {
            return Err(Refusal::Closed);
        }
        // A closed socket still lets a connect that is flushing within LINGER attach.
        if st.closed && known != Some(true) {
            return Err(Refusal::Closed);
        }
        if !self.socket_type.is_compatible(meta.socket_type) {
            return Err(Refusal::Incompatible);
        }
        let att = match existing.and_then(|p| st.peers.get(&p).map(|peer| (p, peer))) {
            Some((p, peer)) => Attachment {
                peer: p,
                out: peer.out.clone(),
                inp: peer.inp.clone(),
            },
            None => self.create_peer(st, false),
        };
        let reuse = existing.is_some_and(|e| e == att.peer);
        self.finish_attach(guard, att, meta, reuse)
    }

    fn finish_attach(
        &self,
        mut guard: MutexGuard<'_, CoreState>,
        att: Attachment,
        meta: &PeerMeta,
        reused: bool,
    ) -> Result<Attachment, Refusal> {
        let st = &mut *guard;
        let mut signals = Signals::new();
        if st.pattern.is_send_only() {
            // Nothing will ever read what such a peer sends: discard it on arrival, so the
            // connection never stalls on a full queue and the peer goes away with it.
            signals.extend(att.inp.close_reader());
        }
        // ZMQ_CONNECT_ROUTING_ID: the id given at connect time wins over the peer's own.
        let assigned = st.peers.get(&att.peer).and_then(|p| p.assigned_id.clone());
        let meta = &PeerMeta {
            socket_type: meta.socket_type,
            routing_id: assigned.or_else(|| meta.routing_id.clone()),
        };
        match st
            .pattern
            .on_attach(att.peer, meta, &st.peers, &st.options, &mut signals)
        {
            Ok(rid) => {
                if let Some(peer) = st.peers.get_mut(&att.peer) {
                    peer.connected = true;
                    peer.routing_id = rid;
                }
            }
            Err(r) => {
                if !reused {
                    st.peers.remove(&att.peer);
                }
                drop(guard);
                fire(signals);
                return Err(r);
            }
        }
        if !att.inp.is_empty()
            && st
                .pattern
                .on_input(att.peer, &mut st.fq, &st.peers, &st.options, &mut signals)
            && st.recv_waiters > 0
        {
            self.readable.notify_one();
        }
        let mut wakers = self.wake_writers(st);
        wakers.append(&mut st.recv_wakers);
        drop(guard);
        fire(signals);
        wake_all(wakers);
        Ok(att)
    }

    /// The routing id the strategy gave `peer` when it attached (ROUTER, STREAM).
    pub(crate) fn routing_id_of(&self, peer: PeerId) -> Option<Bytes> {
        self.state.lock().peers.get(&peer)?.routing_id.clone()
    }

    /// The connection of a peer is gone. A persistent peer keeps its queues; any other peer is
    /// removed once the messages it already delivered have been received.
    pub(crate) fn detach(&self, peer: PeerId) {
        self.detach_with(peer, None);
    }

    /// As [`SocketCore::detach`], queueing `last` as the peer's final input in the same step
    /// (STREAM's disconnection notification): whoever receives it finds the peer gone.
    pub(crate) fn detach_with(&self, peer: PeerId, last: Option<Message>) {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let Some(p) = st.peers.get_mut(&peer) else {
            return;
        };
        p.connected = false;
        let remove = !p.persistent;
        let publisher = st.pattern.is_publisher();
        let mut signals = Signals::new();
        if let Some(last) = last {
            // The reader's signal fires after the lock is released, as every other.
            let (signal, _) = p.inp.push_batch(&mut VecDeque::from([last]));
            signals.extend(signal);
        }
        if publisher {
            // What the peer sent before it went still counts (its subscriptions, then their
            // removal with the peer).
            st.pattern
                .on_input(peer, &mut st.fq, &st.peers, &st.options, &mut signals);
        }
        st.pattern.on_detach(peer, remove, &st.options);
        if let Some(p) = st.peers.get(&peer) {
            if remove {
                signals.extend(p.out.close_reader());
                if !p.has_input() {
                    st.peers.remove(&peer);
                    st.fq.remove(peer);
                }
            }
        }
        st.inproc_links.remove(&peer);
        let wakers = self.wake_after_detach(st, publisher);
        drop(guard);
        fire(signals);
        wake_all(wakers);
    }

    /// Removes a persistent peer and its queues (`disconnect`).
    pub(crate) fn remove_peer(&self, peer: PeerId) {
        let mut signals = Signals::new();
        let (link, wakers) = {
            let mut guard = self.state.lock();
            let st = &mut *guard;
            let publisher = st.pattern.is_publisher();
            if publisher {
                st.pattern
                    .on_input(peer, &mut st.fq, &st.peers, &st.options, &mut signals);
            }
            st.pattern.on_detach(peer, true, &st.options);
            if let Some(p) = st.peers.remove(&peer) {
                signals.extend(p.out.close_reader());
            }
            st.fq.remove(peer);
            let link = st.inproc_links.remove(&peer);
            (link, self.wake_after_detach(st, publisher))
        };
        fire(signals);
        wake_all(wakers);
        if let Some((other, their_peer)) = link {
            if let Some(other) = other.upgrade() {
                other.detach(their_peer);
            }
        }
    }

    /// After a peer left: writers may proceed (a full peer is gone), and an XPUB may have
    /// unsubscriptions to deliver.
    fn wake_after_detach(&self, st: &mut CoreState, publisher: bool) -> Vec<Waker> {
        let mut wakers = self.wake_writers(st);
        if publisher && st.pattern.has_queued(&st.fq) {
            self.readable.notify_all();
            wakers.append(&mut st.recv_wakers);
        }
        wakers
    }

    pub(crate) fn add_inproc_link(
        &self,
        peer: PeerId,
        other: &Arc<SocketCore>,
        their_peer: PeerId,
    ) {
        self.state
            .lock()
            .inproc_links
            .insert(peer, (Arc::downgrade(other), their_peer));
    }

    fn wake_writers(&self, st: &mut CoreState) -> Vec<Waker> {
        if st.send_waiters > 0 {
            self.writable.notify_all();
        }
        std::mem::take(&mut st.send_wakers)
    }

    fn on_readable(&self, peer: PeerId) {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let mut signals = Signals::new();
        if !st
            .pattern
            .on_input(peer, &mut st.fq, &st.peers, &st.options, &mut signals)
        {
            drop(guard);
            fire(signals);
            return;
        }
        if st.recv_waiters > 0 {
            self.readable.notify_one();
        }
        let wakers = std::mem::take(&mut st.recv_wakers);
        drop(guard);
        fire(signals);
        wake_all(wakers);
    }

    fn on_writable(&self) {
        let mut st = self.state.lock();
        let wakers = self.wake_writers(&mut st);
        drop(st);
        wake_all(wakers);
    }

    // ---- the API paths ----

    /// Sends, waiting as `wait` allows.
    pub(crate) fn send(&self, msg: Message, wait: Wait) -> Result<(), SendError> {
        self.send_many(&mut Some(msg), wait)
    }

    /// Sends the messages from the front of `msgs` in order under one lock, waiting as `wait`
    /// allows (one time-out for the whole batch). On failure the message that failed is in
    /// the error and the ones after it stay in `msgs`.
    pub(crate) fn send_many(&self, msgs: &mut impl Outbox, wait: Wait) -> Result<(), SendError> {
        let mut signals = Signals::new();
        let mut st = self.state.lock();
        let mut timer = WaitTimer::new(wait.or_configured(st.options.sndtimeo));
        let mut sent = false;
        let result = 'batch: loop {
            let Some(mut msg) = msgs.take_next() else {
                break Ok(());
            };
            // An empty message travels as one empty frame (RFC 23), on every transport:
            // inproc passes messages as they are.
            if msg.is_empty() {
                msg.push_back(ferrozmq_proto::Frame::new());
            }
            loop {
                if st.closed || self.ctx.has_failed() {
                    break 'batch Err(SendError::new(self.closed_kind(), msg));
                }
                let s = &mut *st;
                match s.pattern.send(&s.peers, &s.options, msg, &mut signals) {
                    Ok(()) => {
                        sent = true;
                        break;
                    }
                    Err((SendErrorKind::WouldBlock, m)) => msg = m,
                    Err((kind, m)) => break 'batch Err(SendError::new(kind, m)),
                }
                // Readers of what this batch queued so far must hear of it before we wait
                // for room that only their reading makes.
                if !signals.is_empty() {
                    MutexGuard::unlocked(&mut st, || fire(signals.drain(..)));
                    continue;
                }
                st.send_waiters += 1;
                let outcome = timer.wait(&self.writable, &mut st);
                st.send_waiters -= 1;
                if let Some(kind) = outcome {
                    break 'batch Err(SendError::new(kind.into(), msg));
                }
            }
        };
        // A REP that replied may receive again (a poller may wait for that).
        let wakers = if sent && st.pattern.is_rep() {
            std::mem::take(&mut st.recv_wakers)
        } else {
            Vec::new()
        };
        drop(st);
        fire(signals);
        wake_all(wakers);
        result
    }

    /// Receives, waiting as `wait` allows.
    pub(crate) fn recv(&self, wait: Wait) -> Result<Message, RecvError> {
        let mut one = None;
        self.recv_many(&mut one, 1, wait)?;
        one.ok_or(RecvError::WouldBlock)
    }

    /// Receives up to `max` messages into `out` under one lock: waits as `wait` allows for
    /// the first, then takes what is ready without waiting. Returns how many were appended
    /// (at least one, unless `max` is 0: then none, at once).
    pub(crate) fn recv_many(
        &self,
        out: &mut impl Inbox,
        max: usize,
        wait: Wait,
    ) -> Result<usize, RecvError> {
        if max == 0 {
            return Ok(0);
        }
        let mut signals = Signals::new();
        let mut st = self.state.lock();
        let mut timer = WaitTimer::new(wait.or_configured(st.options.rcvtimeo));
        loop {
            if st.closed || self.ctx.has_failed() {
                return Err(match self.closed_kind() {
                    SendErrorKind::EngineFailed => RecvError::EngineFailed,
                    _ => RecvError::Closed,
                });
            }
            match self.recv_locked(&mut st, &mut signals)? {
                Some(m) => {
                    out.put(m);
                    let mut n = 1;
                    // More without waiting; a REQ (one reply per request) stops by itself.
                    while n < max {
                        match self.recv_locked(&mut st, &mut signals) {
                            Ok(Some(m)) => {
                                out.put(m);
                                n += 1;
                            }
                            Ok(None) | Err(_) => break,
                        }
                    }
                    // REQ with its reply, REP with a request: now they may send.
                    let wakers = if st.pattern.is_request_reply() {
                        std::mem::take(&mut st.send_wakers)
                    } else {
                        Vec::new()
                    };
                    drop(st);
                    fire(signals);
                    wake_all(wakers);
                    return Ok(n);
                }
                None if !signals.is_empty() => {
                    MutexGuard::unlocked(&mut st, || fire(signals.drain(..)));
                    continue;
                }
                None => {}
            }
            st.recv_waiters += 1;
            let outcome = timer.wait(&self.readable, &mut st);
            st.recv_waiters -= 1;
            if let Some(kind) = outcome {
                return Err(kind.into());
            }
        }
    }

    fn recv_locked(
        &self,
        st: &mut CoreState,
        signals: &mut Signals,
    ) -> Result<Option<Message>, RecvError> {
        let st = &mut *st;
        let got = st
            .pattern
            .recv(&mut st.fq, &mut st.peers, &st.options, signals)?;
        let Some((peer, msg)) = got else {
            return Ok(None);
        };
        // Reap a disconnected peer once its last delivered message has been taken.
        if let Some(p) = st.peers.get(&peer) {
            if !p.connected && !p.persistent && !p.has_input() {
                st.peers.remove(&peer);
                st.fq.remove(peer);
            }
        }
        // Another thread may be waiting and more input is ready: pass the baton.
        if st.recv_waiters > 0 && st.pattern.has_queued(&st.fq) {
            self.readable.notify_one();
        }
        Ok(Some(msg))
    }

    /// The poller's view: `(readable, writable)` now, for the kinds asked. If an asked kind is
    /// not ready, `waker` is registered to be woken when it may have become ready (checked and
    /// registered under one lock, so no wake-up falls between the two).
    pub(crate) fn poll_ready(
        &self,
        readable: bool,
        writable: bool,
        waker: Option<&Waker>,
    ) -> (bool, bool) {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        if st.closed {
            return (false, false);
        }
        let mut signals = Signals::new();
        let r = readable
            && st
                .pattern
                .can_recv(&mut st.fq, &mut st.peers, &st.options, &mut signals);
        let w = writable && st.pattern.can_send(&st.peers, &st.options);
        if let Some(waker) = waker {
            if readable && !r {
                register(&mut st.recv_wakers, waker);
            }
            if writable && !w {
                register(&mut st.send_wakers, waker);
            }
        }
        drop(guard);
        fire(signals);
        (r, w)
    }

    /// One non-blocking send attempt for a future; registers `waker` if it would block.
    pub(crate) fn poll_send(&self, msg: Message, waker: &Waker) -> Result<(), SendError> {
        match self.send(msg, Wait::No) {
            Err(e) if e.kind() == SendErrorKind::WouldBlock => {
                let mut st = self.state.lock();
                register(&mut st.send_wakers, waker);
                drop(st);
                // Re-check: room may have appeared between the attempt and the registration.
                self.send(e.into_message(), Wait::No)
            }
            other => other,
        }
    }

    /// One non-blocking receive attempt for a future; registers `waker` if it would block.
    pub(crate) fn poll_recv(&self, waker: &Waker) -> Result<Message, RecvError> {
        match self.recv(Wait::No) {
            Err(RecvError::WouldBlock) => {
                let mut st = self.state.lock();
                register(&mut st.recv_wakers, waker);
                drop(st);
                self.recv(Wait::No)
            }
            other => other,
        }
    }

    /// Closes the socket: blocked calls return `Closed`; connections flush for LINGER in the
    /// engine; inproc peers keep what was already queued for them.
    pub(crate) fn close(&self) {
        let (links, linger, wakers, released) = {
            let mut st = self.state.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            self.readable.notify_all();
            self.writable.notify_all();
            let mut wakers = std::mem::take(&mut st.recv_wakers);
            wakers.append(&mut st.send_wakers);
            // Release connections paused on a full queue, so they see their peer's EOF.
            let released: Vec<_> = st
                .peers
                .values()
                .filter_map(|p| p.inp.close_reader())
                .collect();
            let links: Vec<_> = st.inproc_links.drain().map(|(_, l)| l).collect();
            (links, st.options.linger, wakers, released)
        };
        wake_all(wakers);
        fire(released);
        for (other, their_peer) in links {
            if let Some(other) = other.upgrade() {
                other.detach(their_peer);
            }
        }
        self.ctx.socket_closed(self, linger);
    }

    /// The socket's ROUTING_ID, announced to inproc peers (tcp/ipc peers get it in READY).
    pub(crate) fn routing_id(&self) -> Bytes {
        self.state.lock().options.routing_id.clone()
    }
}

impl std::fmt::Debug for SocketCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketCore")
            .field("id", &self.id)
            .field("type", &self.socket_type)
            .finish()
    }
}

impl std::fmt::Debug for CoreState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreState")
            .field("peers", &self.peers.len())
            .field("closed", &self.closed)
            .finish()
    }
}

fn register(list: &mut Vec<Waker>, waker: &Waker) {
    if !list.iter().any(|w| w.will_wake(waker)) {
        list.push(waker.clone());
    }
}

fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// Signal: a peer's incoming pipe became non-empty.
struct Readable(Weak<SocketCore>, PeerId);
impl Notify for Readable {
    fn notify(&self) {
        if let Some(core) = self.0.upgrade() {
            core.on_readable(self.1);
        }
    }
}

/// Signal: an outgoing pipe has room again.
struct Writable(Weak<SocketCore>);
impl Notify for Writable {
    fn notify(&self) {
        if let Some(core) = self.0.upgrade() {
            core.on_writable();
        }
    }
}
