//! The ZMTP wire codec, in one place: the 64-byte greeting, frames, commands and READY
//! metadata (RFC 23, RFC 37), revision detection, and the framing of the two legacy revisions
//! a session may fall back to, ZMTP 2.0 ([`v2`], RFC 15) and ZMTP 1.0 ([`v1`], RFC 13).
//! Pure functions over bytes; no state beyond what a caller passes.
//!
//! Public so that tools and the fuzz targets can drive each decoder on its own; the
//! [`Session`](crate::Session) is the normal way to use it.

pub(crate) mod command;
mod frame;
mod greeting;
mod metadata;
pub mod v1;
pub mod v2;

pub use command::Command;
pub use frame::{
    decode_frame, encode_frame, encode_frame_header, Frame, FrameHeader, FrameLimits, FLAG_COMMAND,
    FLAG_LONG, FLAG_MORE,
};
pub use greeting::{
    detect_revision, set_signature_length, Detected, Greeting, GREETING_LEN, SIGNATURE_LEN,
    SOCKET_TYPE_AT, V2_GREETING_LEN,
};
pub use metadata::Metadata;

use bytes::Bytes;

/// Splits `n` bytes off the front of `data` without copying, or `None` if there are fewer.
fn take(data: &mut Bytes, n: usize) -> Option<Bytes> {
    (data.len() >= n).then(|| data.split_to(n))
}

/// Reads one length byte off the front of `data`.
fn take_u8(data: &mut Bytes) -> Option<u8> {
    let b = *data.first()?;
    bytes::Buf::advance(data, 1);
    Some(b)
}
