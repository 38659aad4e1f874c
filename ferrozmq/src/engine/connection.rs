//! One tcp/ipc connection inside the reactor: a stream, its sans-IO [`Session`], and once the
//! handshake is done, the socket's pipe pair for this peer.
//!
//! A connection reports its own monitor events as they happen (connect delayed, connected,
//! handshake succeeded); how it ended ([`Connection::report_close`]) is reported by the
//! reactor when it closes it.
//!
//! Reads take 4 KiB to 512 KiB at a time (following the traffic) and every complete message in them goes to the socket in
//! one batch; writes encode as many queued messages as fit in a 256 KiB batch and hand them to
//! the kernel in as few calls as possible.
//!
//! A STREAM socket's connection runs a raw session instead of ZMTP (see `wire_session.rs`):
//! the same reads, writes and batching, with the routing id put in front of what it reads and
//! (ZMQ_STREAM_NOTIFY) an empty message delivered when the peer goes.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ferrozmq_proto::codec::Metadata;
use ferrozmq_proto::mechanism::{ZapReply, ZapRequest};
use ferrozmq_proto::pattern::PeerId;
use ferrozmq_proto::PeerInfo;
use ferrozmq_proto::{RawSession, Session, SessionError, SessionEvent, Subscriptions};

use super::wire_session::WireSession;
use super::Shared;
use crate::monitor::{
    DisconnectReason, HandshakeFailure, MonitorEvent, MonitorEventKind, PeerRefusal,
};
use crate::socket::link::{Notify, PeerLink, PeerMeta, Refusal, Signal, SocketLink, ZapSlot};
use crate::transport::Stream;
use crate::Message;

/// Bytes asked of the kernel per read.
/// Largest read (and read-buffer chunk). Large enough that a stream of 64 KiB frames is read
/// several frames per chunk: a frame that straddles the end of a chunk is copied into the
/// next one, so chunks barely larger than the frames would copy nearly every frame.
const READ_CHUNK: usize = 512 * 1024;
/// Below this much free room, a fresh read chunk is reserved.
const MIN_READ: usize = 4 * 1024;
/// Encoded bytes gathered before a write.
const WRITE_BATCH: usize = 256 * 1024;
/// Runs of output handed to one vectored write.
const MAX_RUNS: usize = 64;
/// Messages taken from the pipe per lock.
const POP_BATCH: usize = 256;
/// Messages decoded per step when the socket's queue has no high-water mark.
const DECODE_STEP: usize = 1024;
/// The reason given to a handshake whose ZAP request could not be sent.
const ZAP_UNREACHABLE: &str = "ZAP handler unreachable";
/// A batch buffer that grew past this many messages for a burst is given back once empty.
const BATCH_KEEP: usize = 1024;

/// Why a connection ended.
#[derive(Debug)]
pub(super) enum CloseReason {
    /// The peer closed the stream.
    Eof,
    /// A socket error.
    Io(io::Error),
    /// The protocol failed (bad input, handshake or heartbeat time-out).
    Protocol(SessionError),
    /// The socket refused the peer (PAIR taken, duplicate routing id, closed).
    Refused(Refusal),
    /// Closed on purpose (linger done, socket closed, disconnect).
    Local,
}

impl CloseReason {
    /// How a connection that ended this way before its handshake completed failed; `None`
    /// for a close on our side (which is no handshake failure).
    fn handshake_failure(&self) -> Option<HandshakeFailure> {
        match self {
            CloseReason::Protocol(e) if e.is_auth() => Some(HandshakeFailure::Auth(e.clone())),
            // A silent peer broke no rule (libzmq reports its time-out as "no detail" too).
            CloseReason::Protocol(SessionError::HandshakeTimeout) => {
                Some(HandshakeFailure::NoDetail)
            }
            CloseReason::Protocol(e) => Some(HandshakeFailure::Protocol(e.clone())),
            CloseReason::Eof | CloseReason::Io(_) => Some(HandshakeFailure::NoDetail),
            // Refusals come after the handshake; a local close is not a failure.
            CloseReason::Refused(_) | CloseReason::Local => None,
        }
    }

