//! The per-socket-type strategy: which peer an outgoing message goes to, which incoming
//! messages are delivered and how (RFC 28 request-reply, RFC 30 pipeline, RFC 31 pair).
//!
//! The decisions themselves live in `ferrozmq_proto::pattern` (unit-tested without sockets);
//! this file applies them to the socket's peers and pipes.

use std::collections::VecDeque;

use bytes::Bytes;
use ferrozmq_proto::pattern::{
    FairQueue, PeerId, PeerMap, RepState, ReqError, ReqState, RoundRobin, RouterTable,
};
use ferrozmq_proto::SocketType;
use smallvec::SmallVec;

use super::pipe::{PushError, Signal};
use super::pubsub::{Publisher, Subscriber};
use crate::error::{OptionError, RecvError, SendErrorKind};
use crate::{Message, Options};

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

/// The strategy state of one socket.
#[derive(Debug)]
pub(crate) enum Pattern {
    Pair {
        peer: Option<PeerId>,
    },
    Push(RoundRobin),
    Pull,
    Dealer(RoundRobin),
    Req {
        rr: RoundRobin,
        state: ReqState,
    },
    Rep(RepState),
    Router(RouterTable),
    /// PUB and XPUB.
    Pub(Box<Publisher>),
    /// SUB and XSUB.
    Sub(Subscriber),
    /// A type this version has no strategy for (a `SocketType` added later, e.g. STREAM):
    /// refuses every peer and operation.
    Unsupported,
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

impl Pattern {
    pub(crate) fn new(socket_type: SocketType, opts: &Options) -> Pattern {
        match socket_type {
            SocketType::Pair => Pattern::Pair { peer: None },
            SocketType::Push => Pattern::Push(RoundRobin::new()),
            SocketType::Pull => Pattern::Pull,
            SocketType::Dealer => Pattern::Dealer(RoundRobin::new()),
            SocketType::Req => Pattern::Req {
                rr: RoundRobin::new(),
                state: ReqState::new(opts.req_relaxed, opts.req_correlate),
            },
            SocketType::Rep => Pattern::Rep(RepState::new()),
            SocketType::Router => Pattern::Router(RouterTable::new()),
            SocketType::Pub => Pattern::Pub(Box::new(Publisher::new(false))),
            SocketType::XPub => Pattern::Pub(Box::new(Publisher::new(true))),
            SocketType::Sub => Pattern::Sub(Subscriber::new(false)),
            SocketType::XSub => Pattern::Sub(Subscriber::new(true)),
            _ => Pattern::Unsupported,
        }
    }

    /// True for types that never receive (PUSH; PUB later).
    pub(crate) fn is_send_only(&self) -> bool {
        matches!(self, Pattern::Push(_))
    }

    fn is_xsub(&self) -> bool {
        matches!(self, Pattern::Sub(s) if s.is_xsub())
    }

    /// Re-reads options that change the strategy (REQ modes).
    pub(crate) fn update_options(&mut self, opts: &Options) {
        if let Pattern::Req { state, .. } = self {
            if !state.expecting_reply() {
                *state = ReqState::new(opts.req_relaxed, opts.req_correlate);
            }
        }
    }

