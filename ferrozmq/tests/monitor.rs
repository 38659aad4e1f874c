//! Monitor events provoked for real: over tcp and ipc between ferrozmq sockets, and with raw
//! TCP clients playing broken peers. Every wait is on an event, with a generous time-out that
//! only guards against a hang.

use std::future::Future;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use ferrozmq::{
    BindError, Context, DecodeError, DisconnectReason, HandshakeFailure, Monitor, MonitorEvent,
    MonitorEventKind, MonitorRecvError, PeerMisbehaved, PeerRefusal, SessionError, Socket,
    SocketOption, SocketType,
};

/// Failure guard for anything a test waits for.
mod common;

use common::wait_for;

const T: Duration = Duration::from_secs(10);

/// The next event, failing the test if none comes within `T`.
fn next(mon: &Monitor) -> MonitorEvent {
    match mon.recv_timeout(T) {
        Ok(ev) => ev,
        Err(e) => panic!("no monitor event: {e}"),
    }
}

/// The next event that is not one of `skip` (events that may or may not happen, such as a
/// connect delayed by the kernel).
fn next_except(mon: &Monitor, skip: &[MonitorEventKind]) -> MonitorEvent {
    loop {
        let ev = next(mon);
        if !skip.contains(&ev.kind) {
            return ev;
        }
    }
}

/// Waits for `MonitorStopped`, then checks the monitor is finished.
fn assert_stops(mon: &Monitor) {
    wait_for(mon, "monitor stopped", |e| {
        e.kind == MonitorEventKind::MonitorStopped
    });
    assert_eq!(mon.recv(), None);
    assert_eq!(mon.try_recv(), Err(MonitorRecvError::Stopped));
}

/// Every event kind up to and including `MonitorStopped`.
fn kinds_until_stopped(mon: &Monitor) -> Vec<MonitorEventKind> {
    let mut kinds = Vec::new();
    while kinds.last() != Some(&MonitorEventKind::MonitorStopped) {
        kinds.push(next(mon).kind);
    }
    kinds
}

fn disconnected(reason: DisconnectReason) -> MonitorEventKind {
    MonitorEventKind::Disconnected { reason }
}

/// A ZMTP 3.1 NULL greeting (RFC 23 §"Greeting"), as-server = 0.
fn greeting() -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
    let mut mech = b"NULL".to_vec();
    mech.resize(20, 0);
    g.extend(mech);
    g.resize(64, 0);
    g
}

/// A short command frame (RFC 23 §"Commands"): name, then `data`.
fn command(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    let mut f = vec![0x04, body.len() as u8];
    f.extend(body);
    f
}

/// READY with the given Socket-Type (RFC 23 §"The NULL Security Mechanism").
fn ready(socket_type: &str) -> Vec<u8> {
    let mut props = vec![11];
    props.extend_from_slice(b"Socket-Type");
    props.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    props.extend_from_slice(socket_type.as_bytes());
    command("READY", &props)
}

/// ERROR with a reason (RFC 23 §"Error Handling").
fn error(reason: &str) -> Vec<u8> {
    let mut data = vec![reason.len() as u8];
    data.extend_from_slice(reason.as_bytes());
    command("ERROR", &data)
}

fn raw_client(ep: &str) -> TcpStream {
    let s = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s
}

/// The address a raw client's connection is seen from.
fn peer_of(s: &TcpStream) -> Option<String> {
    Some(format!("tcp://{}", s.local_addr().unwrap()))
}

/// Reads until the server closes the connection.
fn read_to_eof(s: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("server did not close the connection: {e}"),
        }
    }
}

fn ipc_endpoint(name: &str) -> (String, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!(
        "ferrozmq-monitor-{name}-{}.ipc",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    (format!("ipc://{}", path.display()), path)
}

/// A tcp endpoint nobody listens on (a port just released by the OS).
fn closed_tcp_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("tcp://127.0.0.1:{port}")
}

