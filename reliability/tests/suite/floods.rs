//! Well-formed but abusive peers, played by raw tcp clients: floods of empty messages to a
//! socket that does not read, PINGs (with the longest TTL) from a peer that never reads the
//! PONGs, and subscriptions by the hundred thousand. Each peer's cost stays within a stated
//! bound (ARCHITECTURE.md, "Limits"); the process's resident memory is measured, with the
//! bound and the cost before the fixes written beside each assertion.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, SocketOption, SocketType};

use crate::support::{greeting, ready, HANG, T};
use crate::{measure_memory, rss_bytes};

const MIB: usize = 1 << 20;

/// A raw peer that completed the ZMTP 3.1 NULL handshake as `socket_type`.
fn handshaken(ep: &str, socket_type: &str) -> TcpStream {
    let mut s = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    s.set_read_timeout(T).unwrap();
    s.write_all(&greeting()).unwrap();
    s.write_all(&ready(socket_type)).unwrap();
    // The server's greeting (64 bytes) and READY: read the greeting and the READY frame.
    let mut head = [0u8; 64 + 2];
    s.read_exact(&mut head).unwrap();
    let mut body = vec![0u8; usize::from(head[65])];
    s.read_exact(&mut body).unwrap();
    s
}

/// Writes `chunk` repeatedly, at least `total` bytes in all, or until the server takes
/// nothing for `patience`; returns the bytes the kernel took.
fn flood(s: &mut TcpStream, chunk: &[u8], total: usize, patience: Duration) -> usize {
    s.set_write_timeout(Some(patience)).unwrap();
    let mut sent = 0;
    while sent < total {
        match s.write(chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    sent
}

/// The highest RSS growth over `baseline` seen in one second of sampling: the server decodes
/// what the kernel buffered after the writers are done, so the peak can come late.
fn peak_growth(baseline: usize) -> usize {
    let end = Instant::now() + Duration::from_secs(1);
    let mut peak = 0;
    while Instant::now() < end {
        peak = peak.max(rss_bytes().saturating_sub(baseline));
        thread::sleep(Duration::from_millis(20));
    }
    peak
}

#[test]
fn empty_message_floods_cost_each_peer_at_most_its_hwm() {
    const PEERS: usize = 20;
    const BURST: usize = 2 * MIB; // a million empty messages per peer
    const TAKE: usize = PEERS * 30_000;
    let _alone = measure_memory();
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let peers: Vec<TcpStream> = (0..PEERS).map(|_| handshaken(&ep, "PUSH")).collect();
    // An empty message is two bytes on the wire (flags, size 0).
    let chunk = [0u8; 64 * 1024];
    let baseline = rss_bytes();
    let writers: Vec<_> = peers
        .into_iter()
        .map(|mut s| {
            // A burst ends when the server has taken nothing for half a second.
            thread::spawn(move || (flood(&mut s, &chunk, BURST, Duration::from_millis(500)), s))
        })
        .collect();
    // The application reads, more slowly than the peers write: each time a queue drains, its
    // connection reads again, in chunks that grow to 512 KiB (262,144 empty messages).
    let mut growth = 0;
    for i in 0..TAKE {
        let m = pull
            .recv_timeout(T)
            .unwrap_or_else(|e| panic!("message {i}: {e}"));
        assert!(m.frames().iter().all(|f| f.is_empty()));
        if i % 10_000 == 0 {
            growth = growth.max(rss_bytes().saturating_sub(baseline));
        }
    }
    eprintln!(
        "{PEERS} peers flooding empty messages: +{} KiB",
        growth / 1024
    );
    // Bound per peer: RCVHWM (1000) messages of about 100 B, plus one read chunk (512 KiB)
    // of undecoded bytes: well under 1 MiB, so 2 MiB per peer is generous. Before the fix a
    // whole read was decoded past RCVHWM: up to 262,144 messages (about 24 MiB) per peer.
    assert!(
        growth < PEERS * 2 * MIB,
        "{PEERS} flooding peers grew the process by {} MiB",
        growth / MIB
    );
    let written: usize = writers.into_iter().map(|w| w.join().unwrap().0 / 2).sum();
    assert!(written >= TAKE, "only {written} messages were written");
}

#[test]
fn pings_never_read_keep_one_pong_and_one_timer_per_peer() {
    const PEERS: usize = 4;
    const BYTES: usize = 24 * MIB; // about a million PINGs per peer
    let _alone = measure_memory();
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    let ep = router.bind("tcp://127.0.0.1:*").unwrap();
    // RFC 37 PING: name, TTL 6553.5 s (the longest: each moved the heartbeat deadline), a
    // 16-byte context that the PONG must echo.
    let mut ping = vec![0x04, 0, 4];
    ping.extend_from_slice(b"PING");
    ping.extend_from_slice(&u16::MAX.to_be_bytes());
    ping.extend_from_slice(b"0123456789abcdef");
    ping[1] = u8::try_from(ping.len() - 2).unwrap();
    let chunk: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 2500)
        .collect();
    let peers: Vec<TcpStream> = (0..PEERS).map(|_| handshaken(&ep, "DEALER")).collect();
    let baseline = rss_bytes();
    let writers: Vec<_> = peers
        .into_iter()
        .map(|mut s| {
            let chunk = chunk.clone();
            // The server must keep reading PINGs: only a hang ends this early.
            thread::spawn(move || (flood(&mut s, &chunk, BYTES, HANG), s))
        })
        .collect();
    let written: Vec<(usize, TcpStream)> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let growth = peak_growth(baseline);
    eprintln!("{PEERS} peers flooding PINGs: +{} KiB", growth / 1024);
    for (n, _) in &written {
        assert!(
            *n >= BYTES,
            "the server stopped reading PINGs after {n} bytes"
        );
    }
    // Bound per peer: one PONG (23 B) and one timer entry. Before the fix every PING queued
    // a PONG (24 MiB of PINGs -> about 22 MiB of PONGs per peer, less what the kernel
    // buffers took) and left a timer entry for 6553.5 s (tens of MiB more).
    assert!(
        growth < 16 * MIB,
        "{PEERS} PING flooders grew the process by {} MiB",
        growth / MIB
    );
    // The ROUTER still serves: a new peer's message arrives.
    let dealer = ctx.socket(SocketType::Dealer);
    dealer.connect(&ep).unwrap();
    dealer.send("still here").unwrap();
    let m = router.recv_timeout(T).unwrap();
    assert_eq!(&m.frames()[1][..], b"still here");
}

#[test]
fn subscription_floods_stop_at_max_subscriptions() {
    const TOPICS: u32 = 300_000;
    const CAP: usize = 10_000;
    let _alone = measure_memory();
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub);
    publisher
        .set_option(SocketOption::MaxSubscriptions(Some(CAP)))
        .unwrap();
    let ep = publisher.bind("tcp://127.0.0.1:*").unwrap();
    let mut peer = handshaken(&ep, "SUB");
    // RFC 37 SUBSCRIBE commands, each with its own 12-byte topic.
    let mut commands = Vec::with_capacity(TOPICS as usize * 24);
    for i in 0..TOPICS {
        let topic = format!("topic-{i:06}");
        commands.extend_from_slice(&[0x04, u8::try_from(10 + topic.len()).unwrap(), 9]);
        commands.extend_from_slice(b"SUBSCRIBE");
        commands.extend_from_slice(topic.as_bytes());
    }
    let baseline = rss_bytes();
    peer.write_all(&commands).unwrap();
    let growth = peak_growth(baseline);
    eprintln!("{TOPICS} subscriptions, cap {CAP}: +{} KiB", growth / 1024);
    // Bound: CAP topics of about 170 B each (1.7 MiB). Without the cap all 300,000 were
    // kept: about 50 MiB.
    assert!(
        growth < 16 * MIB,
        "300,000 subscriptions grew the process by {} MiB",
        growth / MIB
    );
    // The first CAP topics are in force (the publisher filters for them), later ones not.
    publisher.send("topic-290000 refused").unwrap();
    publisher.send("topic-000001 kept").unwrap();
    let mut header = [0u8; 2];
    peer.read_exact(&mut header).unwrap();
    let mut body = vec![0u8; usize::from(header[1])];
    peer.read_exact(&mut body).unwrap();
    assert_eq!(&body[..], b"topic-000001 kept");
}
