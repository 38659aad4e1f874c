//! A ferrozmq proxy between libzmq peers: libzmq REQ clients and libzmq REP workers through a
//! ROUTER/DEALER proxy, libzmq PUSH to libzmq PULL through PULL/PUSH, and a libzmq PUB to a
//! libzmq SUB through XSUB/XPUB with the subscription crossing the proxy. The proxy binds both
//! its sockets, then the libzmq peers bind and the proxy connects; tcp and ipc.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, ProxyControl, Socket, SocketType};

use crate::peer::{self, BindAddress, Impl, Peer, Transport, TIMEOUT};

/// Which side binds: the proxy (peers connect) or the libzmq peers (the proxy connects).
#[derive(Debug, Clone, Copy)]
enum Binder {
    Proxy,
    Peers,
}

const CASES: [(Transport, Binder); 4] = [
    (Transport::Tcp, Binder::Proxy),
    (Transport::Tcp, Binder::Peers),
    (Transport::Ipc, Binder::Proxy),
    (Transport::Ipc, Binder::Peers),
];

/// Wires one proxy socket to a libzmq peer, the side named by `binder` binding. The returned
/// address owns the ipc file: keep it until the test ends.
#[must_use]
fn wire(
    binder: Binder,
    transport: Transport,
    proxy_side: &Socket,
    libzmq: &dyn Peer,
) -> BindAddress {
    let addr = BindAddress::new(transport);
    match binder {
        Binder::Proxy => {
            let ep = proxy_side.bind(addr.endpoint()).unwrap();
            libzmq.connect(&ep);
        }
        Binder::Peers => {
            let ep = libzmq.bind(addr.endpoint());
            proxy_side.connect(&ep).unwrap();
        }
    }
    addr
}

/// Starts a proxy on its own thread; returns its control handle and the thread.
fn start_proxy(
    frontend: &Socket,
    backend: &Socket,
) -> (
    ProxyControl,
    thread::JoinHandle<Result<(), ferrozmq::ProxyError>>,
) {
    let proxy = ferrozmq::Proxy::new(frontend, backend).unwrap();
    let control = proxy.control();
    (control, thread::spawn(move || proxy.run()))
}

#[test]
fn router_dealer_proxy_between_libzmq_clients_and_workers() {
    const CLIENTS: usize = 4;
    const REQUESTS: usize = 50;
    for (transport, binder) in CASES {
        let ctx = Context::new();
        let frontend = ctx.socket(SocketType::Router);
        let backend = ctx.socket(SocketType::Dealer);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| peer::socket(Impl::Libzmq, SocketType::Req))
            .collect();
        let workers: Vec<_> = (0..2)
            .map(|_| peer::socket(Impl::Libzmq, SocketType::Rep))
            .collect();
        let mut addrs = Vec::new();
        for c in &clients {
            addrs.push(wire(binder, transport, &frontend, c.as_ref()));
        }
        for w in &workers {
            addrs.push(wire(binder, transport, &backend, w.as_ref()));
        }
        let (control, running) = start_proxy(&frontend, &backend);
        let answered = Arc::new(AtomicUsize::new(0));
        let worker_threads: Vec<_> = workers
            .into_iter()
            .enumerate()
            .map(|(n, w)| {
                let answered = answered.clone();
                thread::spawn(move || {
                    let deadline = Instant::now() + TIMEOUT;
                    while answered.load(Ordering::SeqCst) < CLIENTS * REQUESTS {
                        assert!(Instant::now() < deadline, "workers starved");
                        if let Some(mut req) = w.recv_within(Duration::from_millis(20)) {
                            req.push(format!("worker {n}").into_bytes());
                            w.send(&req);
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        let client_threads: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(c, client)| {
                thread::spawn(move || {
                    for i in 0..REQUESTS {
                        let body = format!("client {c} request {i}").into_bytes();
                        client.send(std::slice::from_ref(&body));
                        let reply = client.recv();
                        assert_eq!(reply.len(), 2, "{reply:?}");
                        assert_eq!(reply[0], body);
                    }
                })
            })
            .collect();
        for t in client_threads {
            t.join().unwrap();
        }
        for t in worker_threads {
            t.join().unwrap();
        }
        // Statistics count frames, as libzmq's do: a request is routing id, delimiter, body.
        let stats = control.statistics();
        assert_eq!(
            stats.frontend.messages_received,
            (3 * CLIENTS * REQUESTS) as u64,
            "{transport:?} {binder:?}"
        );
        assert_eq!(
            stats.backend.messages_sent,
            stats.frontend.messages_received
        );
        control.terminate();
        running.join().unwrap().unwrap();
    }
}

#[test]
fn pull_push_proxy_between_libzmq_pipeline_peers() {
    for (transport, binder) in CASES {
        let ctx = Context::new();
        let frontend = ctx.socket(SocketType::Pull);
        let backend = ctx.socket(SocketType::Push);
        let producer = peer::socket(Impl::Libzmq, SocketType::Push);
        let consumer = peer::socket(Impl::Libzmq, SocketType::Pull);
        let _addrs = [
            wire(binder, transport, &frontend, producer.as_ref()),
            wire(binder, transport, &backend, consumer.as_ref()),
        ];
        let (control, running) = start_proxy(&frontend, &backend);
        for i in 0..200u32 {
            producer.send(&[i.to_be_bytes().to_vec(), b"second frame".to_vec()]);
        }
        for i in 0..200u32 {
            let m = consumer.recv();
            assert_eq!(m, [i.to_be_bytes().to_vec(), b"second frame".to_vec()]);
        }
        control.terminate();
        running.join().unwrap().unwrap();
    }
}

#[test]
fn xsub_xpub_proxy_carries_a_libzmq_subscription_to_a_libzmq_publisher() {
    for (transport, binder) in CASES {
        let ctx = Context::new();
        let frontend = ctx.socket(SocketType::XSub);
        let backend = ctx.socket(SocketType::XPub);
        let publisher = peer::socket(Impl::Libzmq, SocketType::Pub);
        let subscriber = peer::socket(Impl::Libzmq, SocketType::Sub);
        let _addrs = [
            wire(binder, transport, &frontend, publisher.as_ref()),
            wire(binder, transport, &backend, subscriber.as_ref()),
        ];
        let (control, running) = start_proxy(&frontend, &backend);
        subscriber.subscribe(b"a");
        // The subscription crosses the proxy (XPUB -> XSUB -> libzmq PUB) asynchronously:
        // publish a probe until one arrives.
        let deadline = Instant::now() + TIMEOUT;
        loop {
            assert!(
                Instant::now() < deadline,
                "the subscription never reached the publisher"
            );
            publisher.send(&[b"a-probe".to_vec()]);
            if subscriber.recv_within(Duration::from_millis(20)).is_some() {
                break;
            }
        }
        for m in ["b1", "a1", "b2", "a-end"] {
            publisher.send(&[m.as_bytes().to_vec()]);
        }
        let mut got = Vec::new();
        loop {
            let m = subscriber.recv();
            let text = String::from_utf8_lossy(&m[0]).into_owned();
            if text == "a-probe" {
                continue;
            }
            let done = text == "a-end";
            got.push(text);
            if done {
                break;
            }
        }
        assert_eq!(got, ["a1", "a-end"], "{transport:?} {binder:?}");
        control.terminate();
        running.join().unwrap().unwrap();
    }
}
