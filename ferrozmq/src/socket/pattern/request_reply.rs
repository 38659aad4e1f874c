//! The request-reply family (RFC 28): REQ (one request, then its reply), REP (one request,
//! then the reply to its sender) and ROUTER (addressed by routing id). DEALER shares PUSH's
//! strategy (`pipeline.rs`), and REQ sends through the same rotation. REQ's and REP's rules
//! are the state machines of `ferrozmq_proto::pattern::req_rep`; this file applies them to
//! peers and pipes.

use bytes::Bytes;
use ferrozmq_proto::pattern::{
    FairQueue, PeerId, PeerMap, RepState, ReqError, ReqState, RouterTable,
};

use super::pipeline::Distribute;
use super::{input_ready, next_accepted, push_to, Peer, PeerMeta, Refusal, Signals, Strategy};
use crate::error::{RecvError, SendErrorKind};
use crate::socket::pipe::PushError;
use crate::{Message, Options};

/// REQ: DEALER's rotation of peers, and where the request-reply cycle stands.
#[derive(Debug)]
pub(crate) struct Req {
    out: Distribute,
    state: ReqState,
}

impl Req {
    pub(crate) fn new(opts: &Options) -> Req {
        Req {
            out: Distribute::dealer(),
            state: ReqState::new(opts.req_relaxed, opts.req_correlate),
        }
    }
}

impl Strategy for Req {
    fn on_peer_created(&mut self, peer: PeerId) {
        self.out.on_peer_created(peer);
    }

    fn on_attach(
        &mut self,
        peer: PeerId,
        meta: &PeerMeta,
        peers: &PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<Bytes>, Refusal> {
        self.out.on_attach(peer, meta, peers, opts, signals)
    }

    fn on_detach(&mut self, peer: PeerId, remove: bool, opts: &Options) {
        self.out.on_detach(peer, remove, opts);
    }

    fn update_options(&mut self, opts: &Options) {
        // REQ_RELAXED / REQ_CORRELATE apply from the next request on.
        if !self.state.expecting_reply() {
            self.state = ReqState::new(opts.req_relaxed, opts.req_correlate);
        }
    }

    fn can_recv(
        &self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> bool {
        self.state.expecting_reply() && input_ready(fq, peers)
    }

    fn can_send(&self, peers: &PeerMap<Peer>, opts: &Options) -> bool {
        !self.state.expecting_reply() && self.out.can_send(peers, opts)
    }

    fn send(
        &mut self,
        peers: &PeerMap<Peer>,
        _opts: &Options,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)> {
        let wrapped = self
            .state
            .prepare_send(msg)
            .map_err(|(e, m)| (SendErrorKind::InvalidState(e), m))?;
        match self.out.send_to_next(peers, wrapped, signals) {
            Ok(p) => {
                self.state.sent_to(p);
                Ok(())
            }
            Err((k, m)) => Err((k, self.state.take_back(m))),
        }
    }

    fn recv(
        &mut self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        _opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<(PeerId, Message)>, RecvError> {
        if !self.state.expecting_reply() {
            return Err(RecvError::InvalidState(ReqError::NotExpectingReply));
        }
        let state = &mut self.state;
        Ok(next_accepted(fq, peers, signals, |p, m| {
            state.accept_reply(p, m)
        }))
    }
}

/// REP: where the request-reply cycle stands (and the envelope to reply with).
#[derive(Debug, Default)]
pub(crate) struct Rep {
    state: RepState,
}

impl Strategy for Rep {
    fn can_recv(
        &self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> bool {
        !self.state.replying() && input_ready(fq, peers)
    }

    fn can_send(&self, _peers: &PeerMap<Peer>, _opts: &Options) -> bool {
        self.state.replying()
    }

    fn send(
        &mut self,
        peers: &PeerMap<Peer>,
        _opts: &Options,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)> {
        let (peer, reply) = self
            .state
            .prepare_reply(msg)
            .map_err(|(e, m)| (SendErrorKind::InvalidState(e), m))?;
        // RFC 28: a reply to a peer that is gone (or full) is dropped.
        if let Some(p) = peers.get(&peer) {
            let _ = push_to(p, reply, signals);
        }
        Ok(())
    }

    fn recv(
        &mut self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        _opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<(PeerId, Message)>, RecvError> {
        if self.state.replying() {
            return Err(RecvError::InvalidState(ReqError::ExpectingReply));
        }
        let state = &mut self.state;
        Ok(next_accepted(fq, peers, signals, |p, m| {
            state.accept_request(p, m)
        }))
    }
}

/// ROUTER: peers by routing id.
#[derive(Debug, Default)]
pub(crate) struct Router {
    table: RouterTable,
}

impl Strategy for Router {
    fn on_attach(
        &mut self,
        peer: PeerId,
        meta: &PeerMeta,
        _peers: &PeerMap<Peer>,
        opts: &Options,
        _signals: &mut Signals,
    ) -> Result<Option<Bytes>, Refusal> {
        match self
            .table
            .attach(peer, meta.routing_id.clone(), opts.router_handover)
        {
            Ok((id, _evicted)) => Ok(Some(id)),
            Err(_) => Err(Refusal::DuplicateId),
        }
    }

    fn on_detach(&mut self, peer: PeerId, _remove: bool, _opts: &Options) {
        self.table.detach(peer);
    }

    fn can_send(&self, peers: &PeerMap<Peer>, opts: &Options) -> bool {
        // ROUTER drops what it cannot deliver, so it is always writable; with
        // ROUTER_MANDATORY a full peer refuses, so writable means some peer has room (as
        // libzmq). A send to a full peer can still be refused while another has room.
        !opts.router_mandatory || peers.values().any(|p| p.out.has_room())
    }

    fn send(
        &mut self,
        peers: &PeerMap<Peer>,
        opts: &Options,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)> {
        let Some(id) = msg.first() else {
            return Err((SendErrorKind::MissingRoutingId, msg));
        };
        let target = self.table.lookup(id).and_then(|p| peers.get(&p));
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

    fn recv(
        &mut self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        _opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<(PeerId, Message)>, RecvError> {
        let mut pop = |p: PeerId| peers.get_mut(&p)?.pop_input(signals);
        Ok(fq.next(&mut pop).map(|(p, mut m)| {
            // RFC 28: the routing id of the peer goes in front of what it sent.
            let id = peers.get(&p).and_then(|peer| peer.routing_id.clone());
            m.push_front(id.unwrap_or_default());
            (p, m)
        }))
    }
}
