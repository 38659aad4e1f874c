//! The session's deadlines: handshake timeout, heartbeat PING interval, heartbeat timeout after
//! our PING, and the TTL a peer's PING announced (RFC 37 §"Connection Heartbeating").
//! Pure bookkeeping over caller-supplied [`Instant`]s; no clock is read.

use std::time::{Duration, Instant};

use super::SessionConfig;
use crate::error::SessionError;

/// What [`Timers::expire`] asks the session to do.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TimerAction {
    /// Nothing is due.
    Idle,
    /// Send a PING with this TTL (deciseconds).
    SendPing(u16),
}

#[derive(Debug)]
pub(super) struct Timers {
    handshake: Option<Instant>,
    next_ping: Option<Instant>,
    /// Set when we PING; cleared by any incoming traffic.
    heartbeat: Option<Instant>,
    /// Set by a peer PING with a TTL; cleared by any later incoming traffic.
    peer_ttl: Option<Instant>,
    ivl: Option<Duration>,
    timeout: Duration,
    ttl_deciseconds: u16,
}

impl Timers {
    pub(super) fn new(config: &SessionConfig, now: Instant) -> Self {
        let ivl = config.heartbeat_ivl.filter(|d| !d.is_zero());
        // RFC 37: ping-ttl is in tenths of a second, at most 6553.5 s.
        let ttl_deciseconds = config.heartbeat_ttl.map_or(0, |ttl| {
            u16::try_from(ttl.as_millis() / 100).unwrap_or(u16::MAX)
        });
        Timers {
            handshake: config.handshake_timeout.and_then(|t| now.checked_add(t)),
            next_ping: None,
            heartbeat: None,
            peer_ttl: None,
            ivl,
            timeout: config.heartbeat_timeout.or(ivl).unwrap_or_default(),
            ttl_deciseconds,
        }
    }

    /// The handshake finished; heartbeats start if enabled and the peer speaks ZMTP 3.1.
    pub(super) fn on_ready(&mut self, now: Instant, peer_minor: u8) {
        self.handshake = None;
        if peer_minor >= 1 {
            self.next_ping = self.ivl.and_then(|ivl| now.checked_add(ivl));
        }
    }

    /// Any bytes arrived: RFC 37 says to treat all traffic as a sign of life.
    #[inline]
    pub(super) fn on_received(&mut self) {
        self.heartbeat = None;
        self.peer_ttl = None;
    }

    /// The peer sent a PING with this TTL: fail if nothing further arrives within it.
    pub(super) fn on_peer_ping(&mut self, now: Instant, ttl_deciseconds: u16) {
        if ttl_deciseconds > 0 {
            let ttl = Duration::from_millis(u64::from(ttl_deciseconds) * 100);
            self.peer_ttl = now.checked_add(ttl);
        }
    }

    /// The earliest deadline.
    pub(super) fn next(&self) -> Option<Instant> {
        [
            self.handshake,
            self.next_ping,
            self.heartbeat,
            self.peer_ttl,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires whatever is due at `now`.
    pub(super) fn expire(&mut self, now: Instant) -> Result<TimerAction, SessionError> {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if due(self.handshake) {
            return Err(SessionError::HandshakeTimeout);
        }
        if due(self.heartbeat) {
            return Err(SessionError::HeartbeatTimeout);
        }
        if due(self.peer_ttl) {
            return Err(SessionError::PeerTtlExpired);
        }
        if !due(self.next_ping) {
            return Ok(TimerAction::Idle);
        }
        self.next_ping = self.ivl.and_then(|ivl| now.checked_add(ivl));
        if self.heartbeat.is_none() {
            self.heartbeat = now.checked_add(self.timeout);
        }
        Ok(TimerAction::SendPing(self.ttl_deciseconds))
    }
}
