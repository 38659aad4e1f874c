//! Key material for PLAIN and CURVE: CURVE key pairs (X25519, as NaCl's `crypto_box`) and
//! secret bytes. Secrets are zeroised on drop, compared in constant time and never printed
//! by `Debug`.

use std::fmt;
use std::sync::OnceLock;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::z85;

/// Why a key could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key is 32 bytes, or 40 characters of Z85.
    #[error("a CURVE key is 32 bytes or 40 Z85 characters, not {0}")]
    Length(usize),
    /// The 40 characters are not valid Z85.
    #[error("invalid Z85 key: {0}")]
    Z85(#[from] z85::Z85Error),
}

/// A CURVE public key (32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurvePublicKey([u8; 32]);

/// A CURVE secret key (32 bytes): zeroised on drop, redacted in `Debug`, compared in
/// constant time. Its public key is derived once (a scalar multiplication, tens of
/// microseconds) and kept, so a server does not derive it again for every handshake.
#[derive(Clone)]
pub struct CurveSecretKey {
    bytes: [u8; 32],
    public: OnceLock<CurvePublicKey>,
}

impl CurveSecretKey {
    fn new(bytes: [u8; 32]) -> Self {
        CurveSecretKey {
            bytes,
            public: OnceLock::new(),
        }
    }
}

impl Zeroize for CurveSecretKey {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        self.public = OnceLock::new();
    }
}

impl Drop for CurveSecretKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl ZeroizeOnDrop for CurveSecretKey {}

/// A CURVE key pair.
#[derive(Clone, PartialEq, Eq)]
pub struct CurveKeyPair {
    /// The public half, to give to peers.
    pub public: CurvePublicKey,
    /// The secret half.
    pub secret: CurveSecretKey,
}

/// Secret bytes of any length (a PLAIN password): zeroised on drop, redacted in `Debug`,
/// compared in constant time.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

/// Reads 32 raw bytes or 40 Z85 characters.
fn key_bytes(input: &[u8]) -> Result<[u8; 32], KeyError> {
    let decoded;
    let raw: &[u8] = match input.len() {
        32 => input,
        40 => {
            let text = std::str::from_utf8(input).map_err(|_| KeyError::Length(input.len()))?;
            decoded = zeroize::Zeroizing::new(z85::decode(text)?);
            &decoded
        }
        n => return Err(KeyError::Length(n)),
    };
    <[u8; 32]>::try_from(raw).map_err(|_| KeyError::Length(raw.len()))
}

impl CurvePublicKey {
    /// The key from 32 raw bytes or its 40-character Z85 text (as libzmq's options take it).
    pub fn from_bytes_or_z85(input: &[u8]) -> Result<Self, KeyError> {
        key_bytes(input).map(CurvePublicKey)
    }

    /// The raw key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as 40 Z85 characters.
    pub fn to_z85(&self) -> String {
        z85::encode(&self.0).unwrap_or_default()
    }

    /// True if the key is a point of small order (such as all zeros): its X25519 shared
    /// secret with any secret key is all zeros, so it cannot authenticate anyone. libsodium
    /// refuses such keys in `crypto_box`; ferrozmq refuses them as CURVE_SERVERKEY and when
    /// a peer sends one.
    pub fn is_small_order(&self) -> bool {
        // Any clamped scalar is a multiple of the cofactor 8: the product is the identity
        // (all zeros) exactly for the points of small order.
        let product = curve25519_dalek::MontgomeryPoint(self.0).mul_clamped([1; 32]);
        bool::from(product.0.ct_eq(&[0u8; 32]))
    }
}

impl From<[u8; 32]> for CurvePublicKey {
    fn from(bytes: [u8; 32]) -> Self {
        CurvePublicKey(bytes)
    }
}

impl fmt::Debug for CurvePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CurvePublicKey({})", self.to_z85())
    }
}

impl CurveSecretKey {
    /// The key from 32 raw bytes or its 40-character Z85 text.
    pub fn from_bytes_or_z85(input: &[u8]) -> Result<Self, KeyError> {
        key_bytes(input).map(CurveSecretKey::new)
    }

