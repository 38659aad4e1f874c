//! ferrozmq: ZeroMQ in pure Rust.
//!
//! Wire-compatible with ZMTP 3.1 and 3.0 (RFC 23, RFC 37), so it talks to libzmq and every
//! other ZeroMQ peer. Unlike libzmq, every [`Socket`] is `Send + Sync` and cheap to clone: any
//! number of threads may send and receive on one socket at once, and a blocked `recv` never
//! stops another thread's `send`. Each socket offers blocking, time-out, non-blocking and
//! `async` calls; the futures work under any executor.
//!
//! ```no_run
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

#![deny(missing_docs)]

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
pub use ferrozmq_proto::pattern::ReqError;
pub use ferrozmq_proto::{Capabilities, Frame, Message, Routing, SocketType, Subscriptions};
pub use ferrozmq_proto::{DecodeError, LegacyRefusal, PeerMisbehaved, SessionError, WireRevision};
pub use monitor::{
    DisconnectReason, HandshakeFailure, Monitor, MonitorEvent, MonitorEventKind, MonitorRecvError,
    PeerRefusal, MONITOR_CAPACITY,
};
pub use options::{Options, SocketOption};
pub use poller::{Interest, PollError, PollEvent, Poller, PollerKey, PollerStats, PollerWaker};
pub use proxy::{
    proxy, proxy_steerable, Proxy, ProxyControl, ProxyError, ProxySocket, ProxyStatistics,
    SocketStatistics,
};
pub use socket::Socket;
