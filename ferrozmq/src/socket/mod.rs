//! [`Socket`]: the public, thread-safe socket handle.

use std::time::Duration;

use crate::error::{BindError, ConnectError, DetachError, OptionError, RecvError, SendError};
use crate::{Context, Message, Options, SocketOption, SocketType};

/// A ZeroMQ socket. `Send + Sync` and cheap to clone: clones are handles to the same socket,
/// and any number of threads may send and receive on it at once. Messages are sent and
/// received whole (all frames at once), so concurrent senders never interleave frames.
///
/// The socket closes when [`Socket::close`] is called or the last handle is dropped; pending
/// outgoing messages are then kept for at most LINGER.
#[derive(Clone, Debug)]
pub struct Socket {
    _p: (),
}

impl Socket {
    /// A socket in the process-wide default context.
    pub fn new(socket_type: SocketType) -> Socket {
        Context::global().socket(socket_type)
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        todo!()
    }

    /// Binds to an endpoint and returns the resolved endpoint (e.g. with the ephemeral port
    /// chosen for `tcp://127.0.0.1:*`), also kept as [`Socket::last_endpoint`].
    pub fn bind(&self, endpoint: &str) -> Result<String, BindError> {
        let _ = endpoint;
        todo!()
    }

    /// Connects to an endpoint. The connection is made (and remade after failures) in the
    /// background; messages queue for it meanwhile unless IMMEDIATE is set.
    pub fn connect(&self, endpoint: &str) -> Result<(), ConnectError> {
        let _ = endpoint;
        todo!()
    }

    /// Stops listening on an endpoint given to (or returned by) `bind`.
    pub fn unbind(&self, endpoint: &str) -> Result<(), DetachError> {
        let _ = endpoint;
        todo!()
    }

    /// Drops the connection made by `connect` to this endpoint, and its queue.
    pub fn disconnect(&self, endpoint: &str) -> Result<(), DetachError> {
        let _ = endpoint;
        todo!()
    }

    /// The endpoint resolved by the last successful `bind` (ZMQ_LAST_ENDPOINT).
    pub fn last_endpoint(&self) -> Option<String> {
        todo!()
    }

    /// Sets one option. Like libzmq, options affect connections made after the call.
    pub fn set_option(&self, option: SocketOption) -> Result<(), OptionError> {
        let _ = option;
        todo!()
    }

    /// A snapshot of the socket's options.
    pub fn options(&self) -> Options {
        todo!()
    }

    /// Sends a message, blocking up to SNDTIMEO (forever by default) until a peer can take it.
    pub fn send(&self, msg: impl Into<Message>) -> Result<(), SendError> {
        let _ = msg.into();
        todo!()
    }

    /// Sends without blocking; `WouldBlock` if no peer can take the message now.
    pub fn try_send(&self, msg: impl Into<Message>) -> Result<(), SendError> {
        let _ = msg.into();
        todo!()
    }

    /// Sends, waiting at most `timeout` (`None`: forever).
    pub fn send_timeout(
        &self,
        msg: impl Into<Message>,
        timeout: Option<Duration>,
    ) -> Result<(), SendError> {
        let _ = (msg.into(), timeout);
        todo!()
    }

    /// Receives a message, blocking up to RCVTIMEO (forever by default).
    pub fn recv(&self) -> Result<Message, RecvError> {
        todo!()
    }

    /// Receives without blocking; `WouldBlock` if nothing is queued.
    pub fn try_recv(&self) -> Result<Message, RecvError> {
        todo!()
    }

    /// Receives, waiting at most `timeout` (`None`: forever).
    pub fn recv_timeout(&self, timeout: Option<Duration>) -> Result<Message, RecvError> {
        let _ = timeout;
        todo!()
    }

    /// Sends asynchronously; the future works under any executor.
    pub async fn send_async(&self, msg: impl Into<Message>) -> Result<(), SendError> {
        let _ = msg.into();
        todo!()
    }

    /// Receives asynchronously; the future works under any executor.
    pub async fn recv_async(&self) -> Result<Message, RecvError> {
        todo!()
    }

    /// Closes the socket for every handle: blocked calls return `Closed`; pending outgoing
    /// messages are flushed for at most LINGER in the background.
    pub fn close(&self) {
        todo!()
    }
}
