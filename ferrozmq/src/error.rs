//! Typed errors of the public API: one error type per operation, each with an `errno()` code
//! matching libzmq's for callers that need compatibility.

use std::io;

use ferrozmq_proto::pattern::ReqError;

use crate::Message;

/// libzmq-compatible errno values (Linux numbering; ZeroMQ's own codes for EFSM and ETERM).
pub mod errno {
    /// Resource temporarily unavailable.
    pub const EAGAIN: i32 = 11;
    /// Invalid argument.
    pub const EINVAL: i32 = 22;
    /// No such endpoint.
    pub const ENOENT: i32 = 2;
    /// Operation not supported by this socket type.
    pub const ENOTSUP: i32 = 95;
    /// Protocol (transport) not supported.
    pub const EPROTONOSUPPORT: i32 = 93;
    /// Address already in use.
    pub const EADDRINUSE: i32 = 98;
    /// Cannot assign requested address.
    pub const EADDRNOTAVAIL: i32 = 99;
    /// No route to the peer (ROUTER_MANDATORY).
    pub const EHOSTUNREACH: i32 = 113;
    /// Operation cannot be accomplished in current state (ZeroMQ's EFSM).
    pub const EFSM: i32 = 156_384_763;
    /// Context (or socket) was terminated (ZeroMQ's ETERM).
    pub const ETERM: i32 = 156_384_765;
}

/// An endpoint string that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// No `://` separator, e.g. `"127.0.0.1:5555"`.
    #[error("endpoint has no transport: write it as tcp://HOST:PORT, ipc://PATH or inproc://NAME")]
    MissingTransport,
    /// A transport other than tcp, ipc or inproc.
    #[error("unsupported transport {0:?}: use tcp, ipc or inproc")]
    UnknownTransport(String),
    /// The address part cannot be parsed for this transport.
    #[error("invalid address {0:?} for this transport")]
    InvalidAddress(String),
    /// A host name that does not resolve.
    #[error("cannot resolve host {0:?}")]
    Unresolvable(String),
}

/// Why a context (its I/O thread) could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// The OS refused an epoll instance, an eventfd or a thread (out of descriptors, threads
    /// or memory).
    #[error("cannot start the I/O thread: {0}")]
    Io(#[source] io::Error),
}

/// Why a `bind` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// The endpoint is malformed.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// Another socket (or a live process, for ipc) owns the address.
    #[error("address already in use: {0}")]
    AddrInUse(String),
    /// The address is not local to this machine.
    #[error("address not available: {0}")]
    AddrNotAvailable(String),
    /// Any other operating-system error.
    #[error("bind failed: {0}")]
    Io(#[source] io::Error),
    /// The socket was closed.
    #[error("socket is closed")]
    Closed,
    /// The context's I/O thread failed (see [`SendErrorKind::EngineFailed`]).
    #[error("the context's I/O thread failed; its sockets are closed")]
    EngineFailed,
}

impl BindError {
    /// libzmq-compatible errno.
    pub fn errno(&self) -> i32 {
        match self {
            BindError::Endpoint(EndpointError::UnknownTransport(_)) => errno::EPROTONOSUPPORT,
            BindError::Endpoint(_) => errno::EINVAL,
            BindError::AddrInUse(_) => errno::EADDRINUSE,
            BindError::AddrNotAvailable(_) => errno::EADDRNOTAVAIL,
            BindError::Io(e) => e.raw_os_error().unwrap_or(errno::EINVAL),
            BindError::Closed | BindError::EngineFailed => errno::ETERM,
        }
    }
}

/// Why a `connect` failed. Connection failures after this call are retried in the
/// background and reported as monitor events, not here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The endpoint is malformed.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The socket was closed.
    #[error("socket is closed")]
    Closed,
    /// The context's I/O thread failed (see [`SendErrorKind::EngineFailed`]).
    #[error("the context's I/O thread failed; its sockets are closed")]
    EngineFailed,
}

impl ConnectError {
    /// libzmq-compatible errno.
    pub fn errno(&self) -> i32 {
        match self {
            ConnectError::Endpoint(EndpointError::UnknownTransport(_)) => errno::EPROTONOSUPPORT,
            ConnectError::Endpoint(_) => errno::EINVAL,
            ConnectError::Closed | ConnectError::EngineFailed => errno::ETERM,
        }
    }
}

/// Why an `unbind` or `disconnect` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetachError {
    /// The endpoint is malformed.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The socket is not bound (or connected) to this endpoint.
    #[error("not bound or connected to {0}")]
    NotFound(String),
    /// The socket was closed.
    #[error("socket is closed")]
    Closed,
}

impl DetachError {
    /// libzmq-compatible errno.
    pub fn errno(&self) -> i32 {
        match self {
            DetachError::Endpoint(_) => errno::EINVAL,
            DetachError::NotFound(_) => errno::ENOENT,
            DetachError::Closed => errno::ETERM,
        }
    }
}

