//! Fair queueing of incoming messages across peers (RFC 28, RFC 30). STUB.
use super::PeerId;

/// The set of peers that may have input, served in turn.
#[derive(Debug, Default)]
pub struct FairQueue {
    _p: (),
}

impl FairQueue {
    /// Empty.
    pub fn new() -> Self {
        todo!()
    }
    /// Marks a peer as possibly having input (idempotent; a new peer goes to the back).
    pub fn activate(&mut self, peer: PeerId) {
        let _ = peer;
        todo!()
    }
    /// Forgets a peer entirely.
    pub fn remove(&mut self, peer: PeerId) {
        let _ = peer;
        todo!()
    }
    /// True if some peer is marked active.
    pub fn has_active(&self) -> bool {
        todo!()
    }
    /// Serves peers in turn: calls `pop` on the active peer at the front; a peer whose `pop`
    /// returns `None` is deactivated and the next one is tried; the peer that yields a value
    /// goes to the back of the line (fairness: one message per peer per turn) and
    /// `(peer, value)` is returned. `None` once no active peer has anything.
    pub fn next<T>(&mut self, pop: impl FnMut(PeerId) -> Option<T>) -> Option<(PeerId, T)> {
        let _ = pop;
        todo!()
    }
}
