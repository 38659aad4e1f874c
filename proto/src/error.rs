//! Typed errors of the protocol core, split by cause (the rustls model):
//! [`DecodeError`] for bytes that do not parse, [`PeerMisbehaved`] for a peer that breaks a
//! rule of RFC 23 / RFC 37, and [`SessionError`] for why a whole session ended.

use bytes::Bytes;

use crate::SocketType;

/// A malformed byte sequence: the bytes cannot be parsed at all. Small and `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The greeting does not start with `0xFF` or byte 9 is not `0x7F` (RFC 23 §"Signature").
    #[error("bad greeting signature")]
    BadSignature,
    /// A reserved bit (bits 7-3) of a frame's flags is set (RFC 23 §"Framing").
    #[error("reserved frame flag bits set (flags {0:#04x})")]
    ReservedFlags(u8),
    /// A long frame size has its top bit set or does not fit in memory (RFC 23 §"Framing").
    #[error("frame size does not fit in memory")]
    SizeOverflow,
    /// A command body is empty or its name length overruns the body (RFC 23 §"Commands").
    #[error("command name truncated")]
    TruncatedCommandName,
    /// A command name has zero length (RFC 23 §"Commands": 1*255 name chars).
    #[error("empty command name")]
    EmptyCommandName,
    /// A metadata property name length overruns the body (RFC 23 §"The NULL Security Mechanism").
    #[error("metadata property name truncated")]
    TruncatedPropertyName,
    /// A metadata property name is empty (RFC 23: "Zero-sized names are not valid").
    #[error("empty metadata property name")]
    EmptyPropertyName,
    /// A metadata value length overruns the body.
    #[error("metadata property value truncated")]
    TruncatedPropertyValue,
    /// An ERROR command's reason length overruns the body.
    #[error("ERROR reason truncated")]
    TruncatedErrorReason,
    /// A PING command is shorter than its 2-byte TTL (RFC 37 §"Connection Heartbeating").
    #[error("PING without a TTL")]
    TruncatedPingTtl,
    /// A PING or PONG context is longer than 16 bytes (RFC 37 §"Connection Heartbeating").
    #[error("PING/PONG context longer than 16 bytes")]
    PingContextTooLong,
    /// A ZMTP 1.0 frame length of zero, which leaves no room for the flags byte (RFC 13
    /// §"The Framing Layer").
    #[error("ZMTP 1.0 frame length of zero")]
    ZeroLength,
}

/// A peer broke a rule of the protocol; one variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// The peer sent bytes that do not parse.
    #[error("malformed input: {0}")]
    Malformed(#[from] DecodeError),
    /// The peer's greeting names another security mechanism than ours (RFC 23
    /// §"Authentication and Confidentiality": MUST close the connection).
    #[error("security mechanism mismatch: we use {ours}, peer uses {}", String::from_utf8_lossy(.peer))]
    MechanismMismatch {
        /// Our mechanism name.
        ours: &'static str,
        /// The peer's mechanism name, NUL padding removed.
        peer: Bytes,
    },
    /// A frame declared a size above `max_msg_size` (checked before reading the body).
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// The declared body size.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The frames of one message add up to more than `max_msg_size`.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// The message's size so far, counting the frame that broke the limit.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A subscription command arrived between the frames of a multipart message (RFC 23
    /// §"Formal Grammar": `traffic = *(command / message)`).
    #[error("command {} between the frames of a message", String::from_utf8_lossy(.name))]
    CommandInsideMessage {
        /// The command name.
        name: Bytes,
    },
    /// A command frame had the MORE flag set (RFC 23 §"Framing": SHALL be zero).
    #[error("command frame with the MORE flag set")]
    CommandWithMore,
    /// A message frame arrived before the handshake finished (RFC 23 §"Overall Behavior").
    #[error("message frame before the handshake finished")]
    MessageBeforeReady,
    /// A command that is not allowed at this point (e.g. PING before READY, a second READY).
    #[error("unexpected command {}", String::from_utf8_lossy(.name))]
    UnexpectedCommand {
        /// The command name.
        name: Bytes,
    },
    /// The peer's READY has no `Socket-Type` property.
    #[error("READY without a Socket-Type property")]
    MissingSocketType,
    /// The peer's `Socket-Type` is not one we know.
    #[error("unknown socket type {}", String::from_utf8_lossy(.name))]
    UnknownSocketType {
        /// The value the peer sent.
        name: Bytes,
    },
    /// The socket-type byte of a ZMTP 2.0 greeting is not one we know (RFC 15 §"Formal
    /// Grammar").
    #[error("unknown ZMTP 2.0 socket type {0}")]
    UnknownSocketTypeNumber(u8),
    /// A ZMTP 1.0/2.0 identity frame longer than 255 bytes (RFC 13 §"The Connection Layer").
    #[error("identity of {0} bytes (at most 255)")]
    IdentityTooLong(u64),
    /// A mechanism command (HELLO, WELCOME, INITIATE, READY, MESSAGE...) has the wrong size
    /// or layout for its mechanism (RFC 24, RFC 26).
    #[error("malformed {name} command")]
    MalformedMechanismCommand {
        /// The command name.
        name: &'static str,
    },
    /// A CURVE HELLO announced a version other than 1.0 (RFC 26 §"HELLO").
    #[error("unsupported CURVE version")]
    UnsupportedCurveVersion,
    /// A CURVE short nonce was not above the previous one: a replayed or reordered box
    /// (RFC 26: "strictly incrementing").
    #[error("CURVE nonce not increasing (replayed or reordered box)")]
    NonceNotIncreasing,
    /// A CURVE box did not authenticate: tampered, or made with other keys.
    #[error("CURVE {what} box did not open (tampered or wrong keys)")]
    BoxDidNotOpen {
        /// Which box.
        what: &'static str,
    },
    /// The peer's socket type cannot talk to ours (RFC 23 §"The Socket-Type Property").
    #[error("incompatible socket types: we are {ours}, peer is {peer}")]
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// The peer's socket type.
        peer: SocketType,
    },
}

