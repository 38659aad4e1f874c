//! The CURVE mechanism (RFC 26, the CurveZMQ handshake of RFC 25) and its traffic cipher.
//!
//! Client: HELLO (its transient key C' and a box only the server's long-term key S opens),
//! then WELCOME (the server's transient key S' and a cookie), INITIATE (the cookie, the
//! client's long-term key C and a vouch binding C' to C), READY (the server's metadata).
//! The server keeps no state between HELLO and INITIATE but a per-connection cookie key, so
//! a cookie is only good for the connection that received it. Afterwards every frame travels
//! as a MESSAGE box under the transient keys, with a strictly increasing 8-byte nonce.
//!
//! Boxes are NaCl's `crypto_box` (X25519 + XSalsa20-Poly1305), laid out as libzmq lays them:
//! the 16-byte tag, then the ciphertext. All primitives are RustCrypto's: X25519 from
//! `curve25519-dalek`, HSalsa20 and Salsa20 from `salsa20`, Poly1305 from `poly1305`, and the
//! box itself from `crypto_secretbox` (NaCl's `crypto_box_afternm` is `crypto_secretbox` under
//! the precomputed key). [`BoxKey`] is that precomputed key.
//!
//! MESSAGE boxes take a shortcut that changes no byte on the wire: XSalsa20 with a 24-byte
//! nonce is Salsa20 keyed by HSalsa20(key, first 16 nonce bytes), and a MESSAGE nonce's first
//! 16 bytes are a constant per direction (RFC 26: "CurveZMQMESSAGEC" or "CurveZMQMESSAGES"),
//! so [`CurveCipher`] derives both directions' Salsa20 keys once per connection and each
//! message costs one Salsa20 keystream and one Poly1305, where `crypto_box` would recompute
//! HSalsa20 every time. The construction is NaCl's secretbox (first 32 keystream bytes key
//! Poly1305, the rest encrypt; the tag authenticates the ciphertext), checked against
//! `crypto_secretbox` in the tests.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use crypto_box::aead::{AeadInPlace, KeyInit, OsRng};
use crypto_box::{PublicKey, SecretKey};
use crypto_secretbox::XSalsa20Poly1305;
use curve25519_dalek::MontgomeryPoint;
use poly1305::Poly1305;
use rand_core::RngCore;
use salsa20::cipher::{KeyIvInit, StreamCipher};
use salsa20::Salsa20;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{
    auth_refused, unexpected, CurveKeyPair, CurvePublicKey, CurveSecretKey, Done, HandshakeStep,
    ZapReply, ZapRequest,
};
use crate::codec::command::put_command;
use crate::codec::{encode_frame_header, Metadata};
use crate::error::{PeerMisbehaved, SessionError};

/// Poly1305 tag length (NaCl's `crypto_box_MACBYTES`).
const TAG: usize = 16;
/// RFC 26: HELLO's data after its name: version (2), padding (72), C' (32), nonce (8), box (80).
const HELLO_DATA: usize = 2 + 72 + 32 + 8 + 80;
/// RFC 26: WELCOME's data: long nonce (16), box of S' and the cookie (16 + 128).
const WELCOME_DATA: usize = 16 + TAG + 128;
/// RFC 26: a cookie is a 16-byte nonce and a secretbox of C' and s' (16 + 64).
const COOKIE: usize = 16 + TAG + 64;
/// RFC 26: INITIATE's data at least: cookie, nonce, box of C, vouch nonce and vouch box.
const INITIATE_MIN: usize = COOKIE + 8 + TAG + 32 + 16 + TAG + 64;
/// RFC 26: a MESSAGE's data at least: nonce (8), tag, flags byte.
const MESSAGE_MIN: usize = 8 + TAG + 1;

/// Why the CURVE cipher could not box a frame (its nonce ran out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonceExhausted;

/// NaCl's precomputed box key (`crypto_box_beforenm`): HSalsa20 of the X25519 shared secret
/// and 16 zero bytes. Zeroised on drop.
pub(crate) struct BoxKey(Zeroizing<[u8; 32]>);

/// A public key of small order: the X25519 shared secret with it is all zeros whatever the
/// secret key (the secret is clamped to a multiple of 8), so anyone could compute the box key.
/// libsodium's `crypto_scalarmult` refuses it; so do we.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WeakKey;

impl BoxKey {
    /// The key of boxes between `secret`'s owner and `public`'s (the same from either side):
    /// X25519 as RFC 7748 defines it, then HSalsa20. Refused if `public` has small order.
    pub(crate) fn new(public: &PublicKey, secret: &SecretKey) -> Result<BoxKey, WeakKey> {
        let scalar = Zeroizing::new(secret.to_bytes());
        let mut point = MontgomeryPoint(*public.as_bytes()).mul_clamped(*scalar);
        let shared = Zeroizing::new(point.0);
        zeroize::Zeroize::zeroize(&mut point.0);
        if bool::from(shared.ct_eq(&[0u8; 32])) {
            return Err(WeakKey);
        }
        Ok(BoxKey(hsalsa20(&shared, &[0; 16])))
    }

    /// The key the weak shared secret (all zeros) gives: only ever used to seal a HELLO to a
    /// configured server key of small order, whose WELCOME is then refused.
    fn of_weak_key() -> BoxKey {
        BoxKey(hsalsa20(&[0; 32], &[0; 16]))
    }

    /// The Salsa20 key of every box whose 24-byte nonce starts with `prefix`.
    fn stream_key(&self, prefix: &[u8; 16]) -> Zeroizing<[u8; 32]> {
        hsalsa20(&self.0, prefix)
    }

    fn secretbox(&self) -> XSalsa20Poly1305 {
        XSalsa20Poly1305::new((&*self.0).into())
    }
}