fn pull_serves(pull: &Socket, push: &Socket, body: &str) {
    push.send(body.to_owned()).unwrap();
    let msg = pull.recv_timeout(Some(T)).unwrap();
    assert_eq!(&msg.frames()[0][..], body.as_bytes());
}

#[test]
fn tcp_connection_life_on_both_sides() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let mon = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let listening = next(&mon);
    assert_eq!(listening.kind, MonitorEventKind::Listening);
    assert_eq!(listening.endpoint, ep);
    assert_eq!(listening.peer, None);

    let push = ctx.socket(SocketType::Push);
    let push_mon = push.monitor();
    push.connect(&ep).unwrap();
    pull_serves(&pull, &push, "hello");

    // The binding side: accepted, handshake, with the connector's address as peer.
    let accepted = next(&mon);
    assert_eq!(accepted.kind, MonitorEventKind::Accepted);
    assert_eq!(accepted.endpoint, ep);
    let peer = accepted.peer.clone().expect("accepted tcp peer address");
    assert!(peer.starts_with("tcp://127.0.0.1:") && peer != ep, "{peer}");
    let hs = next(&mon);
    assert_eq!(hs.kind, MonitorEventKind::HandshakeSucceeded);
    assert_eq!(
        (hs.endpoint.as_str(), hs.peer.as_ref()),
        (ep.as_str(), Some(&peer))
    );

    // The connecting side: connected (perhaps delayed first), handshake; the peer is the
    // listener's address.
    let connected = next_except(&push_mon, &[MonitorEventKind::ConnectDelayed]);
    assert_eq!(connected.kind, MonitorEventKind::Connected);
    assert_eq!(
        (connected.endpoint.as_str(), connected.peer.as_deref()),
        (ep.as_str(), Some(ep.as_str()))
    );
    assert_eq!(next(&push_mon).kind, MonitorEventKind::HandshakeSucceeded);

    // The peer goes away: the binding side sees it disconnect.
    drop(push);
    let gone = next(&mon);
    assert_eq!(gone.kind, disconnected(DisconnectReason::PeerClosed));
    assert_eq!(gone.peer, Some(peer));
    // Its own monitor saw its connection closed on purpose, then stopped.
    assert_eq!(next(&push_mon).kind, disconnected(DisconnectReason::Local));
    assert_eq!(next(&push_mon).kind, MonitorEventKind::MonitorStopped);
    assert_eq!(push_mon.recv(), None);
    assert_eq!(mon.try_recv(), Err(MonitorRecvError::Empty));
}

#[test]
fn ipc_connection_events_name_the_path() {
    let ctx = Context::new();
    let (ep, path) = ipc_endpoint("life");
    let pull = ctx.socket(SocketType::Pull);
    let mon = pull.monitor();
    assert_eq!(pull.bind(&ep).unwrap(), ep);
    assert_eq!(next(&mon).kind, MonitorEventKind::Listening);
    let push = ctx.socket(SocketType::Push);
    let push_mon = push.monitor();
    push.connect(&ep).unwrap();
    pull_serves(&pull, &push, "over ipc");

    let accepted = next(&mon);
    assert_eq!(
        (accepted.kind, accepted.endpoint),
        (MonitorEventKind::Accepted, ep.clone())
    );
    // An ipc client has no address of its own.
    assert_eq!(accepted.peer, None);
    assert_eq!(next(&mon).kind, MonitorEventKind::HandshakeSucceeded);
    let connected = next_except(&push_mon, &[MonitorEventKind::ConnectDelayed]);
    assert_eq!(connected.kind, MonitorEventKind::Connected);
    assert_eq!(connected.peer, Some(ep.clone()));
    assert_eq!(next(&push_mon).kind, MonitorEventKind::HandshakeSucceeded);

    // disconnect() closes the connection on purpose.
    push.disconnect(&ep).unwrap();
    let local = next(&push_mon);
    assert_eq!(local.kind, disconnected(DisconnectReason::Local));
    assert_eq!(local.peer, Some(ep.clone()));
    assert_eq!(next(&mon).kind, disconnected(DisconnectReason::PeerClosed));

    pull.unbind(&ep).unwrap();
    assert_eq!(next(&mon).kind, MonitorEventKind::Closed);
    assert!(!path.exists());
}

