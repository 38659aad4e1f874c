//! Endpoints and connection life-cycle: several binds and connects per socket, unbind,
//! disconnect, ipc socket files, queues that outlive connections, HWM, linger.

use std::time::{Duration, Instant};

use ferrozmq::{BindError, Context, RecvError, SendErrorKind, Socket, SocketOption, SocketType};

const T: Option<Duration> = Some(Duration::from_secs(10));

fn port_of(ep: &str) -> u16 {
    ep.rsplit(':').next().unwrap().parse().unwrap()
}

/// Waits (bounded) until nothing accepts on `ep` any more.
fn until_refused(ep: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(ep.trim_start_matches("tcp://")).is_ok() {
        assert!(Instant::now() < deadline, "{ep} still accepts");
        std::thread::yield_now();
    }
}

#[test]
fn req_round_robins_over_two_servers() {
    let ctx = Context::new();
    let reps: Vec<Socket> = (0..2).map(|_| ctx.socket(SocketType::Rep)).collect();
    let eps: Vec<String> = reps
        .iter()
        .map(|r| r.bind("tcp://127.0.0.1:*").unwrap())
        .collect();
    let req = ctx.socket(SocketType::Req);
    for ep in &eps {
        req.connect(ep).unwrap();
    }
    // Queues are made at connect time, so the rotation is strict from the first request.
    for i in 0..10 {
        req.send(format!("{i}")).unwrap();
        let rep = &reps[i % 2];
        let m = rep.recv_timeout(T).unwrap();
        assert_eq!(m.frames()[0], format!("{i}").as_bytes());
        rep.send(format!("from {}", i % 2)).unwrap();
        assert_eq!(
            req.recv_timeout(T).unwrap().frames()[0],
            format!("from {}", i % 2).as_bytes()
        );
    }
}

#[test]
fn one_rep_bound_on_two_ports_serves_both() {
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::Rep);
    let a = rep.bind("tcp://127.0.0.1:*").unwrap();
    let b = rep.bind("tcp://127.0.0.1:*").unwrap();
    assert_ne!(a, b);
    assert_eq!(rep.last_endpoint().as_deref(), Some(b.as_str()));
    for ep in [&a, &b] {
        let req = ctx.socket(SocketType::Req);
        req.connect(ep).unwrap();
        req.send("q").unwrap();
        let m = rep.recv_timeout(T).unwrap();
        rep.send(m).unwrap();
        assert_eq!(&req.recv_timeout(T).unwrap().frames()[0][..], b"q");
    }
}

#[test]
fn ipv6_and_wildcard_binds_resolve() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Pull);
    let ep = s.bind("tcp://*:*").unwrap();
    assert!(
        ep.starts_with("tcp://0.0.0.0:") && port_of(&ep) != 0,
        "{ep}"
    );
    if let Ok(ep6) = s.bind("tcp://[::1]:0") {
        assert!(ep6.starts_with("tcp://[::1]:"), "{ep6}");
        let push = ctx.socket(SocketType::Push);
        push.connect(&ep6).unwrap();
        push.send("v6").unwrap();
        assert_eq!(&s.recv_timeout(T).unwrap().frames()[0][..], b"v6");
    }
}

#[test]
fn bind_errors_are_typed() {
    let ctx = Context::new();
    let a = ctx.socket(SocketType::Pull);
    let ep = a.bind("tcp://127.0.0.1:*").unwrap();
    let b = ctx.socket(SocketType::Pull);
    assert!(matches!(b.bind(&ep), Err(BindError::AddrInUse(_))));
    assert!(matches!(
        b.bind("udp://1.2.3.4:5"),
        Err(BindError::Endpoint(_))
    ));
    assert_eq!(
        b.bind("udp://1.2.3.4:5").unwrap_err().errno(),
        ferrozmq::error::errno::EPROTONOSUPPORT
    );
    a.bind("inproc://taken").unwrap();
    assert!(matches!(
        b.bind("inproc://taken"),
        Err(BindError::AddrInUse(_))
    ));
    assert!(b.connect("nonsense").is_err());
}