/// HSalsa20 (20 rounds) of a key and a 16-byte input.
fn hsalsa20(key: &[u8; 32], input: &[u8; 16]) -> Zeroizing<[u8; 32]> {
    let mut out = salsa20::hsalsa::<salsa20::cipher::consts::U10>(key.into(), input.into());
    let bytes = Zeroizing::new(<[u8; 32]>::from(out));
    zeroize::Zeroize::zeroize(out.as_mut_slice());
    bytes
}

/// The traffic hook: boxes each outgoing frame and opens each incoming one (RFC 26
/// §"MESSAGE"). Both directions count their short nonce up from where the handshake left
/// it; an incoming nonce not above the last one is a replay or a reordering and is fatal.
pub(crate) struct CurveCipher {
    /// The connection's box key, for INITIATE and READY; dropped (and zeroised) when the
    /// handshake is done, as MESSAGE boxes only need the two keys below.
    key: Option<BoxKey>,
    /// Salsa20 key of our MESSAGE boxes: HSalsa20(key, our MESSAGE nonce prefix).
    send_key: Zeroizing<[u8; 32]>,
    /// Salsa20 key of the peer's MESSAGE boxes.
    recv_key: Zeroizing<[u8; 32]>,
    /// The nonce of our next box.
    send_nonce: u64,
    /// The nonce of the peer's last box.
    recv_nonce: u64,
}

impl std::fmt::Debug for CurveCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurveCipher")
            .field("send_nonce", &self.send_nonce)
            .field("recv_nonce", &self.recv_nonce)
            .finish_non_exhaustive()
    }
}

/// RFC 26: the first 16 bytes of a client's MESSAGE nonces.
const CLIENT_MESSAGE: &[u8; 16] = b"CurveZMQMESSAGEC";
/// RFC 26: the first 16 bytes of a server's MESSAGE nonces.
const SERVER_MESSAGE: &[u8; 16] = b"CurveZMQMESSAGES";

/// One MESSAGE box's keystream: Salsa20 under a direction's key and the 8-byte short nonce
/// (the last 8 bytes of the 24-byte XSalsa20 nonce), and the Poly1305 key it starts with.
fn message_stream(key: &[u8; 32], nonce: u64) -> (Salsa20, Poly1305) {
    let mut stream = Salsa20::new(key.into(), &nonce.to_be_bytes().into());
    let mut mac_key = Zeroizing::new([0u8; 32]);
    stream.apply_keystream(&mut *mac_key);
    let mac = <Poly1305 as poly1305::universal_hash::KeyInit>::new((&*mac_key).into());
    (stream, mac)
}

/// Flags inside a MESSAGE box (as libzmq's `msg_t` flags): bit 0 MORE, bit 1 COMMAND.
pub(crate) const BOX_MORE: u8 = 0x01;
/// See [`BOX_MORE`].
pub(crate) const BOX_COMMAND: u8 = 0x02;

impl CurveCipher {
    /// The cipher of a connection with box key `key`, on the client's side or the server's,
    /// with the next short nonce we send and the last one the peer sent.
    fn new(key: BoxKey, client: bool, send_nonce: u64, recv_nonce: u64) -> CurveCipher {
        let (ours, theirs) = if client {
            (CLIENT_MESSAGE, SERVER_MESSAGE)
        } else {
            (SERVER_MESSAGE, CLIENT_MESSAGE)
        };
        CurveCipher {
            send_key: key.stream_key(ours),
            recv_key: key.stream_key(theirs),
            key: Some(key),
            send_nonce,
            recv_nonce,
        }
    }

    /// Appends one whole ZMTP frame carrying `body` boxed as a MESSAGE with `flags`
    /// ([`BOX_MORE`], [`BOX_COMMAND`]). The frame itself has no flags, as libzmq sends it.
    pub(crate) fn seal_frame(
        &mut self,
        out: &mut BytesMut,
        flags: u8,
        parts: &[&[u8]],
    ) -> Result<(), NonceExhausted> {
        let nonce_value = self.send_nonce;
        self.send_nonce = nonce_value.checked_add(1).ok_or(NonceExhausted)?;
        let plain_len = 1 + parts.iter().map(|p| p.len()).sum::<usize>();
        let body_len = 8 + 8 + TAG + plain_len;
        out.reserve(9 + body_len);
        encode_frame_header(out, 0, body_len);
        out.put_slice(b"\x07MESSAGE");
        out.put_u64(nonce_value);
        let tag_at = out.len();
        out.put_bytes(0, TAG);
        let plain_at = out.len();
        out.put_u8(flags);
        for part in parts {
            out.put_slice(part);
        }
        let Some(plain) = out.get_mut(plain_at..) else {
            return Err(NonceExhausted);
        };
        let (mut stream, mac) = message_stream(&self.send_key, nonce_value);
        stream.apply_keystream(plain);
        let tag = mac.compute_unpadded(plain);
        if let Some(slot) = out.get_mut(tag_at..plain_at) {
            slot.copy_from_slice(&tag);
        }
        Ok(())
    }

    /// Opens one MESSAGE (a frame body, whatever its frame flags) in place; returns the box's
    /// flags and the plaintext, which shares the body's buffer.
    pub(crate) fn open_frame(
        &mut self,
        mut body: BytesMut,
    ) -> Result<(u8, BytesMut), PeerMisbehaved> {
        let (flags, plain_at) = self.open_in_place(&mut body)?;
        body.advance(plain_at);
        Ok((flags, body))
    }

