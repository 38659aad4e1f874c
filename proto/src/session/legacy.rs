//! The fall-back to ZMTP 2.0 (RFC 15) and ZMTP 1.0 (RFC 13): the rest of the greeting once
//! the peer's first bytes showed an older revision, and the peer's identity frame. After it
//! the session's traffic loop runs as for 3.x, with the legacy framing of `codec::v1`/`v2`.
//!
//! These revisions have no commands, no mechanism and no metadata: the identity frame is the
//! whole handshake, and a session with a mechanism other than NULL refuses them.

use std::time::Instant;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{put_header, Framing, PeerIdentity, Session, SessionEvent, State};
use crate::codec::{v1, v2, Metadata, SIGNATURE_LEN, SOCKET_TYPE_AT, V2_GREETING_LEN};
use crate::error::{PeerMisbehaved, SessionError, WireRevision};
use crate::{SocketType, Subscriptions};

/// RFC 13 §"The Connection Layer": an identity is 0 to 255 octets.
const MAX_IDENTITY: usize = 255;

impl Session {
    /// The peer sent no signature: it speaks ZMTP 1.0, and what it sent so far is its
    /// identity frame, left in the buffer for [`Session::read_identity`].
    pub(super) fn start_zmtp1_unversioned(&mut self) -> Result<bool, SessionError> {
        self.refuse_legacy(WireRevision::Zmtp1_0)?;
        // RFC 15 §"Backwards Interoperability": the peer read our 10-byte signature as the
        // header of an identity frame of our routing id's length; its body follows.
        if self.greeting_sent == SIGNATURE_LEN {
            let id = self.routing_id.clone();
            self.out.staging().put_slice(&id);
        }
        self.greeting_sent = usize::MAX; // nothing more of the 3.x greeting goes out
        self.framing = Framing::Zmtp1;
        self.state = State::ExpectIdentity(None);
        Ok(true)
    }

    /// The peer's signature is followed by revision 0 (ZMTP 1.0 framing) or 1 (ZMTP 2.0):
    /// answer with our socket type and identity, then read the peer's socket type.
    pub(super) fn read_legacy_greeting(
        &mut self,
        buf: &mut BytesMut,
        revision: u8,
    ) -> Result<bool, SessionError> {
        let (wire, framing) = if revision == 0 {
            (WireRevision::Zmtp1_0, Framing::Zmtp1)
        } else {
            (WireRevision::Zmtp2_0, Framing::Zmtp2)
        };
        self.refuse_legacy(wire)?;
        if self.greeting_sent <= SIGNATURE_LEN + 1 {
            // As libzmq: our major version byte (3) stands where the revision goes; then,
            // RFC 15 §"Formal Grammar": greeting = signature revision socket-type identity.
            self.send_greeting_until(SIGNATURE_LEN + 1);
            let id = self.routing_id.clone();
            let out = self.out.staging();
            out.put_u8(self.socket_type.zmtp2_number());
            put_header(out, framing, false, id.len());
            out.put_slice(&id);
            self.greeting_sent = usize::MAX;
        }
        let Some(&number) = buf.get(SOCKET_TYPE_AT) else {
            return Ok(false);
        };
        // RFC 15 §"Socket Compatibility": check the peer's type as for 3.x.
        let peer = SocketType::from_zmtp2_number(number)
            .ok_or(PeerMisbehaved::UnknownSocketTypeNumber(number))?;
        if !self.socket_type.is_compatible(peer) {
            return Err(PeerMisbehaved::IncompatibleSocketType {
                ours: self.socket_type,
                peer,
            }
            .into());
        }
        buf.advance(V2_GREETING_LEN);
        self.framing = framing;
        self.state = State::ExpectIdentity(Some(peer));
        Ok(true)
    }

    /// Reads the peer's identity frame (RFC 13 §"The Connection Layer", RFC 15 §"Formal
    /// Grammar"); returns true once it arrived and traffic may flow.
    pub(super) fn read_identity(
        &mut self,
        buf: &mut BytesMut,
        now: Instant,
    ) -> Result<bool, SessionError> {
        // The size is checked before the body is waited for.
        let limit = MAX_IDENTITY as u64;
        let header = match self.framing {
            Framing::Zmtp1 => v1::decode_header(buf, limit),
            _ => v2::decode_header(buf, limit),
        }
        .map_err(|err| match err {
            PeerMisbehaved::FrameTooLarge { size, .. } => PeerMisbehaved::IdentityTooLong(size),
            other => other,
        })?
        .map(|h| h.split_body(buf));
        let Some(Some(identity)) = header else {
            return Ok(false);
        };
        let State::ExpectIdentity(peer_type) = self.state else {
            return Ok(true);
        };
        // The identity's MORE flag is not looked at: RFC 13 says its flags are not
        // validated, and libzmq's ZMTP 1.0 identity header carries 0x7F.
        let (socket_type, revision) = match (peer_type, self.framing) {
            (Some(t), Framing::Zmtp2) => (t, WireRevision::Zmtp2_0),
            (Some(t), _) => (t, WireRevision::Zmtp1_0),
            (None, _) => (assumed_peer_type(self.socket_type), WireRevision::Zmtp1_0),
        };
        self.minor = 0;
        let routing_id = Some(identity).filter(|id: &Bytes| !id.is_empty());
        let peer = PeerIdentity {
            socket_type,
            routing_id,
            revision,
            user_id: None,
            properties: Metadata::new(),
        };
        self.enter_traffic(peer, now);
        // A ZMTP 1.0 subscriber sends no subscriptions (RFC 13 §"Broadcast Content": it
        // "SHALL NOT send any content") and filters itself: as libzmq, a publisher sends
        // it everything, as if it had subscribed to all topics.
        let publisher = self.socket_type.capabilities().subscriptions == Subscriptions::Publisher;
        if peer_type.is_none() && publisher {
            self.events.push_back(SessionEvent::Subscribe(Bytes::new()));
        }
        Ok(true)
    }

    /// Fails if this session may not speak `revision`.
    fn refuse_legacy(&self, revision: WireRevision) -> Result<(), SessionError> {
        match self.legacy_refusal {
            Some(reason) => Err(SessionError::LegacyPeerRefused { revision, reason }),
            None => Ok(()),
        }
    }
}

/// The socket type a ZMTP 1.0 peer, which announces none, is taken to have: one that may
/// talk to ours (RFC 13 has no socket types; libzmq 2.x checked nothing either).
fn assumed_peer_type(ours: SocketType) -> SocketType {
    use SocketType::*;
    match ours {
        Pair => Pair,
        Pub | XPub => Sub,
        Sub | XSub => Pub,
        Req | Dealer => Router,
        Rep | Router => Dealer,
        Pull => Push,
        Push => Pull,
        // Never reached: STREAM runs a raw session, not a ZMTP one.
        Stream => Stream,
    }
}
