//! STREAM sockets against plain `std::net::TcpStream` / `UnixStream` peers: connection and
//! disconnection notifications, data both ways (reads may split or join what the peer wrote,
//! so tests gather bytes), closing a connection by sending an empty message, unknown routing
//! ids, tcp and ipc on one socket, `connect` to a raw server, and RCVHWM bounding what a
//! peer that never stops sending can queue.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use ferrozmq::{
    Bytes, ConnectError, Context, EndpointError, Message, MonitorEventKind, SendErrorKind, Socket,
    SocketOption, SocketType,
};

const T: Option<Duration> = Some(Duration::from_secs(10));

/// Receives one `[id, data]` message.
fn recv2(s: &Socket) -> (Bytes, Bytes) {
    let m = s.recv_timeout(T).expect("a STREAM message in time");
    assert_eq!(m.len(), 2, "STREAM messages are [id, data]: {m:?}");
    (m.frames()[0].to_bytes(), m.frames()[1].to_bytes())
}

/// Receives from `id` until `n` data bytes came (TCP may split them), asserting no other
/// peer and no notification interleaves.
fn gather(s: &Socket, id: &[u8], n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        let (from, data) = recv2(s);
        assert_eq!(&from[..], id);
        assert!(
            !data.is_empty(),
            "unexpected notification after {} bytes",
            got.len()
        );
        got.extend_from_slice(&data);
    }
    got
}

fn read_exact_timeout(c: &mut impl Read, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    c.read_exact(&mut buf).expect("the echo in time");
    buf
}

#[test]
fn tcp_peer_connects_talks_and_leaves() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Stream);
    let ep = s.bind("tcp://127.0.0.1:*").unwrap();
    let mut c = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    c.set_read_timeout(T).unwrap();
    let (id, empty) = recv2(&s);
    assert!(empty.is_empty(), "connection notification");
    assert_eq!(id.len(), 5, "libzmq-style routing id");
    assert_eq!(id[0], 0);
    c.write_all(b"hello \x00\xff raw").unwrap();
    assert_eq!(gather(&s, &id, 11), b"hello \x00\xff raw");
    s.send(Message::from_iter([&id[..], b"world"])).unwrap();
    assert_eq!(read_exact_timeout(&mut c, 5), b"world");
    drop(c);
    let (gone, empty) = recv2(&s);
    assert_eq!(gone, id);
    assert!(empty.is_empty(), "disconnection notification");
    // The peer is gone: its id no longer routes.
    let err = s.send(Message::from_iter([&id[..], b"late"])).unwrap_err();
    assert_eq!(err.kind(), SendErrorKind::HostUnreachable);
}

#[test]
fn empty_message_closes_after_queued_data() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Stream);
    let monitor = s.monitor();
    let ep = s.bind("tcp://127.0.0.1:*").unwrap();
    let mut c = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    c.set_read_timeout(T).unwrap();
    let (id, _) = recv2(&s);
    let big = vec![7u8; 300_000];
    s.send(Message::from_iter([&id[..], &big[..]])).unwrap();
    s.send(Message::from_iter([&id[..], b"tail"])).unwrap();
    s.send(Message::from_iter([&id[..], b""])).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).expect("EOF after the data");
    assert_eq!(got.len(), big.len() + 4);
    assert_eq!(&got[big.len()..], b"tail");
    // The monitor reports the close once the socket has let the peer go.
    loop {
        let ev = monitor
            .recv_timeout(T.unwrap())
            .expect("a Disconnected event");
        if matches!(ev.kind, MonitorEventKind::Disconnected { .. }) {
            break;
        }
    }
    // A close on our side is not notified (as libzmq); the id no longer routes.
    let err = s.send(Message::from_iter([&id[..], b"x"])).unwrap_err();
    assert_eq!(err.kind(), SendErrorKind::HostUnreachable);
    assert!(s.try_recv().is_err(), "no notification of our own close");
}

#[test]
fn unknown_id_and_missing_id_fail() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Stream);
    let err = s
        .send(Message::from_iter([&b"\0\0\0\0\x01"[..], b"x"]))
        .unwrap_err();
    assert_eq!(err.kind(), SendErrorKind::HostUnreachable);
    assert_eq!(
        err.into_message().len(),
        2,
        "the message is handed back whole"
    );
    // An empty message is one empty frame: an empty id, which names no peer.
    let err = s.send(Message::new()).unwrap_err();
    assert_eq!(err.kind(), SendErrorKind::HostUnreachable);
}

