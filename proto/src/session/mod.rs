//! The per-connection ZMTP state machine (sans-IO): greeting and revision detection,
//! mechanism handshake, traffic, heartbeats.
//!
//! The contract the engine codes against. Call order:
//! 1. [`Session::new`] — the session immediately queues the start of its greeting: the
//!    10-byte signature, then more as the peer's first bytes tell its revision (as libzmq
//!    does, so that a ZMTP 1.0 peer reads the signature as our identity frame's header). A
//!    session that may not fall back to ZMTP 1.0/2.0 (see [`SessionConfig::legacy_protocols`])
//!    queues all 64 bytes at once. The revision picked is in [`PeerInfo::revision`];
//!    `legacy.rs` has the ZMTP 1.0/2.0 greeting and identity.
//! 2. Whenever bytes arrive: [`Session::handle_input`] with the read buffer; the session
//!    consumes complete units from the front (splitting frames off without copying) and leaves
//!    a partial tail in the buffer. Then drain [`Session::poll_event`].
//!    [`Session::handle_input_limited`] stops once a given number of events wait: the engine
//!    uses it to decode no further ahead of the socket's RCVHWM than the room left, keeping the
//!    rest as bytes in its read buffer; call it again (with or without new bytes) once the
//!    events were taken and room appeared.
//! 3. Whenever the socket is writable: write [`Session::pending_output`], then
//!    [`Session::consume_output`] with the number of bytes written.
//! 4. Timers: sleep until [`Session::poll_timeout`], then call [`Session::handle_timeout`].
//! 5. Once [`SessionEvent::Ready`] was returned, [`Session::send_message`] /
//!    [`Session::send_subscription`] encode outgoing traffic.
//!
//! After any `Err`, the session is dead; `pending_output` may still hold an ERROR command that
//! the engine should try to flush before closing.
//!
//! Security: with PLAIN or CURVE configured as server and [`SessionConfig::zap`] set, the
//! handshake pauses at [`SessionEvent::ZapRequest`] until the engine calls
//! [`Session::handle_zap_reply`] with the ZAP handler's answer (RFC 27); meanwhile input is left
//! in the buffer, so call [`Session::handle_input`] again after the reply. Under CURVE every
//! traffic frame is boxed and opened by the session's cipher; the engine sees no difference.
//!
//! Sends made before `Ready` are kept and encoded once the handshake completes.
//! Subscriptions are accepted in both forms on PUB/XPUB sessions: SUBSCRIBE/CANCEL commands
//! (ZMTP 3.1) and one-frame messages starting with `0x01`/`0x00` (ZMTP 3.0, and libzmq
//! before 4.3.3 even on 3.1); both become [`SessionEvent::Subscribe`]/[`SessionEvent::Cancel`].

mod legacy;
mod output;
mod raw;
mod timers;

pub use self::raw::RawSession;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use self::output::Output;
use self::timers::{TimerAction, Timers};
use crate::codec::command::put_command;
use crate::codec::{
    detect_revision, encode_frame_header, set_signature_length, v1, v2, Command, Detected,
    FrameHeader, FrameLimits, Greeting, Metadata, FLAG_COMMAND, FLAG_MORE, GREETING_LEN,
    SIGNATURE_LEN,
};
use crate::error::{LegacyRefusal, PeerMisbehaved, WireRevision};
use crate::mechanism::curve::{CurveCipher, BOX_COMMAND, BOX_MORE};
use crate::mechanism::{
    peer_error, CurveKeyPair, CurvePublicKey, CurveSecretKey, Done, Handshake, HandshakeStep,
    SecretBytes, ZapReply, ZapRequest,
};
use crate::{Message, SessionError, SocketType, Subscriptions};

/// Security mechanism choice for a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MechanismConfig {
    /// RFC 23 NULL mechanism.
    #[default]
    Null,
    /// RFC 24 PLAIN, as client: sends a user name and password in clear text.
    PlainClient {
        /// User name (at most 255 bytes are sent).
        username: Bytes,
        /// Password (at most 255 bytes are sent).
        password: SecretBytes,
    },
    /// RFC 24 PLAIN, as server: checks credentials through ZAP (without a ZAP handler,
    /// accepts every client, as libzmq).
    PlainServer,
    /// RFC 26 CURVE, as client: needs the server's public key.
    CurveClient {
        /// Our long-term key pair.
        keys: CurveKeyPair,
        /// The server's long-term public key.
        server_key: CurvePublicKey,
    },
    /// RFC 26 CURVE, as server (the public key is derived from the secret one).
    CurveServer {
        /// Our long-term secret key.
        secret: CurveSecretKey,
    },
}

