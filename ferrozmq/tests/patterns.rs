//! Socket-level behaviour of the request-reply, pipeline and pair patterns over every
//! transport: round robin, fair queueing, REQ/REP envelopes, ROUTER ids, PAIR exclusivity,
//! multipart atomicity.

use std::time::Duration;

use ferrozmq::{
    Bytes, Context, Message, RecvError, SendErrorKind, Socket, SocketOption, SocketType,
};

mod common;

use common::{endpoints, pair, text};

const T: Option<Duration> = Some(Duration::from_secs(10));

#[test]
fn req_rep_round_trip_every_transport() {
    let ctx = Context::new();
    for ep in endpoints("reqrep") {
        let (rep, req) = pair(&ctx, SocketType::Rep, SocketType::Req, &ep);
        for i in 0..100 {
            req.send(format!("hello {i}")).unwrap();
            let got = rep.recv_timeout(T).unwrap();
            assert_eq!(text(&got), [format!("hello {i}")], "{ep}");
            rep.send(Message::from_iter(["world", "two"])).unwrap();
            assert_eq!(
                text(&req.recv_timeout(T).unwrap()),
                ["world", "two"],
                "{ep}"
            );
        }
    }
}

#[test]
fn req_refuses_second_send_and_early_recv() {
    let ctx = Context::new();
    let req = ctx.socket(SocketType::Req);
    assert!(matches!(req.try_recv(), Err(RecvError::InvalidState(_))));
    req.connect("inproc://nobody-yet").unwrap();
    req.send("one").unwrap();
    let err = req.try_send("two").unwrap_err();
    assert!(matches!(err.kind(), SendErrorKind::InvalidState(_)));
    assert_eq!(text(&err.into_message()), ["two"]);
}

#[test]
fn push_round_robins_and_pull_fair_queues() {
    let ctx = Context::new();
    for ep in endpoints("pushpull") {
        let push = ctx.socket(SocketType::Push);
        let ep = push.bind(&ep).unwrap();
        let pulls: Vec<Socket> = (0..3)
            .map(|_| {
                let p = ctx.socket(SocketType::Pull);
                p.connect(&ep).unwrap();
                p
            })
            .collect();
        // Wait until all three are attached: a message to each, by round robin.
        for p in &pulls {
            // Each pull gets exactly one of every 3 once all are connected; probe by sending
            // until this pull has received one.
            loop {
                push.send("probe").unwrap();
                if p.recv_timeout(Some(Duration::from_millis(50))).is_ok() {
                    break;
                }
            }
        }
        for i in 0..30u8 {
            push.send(vec![i]).unwrap();
        }
        let mut counts = [0; 3];
        let mut all = Vec::new();
        for (n, p) in pulls.iter().enumerate() {
            while counts[n] < 10 {
                let m = p.recv_timeout(T).unwrap();
                if &m.frames()[0][..] == b"probe" {
                    continue; // a probe still in flight from the attach phase
                }
                all.push(m.frames()[0][0]);
                counts[n] += 1;
            }
            assert!(matches!(
                p.recv_timeout(Some(Duration::from_millis(20))),
                Err(RecvError::Timeout)
            ));
        }
        all.sort_unstable();
        assert_eq!(all, (0..30).collect::<Vec<u8>>(), "{ep}");
        assert_eq!(counts, [10, 10, 10], "{ep}");
    }
}

#[test]
fn dealer_router_envelopes_and_identities() {
    let ctx = Context::new();
    for ep in endpoints("dealerrouter") {
        let router = ctx.socket(SocketType::Router);
        let ep = router.bind(&ep).unwrap();
        let dealer = ctx.socket(SocketType::Dealer);
        dealer
            .set_option(SocketOption::RoutingId(Bytes::from_static(b"alice")))
            .unwrap();
        dealer.connect(&ep).unwrap();
        dealer.send(Message::from_iter(["a", "b"])).unwrap();
        let got = router.recv_timeout(T).unwrap();
        assert_eq!(text(&got), ["alice", "a", "b"], "{ep}");
        router.send(Message::from_iter(["alice", "reply"])).unwrap();
        assert_eq!(text(&dealer.recv_timeout(T).unwrap()), ["reply"]);
        // Unroutable: dropped by default, an error with ROUTER_MANDATORY.
        router.send(Message::from_iter(["bob", "x"])).unwrap();
        router
            .set_option(SocketOption::RouterMandatory(true))
            .unwrap();
        let e = router.send(Message::from_iter(["bob", "x"])).unwrap_err();
        assert_eq!(e.kind(), SendErrorKind::HostUnreachable);
    }
}