    /// The public form of this reason.
    fn disconnect_reason(&self) -> DisconnectReason {
        match self {
            CloseReason::Eof => DisconnectReason::PeerClosed,
            CloseReason::Io(e) => DisconnectReason::Io(e.kind()),
            CloseReason::Protocol(e) => DisconnectReason::Protocol(e.clone()),
            CloseReason::Refused(r) => DisconnectReason::Refused(match r {
                Refusal::PairTaken => PeerRefusal::PairTaken,
                Refusal::DuplicateId => PeerRefusal::DuplicateRoutingId,
                Refusal::Incompatible => PeerRefusal::IncompatibleSocketType,
                Refusal::Closed => PeerRefusal::SocketClosed,
            }),
            CloseReason::Local => DisconnectReason::Local,
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Eof => f.write_str("closed by peer"),
            CloseReason::Io(e) => write!(f, "socket error: {e}"),
            CloseReason::Protocol(e) => write!(f, "protocol error: {e}"),
            CloseReason::Refused(r) => write!(f, "peer refused: {r:?}"),
            CloseReason::Local => f.write_str("closed locally"),
        }
    }
}

/// How the connection came to be.
#[derive(Debug, Clone, Copy)]
pub(super) enum Origin {
    /// Accepted on a listener of a `bind`.
    Accepted,
    /// Made by a `connect` (key into the reactor's connectors).
    Connected { connect_id: u64 },
}

/// A connection as the reactor keeps it: its place in the reactor (generation, origin,
/// linger, timer) around the I/O state, which sits behind a mutex so that a lockstep socket's
/// sending thread may write its message out itself (see [`DirectOutput`]). The reactor
/// thread is the only one that ever waits for that mutex; sending threads only try it.
pub(super) struct Connection {
    pub(super) gen: u64,
    pub(super) origin: Origin,
    pub(super) socket: SocketLink,
    /// Set once the socket closed: close when flushed or at this deadline (`None`: never).
    pub(super) linger: Option<Option<Instant>>,
    /// The deadline last put in the timer heap for this connection.
    pub(super) timer_at: Option<Instant>,
    wire: Arc<Mutex<Wire>>,
}

/// The I/O state of a connection: stream, session, buffers, and the peer's pipes.
struct Wire {
    stream: Stream,
    socket: SocketLink,
    /// The persistent peer of the `connect`, if any.
    existing_peer: Option<PeerId>,
    connecting: bool,
    session: WireSession,
    /// STREAM: the routing id the socket gave this peer, put in front of every message read.
    raw_id: Option<Bytes>,
    /// STREAM with ZMQ_STREAM_NOTIFY: tell the socket when the peer goes.
    raw_notify: bool,
    rbuf: BytesMut,
    att: Option<PeerLink>,
    read_paused: bool,
    batch_in: VecDeque<Message>,
    batch_out: VecDeque<Message>,
    /// The peer's address, for logs and monitor events (empty if unknown).
    peer_name: String,
    /// The endpoint of the listener or connect this connection belongs to.
    endpoint: String,
    /// The stream is connected (accepted, or its connect completed): its end is reported.
    established: bool,
    /// `ConnectDelayed` was reported.
    delay_reported: bool,
    /// The handshake completed.
    handshaken: bool,
    /// How many bytes the next read asks for.
    read_hint: usize,
    /// A publisher (PUB, XPUB): incoming subscriptions go to the socket.
    subscriptions_in: bool,
    /// A subscriber (SUB, XSUB): outgoing 0x01/0x00 messages are subscriptions, encoded in the
    /// form the peer's ZMTP version calls for.
    subscriptions_out: bool,
    /// REQ, REP or STREAM: the sending thread writes its message out itself when it can.
    direct: bool,
    /// This wire, for the [`DirectOutput`] signal it hands the socket.
    me: Weak<Mutex<Wire>>,
    /// A write made by a sending thread failed: the reactor closes the connection with this.
    failed: Option<CloseReason>,
    /// The reactor found the connection dead or is closing it: no direct writes any more.
    closing: bool,
    /// The `tracing` span of this connection (`endpoint`, `peer`, `origin`): the reactor's
    /// work on it and its handshake's outcome are logged inside it.
    span: tracing::Span,
    /// The handshake waits for this ZAP reply (RFC 27); its arrival wakes the connection.
    zap_wait: Option<Arc<ZapSlot>>,
    /// Properties every received message carries (PLAIN, CURVE, ZAP connections only).
    properties: Option<Arc<Metadata>>,
}

