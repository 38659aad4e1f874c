//! [`Message`]: one ZeroMQ message, an ordered list of frames sent and received atomically.
//!
//! Frames are [`Frame`]s: small payloads inside the frame, large ones shared [`Bytes`], so a
//! small message costs no allocation and forwarding or fanning a message out never copies a
//! large payload. A message can be built from owned buffers (no copy when large) or from
//! borrowed data (`&[u8]`, `&str`, copied).

use std::sync::Arc;

use bytes::Bytes;
use smallvec::SmallVec;

use crate::codec::Metadata;
use crate::frame::Frame;

/// A multipart message: one or more frames (an empty message has no frames; on the wire it
/// is sent as one empty frame).
///
/// A received message may carry its connection's properties (libzmq's `zmq_msg_gets`):
/// [`Message::property`]. They are not part of the message's value: equality and hashing
/// look at the frames only, and they are never sent.
#[derive(Clone, Default)]
pub struct Message {
    frames: SmallVec<[Frame; 2]>,
    properties: Option<Arc<Metadata>>,
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.frames == other.frames
    }
}

impl Eq for Message {}

impl std::hash::Hash for Message {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.frames.hash(state);
    }
}

impl Message {
    /// An empty message with no frames.
    pub fn new() -> Self {
        Self::default()
    }

    /// A message of one frame.
    pub fn single(frame: impl Into<Frame>) -> Self {
        let mut frames = SmallVec::new();
        frames.push(frame.into());
        Self {
            frames,
            properties: None,
        }
    }

    /// The value of the connection property `name` (case-insensitive, RFC 23), if the
    /// message was received on a connection that has properties: `User-Id` (from ZAP),
    /// `Peer-Address`, `Socket-Type` and `Routing-Id` of the peer, and the peer's other
    /// metadata. ferrozmq attaches them on PLAIN and CURVE connections and wherever ZAP was
    /// asked; messages of plain NULL connections carry none (they cost nothing then).
    pub fn property(&self, name: &str) -> Option<&[u8]> {
        self.properties.as_ref()?.get(name).map(|v| &v[..])
    }

    /// All the connection properties the message carries.
    pub fn properties(&self) -> Option<&Metadata> {
        self.properties.as_deref()
    }

    /// Attaches connection properties (done by the engine for received messages).
    pub fn set_properties(&mut self, properties: Option<Arc<Metadata>>) {
        self.properties = properties;
    }

    /// Appends a frame at the end.
    pub fn push_back(&mut self, frame: impl Into<Frame>) {
        self.frames.push(frame.into());
    }

    /// Inserts a frame at the front (used for routing envelopes).
    pub fn push_front(&mut self, frame: impl Into<Frame>) {
        self.frames.insert(0, frame.into());
    }

    /// Removes and returns the first frame.
    pub fn pop_front(&mut self) -> Option<Frame> {
        if self.frames.is_empty() {
            None
        } else {
            Some(self.frames.remove(0))
        }
    }

    /// Removes and returns the last frame.
    pub fn pop_back(&mut self) -> Option<Frame> {
        self.frames.pop()
    }

    /// The frames, in order.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// The first frame, if any.
    pub fn first(&self) -> Option<&Frame> {
        self.frames.first()
    }

    /// The last frame, if any.
    pub fn last(&self) -> Option<&Frame> {
        self.frames.last()
    }

    /// The number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True if the message has no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Total payload bytes over all frames.
    pub fn byte_len(&self) -> usize {
        self.frames.iter().map(|f| f.len()).sum()
    }

