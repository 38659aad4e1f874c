//! REQ and REP state machines (RFC 28 §"The REQ Socket Type", §"The REP Socket Type").
//!
//! Neither holds a peer list: the socket core picks the peer (round robin for REQ, fair queue
//! for REP) and feeds the result in. Call order for REQ: [`ReqState::prepare_send`], hand the
//! message to a peer, [`ReqState::sent_to`]; then [`ReqState::accept_reply`] on every incoming
//! message until it returns `Some`. For REP: [`RepState::accept_request`] until `Some`, then
//! [`RepState::prepare_reply`].
//!
//! An empty body (a [`Message`] with no frames) is sent as one empty frame, as on the wire
//! (RFC 28: "one or more data frames" follow the delimiter).
use bytes::Bytes;

use super::{random_u32, PeerId};
use crate::Message;

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
///
/// With correlate, each request starts with a 4-byte request id frame, a `u32` in
/// **big-endian** order, counting up from a random start (libzmq writes its `u32` in native
/// order; the peer echoes the frame untouched, so the order only matters to us).
#[derive(Debug)]
pub struct ReqState {
    relaxed: bool,
    correlate: bool,
    /// The id the next `prepare_send` writes (with correlate).
    next_request_id: u32,
    /// The id written by the latest `prepare_send`, taken over by `sent_to`.
    prepared_request_id: u32,
    /// The request whose reply is awaited.
    outstanding: Option<Outstanding>,
}

/// A request handed to a peer and not answered yet.
#[derive(Debug, Clone, Copy)]
struct Outstanding {
    peer: PeerId,
    request_id: u32,
}

impl ReqState {
    /// New state machine.
    pub fn new(relaxed: bool, correlate: bool) -> Self {
        Self::with_first_request_id(relaxed, correlate, random_u32())
    }

    /// New state machine whose request ids count from `first` (deterministic tests).
    pub fn with_first_request_id(relaxed: bool, correlate: bool, first: u32) -> Self {
        Self {
            relaxed,
            correlate,
            next_request_id: first,
            prepared_request_id: first,
            outstanding: None,
        }
    }

    /// Checks a send is allowed, then wraps `body` in the REQ envelope: with correlate a
    /// 4-byte request id frame, then the empty delimiter frame. Call [`ReqState::sent_to`]
    /// once the message was handed to a peer.
    ///
    /// Nothing changes state until `sent_to`: if no peer takes the message, strip the
    /// envelope with [`ReqState::take_back`] and the state machine is as before.
    pub fn prepare_send(&mut self, body: Message) -> Result<Message, (ReqError, Message)> {
        // RFC 28: "SHALL send and then receive exactly one message at a time".
        if self.outstanding.is_some() && !self.relaxed {
            return Err((ReqError::ExpectingReply, body));
        }
        let mut msg = non_empty(body);
        // RFC 28: "SHALL prefix the outgoing message with an empty delimiter frame".
        msg.push_front(Bytes::new());
        if self.correlate {
            let id = self.next_request_id;
            self.next_request_id = id.wrapping_add(1);
            self.prepared_request_id = id;
            msg.push_front(Bytes::copy_from_slice(&id.to_be_bytes()));
        }
        Ok(msg)
    }

    /// Records which peer took the request; from now on a reply is expected from it only.
    ///
    /// In relaxed mode this abandons any earlier outstanding request: its reply will be
    /// discarded (with correlate by its request id; without, only if it comes from another
    /// peer — a late reply from the same peer is indistinguishable, as in libzmq).
    pub fn sent_to(&mut self, peer: PeerId) {
        self.outstanding = Some(Outstanding {
            peer,
            request_id: self.prepared_request_id,
        });
    }

    /// Whether a reply is outstanding (recv allowed).
    pub fn expecting_reply(&self) -> bool {
        self.outstanding.is_some()
    }

    /// The peer the outstanding request went to: the only one whose messages count.
    pub fn expected_peer(&self) -> Option<PeerId> {
        self.outstanding.map(|o| o.peer)
    }

    /// Strips the envelope that [`ReqState::prepare_send`] added, for a message no peer took
    /// (so the caller gets its body back). An empty body comes back as one empty frame.
    pub fn take_back(&self, mut msg: Message) -> Message {
        if self.correlate {
            msg.pop_front();
        }
        msg.pop_front();
        msg
    }

