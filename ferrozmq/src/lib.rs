//! ferrozmq: ZeroMQ in pure Rust.
//!
//! Wire-compatible with ZMTP 3.1 and 3.0 (RFC 23, RFC 37), so it talks to libzmq and every
//! other ZeroMQ peer. Unlike libzmq, every [`Socket`] is `Send + Sync` and cheap to clone: any
//! number of threads may send and receive on one socket at once, and a blocked `recv` never
//! stops another thread's `send`. Each socket offers blocking, time-out, non-blocking and
//! `async` calls; the futures work under any executor.
//!
//! ```
//! use ferrozmq::{Socket, SocketType};
//!
//! let rep = Socket::new(SocketType::Rep);
//! let endpoint = rep.bind("tcp://127.0.0.1:*").unwrap();
//! let req = Socket::new(SocketType::Req);
//! req.connect(&endpoint).unwrap();
//! req.send("hello").unwrap();
//! let request = rep.recv().unwrap();
//! rep.send(request).unwrap();
//! assert_eq!(&req.recv().unwrap().frames()[0][..], b"hello");
//! ```
//!
//! Async code uses the same sockets as a [`futures_core::Stream`] ([`Socket::stream`]) and a
//! `futures_sink::Sink` ([`Socket::sink`]), under any executor:
//!
//! ```
//! use ferrozmq::{Context, Message, SocketType};
//! use futures::{SinkExt, StreamExt};
//!
//! futures::executor::block_on(async {
//!     let ctx = Context::new();
//!     let pull = ctx.socket(SocketType::Pull);
//!     let endpoint = pull.bind("tcp://127.0.0.1:*")?;
//!     let push = ctx.socket(SocketType::Push);
//!     push.connect(&endpoint)?;
//!     push.sink().send(Message::from("hello")).await?;
//!     let msg = pull.stream().next().await.expect("open socket")?;
//!     assert_eq!(msg.frames()[0], "hello");
//!     ctx.terminate_async().await; // never blocks the executor thread
//!     Ok::<(), ferrozmq::Error>(())
//! })
//! .unwrap();
//! ```

#![deny(missing_docs)]

// Unix only (Linux is what is tested): ipc is a Unix domain socket, the engine uses
// Unix descriptors, and interface names come from getifaddrs(3). Say so plainly instead of
// failing somewhere inside the build.
#[cfg(not(unix))]
compile_error!("ferrozmq supports Unix targets only (Linux is tested; see the README)");

pub mod auth;
mod context;
mod endpoint;
mod engine;
pub mod error;
mod loom;
mod monitor;
mod options;
mod poller;
mod proxy;
pub mod recipes;
mod socket;
mod transport;

pub use bytes::Bytes;
pub use context::Context;
pub use error::{
    BindError, ConnectError, ContextError, DetachError, EndpointError, Error, OptionError,
    RecvError, SendError, SendErrorKind,
};
pub use ferrozmq_proto::mechanism::{
    CurveKeyPair, CurvePublicKey, CurveSecretKey, KeyError, SecretBytes, ZapReply, ZapRequest,
};
pub use ferrozmq_proto::pattern::ReqError;
pub use ferrozmq_proto::z85;
pub use ferrozmq_proto::{Capabilities, Frame, Message, Routing, SocketType, Subscriptions};
pub use ferrozmq_proto::{DecodeError, LegacyRefusal, PeerMisbehaved, SessionError, WireRevision};
pub use monitor::{
    DisconnectReason, HandshakeFailure, Monitor, MonitorEvent, MonitorEventKind, MonitorRecvError,
    PeerRefusal, MONITOR_CAPACITY,
};
pub use options::{Mechanism, Options, SocketOption};

/// A new random CURVE key pair (libzmq's `zmq_curve_keypair`); print it with
/// [`CurvePublicKey::to_z85`] and [`CurveSecretKey::to_z85`].
pub fn curve_keypair() -> CurveKeyPair {
    CurveKeyPair::generate()
}

/// The public key of a CURVE secret key (libzmq's `zmq_curve_public`).
pub fn curve_public(secret: &CurveSecretKey) -> CurvePublicKey {
    secret.public_key()
}
pub use poller::{Interest, PollError, PollEvent, Poller, PollerKey, PollerStats, PollerWaker};
pub use proxy::{
    proxy, proxy_steerable, Proxy, ProxyControl, ProxyError, ProxySocket, ProxyStatistics,
    SocketStatistics,
};
pub use socket::{Socket, SocketSink, SocketStream};
