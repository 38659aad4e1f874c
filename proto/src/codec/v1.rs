//! ZMTP/1.0 framing (RFC 13): a length that counts the flags byte (one octet, or 0xFF and
//! eight octets), then the flags byte (MORE), then the body. The session switches to this
//! codec when a peer sends no ZMTP signature (see [`super::detect_revision`]).

use bytes::{Buf, BufMut, BytesMut};

use super::frame::{FrameHeader, FLAG_MORE};
use crate::error::{DecodeError, PeerMisbehaved};

/// RFC 13 §"The Framing Layer": a length of 255 or more is 0xFF then eight octets.
const ESCAPE: u8 = 0xFF;

/// Decodes the frame header at the front of `buf` (`Ok(None)` until it is all there). The
/// body size (the length minus the flags byte) is checked against `limit` before anything
/// waits for the body.
///
/// Reserved flag bits are ignored: RFC 13 says they SHOULD (not MUST) be zero, and libzmq's
/// signature doubles as an identity frame header whose flags byte is 0x7F.
pub fn decode_header(buf: &[u8], limit: u64) -> Result<Option<FrameHeader>, PeerMisbehaved> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let (length, flags_at) = if first == ESCAPE {
        match buf.get(1..9) {
            Some(mut length) => (length.get_u64(), 9),
            None => return Ok(None),
        }
    } else {
        (u64::from(first), 1)
    };
    // RFC 13: "the minimum valid length of a frame is 1 octet, thus a length of 0 is
    // invalid" (it has no room for the flags byte).
    let Some(size) = length.checked_sub(1) else {
        return Err(DecodeError::ZeroLength.into());
    };
    if size > limit {
        return Err(PeerMisbehaved::FrameTooLarge { size, limit });
    }
    // As for ZMTP 3.x (RFC 23 §"Formal Grammar"), no body beyond 2^63-1 octets.
    if size > i64::MAX as u64 {
        return Err(DecodeError::SizeOverflow.into());
    }
    let body_len = usize::try_from(size).map_err(|_| DecodeError::SizeOverflow)?;
    let Some(&flags) = buf.get(flags_at) else {
        return Ok(None);
    };
    Ok(Some(FrameHeader {
        // RFC 13: bit 0 is MORE; bits 1-7 are reserved.
        flags: flags & FLAG_MORE,
        header_len: flags_at + 1,
        body_len,
    }))
}

/// Appends the header of a frame of `len` body bytes (RFC 13: the length counts the flags
/// byte; lengths up to 254 take one octet, longer ones 0xFF and eight octets).
#[inline]
pub fn encode_header(out: &mut BytesMut, more: bool, len: usize) {
    let length = len as u64 + 1;
    match u8::try_from(length) {
        Ok(short) if short != ESCAPE => out.put_u8(short),
        _ => {
            out.put_u8(ESCAPE);
            out.put_u64(length);
        }
    }
    out.put_u8(if more { FLAG_MORE } else { 0 });
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
        encode_header(&mut out, true, 2);
        encode_header(&mut out, false, 254);
        assert_eq!(
            &out[..],
            b"\x03\x01\xff\x00\x00\x00\x00\x00\x00\x00\xff\x00"
        );
        assert_eq!(decode_header(&out, u64::MAX), Ok(header(FLAG_MORE, 2, 2)));
        assert_eq!(decode_header(&out[2..], u64::MAX), Ok(header(0, 10, 254)));
        let mut out = BytesMut::new();
        encode_header(&mut out, false, 253);
        assert_eq!(&out[..], b"\xfe\x00");
    }

    #[test]
    fn zero_length_partial_headers_limits_and_reserved_bits() {
        assert_eq!(
            decode_header(b"\x00\x00", u64::MAX),
            Err(DecodeError::ZeroLength.into())
        );
        assert_eq!(decode_header(b"\x05", u64::MAX), Ok(None));
        assert_eq!(decode_header(b"\xff\x00\x00", u64::MAX), Ok(None));
        assert_eq!(
            decode_header(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff", 10),
            Err(PeerMisbehaved::FrameTooLarge {
                size: u64::MAX - 1,
                limit: 10
            })
        );
        // libzmq's signature read as a ZMTP 1.0 header: identity of 3 bytes, flags 0x7F.
        assert_eq!(
            decode_header(b"\xff\x00\x00\x00\x00\x00\x00\x00\x04\x7f", u64::MAX),
            Ok(header(FLAG_MORE, 10, 3))
        );
    }
}