    /// Checks an incoming message: from the expected peer, with the right envelope (and
    /// request id with correlate). Returns the body with the envelope stripped, and moves
    /// to "may send"; `None` if the message must be silently discarded (RFC 28).
    pub fn accept_reply(&mut self, from: PeerId, mut msg: Message) -> Option<Message> {
        let outstanding = self.outstanding?;
        // RFC 28: "SHALL accept an incoming message only from the last peer that it sent a
        // request to" and "SHALL discard silently any messages received from other peers".
        if from != outstanding.peer {
            return None;
        }
        if self.correlate {
            let id = msg.pop_front()?;
            if id.as_ref() != outstanding.request_id.to_be_bytes() {
                return None;
            }
        }
        // RFC 28: the reply is a delimiter, then one or more data frames.
        let delimiter = msg.pop_front()?;
        if !delimiter.is_empty() || msg.is_empty() {
            return None;
        }
        self.outstanding = None;
        Some(msg)
    }
}

/// REP: receives a request, saves its envelope, and wraps the reply in it.
#[derive(Debug, Default)]
pub struct RepState {
    /// The requester and the envelope (routing frames and delimiter) of the request being
    /// answered.
    pending: Option<(PeerId, Message)>,
}

impl RepState {
    /// New state machine.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a reply is due (send allowed).
    pub fn replying(&self) -> bool {
        self.pending.is_some()
    }

    /// The peer the due reply goes to.
    pub fn requester(&self) -> Option<PeerId> {
        self.pending.as_ref().map(|(peer, _)| *peer)
    }

    /// Splits an incoming request into envelope (all frames up to and including the first
    /// empty delimiter) and body; remembers the envelope and `from`; returns the body.
    /// A request without a delimiter is malformed and discarded (`None`).
    ///
    /// So is one with nothing after the delimiter (RFC 28: "one or more data frames"; libzmq
    /// drops it too). Call only when not [`RepState::replying`]: a request accepted while
    /// replying replaces the one being answered.
    pub fn accept_request(&mut self, from: PeerId, mut msg: Message) -> Option<Message> {
        // RFC 28: "SHALL remove and store the address envelope, including the delimiter".
        let delimiter = msg.iter().position(|f| f.is_empty())?;
        let body = msg.split_off(delimiter.checked_add(1)?);
        if body.is_empty() {
            return None;
        }
        self.pending = Some((from, msg));
        Some(body)
    }

    /// Wraps a reply in the saved envelope and returns it with the peer to send it to;
    /// `Err` hands the message back if no request is being answered.
    ///
    /// RFC 28 says a reply to a peer that is gone is discarded silently: that is for the
    /// caller, which knows which peers are still there.
    pub fn prepare_reply(
        &mut self,
        body: Message,
    ) -> Result<(PeerId, Message), (ReqError, Message)> {
        let Some((peer, mut msg)) = self.pending.take() else {
            return Err((ReqError::NotExpectingReply, body));
        };
        // RFC 28: "SHALL prepend the address envelope and delimiter".
        msg.extend(non_empty(body));
        Ok((peer, msg))
    }
}