    /// Opens one MESSAGE in the slice that holds its frame body: authenticates it, checks
    /// its nonce and decrypts it where it lies. Returns the box's flags and where the
    /// plaintext starts (it runs to the end of the slice). Nothing is changed if it fails.
    pub(crate) fn open_in_place(&mut self, body: &mut [u8]) -> Result<(u8, usize), PeerMisbehaved> {
        let Some(rest) = body.strip_prefix(b"\x07MESSAGE") else {
            // The name is at most 255 bytes after its length: copy no more than that.
            let head = body.get(..256).unwrap_or(body);
            let name = crate::codec::command::split_name(Bytes::copy_from_slice(head))
                .map(|(name, _)| name)
                .unwrap_or_default();
            return Err(PeerMisbehaved::UnexpectedCommand { name });
        };
        if rest.len() < MESSAGE_MIN {
            return Err(PeerMisbehaved::MalformedMechanismCommand { name: "MESSAGE" });
        }
        let (nonce, rest) = rest.split_at(8);
        let nonce_value = u64::from_be_bytes(array8(nonce)?);
        // RFC 26: "The short nonce SHALL be strictly incrementing": a replay or reordering.
        if nonce_value <= self.recv_nonce {
            return Err(PeerMisbehaved::NonceNotIncreasing);
        }
        let (mut stream, mac) = message_stream(&self.recv_key, nonce_value);
        let (tag, ciphertext) = rest.split_at(TAG);
        // NaCl's order: authenticate the ciphertext (in constant time), then decrypt.
        if !bool::from(mac.compute_unpadded(ciphertext).ct_eq(tag)) {
            return Err(PeerMisbehaved::BoxDidNotOpen { what: "MESSAGE" });
        }
        const BOX_AT: usize = 8 + 8 + TAG;
        let Some(sealed) = body.get_mut(BOX_AT..) else {
            return Err(PeerMisbehaved::MalformedMechanismCommand { name: "MESSAGE" });
        };
        stream.apply_keystream(sealed);
        self.recv_nonce = nonce_value;
        let flags = sealed.first().copied().unwrap_or_default();
        Ok((flags, BOX_AT + 1))
    }
}

/// A CURVE handshake, client or server.
#[derive(Debug)]
pub(crate) enum CurveHandshake {
    /// Client: HELLO goes out at start; WELCOME next.
    ExpectWelcome(ExpectWelcome),
    /// Client: INITIATE sent; READY next.
    ExpectReady(ExpectReady),
    /// Server: HELLO next.
    ExpectHello(ExpectHello),
    /// Server: WELCOME sent; INITIATE next.
    ExpectInitiate(ExpectInitiate),
    /// Server: INITIATE asked of ZAP; the reply next.
    ExpectZapReply(ExpectZapReply),
    /// A transition is under way (or failed).
    Poisoned,
}

pub(crate) struct ExpectWelcome {
    keys: CurveKeyPair,
    server_key: CurvePublicKey,
    transient: SecretKey,
    /// C', derived once.
    transient_public: PublicKey,
    /// The box key of C' and S: HELLO's, and WELCOME's again (`None` if S has small order).
    hello_key: Option<BoxKey>,
    ours: Metadata,
}

pub(crate) struct ExpectReady {
    cipher: CurveCipher,
}

pub(crate) struct ExpectHello {
    secret: CurveSecretKey,
    ours: Metadata,
    zap: Option<ZapRequest>,
}

pub(crate) struct ExpectInitiate {
    public: CurvePublicKey,
    ours: Metadata,
    zap: Option<ZapRequest>,
    /// C', the client's transient key.
    client_transient: PublicKey,
    /// s', our transient secret key.
    transient: SecretKey,
    /// The key of this connection's cookie: dropped (and zeroised) after INITIATE.
    cookie_key: Zeroizing<[u8; 32]>,
    cipher: CurveCipher,
}

pub(crate) struct ExpectZapReply {
    ours: Metadata,
    peer: Metadata,
    cipher: CurveCipher,
}

macro_rules! opaque_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($t))
            }
        }
    )*};
}
opaque_debug!(
    ExpectWelcome,
    ExpectReady,
    ExpectHello,
    ExpectInitiate,
    ExpectZapReply
);

impl CurveHandshake {
    pub(crate) fn client(keys: &CurveKeyPair, server_key: CurvePublicKey, ours: Metadata) -> Self {
        let transient = SecretKey::generate(&mut OsRng);
        CurveHandshake::ExpectWelcome(ExpectWelcome {
            keys: keys.clone(),
            server_key,
            transient_public: transient.public_key(),
            hello_key: BoxKey::new(&PublicKey::from(*server_key.as_bytes()), &transient).ok(),
            transient,
            ours,
        })
    }

    pub(crate) fn server(secret: &CurveSecretKey, ours: Metadata, zap: Option<ZapRequest>) -> Self {
        CurveHandshake::ExpectHello(ExpectHello {
            secret: secret.clone(),
            ours,
            zap,
        })
    }

    pub(crate) fn is_server(&self) -> bool {
        !matches!(
            self,
            CurveHandshake::ExpectWelcome(_) | CurveHandshake::ExpectReady(_)
        )
    }

    /// RFC 26: the client starts with HELLO; its short nonce is 1 (as libzmq).
    pub(crate) fn start(&mut self, out: &mut BytesMut) {
        if let CurveHandshake::ExpectWelcome(state) = self {
            state.send_hello(out);
        }
    }

    pub(crate) fn handle_command(
        &mut self,
        name: &[u8],
        data: Bytes,
        out: &mut BytesMut,
    ) -> Result<HandshakeStep, SessionError> {
        let (next, step) = match std::mem::replace(self, CurveHandshake::Poisoned) {
            CurveHandshake::ExpectWelcome(s) => s.handle(name, &data, out)?,
            CurveHandshake::ExpectReady(s) => s.handle(name, &data)?,
            CurveHandshake::ExpectHello(s) => s.handle(name, &data, out)?,
            CurveHandshake::ExpectInitiate(s) => s.handle(name, &data, out)?,
            CurveHandshake::ExpectZapReply(_) | CurveHandshake::Poisoned => {
                return Err(unexpected(name))
            }
        };
        *self = next;
        Ok(step)
    }