    /// ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE on this socket.
    pub(crate) fn subscription(
        &mut self,
        subscribe: bool,
        topic: &[u8],
        peers: &PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> Result<(), OptionError> {
        match self {
            Pattern::Sub(subscriber) => {
                subscriber.subscription(subscribe, topic, peers, signals);
                Ok(())
            }
            Pattern::Pub(publisher) if publisher.is_xpub() && opts.xpub_manual => {
                publisher.manual_subscription(subscribe, topic);
                Ok(())
            }
            _ => Err(OptionError::NotApplicable(if subscribe {
                "ZMQ_SUBSCRIBE"
            } else {
                "ZMQ_UNSUBSCRIBE"
            })),
        }
    }

    /// Input arrived from a peer. Publishers consume it at once (subscriptions); true if the
    /// socket became readable, for every type.
    pub(crate) fn on_input(
        &mut self,
        peer: PeerId,
        fq: &mut FairQueue,
        peers: &PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> bool {
        match self {
            Pattern::Pub(publisher) => publisher.on_input(peer, peers, opts, signals),
            _ => {
                fq.activate(peer);
                true
            }
        }
    }

    /// True if a receive may find something without a new input edge (to pass the baton to
    /// another waiting receiver).
    pub(crate) fn has_queued(&self, fq: &FairQueue) -> bool {
        match self {
            Pattern::Pub(publisher) => publisher.can_recv(),
            _ => fq.has_active(),
        }
    }

    /// A persistent (connect-side) peer exists: outgoing strategies may queue to it already.
    pub(crate) fn on_peer_created(&mut self, peer: PeerId) {
        match self {
            Pattern::Push(rr) | Pattern::Dealer(rr) | Pattern::Req { rr, .. } => rr.add(peer),
            Pattern::Pair { peer: p @ None } => *p = Some(peer),
            _ => {}
        }
    }

    /// A peer's connection completed. Returns the ROUTER routing id, or a refusal.
    pub(crate) fn on_attach(
        &mut self,
        peer: PeerId,
        meta: &PeerMeta,
        peers: &PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<Bytes>, Refusal> {
        match self {
            Pattern::Pair { peer: current } => match *current {
                Some(c)
                    if c != peer && peers.get(&c).is_some_and(|p| p.connected || p.persistent) =>
                {
                    Err(Refusal::PairTaken)
                }
                _ => {
                    *current = Some(peer);
                    Ok(None)
                }
            },
            Pattern::Push(rr) | Pattern::Dealer(rr) | Pattern::Req { rr, .. } => {
                rr.add(peer);
                Ok(None)
            }
            Pattern::Router(table) => {
                match table.attach(peer, meta.routing_id.clone(), opts.router_handover) {
                    Ok((id, _evicted)) => Ok(Some(id)),
                    Err(_) => Err(Refusal::DuplicateId),
                }
            }
            Pattern::Pull | Pattern::Rep(_) => Ok(None),
            Pattern::Pub(publisher) => {
                publisher.on_attach(peer, peers, opts, signals);
                Ok(None)
            }
            Pattern::Sub(subscriber) => {
                subscriber.on_attach(peer, peers, signals);
                Ok(None)
            }
            Pattern::Unsupported => Err(Refusal::Incompatible),
        }
    }

    /// A peer's connection is gone; `remove` if its queue goes with it.
    pub(crate) fn on_detach(&mut self, peer: PeerId, remove: bool, opts: &Options) {
        match self {
            Pattern::Pub(publisher) => publisher.on_detach(peer, opts),
            Pattern::Router(table) => table.detach(peer),
            Pattern::Push(rr) | Pattern::Dealer(rr) | Pattern::Req { rr, .. } if remove => {
                rr.remove(peer)
            }
            Pattern::Pair { peer: p } if remove && *p == Some(peer) => *p = None,
            _ => {}
        }
    }

    /// Whether a receive would find a message now (the poller's readable).
    pub(crate) fn can_recv(
        &self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> bool {
        match self {
            Pattern::Push(_) | Pattern::Unsupported => false,
            Pattern::Pub(publisher) => publisher.can_recv(),
            Pattern::Sub(subscriber) => subscriber.can_recv(fq, peers, opts, signals),
            Pattern::Req { state, .. } if !state.expecting_reply() => false,
            Pattern::Rep(state) if state.replying() => false,
            _ => fq.retain_ready(|p| peers.get(&p).is_some_and(Peer::has_input)),
        }
    }

    /// Whether a send would be taken now without waiting (the poller's writable).
    pub(crate) fn can_send(&self, peers: &PeerMap<Peer>, opts: &Options) -> bool {
        let has_room = |p: &PeerId| peers.get(p).is_some_and(|peer| peer.out.has_room());
        match self {
            Pattern::Pull | Pattern::Unsupported => false,
            Pattern::Pub(publisher) => publisher.can_send(peers, opts),
            Pattern::Sub(_) => self.is_xsub(),
            Pattern::Push(rr) | Pattern::Dealer(rr) => rr.peers().iter().any(has_room),
            Pattern::Req { rr, state } => {
                !state.expecting_reply() && rr.peers().iter().any(has_room)
            }
            Pattern::Pair { peer } => peer.as_ref().is_some_and(has_room),
            Pattern::Rep(state) => state.replying(),
            // ROUTER drops what it cannot deliver, so it is always writable; with
            // ROUTER_MANDATORY a full peer refuses, so writable means some peer has room (as
            // libzmq). A send to a full peer can still be refused while another has room.
            Pattern::Router(_) if opts.router_mandatory => peers.values().any(|p| p.out.has_room()),
            Pattern::Router(_) => true,
        }
    }

    /// Hands a message to a peer, or says why not (giving it back).
    pub(crate) fn send(
        &mut self,
        peers: &PeerMap<Peer>,
        opts: &Options,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)> {
        match self {
            Pattern::Pull | Pattern::Unsupported => Err((SendErrorKind::NotSupported, msg)),
            Pattern::Pub(publisher) => publisher.send(peers, opts, msg, signals),
            Pattern::Sub(subscriber) => subscriber.send(peers, msg, signals),
            Pattern::Push(rr) | Pattern::Dealer(rr) => {
                round_robin(rr, peers, msg, signals).map(|_| ())
            }
            Pattern::Pair { peer } => {
                let Some(p) = peer.and_then(|p| peers.get(&p)) else {
                    return Err((SendErrorKind::WouldBlock, msg));
                };
                match p.out.try_push(msg) {
                    Ok(s) => {
                        signals.extend(s);
                        Ok(())
                    }
                    Err(PushError::Full(m) | PushError::Closed(m)) => {
                        Err((SendErrorKind::WouldBlock, m))
                    }
                }
            }
            Pattern::Req { rr, state } => {
                let wrapped = state
                    .prepare_send(msg)
                    .map_err(|(e, m)| (SendErrorKind::InvalidState(e), m))?;
                match round_robin(rr, peers, wrapped, signals) {
                    Ok(p) => {
                        state.sent_to(p);
                        Ok(())
                    }
                    Err((k, m)) => Err((k, state.take_back(m))),
                }
            }
            Pattern::Rep(state) => {
                let (peer, reply) = state
                    .prepare_reply(msg)
                    .map_err(|(e, m)| (SendErrorKind::InvalidState(e), m))?;
                // RFC 28: a reply to a peer that is gone (or full) is dropped.
                if let Some(p) = peers.get(&peer) {
                    if let Ok(s) = p.out.try_push(reply) {
                        signals.extend(s);
                    }
                }
                Ok(())
            }
            Pattern::Router(table) => {
                let Some(id) = msg.first() else {
                    return Err((SendErrorKind::MissingRoutingId, msg));
                };
                let target = table.lookup(id).and_then(|p| peers.get(&p));
                let Some(target) = target else {
                    // RFC 28: unroutable messages are dropped unless ROUTER_MANDATORY.
                    return if opts.router_mandatory {
                        Err((SendErrorKind::HostUnreachable, msg))
                    } else {
                        Ok(())
                    };
                };
                let mut body = msg;
                let id = body.pop_front().unwrap_or_default();
                match target.out.try_push(body) {
                    Ok(s) => {
                        signals.extend(s);
                        Ok(())
                    }
                    Err(PushError::Full(mut m)) if opts.router_mandatory => {
                        m.push_front(id);
                        Err((SendErrorKind::WouldBlock, m))
                    }
                    Err(_) => Ok(()),
                }
            }
        }
    }

    /// Takes the next deliverable message; `Ok(None)` if none is queued.
    pub(crate) fn recv(
        &mut self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<(PeerId, Message)>, RecvError> {
        let mut pop = |p: PeerId| peers.get_mut(&p)?.pop_input(signals);
        match self {
            Pattern::Push(_) | Pattern::Unsupported => Err(RecvError::NotSupported),
            // XPUB's messages come from its subscription queue, not from a peer's pipe; the
            // peer id returned is a placeholder no caller looks up.
            Pattern::Pub(publisher) => Ok(publisher.recv()?.map(|m| (PeerId(0), m))),
            Pattern::Sub(subscriber) => Ok(subscriber.recv(fq, peers, opts, signals)),
            Pattern::Req { state, .. } => {
                if !state.expecting_reply() {
                    return Err(RecvError::InvalidState(ReqError::NotExpectingReply));
                }
                while let Some((p, m)) = fq.next(&mut pop) {
                    if let Some(body) = state.accept_reply(p, m) {
                        return Ok(Some((p, body)));
                    }
                }
                Ok(None)
            }
            Pattern::Rep(state) => {
                if state.replying() {
                    return Err(RecvError::InvalidState(ReqError::ExpectingReply));
                }
                while let Some((p, m)) = fq.next(&mut pop) {
                    if let Some(body) = state.accept_request(p, m) {
                        return Ok(Some((p, body)));
                    }
                }
                Ok(None)
            }
            Pattern::Router(_) => Ok(fq.next(&mut pop).map(|(p, mut m)| {
                let id = peers.get(&p).and_then(|peer| peer.routing_id.clone());
                m.push_front(id.unwrap_or_default());
                (p, m)
            })),
            Pattern::Pair { .. } | Pattern::Pull | Pattern::Dealer(_) => Ok(fq.next(&mut pop)),
        }
    }
}

/// Offers the message to peers in rotation until one takes it; returns that peer.
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
        match peer.out.try_push(m) {
            Ok(s) => {
                signals.extend(s);
                true
            }
            Err(PushError::Full(m) | PushError::Closed(m)) => {
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
