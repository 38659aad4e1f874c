//! ZMTP/2.0 framing (RFC 15): a flags byte (MORE, LONG), a 1- or 8-byte size, a body. The
//! session switches to this codec when a peer's greeting announces revision 1.
//!
//! Message frames look as in ZMTP 3.x, but there are no commands: the COMMAND bit of 3.x is
//! one of RFC 15's reserved bits here, and a frame carrying it is refused.

use bytes::{Buf, BufMut, BytesMut};

use super::frame::{FrameHeader, FLAG_LONG, FLAG_MORE};
use crate::error::{DecodeError, PeerMisbehaved};

/// RFC 15 §"Framing": "Bits 2-7 are reserved for future use and MUST be zero."
const RESERVED: u8 = !(FLAG_MORE | FLAG_LONG);

/// Decodes the frame header at the front of `buf` (`Ok(None)` until it is all there). The
/// declared size is checked against `limit` before anything waits for the body.
pub fn decode_header(buf: &[u8], limit: u64) -> Result<Option<FrameHeader>, PeerMisbehaved> {
    let Some(&flags) = buf.first() else {
        return Ok(None);
    };
    if flags & RESERVED != 0 {
        return Err(DecodeError::ReservedFlags(flags).into());
    }
    // RFC 15 §"Framing": LONG clear, a one-octet length; set, a 64-bit length in network
    // byte order.
    let (size, header_len) = if flags & FLAG_LONG == 0 {
        match buf.get(1) {
            Some(&size) => (u64::from(size), 2),
            None => return Ok(None),
        }
    } else {
        match buf.get(1..9) {
            Some(mut size) => (size.get_u64(), 9),
            None => return Ok(None),
        }
    };
    if size > limit {
        return Err(PeerMisbehaved::FrameTooLarge { size, limit });
    }
    // As for ZMTP 3.x (RFC 23 §"Formal Grammar"), no body beyond 2^63-1 octets.
    if size > i64::MAX as u64 {
        return Err(DecodeError::SizeOverflow.into());
    }
    let body_len = usize::try_from(size).map_err(|_| DecodeError::SizeOverflow)?;
    Ok(Some(FrameHeader {
        flags: flags & FLAG_MORE,
        header_len,
        body_len,
    }))
}

/// Appends the header of a message frame of `len` bytes (RFC 15 §"Formal Grammar":
/// final-short %x00, final-long %x02, more-short %x01, more-long %x03).
#[inline]
pub fn encode_header(out: &mut BytesMut, more: bool, len: usize) {
    let more = if more { FLAG_MORE } else { 0 };
    match u8::try_from(len) {
        Ok(short) => {
            out.put_u8(more);
            out.put_u8(short);
        }
        Err(_) => {
            out.put_u8(more | FLAG_LONG);
            out.put_u64(len as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(flags: u8, header_len: usize, body_len: usize) -> Option<FrameHeader> {
        Some(FrameHeader {
            flags,
            header_len,
            body_len,
        })
    }

    #[test]
    fn short_and_long_headers_round_trip() {
        let mut out = BytesMut::new();
        encode_header(&mut out, true, 3);
        encode_header(&mut out, false, 300);
        assert_eq!(&out[..], b"\x01\x03\x02\x00\x00\x00\x00\x00\x00\x01\x2c");
        assert_eq!(decode_header(&out, u64::MAX), Ok(header(FLAG_MORE, 2, 3)));
        assert_eq!(decode_header(&out[2..], u64::MAX), Ok(header(0, 9, 300)));
    }

    #[test]
    fn reserved_bits_partial_headers_and_limits() {
        // The ZMTP 3.x COMMAND bit is reserved in ZMTP 2.0.
        assert_eq!(
            decode_header(b"\x04\x00", u64::MAX),
            Err(DecodeError::ReservedFlags(4).into())
        );
        assert_eq!(decode_header(b"\x02\x00\x00", u64::MAX), Ok(None));
        assert_eq!(decode_header(b"\x00", u64::MAX), Ok(None));
        assert_eq!(
            decode_header(b"\x02\xff\xff\xff\xff\xff\xff\xff\xff", 100),
            Err(PeerMisbehaved::FrameTooLarge {
                size: u64::MAX,
                limit: 100
            })
        );
    }
}
