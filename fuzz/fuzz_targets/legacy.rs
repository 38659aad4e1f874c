//! Fuzzes the legacy decoders: ZMTP 1.0 (RFC 13) and ZMTP 2.0 (RFC 15) frame headers, and a
//! session whose peer input starts without a ZMTP 3.x greeting (revision detection, the
//! ZMTP 1.0/2.0 greeting and identity, legacy traffic).
//!
//! Input: byte 0 picks the mode (0 ZMTP 1.0 headers, 1 ZMTP 2.0 headers, else a session);
//! byte 1 is the size limit (x 4) or the session's input chunk size; the rest is peer bytes.
//! Every decoded header must re-encode to one that decodes the same; a session must never
//! panic and stays dead after an error.
#![no_main]

use std::time::Instant;

use bytes::{Buf, BytesMut};
use ferrozmq_proto::codec::{v1, v2};
use ferrozmq_proto::{Session, SessionConfig, SocketType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [mode, knob, rest @ ..] = data else {
        return;
    };
    match mode {
        0 | 1 => {
            let decode = if *mode == 0 {
                v1::decode_header
            } else {
                v2::decode_header
            };
            let limit = u64::from(*knob) * 4;
            let mut buf = BytesMut::from(rest);
            while let Ok(Some(header)) = decode(&buf, limit) {
                assert!(header.body_len as u64 <= limit);
                let mut out = BytesMut::new();
                let more = header.flags & 1 != 0;
                if *mode == 0 {
                    v1::encode_header(&mut out, more, header.body_len);
                } else {
                    v2::encode_header(&mut out, more, header.body_len);
                }
                let again = decode(&out, u64::MAX).ok().flatten();
                assert_eq!(
                    again.map(|h| (h.flags, h.body_len)),
                    Some((header.flags, header.body_len))
                );
                if buf.len() < header.frame_len() {
                    break;
                }
                buf.advance(header.frame_len());
            }
        }
        _ => {
            let types = [
                SocketType::Pull,
                SocketType::Router,
                SocketType::Pub,
                SocketType::Sub,
            ];
            let mut config = SessionConfig::new(types[usize::from(*mode) % types.len()]);
            config.max_msg_size = Some(1024);
            let now = Instant::now();
            let mut session = Session::new(config, now);
            let mut buf = BytesMut::new();
            for piece in rest.chunks(usize::from(*knob).max(1)) {
                buf.extend_from_slice(piece);
                let failed = session.handle_input(&mut buf, now).is_err();
                while session.poll_event().is_some() {}
                if failed {
                    assert!(session.handle_input(&mut buf, now).is_err());
                    return;
                }
                session.send_message(&ferrozmq_proto::Message::from(vec![
                    bytes::Bytes::from_static(b"x"),
                ]));
                let n = session.pending_output_len();
                session.consume_output(n);
            }
        }
    }
});
