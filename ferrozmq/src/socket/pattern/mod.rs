//! The per-socket-type strategies: which peer an outgoing message goes to, which incoming
//! messages are delivered and how. One file per pattern family: `pair.rs` (RFC 31),
//! `pipeline.rs` (RFC 30, PUSH and PULL, and DEALER, which sends as PUSH does),
//! `request_reply.rs` (RFC 28: REQ, REP, ROUTER), `pubsub.rs` (RFC 29: PUB, XPUB, SUB,
//! XSUB) and `stream.rs` (libzmq's STREAM).
//!
//! Each family type implements [`Strategy`], whose default methods are the common case (fair
//! queueing of input, nothing to do on attach); [`Pattern`] holds one of them per socket and
//! dispatches. The decisions themselves live in `ferrozmq_proto::pattern` (unit-tested without
//! sockets); these files apply them to the socket's peers and pipes.

mod pair;
mod pipeline;
mod pubsub;
mod request_reply;
mod stream;

use std::collections::VecDeque;

use bytes::Bytes;
use ferrozmq_proto::pattern::{FairQueue, PeerId, PeerMap, RoundRobin};
use ferrozmq_proto::SocketType;
use smallvec::SmallVec;

use super::pipe::{PushError, Signal};
use crate::error::{OptionError, RecvError, SendErrorKind};
use crate::{Message, Options};

use pair::Pair;
use pipeline::{Distribute, Pull};
use pubsub::{Publisher, Subscriber};
use request_reply::{Rep, Req, Router};
use stream::Stream;

/// Signals collected under the socket lock, fired after it is released.
pub(crate) type Signals = SmallVec<[Signal; 4]>;

/// What the socket core knows of one peer.
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) out: std::sync::Arc<super::pipe::Pipe>,
    pub(crate) inp: std::sync::Arc<super::pipe::Pipe>,
    /// A live connection (or inproc link) is attached.
    pub(crate) connected: bool,
    /// Created by `connect`: survives disconnection and keeps its queue.
    pub(crate) persistent: bool,
    /// The id a ROUTER uses for this peer.
    pub(crate) routing_id: Option<Bytes>,
    /// ZMQ_CONNECT_ROUTING_ID given when this peer's connect was made.
    pub(crate) assigned_id: Option<Bytes>,
    /// Messages taken from `inp` in one batch and not yet received: one pipe lock per batch
    /// instead of per message, so a receiving thread and the reactor filling the pipe rarely
    /// meet on its lock. Guarded by the socket lock.
    pub(crate) local: VecDeque<Message>,
}

impl Peer {
    /// The peer's next incoming message, refilling the local batch from the pipe if needed.
    pub(crate) fn pop_input(&mut self, signals: &mut Signals) -> Option<Message> {
        let batch = self.inp.read_batch();
        if batch > 1 {
            if let Some(m) = self.local.pop_front() {
                return Some(m);
            }
        }
        if batch <= 1 {
            // A conflating pipe: what it holds is newer than anything peeked into `local`.
            let Some((m, s)) = self.inp.try_pop() else {
                return self.local.pop_front();
            };
            self.local.clear();
            signals.extend(s);
            return Some(m);
        }
        signals.extend(self.inp.pop_batch(&mut self.local, batch));
        self.local.pop_front()
    }

    /// The peer's next incoming message, left in place (moved into the local batch).
    pub(crate) fn peek_input(&mut self, signals: &mut Signals) -> Option<&Message> {
        if self.local.is_empty() {
            let batch = self.inp.read_batch();
            signals.extend(self.inp.pop_batch(&mut self.local, batch));
        }
        self.local.front()
    }

    /// True if a message from this peer waits to be received.
    pub(crate) fn has_input(&self) -> bool {
        !self.local.is_empty() || !self.inp.is_empty()
    }
}

/// What the handshake (or the inproc link) told us about a peer.
#[derive(Debug, Clone)]
pub(crate) struct PeerMeta {
    pub(crate) socket_type: SocketType,
    pub(crate) routing_id: Option<Bytes>,
}