/// Settings for one session (one connection).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Our socket type, sent as `Socket-Type`.
    pub socket_type: SocketType,
    /// Our routing id, sent as `Identity` when the socket type sends one (may be empty).
    pub routing_id: Bytes,
    /// Security mechanism.
    pub mechanism: MechanismConfig,
    /// Largest accepted incoming frame, checked before allocating; `None` is unlimited.
    pub max_msg_size: Option<u64>,
    /// Time allowed from connection to READY; `None` waits forever.
    pub handshake_timeout: Option<Duration>,
    /// Send a PING this often once ready, to ZMTP 3.1 peers only; `None` disables heartbeats.
    pub heartbeat_ivl: Option<Duration>,
    /// TTL advertised in our PINGs (rounded to deciseconds, RFC 37 §"PING and PONG").
    pub heartbeat_ttl: Option<Duration>,
    /// Fail if nothing arrives for this long after a PING (defaults to `heartbeat_ivl`).
    pub heartbeat_timeout: Option<Duration>,
    /// Fall back to ZMTP 2.0 (RFC 15) or 1.0 (RFC 13) for a peer that speaks only those, as
    /// libzmq does (default `true`). Never with a mechanism other than NULL: the legacy
    /// revisions have no security, so such a session refuses legacy peers whatever this says.
    pub legacy_protocols: bool,
    /// When set, the server side of the handshake asks a ZAP handler with this request's
    /// domain, address and routing id (RFC 27); NULL asks only with a non-empty domain.
    pub zap: Option<ZapRequest>,
}

impl SessionConfig {
    /// Defaults: NULL mechanism, no size limit, 30 s handshake timeout, no heartbeats.
    pub fn new(socket_type: SocketType) -> Self {
        SessionConfig {
            socket_type,
            routing_id: Bytes::new(),
            mechanism: MechanismConfig::Null,
            max_msg_size: None,
            handshake_timeout: Some(Duration::from_secs(30)),
            heartbeat_ivl: None,
            heartbeat_ttl: None,
            heartbeat_timeout: None,
            legacy_protocols: true,
            zap: None,
        }
    }
}

/// What we learnt of the peer in the handshake.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PeerInfo {
    /// The peer's socket type (already checked compatible).
    pub socket_type: SocketType,
    /// The peer's `Identity` property, if present and non-empty.
    pub routing_id: Option<Bytes>,
    /// The negotiated ZMTP minor version (0 for 3.0, 1 for 3.1; 0 for ZMTP 1.0/2.0).
    pub minor_version: u8,
    /// The protocol revision spoken with this peer. A ZMTP 1.0 peer does not announce its
    /// socket type: `socket_type` is then assumed (a type compatible with ours), not checked.
    pub revision: WireRevision,
    /// The user id the ZAP handler returned, if ZAP was asked.
    pub user_id: Option<Bytes>,
    /// The peer's metadata, then the properties the ZAP handler returned.
    pub properties: Metadata,
    /// The security mechanism in use (`NULL`, `PLAIN` or `CURVE`).
    pub mechanism: &'static str,
}

/// Output of a session for the engine.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The handshake finished; traffic may flow.
    Ready(PeerInfo),
    /// A complete multipart message arrived.
    Message(Message),
    /// A ZMTP 3.1 SUBSCRIBE command (RFC 37).
    Subscribe(Bytes),
    /// A ZMTP 3.1 CANCEL command (RFC 37).
    Cancel(Bytes),
    /// The handshake asks the ZAP handler and waits for [`Session::handle_zap_reply`].
    ZapRequest(ZapRequest),
}

/// One ZMTP connection's protocol state.
#[derive(Debug)]
pub struct Session {
    state: State,
    socket_type: SocketType,
    max_msg_size: Option<u64>,
    limits: FrameLimits,
    /// Encoded bytes not yet written; consumed from the front by advancing.
    out: Output,
    events: VecDeque<SessionEvent>,
    /// Frames of the message being received.
    partial: Message,
    /// Negotiated minor version (valid once the greeting arrived).
    minor: u8,
    timers: Timers,
    /// Sends made before the handshake finished.
    early: Vec<EarlySend>,
    /// Payload bytes of the message being received (`partial`), checked against
    /// `max_msg_size` as a whole.
    partial_bytes: u64,
    /// Input bytes left undecoded in the caller's buffer by the last call: only bytes beyond
    /// them are new, and count as a sign of life.
    unconsumed: usize,
    /// Output stream position just past our last PONG: while it is unwritten, another PING
    /// gets no second PONG (at most one pending, as libzmq).
    pong_end: Option<u64>,
    /// The framing in use, picked with the peer's revision (ZMTP 3.x until then).
    framing: Framing,
    /// Our whole 64-byte ZMTP 3.x greeting, and how much of it has been queued: it goes out
    /// in stages while the peer's revision is detected (RFC 15 §"Backwards
    /// Interoperability").
    greeting: Bytes,
    greeting_sent: usize,
    /// Our routing id, sent as the identity frame to a ZMTP 1.0/2.0 peer.
    routing_id: Bytes,
    /// Why this session may not fall back to ZMTP 1.0/2.0, if it may not.
    legacy_refusal: Option<LegacyRefusal>,
    /// CURVE's traffic cipher once its handshake is done; `None` keeps the clear fast path.
    cipher: Option<Box<CurveCipher>>,
    /// The mechanism's name.
    mechanism: &'static str,
}

