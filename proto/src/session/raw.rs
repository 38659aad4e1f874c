//! [`RawSession`]: the per-connection state of a STREAM socket's connection (sans-IO). No
//! greeting, no framing: bytes in become one-frame messages, messages out become bytes.
//!
//! It follows [`super::Session`]'s call order so the engine drives both the same way:
//! 1. [`RawSession::new`] queues [`SessionEvent::Ready`] at once (a raw peer has no
//!    handshake), then, with `notify` (libzmq's ZMQ_STREAM_NOTIFY, on by default), one empty
//!    message: the connection notification the socket delivers as `[routing id, empty]`.
//! 2. [`RawSession::handle_input_limited`] takes everything in the read buffer as one message
//!    (the buffer is split off, not copied), if the budget allows one. A read is at most one
//!    read chunk, so a message is never larger than that; a read of nothing is not a message.
//! 3. [`RawSession::send_message`] appends the message's frames, one after another, to the
//!    output (large bodies by reference). An empty message (no bytes at all) asks to close
//!    the connection once what was queued before it is written, as libzmq's STREAM does
//!    (zmq_socket(3): "send the routing id frame followed by a zero-length message");
//!    [`RawSession::wants_close`] says when that point is reached. Later sends are dropped.
//!
//! libzmq's STREAM ignores MORE on data frames and reads the next frame as a new routing id;
//! our messages are whole, so every data frame after the routing id is written, in order.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::Instant;

use bytes::{BufMut, BytesMut};

use super::output::{Output, SHARE_MIN};
use super::{PeerInfo, SessionEvent};
use crate::codec::Metadata;
use crate::error::WireRevision;
use crate::{Message, SessionError, SocketType};

/// Output capacity kept across idle periods (the rest is given back).
const OUTPUT_KEEP: usize = 4 * 1024;

/// One raw connection's protocol state: a pass-through with a close request.
#[derive(Debug)]
pub struct RawSession {
    events: VecDeque<SessionEvent>,
    out: Output,
    /// A close was asked (an empty message was sent): nothing more is queued.
    closing: bool,
}

impl RawSession {
    /// A session that is ready at once; with `notify`, an empty message follows the Ready
    /// (ZMQ_STREAM_NOTIFY's connection notification).
    pub fn new(notify: bool) -> Self {
        let mut events = VecDeque::with_capacity(2);
        events.push_back(SessionEvent::Ready(PeerInfo {
            socket_type: SocketType::Stream,
            routing_id: None,
            minor_version: 0,
            // A raw peer speaks no ZMTP; the field has no "none", and nothing reads it for a
            // raw connection.
            revision: WireRevision::Zmtp3 { minor: 0 },
            user_id: None,
            properties: Metadata::new(),
            // No security: a raw peer is taken as it comes, as libzmq's STREAM does.
            mechanism: "NULL",
        }));
        if notify {
            events.push_back(SessionEvent::Message(Message::single(Vec::new())));
        }
        RawSession {
            events,
            out: Output::with_capacity(0),
            closing: false,
        }
    }

    /// Takes all buffered input as one message if `budget` allows a message; never fails (a
    /// raw peer may send any bytes).
    pub fn handle_input_limited(
        &mut self,
        buf: &mut BytesMut,
        _now: Instant,
        budget: usize,
    ) -> Result<(), SessionError> {
        let waiting = self
            .events
            .iter()
            .filter(|e| matches!(e, SessionEvent::Message(_)))
            .count();
        if !buf.is_empty() && waiting < budget {
            let data = buf.split().freeze();
            self.events
                .push_back(SessionEvent::Message(Message::single(data)));
        }
        Ok(())
    }

    /// The next event for the engine.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// The first contiguous run of bytes waiting to be written.
    pub fn pending_output(&self) -> &[u8] {
        self.out.first()
    }

