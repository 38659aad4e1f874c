//! The PLAIN mechanism (RFC 24): the client sends its user name and password in clear text
//! (HELLO), the server answers WELCOME (or ERROR), the client sends INITIATE with its
//! metadata and the server READY with its own. Authentication without confidentiality:
//! only for networks where eavesdropping is not a concern.
//!
//! Each state is its own struct and a transition consumes it (rustls' `Expect*` style).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{auth_refused, unexpected, Done, HandshakeStep, SecretBytes, ZapReply, ZapRequest};
use crate::codec::command::put_command;
use crate::codec::{Command, Metadata};
use crate::error::{PeerMisbehaved, SessionError};

/// A PLAIN handshake: client or server, in whichever state it has reached.
#[derive(Debug)]
pub(crate) enum PlainHandshake {
    /// Client: HELLO sent at start, WELCOME next.
    ExpectWelcome(ExpectWelcome),
    /// Client: INITIATE sent, READY next.
    ExpectReady,
    /// Server: waiting for the client's HELLO.
    ExpectHello(ExpectHello),
    /// Server: HELLO asked of ZAP, the reply next.
    ExpectZapReply(ExpectZapReply),
    /// Server: WELCOME sent, INITIATE next.
    ExpectInitiate(ExpectInitiate),
    /// A transition is under way (or failed).
    Poisoned,
}

#[derive(Debug)]
pub(crate) struct ExpectWelcome {
    username: Bytes,
    password: SecretBytes,
    ours: Metadata,
}

#[derive(Debug)]
pub(crate) struct ExpectHello {
    ours: Metadata,
    zap: Option<ZapRequest>,
}

#[derive(Debug)]
pub(crate) struct ExpectZapReply {
    ours: Metadata,
}

#[derive(Debug)]
pub(crate) struct ExpectInitiate {
    ours: Metadata,
    user_id: Option<Bytes>,
    zap_metadata: Metadata,
}

impl PlainHandshake {
    pub(crate) fn client(username: Bytes, password: SecretBytes, ours: Metadata) -> Self {
        PlainHandshake::ExpectWelcome(ExpectWelcome {
            username,
            password,
            ours,
        })
    }

    pub(crate) fn server(ours: Metadata, zap: Option<ZapRequest>) -> Self {
        PlainHandshake::ExpectHello(ExpectHello { ours, zap })
    }

    pub(crate) fn is_server(&self) -> bool {
        !matches!(
            self,
            PlainHandshake::ExpectWelcome(_) | PlainHandshake::ExpectReady
        )
    }

    /// RFC 24: "The client SHALL start by sending HELLO".
    pub(crate) fn start(&mut self, out: &mut BytesMut) {
        if let PlainHandshake::ExpectWelcome(state) = self {
            // RFC 24: hello = command-size "\x05HELLO" username password, each with a
            // one-octet length (at most 255 octets).
            let user = state
                .username
                .get(..state.username.len().min(255))
                .unwrap_or_default();
            let pass = state.password.expose();
            let pass = pass.get(..pass.len().min(255)).unwrap_or_default();
            let mut body = zeroize::Zeroizing::new(Vec::with_capacity(2 + user.len() + pass.len()));
            body.put_u8(user.len() as u8);
            body.put_slice(user);
            body.put_u8(pass.len() as u8);
            body.put_slice(pass);
            put_command(out, b"HELLO", &[&body]);
        }
    }

    pub(crate) fn handle_command(
        &mut self,
        name: &[u8],
        data: Bytes,
        out: &mut BytesMut,
    ) -> Result<HandshakeStep, SessionError> {
        let (next, step) = match std::mem::replace(self, PlainHandshake::Poisoned) {
            PlainHandshake::ExpectWelcome(s) => s.handle(name, data, out)?,
            PlainHandshake::ExpectReady => expect_ready(name, data)?,
            PlainHandshake::ExpectHello(s) => s.handle(name, data, out)?,
            PlainHandshake::ExpectInitiate(s) => s.handle(name, data, out)?,
            PlainHandshake::ExpectZapReply(_) | PlainHandshake::Poisoned => {
                return Err(unexpected(name))
            }
        };
        *self = next;
        Ok(step)
    }

