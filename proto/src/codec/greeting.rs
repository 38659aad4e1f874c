//! The 64-byte ZMTP greeting (RFC 23 §"Greeting", RFC 37 §"Formal Grammar"):
//! signature, version, mechanism name, as-server flag, filler; and [`detect_revision`], which
//! tells from a peer's first bytes whether it speaks ZMTP 1.0, 2.0 or 3.x (RFC 15
//! §"Backwards Interoperability", RFC 23 §"Version Negotiation").

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

/// Length of the signature (RFC 23 §"Signature": %xFF padding %x7F).
pub const SIGNATURE_LEN: usize = 10;
/// Offset of the revision byte of a ZMTP 2.0 greeting (RFC 15), the major version of 3.x.
const REVISION_AT: usize = MAJOR_AT;
/// Offset of the socket-type byte of a ZMTP 2.0 greeting (RFC 15 §"Formal Grammar").
pub const SOCKET_TYPE_AT: usize = 11;
/// Length of a ZMTP 2.0 greeting up to its identity frame: signature, revision, socket type.
pub const V2_GREETING_LEN: usize = 12;
/// Offset of the last signature byte: 0x7F, whose bit 0 tells a ZMTP 1.0 peer apart.
const SIGNATURE_END_AT: usize = 9;

/// What a peer's first bytes say about the protocol revision it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// Too few bytes to tell yet.
    Pending,
    /// No ZMTP signature: a ZMTP 1.0 peer, whose bytes so far begin its identity frame.
    Unversioned,
    /// A signature, then the revision byte once it has arrived (0 and 1 for the ZMTP 1.0
    /// and 2.0 greetings, 3 and up for ZMTP 3.x).
    Versioned(Option<u8>),
}

/// Tells from the first bytes of a peer's stream which protocol revision it speaks
/// (RFC 15 §"Backwards Interoperability"). Fails only on a signature that is neither a
/// ZMTP signature nor a ZMTP 1.0 frame header.
pub fn detect_revision(buf: &[u8]) -> Result<Detected, DecodeError> {
    // RFC 15: "If this octet is not %FF, then the other peer is using ZMTP/1.0."
    match buf.first() {
        None => return Ok(Detected::Pending),
        Some(&0xFF) => {}
        Some(_) => return Ok(Detected::Unversioned),
    }
    let Some(&last) = buf.get(SIGNATURE_END_AT) else {
        return Ok(Detected::Pending);
    };
    // RFC 15: "If the least significant bit is 0, then the other peer is using ZMTP/1.0"
    // (the 10th octet is the flags of a long ZMTP 1.0 identity frame).
    if last & 0x01 == 0 {
        return Ok(Detected::Unversioned);
    }
    // RFC 23 §"Signature": a versioned signature ends in %x7F.
    if last != 0x7F {
        return Err(DecodeError::BadSignature);
    }
    Ok(Detected::Versioned(buf.get(REVISION_AT).copied()))
}

/// Writes `identity_len + 1` into the signature padding of an encoded greeting, as RFC 15
/// §"Backwards Interoperability" asks, so that a ZMTP 1.0 peer reads our signature as the
/// header of an identity frame of that length. RFC 23 says the padding is not validated.
pub fn set_signature_length(greeting: &mut [u8], identity_len: usize) {
    if let Some(padding) = greeting.get_mut(1..SIGNATURE_END_AT) {
        padding.copy_from_slice(&(identity_len as u64 + 1).to_be_bytes());
    }
}

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

    /// Checks what has arrived of a ZMTP 3.x greeting so far. Returns `Ok(None)` while fewer than 64
    /// bytes are present but nothing is wrong yet, so a bad peer fails on its first bytes.
    pub fn decode(buf: &[u8]) -> Result<Option<Greeting>, SessionError> {
        // RFC 23 §"Signature": %xFF padding %x7F; the padding "MUST NOT" be validated.
        let bad = |b: Option<&u8>, want: u8| b.is_some_and(|&b| b != want);
        if bad(buf.first(), 0xFF) || bad(buf.get(9), 0x7F) {
            return Err(PeerMisbehaved::from(DecodeError::BadSignature).into());
        }
        // RFC 23 §"Version Negotiation": this decoder takes versions >= 3.0; the session
        // detects ZMTP 1.0/2.0 peers with `detect_revision` before it is called.
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

    #[test]
    fn revision_detection() {
        use Detected::*;
        assert_eq!(detect_revision(&[]), Ok(Pending));
        assert_eq!(detect_revision(&[0xFF, 0, 0]), Ok(Pending));
        // A ZMTP 1.0 identity frame: length 4, flags 0, "abc".
        assert_eq!(detect_revision(b"\x04\x00abc"), Ok(Unversioned));
        // A long ZMTP 1.0 frame: 0xFF, eight length octets, flags 0.
        let long_v1 = [0xFF, 0, 0, 0, 0, 0, 0, 1, 0, 0x00];
        assert_eq!(detect_revision(&long_v1), Ok(Unversioned));
        let mut sig = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1, 5];
        assert_eq!(detect_revision(&sig[..10]), Ok(Versioned(None)));
        assert_eq!(detect_revision(&sig), Ok(Versioned(Some(1))));
        sig[9] = 0x7D;
        assert_eq!(detect_revision(&sig), Err(DecodeError::BadSignature));
    }

    #[test]
    fn signature_length_counts_the_identity_and_its_flags() {
        let mut out = BytesMut::new();
        Greeting::new(3, 1, b"NULL", false).encode(&mut out);
        set_signature_length(&mut out, 3);
        assert_eq!(&out[..10], b"\xff\x00\x00\x00\x00\x00\x00\x00\x04\x7f");
        assert_eq!(Greeting::decode(&out).map(|g| g.is_some()), Ok(true));
    }
}
