//! Drives a PLAIN session (server or client, by the first byte's top bit) with arbitrary
//! bytes after a valid greeting; a server's ZAP request is answered with the status the first
//! byte picks. Nothing may panic, a refused or failed handshake stays dead, and no message is
//! ever delivered before the handshake completed.
#![no_main]

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ferrozmq_proto::codec::Greeting;
use ferrozmq_proto::mechanism::{SecretBytes, ZapReply, ZapRequest};
use ferrozmq_proto::session::MechanismConfig;
use ferrozmq_proto::{Session, SessionConfig, SessionEvent, SocketType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let now = Instant::now();
    let server = control & 0x80 != 0;
    let mut config = SessionConfig::new(SocketType::Router);
    config.mechanism = if server {
        MechanismConfig::PlainServer
    } else {
        MechanismConfig::PlainClient {
            username: Bytes::from_static(b"user"),
            password: SecretBytes::new("pass"),
        }
    };
    if control & 0x40 != 0 {
        config.zap = Some(ZapRequest::new("fuzz", "10.0.0.1", Bytes::new()));
    }
    let status = [200, 300, 400, 500][usize::from(control & 0x03)];
    let mut session = Session::new(config, now);
    let mut buf = BytesMut::new();
    Greeting::new(3, 1, b"PLAIN", !server).encode(&mut buf);
    buf.extend_from_slice(rest);
    let chunk = usize::from((control >> 2) & 0x0F).max(1);
    let input = buf.split();
    let mut ready = false;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        let result = session.handle_input(&mut buf, now);
        while let Some(event) = session.poll_event() {
            match event {
                SessionEvent::Ready(_) => ready = true,
                SessionEvent::Message(_) => assert!(ready, "message before READY"),
                SessionEvent::ZapRequest(_) => {
                    if session.handle_zap_reply(ZapReply::new(status, "fuzz"), now).is_err() {
                        assert!(status != 200);
                        assert!(session.handle_input(&mut buf, now).is_err());
                        return;
                    }
                }
                _ => {}
            }
        }
        if result.is_err() {
            assert!(session.handle_input(&mut buf, now).is_err());
            return;
        }
    }
});