    pub(crate) fn handle_zap_reply(
        &mut self,
        reply: ZapReply,
        out: &mut BytesMut,
    ) -> Result<HandshakeStep, SessionError> {
        let CurveHandshake::ExpectZapReply(state) =
            std::mem::replace(self, CurveHandshake::Poisoned)
        else {
            return Err(unexpected(b"ZAP reply"));
        };
        if !reply.allows() {
            return Err(auth_refused(out, &reply));
        }
        let mut done = send_ready(state.cipher, &state.ours, state.peer, out)?;
        done.user_id = Some(reply.user_id);
        done.zap_metadata = reply.metadata;
        Ok(HandshakeStep::Done(done))
    }
}

impl ExpectWelcome {
    fn send_hello(&self, out: &mut BytesMut) {
        // RFC 26: hello-box = Box[64 zero octets](C'->S), nonce "CurveZMQHELLO---" + short nonce.
        let nonce = 1u64.to_be_bytes();
        let sealed = match &self.hello_key {
            Some(key) => seal(key, b"CurveZMQHELLO---", &nonce, &[0; 64]),
            None => seal(
                &BoxKey::of_weak_key(),
                b"CurveZMQHELLO---",
                &nonce,
                &[0; 64],
            ),
        };
        put_command(
            out,
            b"HELLO",
            &[
                &[1, 0],  // version 1.0
                &[0; 72], // anti-amplification padding
                self.transient_public.as_bytes(),
                &nonce,
                &sealed,
            ],
        );
    }

    fn handle(
        self,
        name: &[u8],
        data: &[u8],
        out: &mut BytesMut,
    ) -> Result<(CurveHandshake, HandshakeStep), SessionError> {
        if name != b"WELCOME" {
            return Err(unexpected(name));
        }
        if data.len() != WELCOME_DATA {
            return Err(PeerMisbehaved::MalformedMechanismCommand { name: "WELCOME" }.into());
        }
        let (long_nonce, sealed) = data.split_at(16);
        // RFC 26: welcome-box = Box[S' + cookie](S->C'). If it does not open, the server is
        // not the one whose key we were given.
        let Some(hello_key) = &self.hello_key else {
            return Err(SessionError::AuthFailed {
                reason: "CURVE_SERVERKEY is a point of small order: no server can prove it".into(),
            });
        };
        let plain = open(hello_key, b"WELCOME-", long_nonce, sealed).ok_or_else(|| {
            SessionError::AuthFailed {
                reason: "WELCOME did not open with CURVE_SERVERKEY: wrong server key".into(),
            }
        })?;
        let (server_transient, cookie) = plain.split_at(32);
        let server_transient = PublicKey::from(array32(server_transient)?);
        // A server whose S' has small order could be anyone: refused as a bad key.
        let weak = |_| SessionError::AuthFailed {
            reason: "WELCOME's S' is a point of small order".into(),
        };
        let session_key = BoxKey::new(&server_transient, &self.transient).map_err(weak)?;

        // RFC 26: vouch = long nonce + Box[C' + S](C->S'), nonce "VOUCH---" + long nonce.
        let mut vouch_nonce = [0u8; 16];
        OsRng.fill_bytes(&mut vouch_nonce);
        let vouch_key =
            BoxKey::new(&server_transient, &self.keys.secret.to_box_key()).map_err(weak)?;
        let vouch_plain = concat64(self.transient_public.as_bytes(), self.server_key.as_bytes());
        let vouch = seal(&vouch_key, b"VOUCH---", &vouch_nonce, &vouch_plain);

        // RFC 26: initiate-box = Box[C + vouch + metadata](C'->S'), short nonce 2.
        let mut plain = Zeroizing::new(Vec::with_capacity(128 + self.ours.encoded_len()));
        plain.extend_from_slice(self.keys.public.as_bytes());
        plain.extend_from_slice(&vouch_nonce);
        plain.extend_from_slice(&vouch);
        let mut metadata = BytesMut::new();
        self.ours.encode(&mut metadata);
        plain.extend_from_slice(&metadata);
        let nonce = 2u64.to_be_bytes();
        let sealed = seal(&session_key, b"CurveZMQINITIATE", &nonce, &plain);
        put_command(out, b"INITIATE", &[cookie, &nonce, &sealed]);
        let cipher = CurveCipher::new(session_key, true, 3, 0);
        Ok((
            CurveHandshake::ExpectReady(ExpectReady { cipher }),
            HandshakeStep::Continue,
        ))
    }
}

impl ExpectReady {
    fn handle(
        mut self,
        name: &[u8],
        data: &[u8],
    ) -> Result<(CurveHandshake, HandshakeStep), SessionError> {
        if name != b"READY" {
            return Err(unexpected(name));
        }
        let malformed = || PeerMisbehaved::MalformedMechanismCommand { name: "READY" };
        if data.len() < 8 + TAG {
            return Err(malformed().into());
        }
        let (nonce, sealed) = data.split_at(8);
        // RFC 26: ready-box = Box[metadata](S'->C'), nonce "CurveZMQREADY---" + short nonce.
        let plain = open_with(self.cipher.key.as_ref(), b"CurveZMQREADY---", nonce, sealed)
            .ok_or(PeerMisbehaved::BoxDidNotOpen { what: "READY" })?;
        self.cipher.recv_nonce = u64::from_be_bytes(array8(nonce)?);
        let peer =
            Metadata::decode(Bytes::copy_from_slice(&plain)).map_err(PeerMisbehaved::from)?;
        let mut done = Done::clear(peer);
        self.cipher.key = None;
        done.cipher = Some(Box::new(self.cipher));
        Ok((CurveHandshake::Poisoned, HandshakeStep::Done(done)))
    }
}

