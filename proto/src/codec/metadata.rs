//! Connection metadata, the body of READY (RFC 23 §"The NULL Security Mechanism"): repeated
//! `name` (1-byte length, 1-255 bytes) and `value` (4-byte big-endian length, bytes).
//! Names are compared case-insensitively (RFC 23 §"Connection Metadata").

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{take, take_u8};
use crate::error::DecodeError;

/// Decoded metadata properties, in the order received. Names and values share the command
/// body they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    properties: Vec<(Bytes, Bytes)>,
}

impl Metadata {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a property (names longer than 255 bytes are cut when encoding).
    pub fn insert(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.properties.push((name.into(), value.into()));
    }

    /// The value of the first property called `name`, ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.properties
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// All properties in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.properties.iter().map(|(n, v)| (n, v))
    }

    /// Parses a metadata block, checking every length against the bytes that remain.
    pub fn decode(mut data: Bytes) -> Result<Metadata, DecodeError> {
        let mut properties = Vec::new();
        while !data.is_empty() {
            let name_len = take_u8(&mut data).ok_or(DecodeError::TruncatedPropertyName)?;
            // RFC 23: "The name SHALL be 1 to 255 characters. Zero-sized names are not valid."
            if name_len == 0 {
                return Err(DecodeError::EmptyPropertyName);
            }
            let name =
                take(&mut data, usize::from(name_len)).ok_or(DecodeError::TruncatedPropertyName)?;
            if data.len() < 4 {
                return Err(DecodeError::TruncatedPropertyValue);
            }
            // RFC 23: "The value size field SHALL be four octets, in network byte order."
            let value_len =
                usize::try_from(data.get_u32()).map_err(|_| DecodeError::TruncatedPropertyValue)?;
            let value = take(&mut data, value_len).ok_or(DecodeError::TruncatedPropertyValue)?;
            properties.push((name, value));
        }
        Ok(Metadata { properties })
    }

    /// Bytes [`Metadata::encode`] appends.
    pub fn encoded_len(&self) -> usize {
        self.properties
            .iter()
            .map(|(n, v)| 1 + n.len().min(255) + 4 + v.len())
            .sum()
    }

    /// Appends the encoded properties to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        for (name, value) in &self.properties {
            let name = name.get(..name.len().min(255)).unwrap_or_default();
            out.put_u8(name.len() as u8);
            out.put_slice(name);
            out.put_u32(u32::try_from(value.len()).unwrap_or(u32::MAX));
            out.put_slice(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive() {
        let mut m = Metadata::new();
        m.insert("Socket-Type", "DEALER");
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(out.len(), m.encoded_len());
        let d = Metadata::decode(out.freeze()).unwrap();
        assert_eq!(d.get("socket-type").map(|v| &v[..]), Some(&b"DEALER"[..]));
        assert_eq!(d, m);
    }

    #[test]
    fn overrunning_lengths_fail() {
        let e = |b: &'static [u8]| Metadata::decode(Bytes::from_static(b)).unwrap_err();
        assert_eq!(e(b"\x05ab"), DecodeError::TruncatedPropertyName);
        assert_eq!(e(b"\x00"), DecodeError::EmptyPropertyName);
        assert_eq!(e(b"\x01a\x00\x00"), DecodeError::TruncatedPropertyValue);
        assert_eq!(
            e(b"\x01a\xff\xff\xff\xff\x00"),
            DecodeError::TruncatedPropertyValue
        );
    }
}