impl Connection {
    pub(super) fn new(
        gen: u64,
        stream: Stream,
        socket: SocketLink,
        origin: Origin,
        existing_peer: Option<PeerId>,
        endpoint: String,
        now: Instant,
    ) -> Connection {
        // An accepted stream is connected; a connect completes later.
        let connecting = matches!(origin, Origin::Connected { .. });
        let peer_name = stream.peer_name();
        let socket_type = socket.socket_type();
        let raw_notify = socket_type.capabilities().raw && socket.options().stream_notify;
        let session = if socket_type.capabilities().raw {
            WireSession::Raw(RawSession::new(raw_notify))
        } else {
            WireSession::Zmtp(Session::new(socket.session_config(&peer_name), now))
        };
        let span = tracing::debug_span!(
            "connection",
            endpoint = %endpoint,
            peer = tracing::field::Empty,
            origin = if connecting { "connected" } else { "accepted" },
        );
        if !peer_name.is_empty() {
            span.record("peer", peer_name.as_str());
        }
        let wire = Wire {
            span,
            raw_id: None,
            raw_notify,
            // STREAM too: an echo-style server sends about once per read, to many peers, and a
            // reactor wake-up per message was its main cost.
            direct: socket_type.capabilities().lockstep || socket_type.capabilities().raw,
            me: Weak::new(),
            failed: None,
            closing: false,
            zap_wait: None,
            properties: None,
            subscriptions_in: socket_type.capabilities().subscriptions == Subscriptions::Publisher,
            subscriptions_out: socket_type.capabilities().subscriptions
                == Subscriptions::Subscriber,
            peer_name,
            endpoint,
            established: !connecting,
            delay_reported: false,
            handshaken: false,
            read_hint: MIN_READ,
            stream,
            socket: socket.clone(),
            existing_peer,
            connecting,
            session,
            rbuf: BytesMut::new(),
            att: None,
            read_paused: false,
            batch_in: VecDeque::new(),
            batch_out: VecDeque::new(),
        };
        let wire = Arc::new(Mutex::new(wire));
        wire.lock().me = Arc::downgrade(&wire);
        Connection {
            gen,
            origin,
            socket,
            linger: None,
            timer_at: None,
            wire,
        }
    }

    /// Does all the work the connection can do now (see [`Wire::drive`]).
    pub(super) fn drive(
        &mut self,
        now: Instant,
        shared: &Arc<Shared>,
        token: mio::Token,
        write_only: bool,
    ) -> Result<(), CloseReason> {
        let mut w = self.wire.lock();
        let result = w.drive(now, shared, token, write_only);
        // Marked in the same hold that found the error: from here on no sending thread may
        // take messages off the pipe for a connection about to close (they stay queued for
        // the next connection of a connect's persistent peer).
        w.closing |= result.is_err();
        result
    }

    /// The reactor is closing the connection: sending threads leave it alone from now on.
    pub(super) fn mark_closing(&self) {
        self.wire.lock().closing = true;
    }

    /// Nothing left to send (see [`Wire::flushed`]).
    pub(super) fn flushed(&self) -> bool {
        self.wire.lock().flushed()
    }

    /// Best-effort write of what is pending (an ERROR command) before closing.
    pub(super) fn flush_best_effort(&mut self) {
        self.wire.lock().flush_best_effort();
    }