/// Why an attach is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// PAIR already has its one peer.
    PairTaken,
    /// ROUTER: the routing id is in use.
    DuplicateId,
    /// The socket types cannot talk (inproc; tcp/ipc check this in the handshake).
    Incompatible,
    /// The socket is closed.
    Closed,
}

/// What a socket type does at each step; called under the socket lock. The defaults are the
/// common case: input is fair-queued, attach and detach change nothing.
trait Strategy {
    /// A persistent (connect-side) peer exists: outgoing strategies may queue to it already.
    fn on_peer_created(&mut self, _peer: PeerId) {}

    /// A peer's connection completed. Returns the ROUTER routing id, or a refusal.
    fn on_attach(
        &mut self,
        _peer: PeerId,
        _meta: &PeerMeta,
        _peers: &PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> Result<Option<Bytes>, Refusal> {
        Ok(None)
    }

    /// A peer's connection is gone; `remove` if its queue goes with it.
    fn on_detach(&mut self, _peer: PeerId, _remove: bool, _opts: &Options) {}

    /// Input arrived from a peer; true if the socket became readable.
    fn on_input(
        &mut self,
        peer: PeerId,
        fq: &mut FairQueue,
        _peers: &PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> bool {
        fq.activate(peer);
        true
    }

    /// True if a receive may find something without a new input edge.
    fn has_queued(&self, fq: &FairQueue) -> bool {
        fq.has_active()
    }

    /// Whether a receive would find a message now (the poller's readable).
    fn can_recv(
        &self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> bool {
        input_ready(fq, peers)
    }

    /// Whether a send would be taken now without waiting (the poller's writable).
    fn can_send(&self, peers: &PeerMap<Peer>, opts: &Options) -> bool;

    /// Hands a message to a peer, or says why not (giving it back).
    fn send(
        &mut self,
        peers: &PeerMap<Peer>,
        opts: &Options,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)>;

    /// Takes the next deliverable message; `Ok(None)` if none is queued.
    fn recv(
        &mut self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        _opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<(PeerId, Message)>, RecvError> {
        Ok(fq.next(&mut |p: PeerId| peers.get_mut(&p)?.pop_input(signals)))
    }

    /// ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE: only the publish-subscribe types take them.
    fn subscription(
        &mut self,
        subscribe: bool,
        _topic: &[u8],
        _peers: &PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> Result<(), OptionError> {
        Err(not_applicable(subscribe))
    }

    /// Re-reads options that change the strategy (REQ modes).
    fn update_options(&mut self, _opts: &Options) {}
}

/// The strategy of one socket.
#[derive(Debug)]
pub(crate) enum Pattern {
    Pair(Pair),
    Push(Distribute),
    Pull(Pull),
    Dealer(Distribute),
    Req(Req),
    Rep(Rep),
    Router(Router),
    /// PUB and XPUB.
    Pub(Box<Publisher>),
    /// SUB and XSUB.
    Sub(Subscriber),
    /// STREAM (raw connections).
    Stream(Stream),
    /// A type this version has no strategy for (a `SocketType` added to the protocol crate
    /// later, e.g. SERVER or CLIENT):
    /// refuses every peer and operation.
    Unsupported(Unsupported),
}

/// Runs `$body` with `$s` bound to the socket's strategy, whatever its type (`ref`: shared,
/// `mut`: exclusive).
macro_rules! each {
    (ref $pattern:expr, $s:ident => $body:expr) => {
        match $pattern {
            Pattern::Pub(boxed) => {
                let $s: &Publisher = boxed;
                $body
            }
            Pattern::Pair($s) => $body,
            Pattern::Push($s) => $body,
            Pattern::Pull($s) => $body,
            Pattern::Dealer($s) => $body,
            Pattern::Req($s) => $body,
            Pattern::Rep($s) => $body,
            Pattern::Router($s) => $body,
            Pattern::Sub($s) => $body,
            Pattern::Stream($s) => $body,
            Pattern::Unsupported($s) => $body,
        }
    };
    (mut $pattern:expr, $s:ident => $body:expr) => {
        match $pattern {
            Pattern::Pub(boxed) => {
                let $s: &mut Publisher = boxed;
                $body
            }
            Pattern::Pair($s) => $body,
            Pattern::Push($s) => $body,
            Pattern::Pull($s) => $body,
            Pattern::Dealer($s) => $body,
            Pattern::Req($s) => $body,
            Pattern::Rep($s) => $body,
            Pattern::Router($s) => $body,
            Pattern::Sub($s) => $body,
            Pattern::Stream($s) => $body,
            Pattern::Unsupported($s) => $body,
        }
    };
}

impl Pattern {
    pub(crate) fn new(socket_type: SocketType, opts: &Options) -> Pattern {
        match socket_type {
            SocketType::Pair => Pattern::Pair(Pair::default()),
            SocketType::Push => Pattern::Push(Distribute::push()),
            SocketType::Pull => Pattern::Pull(Pull),
            SocketType::Dealer => Pattern::Dealer(Distribute::dealer()),
            SocketType::Req => Pattern::Req(Req::new(opts)),
            SocketType::Rep => Pattern::Rep(Rep::default()),
            SocketType::Router => Pattern::Router(Router::default()),
            SocketType::Pub => Pattern::Pub(Box::new(Publisher::new(false))),
            SocketType::XPub => Pattern::Pub(Box::new(Publisher::new(true))),
            SocketType::Sub => Pattern::Sub(Subscriber::new(false)),
            SocketType::XSub => Pattern::Sub(Subscriber::new(true)),
            SocketType::Stream => Pattern::Stream(Stream::default()),
            _ => Pattern::Unsupported(Unsupported),
        }
    }

    /// True for types that never receive (PUSH).
    pub(crate) fn is_send_only(&self) -> bool {
        matches!(self, Pattern::Push(_))
    }

    /// True for PUB and XPUB (their input is subscriptions, consumed at once).
    pub(crate) fn is_publisher(&self) -> bool {
        matches!(self, Pattern::Pub(_))
    }

    /// True for REQ and REP (a send or receive changes which of the two may come next).
    pub(crate) fn is_request_reply(&self) -> bool {
        matches!(self, Pattern::Req(_) | Pattern::Rep(_))
    }

    /// True for REP (a reply sent makes the socket readable again).
    pub(crate) fn is_rep(&self) -> bool {
        matches!(self, Pattern::Rep(_))
    }

    pub(crate) fn update_options(&mut self, opts: &Options) {
        each!(mut self, s => Strategy::update_options(s, opts))
    }

    pub(crate) fn subscription(
        &mut self,
        subscribe: bool,
        topic: &[u8],
        peers: &PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> Result<(), OptionError> {
        each!(mut self, s => Strategy::subscription(s, subscribe, topic, peers, opts, signals))
    }

    pub(crate) fn on_input(
        &mut self,
        peer: PeerId,
        fq: &mut FairQueue,
        peers: &PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> bool {
        each!(mut self, s => Strategy::on_input(s, peer, fq, peers, opts, signals))
    }

    pub(crate) fn has_queued(&self, fq: &FairQueue) -> bool {
        each!(ref self, s => Strategy::has_queued(s, fq))
    }

    pub(crate) fn on_peer_created(&mut self, peer: PeerId) {
        each!(mut self, s => Strategy::on_peer_created(s, peer))
    }

    pub(crate) fn on_attach(
        &mut self,
        peer: PeerId,
        meta: &PeerMeta,
        peers: &PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<Bytes>, Refusal> {
        each!(mut self, s => Strategy::on_attach(s, peer, meta, peers, opts, signals))
    }

    pub(crate) fn on_detach(&mut self, peer: PeerId, remove: bool, opts: &Options) {
        each!(mut self, s => Strategy::on_detach(s, peer, remove, opts))
    }

    pub(crate) fn can_recv(
        &self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> bool {
        each!(ref self, s => Strategy::can_recv(s, fq, peers, opts, signals))
    }

    pub(crate) fn can_send(&self, peers: &PeerMap<Peer>, opts: &Options) -> bool {
        each!(ref self, s => Strategy::can_send(s, peers, opts))
    }

    pub(crate) fn send(
        &mut self,
        peers: &PeerMap<Peer>,
        opts: &Options,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)> {
        each!(mut self, s => Strategy::send(s, peers, opts, msg, signals))
    }

    pub(crate) fn recv(
        &mut self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<(PeerId, Message)>, RecvError> {
        each!(mut self, s => Strategy::recv(s, fq, peers, opts, signals))
    }
}

/// The strategy of a type this version does not implement: refuses everything.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl Strategy for Unsupported {
    fn on_attach(
        &mut self,
        _peer: PeerId,
        _meta: &PeerMeta,
        _peers: &PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> Result<Option<Bytes>, Refusal> {
        Err(Refusal::Incompatible)
    }

    fn can_recv(
        &self,
        _fq: &mut FairQueue,
        _peers: &mut PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> bool {
        false
    }

    fn can_send(&self, _peers: &PeerMap<Peer>, _opts: &Options) -> bool {
        false
    }

    fn send(
        &mut self,
        _peers: &PeerMap<Peer>,
        _opts: &Options,
        msg: Message,
        _signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)> {
        Err((SendErrorKind::NotSupported, msg))
    }

    fn recv(
        &mut self,
        _fq: &mut FairQueue,
        _peers: &mut PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> Result<Option<(PeerId, Message)>, RecvError> {
        Err(RecvError::NotSupported)
    }
}

/// Pushes `msg` to one peer's outgoing pipe; a full or closed pipe gives it back.
fn push_to(peer: &Peer, msg: Message, signals: &mut Signals) -> Result<(), Message> {
    match peer.out.try_push(msg) {
        Ok(s) => {
            signals.extend(s);
            Ok(())
        }
        Err(PushError::Full(m) | PushError::Closed(m)) => Err(m),
    }
}

/// Offers the message to peers in rotation until one takes it; returns that peer (RFC 28 and
/// RFC 30 round robin, for PUSH, DEALER and REQ).
fn round_robin(
    rr: &mut RoundRobin,
    peers: &PeerMap<Peer>,
    msg: Message,
    signals: &mut Signals,
) -> Result<PeerId, (SendErrorKind, Message)> {
    let mut slot = Some(msg);
    let picked = rr.pick(|p| {
        let Some(peer) = peers.get(&p) else {
            return false;
        };
        let Some(m) = slot.take() else {
            return false;
        };
        match push_to(peer, m, signals) {
            Ok(()) => true,
            Err(m) => {
                slot = Some(m);
                false
            }
        }
    });
    match (picked, slot) {
        (Some(p), None) => Ok(p),
        (_, Some(m)) => Err((SendErrorKind::WouldBlock, m)),
        (None, None) => Err((SendErrorKind::WouldBlock, Message::new())),
    }
}

/// True if a fair-queued peer has input waiting (peers found empty leave the active set).
fn input_ready(fq: &mut FairQueue, peers: &PeerMap<Peer>) -> bool {
    fq.retain_ready(|p| peers.get(&p).is_some_and(Peer::has_input))
}

/// The next fair-queued message that `accept` keeps (it may unwrap it, as REQ and REP strip
/// their envelopes), dropping those it refuses; `None` once no input is left.
fn next_accepted(
    fq: &mut FairQueue,
    peers: &mut PeerMap<Peer>,
    signals: &mut Signals,
    mut accept: impl FnMut(PeerId, Message) -> Option<Message>,
) -> Option<(PeerId, Message)> {
    let mut pop = |p: PeerId| peers.get_mut(&p)?.pop_input(signals);
    while let Some((p, m)) = fq.next(&mut pop) {
        if let Some(body) = accept(p, m) {
            return Some((p, body));
        }
    }
    None
}

/// True if some peer in `candidates` has room in its outgoing pipe.
fn any_has_room(candidates: &[PeerId], peers: &PeerMap<Peer>) -> bool {
    candidates
        .iter()
        .any(|p| peers.get(p).is_some_and(|peer| peer.out.has_room()))
}

/// The error for ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE on a socket that takes none.
fn not_applicable(subscribe: bool) -> OptionError {
    OptionError::NotApplicable(if subscribe {
        "ZMQ_SUBSCRIBE"
    } else {
        "ZMQ_UNSUBSCRIBE"
    })
}
