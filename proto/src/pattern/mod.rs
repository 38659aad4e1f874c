//! Routing strategies of the ZeroMQ patterns (RFC 28 request-reply, RFC 30 pipeline,
//! RFC 31 exclusive pair), as plain data structures: they take peer events and return
//! decisions, and know nothing of sockets, pipes or threads.
//!
//! Each strategy is unit-tested against the RFC rules in its own file.

mod fair_queue;
mod req_rep;
mod round_robin;
mod router_table;

pub use fair_queue::FairQueue;
pub use req_rep::{RepState, ReqError, ReqState};
pub use round_robin::RoundRobin;
pub use router_table::{AttachError, RouterTable};

/// Identifies one peer (one pipe pair) of a socket. Never reused within a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u64);

/// A random `u32` from std's randomly keyed `RandomState` (libzmq seeds its generated routing
/// ids and REQ request ids randomly; this avoids a clock or an RNG dependency).
fn random_u32() -> u32 {
    use std::hash::BuildHasher;
    // Truncation intended: any 32 bits of the hash will do.
    std::collections::hash_map::RandomState::new().hash_one(0x5a5a_u16) as u32
}
