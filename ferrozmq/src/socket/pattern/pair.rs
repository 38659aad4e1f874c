//! PAIR (RFC 31): one peer at a time; a second is refused while the first is connected (or
//! is the persistent peer of a connect).

use bytes::Bytes;
use ferrozmq_proto::pattern::{PeerId, PeerMap};

use super::{push_to, Peer, PeerMeta, Refusal, Signals, Strategy};
use crate::error::SendErrorKind;
use crate::{Message, Options};

/// PAIR's one peer.
#[derive(Debug, Default)]
pub(crate) struct Pair {
    peer: Option<PeerId>,
}

impl Strategy for Pair {
    fn on_peer_created(&mut self, peer: PeerId) {
        if self.peer.is_none() {
            self.peer = Some(peer);
        }
    }

    fn on_attach(
        &mut self,
        peer: PeerId,
        _meta: &PeerMeta,
        peers: &PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> Result<Option<Bytes>, Refusal> {
        match self.peer {
            Some(c) if c != peer && peers.get(&c).is_some_and(|p| p.connected || p.persistent) => {
                Err(Refusal::PairTaken)
            }
            _ => {
                self.peer = Some(peer);
                Ok(None)
            }
        }
    }

    fn on_detach(&mut self, peer: PeerId, remove: bool, _opts: &Options) {
        if remove && self.peer == Some(peer) {
            self.peer = None;
        }
    }

    fn can_send(&self, peers: &PeerMap<Peer>, _opts: &Options) -> bool {
        self.peer
            .and_then(|p| peers.get(&p))
            .is_some_and(|p| p.out.has_room())
    }

    fn send(
        &mut self,
        peers: &PeerMap<Peer>,
        _opts: &Options,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)> {
        let Some(p) = self.peer.and_then(|p| peers.get(&p)) else {
            return Err((SendErrorKind::WouldBlock, msg));
        };
        push_to(p, msg, signals).map_err(|m| (SendErrorKind::WouldBlock, m))
    }
}