    /// The raw key; handle with care.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key as 40 Z85 characters; handle with care.
    pub fn to_z85(&self) -> String {
        z85::encode(&self.bytes).unwrap_or_default()
    }

    /// The public key that goes with this secret key (libzmq's `zmq_curve_public`): derived
    /// on the first call, then kept with the key (and its clones made after that call).
    pub fn public_key(&self) -> CurvePublicKey {
        *self.public.get_or_init(|| {
            let secret = crypto_box::SecretKey::from(self.bytes);
            CurvePublicKey(*secret.public_key().as_bytes())
        })
    }

    pub(crate) fn to_box_key(&self) -> crypto_box::SecretKey {
        crypto_box::SecretKey::from(self.bytes)
    }
}

impl From<[u8; 32]> for CurveSecretKey {
    fn from(bytes: [u8; 32]) -> Self {
        CurveSecretKey::new(bytes)
    }
}

impl PartialEq for CurveSecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl Eq for CurveSecretKey {}

impl fmt::Debug for CurveSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CurveSecretKey(<redacted>)")
    }
}

impl CurveKeyPair {
    /// A new random key pair from the operating system's generator (libzmq's
    /// `zmq_curve_keypair`).
    pub fn generate() -> Self {
        let secret = crypto_box::SecretKey::generate(&mut crypto_box::aead::OsRng);
        let mut bytes = zeroize::Zeroizing::new(secret.to_bytes());
        let secret = CurveSecretKey::from(std::mem::take(&mut *bytes));
        CurveKeyPair {
            public: secret.public_key(),
            secret,
        }
    }

    /// The pair for a secret key, its public half derived.
    pub fn from_secret(secret: CurveSecretKey) -> Self {
        CurveKeyPair {
            public: secret.public_key(),
            secret,
        }
    }
}

impl fmt::Debug for CurveKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveKeyPair")
            .field("public", &self.public)
            .field("secret", &self.secret)
            .finish()
    }
}

impl SecretBytes {
    /// Wraps `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        SecretBytes(bytes.into())
    }

    /// The secret; handle with care.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        // Lengths are not secret; contents are compared in constant time.
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached public half follows the key: a clone made after it was derived keeps it,
    /// and zeroising the key forgets it (the zero key's own public half is derived anew).
    #[test]
    fn cached_public_key_follows_the_secret() {
        let mut secret = CurveSecretKey::from([7; 32]);
        let public = secret.public_key();
        let copy = secret.clone();
        assert_eq!(copy.public_key(), public);
        secret.zeroize();
        assert_eq!(secret.as_bytes(), &[0; 32]);
        assert_eq!(
            secret.public_key(),
            CurveSecretKey::from([0; 32]).public_key()
        );
        assert_ne!(secret.public_key(), public);
    }

    /// libzmq's `zmq_curve` manual page pairs this secret key with this public key.
    #[test]
    fn public_from_secret_matches_libzmq_manual() {
        let secret =
            CurveSecretKey::from_bytes_or_z85(b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs").unwrap();
        assert_eq!(
            secret.public_key().to_z85(),
            "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let pair = CurveKeyPair::generate();
        let text = format!("{pair:?}");
        assert!(!text.contains(&pair.secret.to_z85()));
        assert!(text.contains(&pair.public.to_z85()));
        assert_eq!(
            format!("{:?}", SecretBytes::new("hunter2")),
            "SecretBytes(<redacted>)"
        );
    }

    #[test]
    fn keys_parse_raw_or_z85_only() {
        let pair = CurveKeyPair::generate();
        let z85 = pair.public.to_z85();
        assert_eq!(
            CurvePublicKey::from_bytes_or_z85(z85.as_bytes()),
            Ok(pair.public)
        );
        assert_eq!(
            CurvePublicKey::from_bytes_or_z85(pair.public.as_bytes()),
            Ok(pair.public)
        );
        assert_eq!(
            CurvePublicKey::from_bytes_or_z85(b"short"),
            Err(KeyError::Length(5))
        );
    }
}
