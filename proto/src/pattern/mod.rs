//! Routing strategies of the ZeroMQ patterns (RFC 28 request-reply, RFC 30 pipeline,
//! RFC 31 exclusive pair), as plain data structures: they take peer events and return
//! decisions, and know nothing of sockets, pipes or threads.
//!
//! STUB: the contract the socket core codes against; a helper implements and tests it.

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