impl ExpectHello {
    fn handle(
        self,
        name: &[u8],
        data: &[u8],
        out: &mut BytesMut,
    ) -> Result<(CurveHandshake, HandshakeStep), SessionError> {
        if name != b"HELLO" {
            return Err(unexpected(name));
        }
        let malformed = || PeerMisbehaved::MalformedMechanismCommand { name: "HELLO" };
        if data.len() != HELLO_DATA {
            return Err(malformed().into());
        }
        let (version, rest) = data.split_at(2);
        if version != [1, 0] {
            return Err(PeerMisbehaved::UnsupportedCurveVersion.into());
        }
        let (_padding, rest) = rest.split_at(72);
        let (client_transient, rest) = rest.split_at(32);
        let (nonce, sealed) = rest.split_at(8);
        let client_transient = PublicKey::from(array32(client_transient)?);
        let key = BoxKey::new(&client_transient, &self.secret.to_box_key())
            .map_err(|_| refuse(out, "HELLO's C' is a point of small order"))?;
        let plain = open(&key, b"CurveZMQHELLO---", nonce, sealed).ok_or_else(|| {
            refuse(
                out,
                "HELLO did not open: the client does not know our public key",
            )
        })?;
        if !bool::from(plain.ct_eq(&[0u8; 64][..])) {
            return Err(malformed().into());
        }

        // RFC 26: cookie = long nonce + SecretBox[C' + s'](K), K known only to this
        // connection's handshake.
        let transient = SecretKey::generate(&mut OsRng);
        let transient_public = transient.public_key();
        let mut cookie_key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(cookie_key.as_mut());
        let mut cookie_nonce = [0u8; 16];
        OsRng.fill_bytes(&mut cookie_nonce);
        let cookie_plain =
            Zeroizing::new(concat64(client_transient.as_bytes(), &transient.to_bytes()));
        let cookie_box = secretbox_seal(&cookie_key, &cookie_nonce, cookie_plain.as_ref());

        // RFC 26: welcome-box = Box[S' + cookie](S->C'), nonce "WELCOME-" + long nonce.
        let mut welcome_plain = Vec::with_capacity(128);
        welcome_plain.extend_from_slice(transient_public.as_bytes());
        welcome_plain.extend_from_slice(&cookie_nonce);
        welcome_plain.extend_from_slice(&cookie_box);
        let mut long_nonce = [0u8; 16];
        OsRng.fill_bytes(&mut long_nonce);
        let sealed = seal(&key, b"WELCOME-", &long_nonce, &welcome_plain);
        put_command(out, b"WELCOME", &[&long_nonce, &sealed]);

        let cipher = CurveCipher::new(
            BoxKey::new(&client_transient, &transient)
                .map_err(|_| refuse(out, "HELLO's C' is a point of small order"))?,
            false,
            1,
            u64::from_be_bytes(array8(nonce)?),
        );
        Ok((
            CurveHandshake::ExpectInitiate(ExpectInitiate {
                public: self.secret.public_key(),
                ours: self.ours,
                zap: self.zap,
                client_transient,
                transient,
                cookie_key,
                cipher,
            }),
            HandshakeStep::Continue,
        ))
    }
}

impl ExpectInitiate {
    fn handle(
        mut self,
        name: &[u8],
        data: &[u8],
        out: &mut BytesMut,
    ) -> Result<(CurveHandshake, HandshakeStep), SessionError> {
        if name != b"INITIATE" {
            return Err(unexpected(name));
        }
        if data.len() < INITIATE_MIN {
            return Err(PeerMisbehaved::MalformedMechanismCommand { name: "INITIATE" }.into());
        }
        let (cookie, rest) = data.split_at(COOKIE);
        let (cookie_nonce, cookie_box) = cookie.split_at(16);
        // The cookie must be the one we made for this connection, holding C' and s'.
        let cookie_plain = secretbox_open(&self.cookie_key, cookie_nonce, cookie_box)
            .ok_or(PeerMisbehaved::BoxDidNotOpen { what: "cookie" })?;
        let expected = Zeroizing::new(concat64(
            self.client_transient.as_bytes(),
            &self.transient.to_bytes(),
        ));
        if !bool::from(cookie_plain.ct_eq(&expected[..])) {
            return Err(PeerMisbehaved::BoxDidNotOpen { what: "cookie" }.into());
        }
        let (nonce, sealed) = rest.split_at(8);
        let nonce_value = u64::from_be_bytes(array8(nonce)?);
        if nonce_value <= self.cipher.recv_nonce {
            return Err(PeerMisbehaved::NonceNotIncreasing.into());
        }
        let plain = open_with(self.cipher.key.as_ref(), b"CurveZMQINITIATE", nonce, sealed)
            .ok_or(PeerMisbehaved::BoxDidNotOpen { what: "INITIATE" })?;
        self.cipher.recv_nonce = nonce_value;
        let (client_key, rest) = plain.split_at(32);
        let (vouch_nonce, rest) = rest.split_at(16);
        let (vouch, metadata) = rest.split_at(TAG + 64);
        let client_key = PublicKey::from(array32(client_key)?);
        // RFC 26: the vouch, from C to S', must hold C' and S: it proves the client that owns
        // C started this very connection.
        let vouch_key = BoxKey::new(&client_key, &self.transient)
            .map_err(|_| refuse(out, "INITIATE's C is a point of small order"))?;
        let vouch_plain = open(&vouch_key, b"VOUCH---", vouch_nonce, vouch)
            .ok_or_else(|| refuse(out, "INITIATE vouch did not open"))?;
        let expected = concat64(self.client_transient.as_bytes(), self.public.as_bytes());
        if !bool::from(vouch_plain.ct_eq(&expected[..])) {
            return Err(refuse(out, "INITIATE vouch does not match this connection"));
        }
        let peer =
            Metadata::decode(Bytes::copy_from_slice(metadata)).map_err(PeerMisbehaved::from)?;
        match self.zap {
            Some(mut request) => {
                request.mechanism = "CURVE";
                request.credentials = vec![Bytes::copy_from_slice(client_key.as_bytes())];
                Ok((
                    CurveHandshake::ExpectZapReply(ExpectZapReply {
                        ours: self.ours,
                        peer,
                        cipher: self.cipher,
                    }),
                    HandshakeStep::Zap(request),
                ))
            }
            None => {
                let done = send_ready(self.cipher, &self.ours, peer, out)?;
                Ok((CurveHandshake::Poisoned, HandshakeStep::Done(done)))
            }
        }
    }
}

