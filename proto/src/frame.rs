//! [`Frame`]: one part of a message. Small payloads (up to [`Frame::INLINE_CAPACITY`] bytes)
//! live inside the frame, so the most common ZeroMQ traffic costs no heap allocation on
//! either side and no reference count shared between threads (libzmq keeps payloads of up to
//! 33 bytes inside its `zmq_msg_t` for the same reason). Larger payloads are shared
//! [`Bytes`]: forwarding or fanning a message out never copies them, and a frame built from a
//! `Bytes` (or a large `Vec<u8>`) converts back to one for free.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// One frame of a [`Message`](crate::Message): bytes, read through `Deref<Target = [u8]>`.
#[derive(Clone)]
pub struct Frame(Repr);

#[derive(Clone)]
enum Repr {
    /// `data[..len]` is the payload.
    Inline {
        len: u8,
        data: [u8; Frame::INLINE_CAPACITY],
    },
    Shared(Bytes),
}

impl Frame {
    /// Payloads up to this size are stored inside the frame. 38 bytes make an inline frame
    /// exactly as large as a shared one (40 bytes in all).
    pub const INLINE_CAPACITY: usize = 38;

    /// An empty frame.
    pub const fn new() -> Frame {
        Frame(Repr::Inline {
            len: 0,
            data: [0; Frame::INLINE_CAPACITY],
        })
    }

    /// A frame holding a copy of `bytes` (inside the frame if small, else on the heap).
    pub fn copy_from_slice(bytes: &[u8]) -> Frame {
        match inline(bytes) {
            Some(frame) => frame,
            None => Frame(Repr::Shared(Bytes::copy_from_slice(bytes))),
        }
    }

    /// A frame over static data, never copied.
    pub const fn from_static(bytes: &'static [u8]) -> Frame {
        Frame(Repr::Shared(Bytes::from_static(bytes)))
    }

    /// The payload.
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, data } => data.get(..usize::from(*len)).unwrap_or_default(),
            Repr::Shared(bytes) => bytes,
        }
    }

    /// The payload as `Bytes`: a reference-counted clone for a shared frame, a copy (one
    /// allocation) for an inline one.
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(self.as_slice()),
            Repr::Shared(bytes) => bytes.clone(),
        }
    }

    /// The payload as `Bytes` (free for a shared frame).
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(self.as_slice()),
            Repr::Shared(bytes) => bytes,
        }
    }

    /// The payload from byte `start` on, as `Bytes` (no copy for a shared frame).
    pub fn bytes_from(&self, start: usize) -> Bytes {
        match &self.0 {
            Repr::Shared(bytes) if start <= bytes.len() => bytes.slice(start..),
            _ => Bytes::copy_from_slice(self.as_slice().get(start..).unwrap_or_default()),
        }
    }

    /// True if the payload is stored inside the frame.
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

/// The inline frame for `bytes`, if they fit.
fn inline(bytes: &[u8]) -> Option<Frame> {
    let len = u8::try_from(bytes.len())
        .ok()
        .filter(|&n| usize::from(n) <= Frame::INLINE_CAPACITY)?;
    let mut data = [0; Frame::INLINE_CAPACITY];
    data.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Some(Frame(Repr::Inline { len, data }))
}

impl Default for Frame {
    fn default() -> Self {
        Frame::new()
    }
}

