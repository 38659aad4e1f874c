//! ZAP, the ZeroMQ Authentication Protocol (RFC 27): the request a server-side handshake asks
//! its handler and the reply that decides it. The session only builds and reads them; the
//! engine carries them to the handler bound at `inproc://zeromq.zap.01` and back.

use std::fmt;

use bytes::Bytes;

use crate::codec::Metadata;

/// RFC 27 §"Request": the version frame.
pub const ZAP_VERSION: &[u8] = b"1.0";
/// The endpoint a ZAP handler binds (RFC 27 §"Handler").
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// What a server-side handshake asks the ZAP handler (RFC 27 §"Request").
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZapRequest {
    /// The server socket's ZAP_DOMAIN (may be empty).
    pub domain: Bytes,
    /// The peer's address (an IP address for tcp, empty otherwise, as libzmq).
    pub address: Bytes,
    /// The server socket's own routing id.
    pub routing_id: Bytes,
    /// `NULL`, `PLAIN` or `CURVE`.
    pub mechanism: &'static str,
    /// PLAIN: user name and password; CURVE: the client's 32-byte public key; NULL: none.
    pub credentials: Vec<Bytes>,
}

/// The handler's decision (RFC 27 §"Reply").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZapReply {
    /// 200 allows; 300 (temporary), 400 (authentication) and 500 (internal) refuse.
    pub status_code: u16,
    /// Human-readable reason.
    pub status_text: Bytes,
    /// The authenticated user, carried by the peer's messages as `User-Id`.
    pub user_id: Bytes,
    /// Further properties for the peer's messages.
    pub metadata: Metadata,
}

/// A ZAP reply that does not follow RFC 27.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZapReplyError {
    /// Not the six frames of a reply (after the empty delimiter).
    #[error("ZAP reply has {0} frames, not 6")]
    FrameCount(usize),
    /// The version frame is not `1.0`.
    #[error("ZAP reply has a bad version")]
    Version,
    /// The request id does not match the request's.
    #[error("ZAP reply for another request")]
    RequestId,
    /// The status code is not 200, 300, 400 or 500.
    #[error("ZAP reply has an invalid status code")]
    StatusCode,
    /// The metadata frame does not parse.
    #[error("ZAP reply metadata malformed")]
    Metadata,
}

impl ZapRequest {
    /// The template a session's configuration carries: the mechanism fills in its name and
    /// the peer's credentials when it asks.
    pub fn new(domain: impl Into<Bytes>, address: impl Into<Bytes>, routing_id: Bytes) -> Self {
        ZapRequest {
            domain: domain.into(),
            address: address.into(),
            routing_id,
            mechanism: "NULL",
            credentials: Vec::new(),
        }
    }

    /// The request's frames after the empty delimiter (RFC 27 §"Request"): version, request
    /// id, domain, address, identity, mechanism, credentials.
    pub fn to_frames(&self, request_id: &[u8]) -> Vec<Bytes> {
        let mut frames = vec![
            Bytes::from_static(ZAP_VERSION),
            Bytes::copy_from_slice(request_id),
            self.domain.clone(),
            self.address.clone(),
            self.routing_id.clone(),
            Bytes::from_static(self.mechanism.as_bytes()),
        ];
        frames.extend(self.credentials.iter().cloned());
        frames
    }
}

impl fmt::Debug for ZapRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials may hold a PLAIN password: never printed.
        f.debug_struct("ZapRequest")
            .field("domain", &self.domain)
            .field("address", &self.address)
            .field("mechanism", &self.mechanism)
            .field("credentials", &self.credentials.len())
            .finish_non_exhaustive()
    }
}

impl ZapReply {
    /// A reply with `status_code` and nothing else.
    pub fn new(status_code: u16, status_text: impl Into<Bytes>) -> Self {
        ZapReply {
            status_code,
            status_text: status_text.into(),
            user_id: Bytes::new(),
            metadata: Metadata::new(),
        }
    }

    /// Parses the frames after the empty delimiter, checking the request id.
    pub fn from_frames(frames: &[Bytes], request_id: &[u8]) -> Result<Self, ZapReplyError> {
        let [version, id, code, text, user_id, metadata] = frames else {
            return Err(ZapReplyError::FrameCount(frames.len()));
        };
        if version.as_ref() != ZAP_VERSION {
            return Err(ZapReplyError::Version);
        }
        if id.as_ref() != request_id {
            return Err(ZapReplyError::RequestId);
        }
        let status_code = match code.as_ref() {
            b"200" => 200,
            b"300" => 300,
            b"400" => 400,
            b"500" => 500,
            _ => return Err(ZapReplyError::StatusCode),
        };
        Ok(ZapReply {
            status_code,
            status_text: text.clone(),
            user_id: user_id.clone(),
            metadata: Metadata::decode(metadata.clone()).map_err(|_| ZapReplyError::Metadata)?,
        })
    }

    /// The reply's frames after the empty delimiter.
    pub fn to_frames(&self, request_id: &[u8]) -> Vec<Bytes> {
        let mut metadata = bytes::BytesMut::new();
        self.metadata.encode(&mut metadata);
        vec![
            Bytes::from_static(ZAP_VERSION),
            Bytes::copy_from_slice(request_id),
            Bytes::from(self.status_code.to_string()),
            self.status_text.clone(),
            self.user_id.clone(),
            metadata.freeze(),
        ]
    }

    /// True for status 200.
    pub fn allows(&self) -> bool {
        self.status_code == 200
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_round_trip_and_checks() {
        let mut reply = ZapReply::new(200, "OK");
        reply.user_id = Bytes::from_static(b"alice");
        let frames = reply.to_frames(b"7");
        assert_eq!(ZapReply::from_frames(&frames, b"7"), Ok(reply));
        assert_eq!(
            ZapReply::from_frames(&frames, b"8"),
            Err(ZapReplyError::RequestId)
        );
        assert_eq!(
            ZapReply::from_frames(frames.get(..5).unwrap(), b"7"),
            Err(ZapReplyError::FrameCount(5))
        );
        let mut bad = frames.clone();
        bad[2] = Bytes::from_static(b"201");
        assert_eq!(
            ZapReply::from_frames(&bad, b"7"),
            Err(ZapReplyError::StatusCode)
        );
    }

    #[test]
    fn request_frames_follow_rfc27() {
        let request = ZapRequest {
            domain: Bytes::from_static(b"global"),
            address: Bytes::from_static(b"127.0.0.1"),
            routing_id: Bytes::new(),
            mechanism: "PLAIN",
            credentials: vec![Bytes::from_static(b"admin"), Bytes::from_static(b"secret")],
        };
        let frames = request.to_frames(b"1");
        let expect: [&[u8]; 8] = [
            b"1.0",
            b"1",
            b"global",
            b"127.0.0.1",
            b"",
            b"PLAIN",
            b"admin",
            b"secret",
        ];
        assert_eq!(frames, expect.map(Bytes::from_static));
        assert!(!format!("{request:?}").contains("secret"));
    }
}