    /// All bytes waiting to be written, as runs for a vectored write; returns how many
    /// entries of `dst` were filled.
    pub fn pending_output_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.out.slices(dst)
    }

    /// How many bytes wait to be written.
    pub fn pending_output_len(&self) -> usize {
        self.out.len()
    }

    /// Drops the first `n` pending bytes (those written).
    pub fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
    }

    /// Gives back output capacity grown for a burst, once everything was written.
    pub fn release_idle_output(&mut self) {
        self.out.shrink_if_idle(OUTPUT_KEEP);
    }

    /// Queues a message's bytes (its frames one after another); an empty message asks for
    /// the connection to close once everything before it is written.
    pub fn send_message(&mut self, msg: &Message) {
        if self.closing {
            return;
        }
        if msg.byte_len() == 0 {
            self.closing = true;
            return;
        }
        for frame in msg {
            let data = frame.as_slice();
            if data.len() >= SHARE_MIN {
                self.out.push_shared(frame.to_bytes());
            } else {
                self.out.staging().put_slice(data);
            }
        }
    }

    /// True once a close was asked: no more messages are taken.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// True when a close was asked and everything queued before it was written: the engine
    /// closes the connection now.
    pub fn wants_close(&self) -> bool {
        self.closing && self.out.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn gather(s: &RawSession) -> Vec<u8> {
        let mut slots = [IoSlice::new(&[]); 8];
        let n = s.pending_output_vectored(&mut slots);
        slots[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn ready_then_notification() {
        let mut s = RawSession::new(true);
        assert!(
            matches!(s.poll_event(), Some(SessionEvent::Ready(i)) if i.socket_type == SocketType::Stream)
        );
        match s.poll_event() {
            Some(SessionEvent::Message(m)) => assert_eq!(m.byte_len(), 0),
            other => panic!("expected the notification, got {other:?}"),
        }
        assert!(s.poll_event().is_none());
        let mut quiet = RawSession::new(false);
        assert!(matches!(quiet.poll_event(), Some(SessionEvent::Ready(_))));
        assert!(quiet.poll_event().is_none());
    }

    #[test]
    fn any_bytes_become_one_message_within_budget() {
        let mut s = RawSession::new(false);
        let _ = s.poll_event();
        let now = Instant::now();
        let mut buf = BytesMut::from(&[0xFFu8, 0x00, 0x7F, b'\n'][..]);
        s.handle_input_limited(&mut buf, now, 0).unwrap();
        assert!(s.poll_event().is_none(), "no budget, nothing decoded");
        assert_eq!(buf.len(), 4, "the bytes stay for later");
        s.handle_input_limited(&mut buf, now, 1).unwrap();
        assert!(buf.is_empty());
        match s.poll_event() {
            Some(SessionEvent::Message(m)) => {
                assert_eq!(m.frames().len(), 1);
                assert_eq!(m.frames()[0].as_slice(), &[0xFF, 0x00, 0x7F, b'\n']);
            }
            other => panic!("{other:?}"),
        }
        let mut empty = BytesMut::new();
        s.handle_input_limited(&mut empty, now, 5).unwrap();
        assert!(s.poll_event().is_none(), "no bytes, no message");
    }

    #[test]
    fn frames_are_written_back_to_back_and_empty_closes_after_them() {
        let mut s = RawSession::new(false);
        let big = Bytes::from(vec![b'x'; SHARE_MIN]);
        s.send_message(&Message::from(vec![Bytes::from_static(b"ab"), big.clone()]));
        s.send_message(&Message::single(Bytes::from_static(b"cd")));
        assert!(!s.wants_close());
        s.send_message(&Message::single(Bytes::new()));
        assert!(s.is_closing());
        s.send_message(&Message::single(Bytes::from_static(b"late")));
        let mut want = b"ab".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(b"cd");
        assert_eq!(gather(&s), want);
        assert!(!s.wants_close(), "bytes before the close are still queued");
        s.consume_output(want.len() - 1);
        assert!(!s.wants_close());
        s.consume_output(1);
        assert!(s.wants_close());
    }
}