#[test]
fn connect_retries_with_back_off_until_a_listener_appears() {
    let ctx = Context::new();
    let ep = closed_tcp_endpoint();
    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(20))))
        .unwrap();
    push.set_option(SocketOption::ReconnectIvlMax(Some(Duration::from_millis(
        80,
    ))))
    .unwrap();
    let mon = push.monitor();
    push.connect(&ep).unwrap();
    // RECONNECT_IVL doubled up to RECONNECT_IVL_MAX.
    for ms in [20, 40, 80, 80] {
        let ev = next_except(&mon, &[MonitorEventKind::ConnectDelayed]);
        let interval = Duration::from_millis(ms);
        assert_eq!(ev.kind, MonitorEventKind::ConnectRetried { interval });
        assert_eq!(
            (ev.endpoint.as_str(), ev.peer.as_ref()),
            (ep.as_str(), None)
        );
    }
    let pull = ctx.socket(SocketType::Pull);
    pull.bind(&ep).unwrap();
    let connected = wait_for(&mon, "connected", |e| e.kind == MonitorEventKind::Connected);
    assert_eq!(connected.peer.as_deref(), Some(ep.as_str()));
    assert_eq!(next(&mon).kind, MonitorEventKind::HandshakeSucceeded);
    pull_serves(&pull, &push, "at last");

    // The listener goes: the connection drops, and a retry is scheduled with the interval
    // reset by the good handshake.
    drop(pull);
    assert_eq!(next(&mon).kind, disconnected(DisconnectReason::PeerClosed));
    let retry = Duration::from_millis(20);
    assert_eq!(
        next(&mon).kind,
        MonitorEventKind::ConnectRetried { interval: retry }
    );
}

#[test]
fn connect_delayed_while_the_kernel_has_not_connected() {
    // A listener with a full accept queue: the kernel drops the next SYN, so our connect
    // stays in progress.
    let listener =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let _filler = TcpStream::connect(addr).unwrap();
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    let mon = push.monitor();
    let ep = format!("tcp://{addr}");
    push.connect(&ep).unwrap();
    let ev = next(&mon);
    assert_eq!(ev.kind, MonitorEventKind::ConnectDelayed);
    assert_eq!((ev.endpoint, ev.peer), (ep, None));
}

#[test]
fn bind_failures_are_reported() {
    let ctx = Context::new();
    let first = ctx.socket(SocketType::Pull);
    let ep = first.bind("tcp://127.0.0.1:*").unwrap();
    let second = ctx.socket(SocketType::Pull);
    let mon = second.monitor();
    assert!(matches!(second.bind(&ep), Err(BindError::AddrInUse(_))));
    // Reported before bind returns.
    let ev = mon.try_recv().unwrap();
    let in_use = MonitorEventKind::BindFailed {
        error: std::io::ErrorKind::AddrInUse,
    };
    assert_eq!((ev.kind, ev.endpoint, ev.peer), (in_use.clone(), ep, None));

    let (ipc, _path) = ipc_endpoint("in-use");
    first.bind(&ipc).unwrap();
    assert!(second.bind(&ipc).is_err());
    let ev = mon.try_recv().unwrap();
    assert_eq!((ev.kind, ev.endpoint), (in_use.clone(), ipc.clone()));

    first.bind("inproc://monitor-in-use").unwrap();
    assert!(second.bind("inproc://monitor-in-use").is_err());
    assert_eq!(mon.try_recv().unwrap().kind, in_use);

    assert!(second.bind("tcp://127.0.0.1").is_err());
    let ev = mon.try_recv().unwrap();
    let invalid = MonitorEventKind::BindFailed {
        error: std::io::ErrorKind::InvalidInput,
    };
    assert_eq!(
        (ev.kind, ev.endpoint),
        (invalid, "tcp://127.0.0.1".to_owned())
    );
    assert_eq!(mon.try_recv(), Err(MonitorRecvError::Empty));
}

