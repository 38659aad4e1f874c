//! Round-robin choice of an outgoing peer (RFC 28 DEALER/REQ, RFC 30 PUSH). STUB.
use super::PeerId;

/// Peers in the order they attached; sends rotate through them.
#[derive(Debug, Default)]
pub struct RoundRobin {
    _p: (),
}

impl RoundRobin {
    /// Empty.
    pub fn new() -> Self {
        todo!()
    }
    /// Adds a peer at the end of the rotation (no-op if present).
    pub fn add(&mut self, peer: PeerId) {
        let _ = peer;
        todo!()
    }
    /// Removes a peer (no-op if absent); the rotation continues with the next one.
    pub fn remove(&mut self, peer: PeerId) {
        let _ = peer;
        todo!()
    }
    /// Number of peers.
    pub fn len(&self) -> usize {
        todo!()
    }
    /// True if there are no peers.
    pub fn is_empty(&self) -> bool {
        todo!()
    }
    /// Offers the peers in rotation order, starting after the last one chosen, each at most
    /// once, until `accept` returns true; that peer is chosen and returned. `None` if all
    /// refused (e.g. all queues full) or there are none.
    pub fn pick(&mut self, accept: impl FnMut(PeerId) -> bool) -> Option<PeerId> {
        let _ = accept;
        todo!()
    }
}