impl Deref for Frame {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Frame {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Frame {}

impl Hash for Frame {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl PartialOrd for Frame {
    fn partial_cmp(&self, other: &Frame) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Frame {
    fn cmp(&self, other: &Frame) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

/// Equality with anything that reads as bytes (`[u8]`, `&[u8]`, arrays, `Vec<u8>`, `Bytes`,
/// `str`), so tests and callers compare payloads directly.
macro_rules! eq_bytes {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for Frame {
            fn eq(&self, other: &$t) -> bool {
                self.as_slice() == AsRef::<[u8]>::as_ref(other)
            }
        }
        impl PartialEq<Frame> for $t {
            fn eq(&self, other: &Frame) -> bool {
                AsRef::<[u8]>::as_ref(self) == other.as_slice()
            }
        }
    )*};
}
eq_bytes!([u8], &[u8], Vec<u8>, Bytes, str, &str, String);

impl<const N: usize> PartialEq<[u8; N]> for Frame {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<Frame> for [u8; N] {
    fn eq(&self, other: &Frame) -> bool {
        self[..] == *other.as_slice()
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Frame {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == *other
    }
}

/// Printed as `Bytes` prints (a byte-string literal), so logs and assertion messages read as
/// they did when frames were `Bytes`.
impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("b\"")?;
        for &b in self.as_slice() {
            match b {
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\t' => f.write_str("\\t")?,
                b'\\' | b'"' => write!(f, "\\{}", char::from(b))?,
                b'\0' => f.write_str("\\0")?,
                0x20..=0x7e => write!(f, "{}", char::from(b))?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_str("\"")
    }
}

/// Kept shared, never copied: a `Bytes` handed over stays one (small or large).
impl From<Bytes> for Frame {
    fn from(bytes: Bytes) -> Frame {
        Frame(Repr::Shared(bytes))
    }
}

impl From<&Bytes> for Frame {
    fn from(bytes: &Bytes) -> Frame {
        Frame(Repr::Shared(bytes.clone()))
    }
}

/// A small vector is copied inside the frame (and freed here, on the sending thread); a
/// large one becomes the frame's shared buffer without a copy.
impl From<Vec<u8>> for Frame {
    fn from(v: Vec<u8>) -> Frame {
        inline(&v).unwrap_or_else(|| Frame(Repr::Shared(Bytes::from(v))))
    }
}

impl From<String> for Frame {
    fn from(s: String) -> Frame {
        Frame::from(s.into_bytes())
    }
}

impl From<&[u8]> for Frame {
    fn from(bytes: &[u8]) -> Frame {
        Frame::copy_from_slice(bytes)
    }
}

impl<const N: usize> From<&[u8; N]> for Frame {
    fn from(bytes: &[u8; N]) -> Frame {
        Frame::copy_from_slice(bytes)
    }
}

impl<const N: usize> From<[u8; N]> for Frame {
    fn from(bytes: [u8; N]) -> Frame {
        Frame::copy_from_slice(&bytes)
    }
}

impl From<&str> for Frame {
    fn from(s: &str) -> Frame {
        Frame::copy_from_slice(s.as_bytes())
    }
}

impl From<&String> for Frame {
    fn from(s: &String) -> Frame {
        Frame::copy_from_slice(s.as_bytes())
    }
}

impl From<&Vec<u8>> for Frame {
    fn from(v: &Vec<u8>) -> Frame {
        Frame::copy_from_slice(v)
    }
}

impl From<Frame> for Bytes {
    fn from(frame: Frame) -> Bytes {
        frame.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_payloads_are_inline_and_large_ones_shared() {
        let small = Frame::from(vec![7u8; Frame::INLINE_CAPACITY]);
        assert!(small.is_inline());
        assert_eq!(small, [7u8; Frame::INLINE_CAPACITY]);
        let large = vec![9u8; Frame::INLINE_CAPACITY + 1];
        let ptr = large.as_ptr();
        let large = Frame::from(large);
        assert!(!large.is_inline());
        // A large vector becomes the frame's buffer, and converts back without a copy.
        assert_eq!(large.as_ptr(), ptr);
        assert_eq!(large.into_bytes().as_ptr(), ptr);
        assert_eq!(std::mem::size_of::<Frame>(), 40);
    }

    #[test]
    fn bytes_stay_shared_and_compare_by_content() {
        let b = Bytes::from_static(b"hi");
        let f = Frame::from(b.clone());
        assert!(!f.is_inline());
        assert_eq!(f.to_bytes().as_ptr(), b.as_ptr());
        assert_eq!(f, Frame::from("hi"));
        assert_eq!(f, "hi");
        assert_eq!(f, b"hi");
        assert_eq!(&f[..], b"hi");
        assert_eq!(format!("{f:?}"), "b\"hi\"");
        assert_eq!(Frame::from("hi!").bytes_from(2), Bytes::from_static(b"!"));
        assert_eq!(Frame::new().len(), 0);
    }
}
