//! Routing strategies of the ZeroMQ patterns (RFC 28 request-reply, RFC 29 publish-subscribe,
//! RFC 30 pipeline, RFC 31 exclusive pair), as plain data structures: they take peer events and return
//! decisions, and know nothing of sockets, pipes or threads.
//!
//! Each strategy is unit-tested against the RFC rules in its own file.

mod fair_queue;
mod publisher;
mod req_rep;
mod round_robin;
mod router_table;
mod subscriptions;

pub use fair_queue::FairQueue;
pub use publisher::{PublisherConfig, PublisherState, SubscriptionOutcome};
pub use req_rep::{RepState, ReqError, ReqState};
pub use round_robin::RoundRobin;
pub use router_table::{AttachError, RouterTable};
pub use subscriptions::{SubscriptionTrie, TopicCounter};

/// Identifies one peer (one pipe pair) of a socket. Never reused within a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u64);

/// A map keyed by [`PeerId`] with a cheap hash: ids are local counters, not attacker-chosen,
/// so SipHash's flood resistance buys nothing on this per-message path.
pub type PeerMap<V> = std::collections::HashMap<PeerId, V, BuildPeerHasher>;
/// A set of [`PeerId`]s with the same cheap hash.
pub type PeerSet = std::collections::HashSet<PeerId, BuildPeerHasher>;
/// Builds [`PeerHasher`]s.
pub type BuildPeerHasher = std::hash::BuildHasherDefault<PeerHasher>;

/// Fibonacci hashing of a `u64` id: one multiplication spreads sequential ids over the high
/// bits that hash tables use.
#[derive(Debug, Default, Clone, Copy)]
pub struct PeerHasher(u64);

impl std::hash::Hasher for PeerHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = (self.0 ^ id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A random `u32` from std's randomly keyed `RandomState` (libzmq seeds its generated routing
/// ids and REQ request ids randomly; this avoids a clock or an RNG dependency).
fn random_u32() -> u32 {
    use std::hash::BuildHasher;
    // Truncation intended: any 32 bits of the hash will do.
    std::collections::hash_map::RandomState::new().hash_one(0x5a5a_u16) as u32
}