/// The body as sent on the wire: an empty message is one empty frame.
fn non_empty(mut body: Message) -> Message {
    if body.is_empty() {
        body.push_back(Bytes::new());
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: PeerId = PeerId(1);
    const B: PeerId = PeerId(2);

    fn msg(frames: &[&'static str]) -> Message {
        frames
            .iter()
            .map(|f| Bytes::from_static(f.as_bytes()))
            .collect()
    }

    fn id_frame(id: u32) -> Bytes {
        Bytes::copy_from_slice(&id.to_be_bytes())
    }

    #[test]
    fn req_envelope_is_delimiter_then_body() {
        let mut req = ReqState::new(false, false);
        let out = req.prepare_send(msg(&["hello", "world"])).expect("send");
        assert_eq!(out, msg(&["", "hello", "world"]));
        assert!(!req.expecting_reply(), "only sent_to commits");
    }

    #[test]
    fn req_empty_body_goes_out_as_one_empty_frame() {
        let mut req = ReqState::new(false, false);
        let out = req.prepare_send(Message::new()).expect("send");
        assert_eq!(out, msg(&["", ""]));
        assert_eq!(req.take_back(out), msg(&[""]));
    }

    #[test]
    fn req_is_strict() {
        let mut req = ReqState::new(false, false);
        // Nothing to receive before a send.
        assert!(!req.expecting_reply());
        assert_eq!(req.accept_reply(A, msg(&["", "x"])), None);

        let out = req.prepare_send(msg(&["q1"])).expect("send");
        req.sent_to(A);
        assert!(req.expecting_reply());
        assert_eq!(req.expected_peer(), Some(A));

        // A second send is refused and hands the body back untouched.
        let (err, back) = req.prepare_send(msg(&["q2"])).expect_err("strict");
        assert_eq!(err, ReqError::ExpectingReply);
        assert_eq!(back, msg(&["q2"]));
        drop(out);

        assert_eq!(req.accept_reply(A, msg(&["", "r1"])), Some(msg(&["r1"])));
        assert!(!req.expecting_reply());
        // Further replies are discarded until the next request.
        assert_eq!(req.accept_reply(A, msg(&["", "r1 again"])), None);
        assert!(req.prepare_send(msg(&["q2"])).is_ok());
    }

    #[test]
    fn req_failed_send_leaves_state_alone() {
        let mut req = ReqState::new(false, true);
        let out = req.prepare_send(msg(&["q"])).expect("send");
        assert_eq!(req.take_back(out), msg(&["q"]));
        assert!(!req.expecting_reply());
        assert!(req.prepare_send(msg(&["q"])).is_ok());
    }

    #[test]
    fn req_reply_from_wrong_peer_dropped() {
        let mut req = ReqState::new(false, false);
        req.prepare_send(msg(&["q"])).expect("send");
        req.sent_to(A);
        assert_eq!(req.accept_reply(B, msg(&["", "from b"])), None);
        assert!(req.expecting_reply());
        assert_eq!(
            req.accept_reply(A, msg(&["", "from a"])),
            Some(msg(&["from a"]))
        );
    }

    #[test]
    fn req_malformed_replies_dropped() {
        let mut req = ReqState::new(false, false);
        req.prepare_send(msg(&["q"])).expect("send");
        req.sent_to(A);
        // No delimiter.
        assert_eq!(req.accept_reply(A, msg(&["r"])), None);
        // Delimiter but no body.
        assert_eq!(req.accept_reply(A, msg(&[""])), None);
        // No frames at all.
        assert_eq!(req.accept_reply(A, Message::new()), None);
        // Still waiting; a good reply gets through, keeping later empty frames.
        assert!(req.expecting_reply());
        assert_eq!(
            req.accept_reply(A, msg(&["", "", "r"])),
            Some(msg(&["", "r"]))
        );
    }

    #[test]
    fn req_relaxed_abandons_old_request() {
        let mut req = ReqState::new(true, false);
        req.prepare_send(msg(&["q1"])).expect("send");
        req.sent_to(A);
        // Relaxed: sending again is fine, and goes to another peer.
        req.prepare_send(msg(&["q2"])).expect("relaxed send");
        req.sent_to(B);
        // The late reply from A to q1 is discarded.
        assert_eq!(req.accept_reply(A, msg(&["", "r1"])), None);
        assert_eq!(req.accept_reply(B, msg(&["", "r2"])), Some(msg(&["r2"])));
        assert!(!req.expecting_reply());
    }

    #[test]
    fn req_correlate_envelope_and_ids() {
        let mut req = ReqState::with_first_request_id(false, true, 0x0102_0304);
        let out = req.prepare_send(msg(&["q1"])).expect("send");
        assert_eq!(
            out.frames(),
            [
                Bytes::from_static(&[1, 2, 3, 4]),
                Bytes::new(),
                Bytes::from_static(b"q1"),
            ]
        );
        req.sent_to(A);
        let mut reply = msg(&["", "r1"]);
        reply.push_front(id_frame(0x0102_0304));
        assert_eq!(req.accept_reply(A, reply), Some(msg(&["r1"])));

        // Next request carries the next id.
        let out = req.prepare_send(msg(&["q2"])).expect("send");
        assert_eq!(
            out.first().map(|f| f.to_bytes()),
            Some(id_frame(0x0102_0305))
        );
    }

    #[test]
    fn req_correlate_drops_stale_and_malformed_replies() {
        let mut req = ReqState::with_first_request_id(true, true, u32::MAX);
        req.prepare_send(msg(&["q1"])).expect("send");
        req.sent_to(A);
        // Relaxed resend to the same peer: only the id tells the replies apart.
        let out = req.prepare_send(msg(&["q2"])).expect("send");
        assert_eq!(
            out.first().map(|f| f.to_bytes()),
            Some(id_frame(0)),
            "ids wrap"
        );
        req.sent_to(A);

        let mut stale = msg(&["", "r1"]);
        stale.push_front(id_frame(u32::MAX));
        assert_eq!(req.accept_reply(A, stale), None);
        // Id frame of the wrong size, missing delimiter, no id at all.
        assert_eq!(req.accept_reply(A, msg(&["\0\0\0", "", "r"])), None);
        let mut no_delimiter = msg(&["r2"]);
        no_delimiter.push_front(id_frame(0));
        assert_eq!(req.accept_reply(A, no_delimiter), None);
        assert_eq!(req.accept_reply(A, msg(&["", "r2"])), None);
        assert!(req.expecting_reply());

        let mut good = msg(&["", "r2"]);
        good.push_front(id_frame(0));
        assert_eq!(req.accept_reply(A, good), Some(msg(&["r2"])));
    }

    #[test]
    fn rep_preserves_multi_frame_envelope() {
        let mut rep = RepState::new();
        assert!(!rep.replying());
        let body = rep
            .accept_request(A, msg(&["hop1", "hop2", "hop3", "", "body", "more"]))
            .expect("request");
        assert_eq!(body, msg(&["body", "more"]));
        assert!(rep.replying());
        assert_eq!(rep.requester(), Some(A));

        let (to, reply) = rep.prepare_reply(msg(&["answer"])).expect("reply");
        assert_eq!(to, A);
        assert_eq!(reply, msg(&["hop1", "hop2", "hop3", "", "answer"]));
        assert!(!rep.replying());
    }

    #[test]
    fn rep_envelope_ends_at_first_empty_frame() {
        let mut rep = RepState::new();
        let body = rep.accept_request(B, msg(&["", "", "x"])).expect("request");
        assert_eq!(body, msg(&["", "x"]));
        let (to, reply) = rep.prepare_reply(Message::new()).expect("reply");
        assert_eq!(to, B);
        // Empty reply body goes out as one empty frame.
        assert_eq!(reply, msg(&["", ""]));
    }

    #[test]
    fn rep_discards_malformed_requests() {
        let mut rep = RepState::new();
        assert_eq!(rep.accept_request(A, msg(&["no", "delimiter"])), None);
        assert_eq!(rep.accept_request(A, msg(&["id", ""])), None);
        assert_eq!(rep.accept_request(A, Message::new()), None);
        assert!(!rep.replying());
    }

    #[test]
    fn rep_reply_without_request_is_refused() {
        let mut rep = RepState::new();
        let (err, back) = rep.prepare_reply(msg(&["r"])).expect_err("not replying");
        assert_eq!(err, ReqError::NotExpectingReply);
        assert_eq!(back, msg(&["r"]));

        rep.accept_request(A, msg(&["", "q"])).expect("request");
        rep.prepare_reply(msg(&["r"])).expect("reply");
        let (err, _) = rep.prepare_reply(msg(&["r"])).expect_err("one reply only");
        assert_eq!(err, ReqError::NotExpectingReply);
    }

    #[test]
    fn req_rep_round_trip() {
        let mut req = ReqState::new(false, true);
        let mut rep = RepState::new();
        let wire = req.prepare_send(msg(&["ping"])).expect("send");
        req.sent_to(A);
        let body = rep.accept_request(B, wire).expect("request");
        assert_eq!(body, msg(&["ping"]));
        let (to, wire) = rep.prepare_reply(msg(&["pong"])).expect("reply");
        assert_eq!(to, B);
        assert_eq!(req.accept_reply(A, wire), Some(msg(&["pong"])));
    }
}
