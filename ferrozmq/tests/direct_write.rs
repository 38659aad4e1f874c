//! The latency path of lockstep sockets (REQ, REP): the sending thread writes its message out
//! itself when the connection is free. These tests drive that path where it must hand over to
//! the I/O thread: a message larger than the kernel's socket buffers (the write stops part way
//! and the reactor finishes it on the next writable edge), and a reply to a peer that is gone
//! (the write fails on the sending thread; the reactor closes the connection and the socket
//! goes on serving others).

mod common;

use std::time::Duration;

use common::{pair, wait_for};
use ferrozmq::{Context, Message, MonitorEventKind, SocketOption, SocketType};

/// Requests and replies of 8 MiB (several times what a loopback socket buffers), each byte
/// checked, over tcp and ipc.
#[test]
fn messages_larger_than_the_socket_buffers_arrive_whole() {
    let ctx = Context::new();
    let dir = std::env::temp_dir();
    let ipc = format!(
        "ipc://{}/fzmq-direct-{}.ipc",
        dir.display(),
        std::process::id()
    );
    for ep in ["tcp://127.0.0.1:*", ipc.as_str()] {
        let (rep, req) = pair(&ctx, SocketType::Rep, SocketType::Req, ep);
        let server = std::thread::spawn(move || {
            for _ in 0..5 {
                let request = rep.recv().unwrap();
                let body = request.first().unwrap().to_vec();
                // The reply is the request reversed: a different 8 MiB body.
                let reply: Vec<u8> = body.iter().rev().copied().collect();
                rep.send(reply).unwrap();
            }
        });
        for round in 0..5u8 {
            let body: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8 ^ round).collect();
            req.send(body.clone()).unwrap();
            let reply = req.recv().unwrap();
            let got = reply.first().unwrap();
            assert_eq!(got.len(), body.len(), "{ep} round {round}: reply size");
            assert!(
                got.iter().eq(body.iter().rev()),
                "{ep} round {round}: reply bytes differ"
            );
        }
        server.join().unwrap();
    }
}

/// A REP replies to a REQ that has gone meanwhile: the reply is dropped (RFC 28), the
/// connection is reported closed, and the REP serves the next client.
#[test]
fn a_reply_to_a_vanished_peer_ends_its_connection_only() {
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::Rep);
    let ep = rep.bind("tcp://127.0.0.1:*").unwrap();
    let mon = rep.monitor();

    let gone = ctx.socket(SocketType::Req);
    gone.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    gone.connect(&ep).unwrap();
    gone.send("hello").unwrap();
    assert_eq!(rep.recv().unwrap(), Message::from("hello"));
    gone.close();
    wait_for(&mon, "disconnected", |e| {
        matches!(e.kind, MonitorEventKind::Disconnected { .. })
    });
    // Written (or failed) on this thread; nobody is there to read it.
    rep.send("too late").unwrap();

    let next = ctx.socket(SocketType::Req);
    next.connect(&ep).unwrap();
    for i in 0..100 {
        let request = format!("request {i}");
        next.send(request.as_str()).unwrap();
        assert_eq!(rep.recv().unwrap(), Message::from(request.as_str()));
        rep.send(format!("reply {i}")).unwrap();
        assert_eq!(next.recv().unwrap(), Message::from(format!("reply {i}")));
    }
}

/// The REP's reply races the REQ's disconnection many times over: whatever the interleaving
/// of the sending thread's write and the reactor's close, the REP keeps serving.
#[test]
fn replies_racing_disconnections_never_wedge_the_socket() {
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::Rep);
    let ep = rep.bind("tcp://127.0.0.1:*").unwrap();
    for i in 0..50 {
        let req = ctx.socket(SocketType::Req);
        req.set_option(SocketOption::Linger(Some(Duration::ZERO)))
            .unwrap();
        req.connect(&ep).unwrap();
        req.send(format!("ping {i}")).unwrap();
        assert_eq!(rep.recv().unwrap(), Message::from(format!("ping {i}")));
        let closer = std::thread::spawn(move || req.close());
        rep.send(format!("pong {i}")).unwrap();
        closer.join().unwrap();
    }
    let last = ctx.socket(SocketType::Req);
    last.connect(&ep).unwrap();
    last.send("still there?").unwrap();
    assert_eq!(rep.recv().unwrap(), Message::from("still there?"));
    rep.send("yes").unwrap();
    assert_eq!(last.recv().unwrap(), Message::from("yes"));
}
