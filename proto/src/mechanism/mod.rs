//! Security mechanisms (RFC 23 §"Security Mechanisms"): the handshake run between the
//! greetings and traffic. Only NULL exists today; PLAIN (RFC 24) and CURVE (RFC 25) are meant
//! to become further `Handshake` variants, each a chain of `Expect*` states.
//!
//! A mechanism sees only the handshake commands; the session owns framing, the peer's
//! socket-type check (common to all mechanisms) and timers. CURVE will also need to wrap
//! traffic frames after the handshake; that hook does not exist yet.

mod null;

use bytes::{Bytes, BytesMut};

use crate::codec::{Command, Metadata};
use crate::error::SessionError;
use crate::session::MechanismConfig;

/// The handshake of one mechanism, in whatever state it has reached.
#[derive(Debug)]
pub(crate) enum Handshake {
    /// RFC 23 §"The NULL Security Mechanism".
    Null(null::NullHandshake),
}

/// The result of a handshake command.
#[derive(Debug)]
pub(crate) enum HandshakeStep {
    /// More commands are needed (NULL never needs them; PLAIN and CURVE will).
    #[allow(dead_code)]
    Continue,
    /// The handshake is complete; these are the peer's metadata properties.
    Done(Metadata),
}

impl Handshake {
    /// The handshake for `config`; `metadata` is what we announce (Socket-Type, Identity).
    pub(crate) fn new(config: &MechanismConfig, metadata: Metadata) -> Self {
        match config {
            MechanismConfig::Null => Handshake::Null(null::NullHandshake::new(metadata)),
        }
    }

    /// The mechanism name sent in the greeting.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Handshake::Null(_) => "NULL",
        }
    }

    /// Our as-server greeting flag (RFC 23 §"Topology": zero for NULL).
    pub(crate) fn as_server(&self) -> bool {
        match self {
            Handshake::Null(_) => false,
        }
    }

    /// Called once the peer's greeting has been accepted: queues our first commands.
    pub(crate) fn start(&mut self, out: &mut BytesMut) {
        match self {
            Handshake::Null(h) => h.start(out),
        }
    }

    /// Handles one command received during the handshake.
    pub(crate) fn handle_command(
        &mut self,
        command: Command,
        out: &mut BytesMut,
    ) -> Result<HandshakeStep, SessionError> {
        // RFC 23 §"Error Handling": an ERROR is fatal, whatever the mechanism.
        if let Command::Error { reason } = &command {
            return Err(peer_error(reason));
        }
        match self {
            Handshake::Null(h) => h.handle_command(command, out),
        }
    }
}

/// The error for an ERROR command received from the peer.
pub(crate) fn peer_error(reason: &Bytes) -> SessionError {
    SessionError::PeerError {
        reason: String::from_utf8_lossy(reason).into_owned(),
    }
}
