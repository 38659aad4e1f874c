//! ROUTER routing ids: peer-chosen `Identity` or generated, and the lookup both ways
//! (RFC 28 §"The ROUTER Socket Type"). STUB.
use bytes::Bytes;

use super::PeerId;

/// Why a peer could not be attached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttachError {
    /// Another connected peer already uses this routing id (and handover is off).
    #[error("routing id already in use by another peer")]
    DuplicateId,
}

/// Routing id <-> peer table of a ROUTER.
#[derive(Debug, Default)]
pub struct RouterTable {
    _p: (),
}

impl RouterTable {
    /// Empty.
    pub fn new() -> Self {
        todo!()
    }
    /// Attaches a peer. With `requested` (the peer's non-empty Identity, or the id given by
    /// CONNECT_ROUTING_ID) that id is used; otherwise a 5-byte id `0x00` + 4-byte big-endian
    /// counter is generated (as libzmq does). If the id is taken: with `handover` the old peer
    /// is detached and returned in `Ok((id, Some(old)))`, otherwise `Err(DuplicateId)`.
    pub fn attach(
        &mut self,
        peer: PeerId,
        requested: Option<Bytes>,
        handover: bool,
    ) -> Result<(Bytes, Option<PeerId>), AttachError> {
        let _ = (peer, requested, handover);
        todo!()
    }
    /// Detaches a peer (no-op if absent).
    pub fn detach(&mut self, peer: PeerId) {
        let _ = peer;
        todo!()
    }
    /// The peer with this routing id.
    pub fn lookup(&self, id: &[u8]) -> Option<PeerId> {
        let _ = id;
        todo!()
    }
    /// The routing id of this peer.
    pub fn id_of(&self, peer: PeerId) -> Option<&Bytes> {
        let _ = peer;
        todo!()
    }
}
