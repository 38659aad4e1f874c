//! Commands (RFC 23 §"Commands", RFC 37): a command frame's body is a 1-byte name length, the
//! name, and command data. READY, ERROR, PING, PONG, SUBSCRIBE and CANCEL are decoded here;
//! anything else (mechanism commands such as HELLO, future commands) stays [`Command::Unknown`].

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::frame::{encode_frame_header, FLAG_COMMAND};
use super::{take, take_u8, Metadata};
use crate::error::DecodeError;

/// RFC 37 §"Connection Heartbeating": a ping-context is 0 to 16 octets.
const MAX_PING_CONTEXT: usize = 16;

/// One decoded command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// READY with the sender's metadata (RFC 23 §"The NULL Security Mechanism").
    Ready(Metadata),
    /// ERROR with a reason of at most 255 bytes (RFC 23 §"Error Handling").
    Error {
        /// Reason text (VCHARs by the grammar; not checked).
        reason: Bytes,
    },
    /// PING (RFC 37 §"Connection Heartbeating").
    Ping {
        /// Time-to-live in tenths of a second; 0 means none.
        ttl_deciseconds: u16,
        /// Up to 16 bytes to echo in the PONG.
        context: Bytes,
    },
    /// PONG echoing a PING's context.
    Pong {
        /// The echoed context.
        context: Bytes,
    },
    /// SUBSCRIBE with its topic (RFC 37 §"The Publish-Subscribe Pattern").
    Subscribe(Bytes),
    /// CANCEL with its topic.
    Cancel(Bytes),
    /// Any other command, left for a mechanism or ignored (RFC 37 allows new commands).
    Unknown {
        /// Command name.
        name: Bytes,
        /// Command data.
        data: Bytes,
    },
}

impl Command {
    /// Decodes a command frame's body.
    pub fn decode(mut body: Bytes) -> Result<Command, DecodeError> {
        let name_len = take_u8(&mut body).ok_or(DecodeError::TruncatedCommandName)?;
        if name_len == 0 {
            return Err(DecodeError::EmptyCommandName);
        }
        let name =
            take(&mut body, usize::from(name_len)).ok_or(DecodeError::TruncatedCommandName)?;
        let mut data = body;
        Ok(match &name[..] {
            b"READY" => Command::Ready(Metadata::decode(data)?),
            b"ERROR" => {
                // RFC 23: error-reason = short-size 0*255VCHAR; trailing bytes are ignored.
                let len = take_u8(&mut data).ok_or(DecodeError::TruncatedErrorReason)?;
                let reason =
                    take(&mut data, usize::from(len)).ok_or(DecodeError::TruncatedErrorReason)?;
                Command::Error { reason }
            }
            b"PING" => {
                // RFC 37: ping = "PING" ping-ttl(2 octets, network order) ping-context(0*16).
                if data.len() < 2 {
                    return Err(DecodeError::TruncatedPingTtl);
                }
                let ttl_deciseconds = data.get_u16();
                Command::Ping {
                    ttl_deciseconds,
                    context: check_context(data)?,
                }
            }
            b"PONG" => Command::Pong {
                context: check_context(data)?,
            },
            b"SUBSCRIBE" => Command::Subscribe(data),
            b"CANCEL" => Command::Cancel(data),
            _ => Command::Unknown { name, data },
        })
    }

    /// The command's name as sent on the wire.
    pub fn name(&self) -> &[u8] {
        match self {
            Command::Ready(_) => b"READY",
            Command::Error { .. } => b"ERROR",
            Command::Ping { .. } => b"PING",
            Command::Pong { .. } => b"PONG",
            Command::Subscribe(_) => b"SUBSCRIBE",
            Command::Cancel(_) => b"CANCEL",
            Command::Unknown { name, .. } => name,
        }
    }

    /// Appends the whole command frame (header and body) to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Command::Ready(metadata) => {
                let len = 6 + metadata.encoded_len();
                out.reserve(9 + len);
                encode_frame_header(out, FLAG_COMMAND, len);
                put_name(out, b"READY");
                metadata.encode(out);
            }
            Command::Error { reason } => {
                let reason = reason.get(..reason.len().min(255)).unwrap_or_default();
                put_command(out, b"ERROR", &[&[reason.len() as u8], reason]);
            }
            Command::Ping {
                ttl_deciseconds,
                context,
            } => put_command(out, b"PING", &[&ttl_deciseconds.to_be_bytes(), context]),
            Command::Pong { context } => put_command(out, b"PONG", &[context]),
            Command::Subscribe(topic) => put_command(out, b"SUBSCRIBE", &[topic]),
            Command::Cancel(topic) => put_command(out, b"CANCEL", &[topic]),
            Command::Unknown { name, data } => {
                let name = name.get(..name.len().min(255)).unwrap_or_default();
                put_command(out, name, &[data]);
            }
        }
    }
}

/// Splits a command body into its name and data (RFC 23 §"Commands"), without decoding data.
pub(crate) fn split_name(mut body: Bytes) -> Result<(Bytes, Bytes), DecodeError> {
    let name_len = take_u8(&mut body).ok_or(DecodeError::TruncatedCommandName)?;
    if name_len == 0 {
        return Err(DecodeError::EmptyCommandName);
    }
    let name = take(&mut body, usize::from(name_len)).ok_or(DecodeError::TruncatedCommandName)?;
    Ok((name, body))
}

/// Appends a command frame made of `name` and the concatenated `parts`.
pub(crate) fn put_command(out: &mut BytesMut, name: &[u8], parts: &[&[u8]]) {
    let len = 1 + name.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    out.reserve(9 + len);
    encode_frame_header(out, FLAG_COMMAND, len);
    put_name(out, name);
    for part in parts {
        out.put_slice(part);
    }
}

fn put_name(out: &mut BytesMut, name: &[u8]) {
    out.put_u8(name.len() as u8);
    out.put_slice(name);
}

fn check_context(context: Bytes) -> Result<Bytes, DecodeError> {
    if context.len() > MAX_PING_CONTEXT {
        return Err(DecodeError::PingContextTooLong);
    }
    Ok(context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_frame;
    use crate::codec::FrameLimits;

    fn round_trip(cmd: Command) {
        let mut out = BytesMut::new();
        cmd.encode(&mut out);
        let frame = decode_frame(&mut out, &FrameLimits::UNLIMITED)
            .unwrap()
            .unwrap();
        assert!(frame.is_command() && out.is_empty());
        assert_eq!(Command::decode(frame.body), Ok(cmd));
    }

    #[test]
    fn commands_round_trip() {
        round_trip(Command::Error {
            reason: Bytes::from_static(b"nope"),
        });
        round_trip(Command::Ping {
            ttl_deciseconds: 300,
            context: Bytes::from_static(b"ctx"),
        });
        round_trip(Command::Pong {
            context: Bytes::new(),
        });
        round_trip(Command::Subscribe(Bytes::from_static(b"topic")));
        round_trip(Command::Cancel(Bytes::new()));
    }

    #[test]
    fn malformed_commands() {
        let d = |b: &'static [u8]| Command::decode(Bytes::from_static(b));
        assert_eq!(d(b""), Err(DecodeError::TruncatedCommandName));
        assert_eq!(d(b"\x00"), Err(DecodeError::EmptyCommandName));
        assert_eq!(d(b"\x09SUB"), Err(DecodeError::TruncatedCommandName));
        assert_eq!(d(b"\x04PING\x00"), Err(DecodeError::TruncatedPingTtl));
        assert_eq!(d(b"\x05ERROR\x09x"), Err(DecodeError::TruncatedErrorReason));
    }
}