#[test]
fn unbind_stops_listening_and_disconnect_drops_the_queue() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    pull.unbind(&ep).unwrap();
    until_refused(&ep);
    assert!(pull.unbind(&ep).is_err());

    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::SndHwm(5)).unwrap();
    push.connect(&ep).unwrap(); // nobody listens: messages queue
    for _ in 0..5 {
        push.try_send("queued").unwrap();
    }
    assert_eq!(
        push.try_send("full").unwrap_err().kind(),
        SendErrorKind::WouldBlock
    );
    push.disconnect(&ep).unwrap();
    // The queue went with the connect: no peer remains.
    assert_eq!(
        push.try_send("x").unwrap_err().kind(),
        SendErrorKind::WouldBlock
    );
    assert!(push.disconnect(&ep).is_err());
}

#[test]
fn queue_made_by_connect_is_delivered_once_the_peer_binds() {
    let ctx = Context::new();
    for transport in ["tcp", "ipc", "inproc"] {
        let ep = match transport {
            "tcp" => {
                // Find a free port, release it, then connect before anyone binds it.
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                format!("tcp://{}", l.local_addr().unwrap())
            }
            "ipc" => format!(
                "ipc://{}/fzmq-late-{}.ipc",
                std::env::temp_dir().display(),
                std::process::id()
            ),
            _ => "inproc://late-bind".to_owned(),
        };
        let push = ctx.socket(SocketType::Push);
        push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(10))))
            .unwrap();
        push.connect(&ep).unwrap();
        for i in 0..100u32 {
            push.send(i.to_be_bytes().to_vec()).unwrap();
        }
        let pull = ctx.socket(SocketType::Pull);
        pull.bind(&ep).unwrap();
        for i in 0..100u32 {
            let m = pull
                .recv_timeout(T)
                .unwrap_or_else(|e| panic!("{transport}: message {i}: {e}"));
            assert_eq!(&m.frames()[0][..], &i.to_be_bytes(), "{transport}");
        }
    }
}

#[test]
fn reconnects_after_the_peer_restarts() {
    let ctx = Context::new();
    let pull1 = ctx.socket(SocketType::Pull);
    let ep = pull1.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(10))))
        .unwrap();
    push.set_option(SocketOption::ReconnectIvlMax(Some(Duration::from_millis(
        80,
    ))))
    .unwrap();
    push.connect(&ep).unwrap();
    push.send("first").unwrap();
    assert_eq!(&pull1.recv_timeout(T).unwrap().frames()[0][..], b"first");
    pull1.close();
    until_refused(&ep);
    let pull2 = ctx.socket(SocketType::Pull);
    pull2.bind(&ep).unwrap();
    // Messages written into the dying connection may be lost (as with libzmq); once one
    // arrives on the new connection, everything after it must arrive, in order.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        push.send("probe").unwrap();
        if pull2.recv_timeout(Some(Duration::from_millis(20))).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "never reconnected");
    }
    for i in 0..1000u32 {
        push.send(i.to_be_bytes().to_vec()).unwrap();
    }
    let mut next = 0u32;
    while next < 1000 {
        let m = pull2.recv_timeout(T).unwrap();
        if &m.frames()[0][..] == b"probe" {
            continue;
        }
        assert_eq!(&m.frames()[0][..], &next.to_be_bytes());
        next += 1;
    }
}

#[test]
fn stale_ipc_file_is_replaced_live_one_is_not_stolen() {
    let path = std::env::temp_dir().join(format!("fzmq-stale-{}.ipc", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let ep = format!("ipc://{}", path.display());
    // A socket file whose owner is gone (listener dropped without unlinking).
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let ctx = Context::new();
    let a = ctx.socket(SocketType::Pull);
    a.bind(&ep).unwrap();
    let b = ctx.socket(SocketType::Pull);
    // Now it is live (bind is synchronous): a second bind must not steal it.
    assert!(matches!(b.bind(&ep), Err(BindError::AddrInUse(_))));
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    push.send("still a's").unwrap();
    assert_eq!(&a.recv_timeout(T).unwrap().frames()[0][..], b"still a's");
    // A path that is not a socket is never removed.
    let file = std::env::temp_dir().join(format!("fzmq-notasocket-{}", std::process::id()));
    std::fs::write(&file, b"keep me").unwrap();
    assert!(b.bind(&format!("ipc://{}", file.display())).is_err());
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn hwm_blocks_then_times_out_and_immediate_refuses_unconnected() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::SndHwm(3)).unwrap();
    push.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    push.connect("tcp://127.0.0.1:1").unwrap(); // never connects
    for _ in 0..3 {
        push.try_send("m").unwrap();
    }
    assert_eq!(
        push.try_send("m").unwrap_err().kind(),
        SendErrorKind::WouldBlock
    );
    let e = push
        .send_timeout("m", Some(Duration::from_millis(30)))
        .unwrap_err();
    assert_eq!(e.kind(), SendErrorKind::Timeout);

    let imm = ctx.socket(SocketType::Push);
    imm.set_option(SocketOption::Immediate(true)).unwrap();
    imm.connect("tcp://127.0.0.1:1").unwrap();
    assert_eq!(
        imm.try_send("m").unwrap_err().kind(),
        SendErrorKind::WouldBlock
    );
}

#[test]
fn close_flushes_pending_messages_within_linger() {
    let pull_ctx = Context::new();
    let pull = pull_ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    {
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push);
        push.set_option(SocketOption::SndHwm(0)).unwrap();
        push.connect(&ep).unwrap();
        for i in 0..20_000u32 {
            push.send(i.to_be_bytes().to_vec()).unwrap();
        }
        // Dropping the socket and its context waits (up to LINGER) for the queue to drain.
    }
    for i in 0..20_000u32 {
        assert_eq!(
            &pull.recv_timeout(T).unwrap().frames()[0][..],
            &i.to_be_bytes()
        );
    }
    assert!(matches!(pull.try_recv(), Err(RecvError::WouldBlock)));
}