/// What the handshake established about the peer, whatever the revision.
struct PeerIdentity {
    socket_type: SocketType,
    routing_id: Option<Bytes>,
    revision: WireRevision,
    /// From the ZAP handler, if it was asked.
    user_id: Option<Bytes>,
    /// The peer's metadata and the ZAP handler's (empty for the legacy revisions).
    properties: Metadata,
}

/// How frames are delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// RFC 23 §"Framing".
    Zmtp3,
    /// RFC 15 §"Framing".
    Zmtp2,
    /// RFC 13 §"The Framing Layer".
    Zmtp1,
}

/// Where the session is (RFC 23 §"Overall Behavior").
#[derive(Debug)]
enum State {
    ExpectGreeting(Handshake),
    Handshaking(Handshake),
    /// ZMTP 1.0/2.0: the greeting is done; the peer's identity frame comes next. The peer's
    /// socket type is `None` for ZMTP 1.0, which does not send one.
    ExpectIdentity(Option<SocketType>),
    /// Paused until the ZAP handler answers.
    ExpectZapReply(Handshake),
    Traffic,
    Dead(SessionError),
}

#[derive(Debug)]
enum EarlySend {
    Message(Message),
    Subscription(Bytes, bool),
}

/// The version we speak: ZMTP 3.1 (RFC 37).
const MAJOR: u8 = 3;
const MINOR: u8 = 1;
/// Largest command accepted before the handshake finished: enough for any metadata a real
/// peer sends, small enough that an unauthenticated peer cannot make us buffer much.
const HANDSHAKE_COMMAND_LIMIT: u64 = 1 << 20;
/// Commands after the handshake may be this large even under a smaller `max_msg_size`.
const MIN_COMMAND_LIMIT: u64 = 1 << 16;
/// Event queue capacity kept between reads; more, grown for a burst, is given back.
const EVENTS_KEEP: usize = 1024;
/// Output capacity kept once everything was written; more, grown for a burst, is given back.
const OUTPUT_KEEP: usize = 64 * 1024;
/// Bytes a CURVE MESSAGE box adds to the frame it carries: name (8), nonce (8), tag (16),
/// flags (1).
const SEALED_OVERHEAD: u64 = 33;
/// The largest box whose plaintext fits an inline frame: opened in the read buffer.
const SMALL_SEALED: usize = crate::Frame::INLINE_CAPACITY + SEALED_OVERHEAD as usize;
/// Our ERROR reason when the peer's socket type is wrong.
const BAD_SOCKET_TYPE: &[u8] = b"incompatible socket type";

