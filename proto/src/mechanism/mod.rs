//! Security mechanisms (RFC 23 §"Security Mechanisms"): the handshake run between the
//! greetings and traffic. NULL (RFC 23), PLAIN (RFC 24) and CURVE (RFC 25/26), each a chain of
//! `Expect*` states that consume themselves; ZAP (RFC 27) requests and replies.
//!
//! A mechanism sees only the handshake commands; the session owns framing, the peer's
//! socket-type check (common to all mechanisms) and timers. CURVE also hands the session a
//! `CurveCipher` (in `curve.rs`) at the end of its handshake: the traffic hook that boxes and opens
//! every frame afterwards (NULL and PLAIN have none, so their fast path is unchanged).

pub(crate) mod curve;
mod keys;
mod null;
mod plain;
mod zap;

use bytes::{Bytes, BytesMut};

pub use self::keys::{CurveKeyPair, CurvePublicKey, CurveSecretKey, KeyError, SecretBytes};
pub use self::zap::{ZapReply, ZapReplyError, ZapRequest, ZAP_ENDPOINT, ZAP_VERSION};
use crate::codec::{Command, Metadata};
use crate::error::{PeerMisbehaved, SessionError};
use crate::session::MechanismConfig;

/// The handshake of one mechanism, in whatever state it has reached.
#[derive(Debug)]
pub(crate) enum Handshake {
    /// RFC 23 §"The NULL Security Mechanism".
    Null(null::NullHandshake),
    /// RFC 24.
    Plain(plain::PlainHandshake),
    /// RFC 25/26.
    Curve(Box<curve::CurveHandshake>),
}

/// The result of a handshake command.
#[derive(Debug)]
pub(crate) enum HandshakeStep {
    /// More commands are needed.
    Continue,
    /// Ask the ZAP handler and pause until [`Handshake::handle_zap_reply`].
    Zap(ZapRequest),
    /// The handshake is complete.
    Done(Done),
}

/// What a finished handshake hands the session.
#[derive(Debug)]
pub(crate) struct Done {
    /// The peer's metadata properties.
    pub(crate) peer: Metadata,
    /// The traffic cipher, for CURVE.
    pub(crate) cipher: Option<Box<curve::CurveCipher>>,
    /// The user id a ZAP handler returned.
    pub(crate) user_id: Option<Bytes>,
    /// Further properties a ZAP handler returned.
    pub(crate) zap_metadata: Metadata,
}

impl Done {
    /// A handshake without a cipher or ZAP result.
    pub(crate) fn clear(peer: Metadata) -> Self {
        Done {
            peer,
            cipher: None,
            user_id: None,
            zap_metadata: Metadata::new(),
        }
    }
}

impl Handshake {
    /// The handshake for `config`; `metadata` is what we announce (Socket-Type, Identity);
    /// `zap` is the request template when a ZAP handler is to be asked (servers only).
    pub(crate) fn new(
        config: &MechanismConfig,
        metadata: Metadata,
        zap: Option<ZapRequest>,
    ) -> Self {
        match config {
            MechanismConfig::Null => Handshake::Null(null::NullHandshake::new(metadata, zap)),
            MechanismConfig::PlainClient { username, password } => Handshake::Plain(
                plain::PlainHandshake::client(username.clone(), password.clone(), metadata),
            ),
            MechanismConfig::PlainServer => {
                Handshake::Plain(plain::PlainHandshake::server(metadata, zap))
            }
            MechanismConfig::CurveClient { keys, server_key } => Handshake::Curve(Box::new(
                curve::CurveHandshake::client(keys, *server_key, metadata),
            )),
            MechanismConfig::CurveServer { secret } => Handshake::Curve(Box::new(
                curve::CurveHandshake::server(secret, metadata, zap),
            )),
        }
    }