#[test]
fn router_generates_ids_for_anonymous_peers() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    let ep = router.bind("tcp://127.0.0.1:*").unwrap();
    let req = ctx.socket(SocketType::Req);
    req.connect(&ep).unwrap();
    req.send("q").unwrap();
    let m = router.recv_timeout(T).unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!(m.frames()[0].len(), 5);
    assert_eq!(m.frames()[0][0], 0);
    assert!(m.frames()[1].is_empty());
    let mut reply = m.clone();
    reply.pop_back();
    reply.push_back(Bytes::from_static(b"r"));
    router.send(reply).unwrap();
    assert_eq!(text(&req.recv_timeout(T).unwrap()), ["r"]);
}

#[test]
fn pair_is_exclusive() {
    let ctx = Context::new();
    let a = ctx.socket(SocketType::Pair);
    let ep = a.bind("tcp://127.0.0.1:*").unwrap();
    let b = ctx.socket(SocketType::Pair);
    b.connect(&ep).unwrap();
    b.send("from b").unwrap();
    assert_eq!(text(&a.recv_timeout(T).unwrap()), ["from b"]);
    let c = ctx.socket(SocketType::Pair);
    c.connect(&ep).unwrap();
    c.send("from c").unwrap();
    a.send("to b").unwrap();
    assert_eq!(text(&b.recv_timeout(T).unwrap()), ["to b"]);
    assert!(matches!(
        a.recv_timeout(Some(Duration::from_millis(200))),
        Err(RecvError::Timeout)
    ));
}

#[test]
fn empty_message_and_large_frame() {
    let ctx = Context::new();
    for ep in endpoints("sizes") {
        let (pull, push) = pair(&ctx, SocketType::Pull, SocketType::Push, &ep);
        push.send(Message::from_iter([Bytes::new()])).unwrap();
        let big = Bytes::from(vec![7u8; 1 << 20]);
        push.send(Message::from_iter([
            big.clone(),
            Bytes::from_static(b"tail"),
        ]))
        .unwrap();
        let m = pull.recv_timeout(T).unwrap();
        assert_eq!(m.len(), 1);
        assert!(m.frames()[0].is_empty());
        let m = pull.recv_timeout(T).unwrap();
        assert_eq!(m.frames()[0], big, "{ep}");
        assert_eq!(&m.frames()[1][..], b"tail");
    }
}

#[test]
fn req_relaxed_and_correlate_drop_the_stale_reply() {
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::Router);
    let ep = rep.bind("tcp://127.0.0.1:*").unwrap();
    let req = ctx.socket(SocketType::Req);
    req.set_option(SocketOption::ReqRelaxed(true)).unwrap();
    req.set_option(SocketOption::ReqCorrelate(true)).unwrap();
    req.connect(&ep).unwrap();
    req.send("first").unwrap();
    let first = rep.recv_timeout(T).unwrap();
    // Relaxed: a new request while the first is unanswered.
    req.send("second").unwrap();
    let second = rep.recv_timeout(T).unwrap();
    // [id, request-id, "", body]: the correlate frame differs between the two.
    assert_eq!(first.len(), 4);
    assert_ne!(first.frames()[1], second.frames()[1]);
    // Answer the stale request first: REQ must drop it and deliver only the second reply.
    for (req_msg, body) in [
        (first, "late answer to first"),
        (second, "answer to second"),
    ] {
        let mut reply = req_msg.clone();
        reply.pop_back();
        reply.push_back(Bytes::from_static(body.as_bytes()));
        rep.send(reply).unwrap();
    }
    assert_eq!(text(&req.recv_timeout(T).unwrap()), ["answer to second"]);
}

