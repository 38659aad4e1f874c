//! Frames (RFC 23 §"Framing"): a flags byte, a 1- or 8-byte size, a body. Decoding checks the
//! declared size against the limit before anything waits for or allocates the body, and splits
//! bodies off the caller's buffer without copying.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, PeerMisbehaved};

/// Flags bit 0: more frames of this message follow.
pub const FLAG_MORE: u8 = 0x01;
/// Flags bit 1: the size is 8 bytes, big-endian.
pub const FLAG_LONG: u8 = 0x02;
/// Flags bit 2: the frame is a command.
pub const FLAG_COMMAND: u8 = 0x04;
/// RFC 23 §"Framing": bits 7-3 are reserved and MUST be zero.
const RESERVED: u8 = !(FLAG_MORE | FLAG_LONG | FLAG_COMMAND);
/// The largest body a short frame carries.
const SHORT_MAX: usize = u8::MAX as usize;

/// Largest frame bodies a decoder accepts, checked against the declared size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest message frame body.
    pub message: u64,
    /// Largest command frame body.
    pub command: u64,
}

impl FrameLimits {
    /// No limit at all (only the RFC's 2^63-1 and the address space).
    pub const UNLIMITED: FrameLimits = FrameLimits {
        message: u64::MAX,
        command: u64::MAX,
    };
}

/// A decoded frame header: what the next frame is and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The flags byte with the LONG bit cleared (MORE and COMMAND only).
    pub flags: u8,
    /// Bytes of flags and size (2 or 9).
    pub header_len: usize,
    /// Bytes of body.
    pub body_len: usize,
}

/// One whole frame; the body shares the buffer it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The flags byte.
    pub flags: u8,
    /// The body.
    pub body: Bytes,
}

impl Frame {
    /// True if the MORE flag is set.
    pub fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }

    /// True if this is a command frame.
    pub fn is_command(&self) -> bool {
        self.flags & FLAG_COMMAND != 0
    }
}

impl FrameHeader {
    /// Decodes the header at the front of `buf`; `Ok(None)` if it is not all there yet.
    /// Fails on reserved bits, a command with MORE, or a size over `limits`, before the body
    /// has arrived.
    #[inline]
    pub fn decode(buf: &[u8], limits: &FrameLimits) -> Result<Option<FrameHeader>, PeerMisbehaved> {
        let Some(&flags) = buf.first() else {
            return Ok(None);
        };
        if flags & RESERVED != 0 {
            return Err(DecodeError::ReservedFlags(flags).into());
        }
        let command = flags & FLAG_COMMAND != 0;
        // RFC 23 §"Framing": the MORE bit "SHALL be zero on command frames".
        if command && flags & FLAG_MORE != 0 {
            return Err(PeerMisbehaved::CommandWithMore);
        }
        let (size, header_len) = if flags & FLAG_LONG == 0 {
            match buf.get(1) {
                Some(&size) => (u64::from(size), 2),
                None => return Ok(None),
            }
        } else {
            // RFC 23 §"Framing": long size is a 64-bit unsigned integer in network byte order.
            match buf.get(1..9) {
                Some(mut size) => (size.get_u64(), 9),
                None => return Ok(None),
            }
        };
        let limit = if command {
            limits.command
        } else {
            limits.message
        };
        if size > limit {
            return Err(PeerMisbehaved::FrameTooLarge { size, limit });
        }
        // RFC 23 §"Formal Grammar": long-size bodies are 0 to 2^63-1 octets.
        if size > i64::MAX as u64 {
            return Err(DecodeError::SizeOverflow.into());
        }
        let body_len = usize::try_from(size).map_err(|_| DecodeError::SizeOverflow)?;
        Ok(Some(FrameHeader {
            flags: flags & !FLAG_LONG,
            header_len,
            body_len,
        }))
    }

    /// Header plus body length, saturating (a huge body simply never arrives in full).
    #[inline]
    pub fn frame_len(&self) -> usize {
        self.header_len.saturating_add(self.body_len)
    }