/// RFC 26: ready-box = Box[metadata](S'->C'), with the server's first short nonce.
fn send_ready(
    mut cipher: CurveCipher,
    ours: &Metadata,
    peer: Metadata,
    out: &mut BytesMut,
) -> Result<Done, SessionError> {
    let nonce_value = cipher.send_nonce;
    cipher.send_nonce += 1;
    let nonce = nonce_value.to_be_bytes();
    let mut metadata = BytesMut::new();
    ours.encode(&mut metadata);
    let Some(key) = cipher.key.take() else {
        return Err(PeerMisbehaved::BoxDidNotOpen { what: "READY" }.into());
    };
    let sealed = seal(&key, b"CurveZMQREADY---", &nonce, &metadata);
    put_command(out, b"READY", &[&nonce, &sealed]);
    let mut done = Done::clear(peer);
    done.cipher = Some(Box::new(cipher));
    Ok(done)
}

/// Sends ERROR "400" (so that libzmq peers report an authentication failure) and returns
/// the matching error.
fn refuse(out: &mut BytesMut, reason: &str) -> SessionError {
    crate::codec::Command::Error {
        reason: Bytes::from_static(b"400"),
    }
    .encode(out);
    SessionError::AuthFailed {
        reason: reason.into(),
    }
}

/// A 24-byte nonce of a prefix and a tail (8 + 16 or 16 + 8 bytes).
fn nonce24(prefix: &[u8], tail: &[u8]) -> [u8; 24] {
    let mut nonce = [0u8; 24];
    for (dst, src) in nonce.iter_mut().zip(prefix.iter().chain(tail)) {
        *dst = *src;
    }
    nonce
}

/// Two keys side by side.
fn concat64(a: &[u8; 32], b: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (dst, src) in out.iter_mut().zip(a.iter().chain(b)) {
        *dst = *src;
    }
    out
}

/// NaCl `crypto_box` as libzmq puts it on the wire: tag, then ciphertext.
pub(crate) fn seal(key: &BoxKey, prefix: &[u8], tail: &[u8], plain: &[u8]) -> Vec<u8> {
    let nonce = nonce24(prefix, tail);
    let mut sealed = Vec::with_capacity(TAG + plain.len());
    sealed.extend_from_slice(&[0; TAG]);
    sealed.extend_from_slice(plain);
    if let Some(body) = sealed.get_mut(TAG..) {
        if let Ok(tag) = key
            .secretbox()
            .encrypt_in_place_detached(&nonce.into(), b"", body)
        {
            if let Some(slot) = sealed.get_mut(..TAG) {
                slot.copy_from_slice(&tag);
            }
        }
    }
    sealed
}

/// [`open`] with a key that may already be gone (then nothing opens).
fn open_with(
    key: Option<&BoxKey>,
    prefix: &[u8],
    tail: &[u8],
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    open(key?, prefix, tail, sealed)
}

/// Opens a box sealed by [`seal`]; `None` if it is too short or does not authenticate.
pub(crate) fn open(
    key: &BoxKey,
    prefix: &[u8],
    tail: &[u8],
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < TAG {
        return None;
    }
    let (tag, body) = sealed.split_at(TAG);
    let mut plain = Zeroizing::new(body.to_vec());
    let nonce = nonce24(prefix, tail);
    key.secretbox()
        .decrypt_in_place_detached(&nonce.into(), b"", &mut plain, tag.into())
        .ok()?;
    Some(plain)
}

fn secretbox_seal(key: &[u8; 32], tail: &[u8], plain: &[u8]) -> Vec<u8> {
    let cipher = XSalsa20Poly1305::new(key.into());
    let nonce = nonce24(b"COOKIE--", tail);
    let mut sealed = vec![0u8; TAG];
    sealed.extend_from_slice(plain);
    if let Some(body) = sealed.get_mut(TAG..) {
        if let Ok(tag) = cipher.encrypt_in_place_detached(&nonce.into(), b"", body) {
            if let Some(slot) = sealed.get_mut(..TAG) {
                slot.copy_from_slice(&tag);
            }
        }
    }
    sealed
}

fn secretbox_open(key: &[u8; 32], tail: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < TAG {
        return None;
    }
    let cipher = XSalsa20Poly1305::new(key.into());
    let (tag, body) = sealed.split_at(TAG);
    let mut plain = Zeroizing::new(body.to_vec());
    let nonce = nonce24(b"COOKIE--", tail);
    cipher
        .decrypt_in_place_detached(&nonce.into(), b"", &mut plain, tag.into())
        .ok()?;
    Some(plain)
}

fn array32(bytes: &[u8]) -> Result<[u8; 32], PeerMisbehaved> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| PeerMisbehaved::MalformedMechanismCommand { name: "CURVE" })
}

