//! Z85 (RFC 32), the printable encoding ZeroMQ uses for CURVE keys: every 4 bytes become
//! 5 characters of an 85-character alphabet, big-endian. A 32-byte key is 40 characters.

use thiserror::Error;

/// RFC 32 §"Encoding": the 85 characters, in value order.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Why a Z85 string or byte string could not be converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Z85Error {
    /// RFC 32: the binary frame size must be divisible by 4.
    #[error("Z85 input of {0} bytes is not a multiple of 4")]
    BinaryLength(usize),
    /// RFC 32: the string frame size must be divisible by 5.
    #[error("Z85 text of {0} characters is not a multiple of 5")]
    TextLength(usize),
    /// A character outside RFC 32's alphabet.
    #[error("invalid Z85 character at position {0}")]
    BadCharacter(usize),
    /// Five characters whose value does not fit in 32 bits.
    #[error("Z85 group at position {0} overflows 32 bits")]
    Overflow(usize),
}

/// Encodes `data` (a multiple of 4 bytes) as Z85 text.
pub fn encode(data: &[u8]) -> Result<String, Z85Error> {
    if data.len() % 4 != 0 {
        return Err(Z85Error::BinaryLength(data.len()));
    }
    let mut text = String::with_capacity(data.len() / 4 * 5);
    for chunk in data.chunks_exact(4) {
        let mut value = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        let mut group = [0u8; 5];
        for slot in group.iter_mut().rev() {
            *slot = ALPHABET.get((value % 85) as usize).copied().unwrap_or(b'0');
            value /= 85;
        }
        text.extend(group.iter().map(|&c| char::from(c)));
    }
    Ok(text)
}

/// Decodes Z85 `text` (a multiple of 5 characters) to bytes.
pub fn decode(text: &str) -> Result<Vec<u8>, Z85Error> {
    let text = text.as_bytes();
    if text.len() % 5 != 0 {
        return Err(Z85Error::TextLength(text.len()));
    }
    let mut data = Vec::with_capacity(text.len() / 5 * 4);
    for (index, group) in text.chunks_exact(5).enumerate() {
        let mut value: u64 = 0;
        for (offset, &c) in group.iter().enumerate() {
            let position = index * 5 + offset;
            let digit = ALPHABET
                .iter()
                .position(|&a| a == c)
                .ok_or(Z85Error::BadCharacter(position))?;
            value = value * 85 + digit as u64;
        }
        let value = u32::try_from(value).map_err(|_| Z85Error::Overflow(index * 5))?;
        data.extend_from_slice(&value.to_be_bytes());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 32 §"Test Case".
    #[test]
    fn rfc32_test_vector() {
        let bytes = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&bytes).unwrap(), "HelloWorld");
        assert_eq!(decode("HelloWorld").unwrap(), bytes);
    }

    /// The CURVE key pair from libzmq's `zmq_curve` man page (public key of the secret).
    #[test]
    fn libzmq_manual_keys_round_trip() {
        let public = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
        let bytes = decode(public).unwrap();
        assert_eq!(bytes.len(), 32);
        assert_eq!(encode(&bytes).unwrap(), public);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(encode(&[1, 2, 3]), Err(Z85Error::BinaryLength(3)));
        assert_eq!(decode("Hello1"), Err(Z85Error::TextLength(6)));
        assert_eq!(decode("Hel~o"), Err(Z85Error::BadCharacter(3)));
        let max = encode(&[0xff; 4]).unwrap();
        assert_eq!(decode(&max), Ok(vec![0xff; 4]));
        assert_eq!(decode("#####"), Err(Z85Error::Overflow(0)));
    }
}
