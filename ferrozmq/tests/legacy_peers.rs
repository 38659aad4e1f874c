//! ZMTP 2.0 and 1.0 peers (RFC 15, RFC 13), played by raw TCP clients writing the bytes a
//! JeroMQ 0.3 or libzmq 2.x peer writes: served by default, refused with
//! `SocketOption::LegacyProtocols(false)` with a monitor event that says why.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::wait_for;
use ferrozmq::{
    Context, HandshakeFailure, LegacyRefusal, MonitorEventKind, SessionError, SocketOption,
    SocketType, WireRevision,
};

const T: Option<Duration> = Some(Duration::from_secs(10));

fn raw_client(ep: &str) -> TcpStream {
    let s = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// The ZMTP 2.0 greeting of an anonymous PUSH, as JeroMQ 0.3 sends it after reading our
/// signature: revision 1, socket type 8 (PUSH), an empty identity frame (RFC 15).
const V2_PUSH_AFTER_SIGNATURE: &[u8] = b"\x01\x08\x00\x00";
/// RFC 15 §"Backwards Interoperability": signature with padding = identity length + 1.
const SIGNATURE_NO_ID: &[u8] = b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f";

#[test]
fn zmtp2_push_is_served_by_default() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut peer = raw_client(&ep);
    peer.write_all(SIGNATURE_NO_ID).unwrap();
    assert_eq!(read_exact(&mut peer, 10), SIGNATURE_NO_ID);
    peer.write_all(V2_PUSH_AFTER_SIGNATURE).unwrap();
    // Our major version (3) where the revision goes, as libzmq; PULL is 7; empty identity.
    assert_eq!(read_exact(&mut peer, 4), b"\x03\x07\x00\x00");
    // A two-frame message in ZMTP 2.0 framing (MORE 0x01), then a 300-byte one (LONG 0x02).
    peer.write_all(b"\x01\x02ab\x00\x03cde").unwrap();
    let mut long = b"\x02\x00\x00\x00\x00\x00\x00\x01\x2c".to_vec();
    long.extend([7u8; 300]);
    peer.write_all(&long).unwrap();
    let m = pull.recv_timeout(T).unwrap();
    assert_eq!(m.frames().len(), 2);
    assert_eq!(
        (&m.frames()[0][..], &m.frames()[1][..]),
        (&b"ab"[..], &b"cde"[..])
    );
    assert_eq!(
        pull.recv_timeout(T).unwrap().frames()[0][..],
        [7u8; 300][..]
    );
}

#[test]
fn zmtp1_push_is_served_by_default() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut peer = raw_client(&ep);
    // RFC 13: an anonymous identity (length 1, flags 0), then "hello" (length 6, flags 0).
    peer.write_all(b"\x01\x00\x06\x00hello").unwrap();
    // We sent the signature, read by this peer as our (empty) identity frame's header.
    assert_eq!(read_exact(&mut peer, 10), SIGNATURE_NO_ID);
    assert_eq!(&pull.recv_timeout(T).unwrap().frames()[0][..], b"hello");
}

#[test]
fn legacy_protocols_false_refuses_a_zmtp2_peer_with_a_monitor_event_saying_why() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.set_option(SocketOption::LegacyProtocols(false))
        .unwrap();
    let mon = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut peer = raw_client(&ep);
    peer.write_all(SIGNATURE_NO_ID).unwrap();
    peer.write_all(V2_PUSH_AFTER_SIGNATURE).unwrap();
    peer.write_all(b"\x00\x05hello").unwrap();
    let ev = wait_for(&mon, "handshake failed", |e| {
        matches!(e.kind, MonitorEventKind::HandshakeFailed(_))
    });
    assert_eq!(
        ev.kind,
        MonitorEventKind::HandshakeFailed(HandshakeFailure::Protocol(
            SessionError::LegacyPeerRefused {
                revision: WireRevision::Zmtp2_0,
                reason: LegacyRefusal::Disabled,
            }
        ))
    );
    let text = ev.to_string();
    assert!(
        text.contains("ZMTP 2.0") && text.contains("legacy protocols are disabled"),
        "{text}"
    );
    // The connection is closed and nothing was delivered.
    let mut rest = Vec::new();
    let _ = peer.read_to_end(&mut rest);
    assert!(pull.recv_timeout(Some(Duration::from_millis(100))).is_err());

    // The same peer bytes are served by a socket with the default.
    let served = ctx.socket(SocketType::Pull);
    let ep = served.bind("tcp://127.0.0.1:*").unwrap();
    let mut peer = raw_client(&ep);
    peer.write_all(SIGNATURE_NO_ID).unwrap();
    peer.write_all(V2_PUSH_AFTER_SIGNATURE).unwrap();
    peer.write_all(b"\x00\x05hello").unwrap();
    assert_eq!(&served.recv_timeout(T).unwrap().frames()[0][..], b"hello");
}

#[test]
fn zmtp2_peer_of_an_incompatible_type_is_dropped() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let mon = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut peer = raw_client(&ep);
    peer.write_all(SIGNATURE_NO_ID).unwrap();
    peer.write_all(b"\x01\x03\x00\x00").unwrap(); // REQ
    let ev = wait_for(&mon, "handshake failed", |e| {
        matches!(e.kind, MonitorEventKind::HandshakeFailed(_))
    });
    assert!(ev.to_string().contains("incompatible"), "{ev}");
    let mut rest = Vec::new();
    let _ = peer.read_to_end(&mut rest);
}
