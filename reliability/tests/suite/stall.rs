//! A peer that stalls without closing its connection is found by heartbeats (RFC 37), on both
//! sides, and the link comes back once the stall ends: a tcp relay that freezes (stops copying
//! bytes but keeps both connections open), and a peer process stopped with SIGSTOP, binding or
//! connecting.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use ferrozmq::{Bytes, Context, Message, Monitor, Socket, SocketOption, SocketType};

use crate::share_process;
use crate::support::{is_heartbeat_timeout, text, wait_disconnected, wait_handshake, Peer, T};

/// PING every 100 ms; a peer silent for 300 ms after a PING is dead.
fn heartbeats(socket: &Socket) {
    socket
        .set_option(SocketOption::HeartbeatIvl(Some(Duration::from_millis(100))))
        .unwrap();
    socket
        .set_option(SocketOption::HeartbeatTimeout(Some(Duration::from_millis(
            300,
        ))))
        .unwrap();
}

/// PULL <- relay <- PUSH over tcp, both heartbeating, with their monitors.
struct Link {
    pull: Socket,
    pull_mon: Monitor,
    push: Socket,
    push_mon: Monitor,
    relay: Relay,
}

impl Link {
    fn new(ctx: &Context) -> Link {
        let pull = ctx.socket(SocketType::Pull);
        heartbeats(&pull);
        let pull_mon = pull.monitor();
        let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
        let relay = Relay::start(tcp_addr(&ep));
        let push = ctx.socket(SocketType::Push);
        heartbeats(&push);
        let push_mon = push.monitor();
        push.connect(&format!("tcp://{}", relay.addr)).unwrap();
        Link {
            pull,
            pull_mon,
            push,
            push_mon,
            relay,
        }
    }
}

/// PULL <- relay <- PUSH, both with heartbeats. Frozen, the relay passes nothing, so each side
/// stops hearing the other's PINGs and PONGs: both must report `Disconnected` with a heartbeat
/// time-out. Thawed, the relay lets the PUSH's reconnection through and a message arrives.
#[test]
fn frozen_relay_is_found_by_heartbeats_on_both_sides() {
    let _process = share_process();
    let ctx = Context::new();
    let link = Link::new(&ctx);
    link.push.send_timeout("before", T).unwrap();
    assert_eq!(text(&link.pull.recv_timeout(T).unwrap()), "before");

    link.relay.freeze();
    let reason = wait_disconnected(&link.pull_mon);
    assert!(is_heartbeat_timeout(&reason), "binding side: {reason:?}");
    let reason = wait_disconnected(&link.push_mon);
    assert!(is_heartbeat_timeout(&reason), "connecting side: {reason:?}");

    link.relay.thaw();
    link.push.send_timeout("after", T).unwrap();
    assert_eq!(text(&link.pull.recv_timeout(T).unwrap()), "after");
}

/// As above, but the PUSH has a backlog when the relay freezes: a thread sends 20,000
/// messages of 1 KiB (20 MB, more than the kernel buffers between it and the frozen relay
/// hold), so its connection's output is stuck with the PINGs it owes behind data. Both sides
/// must still give up on the link; once it is back, the rest arrives in order, nothing twice.
#[test]
fn frozen_relay_with_a_backlog_is_found_by_heartbeats() {
    const MESSAGES: u64 = 20_000;
    let _process = share_process();
    let ctx = Context::new();
    let Link {
        pull,
        pull_mon,
        push,
        push_mon,
        relay,
    } = Link::new(&ctx);
    push.send_timeout(body(0), T).unwrap();
    assert_eq!(number(&pull.recv_timeout(T).unwrap()), 0);

    relay.freeze();
    let sender = std::thread::spawn(move || {
        for n in 1..MESSAGES {
            push.send_timeout(body(n), T).unwrap();
        }
    });
    let reason = wait_disconnected(&push_mon);
    assert!(is_heartbeat_timeout(&reason), "sending side: {reason:?}");
    let reason = wait_disconnected(&pull_mon);
    assert!(is_heartbeat_timeout(&reason), "receiving side: {reason:?}");
    assert!(!sender.is_finished(), "20 MB cannot pass a frozen relay");

    relay.thaw();
    // What was in flight on the dead connection may be lost; what was still queued is not.
    let mut last = 0;
    while last + 1 < MESSAGES {
        let n = number(&pull.recv_timeout(T).unwrap());
        assert!(n > last, "{n} after {last}: duplicated or reordered");
        last = n;
    }
    sender.join().unwrap();
}

/// A 1 KiB message `N:...`.
fn body(n: u64) -> Vec<u8> {
    let mut b = n.to_string().into_bytes();
    b.push(b':');
    b.resize(1024, b'.');
    b
}

fn number(msg: &Message) -> u64 {
    let t = text(msg);
    t[..t.find(':').expect("N:")].parse().unwrap()
}

