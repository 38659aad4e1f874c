//! STREAM across implementations. The same plain clients (`std::net::TcpStream`,
//! `std::os::unix::net::UnixStream`) run the same script against a libzmq STREAM and a
//! ferrozmq STREAM, and what each server saw (notifications, data, closes) must be the same
//! transcript; then a STREAM of each implementation connects to one of the other, which is a
//! raw peer like any other from either side.
//!
//! A libzmq fact the scripts allow for: a close asked by sending `[id, empty]` completes only
//! once the application calls into the libzmq socket again (the pipe's termination handshake
//! needs the socket's thread), so after asking for a close each script makes one short
//! receive, which also checks that a close on our side is not notified. ferrozmq closes
//! without waiting for such a call.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use ferrozmq::SocketType;

use crate::peer::{socket, BindAddress, Impl, Peer, Transport, TIMEOUT};

/// A plain client of either transport.
enum Client {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Client {
    fn connect(endpoint: &str) -> Client {
        let c = match endpoint.split_once("://") {
            Some(("tcp", addr)) => Client::Tcp(TcpStream::connect(addr).expect("tcp connect")),
            Some(("ipc", path)) => Client::Unix(UnixStream::connect(path).expect("ipc connect")),
            _ => panic!("endpoint {endpoint}"),
        };
        match &c {
            Client::Tcp(s) => s.set_read_timeout(Some(TIMEOUT)).unwrap(),
            Client::Unix(s) => s.set_read_timeout(Some(TIMEOUT)).unwrap(),
        }
        c
    }

    fn stream(&mut self) -> &mut dyn ReadWrite {
        match self {
            Client::Tcp(s) => s,
            Client::Unix(s) => s,
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Receives one STREAM message, checking its shape: `[5-byte libzmq-style id, data]`.
fn recv2(server: &dyn Peer) -> (Vec<u8>, Vec<u8>) {
    let mut m = server.recv();
    assert_eq!(
        m.len(),
        2,
        "{server:?}: STREAM messages are [id, data]: {m:?}"
    );
    let data = m.pop().unwrap();
    let id = m.pop().unwrap();
    assert_eq!(id.len(), 5, "{server:?}: routing id {id:?}");
    assert_eq!(id[0], 0, "{server:?}: routing id {id:?}");
    (id, data)
}

/// Receives `n` data bytes from `id` (reads may split them).
fn gather(server: &dyn Peer, id: &[u8], n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        let (from, data) = recv2(server);
        assert_eq!(from, id, "{server:?}");
        assert!(!data.is_empty(), "{server:?}: notification inside data");
        got.extend(data);
    }
    got
}

/// The script: one client talks and is closed by the server, a second talks and hangs up.
/// Returns what the server saw, ids replaced by which client they were.
fn plain_clients_against(server: Impl, transport: Transport) -> Vec<String> {
    let address = BindAddress::new(transport);
    let s = socket(server, SocketType::Stream);
    let endpoint = s.bind(address.endpoint());
    let mut seen = Vec::new();

    let mut first = Client::connect(&endpoint);
    let (id1, data) = recv2(&*s);
    seen.push(format!("connected 1, data {data:?}"));
    first.stream().write_all(b"ping\x00\xff").unwrap();
    seen.push(format!("1 sent {:?}", gather(&*s, &id1, 6)));
    s.send(&[id1.clone(), b"pong".to_vec()]);
    let mut buf = [0u8; 4];
    first.stream().read_exact(&mut buf).unwrap();
    seen.push(format!("1 read {:?}", buf));
    s.send(&[id1.clone(), Vec::new()]);
    // Our own close is not notified (as libzmq); the receive also lets libzmq finish it.
    assert!(s.recv_within(Duration::from_millis(200)).is_none(), "{s:?}");
    let mut rest = Vec::new();
    first.stream().read_to_end(&mut rest).unwrap();
    seen.push(format!(
        "1 closed by the server, {} bytes after pong",
        rest.len()
    ));

    let mut second = Client::connect(&endpoint);
    let (id2, data) = recv2(&*s);
    assert_ne!(id1, id2, "{s:?}: a new connection gets a new id");
    seen.push(format!("connected 2, data {data:?}"));
    second.stream().write_all(b"bye").unwrap();
    seen.push(format!("2 sent {:?}", gather(&*s, &id2, 3)));
    drop(second);
    let (gone, data) = recv2(&*s);
    seen.push(format!("2 gone (same id: {}), data {data:?}", gone == id2));
    seen
}

#[test]
fn plain_clients_see_the_same_stream_socket() {
    for transport in [Transport::Tcp, Transport::Ipc] {
        let libzmq = plain_clients_against(Impl::Libzmq, transport);
        let ferrozmq = plain_clients_against(Impl::Ferrozmq, transport);
        assert_eq!(ferrozmq, libzmq, "{transport:?}");
    }
}

/// A STREAM of `client` connects to a STREAM of the other implementation; both see the
/// connection, and bytes flow both ways.
fn stream_connects_to_stream(client: Impl) {
    let address = BindAddress::new(Transport::Tcp);
    let server = socket(client.other(), SocketType::Stream);
    let endpoint = server.bind(address.endpoint());
    let c = socket(client, SocketType::Stream);
    c.connect(&endpoint);
    let (cid, data) = recv2(&*c);
    assert!(data.is_empty(), "{c:?}: connect notification");
    let (sid, data) = recv2(&*server);
    assert!(data.is_empty(), "{server:?}: accept notification");
    c.send(&[cid.clone(), b"hello from the client".to_vec()]);
    assert_eq!(gather(&*server, &sid, 21), b"hello from the client");
    server.send(&[sid.clone(), b"hello back".to_vec()]);
    assert_eq!(gather(&*c, &cid, 10), b"hello back");
    // The server hangs up: the client is told.
    server.send(&[sid.clone(), Vec::new()]);
    // The client reconnects (both implementations do): the server may see a new connection,
    // never a notification of its own close.
    if let Some(m) = server.recv_within(Duration::from_millis(200)) {
        assert_eq!(m.len(), 2, "{server:?}: {m:?}");
        assert_ne!(m[0], sid, "{server:?}: own close notified");
        assert!(m[1].is_empty(), "{server:?}: {m:?}");
    }
    let (gone, data) = recv2(&*c);
    assert_eq!(gone, cid);
    assert!(data.is_empty(), "{c:?}: disconnect notification");
}

#[test]
fn ferrozmq_stream_connects_to_libzmq_stream() {
    stream_connects_to_stream(Impl::Ferrozmq);
}

#[test]
fn libzmq_stream_connects_to_ferrozmq_stream() {
    stream_connects_to_stream(Impl::Libzmq);
}