#[test]
fn unbind_and_close_report_closed_listeners() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let mon = pull.monitor();
    let tcp = pull.bind("tcp://127.0.0.1:*").unwrap();
    let (ipc, _path) = ipc_endpoint("closed");
    pull.bind(&ipc).unwrap();
    pull.bind("inproc://monitor-closed").unwrap();
    for ep in [&tcp, &ipc, "inproc://monitor-closed"] {
        let ev = next(&mon);
        assert_eq!(
            (ev.kind, ev.endpoint.as_str()),
            (MonitorEventKind::Listening, ep)
        );
    }
    pull.unbind(&tcp).unwrap();
    let ev = next(&mon);
    assert_eq!((ev.kind, ev.endpoint), (MonitorEventKind::Closed, tcp));
    pull.unbind("inproc://monitor-closed").unwrap();
    let ev = next(&mon);
    assert_eq!(
        (ev.kind, ev.endpoint.as_str()),
        (MonitorEventKind::Closed, "inproc://monitor-closed")
    );
    // Closing the socket closes the listener left, then the monitor stops.
    pull.close();
    let ev = next(&mon);
    assert_eq!((ev.kind, ev.endpoint), (MonitorEventKind::Closed, ipc));
    assert_stops(&mon);
}

#[test]
fn garbage_fails_the_handshake_and_the_socket_serves_others() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let mon = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    assert_eq!(next(&mon).kind, MonitorEventKind::Listening);

    let mut bad = raw_client(&ep);
    // Garbage that fails at its 10th byte: after a 0xFF, bit 0 set (so no ZMTP 1.0 frame
    // header, RFC 15 §"Backwards Interoperability") but not the 0x7F of a signature. Garbage
    // without the 0xFF would read as a ZMTP 1.0 identity frame (see hostile_peers.rs).
    bad.write_all(b"\xffGET / HT\x7dTP/1.1\r\nHost: x\r\n\r\n and more bytes to pass the 64")
        .unwrap();
    read_to_eof(&mut bad);
    let accepted = next(&mon);
    assert_eq!(
        (accepted.kind, accepted.peer.clone()),
        (MonitorEventKind::Accepted, peer_of(&bad))
    );
    let why = SessionError::PeerMisbehaved(PeerMisbehaved::Malformed(DecodeError::BadSignature));
    let failed = next(&mon);
    assert_eq!(
        failed.kind,
        MonitorEventKind::HandshakeFailed(HandshakeFailure::Protocol(why.clone()))
    );
    assert_eq!(failed.peer, peer_of(&bad));
    assert!(
        failed.to_string().contains("bad greeting signature"),
        "{failed}"
    );
    assert_eq!(
        next(&mon).kind,
        disconnected(DisconnectReason::Protocol(why))
    );

    // A good peer after the bad one is served.
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    pull_serves(&pull, &push, "still here");
    assert_eq!(next(&mon).kind, MonitorEventKind::Accepted);
    assert_eq!(next(&mon).kind, MonitorEventKind::HandshakeSucceeded);
}

#[test]
fn incompatible_socket_type_fails_the_handshake() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let mon = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    assert_eq!(next(&mon).kind, MonitorEventKind::Listening);

    // A raw peer claiming to be a PULL too.
    let mut raw = raw_client(&ep);
    raw.write_all(&[greeting(), ready("PULL")].concat())
        .unwrap();
    read_to_eof(&mut raw);
    assert_eq!(next(&mon).kind, MonitorEventKind::Accepted);
    let why = SessionError::PeerMisbehaved(PeerMisbehaved::IncompatibleSocketType {
        ours: SocketType::Pull,
        peer: SocketType::Pull,
    });
    assert_eq!(
        next(&mon).kind,
        MonitorEventKind::HandshakeFailed(HandshakeFailure::Protocol(why.clone()))
    );
    assert_eq!(
        next(&mon).kind,
        disconnected(DisconnectReason::Protocol(why))
    );

    // Between two ferrozmq sockets, the connecting side fails too (having seen either the
    // peer's READY or its ERROR first).
    let other = ctx.socket(SocketType::Pull);
    let other_mon = other.monitor();
    other.connect(&ep).unwrap();
    let failed = wait_for(&other_mon, "handshake failed", |e| {
        matches!(e.kind, MonitorEventKind::HandshakeFailed(_))
    });
    assert!(
        matches!(
            failed.kind,
            MonitorEventKind::HandshakeFailed(HandshakeFailure::Protocol(
                SessionError::PeerMisbehaved(PeerMisbehaved::IncompatibleSocketType { .. })
                    | SessionError::PeerError { .. }
            ))
        ),
        "{failed}"
    );
}

