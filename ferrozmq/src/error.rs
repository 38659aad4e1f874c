//! Typed errors of the public API: one error type per operation, each with an `errno()` code
//! matching libzmq's for callers that need compatibility, and [`Error`], the crate-level
//! error every one of them converts into (for `?` in code that calls many operations).
//!
//! A variant that wraps an OS error returns it from `source()` and does not repeat its text
//! in its own message, so a report that walks the chain (`anyhow`'s `{:#}`) prints each
//! cause once.

use std::io;

use ferrozmq_proto::pattern::ReqError;

use crate::Message;

/// libzmq-compatible errno values: the platform's own (from `libc`), and ZeroMQ's own codes
/// for EFSM and ETERM.
pub mod errno {
    /// Resource temporarily unavailable.
    pub const EAGAIN: i32 = libc::EAGAIN;
    /// Invalid argument.
    pub const EINVAL: i32 = libc::EINVAL;
    /// No such endpoint.
    pub const ENOENT: i32 = libc::ENOENT;
    /// Operation not supported by this socket type.
    pub const ENOTSUP: i32 = libc::ENOTSUP;
    /// Protocol (transport) not supported.
    pub const EPROTONOSUPPORT: i32 = libc::EPROTONOSUPPORT;
    /// Address already in use.
    pub const EADDRINUSE: i32 = libc::EADDRINUSE;
    /// Cannot assign requested address.
    pub const EADDRNOTAVAIL: i32 = libc::EADDRNOTAVAIL;
    /// No route to the peer (ROUTER_MANDATORY).
    pub const EHOSTUNREACH: i32 = libc::EHOSTUNREACH;
    /// Operation cannot be accomplished in current state (ZeroMQ's EFSM: `ZMQ_HAUSNUMERO`
    /// + 51).
    pub const EFSM: i32 = ZMQ_HAUSNUMERO + 51;
    /// Context (or socket) was terminated (ZeroMQ's ETERM: `ZMQ_HAUSNUMERO` + 53).
    pub const ETERM: i32 = ZMQ_HAUSNUMERO + 53;
    /// The base of ZeroMQ's own error numbers (`zmq.h`).
    const ZMQ_HAUSNUMERO: i32 = 156_384_712;
}

/// Any error of this crate: each per-operation error converts into it, so code that binds,
/// connects, sends and receives can use `?` with one error type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A context could not be made.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// An endpoint string is malformed.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// `bind` failed.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// `connect` failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// `unbind` or `disconnect` failed.
    #[error(transparent)]
    Detach(#[from] DetachError),
    /// A send failed (the message is in the error).
    #[error(transparent)]
    Send(#[from] SendError),
    /// A receive failed.
    #[error(transparent)]
    Recv(#[from] RecvError),
    /// An option was refused.
    #[error(transparent)]
    Option(#[from] OptionError),
    /// A poller operation failed.
    #[error(transparent)]
    Poll(#[from] crate::PollError),
    /// A proxy stopped.
    #[error(transparent)]
    Proxy(#[from] crate::ProxyError),
    /// A monitor receive returned no event.
    #[error(transparent)]
    Monitor(#[from] crate::MonitorRecvError),
}

impl Error {
    /// libzmq-compatible errno of the underlying error.
    pub fn errno(&self) -> i32 {
        match self {
            Error::Context(ContextError::Io(e)) => e.raw_os_error().unwrap_or(errno::EINVAL),
            Error::Endpoint(
                EndpointError::UnknownTransport(_) | EndpointError::NotForStream(_),
            ) => errno::EPROTONOSUPPORT,
            Error::Endpoint(_) => errno::EINVAL,
            Error::Bind(e) => e.errno(),
            Error::Connect(e) => e.errno(),
            Error::Detach(e) => e.errno(),
            Error::Send(e) => e.errno(),
            Error::Recv(e) => e.errno(),
            Error::Option(e) => e.errno(),
            Error::Poll(_) | Error::Proxy(_) | Error::Monitor(_) => errno::EINVAL,
        }
    }
}

impl From<SendErrorKind> for Error {
    fn from(kind: SendErrorKind) -> Error {
        Error::Send(SendError::new(kind, Message::new()))
    }
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
    /// A STREAM socket talks to raw byte streams, which only tcp and ipc carry (libzmq's
    /// STREAM has no inproc either).
    #[error("a STREAM socket takes tcp:// and ipc:// endpoints, not {0}://")]
    NotForStream(String),
}

/// Why a context (its I/O thread) could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// The OS refused an epoll instance, an eventfd or a thread (out of descriptors, threads
    /// or memory).
    #[error("cannot start the I/O thread")]
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
    #[error("bind failed")]
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
            BindError::Endpoint(
                EndpointError::UnknownTransport(_) | EndpointError::NotForStream(_),
            ) => errno::EPROTONOSUPPORT,
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
            ConnectError::Endpoint(
                EndpointError::UnknownTransport(_) | EndpointError::NotForStream(_),
            ) => errno::EPROTONOSUPPORT,
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

impl OptionError {
    /// libzmq-compatible errno: EINVAL for a refused option (as `zmq_setsockopt`), ETERM
    /// on a closed socket.
    pub fn errno(&self) -> i32 {
        match self {
            OptionError::InvalidValue(_) | OptionError::NotApplicable(_) => errno::EINVAL,
            OptionError::Closed => errno::ETERM,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message of a chain, outermost first (what `anyhow`'s `{:#}` prints).
    fn chain(e: &dyn std::error::Error) -> String {
        let mut parts = vec![e.to_string()];
        let mut cause = e.source();
        while let Some(c) = cause {
            parts.push(c.to_string());
            cause = c.source();
        }
        parts.join(": ")
    }

    #[test]
    fn an_os_error_prints_once_in_the_chain() {
        let os = || io::Error::from_raw_os_error(libc::ENOENT);
        let text = os().to_string();
        for e in [
            Error::from(BindError::Io(os())),
            Error::from(ContextError::Io(os())),
            Error::from(crate::PollError::Io(os())),
        ] {
            let report = chain(&e);
            assert_eq!(report.matches(&text).count(), 1, "{report}");
        }
        assert_eq!(chain(&BindError::Io(os())), format!("bind failed: {text}"));
    }

    #[test]
    fn errno_values_are_the_platforms() {
        assert_eq!(errno::EAGAIN, libc::EAGAIN);
        assert_eq!(errno::EADDRINUSE, libc::EADDRINUSE);
        // zmq.h: EFSM and ETERM are ZMQ_HAUSNUMERO + 51 and + 53.
        assert_eq!(errno::EFSM, 156_384_763);
        assert_eq!(errno::ETERM, 156_384_765);
        let e = Error::from(OptionError::NotApplicable("ZMQ_ROUTER_MANDATORY"));
        assert_eq!(e.errno(), libc::EINVAL);
        let e = Error::from(BindError::AddrInUse("tcp://127.0.0.1:1".into()));
        assert_eq!(e.errno(), libc::EADDRINUSE);
    }
}
