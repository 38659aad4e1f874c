//! Hostile or broken peers, played by raw TCP clients writing bytes by hand: each loses its
//! connection, the socket keeps serving its other peers, and nothing already queued is lost.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ferrozmq::{Context, Socket, SocketOption, SocketType};

const T: Option<Duration> = Some(Duration::from_secs(10));

/// A ZMTP 3.1 NULL greeting (RFC 23 §"Greeting"), as-server = 0.
fn greeting() -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
    let mut mech = b"NULL".to_vec();
    mech.resize(20, 0);
    g.extend(mech);
    g.push(0);
    g.resize(64, 0);
    g
}

/// A READY command with the given Socket-Type (RFC 23 §"Commands", §"NULL").
fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut f = vec![0x04, body.len() as u8];
    f.extend(body);
    f
}

fn raw_client(ep: &str) -> TcpStream {
    let addr = ep.trim_start_matches("tcp://");
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads until the server closes the connection; returns everything it sent.
fn read_to_eof(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("server did not close the connection: {e}"),
        }
    }
}

fn pull_with_good_peer(ctx: &Context) -> (Socket, Socket, String) {
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    push.send("before").unwrap();
    (pull, push, ep)
}

fn good_peer_still_served(pull: &Socket, push: &Socket) {
    push.send("after").unwrap();
    assert_eq!(&pull.recv_timeout(T).unwrap().frames()[0][..], b"before");
    assert_eq!(&pull.recv_timeout(T).unwrap().frames()[0][..], b"after");
}

/// Without legacy protocols, bytes that are no ZMTP signature fail at once.
#[test]
fn garbage_instead_of_greeting_is_dropped() {
    let ctx = Context::new();
    let (pull, push, ep) = pull_with_good_peer(&ctx);
    pull.set_option(SocketOption::LegacyProtocols(false))
        .unwrap();
    let mut bad = raw_client(&ep);
    bad.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n and some more bytes to pass 64 ......")
        .unwrap();
    read_to_eof(&mut bad);
    good_peer_still_served(&pull, &push);
}

/// With legacy protocols (the default), garbage reads as a ZMTP 1.0 identity frame (RFC 15
/// §"Backwards Interoperability": no 0xFF first), here one longer than what follows, so the
/// peer is dropped by the handshake time-out, as libzmq does.
#[test]
fn garbage_instead_of_greeting_is_dropped_by_the_handshake_timeout() {
    let ctx = Context::new();
    let (pull, push, ep) = pull_with_good_peer(&ctx);
    pull.set_option(SocketOption::HandshakeIvl(Some(Duration::from_millis(300))))
        .unwrap();
    let mut bad = raw_client(&ep);
    bad.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    read_to_eof(&mut bad);
    good_peer_still_served(&pull, &push);
}

/// Major version 2 is neither a ZMTP 2.0 greeting (revision 1) nor 3.x.
#[test]
fn zmtp2_peer_is_dropped() {
    let ctx = Context::new();
    let (pull, push, ep) = pull_with_good_peer(&ctx);
    let mut bad = raw_client(&ep);
    let mut g = greeting();
    g[10] = 2; // major version 2
    bad.write_all(&g).unwrap();
    read_to_eof(&mut bad);
    good_peer_still_served(&pull, &push);
}

#[test]
fn absurd_frame_size_is_refused_before_allocating() {
    let ctx = Context::new();
    let (pull, push, ep) = pull_with_good_peer(&ctx);
    pull.set_option(SocketOption::MaxMsgSize(Some(1000)))
        .unwrap();
    for size in [u64::MAX, 1 << 40, 1001] {
        let mut bad = raw_client(&ep);
        bad.write_all(&greeting()).unwrap();
        bad.write_all(&ready("PUSH")).unwrap();
        let mut frame = vec![0x02];
        frame.extend_from_slice(&size.to_be_bytes());
        bad.write_all(&frame).unwrap();
        read_to_eof(&mut bad);
    }
    good_peer_still_served(&pull, &push);
}

#[test]
fn incompatible_socket_type_gets_error_command() {
    let ctx = Context::new();
    let (pull, push, ep) = pull_with_good_peer(&ctx);
    let mut bad = raw_client(&ep);
    bad.write_all(&greeting()).unwrap();
    bad.write_all(&ready("REQ")).unwrap();
    let got = read_to_eof(&mut bad);
    assert!(
        got.windows(5).any(|w| w == b"ERROR"),
        "no ERROR command in {got:?}"
    );
    good_peer_still_served(&pull, &push);
}

#[test]
fn silent_peer_hits_handshake_timeout() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.set_option(SocketOption::HandshakeIvl(Some(Duration::from_millis(100))))
        .unwrap();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut bad = raw_client(&ep);
    let got = read_to_eof(&mut bad);
    // RFC 15 §"Backwards Interoperability": until the peer's first bytes tell its revision,
    // only the 10-byte signature goes out.
    assert_eq!(
        got.len(),
        10,
        "only our signature is sent before the time-out"
    );
}

#[test]
fn dead_peer_detected_by_heartbeat() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.set_option(SocketOption::HeartbeatIvl(Some(Duration::from_millis(50))))
        .unwrap();
    pull.set_option(SocketOption::HeartbeatTimeout(Some(Duration::from_millis(
        150,
    ))))
    .unwrap();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut mute = raw_client(&ep);
    mute.write_all(&greeting()).unwrap();
    mute.write_all(&ready("PUSH")).unwrap();
    // The peer never answers PING: the socket must give up on it.
    let got = read_to_eof(&mut mute);
    assert!(
        got.windows(4).any(|w| w == b"PING"),
        "expected PINGs before the close"
    );
}

/// A peer of a send-only socket (PUSH) that sends anyway: its input is discarded, so the
/// connection never stalls on a full queue and its close is noticed.
#[test]
fn input_to_a_push_socket_is_discarded_and_eof_seen() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::RcvHwm(2)).unwrap();
    let ep = push.bind("tcp://127.0.0.1:*").unwrap();
    let mut peer = raw_client(&ep);
    peer.write_all(&greeting()).unwrap();
    peer.write_all(&ready("PULL")).unwrap();
    for _ in 0..5000 {
        peer.write_all(&[0x00, 0x03, b'x', b'y', b'z']).unwrap();
    }
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    // PUSH must read through all of it, see the EOF and close its side.
    read_to_eof(&mut peer);
}