impl Session {
    /// Starts a session; the greeting is queued for output at once.
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        let mut metadata = Metadata::new();
        metadata.insert("Socket-Type", config.socket_type.name());
        if config.socket_type.sends_identity() {
            metadata.insert("Identity", config.routing_id.clone());
        }
        let handshake = Handshake::new(&config.mechanism, metadata, config.zap.clone());
        let mechanism = handshake.name();
        let legacy_refusal = if !matches!(config.mechanism, MechanismConfig::Null) {
            // The legacy revisions have no security mechanisms: never downgrade.
            Some(LegacyRefusal::Mechanism(handshake.name()))
        } else if !config.legacy_protocols {
            Some(LegacyRefusal::Disabled)
        } else {
            None
        };
        let mut greeting = BytesMut::with_capacity(GREETING_LEN);
        Greeting::new(
            MAJOR,
            MINOR,
            handshake.name().as_bytes(),
            handshake.as_server(),
        )
        .encode(&mut greeting);
        set_signature_length(&mut greeting, config.routing_id.len());
        // Grows with what is sent: an idle connection keeps only its handshake's bytes.
        let mut out = Output::with_capacity(256);
        // RFC 15 §"Backwards Interoperability": send the signature, then read the peer's.
        // Without a fall-back to make, all 64 bytes go at once (RFC 23 allows it).
        let greeting_sent = if legacy_refusal.is_none() {
            SIGNATURE_LEN
        } else {
            GREETING_LEN
        };
        out.staging()
            .put_slice(greeting.get(..greeting_sent).unwrap_or_default());
        Session {
            timers: Timers::new(&config, now),
            state: State::ExpectGreeting(handshake),
            socket_type: config.socket_type,
            max_msg_size: config.max_msg_size,
            // Message frames are refused by flag before the limit matters.
            limits: FrameLimits {
                message: u64::MAX,
                command: HANDSHAKE_COMMAND_LIMIT,
            },
            out,
            events: VecDeque::new(),
            partial: Message::new(),
            minor: MINOR,
            early: Vec::new(),
            partial_bytes: 0,
            unconsumed: 0,
            pong_end: None,
            framing: Framing::Zmtp3,
            greeting: greeting.freeze(),
            greeting_sent,
            routing_id: config.routing_id,
            legacy_refusal,
            cipher: None,
            mechanism,
        }
    }

    /// Feeds received bytes; consumes what it can from the front of `buf`.
    pub fn handle_input(&mut self, buf: &mut BytesMut, now: Instant) -> Result<(), SessionError> {
        self.handle_input_limited(buf, now, usize::MAX)
    }

    /// As [`Session::handle_input`], but decodes no further once `max_events` events wait
    /// in [`Session::poll_event`] (checked between messages, so a multipart message is never
    /// split): the rest stays in `buf` for a later call. Bytes that an earlier call left in
    /// `buf` are not counted again as a sign of life.
    pub fn handle_input_limited(
        &mut self,
        buf: &mut BytesMut,
        now: Instant,
        max_events: usize,
    ) -> Result<(), SessionError> {
        if let State::Dead(err) = &self.state {
            return Err(err.clone());
        }
        if buf.len() > self.unconsumed {
            // RFC 37 §"Connection Heartbeating": any traffic is a sign of life.
            self.timers.on_received();
        }
        if self.events.is_empty() && self.events.capacity() > EVENTS_KEEP {
            // Grown for a burst (RCVHWM 0 lets a read decode without limit): give it back.
            self.events = VecDeque::new();
        }
        let result = self.read(buf, now, max_events);
        self.unconsumed = buf.len();
        if let Err(err) = &result {
            self.state = State::Dead(err.clone());
        }
        result
    }

    /// Next event, if any.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Bytes waiting to be written.
    pub fn pending_output(&self) -> &[u8] {
        self.out.first()
    }

    /// All bytes waiting to be written, as runs for a vectored write (large frame bodies are
    /// queued by reference, not copied); returns how many entries of `dst` were filled.
    pub fn pending_output_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        self.out.slices(dst)
    }

    /// Total bytes waiting to be written.
    pub fn pending_output_len(&self) -> usize {
        self.out.len()
    }

    /// Marks `n` bytes of [`Session::pending_output`] as written.
    pub fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
    }

    /// Gives back output buffer capacity grown for a burst (more than 64 KiB), if everything
    /// was written; the engine calls it when it has nothing more to send.
    pub fn release_idle_output(&mut self) {
        self.out.shrink_if_idle(OUTPUT_KEEP);
    }

    /// Encodes a message for sending (only after Ready). An empty message is one empty frame.
    /// A message sent earlier is kept until Ready; after an error it is dropped.
    pub fn send_message(&mut self, msg: &Message) {
        match self.state {
            State::Traffic => self.encode_message(msg),
            State::Dead(_) => {}
            _ => self.early.push(EarlySend::Message(msg.clone())),
        }
    }

    /// Encodes a subscription (`subscribe == true`) or cancellation: a SUBSCRIBE/CANCEL
    /// command for ZMTP 3.1 peers, a `0x01`/`0x00`-prefixed message for 3.0 peers (RFC 37).
    pub fn send_subscription(&mut self, topic: &[u8], subscribe: bool) {
        match self.state {
            State::Traffic => self.encode_subscription(topic, subscribe),
            State::Dead(_) => {}
            _ => self.early.push(EarlySend::Subscription(
                Bytes::copy_from_slice(topic),
                subscribe,
            )),
        }
    }

    /// True once the handshake has completed.
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Traffic)
    }

    /// When [`Session::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Dead(_) => None,
            _ => self.timers.next(),
        }
    }

    /// Runs timers: handshake timeout, heartbeat PING, heartbeat/TTL expiry.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        if let State::Dead(err) = &self.state {
            return Err(err.clone());
        }
        match self.timers.expire(now) {
            Ok(TimerAction::Idle) => Ok(()),
            Ok(TimerAction::SendPing(ttl)) => {
                // RFC 37: ping = "PING" ping-ttl ping-context; our context is empty.
                self.put_command(b"PING", &[&ttl.to_be_bytes()]);
                Ok(())
            }
            Err(err) => {
                self.state = State::Dead(err.clone());
                Err(err)
            }
        }
    }

    /// Runs the input through each stage in turn until it runs out.
    fn read(
        &mut self,
        buf: &mut BytesMut,
        now: Instant,
        max_events: usize,
    ) -> Result<(), SessionError> {
        if matches!(self.state, State::ExpectGreeting(_)) && !self.read_greeting(buf)? {
            return Ok(());
        }
        if matches!(self.state, State::ExpectZapReply(_)) {
            return Ok(());
        }
        if matches!(self.state, State::Handshaking(_)) && !self.read_handshake(buf, now)? {
            return Ok(());
        }
        if matches!(self.state, State::ExpectIdentity(_)) && !self.read_identity(buf, now)? {
            return Ok(());
        }
        self.read_traffic(buf, now, max_events)
    }

    /// Returns true once the peer's greeting has been consumed.
    fn read_greeting(&mut self, buf: &mut BytesMut) -> Result<bool, SessionError> {
        // RFC 15 §"Backwards Interoperability": the first bytes tell the revision.
        match detect_revision(buf).map_err(PeerMisbehaved::from)? {
            Detected::Pending => return Ok(false),
            Detected::Unversioned => return self.start_zmtp1_unversioned(),
            Detected::Versioned(None) => {
                // A versioned peer: now our major version (RFC 23 §"Version Negotiation").
                self.send_greeting_until(SIGNATURE_LEN + 1);
                return Ok(false);
            }
            Detected::Versioned(Some(revision @ (0 | 1))) => {
                return self.read_legacy_greeting(buf, revision)
            }
            Detected::Versioned(Some(_)) => self.send_greeting_until(GREETING_LEN),
        }
        let Some(greeting) = Greeting::decode(buf)? else {
            return Ok(false);
        };
        let State::ExpectGreeting(mut handshake) =
            std::mem::replace(&mut self.state, State::Traffic)
        else {
            return Ok(true);
        };
        // RFC 23: "If the mechanism that the peer received does not exactly match the
        // mechanism it sent, it MUST close the connection."
        if greeting.mechanism != handshake.name().as_bytes() {
            return Err(PeerMisbehaved::MechanismMismatch {
                ours: handshake.name(),
                peer: greeting.mechanism,
            }
            .into());
        }
        // RFC 37 §"Version Negotiation": talk the lower version; a higher major is accepted
        // and spoken to in our own protocol.
        self.minor = if greeting.major > MAJOR {
            MINOR
        } else {
            greeting.minor.min(MINOR)
        };
        buf.advance(GREETING_LEN);
        let zap = handshake.start(self.out.staging());
        self.state = State::Handshaking(handshake);
        if let Some(request) = zap {
            self.pause_for_zap(request);
        }
        Ok(true)
    }

    /// Returns true once the handshake has completed.
    fn read_handshake(&mut self, buf: &mut BytesMut, now: Instant) -> Result<bool, SessionError> {
        loop {
            let Some(header) = FrameHeader::decode(buf, &self.limits)? else {
                return Ok(false);
            };
            // RFC 23 §"Overall Behavior": messages only after the handshake.
            if header.flags & FLAG_COMMAND == 0 {
                return Err(PeerMisbehaved::MessageBeforeReady.into());
            }
            let Some(body) = header.split_body(buf) else {
                return Ok(false);
            };
            let State::Handshaking(handshake) = &mut self.state else {
                return Ok(true);
            };
            match handshake.handle_command(body, self.out.staging())? {
                HandshakeStep::Continue => {}
                HandshakeStep::Done(done) => {
                    self.complete_handshake(done, now)?;
                    return Ok(true);
                }
                HandshakeStep::Zap(request) => {
                    self.pause_for_zap(request);
                    return Ok(false);
                }
            }
        }
    }

    /// Queues our greeting up to byte `n` (what is not queued yet).
    fn send_greeting_until(&mut self, n: usize) {
        if let Some(next) = self.greeting.get(self.greeting_sent..n) {
            self.out.staging().put_slice(next);
            self.greeting_sent = n;
        }
    }

    /// Pauses the handshake until [`Session::handle_zap_reply`].
    fn pause_for_zap(&mut self, request: ZapRequest) {
        if let State::Handshaking(handshake) = std::mem::replace(&mut self.state, State::Traffic) {
            self.state = State::ExpectZapReply(handshake);
            self.events.push_back(SessionEvent::ZapRequest(request));
        }
    }

    /// Hands the ZAP handler's reply to a handshake paused at [`SessionEvent::ZapRequest`]:
    /// 200 lets it go on, anything else refuses the peer (an ERROR with the status code is
    /// queued for it, and the session dies). Afterwards call [`Session::handle_input`] again:
    /// input that arrived during the pause is still in the caller's buffer.
    pub fn handle_zap_reply(&mut self, reply: ZapReply, now: Instant) -> Result<(), SessionError> {
        let result = match std::mem::replace(&mut self.state, State::Traffic) {
            State::ExpectZapReply(mut handshake) => {
                match handshake.handle_zap_reply(reply, self.out.staging()) {
                    Ok(HandshakeStep::Done(done)) => self.complete_handshake(done, now),
                    Ok(HandshakeStep::Continue) => {
                        self.state = State::Handshaking(handshake);
                        Ok(())
                    }
                    Ok(HandshakeStep::Zap(request)) => {
                        self.state = State::Handshaking(handshake);
                        self.pause_for_zap(request);
                        Ok(())
                    }
                    Err(err) => Err(err),
                }
            }
            State::Dead(err) => Err(err),
            other => {
                self.state = other;
                return Ok(());
            }
        };
        if let Err(err) = &result {
            self.state = State::Dead(err.clone());
        }
        result
    }

    /// Checks the peer's metadata and switches to traffic.
    fn complete_handshake(&mut self, done: Done, now: Instant) -> Result<(), SessionError> {
        let Done {
            peer,
            cipher,
            user_id,
            zap_metadata,
        } = done;
        self.cipher = cipher;
        let peer = &peer;
        let socket_type = match self.check_socket_type(peer) {
            Ok(socket_type) => socket_type,
            Err(err) => {
                // RFC 23 §"The Socket-Type Property": answer with ERROR, then disconnect.
                // (Under CURVE the ERROR goes in clear, as every ERROR does.)
                Command::Error {
                    reason: Bytes::from_static(BAD_SOCKET_TYPE),
                }
                .encode(self.out.staging());
                return Err(err.into());
            }
        };
        let routing_id = peer.get("Identity").filter(|id| !id.is_empty()).cloned();
        let revision = WireRevision::Zmtp3 { minor: self.minor };
        let mut properties = peer.clone();
        for (name, value) in zap_metadata.iter() {
            properties.insert(name.clone(), value.clone());
        }
        let peer = PeerIdentity {
            socket_type,
            routing_id,
            revision,
            user_id,
            properties,
        };
        self.enter_traffic(peer, now);
        Ok(())
    }

    /// The handshake is done: traffic may flow, and sends made before now go out.
    fn enter_traffic(&mut self, peer: PeerIdentity, now: Instant) {
        let PeerIdentity {
            socket_type,
            routing_id,
            revision,
            user_id,
            properties,
        } = peer;
        self.state = State::Traffic;
        let message_limit = self.max_msg_size.unwrap_or(u64::MAX);
        self.limits = FrameLimits {
            message: message_limit,
            command: message_limit.max(MIN_COMMAND_LIMIT),
        };
        self.timers.on_ready(now, self.minor);
        self.events.push_back(SessionEvent::Ready(PeerInfo {
            socket_type,
            routing_id,
            minor_version: self.minor,
            revision,
            user_id,
            properties,
            mechanism: self.mechanism,
        }));
        for early in std::mem::take(&mut self.early) {
            match early {
                EarlySend::Message(msg) => self.encode_message(&msg),
                EarlySend::Subscription(topic, sub) => self.encode_subscription(&topic, sub),
            }
        }
    }

    fn check_socket_type(&self, peer: &Metadata) -> Result<SocketType, PeerMisbehaved> {
        let name = peer
            .get("Socket-Type")
            .ok_or(PeerMisbehaved::MissingSocketType)?;
        let peer_type = SocketType::from_name(name)
            .ok_or_else(|| PeerMisbehaved::UnknownSocketType { name: name.clone() })?;
        if !self.socket_type.is_compatible(peer_type) {
            return Err(PeerMisbehaved::IncompatibleSocketType {
                ours: self.socket_type,
                peer: peer_type,
            });
        }
        Ok(peer_type)
    }

    /// The hot loop: frames off the front of `buf` until a partial one remains.
    fn read_traffic(
        &mut self,
        buf: &mut BytesMut,
        now: Instant,
        max_events: usize,
    ) -> Result<(), SessionError> {
        if self.cipher.is_some() {
            return self.read_traffic_sealed(buf, now, max_events);
        }
        loop {
            if self.events.len() >= max_events && self.partial.is_empty() {
                return Ok(());
            }
            let header = match self.framing {
                Framing::Zmtp3 => FrameHeader::decode(buf, &self.limits)?,
                // The legacy decoders never return the COMMAND flag: no commands there.
                Framing::Zmtp2 => v2::decode_header(buf, self.limits.message)?,
                Framing::Zmtp1 => v1::decode_header(buf, self.limits.message)?,
            };
            let Some(header) = header else {
                return Ok(());
            };
            if header.flags & FLAG_COMMAND == 0 {
                // MAXMSGSIZE bounds the whole message, not each frame: a peer cannot grow a
                // message without limit out of frames that are each small enough.
                let total = self.partial_bytes.saturating_add(header.body_len as u64);
                if total > self.limits.message {
                    return Err(PeerMisbehaved::MessageTooLarge {
                        size: total,
                        limit: self.limits.message,
                    }
                    .into());
                }
            }
            if header.flags & FLAG_COMMAND != 0 {
                let Some(body) = header.split_body(buf) else {
                    return Ok(());
                };
                let command = Command::decode(body).map_err(PeerMisbehaved::from)?;
                // RFC 23 §"Formal Grammar": traffic = *(command / message), so no command
                // belongs between the frames of a message. libzmq may slip a heartbeat PING
                // in there, which is harmless; a subscription there is refused, so that what
                // a peer makes us hold stays within the event budget (a multipart message is
                // never split, and nothing else can join it).
                if !self.partial.is_empty()
                    && matches!(command, Command::Subscribe(_) | Command::Cancel(_))
                {
                    return Err(PeerMisbehaved::CommandInsideMessage {
                        name: Bytes::copy_from_slice(command.name()),
                    }
                    .into());
                }
                self.handle_command(command, now)?;
                continue;
            }
            let Some(frame) = header.split_frame(buf) else {
                return Ok(());
            };
            self.partial_bytes += header.body_len as u64;
            self.partial.push_back(frame);
            if header.flags & FLAG_MORE == 0 {
                let msg = std::mem::take(&mut self.partial);
                self.partial_bytes = 0;
                self.deliver(msg);
            }
        }
    }

    /// CURVE traffic: every frame is a MESSAGE box whose plaintext starts with the inner
    /// frame's flags (RFC 26 §"MESSAGE"). Boxes are opened where they lie in the read
    /// buffer; a small frame's plaintext is then copied into an inline frame, a large one's
    /// split off the buffer (no copy).
    fn read_traffic_sealed(
        &mut self,
        buf: &mut BytesMut,
        now: Instant,
        max_events: usize,
    ) -> Result<(), SessionError> {
        // Each box adds 33 bytes (name, nonce, tag, flags) to the frame it carries.
        let limits = FrameLimits {
            message: self.limits.message.saturating_add(SEALED_OVERHEAD),
            command: self.limits.command.saturating_add(SEALED_OVERHEAD),
        };
        loop {
            if self.events.len() >= max_events && self.partial.is_empty() {
                return Ok(());
            }
            let Some(header) = FrameHeader::decode(buf, &limits)? else {
                return Ok(());
            };
            if buf.len() < header.frame_len() {
                return Ok(());
            }
            let Some(cipher) = self.cipher.as_mut() else {
                return Ok(());
            };
            buf.advance(header.header_len);
            // A box of a small data frame is opened where it lies in the read buffer and its
            // plaintext copied into an inline frame: no share of the buffer is split off.
            if header.body_len <= SMALL_SEALED && !buf.starts_with(b"\x05ERROR") {
                let Some(body) = buf.get_mut(..header.body_len) else {
                    return Ok(());
                };
                let (flags, plain_at) = cipher.open_in_place(body)?;
                if flags & BOX_COMMAND == 0 {
                    let plain = body.get(plain_at..).unwrap_or_default();
                    let frame = crate::Frame::copy_from_slice(plain);
                    buf.advance(header.body_len);
                    self.push_frame(frame, flags)?;
                    continue;
                }
                let plain = Bytes::copy_from_slice(body.get(plain_at..).unwrap_or_default());
                buf.advance(header.body_len);
                self.handle_sealed_command(plain, now)?;
                continue;
            }
            let body = buf.split_to(header.body_len);
            // A clear ERROR may still come: it is fatal as always.
            if body.starts_with(b"\x05ERROR") {
                return match Command::decode(body.freeze()) {
                    Ok(Command::Error { reason }) => Err(peer_error(&reason)),
                    _ => Err(PeerMisbehaved::MalformedMechanismCommand { name: "ERROR" }.into()),
                };
            }
            let (flags, plain) = cipher.open_frame(body)?;
            if flags & BOX_COMMAND != 0 {
                self.handle_sealed_command(plain.freeze(), now)?;
                continue;
            }
            let frame = if plain.len() > crate::Frame::INLINE_CAPACITY {
                crate::Frame::from(plain.freeze())
            } else {
                crate::Frame::copy_from_slice(&plain)
            };
            self.push_frame(frame, flags)?;
        }
    }

    /// A command that came boxed (PING, PONG, SUBSCRIBE, ...).
    fn handle_sealed_command(&mut self, plain: Bytes, now: Instant) -> Result<(), SessionError> {
        let command = Command::decode(plain).map_err(PeerMisbehaved::from)?;
        if !self.partial.is_empty() && matches!(command, Command::Subscribe(_) | Command::Cancel(_))
        {
            return Err(PeerMisbehaved::CommandInsideMessage {
                name: Bytes::copy_from_slice(command.name()),
            }
            .into());
        }
        self.handle_command(command, now)
    }

    /// Adds an opened frame to the message being received (MAXMSGSIZE counts the whole
    /// message) and delivers the message at its last frame.
    fn push_frame(&mut self, frame: crate::Frame, flags: u8) -> Result<(), SessionError> {
        let total = self.partial_bytes.saturating_add(frame.len() as u64);
        if total > self.limits.message {
            return Err(PeerMisbehaved::MessageTooLarge {
                size: total,
                limit: self.limits.message,
            }
            .into());
        }
        self.partial_bytes = total;
        self.partial.push_back(frame);
        if flags & BOX_MORE == 0 {
            let msg = std::mem::take(&mut self.partial);
            self.partial_bytes = 0;
            self.deliver(msg);
        }
        Ok(())
    }

    /// Appends a command, boxed under CURVE.
    fn put_command(&mut self, name: &[u8], parts: &[&[u8]]) {
        if self.cipher.is_none() {
            put_command(self.out.staging(), name, parts);
            return;
        }
        let Ok(name_len) = u8::try_from(name.len()) else {
            return;
        };
        let mut all: Vec<&[u8]> = Vec::with_capacity(parts.len() + 2);
        let len = [name_len];
        all.push(&len);
        all.push(name);
        all.extend_from_slice(parts);
        self.seal(BOX_COMMAND, &all);
    }

    /// Appends one boxed frame; if the nonce ran out, the session dies.
    fn seal(&mut self, flags: u8, parts: &[&[u8]]) {
        let Some(cipher) = self.cipher.as_mut() else {
            return;
        };
        if cipher.seal_frame(self.out.staging(), flags, parts).is_err() {
            self.state = State::Dead(SessionError::NonceExhausted);
        }
    }

    /// Appends every frame of `msg`: in clear, or boxed one by one under CURVE.
    #[inline]
    fn encode_message(&mut self, msg: &Message) {
        if self.cipher.is_none() {
            encode_message(&mut self.out, msg, self.framing);
            return;
        }
        let frames = msg.frames();
        if frames.is_empty() {
            self.seal(0, &[]);
            return;
        }
        let last = frames.len() - 1;
        for (i, frame) in frames.iter().enumerate() {
            let flags = if i == last { 0 } else { BOX_MORE };
            self.seal(flags, &[frame]);
        }
    }

    fn deliver(&mut self, msg: Message) {
        // RFC 29 / ZMTP 3.0: a subscription is a message whose first byte is 1 (subscribe)
        // or 0 (cancel), followed by the topic.
        let publisher = self.socket_type.capabilities().subscriptions == Subscriptions::Publisher;
        if publisher && msg.len() == 1 {
            if let Some(frame) = msg.first() {
                let topic = || frame.bytes_from(1);
                match frame.first() {
                    Some(1) => return self.events.push_back(SessionEvent::Subscribe(topic())),
                    Some(0) => return self.events.push_back(SessionEvent::Cancel(topic())),
                    _ => {}
                }
            }
        }
        self.events.push_back(SessionEvent::Message(msg));
    }

    fn handle_command(&mut self, command: Command, now: Instant) -> Result<(), SessionError> {
        match command {
            Command::Ping {
                ttl_deciseconds,
                context,
            } => {
                // RFC 37: "it SHALL respond with a PONG command that echoes the ping-context".
                // One PONG pending at most (as libzmq): a peer that PINGs without reading
                // our answers cannot grow our output.
                self.timers.on_peer_ping(now, ttl_deciseconds);
                if !self.pong_end.is_some_and(|end| self.out.holds_until(end)) {
                    self.put_command(b"PONG", &[&context]);
                    self.pong_end = Some(self.out.end());
                }
            }
            Command::Pong { .. } => {} // all traffic already counted as a sign of life
            Command::Subscribe(topic) => self.events.push_back(SessionEvent::Subscribe(topic)),
            Command::Cancel(topic) => self.events.push_back(SessionEvent::Cancel(topic)),
            Command::Error { reason } => return Err(peer_error(&reason)),
            Command::Ready(_) => {
                return Err(PeerMisbehaved::UnexpectedCommand {
                    name: Bytes::from_static(b"READY"),
                }
                .into())
            }
            // RFC 37 lets a peer send commands we do not know; ignore them.
            Command::Unknown { .. } => {}
        }
        Ok(())
    }

    fn encode_subscription(&mut self, topic: &[u8], subscribe: bool) {
        if self.minor >= 1 {
            // RFC 37 §"The Publish-Subscribe Pattern": SUBSCRIBE / CANCEL commands.
            let name: &[u8] = if subscribe { b"SUBSCRIBE" } else { b"CANCEL" };
            self.put_command(name, &[topic]);
        } else if self.cipher.is_some() {
            self.seal(0, &[&[u8::from(subscribe)], topic]);
        } else {
            // ZMTP 3.0 (RFC 29) and RFC 15 §"Publish-Subscribe": a message frame of
            // 0x01/0x00 then the topic.
            let out = self.out.staging();
            out.reserve(10 + topic.len());
            put_header(out, self.framing, false, 1 + topic.len());
            out.put_u8(u8::from(subscribe));
            out.put_slice(topic);
        }
    }
}

