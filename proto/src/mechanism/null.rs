//! The NULL mechanism (RFC 23 §"The NULL Security Mechanism"): each side sends READY with its
//! metadata and waits for the other's READY. No authentication, no confidentiality.

use bytes::{Bytes, BytesMut};

use super::HandshakeStep;
use crate::codec::{Command, Metadata};
use crate::error::{PeerMisbehaved, SessionError};

/// NULL handshake state: our READY is sent at [`NullHandshake::start`], then we expect theirs.
#[derive(Debug)]
pub(crate) struct NullHandshake {
    /// Our metadata, taken when READY is sent.
    ours: Option<Metadata>,
}

impl NullHandshake {
    pub(crate) fn new(ours: Metadata) -> Self {
        NullHandshake { ours: Some(ours) }
    }

    /// RFC 23: "the client SHALL send a READY command and then wait for a READY command".
    /// libzmq's server sends READY without waiting too, and so do we: both sides send first.
    pub(crate) fn start(&mut self, out: &mut BytesMut) {
        if let Some(ours) = self.ours.take() {
            Command::Ready(ours).encode(out);
        }
    }

    pub(crate) fn handle_command(
        &mut self,
        command: Command,
        _out: &mut BytesMut,
    ) -> Result<HandshakeStep, SessionError> {
        match command {
            Command::Ready(peer) => Ok(HandshakeStep::Done(peer)),
            // RFC 23 grammar: null = ready *message | error. Nothing else may come first.
            other => Err(PeerMisbehaved::UnexpectedCommand {
                name: Bytes::copy_from_slice(other.name()),
            }
            .into()),
        }
    }
}
