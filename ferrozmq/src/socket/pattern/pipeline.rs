//! PUSH and PULL (RFC 30): PUSH round-robins over its peers and never receives; PULL
//! fair-queues its peers' input and never sends.

use bytes::Bytes;
use ferrozmq_proto::pattern::{FairQueue, PeerId, PeerMap, RoundRobin};

use super::{any_has_room, round_robin, Peer, PeerMeta, Refusal, Signals, Strategy};
use crate::error::{RecvError, SendErrorKind};
use crate::{Message, Options};

/// PUSH: the peers in rotation.
#[derive(Debug, Default)]
pub(crate) struct Push {
    rr: RoundRobin,
}

impl Strategy for Push {
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
        _fq: &mut FairQueue,
        _peers: &mut PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> bool {
        false
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
        round_robin(&mut self.rr, peers, msg, signals).map(|_| ())
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
