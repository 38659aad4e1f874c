//! The 64-byte ZMTP greeting (RFC 23 §"Greeting", RFC 37 §"Formal Grammar"):
//! signature, version, mechanism name, as-server flag, filler.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, PeerMisbehaved, SessionError};

/// Length of a whole greeting (RFC 23 §"Greeting": "fixed size of 64 octets").
pub const GREETING_LEN: usize = 64;

/// Offset of the major version byte; the first 11 bytes decide the version.
const MAJOR_AT: usize = 10;
const MINOR_AT: usize = 11;
const MECHANISM_AT: usize = 12;
const MECHANISM_LEN: usize = 20;
const AS_SERVER_AT: usize = 32;

/// A decoded greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Greeting {
    /// Major version (3 for ZMTP 3.x).
    pub major: u8,
    /// Minor version (0 for 3.0, 1 for 3.1).
    pub minor: u8,
    /// Mechanism name with its NUL padding removed, e.g. `b"NULL"`.
    pub mechanism: Bytes,
    /// The as-server flag (RFC 23 §"Topology").
    pub as_server: bool,
}

impl Greeting {
    /// A greeting for `mechanism` (at most 20 bytes; longer names are cut).
    pub fn new(major: u8, minor: u8, mechanism: &'static [u8], as_server: bool) -> Self {
        Greeting {
            major,
            minor,
            mechanism: Bytes::from_static(mechanism),
            as_server,
        }
    }

    /// Checks what has arrived of a greeting so far. Returns `Ok(None)` while fewer than 64
    /// bytes are present but nothing is wrong yet, so a bad peer fails on its first bytes.
    pub fn decode(buf: &[u8]) -> Result<Option<Greeting>, SessionError> {
        // RFC 23 §"Signature": %xFF padding %x7F; the padding "MUST NOT" be validated.
        let bad = |b: Option<&u8>, want: u8| b.is_some_and(|&b| b != want);
        if bad(buf.first(), 0xFF) || bad(buf.get(9), 0x7F) {
            return Err(PeerMisbehaved::from(DecodeError::BadSignature).into());
        }
        // RFC 23 §"Version Negotiation": accept versions >= 3.0; we never downgrade below 3.
        if let Some(&major) = buf.get(MAJOR_AT) {
            if major < 3 {
                let minor = buf.get(MINOR_AT).copied().unwrap_or(0);
                return Err(SessionError::UnsupportedVersion { major, minor });
            }
        }
        let Some(greeting) = buf.get(..GREETING_LEN) else {
            return Ok(None);
        };
        let byte = |i: usize| greeting.get(i).copied().unwrap_or(0);
        let name = greeting
            .get(MECHANISM_AT..MECHANISM_AT + MECHANISM_LEN)
            .unwrap_or_default();
        let name_len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        Ok(Some(Greeting {
            major: byte(MAJOR_AT),
            minor: byte(MINOR_AT),
            mechanism: Bytes::copy_from_slice(name.get(..name_len).unwrap_or_default()),
            // RFC 23: as-server is %x00 | %x01; treat any non-zero as set.
            as_server: byte(AS_SERVER_AT) != 0,
        }))
    }

    /// Appends the 64 encoded bytes to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(GREETING_LEN);
        out.put_u8(0xFF);
        out.put_bytes(0, 8); // padding: RFC 23 says SHOULD be zero when sending all 64 bytes
        out.put_u8(0x7F);
        out.put_u8(self.major);
        out.put_u8(self.minor);
        let name_len = self.mechanism.len().min(MECHANISM_LEN);
        out.put_slice(self.mechanism.get(..name_len).unwrap_or_default());
        out.put_bytes(0, MECHANISM_LEN - name_len);
        out.put_u8(u8::from(self.as_server));
        out.put_bytes(0, GREETING_LEN - AS_SERVER_AT - 1); // 31-byte filler
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let g = Greeting::new(3, 1, b"NULL", false);
        let mut out = BytesMut::new();
        g.encode(&mut out);
        assert_eq!(out.len(), GREETING_LEN);
        assert_eq!(Greeting::decode(&out), Ok(Some(g)));
    }

    #[test]
    fn partial_input_is_checked_early() {
        assert_eq!(Greeting::decode(&[0xFF, 1, 2]), Ok(None));
        assert!(Greeting::decode(b"GET / HTTP/1.1").is_err());
        let mut v2 = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1];
        assert_eq!(
            Greeting::decode(&v2),
            Err(SessionError::UnsupportedVersion { major: 1, minor: 0 })
        );
        v2[10] = 4; // a future major version is accepted (RFC 23)
        assert_eq!(Greeting::decode(&v2), Ok(None));
    }
}
