//! Typed errors of the protocol core: decoding, peer misbehaviour, and session failure.
//!
//! STUB: helper fills in the variants. The engine relies only on `SessionError` being
//! `Debug + Display + Clone + Send + Sync + 'static` and on `SessionError::is_auth()`.

/// A malformed byte sequence. Small and `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Placeholder.
    #[error("malformed input")]
    Malformed,
}

/// A peer broke a rule of the protocol; one variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// Placeholder.
    #[error("protocol violation")]
    Violation,
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The peer broke the protocol.
    #[error("peer misbehaved: {0}")]
    PeerMisbehaved(#[from] PeerMisbehaved),
}

impl SessionError {
    /// True if the failure is an authentication refusal (for monitor events).
    pub fn is_auth(&self) -> bool {
        false
    }
}
