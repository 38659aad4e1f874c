//! Sans-IO core of ferrozmq: the ZMTP 3.x wire protocol (RFC 23, RFC 37), the fall-back to
//! ZMTP 2.0 and 1.0 peers (RFC 15, RFC 13), and the routing strategies of the ZeroMQ patterns
//! (RFC 28-31).
//!
//! Nothing in this crate touches a socket, a thread or a clock: inputs are bytes and
//! [`std::time::Instant`]s handed in by the caller, outputs are bytes, messages and events.
//! That keeps every wire rule testable on byte fixtures and fuzzable.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Everything here handles bytes or messages from the network: no indexing, unwrapping or
// panicking outside tests (STYLE.md, "Hostile input").
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod codec;
pub mod error;
pub mod frame;
pub mod mechanism;
pub mod message;
pub mod pattern;
pub mod session;
pub mod socket_type;
pub mod z85;

pub use error::{DecodeError, LegacyRefusal, PeerMisbehaved, SessionError, WireRevision};
pub use frame::Frame;
pub use mechanism::{
    CurveKeyPair, CurvePublicKey, CurveSecretKey, SecretBytes, ZapReply, ZapRequest,
};
pub use message::Message;
pub use session::{PeerInfo, RawSession, Session, SessionConfig, SessionEvent};
pub use socket_type::{Capabilities, Routing, SocketType, Subscriptions};