#[test]
fn zap_status_error_is_an_authentication_failure() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let mon = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut raw = raw_client(&ep);
    raw.write_all(&[greeting(), error("400")].concat()).unwrap();
    read_to_eof(&mut raw);
    let failed = wait_for(&mon, "handshake failed", |e| {
        matches!(e.kind, MonitorEventKind::HandshakeFailed(_))
    });
    let why = SessionError::PeerError {
        reason: "400".into(),
    };
    assert_eq!(
        failed.kind,
        MonitorEventKind::HandshakeFailed(HandshakeFailure::Auth(why))
    );
}

#[test]
fn lost_or_silent_peers_fail_the_handshake_without_detail() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.set_option(SocketOption::HandshakeIvl(Some(Duration::from_millis(100))))
        .unwrap();
    let mon = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    assert_eq!(next(&mon).kind, MonitorEventKind::Listening);

    // Silent past the handshake time-out.
    let mut silent = raw_client(&ep);
    read_to_eof(&mut silent);
    assert_eq!(next(&mon).kind, MonitorEventKind::Accepted);
    let no_detail = MonitorEventKind::HandshakeFailed(HandshakeFailure::NoDetail);
    assert_eq!(next(&mon).kind, no_detail);
    let timeout = DisconnectReason::Protocol(SessionError::HandshakeTimeout);
    assert_eq!(next(&mon).kind, disconnected(timeout));

    // Gone in the middle of its greeting.
    let mut gone = raw_client(&ep);
    gone.write_all(&greeting()[..10]).unwrap();
    drop(gone);
    assert_eq!(next(&mon).kind, MonitorEventKind::Accepted);
    assert_eq!(next(&mon).kind, no_detail);
    let ev = next(&mon);
    assert!(
        matches!(
            ev.kind,
            MonitorEventKind::Disconnected {
                reason: DisconnectReason::PeerClosed | DisconnectReason::Io(_)
            }
        ),
        "{ev}"
    );
}

#[test]
fn a_refused_peer_is_disconnected_after_its_handshake() {
    let ctx = Context::new();
    let pair = ctx.socket(SocketType::Pair);
    let mon = pair.monitor();
    let ep = pair.bind("tcp://127.0.0.1:*").unwrap();
    let first = ctx.socket(SocketType::Pair);
    first.connect(&ep).unwrap();
    first.send("first").unwrap();
    assert_eq!(
        &pair.recv_timeout(Some(T)).unwrap().frames()[0][..],
        b"first"
    );
    let second = ctx.socket(SocketType::Pair);
    second.connect(&ep).unwrap();
    let refused = disconnected(DisconnectReason::Refused(PeerRefusal::PairTaken));
    let ev = wait_for(&mon, "refusal", |e| e.kind == refused);
    assert!(
        ev.to_string().contains("pair socket already has a peer"),
        "{ev}"
    );
}