/// Why a message was not sent; the message is handed back.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct SendError {
    kind: SendErrorKind,
    msg: Message,
}

/// The cause of a [`SendError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendErrorKind {
    /// Non-blocking send and no peer can take the message now.
    #[error("no peer can take the message now (would block)")]
    WouldBlock,
    /// The send time-out expired.
    #[error("timed out waiting for a peer to take the message")]
    Timeout,
    /// The socket was closed.
    #[error("socket is closed")]
    Closed,
    /// The context's I/O thread stopped on an internal error; its sockets are closed and the
    /// context cannot move messages any more (make a new one).
    #[error("the context's I/O thread failed; its sockets are closed")]
    EngineFailed,
    /// The socket's state machine refuses a send now (REQ awaiting a reply, REP with no request).
    #[error(transparent)]
    InvalidState(#[from] ReqError),
    /// ROUTER_MANDATORY is set and the routing id names no connected peer.
    #[error("no connected peer has this routing id (ROUTER_MANDATORY)")]
    HostUnreachable,
    /// This socket type cannot send (PULL, SUB).
    #[error("this socket type cannot send")]
    NotSupported,
    /// A ROUTER message needs a routing-id frame first.
    #[error("the message has no routing-id frame")]
    MissingRoutingId,
}

impl SendError {
    /// Wraps a cause and the refused message.
    pub fn new(kind: SendErrorKind, msg: Message) -> Self {
        SendError { kind, msg }
    }
    /// The cause.
    pub fn kind(&self) -> SendErrorKind {
        self.kind
    }
    /// The message that was not sent.
    pub fn into_message(self) -> Message {
        self.msg
    }
    /// libzmq-compatible errno.
    pub fn errno(&self) -> i32 {
        match self.kind {
            SendErrorKind::WouldBlock | SendErrorKind::Timeout => errno::EAGAIN,
            SendErrorKind::Closed | SendErrorKind::EngineFailed => errno::ETERM,
            SendErrorKind::InvalidState(_) => errno::EFSM,
            SendErrorKind::HostUnreachable => errno::EHOSTUNREACH,
            SendErrorKind::NotSupported => errno::ENOTSUP,
            SendErrorKind::MissingRoutingId => errno::EHOSTUNREACH,
        }
    }
}

impl From<SendError> for io::Error {
    fn from(e: SendError) -> io::Error {
        let kind = match e.kind {
            SendErrorKind::WouldBlock => io::ErrorKind::WouldBlock,
            SendErrorKind::Timeout => io::ErrorKind::TimedOut,
            SendErrorKind::Closed => io::ErrorKind::NotConnected,
            SendErrorKind::EngineFailed => io::ErrorKind::BrokenPipe,
            SendErrorKind::HostUnreachable | SendErrorKind::MissingRoutingId => {
                io::ErrorKind::HostUnreachable
            }
            _ => io::ErrorKind::Unsupported,
        };
        io::Error::new(kind, e.kind)
    }
}

/// Why no message was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// Non-blocking receive and nothing is queued.
    #[error("no message is available (would block)")]
    WouldBlock,
    /// The receive time-out expired.
    #[error("timed out waiting for a message")]
    Timeout,
    /// The socket was closed.
    #[error("socket is closed")]
    Closed,
    /// The context's I/O thread stopped on an internal error; its sockets are closed and the
    /// context cannot move messages any more (make a new one).
    #[error("the context's I/O thread failed; its sockets are closed")]
    EngineFailed,
    /// The socket's state machine refuses a receive now (REQ with no request outstanding).
    #[error(transparent)]
    InvalidState(#[from] ReqError),
    /// This socket type cannot receive (PUSH, PUB).
    #[error("this socket type cannot receive")]
    NotSupported,
}

impl RecvError {
    /// libzmq-compatible errno.
    pub fn errno(&self) -> i32 {
        match self {
            RecvError::WouldBlock | RecvError::Timeout => errno::EAGAIN,
            RecvError::Closed | RecvError::EngineFailed => errno::ETERM,
            RecvError::InvalidState(_) => errno::EFSM,
            RecvError::NotSupported => errno::ENOTSUP,
        }
    }
}

impl From<RecvError> for io::Error {
    fn from(e: RecvError) -> io::Error {
        let kind = match e {
            RecvError::WouldBlock => io::ErrorKind::WouldBlock,
            RecvError::Timeout => io::ErrorKind::TimedOut,
            RecvError::Closed => io::ErrorKind::NotConnected,
            RecvError::EngineFailed => io::ErrorKind::BrokenPipe,
            _ => io::ErrorKind::Unsupported,
        };
        io::Error::new(kind, e)
    }
}

/// An option value that is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    /// The value is out of range (e.g. a routing id longer than 255 bytes or starting with 0).
    #[error("invalid value for {0}")]
    InvalidValue(&'static str),
    /// The option does not apply to this socket type.
    #[error("{0} does not apply to this socket type")]
    NotApplicable(&'static str),
    /// The socket was closed.
    #[error("socket is closed")]
    Closed,
}