#[test]
fn sockets_spread_over_several_io_threads_talk_and_terminate() {
    let ctx = Context::with_io_threads(3).unwrap();
    assert_eq!(ctx.io_threads(), 3);
    // Six sockets over three I/O threads: each pair has its ends on different threads.
    let pairs: Vec<(Socket, Socket)> = ["tcp://127.0.0.1:*"; 3]
        .iter()
        .map(|ep| pair(&ctx, SocketType::Rep, SocketType::Req, ep))
        .collect();
    for round in 0..50 {
        for (rep, req) in &pairs {
            req.send(format!("ping {round}")).unwrap();
            let request = rep.recv_timeout(T).unwrap();
            rep.send(request).unwrap();
            assert_eq!(
                text(&req.recv_timeout(T).unwrap()),
                [format!("ping {round}")]
            );
        }
    }
    // Every thread stops: terminate returns, and blocked calls return Closed.
    let (rep, _) = &pairs[0];
    let blocked = {
        let rep = rep.clone();
        std::thread::spawn(move || rep.recv())
    };
    ctx.terminate();
    assert_eq!(blocked.join().unwrap(), Err(RecvError::Closed));
    assert_eq!(Context::with_io_threads(0).unwrap().io_threads(), 1);
}

#[test]
fn send_many_and_recv_many_move_batches_in_order_through_small_queues() {
    let ctx = Context::new();
    for ep in endpoints("batches") {
        let pull = ctx.socket(SocketType::Pull);
        pull.set_option(SocketOption::RcvHwm(10)).unwrap();
        let resolved = pull.bind(&ep).unwrap();
        let push = ctx.socket(SocketType::Push);
        push.set_option(SocketOption::SndHwm(10)).unwrap();
        push.connect(&resolved).unwrap();
        // Far more than the queues hold: the batch waits for room part-way, so the reader
        // must have been told of what the batch queued before it.
        let total = 5_000;
        let sender = std::thread::spawn(move || {
            let mut batch: std::collections::VecDeque<Message> =
                (0..total).map(|i| Message::from(format!("{i}"))).collect();
            push.send_many(&mut batch).unwrap();
            assert!(batch.is_empty());
            push
        });
        let mut got = Vec::new();
        while got.len() < total {
            let before = got.len();
            let n = pull.recv_many(&mut got, 64).unwrap();
            assert!((1..=64).contains(&n) && got.len() == before + n);
        }
        let expected: Vec<Vec<String>> = (0..total).map(|i| vec![format!("{i}")]).collect();
        assert_eq!(got.iter().map(text).collect::<Vec<_>>(), expected, "{ep}");
        sender.join().unwrap();
    }
}

#[test]
fn send_many_stops_at_the_first_refusal_and_keeps_the_rest() {
    let ctx = Context::new();
    let (rep, req) = pair(&ctx, SocketType::Rep, SocketType::Req, "inproc://batch-req");
    let mut batch: std::collections::VecDeque<Message> = ["one", "two", "three"]
        .into_iter()
        .map(Message::from)
        .collect();
    // REQ takes one request, then must receive: the second is refused and handed back.
    let err = req.send_many(&mut batch).unwrap_err();
    assert!(matches!(err.kind(), SendErrorKind::InvalidState(_)));
    assert_eq!(text(&err.into_message()), ["two"]);
    assert_eq!(batch.len(), 1);
    let request = rep.recv_timeout(T).unwrap();
    rep.send(request).unwrap();
    // recv_many on a REQ stops after the one reply.
    let mut replies = Vec::new();
    req.set_option(SocketOption::RcvTimeo(T)).unwrap();
    assert_eq!(req.recv_many(&mut replies, 10).unwrap(), 1);
    assert_eq!(text(&replies[0]), ["one"]);
}
