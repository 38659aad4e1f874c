//! [`WireSession`]: the protocol state a connection runs, either a ZMTP [`Session`] or, for
//! a STREAM socket, a [`RawSession`] (no greeting, no framing). Both have the same call
//! order, so the connection's read, write and batching code is one and the same; this enum
//! only forwards each call to the session it holds.

use std::io::IoSlice;
use std::time::Instant;

use bytes::BytesMut;
use ferrozmq_proto::mechanism::ZapReply;
use ferrozmq_proto::{RawSession, Session, SessionError, SessionEvent};

use crate::Message;

/// The session of one connection.
// One per connection, and the ZMTP variant is the common one: boxing it to save the raw
// variant's unused bytes would add a pointer chase to every read and write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum WireSession {
    /// A ZMTP peer (every socket type but STREAM).
    Zmtp(Session),
    /// A raw byte stream (STREAM).
    Raw(RawSession),
}

impl WireSession {
    pub(super) fn is_raw(&self) -> bool {
        matches!(self, WireSession::Raw(_))
    }

    pub(super) fn handle_input_limited(
        &mut self,
        buf: &mut BytesMut,
        now: Instant,
        budget: usize,
    ) -> Result<(), SessionError> {
        match self {
            WireSession::Zmtp(s) => s.handle_input_limited(buf, now, budget),
            WireSession::Raw(s) => s.handle_input_limited(buf, now, budget),
        }
    }

    pub(super) fn poll_event(&mut self) -> Option<SessionEvent> {
        match self {
            WireSession::Zmtp(s) => s.poll_event(),
            WireSession::Raw(s) => s.poll_event(),
        }
    }

    pub(super) fn pending_output(&self) -> &[u8] {
        match self {
            WireSession::Zmtp(s) => s.pending_output(),
            WireSession::Raw(s) => s.pending_output(),
        }
    }

    pub(super) fn pending_output_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        match self {
            WireSession::Zmtp(s) => s.pending_output_vectored(dst),
            WireSession::Raw(s) => s.pending_output_vectored(dst),
        }
    }

    pub(super) fn pending_output_len(&self) -> usize {
        match self {
            WireSession::Zmtp(s) => s.pending_output_len(),
            WireSession::Raw(s) => s.pending_output_len(),
        }
    }

    pub(super) fn consume_output(&mut self, n: usize) {
        match self {
            WireSession::Zmtp(s) => s.consume_output(n),
            WireSession::Raw(s) => s.consume_output(n),
        }
    }

    pub(super) fn release_idle_output(&mut self) {
        match self {
            WireSession::Zmtp(s) => s.release_idle_output(),
            WireSession::Raw(s) => s.release_idle_output(),
        }
    }

    pub(super) fn send_message(&mut self, msg: &Message) {
        match self {
            WireSession::Zmtp(s) => s.send_message(msg),
            WireSession::Raw(s) => s.send_message(msg),
        }
    }

    /// Subscriptions exist only in ZMTP; a raw session has none to send.
    pub(super) fn send_subscription(&mut self, topic: &[u8], subscribe: bool) {
        if let WireSession::Zmtp(s) = self {
            s.send_subscription(topic, subscribe);
        }
    }

    /// A raw session has no timers (no handshake, no heartbeats).
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            WireSession::Zmtp(s) => s.poll_timeout(),
            WireSession::Raw(_) => None,
        }
    }

    pub(super) fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        match self {
            WireSession::Zmtp(s) => s.handle_timeout(now),
            WireSession::Raw(_) => Ok(()),
        }
    }

    /// The ZAP handler's answer; a raw session never asks one, so it has nothing to do.
    pub(super) fn handle_zap_reply(
        &mut self,
        reply: ZapReply,
        now: Instant,
    ) -> Result<(), SessionError> {
        match self {
            WireSession::Zmtp(s) => s.handle_zap_reply(reply, now),
            WireSession::Raw(_) => Ok(()),
        }
    }

    /// A close was asked (STREAM: an empty message): take no more messages.
    pub(super) fn is_closing(&self) -> bool {
        matches!(self, WireSession::Raw(s) if s.is_closing())
    }

    /// A close was asked and everything before it is written: close now.
    pub(super) fn wants_close(&self) -> bool {
        matches!(self, WireSession::Raw(s) if s.wants_close())
    }
}
