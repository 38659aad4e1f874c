//! Hostile connections, many at once, against a ROUTER bound on tcp while a well-behaved REQ
//! client keeps a request/reply loop going: random bytes instead of a greeting, garbage after
//! a good greeting, a frame announcing 2^63 bytes after a good handshake, one announcing 2^62
//! bytes and ending after 1 KiB, and slowloris
//! clients trickling a greeting a byte every 50 ms (one alone, and 200 together). The server
//! closes every bad connection, its monitor says why, and the good client's every request is
//! answered, also while the attack is on. (ferrozmq/tests/hostile_peers.rs covers each case
//! alone; this is the concurrent version.)

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{
    Context, DisconnectReason, HandshakeFailure, MonitorEventKind, RecvError, SessionError,
    SocketOption, SocketType,
};

use crate::share_process;
use crate::support::{greeting, ready, text, HANG, T};

/// How each bad client misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attack {
    RandomBytes,
    GarbageAfterGreeting,
    HugeFrame,
    /// A frame announcing 2^62 bytes (allowed: no MAXMSGSIZE), 1 KiB of it, then our end of
    /// stream: the server must not allocate from the announced size, and must see the close.
    UnfinishedFrame,
    Slowloris,
}

#[test]
fn hostile_crowd_while_a_good_client_is_served() {
    const EACH: usize = 40;
    let _process = share_process();
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    // Slowloris clients are cut off by the handshake time-out.
    router
        .set_option(SocketOption::HandshakeIvl(Some(Duration::from_secs(1))))
        .unwrap();
    router.set_option(SocketOption::Backlog(1024)).unwrap();
    // ZMTP 3.x only: with the fall-back to ZMTP 1.0 (the default, as libzmq), random bytes
    // without a 0xFF first are a ZMTP 1.0 peer's identity and frames, not an attack to close.
    router
        .set_option(SocketOption::LegacyProtocols(false))
        .unwrap();
    let mon = router.monitor();
    let accepts = router.monitor();
    let ep = router.bind("tcp://127.0.0.1:*").unwrap();

    // Every connection's events, by the peer's address.
    let events = thread::spawn(move || {
        let mut by_peer: HashMap<String, Vec<MonitorEventKind>> = HashMap::new();
        for ev in &mon {
            if let Some(peer) = ev.peer {
                by_peer.entry(peer).or_default().push(ev.kind);
            }
        }
        (by_peer, mon.dropped())
    });
    let server = {
        let router = router.clone();
        thread::spawn(move || loop {
            let mut m = match router.recv() {
                Ok(m) => m,
                Err(RecvError::Closed) => return,
                Err(e) => panic!("server: {e}"),
            };
            let request = m.pop_back().unwrap();
            m.push_back([&b"re:"[..], &request[..]].concat());
            router.send(m).unwrap();
        })
    };
    let (progress, answered) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let good = {
        let (ep, stop) = (ep.clone(), stop.clone());
        let req = ctx.socket(SocketType::Req);
        thread::spawn(move || {
            req.connect(&ep).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                req.send_timeout(format!("{n}"), T).unwrap();
                let reply = req.recv_timeout(T).expect("the good client is answered");
                assert_eq!(text(&reply), format!("re:{n}"));
                n += 1;
                let _ = progress.send(n);
            }
            n
        })
    };
    let wait_progress = |more: u64| {
        for _ in 0..more {
            answered
                .recv_timeout(HANG)
                .expect("the good client makes progress");
        }
    };
    wait_progress(10);

    let waves = [
        (Attack::RandomBytes, EACH),
        (Attack::GarbageAfterGreeting, EACH),
        (Attack::HugeFrame, EACH),
        (Attack::UnfinishedFrame, EACH),
        (Attack::Slowloris, 1),
        (Attack::Slowloris, 200),
    ];
    let attackers: Vec<_> = waves
        .into_iter()
        .map(|(attack, count)| {
            let ep = ep.clone();
            thread::spawn(move || attack_with(attack, count, &ep))
        })
        .collect();
    // Once the server has accepted them all (the good client's connection first), and while
    // the slowloris connections hang on (a second at least), the good client goes on.
    let mut accepted = 0;
    while accepted < 1 + waves.iter().map(|(_, n)| n).sum::<usize>() {
        match accepts.recv_timeout(HANG).map(|e| e.kind) {
            Ok(MonitorEventKind::Accepted) => accepted += 1,
            Ok(_) => {}
            Err(e) => panic!("{accepted} connections accepted, then {e}"),
        }
    }
    drop(accepts);
    wait_progress(50);
    let mut bad: Vec<(String, Attack)> = Vec::new();
    for a in attackers {
        bad.extend(a.join().unwrap());
    }
    wait_progress(10);
    stop.store(true, Ordering::Relaxed);
    assert!(good.join().unwrap() >= 70);

    router.close();
    server.join().unwrap();
    let (by_peer, dropped) = events.join().unwrap();
    assert_eq!(dropped, 0, "monitor events dropped");
    for (peer, attack) in bad {
        let seen = by_peer.get(&peer).map(Vec::as_slice).unwrap_or_default();
        assert!(
            expected_events(attack, seen),
            "{attack:?} from {peer}: {seen:#?}"
        );
    }
}