    /// As [`FrameHeader::split_body`], as a message [`Frame`](crate::Frame): a small body
    /// is copied inside the frame (no reference to the read buffer, nothing shared between
    /// threads), a large one split off without a copy.
    #[inline]
    pub fn split_frame(&self, buf: &mut BytesMut) -> Option<crate::Frame> {
        if self.body_len > crate::Frame::INLINE_CAPACITY {
            return self.split_body(buf).map(crate::Frame::from);
        }
        let body = buf.get(self.header_len..self.frame_len())?;
        let frame = crate::Frame::copy_from_slice(body);
        buf.advance(self.frame_len());
        Some(frame)
    }

    /// Removes this frame from the front of `buf` and returns its body, or `None` (leaving
    /// `buf` untouched) if the body has not all arrived.
    #[inline]
    pub fn split_body(&self, buf: &mut BytesMut) -> Option<Bytes> {
        if buf.len() < self.frame_len() {
            return None;
        }
        buf.advance(self.header_len);
        Some(buf.split_to(self.body_len).freeze())
    }
}

/// Decodes one whole frame off the front of `buf`, or `Ok(None)` if it is not all there.
pub fn decode_frame(
    buf: &mut BytesMut,
    limits: &FrameLimits,
) -> Result<Option<Frame>, PeerMisbehaved> {
    let Some(header) = FrameHeader::decode(buf, limits)? else {
        return Ok(None);
    };
    Ok(header.split_body(buf).map(|body| Frame {
        flags: header.flags,
        body,
    }))
}

/// Appends a frame header for a body of `len` bytes; `flags` holds MORE and/or COMMAND, and
/// LONG is added when the body does not fit a short frame (RFC 23 §"Framing").
#[inline]
pub fn encode_frame_header(out: &mut BytesMut, flags: u8, len: usize) {
    if len <= SHORT_MAX {
        out.put_u8(flags & !FLAG_LONG);
        out.put_u8(len as u8);
    } else {
        out.put_u8(flags | FLAG_LONG);
        out.put_u64(len as u64);
    }
}

/// Appends a whole frame.
#[inline]
pub fn encode_frame(out: &mut BytesMut, flags: u8, body: &[u8]) {
    out.reserve(9 + body.len());
    encode_frame_header(out, flags, body.len());
    out.put_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], limits: &FrameLimits) -> Result<Option<Frame>, PeerMisbehaved> {
        decode_frame(&mut BytesMut::from(bytes), limits)
    }

    #[test]
    fn short_and_long_frames() {
        let mut out = BytesMut::new();
        encode_frame(&mut out, FLAG_MORE, b"abc");
        assert_eq!(&out[..], b"\x01\x03abc");
        let long = vec![7u8; 300];
        encode_frame(&mut out, 0, &long);
        assert_eq!(&out[5..14], b"\x02\x00\x00\x00\x00\x00\x00\x01\x2c");
        let a = decode_frame(&mut out, &FrameLimits::UNLIMITED)
            .unwrap()
            .unwrap();
        assert!(a.more() && !a.is_command());
        assert_eq!(&a.body[..], b"abc");
        let b = decode_frame(&mut out, &FrameLimits::UNLIMITED)
            .unwrap()
            .unwrap();
        assert_eq!(b.body.len(), 300);
        assert!(out.is_empty());
    }

    #[test]
    fn bad_headers_fail_before_the_body() {
        let u = FrameLimits::UNLIMITED;
        assert_eq!(
            decode(b"\x08\x00", &u),
            Err(DecodeError::ReservedFlags(8).into())
        );
        assert_eq!(decode(b"\x05", &u), Err(PeerMisbehaved::CommandWithMore));
        let small = FrameLimits {
            message: 10,
            command: 10,
        };
        assert_eq!(
            decode(b"\x00\x0b", &small),
            Err(PeerMisbehaved::FrameTooLarge {
                size: 11,
                limit: 10
            })
        );
        assert_eq!(
            decode(b"\x02\xff\xff\xff\xff\xff\xff\xff\xff", &u),
            Err(DecodeError::SizeOverflow.into())
        );
        assert_eq!(decode(b"\x02\x00\x00", &u), Ok(None));
        assert_eq!(decode(b"\x00\x05abc", &u), Ok(None));
    }
}
