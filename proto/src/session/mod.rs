//! The per-connection ZMTP state machine (sans-IO): greeting, mechanism handshake, traffic,
//! heartbeats.
//!
//! STUB: the contract the engine codes against. Call order:
//! 1. [`Session::new`] — the session immediately queues its whole 64-byte greeting
//!    (we send all 64 bytes at once; RFC 23 allows it and libzmq accepts it).
//! 2. Whenever bytes arrive: [`Session::handle_input`] with the read buffer; the session
//!    consumes complete units from the front (splitting frames off without copying) and leaves
//!    a partial tail in the buffer. Then drain [`Session::poll_event`].
//! 3. Whenever the socket is writable: write [`Session::pending_output`], then
//!    [`Session::consume_output`] with the number of bytes written.
//! 4. Timers: sleep until [`Session::poll_timeout`], then call [`Session::handle_timeout`].
//! 5. Once [`SessionEvent::Ready`] was returned, [`Session::send_message`] /
//!    [`Session::send_subscription`] encode outgoing traffic.
//! After any `Err`, the session is dead; `pending_output` may still hold an ERROR command that
//! the engine should try to flush before closing.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::{Message, SessionError, SocketType};

/// Security mechanism choice for a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MechanismConfig {
    /// RFC 23 NULL mechanism.
    #[default]
    Null,
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
    /// Send a PING after this long without sending anything; `None` disables heartbeats.
    pub heartbeat_ivl: Option<Duration>,
    /// TTL advertised in our PINGs (rounded to deciseconds, RFC 37 §"PING and PONG").
    pub heartbeat_ttl: Option<Duration>,
    /// Fail if nothing arrives for this long after a PING (defaults to `heartbeat_ivl`).
    pub heartbeat_timeout: Option<Duration>,
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
    /// The negotiated ZMTP minor version (0 for 3.0, 1 for 3.1).
    pub minor_version: u8,
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
}

/// One ZMTP connection's protocol state.
#[derive(Debug)]
pub struct Session {
    _private: (),
}

impl Session {
    /// Starts a session; the greeting is queued for output at once.
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        let _ = (config, now);
        todo!()
    }

    /// Feeds received bytes; consumes what it can from the front of `buf`.
    pub fn handle_input(&mut self, buf: &mut BytesMut, now: Instant) -> Result<(), SessionError> {
        let _ = (buf, now);
        todo!()
    }

    /// Next event, if any.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        todo!()
    }

    /// Bytes waiting to be written.
    pub fn pending_output(&self) -> &[u8] {
        todo!()
    }

    /// Marks `n` bytes of [`Session::pending_output`] as written.
    pub fn consume_output(&mut self, n: usize) {
        let _ = n;
        todo!()
    }

    /// Encodes a message for sending (only after Ready). An empty message is one empty frame.
    pub fn send_message(&mut self, msg: &Message) {
        let _ = msg;
        todo!()
    }

    /// Encodes a subscription (`subscribe == true`) or cancellation: a SUBSCRIBE/CANCEL
    /// command for ZMTP 3.1 peers, a `0x01`/`0x00`-prefixed message for 3.0 peers (RFC 37).
    pub fn send_subscription(&mut self, topic: &[u8], subscribe: bool) {
        let _ = (topic, subscribe);
        todo!()
    }

    /// True once the handshake has completed.
    pub fn is_ready(&self) -> bool {
        todo!()
    }

    /// When [`Session::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    /// Runs timers: handshake timeout, heartbeat PING, heartbeat/TTL expiry.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        let _ = now;
        todo!()
    }
}