#[test]
fn closing_a_socket_stops_every_monitor() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let a = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let b = pull.monitor();
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    pull_serves(&pull, &push, "x");
    wait_for(&b, "handshake", |e| {
        e.kind == MonitorEventKind::HandshakeSucceeded
    });
    // Both monitors got every event from their creation on.
    assert_eq!(next(&a).kind, MonitorEventKind::Listening);
    assert_eq!(next(&a).kind, MonitorEventKind::Accepted);
    assert_eq!(next(&a).kind, MonitorEventKind::HandshakeSucceeded);

    // Dropping the last handle: the listener and the connection close, then the end.
    drop(pull);
    let mut rest = kinds_until_stopped(&a);
    rest.sort_by_key(|k| k.name());
    assert_eq!(
        rest,
        [
            MonitorEventKind::Closed,
            disconnected(DisconnectReason::Local),
            MonitorEventKind::MonitorStopped
        ]
    );
    assert_eq!(a.recv(), None);
    assert_stops(&b);

    // close() with a handle still held stops the monitors too; a monitor made later ends at
    // once.
    let push_mon = push.monitor();
    push.close();
    assert_stops(&push_mon);
    let late = push.monitor();
    assert_eq!(
        late.try_recv().unwrap().kind,
        MonitorEventKind::MonitorStopped
    );
    assert_eq!(late.recv(), None);
}

#[test]
fn an_inproc_socket_reports_its_bindings_and_its_end() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let mon = pull.monitor();
    pull.bind("inproc://monitor-inproc").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect("inproc://monitor-inproc").unwrap();
    pull_serves(&pull, &push, "inproc");
    drop(pull);
    let kinds = kinds_until_stopped(&mon);
    assert_eq!(mon.recv(), None);
    assert_eq!(
        kinds,
        [
            MonitorEventKind::Listening,
            MonitorEventKind::Closed,
            MonitorEventKind::MonitorStopped
        ]
    );
}

/// A waker that records being woken, for polling a future by hand.
#[derive(Default)]
struct Woken(Mutex<bool>, Condvar);

impl futures::task::ArcWake for Woken {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        *arc_self.0.lock().unwrap() = true;
        arc_self.1.notify_all();
    }
}

#[test]
fn recv_async_is_woken_by_the_io_thread() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mon = pull.monitor();
    let woken = Arc::new(Woken::default());
    let waker = futures::task::waker(woken.clone());
    let mut cx = TaskContext::from_waker(&waker);
    let mut fut = pin!(mon.recv_async());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    pull.unbind(&ep).unwrap();
    let flag = woken.0.lock().unwrap();
    let (flag, _) = woken.1.wait_timeout_while(flag, T, |w| !*w).unwrap();
    assert!(*flag, "not woken");
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(Some(ev)) => assert_eq!(ev.kind, MonitorEventKind::Closed),
        other => panic!("{other:?}"),
    }
}

/// Receives events asynchronously until `MonitorStopped`, then checks the end.
async fn async_life(ctx: &Context) -> Vec<MonitorEventKind> {
    let pull = ctx.socket(SocketType::Pull);
    let mon = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    let mut kinds = Vec::new();
    while let Some(ev) = mon.recv_async().await {
        if ev.kind == MonitorEventKind::HandshakeSucceeded {
            pull.close();
        }
        kinds.push(ev.kind);
    }
    assert_eq!(mon.recv_async().await, None);
    kinds
}

fn assert_async_life(kinds: &[MonitorEventKind]) {
    assert_eq!(
        kinds.get(..3),
        Some(
            &[
                MonitorEventKind::Listening,
                MonitorEventKind::Accepted,
                MonitorEventKind::HandshakeSucceeded
            ][..]
        )
    );
    assert_eq!(kinds.last(), Some(&MonitorEventKind::MonitorStopped));
}

#[test]
fn recv_async_under_futures_block_on() {
    // On a thread of its own, so that a hang fails the test instead of blocking it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ctx = Context::new();
        let _ = tx.send(futures::executor::block_on(async_life(&ctx)));
    });
    let kinds = rx
        .recv_timeout(T)
        .expect("monitor events within the time-out");
    assert_async_life(&kinds);
}

#[tokio::test]
async fn recv_async_under_tokio() {
    let ctx = Context::new();
    let kinds = tokio::time::timeout(T, async_life(&ctx))
        .await
        .expect("monitor events within the time-out");
    assert_async_life(&kinds);
}