    /// The mechanism name sent in the greeting.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Handshake::Null(_) => "NULL",
            Handshake::Plain(_) => "PLAIN",
            Handshake::Curve(_) => "CURVE",
        }
    }

    /// Our as-server greeting flag (RFC 23 §"Topology": zero for NULL).
    pub(crate) fn as_server(&self) -> bool {
        match self {
            Handshake::Null(_) => false,
            Handshake::Plain(h) => h.is_server(),
            Handshake::Curve(h) => h.is_server(),
        }
    }

    /// Called once the peer's greeting has been accepted: queues our first commands, or
    /// returns a ZAP request to ask before anything else (NULL with a ZAP domain).
    pub(crate) fn start(&mut self, out: &mut BytesMut) -> Option<ZapRequest> {
        match self {
            Handshake::Null(h) => return h.start(out),
            Handshake::Plain(h) => h.start(out),
            Handshake::Curve(h) => h.start(out),
        }
        None
    }

    /// Handles one command frame's body received during the handshake.
    pub(crate) fn handle_command(
        &mut self,
        body: Bytes,
        out: &mut BytesMut,
    ) -> Result<HandshakeStep, SessionError> {
        if let (Handshake::Plain(_), Some(rest)) = (&*self, body.strip_prefix(LIBZMQ_PLAIN_ERROR)) {
            return Err(libzmq_plain_error(rest));
        }
        let (name, data) = crate::codec::command::split_name(body).map_err(PeerMisbehaved::from)?;
        // RFC 23 §"Error Handling": an ERROR is fatal, whatever the mechanism.
        if name.as_ref() == b"ERROR" {
            let mut body = BytesMut::with_capacity(6 + data.len());
            body.extend_from_slice(b"\x05ERROR");
            body.extend_from_slice(&data);
            return Err(match Command::decode(body.freeze()) {
                Ok(Command::Error { reason }) => peer_error(&reason),
                _ => PeerMisbehaved::MalformedMechanismCommand { name: "ERROR" }.into(),
            });
        }
        match self {
            Handshake::Null(h) => h.handle_command(&name, data, out),
            Handshake::Plain(h) => h.handle_command(&name, data, out),
            Handshake::Curve(h) => h.handle_command(&name, data, out),
        }
    }

    /// Hands the ZAP handler's reply to a handshake paused by [`HandshakeStep::Zap`].
    pub(crate) fn handle_zap_reply(
        &mut self,
        reply: ZapReply,
        out: &mut BytesMut,
    ) -> Result<HandshakeStep, SessionError> {
        match self {
            Handshake::Null(h) => h.handle_zap_reply(reply, out),
            Handshake::Plain(h) => h.handle_zap_reply(reply, out),
            Handshake::Curve(h) => h.handle_zap_reply(reply, out),
        }
    }
}

/// libzmq (4.3.x and later) writes PLAIN's ERROR prefix as `"\x05ERROR"` in C, where the
/// hex escape swallows the `E`: its PLAIN servers send, and its PLAIN clients expect, the
/// five bytes `0x5E "RROR"` instead of RFC 24's `0x05 "ERROR"`. We send the RFC's form and
/// accept libzmq's too, so that its refusals still read as the status codes they carry.
const LIBZMQ_PLAIN_ERROR: &[u8] = b"\x5eRROR";

/// The error for libzmq's PLAIN ERROR: `rest` is the reason's length byte and the reason.
fn libzmq_plain_error(rest: &[u8]) -> SessionError {
    match rest.split_first() {
        Some((&len, reason)) if reason.len() >= usize::from(len) => peer_error(
            &Bytes::copy_from_slice(reason.get(..usize::from(len)).unwrap_or_default()),
        ),
        _ => PeerMisbehaved::MalformedMechanismCommand { name: "ERROR" }.into(),
    }
}

/// The error for an ERROR command received from the peer.
pub(crate) fn peer_error(reason: &Bytes) -> SessionError {
    SessionError::PeerError {
        reason: String::from_utf8_lossy(reason).into_owned(),
    }
}

/// A command that is not allowed at this point of the handshake.
pub(crate) fn unexpected(name: &[u8]) -> SessionError {
    PeerMisbehaved::UnexpectedCommand {
        name: Bytes::copy_from_slice(name),
    }
    .into()
}

/// Refuses a peer the ZAP handler refused: RFC 27 says the server sends ERROR with the
/// status code as reason (as libzmq), then closes.
pub(crate) fn auth_refused(out: &mut BytesMut, reply: &ZapReply) -> SessionError {
    let code = Bytes::from(reply.status_code.to_string());
    Command::Error { reason: code }.encode(out);
    SessionError::AuthFailed {
        reason: format!(
            "ZAP status {}: {}",
            reply.status_code,
            String::from_utf8_lossy(&reply.status_text)
        ),
    }
}
