//! REQ and REP state machines (RFC 28 §"The REQ Socket Type", §"The REP Socket Type"). STUB.
use crate::Message;

use super::PeerId;

/// A REQ send refused by the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReqError {
    /// A request is outstanding; receive its reply first (or enable relaxed mode).
    #[error("a reply is still expected: receive it before sending again, or set REQ_RELAXED")]
    ExpectingReply,
    /// No request was sent, so there is nothing to receive.
    #[error("no request is outstanding: send one before receiving")]
    NotExpectingReply,
}

/// REQ: strict send/recv alternation, optionally relaxed and correlated
/// (ZMQ_REQ_RELAXED, ZMQ_REQ_CORRELATE).
#[derive(Debug)]
pub struct ReqState {
    _p: (),
}

impl ReqState {
    /// New state machine.
    pub fn new(relaxed: bool, correlate: bool) -> Self {
        let _ = (relaxed, correlate);
        todo!()
    }
    /// Checks a send is allowed, then wraps `body` in the REQ envelope: with correlate a
    /// 4-byte request id frame, then the empty delimiter frame. Call [`ReqState::sent_to`]
    /// once the message was handed to a peer.
    pub fn prepare_send(&mut self, body: Message) -> Result<Message, (ReqError, Message)> {
        let _ = body;
        todo!()
    }
    /// Records which peer took the request; from now on a reply is expected from it only.
    pub fn sent_to(&mut self, peer: PeerId) {
        let _ = peer;
        todo!()
    }
    /// Whether a reply is outstanding (recv allowed).
    pub fn expecting_reply(&self) -> bool {
        todo!()
    }
    /// Checks an incoming message: from the expected peer, with the right envelope (and
    /// request id with correlate). Returns the body with the envelope stripped, and moves
    /// to "may send"; `None` if the message must be silently discarded (RFC 28).
    pub fn accept_reply(&mut self, from: PeerId, msg: Message) -> Option<Message> {
        let _ = (from, msg);
        todo!()
    }
}

/// REP: receives a request, saves its envelope, and wraps the reply in it.
#[derive(Debug, Default)]
pub struct RepState {
    _p: (),
}

impl RepState {
    /// New state machine.
    pub fn new() -> Self {
        todo!()
    }
    /// Whether a reply is due (send allowed).
    pub fn replying(&self) -> bool {
        todo!()
    }
    /// Splits an incoming request into envelope (all frames up to and including the first
    /// empty delimiter) and body; remembers the envelope and `from`; returns the body.
    /// A request without a delimiter is malformed and discarded (`None`).
    pub fn accept_request(&mut self, from: PeerId, msg: Message) -> Option<Message> {
        let _ = (from, msg);
        todo!()
    }
    /// Wraps a reply in the saved envelope and returns it with the peer to send it to;
    /// `Err` hands the message back if no request is being answered.
    pub fn prepare_reply(
        &mut self,
        body: Message,
    ) -> Result<(PeerId, Message), (ReqError, Message)> {
        let _ = body;
        todo!()
    }
}
