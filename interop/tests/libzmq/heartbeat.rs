//! ZMTP 3.1 heartbeats (RFC 37 §"PING and PONG") against libzmq, in both directions: the
//! side that pings with a short HEARTBEAT_TIMEOUT drops the connection unless the other side
//! answers, and libzmq's own socket monitor reports any drop.
//!
//! Each test watches for a disconnect during a window of many heartbeat time-outs. A slow
//! machine only makes the window hold fewer heartbeats; it cannot make the test fail.

use std::time::{Duration, Instant};

use ferrozmq::{Message, SocketOption, SocketType};

const IVL_MS: i32 = 20;
const TIMEOUT_MS: i32 = 100;
/// Ten heartbeat time-outs.
const WINDOW: Duration = Duration::from_millis(1000);
const RECV: Option<Duration> = Some(Duration::from_secs(10));

/// A PAIR socket receiving `socket`'s monitor events (DISCONNECTED and HANDSHAKE_SUCCEEDED).
fn monitor(ctx: &zmq::Context, socket: &zmq::Socket, name: &str) -> zmq::Socket {
    let events =
        zmq::SocketEvent::DISCONNECTED as i32 | zmq::SocketEvent::HANDSHAKE_SUCCEEDED as i32;
    socket.monitor(&format!("inproc://{name}"), events).unwrap();
    let mon = ctx.socket(zmq::PAIR).unwrap();
    mon.connect(&format!("inproc://{name}")).unwrap();
    mon
}

/// The next monitor event's number, if one arrives before `deadline`.
fn next_event(mon: &zmq::Socket, deadline: Instant) -> Option<u16> {
    let left = deadline.saturating_duration_since(Instant::now());
    mon.set_rcvtimeo(i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1))
        .unwrap();
    let frames = mon.recv_multipart(0).ok()?;
    let first = frames.first()?;
    Some(u16::from_le_bytes([*first.first()?, *first.get(1)?]))
}

/// Waits for the handshake, then asserts no disconnect (and no second handshake) in WINDOW.
fn assert_connection_survives(mon: &zmq::Socket) {
    let handshake = zmq::SocketEvent::HANDSHAKE_SUCCEEDED as u16;
    let first = next_event(mon, Instant::now() + Duration::from_secs(10));
    assert_eq!(first, Some(handshake), "expected a handshake first");
    let deadline = Instant::now() + WINDOW;
    if let Some(e) = next_event(mon, deadline) {
        panic!("connection dropped during heartbeats: monitor event {e:#06x}");
    }
}

/// libzmq pings; ferrozmq must answer every PING with a PONG.
#[test]
fn libzmq_pings_ferrozmq_answers() {
    let ctx = zmq::Context::new();
    let router = ferrozmq::Socket::new(SocketType::Router);
    let ep = router.bind("tcp://127.0.0.1:*").unwrap();
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_heartbeat_ivl(IVL_MS).unwrap();
    dealer.set_heartbeat_timeout(TIMEOUT_MS).unwrap();
    dealer.set_rcvtimeo(10_000).unwrap();
    let mon = monitor(&ctx, &dealer, "hb-libzmq-pings");
    dealer.connect(&ep).unwrap();
    for round in 0..2 {
        if round == 1 {
            assert_connection_survives(&mon);
        }
        dealer.send("ping?", 0).unwrap();
        let mut m = router.recv_timeout(RECV).unwrap();
        m.pop_back();
        m.push_back(ferrozmq::Bytes::from_static(b"pong!"));
        router.send(m).unwrap();
        assert_eq!(dealer.recv_bytes(0).unwrap(), b"pong!");
    }
}

/// ferrozmq pings; libzmq answers, and ferrozmq must not drop a peer that does.
#[test]
fn ferrozmq_pings_libzmq_answers() {
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER).unwrap();
    router.set_rcvtimeo(10_000).unwrap();
    let mon = monitor(&ctx, &router, "hb-ferrozmq-pings");
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.get_last_endpoint().unwrap().unwrap();
    let dealer = ferrozmq::Socket::new(SocketType::Dealer);
    let ms = |n: i32| Some(Duration::from_millis(u64::try_from(n).unwrap()));
    dealer
        .set_option(SocketOption::HeartbeatIvl(ms(IVL_MS)))
        .unwrap();
    dealer
        .set_option(SocketOption::HeartbeatTimeout(ms(TIMEOUT_MS)))
        .unwrap();
    dealer.connect(&ep).unwrap();
    for round in 0..2 {
        if round == 1 {
            assert_connection_survives(&mon);
        }
        dealer.send("ping?").unwrap();
        let mut m = router.recv_multipart(0).unwrap();
        m.pop();
        m.push(b"pong!".to_vec());
        router.send_multipart(m, 0).unwrap();
        assert_eq!(dealer.recv_timeout(RECV).unwrap(), Message::from("pong!"));
    }
}
