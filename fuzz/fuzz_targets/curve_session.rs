//! A real CURVE handshake between two sessions, then arbitrary bytes into the server, after
//! a good boxed message when the first byte says so. Boxes the fuzzer makes cannot
//! authenticate: nothing may panic, and only the genuine message is ever delivered.
#![no_main]

use std::time::Instant;

use bytes::BytesMut;
use ferrozmq_proto::mechanism::{CurveKeyPair, CurveSecretKey};
use ferrozmq_proto::session::MechanismConfig;
use ferrozmq_proto::{Message, Session, SessionConfig, SessionEvent, SocketType};
use libfuzzer_sys::fuzz_target;

fn pump(from: &mut Session, to: &mut Session, buf: &mut BytesMut, now: Instant) -> bool {
    let out = from.pending_output().to_vec();
    if out.is_empty() {
        return false;
    }
    from.consume_output(out.len());
    buf.extend_from_slice(&out);
    to.handle_input(buf, now).expect("genuine bytes");
    true
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let now = Instant::now();
    let server_keys = CurveKeyPair::from_secret(CurveSecretKey::from([7u8; 32]));
    let mut client_config = SessionConfig::new(SocketType::Push);
    client_config.mechanism = MechanismConfig::CurveClient {
        keys: CurveKeyPair::from_secret(CurveSecretKey::from([9u8; 32])),
        server_key: server_keys.public,
    };
    let mut server_config = SessionConfig::new(SocketType::Pull);
    server_config.mechanism = MechanismConfig::CurveServer {
        secret: server_keys.secret,
    };
    let mut client = Session::new(client_config, now);
    let mut server = Session::new(server_config, now);
    let (mut to_server, mut to_client) = (BytesMut::new(), BytesMut::new());
    while pump(&mut client, &mut server, &mut to_server, now)
        | pump(&mut server, &mut client, &mut to_client, now)
    {}
    assert!(client.is_ready() && server.is_ready());
    let mut genuine = 0;
    if control & 1 != 0 {
        client.send_message(&Message::from("genuine"));
        pump(&mut client, &mut server, &mut to_server, now);
    }
    to_server.extend_from_slice(rest);
    let _ = server.handle_input(&mut to_server, now);
    while let Some(event) = server.poll_event() {
        if let SessionEvent::Message(m) = event {
            assert_eq!(m, Message::from("genuine"));
            genuine += 1;
        }
    }
    assert!(genuine <= 1);
});
