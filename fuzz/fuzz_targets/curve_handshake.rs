//! Drives a CURVE session (server or client, by the first byte's top bit) with arbitrary
//! bytes after a valid greeting. Forged HELLO/WELCOME/INITIATE/READY boxes must fail cleanly:
//! nothing may panic, nothing is delivered, and a failed session stays dead.
#![no_main]

use std::time::Instant;

use bytes::BytesMut;
use ferrozmq_proto::codec::Greeting;
use ferrozmq_proto::mechanism::{CurveKeyPair, CurveSecretKey};
use ferrozmq_proto::session::MechanismConfig;
use ferrozmq_proto::{Session, SessionConfig, SessionEvent, SocketType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let now = Instant::now();
    let server = control & 0x80 != 0;
    // Fixed long-term keys, so that inputs mean the same from run to run.
    let server_keys = CurveKeyPair::from_secret(CurveSecretKey::from([7u8; 32]));
    let client_keys = CurveKeyPair::from_secret(CurveSecretKey::from([9u8; 32]));
    let mut config = SessionConfig::new(SocketType::Dealer);
    config.mechanism = if server {
        MechanismConfig::CurveServer {
            secret: server_keys.secret,
        }
    } else {
        MechanismConfig::CurveClient {
            keys: client_keys,
            server_key: server_keys.public,
        }
    };
    let mut session = Session::new(config, now);
    let mut buf = BytesMut::new();
    Greeting::new(3, 1, b"CURVE", !server).encode(&mut buf);
    buf.extend_from_slice(rest);
    let chunk = usize::from(control & 0x7F).max(1);
    let input = buf.split();
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        let result = session.handle_input(&mut buf, now);
        while let Some(event) = session.poll_event() {
            // Completing the handshake needs the peer's transient secret: never by chance.
            assert!(!matches!(event, SessionEvent::Ready(_) | SessionEvent::Message(_)));
        }
        if result.is_err() {
            assert!(session.handle_input(&mut buf, now).is_err());
            return;
        }
    }
});
