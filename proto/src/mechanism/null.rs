//! The NULL mechanism (RFC 23 §"The NULL Security Mechanism"): each side sends READY with its
//! metadata and waits for the other's READY. No authentication, no confidentiality.
//!
//! With a ZAP handler and a ZAP domain (libzmq asks ZAP for NULL only then), the server asks
//! the handler once the peer's READY arrived, before accepting it.

use bytes::{Bytes, BytesMut};

use super::{auth_refused, unexpected, Done, HandshakeStep, ZapReply, ZapRequest};
use crate::codec::{Command, Metadata};
use crate::error::PeerMisbehaved;
use crate::error::SessionError;

/// NULL handshake state: our READY is sent at [`NullHandshake::start`], then we expect theirs.
#[derive(Debug)]
pub(crate) struct NullHandshake {
    /// Our metadata, taken when READY is sent.
    ours: Option<Metadata>,
    /// The ZAP request template, when ZAP is to be asked.
    zap: Option<ZapRequest>,
    /// What ZAP granted (user id, properties), once it allowed the peer.
    granted: Option<(Bytes, Metadata)>,
}

impl NullHandshake {
    pub(crate) fn new(ours: Metadata, zap: Option<ZapRequest>) -> Self {
        let zap = zap.filter(|z| !z.domain.is_empty());
        NullHandshake {
            ours: Some(ours),
            zap,
            granted: None,
        }
    }

    /// RFC 23: "the client SHALL send a READY command and then wait for a READY command".
    /// libzmq's server sends READY without waiting too, and so do we: both sides send first.
    /// With ZAP, as libzmq, the handler is asked first (NULL has no credentials to wait for)
    /// and our READY waits for its decision.
    pub(crate) fn start(&mut self, out: &mut BytesMut) -> Option<ZapRequest> {
        if let Some(mut request) = self.zap.take() {
            request.mechanism = "NULL";
            return Some(request);
        }
        if let Some(ours) = self.ours.take() {
            Command::Ready(ours).encode(out);
        }
        None
    }

    pub(crate) fn handle_command(
        &mut self,
        name: &[u8],
        data: Bytes,
        _out: &mut BytesMut,
    ) -> Result<HandshakeStep, SessionError> {
        // RFC 23 grammar: null = ready *message | error. Nothing else may come first.
        if name != b"READY" {
            return Err(unexpected(name));
        }
        let peer = Metadata::decode(data).map_err(PeerMisbehaved::from)?;
        let mut done = Done::clear(peer);
        if let Some((user_id, metadata)) = self.granted.take() {
            done.user_id = Some(user_id);
            done.zap_metadata = metadata;
        }
        Ok(HandshakeStep::Done(done))
    }

    pub(crate) fn handle_zap_reply(
        &mut self,
        reply: ZapReply,
        out: &mut BytesMut,
    ) -> Result<HandshakeStep, SessionError> {
        if !reply.allows() {
            return Err(auth_refused(out, &reply));
        }
        let Some(ours) = self.ours.take() else {
            return Err(unexpected(b"ZAP reply"));
        };
        Command::Ready(ours).encode(out);
        self.granted = Some((reply.user_id, reply.metadata));
        Ok(HandshakeStep::Continue)
    }
}