/// Appends a message frame header in `framing` (RFC 23 §"Framing", RFC 15 §"Framing",
/// RFC 13 §"The Framing Layer").
#[inline]
fn put_header(out: &mut BytesMut, framing: Framing, more: bool, len: usize) {
    match framing {
        Framing::Zmtp3 => encode_frame_header(out, if more { FLAG_MORE } else { 0 }, len),
        Framing::Zmtp2 => v2::encode_header(out, more, len),
        Framing::Zmtp1 => v1::encode_header(out, more, len),
    }
}

/// Appends every frame of `msg`, MORE on all but the last (RFC 23 §"Framing").
#[inline]
fn encode_message(out: &mut Output, msg: &Message, framing: Framing) {
    let frames = msg.frames();
    if frames.is_empty() {
        // An empty message travels as one empty frame.
        put_header(out.staging(), framing, false, 0);
        return;
    }
    let last = frames.len() - 1;
    for (i, frame) in frames.iter().enumerate() {
        let more = i != last;
        let staging = out.staging();
        if frame.len() >= output::SHARE_MIN {
            // Large bodies are sent by reference (a vectored write), never copied.
            put_header(staging, framing, more, frame.len());
            out.push_shared(frame.to_bytes());
        } else {
            staging.reserve(10 + frame.len());
            put_header(staging, framing, more, frame.len());
            staging.put_slice(frame);
        }
    }
}