/// Our DEALER (bound, with heartbeats) <- child REP (connecting). SIGSTOP freezes the child
/// with its connection open: the DEALER reports a heartbeat time-out. After SIGCONT the child
/// sees the closed connection, reconnects, and answers a request.
#[test]
fn stopped_connecting_peer_is_found_by_heartbeat_and_returns() {
    let _process = share_process();
    let ctx = Context::new();
    let dealer = ctx.socket(SocketType::Dealer);
    heartbeats(&dealer);
    let mon = dealer.monitor();
    let ep = dealer.bind("tcp://127.0.0.1:*").unwrap();
    let child = Peer::spawn(&["rep", "connect", &ep]);
    wait_handshake(&mon);
    round_trip(&dealer, &child, "1");

    child.stop();
    let reason = wait_disconnected(&mon);
    assert!(is_heartbeat_timeout(&reason), "{reason:?}");
    child.cont();
    wait_handshake(&mon);
    round_trip(&dealer, &child, "2");
}

/// Our PUSH (connecting, with heartbeats) -> child PULL (bound). SIGSTOP: the PUSH reports a
/// heartbeat time-out; its reconnection waits in the stopped child's backlog; after SIGCONT
/// the message queued meanwhile arrives.
#[test]
fn stopped_binding_peer_is_found_by_heartbeat_and_returns() {
    let _process = share_process();
    let ctx = Context::new();
    let child = Peer::spawn(&["pull", "bind", "tcp://127.0.0.1:*"]);
    let push = ctx.socket(SocketType::Push);
    heartbeats(&push);
    let mon = push.monitor();
    push.connect(&child.endpoint).unwrap();
    push.send_timeout("1", T).unwrap();
    assert_eq!(child.line(), "got 1");

    child.stop();
    let reason = wait_disconnected(&mon);
    assert!(is_heartbeat_timeout(&reason), "{reason:?}");
    push.send_timeout("2", T).unwrap();
    child.cont();
    assert_eq!(child.line(), "got 2");
}

/// DEALER -> REP request and its echoed reply.
fn round_trip(dealer: &Socket, child: &Peer, body: &str) {
    let request = Message::from_iter([Bytes::new(), Bytes::copy_from_slice(body.as_bytes())]);
    dealer.send_timeout(request, T).unwrap();
    assert_eq!(child.line(), format!("request {body}"));
    let reply = dealer.recv_timeout(T).unwrap();
    assert_eq!(reply.len(), 2, "delimiter + body");
    assert_eq!(&reply.frames()[1][..], body.as_bytes());
}

fn tcp_addr(endpoint: &str) -> SocketAddr {
    endpoint
        .strip_prefix("tcp://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("not a tcp endpoint: {endpoint}"))
}

/// A tcp relay on loopback: accepts, connects onwards to `target`, and copies bytes both ways.
/// Frozen, it stops copying (data, and closes too) without closing anything; connections
/// accepted while frozen wait as well.
struct Relay {
    addr: SocketAddr,
    shared: Arc<RelayShared>,
    acceptor: Option<JoinHandle<()>>,
}

struct RelayShared {
    frozen: Mutex<bool>,
    thawed: Condvar,
    stopping: AtomicBool,
    /// Every stream, to shut them down when the relay goes.
    streams: Mutex<Vec<TcpStream>>,
}

impl Relay {
    fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(RelayShared {
            frozen: Mutex::new(false),
            thawed: Condvar::new(),
            stopping: AtomicBool::new(false),
            streams: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for downstream in listener.incoming() {
                    if shared.stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(downstream) = downstream else { continue };
                    let Ok(upstream) = TcpStream::connect(target) else {
                        continue;
                    };
                    shared.pipe(&downstream, &upstream);
                    shared.pipe(&upstream, &downstream);
                    let mut streams = shared.streams.lock().unwrap();
                    streams.extend([downstream, upstream]);
                }
            })
        };
        Relay {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    fn freeze(&self) {
        *self.shared.frozen.lock().unwrap() = true;
    }

    fn thaw(&self) {
        *self.shared.frozen.lock().unwrap() = false;
        self.shared.thawed.notify_all();
    }
}

impl RelayShared {
    /// A thread copying `from` into `to`. What it read while frozen it holds until thawed; an
    /// end of stream (or error) on either side shuts both down, also only once thawed.
    fn pipe(self: &Arc<Self>, from: &TcpStream, to: &TcpStream) {
        let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
        let shared = self.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = from.read(&mut buf).unwrap_or(0);
                shared.wait_while_frozen();
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    let _ = from.shutdown(Shutdown::Both);
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
            }
        });
    }

    fn wait_while_frozen(&self) {
        let frozen = self.frozen.lock().unwrap_or_else(PoisonError::into_inner);
        let _thawed = self
            .thawed
            .wait_while(frozen, |frozen| *frozen)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.thaw();
        // Wakes the acceptor, which then sees `stopping`.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let streams = self
            .shared
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for s in streams.iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}