/// Accepted, then the failure that fits the attack, and one `Disconnected` with its reason.
fn expected_events(attack: Attack, seen: &[MonitorEventKind]) -> bool {
    use MonitorEventKind::{Accepted, Disconnected, HandshakeFailed, HandshakeSucceeded};
    matches!(
        (attack, seen),
        (
            Attack::RandomBytes | Attack::GarbageAfterGreeting,
            [
                Accepted,
                HandshakeFailed(HandshakeFailure::Protocol(_)),
                Disconnected {
                    reason: DisconnectReason::Protocol(_),
                },
            ],
        ) | (
            Attack::HugeFrame,
            [
                Accepted,
                HandshakeSucceeded,
                Disconnected {
                    reason: DisconnectReason::Protocol(SessionError::PeerMisbehaved(_)),
                },
            ],
        ) | (
            Attack::UnfinishedFrame,
            [
                Accepted,
                HandshakeSucceeded,
                Disconnected {
                    reason: DisconnectReason::PeerClosed,
                },
            ],
        ) | (
            Attack::Slowloris,
            [
                Accepted,
                HandshakeFailed(HandshakeFailure::NoDetail),
                Disconnected {
                    reason: DisconnectReason::Protocol(SessionError::HandshakeTimeout),
                },
            ],
        )
    )
}

/// Opens `count` connections misbehaving as `attack`, all at once, and returns once the
/// server has closed every one: (our address as the server's monitor names it, attack).
fn attack_with(attack: Attack, count: usize, ep: &str) -> Vec<(String, Attack)> {
    let addr = ep.strip_prefix("tcp://").unwrap();
    let streams: Vec<TcpStream> = (0..count)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    let names = streams
        .iter()
        .map(|s| (format!("tcp://{}", s.local_addr().unwrap()), attack))
        .collect();
    if attack == Attack::Slowloris {
        trickle(streams);
        return names;
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ count as u64);
    for mut s in &streams {
        let bytes = match attack {
            Attack::RandomBytes => {
                let mut b = rng.bytes(256);
                // Anything but the signature's first byte (RFC 23 §"Signature": 0xFF).
                b[0] &= 0x7F;
                b
            }
            Attack::GarbageAfterGreeting => {
                let mut b = greeting();
                let mut garbage = rng.bytes(64);
                // Reserved flag bits set (RFC 23 §"Framing"): not a frame.
                garbage[0] |= 0xF8;
                b.extend(garbage);
                b
            }
            Attack::HugeFrame => {
                let mut b = greeting();
                b.extend(ready("DEALER"));
                // RFC 23 §"Framing": LONG (0x02), then an 8-octet size: 2^63.
                b.push(0x02);
                b.extend((1u64 << 63).to_be_bytes());
                b
            }
            Attack::UnfinishedFrame => {
                let mut b = greeting();
                b.extend(ready("DEALER"));
                b.push(0x02);
                b.extend((1u64 << 62).to_be_bytes());
                b.extend(rng.bytes(1024));
                b
            }
            Attack::Slowloris => unreachable!(),
        };
        // The server may close before we are done writing: that is its right.
        let _ = s.write_all(&bytes);
        if attack == Attack::UnfinishedFrame {
            s.shutdown(Shutdown::Write).unwrap();
        }
    }
    for mut s in streams {
        s.set_read_timeout(Some(HANG)).unwrap();
        read_until_closed(&mut s, attack);
    }
    names
}

/// Writes one byte of a greeting and READY to every stream each 50 ms, until the server has
/// closed them all (its handshake time-out is much shorter than the trickle).
fn trickle(streams: Vec<TcpStream>) {
    let script = [greeting(), ready("DEALER")].concat();
    let mut open: Vec<TcpStream> = streams;
    for s in &open {
        s.set_nonblocking(true).unwrap();
    }
    let deadline = Instant::now() + HANG;
    let mut at = 0;
    while !open.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} slowloris connections still open",
            open.len()
        );
        open.retain_mut(|s| {
            if closed_by_server(s) {
                return false;
            }
            match script.get(at) {
                Some(byte) => s.write(std::slice::from_ref(byte)).is_ok(),
                None => true,
            }
        });
        at += 1;
        thread::sleep(Duration::from_millis(50));
    }
}

/// Non-blocking: reads what is there; true once the stream reached its end or was reset.
fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// Reads (and ignores what the server sends) until it closes the connection.
fn read_until_closed(s: &mut TcpStream, attack: Attack) {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
            Err(e) => panic!("{attack:?}: the server did not close the connection: {e}"),
        }
    }
}

/// A small deterministic generator for the "random" bytes (xorshift64).
struct XorShift(u64);

impl XorShift {
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0.to_le_bytes()[0]
            })
            .collect()
    }
}