    /// Iterates over the frames.
    pub fn iter(&self) -> std::slice::Iter<'_, Frame> {
        self.frames.iter()
    }

    /// Splits the message at frame `at`, returning the frames from `at` on.
    pub fn split_off(&mut self, at: usize) -> Message {
        let at = at.min(self.frames.len());
        let tail: SmallVec<[Frame; 2]> = self.frames.drain(at..).collect();
        Message {
            frames: tail,
            properties: self.properties.clone(),
        }
    }

    /// Appends all frames of `other`.
    pub fn extend(&mut self, other: Message) {
        self.frames.extend(other.frames);
    }

    /// Consumes the message, returning its frames.
    pub fn into_frames(self) -> Vec<Frame> {
        self.frames.into_vec()
    }

    /// The one-frame subscription message that SUB and XSUB send and XPUB delivers
    /// (RFC 29 §"The XSUB Socket Type": a first byte of 1 subscribes, 0 cancels; the topic
    /// follows).
    pub fn subscription(subscribe: bool, topic: &[u8]) -> Message {
        let mut frame = Vec::with_capacity(topic.len() + 1);
        frame.push(u8::from(subscribe));
        frame.extend_from_slice(topic);
        Message::single(frame)
    }

    /// Reads a subscription message: `(true, topic)` to subscribe, `(false, topic)` to cancel;
    /// `None` for anything else (more than one frame, or another first byte).
    pub fn as_subscription(&self) -> Option<(bool, &[u8])> {
        match self.frames.as_slice() {
            [frame] => match frame.split_first() {
                Some((1, topic)) => Some((true, topic)),
                Some((0, topic)) => Some((false, topic)),
                _ => None,
            },
            _ => None,
        }
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.frames.iter()).finish()
    }
}

/// One frame from anything a [`Frame`] is made from: owned buffers (`Bytes`, `Vec<u8>`,
/// `String`; a large one is kept without a copy) or borrowed data (`&[u8]`, `&str`, arrays,
/// copied).
macro_rules! single_frame {
    ($($t:ty),*) => {$(
        impl From<$t> for Message {
            fn from(x: $t) -> Self {
                Message::single(x)
            }
        }
    )*};
}
single_frame!(
    Frame,
    Bytes,
    &Bytes,
    Vec<u8>,
    &Vec<u8>,
    String,
    &String,
    &[u8],
    &str
);

impl<const N: usize> From<&[u8; N]> for Message {
    fn from(b: &[u8; N]) -> Self {
        Message::single(b)
    }
}
impl<const N: usize> From<[u8; N]> for Message {
    fn from(b: [u8; N]) -> Self {
        Message::single(b)
    }
}
impl From<Vec<Bytes>> for Message {
    fn from(v: Vec<Bytes>) -> Self {
        v.into_iter().collect()
    }
}
impl From<Vec<Frame>> for Message {
    fn from(v: Vec<Frame>) -> Self {
        Message {
            frames: SmallVec::from_vec(v),
            properties: None,
        }
    }
}
impl<F: Into<Frame>> FromIterator<F> for Message {
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        Message {
            frames: iter.into_iter().map(Into::into).collect(),
            properties: None,
        }
    }
}
impl IntoIterator for Message {
    type Item = Frame;
    type IntoIter = smallvec::IntoIter<[Frame; 2]>;
    fn into_iter(self) -> Self::IntoIter {
        self.frames.into_iter()
    }
}
impl<'a> IntoIterator for &'a Message {
    type Item = &'a Frame;
    type IntoIter = std::slice::Iter<'a, Frame>;
    fn into_iter(self) -> Self::IntoIter {
        self.frames.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_pop_front_back() {
        let mut m = Message::from("b");
        m.push_front(Bytes::from_static(b"a"));
        m.push_back(Bytes::from_static(b"c"));
        assert_eq!(m.len(), 3);
        assert_eq!(m.byte_len(), 3);
        assert_eq!(m.pop_front().as_deref(), Some(&b"a"[..]));
        assert_eq!(m.pop_back().as_deref(), Some(&b"c"[..]));
        let tail = m.split_off(0);
        assert!(m.is_empty());
        assert_eq!(tail.frames(), &[Frame::from("b")]);
    }

    #[test]
    fn borrowed_data_is_copied_and_small_frames_are_inline() {
        let buf = [1u8, 2, 3];
        let m = Message::from(&buf[..]);
        assert!(m.frames()[0].is_inline());
        let line = String::from("hello");
        assert_eq!(Message::from(line.as_str()).frames()[0], "hello");
        let m: Message = [&b"a"[..], b"b"].into_iter().collect();
        assert_eq!(m.len(), 2);
        // Two inline frames (80), the SmallVec's length (8), the properties pointer (8).
        assert_eq!(std::mem::size_of::<Message>(), 96);
    }
}