fn array8(bytes: &[u8]) -> Result<[u8; 8], PeerMisbehaved> {
    <[u8; 8]>::try_from(bytes)
        .map_err(|_| PeerMisbehaved::MalformedMechanismCommand { name: "CURVE" })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nonce and message of NaCl's box and secretbox tests (tests/box.c, tests/secretbox.c).
    fn nacl_nonce_and_message() -> (Vec<u8>, Vec<u8>) {
        let nonce = hex::decode("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37").unwrap();
        let message = hex::decode(concat!(
            "be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a",
            "1ac728d45e6c61296cdc3c01233561f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057",
            "e2f6556ad6b1318a024a838f21af1fde048977eb48f59ffd4924ca1c60902e52f0a089bc76897040",
            "e082f937763848645e0705"
        ))
        .unwrap();
        (nonce, message)
    }

    /// The known-answer test of NaCl's `crypto_box` (tests/box.c in NaCl, also used by
    /// libsodium): Alice's secret key, Bob's public key, a fixed nonce and message, and the
    /// ciphertext NaCl computes. Our `seal` must produce exactly NaCl's bytes, tag first.
    #[test]
    fn nacl_box_known_answer() {
        let alice_sk =
            hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
                .unwrap();
        let bob_pk =
            hex::decode("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
                .unwrap();
        let (nonce, message) = nacl_nonce_and_message();
        let expected = hex::decode(concat!(
            "f3ffc7703f9400e52a7dfb4b3d3305d9",
            "8e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b",
            "4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae",
            "90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b37973f622a43d14a6",
            "599b1f654cb45a74e355a5"
        ))
        .unwrap();
        let key = BoxKey::new(
            &PublicKey::from(<[u8; 32]>::try_from(&bob_pk[..]).unwrap()),
            &SecretKey::from(<[u8; 32]>::try_from(&alice_sk[..]).unwrap()),
        )
        .unwrap();
        let (prefix, tail) = nonce.split_at(16);
        assert_eq!(seal(&key, prefix, tail, &message), expected);
        assert_eq!(
            open(&key, prefix, tail, &expected).unwrap().as_slice(),
            &message[..]
        );
        let mut tampered = expected.clone();
        tampered[40] ^= 1;
        assert!(open(&key, prefix, tail, &tampered).is_none());
    }

    /// The cookie box is NaCl's `crypto_secretbox`: its known answer (NaCl tests/secretbox.c)
    /// with the same message, key `firstkey` and nonce as above.
    #[test]
    fn nacl_secretbox_known_answer() {
        let key: [u8; 32] =
            hex::decode("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389")
                .unwrap()
                .try_into()
                .unwrap();
        let (nonce, message) = nacl_nonce_and_message();
        let cipher = XSalsa20Poly1305::new((&key).into());
        let mut body = message.clone();
        let n: [u8; 24] = nonce.clone().try_into().unwrap();
        let tag = cipher
            .encrypt_in_place_detached(&n.into(), b"", &mut body)
            .unwrap();
        // Same key as the box test's shared key: the ciphertext is the box test's.
        assert_eq!(hex::encode(tag), "f3ffc7703f9400e52a7dfb4b3d3305d9");
        assert_eq!(&body[..4], &hex::decode("8e993b9f").unwrap()[..]);
        // The cookie helpers use the "COOKIE--" prefix: they round-trip and reject tampering.
        let sealed = secretbox_seal(&key, &[7; 16], b"cookie contents");
        assert_eq!(
            secretbox_open(&key, &[7; 16], &sealed).unwrap().as_slice(),
            b"cookie contents"
        );
        assert!(secretbox_open(&key, &[8; 16], &sealed).is_none());
    }

    /// A cipher pair on a box key made of `key_bytes` (client first).
    fn cipher_pair(
        key_bytes: [u8; 32],
        client_next: u64,
        server_last: u64,
    ) -> (CurveCipher, CurveCipher) {
        let key = || BoxKey(Zeroizing::new(key_bytes));
        (
            CurveCipher::new(key(), true, client_next, 0),
            CurveCipher::new(key(), false, 1, server_last),
        )
    }

    /// The body of the one frame `seal_frame` appended (its header skipped).
    fn sealed_body(out: &BytesMut) -> BytesMut {
        let header = if out.len() - 2 <= 255 { 2 } else { 9 };
        BytesMut::from(&out[header..])
    }

    /// A MESSAGE body's tag and ciphertext are what `crypto_secretbox` (NaCl's box under the
    /// precomputed key) makes of the flags and payload with the full 24-byte nonce.
    fn check_against_nacl(
        body: &[u8],
        key_bytes: &[u8; 32],
        prefix: &[u8; 16],
        nonce: u64,
        flags: u8,
        plain: &[u8],
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let mut expected = vec![flags];
        expected.extend_from_slice(plain);
        let full_nonce = nonce24(prefix, &nonce.to_be_bytes());
        let tag = XSalsa20Poly1305::new(key_bytes.into())
            .encrypt_in_place_detached(&full_nonce.into(), b"", &mut expected)
            .unwrap();
        proptest::prop_assert_eq!(&body[16..32], &tag[..]);
        proptest::prop_assert_eq!(&body[32..], &expected[..]);
        Ok(())
    }

    proptest::proptest! {
        /// The MESSAGE shortcut (per-direction Salsa20 keys) boxes exactly as NaCl's
        /// `crypto_box_afternm` with the full 24-byte nonce does (`crypto_secretbox` under the
        /// box key), and opens what it boxed.
        #[test]
        fn message_boxes_are_nacl_boxes(
            key_bytes in proptest::array::uniform32(proptest::prelude::any::<u8>()),
            nonce in 1u64..u64::MAX,
            flags in 0u8..4,
            plain in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            let (mut client, mut server) = cipher_pair(key_bytes, nonce, nonce - 1);
            let mut out = BytesMut::new();
            client.seal_frame(&mut out, flags, &[&plain[..3.min(plain.len())], &plain[3.min(plain.len())..]]).unwrap();
            let body = sealed_body(&out);
            proptest::prop_assert_eq!(&body[..8], b"\x07MESSAGE");
            proptest::prop_assert_eq!(&body[8..16], &nonce.to_be_bytes());
            check_against_nacl(&body, &key_bytes, CLIENT_MESSAGE, nonce, flags, &plain)?;
            let (got_flags, got) = server.open_frame(body).unwrap();
            proptest::prop_assert_eq!(got_flags, flags);
            proptest::prop_assert_eq!(&got[..], &plain[..]);

            // And the other way: the server's boxes under the server's nonce prefix.
            let (mut client, mut server) = cipher_pair(key_bytes, 1, 0);
            server.send_nonce = nonce;
            client.recv_nonce = nonce - 1;
            let mut out = BytesMut::new();
            server.seal_frame(&mut out, flags, &[&plain]).unwrap();
            let body = sealed_body(&out);
            check_against_nacl(&body, &key_bytes, SERVER_MESSAGE, nonce, flags, &plain)?;
            let (got_flags, got) = client.open_frame(body).unwrap();
            proptest::prop_assert_eq!(got_flags, flags);
            proptest::prop_assert_eq!(&got[..], &plain[..]);
        }

        /// Any single flipped bit after the nonce (tag or ciphertext) is refused, and the
        /// refused box does not move the peer's nonce on.
        #[test]
        fn tampered_messages_do_not_open(
            plain in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100),
            bit in 0usize..8,
            at in 0usize..1000,
        ) {
            let (mut client, mut server) = cipher_pair([9; 32], 1, 0);
            let mut out = BytesMut::new();
            client.seal_frame(&mut out, 0, &[&plain]).unwrap();
            let good = sealed_body(&out);
            let mut bad = good.clone();
            let i = 16 + at % (bad.len() - 16);
            bad[i] ^= 1 << bit;
            let refused = matches!(
                server.open_frame(bad),
                Err(PeerMisbehaved::BoxDidNotOpen { .. })
            );
            proptest::prop_assert!(refused, "a tampered box opened");
            proptest::prop_assert!(server.open_frame(good).is_ok());
        }
    }

    /// Each direction has its own keystream: a box the client sealed does not open as if
    /// the server had sealed it (its own frame reflected back), and a replayed box is refused.
    #[test]
    fn directions_differ_and_replays_are_refused() {
        let (mut client, mut server) = cipher_pair([3; 32], 5, 4);
        let mut out = BytesMut::new();
        client.seal_frame(&mut out, 0, &[b"hello"]).unwrap();
        let body = sealed_body(&out);
        let (mut other_client, _) = cipher_pair([3; 32], 5, 4);
        assert!(matches!(
            other_client.open_frame(body.clone()),
            Err(PeerMisbehaved::BoxDidNotOpen { .. })
        ));
        assert_eq!(&server.open_frame(body.clone()).unwrap().1[..], b"hello");
        assert!(matches!(
            server.open_frame(body),
            Err(PeerMisbehaved::NonceNotIncreasing)
        ));
    }

    /// Short or foreign bodies from a peer are refused without a panic, and a refused box
    /// changes neither the buffer nor the nonce.
    #[test]
    fn hostile_message_bodies_are_refused() {
        let (mut client, mut server) = cipher_pair([5; 32], 1, 0);
        let mut bodies: Vec<Vec<u8>> = vec![
            vec![],
            b"\x07MESSAG".to_vec(),
            b"\x07MESSAGE".to_vec(),
            [&b"\x07MESSAGE"[..], &[0; 24]].concat(),
            [&b"\x07MESSAGE"[..], &[0; 25]].concat(),
            b"\x04PING\x00\x00".to_vec(),
            vec![0xff; 300],
        ];
        let mut out = BytesMut::new();
        client.seal_frame(&mut out, 0, &[b"ok"]).unwrap();
        let good = sealed_body(&out).to_vec();
        let mut bad_tag = good.clone();
        bad_tag[20] ^= 1;
        bodies.push(bad_tag);
        for body in bodies {
            let mut copy = body.clone();
            assert!(server.open_in_place(&mut copy).is_err(), "{body:?}");
            assert_eq!(copy, body, "a refused box is left as it came");
        }
        assert_eq!(server.recv_nonce, 0);
        let mut good_copy = good.clone();
        let (flags, at) = server.open_in_place(&mut good_copy).unwrap();
        assert_eq!((flags, &good_copy[at..]), (0, &b"ok"[..]));
    }

    /// Points of small order give an all-zero shared secret: refused as box keys (as
    /// libsodium's `crypto_box_beforenm` refuses them), and flagged by `is_small_order`.
    #[test]
    fn small_order_keys_are_refused() {
        let secret = SecretKey::from([9; 32]);
        let mut order_8 = [0u8; 32];
        order_8[..8].copy_from_slice(&[0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae]);
        order_8[8..16].copy_from_slice(&[0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a]);
        order_8[16..24].copy_from_slice(&[0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd]);
        order_8[24..].copy_from_slice(&[0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00]);
        let mut one = [0u8; 32];
        one[0] = 1;
        for weak in [[0u8; 32], one, order_8] {
            assert!(BoxKey::new(&PublicKey::from(weak), &secret).is_err());
            assert!(CurvePublicKey::from(weak).is_small_order());
        }
        let good = SecretKey::from([3; 32]).public_key();
        assert!(BoxKey::new(&good, &secret).is_ok());
        assert!(!CurvePublicKey::from(*good.as_bytes()).is_small_order());
    }
}