    /// The earliest deadline of this connection: session timers or linger.
    pub(super) fn deadline(&self) -> Option<Instant> {
        let t = self.wire.lock().session.poll_timeout();
        match (t, self.linger.flatten()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Reports the connection as accepted by a listener.
    pub(super) fn report_accepted(&self) {
        self.wire.lock().emit(MonitorEventKind::Accepted, true);
    }

    /// Reports how the connection ended (see [`Wire::report_close`]).
    pub(super) fn report_close(&self, reason: &CloseReason) {
        let wire = self.wire.lock();
        let _in_span = wire.span.enter();
        match reason.handshake_failure() {
            Some(failure) if wire.established && !wire.handshaken => {
                tracing::debug!(%failure, "handshake failed");
            }
            _ => tracing::debug!(%reason, "connection closed"),
        }
        wire.report_close(reason);
    }

    /// True while a connect has not completed.
    pub(super) fn is_connecting(&self) -> bool {
        self.wire.lock().connecting
    }

    /// True once the handshake completed and the socket took the peer.
    pub(super) fn is_attached(&self) -> bool {
        self.wire.lock().att.is_some()
    }

    /// Runs the session's timers (handshake time-out, heartbeats).
    pub(super) fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        let mut w = self.wire.lock();
        let result = w.session.handle_timeout(now);
        w.closing |= result.is_err();
        result
    }

    /// The peer's address, for logs (empty if unknown).
    pub(super) fn peer_name(&self) -> String {
        self.wire.lock().peer_name.clone()
    }

    /// Registers the stream with the reactor's poll under `token`.
    pub(super) fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
    ) -> io::Result<()> {
        registry.register(
            &mut self.wire.lock().stream,
            token,
            mio::Interest::READABLE | mio::Interest::WRITABLE,
        )
    }

    /// Takes the stream out of the reactor's poll.
    pub(super) fn deregister(&mut self, registry: &mio::Registry) {
        let _ = registry.deregister(&mut self.wire.lock().stream);
    }

    /// Detaches from the socket (called once, when the connection closes). A STREAM peer
    /// that went (not one closed on our side) is reported first, as an empty message, as
    /// libzmq does with ZMQ_STREAM_NOTIFY.
    pub(super) fn detach(&mut self, reason: &CloseReason) {
        let mut wire = self.wire.lock();
        let notify = wire.raw_notify && !matches!(reason, CloseReason::Local);
        let id = wire.raw_id.clone();
        if let Some(att) = wire.att.take() {
            let gone = id.filter(|_| notify).map(|id| {
                let mut gone = Message::single(Bytes::new());
                gone.push_front(id);
                gone
            });
            att.detach_with(gone);
        }
    }
}

impl Wire {
    /// Does all the work the connection can do now: finish a connect, read, write. With
    /// `write_only` (its outgoing pipe woke it) only writes: a read would find nothing new,
    /// since the kernel reports new input as an event of its own.
    fn drive(
        &mut self,
        now: Instant,
        shared: &Arc<Shared>,
        token: mio::Token,
        write_only: bool,
    ) -> Result<(), CloseReason> {
        if let Some(reason) = self.failed.take() {
            return Err(reason);
        }
        if write_only && !self.connecting {
            return self.write();
        }
        if self.connecting {
            match self.stream.connect_finished() {
                Ok(true) => self.on_connected(),
                Ok(false) => {
                    if !self.delay_reported {
                        self.delay_reported = true;
                        self.emit(MonitorEventKind::ConnectDelayed, false);
                    }
                    return Ok(());
                }
                Err(e) => return Err(CloseReason::Io(e)),
            }
        }
        if self.session.is_raw() && self.att.is_none() {
            // A raw peer has no handshake: it is ready as soon as it is connected.
            self.take_events(shared, token)?;
        }
        if self.read_paused && self.att.as_ref().is_some_and(|a| !a.input_full()) {
            self.read_paused = false;
        }
        self.read(now, shared, token)?;
        self.write()
    }