/// Why a session ended. After any error the session is dead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The peer broke the protocol.
    #[error("peer misbehaved: {0}")]
    PeerMisbehaved(#[from] PeerMisbehaved),
    /// The peer's greeting announces a ZMTP major version below 3 (RFC 23 §"Version
    /// Negotiation": we do not downgrade to ZMTP 1.0/2.0).
    #[error("unsupported ZMTP version {major}.{minor} (need 3.x)")]
    UnsupportedVersion {
        /// The peer's major version.
        major: u8,
        /// The peer's minor version (0 if not yet received).
        minor: u8,
    },
    /// The peer speaks ZMTP 1.0 or 2.0, and this session may not fall back to it.
    #[error("refused a {revision} peer: {reason}")]
    LegacyPeerRefused {
        /// What the peer speaks.
        revision: WireRevision,
        /// Why we do not.
        reason: LegacyRefusal,
    },
    /// The handshake did not finish within `handshake_timeout`.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// Nothing arrived within `heartbeat_timeout` after we sent a PING (RFC 37).
    #[error("heartbeat timed out: no traffic after PING")]
    HeartbeatTimeout,
    /// Nothing arrived within the TTL the peer announced in its PING (RFC 37).
    #[error("peer heartbeat TTL expired")]
    PeerTtlExpired,
    /// Authentication failed on our side: the ZAP handler refused the peer (RFC 27), or the
    /// peer's CURVE keys are not the ones expected.
    #[error("authentication failed: {reason}")]
    AuthFailed {
        /// Why, for the monitor.
        reason: String,
    },
    /// The CURVE nonce counter ran out (2^64 boxes): the connection must be remade.
    #[error("CURVE nonce exhausted")]
    NonceExhausted,
    /// The peer sent an ERROR command (RFC 23 §"Error Handling": fatal).
    #[error("peer sent ERROR: {reason}")]
    PeerError {
        /// The reason text, decoded lossily as UTF-8.
        reason: String,
    },
}

/// The protocol revision a session speaks with its peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireRevision {
    /// ZMTP/1.0 (RFC 13): length-prefixed frames, an identity, no socket type.
    Zmtp1_0,
    /// ZMTP/2.0 (RFC 15): a socket-type byte and an identity frame.
    Zmtp2_0,
    /// ZMTP/3.x (RFC 23, RFC 37) with this minor version.
    Zmtp3 {
        /// 0 for ZMTP 3.0, 1 for 3.1.
        minor: u8,
    },
}

impl std::fmt::Display for WireRevision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireRevision::Zmtp1_0 => f.write_str("ZMTP 1.0"),
            WireRevision::Zmtp2_0 => f.write_str("ZMTP 2.0"),
            WireRevision::Zmtp3 { minor } => write!(f, "ZMTP 3.{minor}"),
        }
    }
}

/// Why a session would not fall back to ZMTP 1.0 or 2.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LegacyRefusal {
    /// The socket uses a security mechanism other than NULL; the legacy revisions have none,
    /// so falling back would drop it.
    #[error("the socket requires the {0} security mechanism, which ZMTP 1.0/2.0 lack")]
    Mechanism(&'static str),
    /// The socket was configured to speak ZMTP 3.x only.
    #[error("legacy protocols are disabled on this socket")]
    Disabled,
}

impl SessionError {
    /// True if the failure is an authentication refusal (for monitor events).
    ///
    /// Like libzmq, an ERROR whose reason is a three-digit ZAP status code (300-599,
    /// RFC 27) counts as an authentication failure.
    pub fn is_auth(&self) -> bool {
        match self {
            SessionError::PeerError { reason } => zap_status(reason).is_some(),
            SessionError::AuthFailed { .. } => true,
            _ => false,
        }
    }
}

/// The ZAP status code carried by an ERROR reason, if the reason is exactly one.
fn zap_status(reason: &str) -> Option<u16> {
    let code: u16 = reason.parse().ok()?;
    (reason.len() == 3 && (300..600).contains(&code)).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_only_for_zap_status_codes() {
        let err = |r: &str| SessionError::PeerError { reason: r.into() };
        assert!(err("400").is_auth());
        assert!(!err("200").is_auth());
        assert!(!err("incompatible socket type").is_auth());
        assert!(!SessionError::HandshakeTimeout.is_auth());
    }

    #[test]
    fn errors_are_send_sync() {
        fn check<T: Send + Sync + Clone + std::fmt::Display + 'static>() {}
        check::<SessionError>();
    }
}
