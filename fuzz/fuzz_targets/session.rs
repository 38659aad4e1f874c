//! Drives a Session with arbitrary bytes. The first byte picks the chunk size and whether a
//! valid greeting and READY come first (so the fuzzer reaches traffic); timers fire between
//! chunks. Input is decoded with a small event budget (as the engine does below RCVHWM), and
//! a call never yields more events than its budget. Nothing may panic, and after an error the
//! session must stay dead.
#![no_main]

use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferrozmq_proto::codec::{Command, Greeting, Metadata};
use ferrozmq_proto::{Message, Session, SessionConfig, SocketType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let now = Instant::now();
    let mut config = SessionConfig::new(SocketType::Router);
    config.max_msg_size = Some(1 << 16);
    config.heartbeat_ivl = Some(Duration::from_millis(100));
    let mut session = Session::new(config, now);

    let mut input = BytesMut::new();
    if control & 0x80 != 0 {
        Greeting::new(3, 1, b"NULL", false).encode(&mut input);
        let mut md = Metadata::new();
        md.insert("Socket-Type", "DEALER");
        md.insert("Identity", "fuzz");
        Command::Ready(md).encode(&mut input);
    }
    input.extend_from_slice(rest);

    let chunk = usize::from(control & 0x7F).max(1);
    let budget = usize::from(control & 0x07) + 1;
    let mut buf = BytesMut::new();
    let mut t = now;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        let result = session.handle_input_limited(&mut buf, t, budget);
        let mut events = 0;
        while session.poll_event().is_some() {
            events += 1;
        }
        // RFC 23 framing is not split across the budget: a multipart message counts once,
        // and the handshake's READY is one event.
        assert!(
            events <= budget,
            "{events} events with a budget of {budget}"
        );
        session.send_message(&Message::from("x"));
        let n = session.pending_output().len() / 2;
        session.consume_output(n);
        t += Duration::from_millis(30);
        if result.is_err() {
            assert!(session.handle_input(&mut buf, t).is_err());
            return;
        }
        if session.handle_timeout(t).is_err() {
            return;
        }
    }
});