    /// Reads until the kernel has nothing more (edge-triggered) or the socket's queue is full.
    ///
    /// Input is decoded no further ahead than the room left below the socket's RCVHWM: what
    /// does not fit stays as bytes in the read buffer (at most one read chunk), and reading
    /// stops until the socket drains the queue. One read of tiny messages can therefore never
    /// put more than RCVHWM messages in memory.
    fn read(
        &mut self,
        now: Instant,
        shared: &Arc<Shared>,
        token: mio::Token,
    ) -> Result<(), CloseReason> {
        // Input an earlier pause left undecoded comes first.
        self.decode(now, shared, token)?;
        while !self.read_paused {
            // Fill one buffer densely: allocate a new chunk only when little room is left, so
            // the frames split off it (and still queued) share few allocations.
            // The chunk follows the traffic (4 to 512 KiB), so a quiet connection holds little.
            if self.rbuf.capacity() - self.rbuf.len() < MIN_READ {
                self.rbuf.reserve(self.read_hint);
            }
            let start = self.rbuf.len();
            // Zero only about what the next read is likely to bring (twice the last one,
            // 4 KiB to 512 KiB): `resize` must initialise what `read` is given, and zeroing a
            // large free room for a few small messages was the top cost of small-message
            // throughput.
            let want = self.read_hint.min(self.rbuf.capacity() - start);
            self.rbuf.resize(start + want, 0);
            let n = match self
                .stream
                .read(self.rbuf.get_mut(start..).unwrap_or_default())
            {
                Ok(0) => {
                    self.rbuf.truncate(start);
                    return Err(CloseReason::Eof);
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.rbuf.truncate(start);
                    // A connection with nothing buffered lets its read buffer go: thousands
                    // of idle peers then cost no read buffers at all, and a chunk grown for a
                    // burst (up to 512 KiB) is freed as soon as the messages cut from it are.
                    // The next read asks for half as much (busy streams double it again).
                    if self.rbuf.is_empty() {
                        self.rbuf = BytesMut::new();
                        self.read_hint = (self.read_hint / 2).max(MIN_READ);
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.rbuf.truncate(start);
                    continue;
                }
                Err(e) => return Err(CloseReason::Io(e)),
            };
            self.rbuf.truncate(start + n);
            self.read_hint = if n == want {
                (want * 2).min(READ_CHUNK)
            } else {
                (n * 2).clamp(MIN_READ, READ_CHUNK)
            };
            self.decode(now, shared, token)?;
        }
        Ok(())
    }

    /// Decodes buffered input into the socket's queue, as far as its room allows; pauses
    /// reading when the queue is full.
    fn decode(
        &mut self,
        now: Instant,
        shared: &Arc<Shared>,
        token: mio::Token,
    ) -> Result<(), CloseReason> {
        self.resume_zap(now, shared, token)?;
        while !self.rbuf.is_empty() {
            let budget = self.input_budget();
            if budget == 0 {
                self.read_paused = true;
                return Ok(());
            }
            if let Err(e) = self
                .session
                .handle_input_limited(&mut self.rbuf, now, budget)
            {
                // What came before the fault still counts (as with libzmq): a completed
                // handshake, messages already decoded.
                let _ = self.take_events(shared, token);
                return Err(CloseReason::Protocol(e));
            }
            let taken = self.take_events(shared, token)?;
            // Fewer events than allowed: the session ran out of complete input.
            if taken < budget || self.read_paused {
                return Ok(());
            }
        }
        Ok(())
    }

    /// How many events the session may decode now: the room left below the incoming queue's
    /// high-water mark; one before the handshake completes (the READY, after which the queue
    /// is known).
    fn input_budget(&self) -> usize {
        match &self.att {
            None => 1,
            Some(att) => att.room().unwrap_or(DECODE_STEP),
        }
    }

    /// Moves session events to the socket: attach on Ready, messages in one batch. Returns
    /// how many events there were.
    fn take_events(
        &mut self,
        shared: &Arc<Shared>,
        token: mio::Token,
    ) -> Result<usize, CloseReason> {
        let mut taken = 0;
        while let Some(ev) = self.session.poll_event() {
            taken += 1;
            match ev {
                SessionEvent::Ready(info) => {
                    self.properties = connection_properties(&info, &self.peer_name);
                    self.handshaken = true;
                    tracing::debug!(parent: &self.span, "handshake succeeded");
                    let meta = PeerMeta {
                        socket_type: info.socket_type,
                        routing_id: info.routing_id,
                    };
                    let mut output = super::conn_signal(shared, token, super::Wake::Output);
                    if self.direct {
                        output = Arc::new(DirectOutput {
                            wire: self.me.clone(),
                            reactor: output,
                        });
                    }
                    let input = super::conn_signal(shared, token, super::Wake::Input);
                    let att = self.socket.attach(self.existing_peer, &meta, output, input);
                    // Reported once the socket has the peer: a monitor that sees it may count
                    // on the peer taking messages (a refused peer was handshaken all the same).
                    self.emit(MonitorEventKind::HandshakeSucceeded, true);
                    let att = att.map_err(CloseReason::Refused)?;
                    if self.session.is_raw() {
                        self.raw_id = Some(att.routing_id().unwrap_or_default());
                    }
                    self.att = Some(att);
                }
                SessionEvent::Message(mut m) => {
                    if let Some(id) = &self.raw_id {
                        m.push_front(id.clone());
                    }
                    if self.properties.is_some() {
                        m.set_properties(self.properties.clone());
                    }
                    self.batch_in.push_back(m);
                }
                // RFC 29: a publisher learns subscriptions in either wire form; the socket gets
                // them as the one-frame messages (0x01 / 0x00 + topic) that XPUB users see.
                SessionEvent::Subscribe(topic) if self.subscriptions_in => {
                    self.batch_in.push_back(Message::subscription(true, &topic));
                }
                SessionEvent::Cancel(topic) if self.subscriptions_in => {
                    self.batch_in
                        .push_back(Message::subscription(false, &topic));
                }
                SessionEvent::ZapRequest(request) => self.ask_zap(&request, shared, token),
                // Only publishers take subscriptions; others ignore them (as libzmq does).
                _ => {}
            }
        }
        if let Some(att) = &self.att {
            if !self.batch_in.is_empty() {
                self.read_paused = att.deliver(&mut self.batch_in);
                release_if_grown(&mut self.batch_in);
            }
        }
        Ok(taken)
    }

    /// Writes pending output, refilling it from the socket's queue, until the kernel pushes
    /// back or nothing is left.
    fn write(&mut self) -> Result<(), CloseReason> {
        loop {
            if self.session.pending_output_len() > 0 {
                // One vectored write: coalesced small frames plus large bodies by reference.
                let mut runs = [IoSlice::new(&[]); MAX_RUNS];
                let n = self.session.pending_output_vectored(&mut runs);
                match self
                    .stream
                    .write_vectored(runs.get(..n).unwrap_or_default())
                {
                    Ok(0) => return Err(CloseReason::Eof),
                    Ok(n) => {
                        self.session.consume_output(n);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(CloseReason::Io(e)),
                }
            }
            if !self.refill() {
                // All written and nothing queued: buffers grown for a burst go back.
                self.session.release_idle_output();
                release_if_grown(&mut self.batch_out);
                // STREAM: an empty message asked to close once what preceded it was written.
                if self.session.wants_close() {
                    return Err(CloseReason::Local);
                }
                return Ok(());
            }
        }
    }

    /// A sending thread's write (see [`DirectOutput`]): true if the reactor has nothing to do
    /// for it, either because everything was written, or because the kernel pushed back and
    /// will report the stream writable again (an edge the reactor waits for anyway). False
    /// if the reactor must take over: no peer attached yet, or the write failed (the error is
    /// kept for the reactor, which closes the connection).
    fn write_direct(&mut self) -> bool {
        if self.connecting || self.closing || self.att.is_none() || self.failed.is_some() {
            return false;
        }
        match self.write() {
            Ok(()) => true,
            Err(reason) => {
                self.failed = Some(reason);
                false
            }
        }
    }

    /// Encodes queued messages into the session's output; false if there was nothing.
    fn refill(&mut self) -> bool {
        let Some(att) = &self.att else { return false };
        let mut any = false;
        while self.session.pending_output_len() < WRITE_BATCH && !self.session.is_closing() {
            att.take_output(&mut self.batch_out, POP_BATCH);
            if self.batch_out.is_empty() {
                break;
            }
            for m in self.batch_out.drain(..) {
                match self
                    .subscriptions_out
                    .then(|| m.as_subscription())
                    .flatten()
                {
                    Some((subscribe, topic)) => self.session.send_subscription(topic, subscribe),
                    None => self.session.send_message(&m),
                }
            }
            any = true;
        }
        any
    }

    /// Nothing left to send: attached, with the queue and the encoded output empty. A
    /// connection still in its handshake has flushed nothing yet.
    fn flushed(&self) -> bool {
        self.session.pending_output_len() == 0
            && self.att.as_ref().is_some_and(|a| a.output_is_empty())
    }

    /// Best-effort write of what is pending (an ERROR command) before closing.
    fn flush_best_effort(&mut self) {
        let out = self.session.pending_output();
        if !out.is_empty() {
            let _ = self.stream.write(out);
        }
    }

    /// A connect completed: the peer's address is known now.
    fn on_connected(&mut self) {
        self.connecting = false;
        self.established = true;
        self.peer_name = match &self.stream {
            // The path connected to is the peer's address.
            Stream::Ipc(_) => self.endpoint.clone(),
            Stream::Tcp(_) => self.stream.peer_name(),
        };
        self.span.record("peer", self.peer_name.as_str());
        tracing::debug!(parent: &self.span, "connected");
        self.emit(MonitorEventKind::Connected, true);
    }

    /// Reports how the connection ended: `HandshakeFailed` if it ended during its handshake,
    /// then `Disconnected`. A connect that never completed reports nothing (its connector
    /// reports the retry).
    fn report_close(&self, reason: &CloseReason) {
        if !self.established || !self.socket.monitor_active() {
            return;
        }
        if !self.handshaken {
            if let Some(failure) = reason.handshake_failure() {
                self.emit(MonitorEventKind::HandshakeFailed(failure), true);
            }
        }
        self.socket.emit(|| {
            let reason = reason.disconnect_reason();
            self.event(MonitorEventKind::Disconnected { reason }, true)
        });
    }

    /// Reports an event of this connection, with the peer's address if `with_peer`.
    fn emit(&self, kind: MonitorEventKind, with_peer: bool) {
        self.socket.emit(|| self.event(kind, with_peer));
    }

    fn event(&self, kind: MonitorEventKind, with_peer: bool) -> MonitorEvent {
        let peer = (with_peer && !self.peer_name.is_empty()).then(|| self.peer_name.clone());
        MonitorEvent::new(kind, self.endpoint.clone(), peer)
    }
}

/// Gives back an empty batch buffer that grew past [`BATCH_KEEP`] messages for a burst.
fn release_if_grown(batch: &mut VecDeque<Message>) {
    if batch.is_empty() && batch.capacity() > BATCH_KEEP {
        *batch = VecDeque::new();
    }
}

/// The output signal of a lockstep connection (REQ, REP) and of a raw one (STREAM): the
/// sending thread, which fires it when its message lands in an empty queue, writes the
/// message out itself if the wire is free, instead of waking the reactor (an eventfd write, a
/// thread switch and an `epoll_wait` return per message on the latency path). If the reactor
/// holds the wire (it is reading, say) or the write cannot be finished, the reactor is woken
/// as usual. A lockstep socket sends at most once per message received, so it never trades
/// the reactor's batching of a flood for a syscall per message. A STREAM socket can flood one
/// peer: each message that finds the queue empty then costs its own `write` (a flood of tiny
/// chunks is slower than batched; an echo or request-response server, STREAM's usual work,
/// is faster: 1,000 echo clients 39 k -> 95 k echoes/s).
struct DirectOutput {
    wire: Weak<Mutex<Wire>>,
    reactor: Signal,
}

impl Notify for DirectOutput {
    fn notify(&self) {
        if let Some(wire) = self.wire.upgrade() {
            // Never wait for the wire: the reactor may hold it while it delivers to the
            // socket, and this thread may be the one it would wake.
            if let Some(mut w) = wire.try_lock() {
                if w.write_direct() {
                    return;
                }
            }
        }
        self.reactor.notify();
    }
}

impl Wire {
    /// Sends the handshake's ZAP request; the reply wakes this connection (as its input
    /// signal does) and [`Wire::resume_zap`] hands it to the session.
    fn ask_zap(&mut self, request: &ZapRequest, shared: &Arc<Shared>, token: mio::Token) {
        let wake = super::conn_signal(shared, token, super::Wake::Input);
        self.zap_wait = match self.socket.ask_zap(request, wake.clone()) {
            Some(slot) => Some(slot),
            None => {
                // Fail closed: a peer nobody could vet is refused.
                let slot = Arc::new(ZapSlot::default());
                slot.put(ZapReply::new(500, ZAP_UNREACHABLE));
                wake.notify();
                Some(slot)
            }
        };
    }

    /// Hands a ZAP reply that arrived to the paused handshake.
    fn resume_zap(
        &mut self,
        now: Instant,
        shared: &Arc<Shared>,
        token: mio::Token,
    ) -> Result<(), CloseReason> {
        let Some(reply) = self.zap_wait.as_ref().and_then(|slot| slot.take()) else {
            return Ok(());
        };
        self.zap_wait = None;
        if let Err(e) = self.session.handle_zap_reply(reply, now) {
            return Err(CloseReason::Protocol(e));
        }
        self.take_events(shared, token).map(|_| ())
    }
}

/// The properties of a secured (or ZAP-vetted) connection's messages, as libzmq names them:
/// the peer's metadata, then `User-Id` and the ZAP handler's properties, `Peer-Address`,
/// `Socket-Type` and `Routing-Id`. `None` for a NULL connection without ZAP (no cost there).
fn connection_properties(info: &PeerInfo, peer_name: &str) -> Option<Arc<Metadata>> {
    if info.mechanism == "NULL" && info.user_id.is_none() {
        return None;
    }
    // What we vouch for comes first and cannot be overridden by the peer's own metadata
    // (a peer could announce a `User-Id` in its READY).
    let trusted = ["User-Id", "Peer-Address", "Routing-Id"];
    let mut properties = Metadata::new();
    if let Some(user_id) = &info.user_id {
        properties.insert("User-Id", user_id.clone());
    }
    let address = peer_name.strip_prefix("tcp://").unwrap_or(peer_name);
    properties.insert("Peer-Address", address.to_owned());
    if let Some(id) = &info.routing_id {
        properties.insert("Routing-Id", id.clone());
    }
    for (name, value) in info.properties.iter() {
        if !trusted
            .iter()
            .any(|t| name.eq_ignore_ascii_case(t.as_bytes()))
        {
            properties.insert(name.clone(), value.clone());
        }
    }
    Some(Arc::new(properties))
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use bytes::Bytes;
    use ferrozmq_proto::session::SessionConfig;
    use ferrozmq_proto::{Session, SessionEvent, SocketType};

    /// A peer's READY metadata cannot forge what we vouch for (`User-Id`, `Peer-Address`).
    #[test]
    fn peer_metadata_cannot_forge_trusted_properties() {
        let mut info = ready_info();
        info.mechanism = "PLAIN";
        info.user_id = Some(Bytes::from("alice"));
        info.properties.insert("User-Id", "root");
        info.properties.insert("peer-address", "10.9.9.9:1");
        info.properties.insert("X-Custom", "kept");
        let p = connection_properties(&info, "tcp://127.0.0.1:5000").unwrap();
        assert_eq!(p.get("user-id").map(|v| &v[..]), Some(&b"alice"[..]));
        assert_eq!(
            p.get("Peer-Address").map(|v| &v[..]),
            Some(&b"127.0.0.1:5000"[..])
        );
        assert_eq!(
            p.iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(b"user-id"))
                .count(),
            1
        );
        assert_eq!(p.get("X-Custom").map(|v| &v[..]), Some(&b"kept"[..]));
        info.mechanism = "NULL";
        info.user_id = None;
        assert!(connection_properties(&info, "").is_none());
    }

    /// A `PeerInfo` from a real NULL handshake between two sessions.
    fn ready_info() -> PeerInfo {
        let now = Instant::now();
        let mut a = Session::new(SessionConfig::new(SocketType::Dealer), now);
        let mut b = Session::new(SessionConfig::new(SocketType::Router), now);
        let (mut buf, mut back) = (BytesMut::new(), BytesMut::new());
        // The greeting goes out in stages (the peer's revision is detected first): a few
        // exchanges until both are done. Undecoded input stays in each side's buffer.
        for _ in 0..6 {
            buf.extend_from_slice(a.pending_output());
            let n = a.pending_output().len();
            a.consume_output(n);
            b.handle_input(&mut buf, now).unwrap();
            back.extend_from_slice(b.pending_output());
            let n = b.pending_output().len();
            b.consume_output(n);
            a.handle_input(&mut back, now).unwrap();
        }
        loop {
            match b.poll_event() {
                Some(SessionEvent::Ready(info)) => return info,
                Some(_) => {}
                None => panic!("no Ready"),
            }
        }
    }
}