#[test]
fn inproc_is_refused_and_notify_is_a_stream_option() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Stream);
    assert!(matches!(
        s.bind("inproc://raw"),
        Err(ferrozmq::BindError::Endpoint(EndpointError::NotForStream(
            _
        )))
    ));
    assert!(matches!(
        s.connect("inproc://raw"),
        Err(ConnectError::Endpoint(EndpointError::NotForStream(_)))
    ));
    assert!(ctx
        .socket(SocketType::Router)
        .set_option(SocketOption::StreamNotify(false))
        .is_err());
}

#[test]
fn tcp_and_ipc_on_one_socket_without_notify() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Stream);
    s.set_option(SocketOption::StreamNotify(false)).unwrap();
    let tcp = s.bind("tcp://127.0.0.1:*").unwrap();
    let path = std::env::temp_dir().join(format!("fzmq-stream-{}.ipc", std::process::id()));
    let ipc = s.bind(&format!("ipc://{}", path.display())).unwrap();
    let mut t = TcpStream::connect(tcp.trim_start_matches("tcp://")).unwrap();
    let mut u = UnixStream::connect(ipc.trim_start_matches("ipc://")).unwrap();
    t.set_read_timeout(T).unwrap();
    u.set_read_timeout(T).unwrap();
    t.write_all(b"via tcp").unwrap();
    let (tid, data) = recv2(&s);
    let mut tdata = data.to_vec();
    tdata.extend(gather(&s, &tid, 7 - tdata.len()));
    assert_eq!(
        tdata, b"via tcp",
        "no notification first: STREAM_NOTIFY is off"
    );
    u.write_all(b"via ipc").unwrap();
    let (uid, data) = recv2(&s);
    assert_ne!(uid, tid);
    let mut udata = data.to_vec();
    udata.extend(gather(&s, &uid, 7 - udata.len()));
    assert_eq!(udata, b"via ipc");
    s.send(Message::from_iter([&uid[..], b"to ipc"])).unwrap();
    s.send(Message::from_iter([&tid[..], b"to tcp"])).unwrap();
    assert_eq!(read_exact_timeout(&mut u, 6), b"to ipc");
    assert_eq!(read_exact_timeout(&mut t, 6), b"to tcp");
}

#[test]
fn connect_to_a_raw_server() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Stream);
    s.connect(&format!("tcp://{addr}")).unwrap();
    let (mut peer, _) = server.accept().unwrap();
    peer.set_read_timeout(T).unwrap();
    let (id, empty) = recv2(&s);
    assert!(
        empty.is_empty(),
        "the connect is notified with the id to send to"
    );
    // Several data frames are written one after another.
    s.send(Message::from_iter([
        &id[..],
        b"GET / ",
        b"HTTP/1.0\r\n\r\n",
    ]))
    .unwrap();
    assert_eq!(read_exact_timeout(&mut peer, 18), b"GET / HTTP/1.0\r\n\r\n");
    peer.write_all(b"HTTP/1.0 200 OK\r\n").unwrap();
    assert_eq!(gather(&s, &id, 17), b"HTTP/1.0 200 OK\r\n");
    drop(peer);
    let (gone, empty) = recv2(&s);
    assert_eq!(gone, id);
    assert!(empty.is_empty());
}

#[test]
fn rcvhwm_bounds_a_peer_that_never_stops_sending() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Stream);
    s.set_option(SocketOption::RcvHwm(2)).unwrap();
    let ep = s.bind("tcp://127.0.0.1:*").unwrap();
    let mut c = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    // Failure guard only: a bounded socket stops reading, so this write stalls for good; an
    // unbounded one would take all 256 MiB.
    c.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let (id, _) = recv2(&s);
    let chunk = vec![0x5Au8; 64 * 1024];
    let mut written = 0usize;
    let limit = 256 * 1024 * 1024;
    while written < limit {
        match c.write(&chunk) {
            Ok(n) => written += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        written < limit,
        "the socket kept reading a peer nobody receives from"
    );
    // Nothing accepted is lost: every byte written arrives once the socket receives.
    let got = gather(&s, &id, written);
    assert_eq!(got.len(), written);
    assert!(got.iter().all(|b| *b == 0x5A));
}