    pub(crate) fn handle_zap_reply(
        &mut self,
        reply: ZapReply,
        out: &mut BytesMut,
    ) -> Result<HandshakeStep, SessionError> {
        let PlainHandshake::ExpectZapReply(state) =
            std::mem::replace(self, PlainHandshake::Poisoned)
        else {
            return Err(unexpected(b"ZAP reply"));
        };
        if !reply.allows() {
            return Err(auth_refused(out, &reply));
        }
        put_command(out, b"WELCOME", &[]);
        *self = PlainHandshake::ExpectInitiate(ExpectInitiate {
            ours: state.ours,
            user_id: Some(reply.user_id),
            zap_metadata: reply.metadata,
        });
        Ok(HandshakeStep::Continue)
    }
}

impl ExpectWelcome {
    fn handle(
        self,
        name: &[u8],
        data: Bytes,
        out: &mut BytesMut,
    ) -> Result<(PlainHandshake, HandshakeStep), SessionError> {
        // RFC 24: welcome = command-size "\x07WELCOME" (no data).
        if name != b"WELCOME" {
            return Err(unexpected(name));
        }
        if !data.is_empty() {
            return Err(PeerMisbehaved::MalformedMechanismCommand { name: "WELCOME" }.into());
        }
        let mut body = BytesMut::new();
        self.ours.encode(&mut body);
        put_command(out, b"INITIATE", &[&body]);
        Ok((PlainHandshake::ExpectReady, HandshakeStep::Continue))
    }
}

/// RFC 24: ready = command-size "\x05READY" metadata.
fn expect_ready(name: &[u8], data: Bytes) -> Result<(PlainHandshake, HandshakeStep), SessionError> {
    if name != b"READY" {
        return Err(unexpected(name));
    }
    let peer = Metadata::decode(data).map_err(PeerMisbehaved::from)?;
    Ok((
        PlainHandshake::Poisoned,
        HandshakeStep::Done(Done::clear(peer)),
    ))
}

impl ExpectHello {
    fn handle(
        self,
        name: &[u8],
        mut data: Bytes,
        out: &mut BytesMut,
    ) -> Result<(PlainHandshake, HandshakeStep), SessionError> {
        if name != b"HELLO" {
            return Err(unexpected(name));
        }
        let malformed = || PeerMisbehaved::MalformedMechanismCommand { name: "HELLO" };
        let field = |data: &mut Bytes| -> Result<Bytes, PeerMisbehaved> {
            if data.is_empty() {
                return Err(malformed());
            }
            let len = usize::from(data.get_u8());
            if data.len() < len {
                return Err(malformed());
            }
            Ok(data.split_to(len))
        };
        let username = field(&mut data)?;
        let password = field(&mut data)?;
        if !data.is_empty() {
            return Err(malformed().into());
        }
        match self.zap {
            Some(mut request) => {
                request.mechanism = "PLAIN";
                request.credentials = vec![username, password];
                Ok((
                    PlainHandshake::ExpectZapReply(ExpectZapReply { ours: self.ours }),
                    HandshakeStep::Zap(request),
                ))
            }
            None => {
                // Without a ZAP handler, libzmq's PLAIN server accepts any user: so do we.
                put_command(out, b"WELCOME", &[]);
                Ok((
                    PlainHandshake::ExpectInitiate(ExpectInitiate {
                        ours: self.ours,
                        user_id: None,
                        zap_metadata: Metadata::new(),
                    }),
                    HandshakeStep::Continue,
                ))
            }
        }
    }
}

impl ExpectInitiate {
    fn handle(
        self,
        name: &[u8],
        data: Bytes,
        out: &mut BytesMut,
    ) -> Result<(PlainHandshake, HandshakeStep), SessionError> {
        // RFC 24: initiate = command-size "\x08INITIATE" metadata.
        if name != b"INITIATE" {
            return Err(unexpected(name));
        }
        let peer = Metadata::decode(data).map_err(PeerMisbehaved::from)?;
        Command::Ready(self.ours).encode(out);
        let mut done = Done::clear(peer);
        done.user_id = self.user_id;
        done.zap_metadata = self.zap_metadata;
        Ok((PlainHandshake::Poisoned, HandshakeStep::Done(done)))
    }
}
