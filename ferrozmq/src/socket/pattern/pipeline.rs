//! PUSH and PULL (RFC 30): PUSH round-robins over its peers and never receives; PULL
//! fair-queues its peers' input and never sends. DEALER (RFC 28) sends as PUSH does, so it
//! shares PUSH's strategy and receives as PULL does.

use bytes::Bytes;
use ferrozmq_proto::pattern::{FairQueue, PeerId, PeerMap, RoundRobin};

use super::{any_has_room, input_ready, round_robin, Peer, PeerMeta, Refusal, Signals, Strategy};
use crate::error::{RecvError, SendErrorKind};
use crate::{Message, Options};

/// PUSH, and DEALER's sending side (RFC 28 and 30 share it): the peers in rotation, each
/// message to the next one with room. PUSH never receives; DEALER fair-queues its input.
#[derive(Debug, Default)]
pub(crate) struct Distribute {
    rr: RoundRobin,
    /// DEALER: receives (fair-queued, the defaults); PUSH: refuses to.
    receives: bool,
}

impl Distribute {
    /// PUSH's strategy.
    pub(crate) fn push() -> Distribute {
        Distribute::default()
    }

    /// DEALER's strategy.
    pub(crate) fn dealer() -> Distribute {
        Distribute {
            rr: RoundRobin::new(),
            receives: true,
        }
    }

    /// Hands `msg` to the next peer in rotation with room; returns that peer (REQ, which
    /// builds on this rotation, remembers it for the reply).
    pub(crate) fn send_to_next(
        &mut self,
        peers: &PeerMap<Peer>,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<PeerId, (SendErrorKind, Message)> {
        round_robin(&mut self.rr, peers, msg, signals)
    }
}

impl Strategy for Distribute {
    fn on_peer_created(&mut self, peer: PeerId) {
        self.rr.add(peer);
    }

    fn on_attach(
        &mut self,
        peer: PeerId,
        _meta: &PeerMeta,
        _peers: &PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> Result<Option<Bytes>, Refusal> {
        self.rr.add(peer);
        Ok(None)
    }

    fn on_detach(&mut self, peer: PeerId, remove: bool, _opts: &Options) {
        if remove {
            self.rr.remove(peer);
        }
    }

    fn can_recv(
        &self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> bool {
        self.receives && input_ready(fq, peers)
    }

    fn can_send(&self, peers: &PeerMap<Peer>, _opts: &Options) -> bool {
        any_has_room(self.rr.peers(), peers)
    }

    fn send(
        &mut self,
        peers: &PeerMap<Peer>,
        _opts: &Options,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)> {
        self.send_to_next(peers, msg, signals).map(|_| ())
    }

    fn recv(
        &mut self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        _opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<(PeerId, Message)>, RecvError> {
        if !self.receives {
            return Err(RecvError::NotSupported);
        }
        Ok(fq.next(&mut |p: PeerId| peers.get_mut(&p)?.pop_input(signals)))
    }
}

/// PULL: fair-queued input (the defaults), no sending.
#[derive(Debug)]
pub(crate) struct Pull;

impl Strategy for Pull {
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
}