#[test]
fn dropping_a_context_with_unreachable_peers_returns_after_linger() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::Linger(Some(Duration::from_millis(50))))
        .unwrap();
    push.connect("tcp://127.0.0.1:1").unwrap();
    push.send("never delivered").unwrap();
    drop(push);
    drop(ctx); // must return once LINGER is over, though the peer never appears
}

#[test]
fn close_keeps_trying_an_unconnected_connect_within_linger() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("tcp://{}", l.local_addr().unwrap());
    drop(l);
    let (closed_tx, closed_rx) = std::sync::mpsc::channel();
    let sender = {
        let ep = ep.clone();
        std::thread::spawn(move || {
            let ctx = Context::new();
            let push = ctx.socket(SocketType::Push);
            push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(10))))
                .unwrap();
            push.set_option(SocketOption::Linger(Some(Duration::from_secs(20))))
                .unwrap();
            push.connect(&ep).unwrap();
            for i in 0..100u32 {
                push.send(i.to_be_bytes().to_vec()).unwrap();
            }
            push.close();
            closed_tx.send(()).unwrap();
            drop(push);
            drop(ctx); // waits for the queue to flush, within LINGER
        })
    };
    closed_rx.recv().unwrap();
    // The socket is closed and nobody listened yet: bind now; the queue must still arrive.
    let pull_ctx = Context::new();
    let pull = pull_ctx.socket(SocketType::Pull);
    pull.bind(&ep).unwrap();
    for i in 0..100u32 {
        assert_eq!(
            &pull.recv_timeout(T).unwrap().frames()[0][..],
            &i.to_be_bytes()
        );
    }
    sender.join().unwrap();
}

#[test]
fn inproc_disconnect_before_bind_cancels_the_connect() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    push.connect("inproc://cancelled").unwrap();
    push.disconnect("inproc://cancelled").unwrap();
    let pull = ctx.socket(SocketType::Pull);
    pull.bind("inproc://cancelled").unwrap();
    assert_eq!(
        push.try_send("ghost").unwrap_err().kind(),
        SendErrorKind::WouldBlock
    );
    assert!(matches!(pull.try_recv(), Err(RecvError::WouldBlock)));
}

#[test]
fn connect_routing_id_names_the_next_connected_peer() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Router);
    let ep = server.bind("tcp://127.0.0.1:*").unwrap();
    let client = ctx.socket(SocketType::Router);
    client
        .set_option(SocketOption::ConnectRoutingId(Some(
            ferrozmq::Bytes::from_static(b"srv"),
        )))
        .unwrap();
    client
        .set_option(SocketOption::RouterMandatory(true))
        .unwrap();
    client.connect(&ep).unwrap();
    // The client ROUTER can address the server by the id it chose, once connected.
    let deadline = Instant::now() + Duration::from_secs(10);
    while client
        .send(ferrozmq::Message::from_iter(["srv", "hi"]))
        .is_err()
    {
        assert!(Instant::now() < deadline, "never connected");
        std::thread::yield_now();
    }
    let m = server.recv_timeout(T).unwrap();
    assert_eq!(&m.frames()[1][..], b"hi");
}
