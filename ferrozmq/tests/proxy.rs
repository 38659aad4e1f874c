//! The built-in proxy: ROUTER/DEALER between REQ clients and REP workers, PULL/PUSH with HWM
//! back-pressure, capture copies (and a capture that fails), XSUB/XPUB with subscriptions
//! flowing upstream, steering by REP and PAIR control sockets and by the typed handle, and
//! the errors that end a proxy.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::Receiver;
use ferrozmq::{
    proxy, proxy_steerable, Context, Interest, Message, Poller, Proxy, ProxyControl, ProxyError,
    ProxySocket, ProxyStatistics, RecvError, Socket, SocketOption, SocketType,
};

/// Failure guard only.
const T: Option<Duration> = Some(Duration::from_secs(20));

/// Runs `f` on a thread; the receiver yields its result. Waiting on it with [`finished`]
/// turns a hang into a failure.
fn spawn<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Receiver<R> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

fn finished<R>(rx: Receiver<R>) -> R {
    rx.recv_timeout(T.unwrap())
        .expect("the proxy did not return")
}

fn spawn_proxy(proxy: Proxy) -> (ProxyControl, Receiver<Result<(), ProxyError>>) {
    let control = proxy.control();
    (control, spawn(move || proxy.run()))
}

/// Frontend PULL and backend PUSH (both bound), a producer and a consumer connected.
struct Pipeline {
    frontend: Socket,
    backend: Socket,
    producer: Socket,
    consumer: Socket,
}

/// The backend is on tcp, or on inproc with `inproc_backend` (where HWMs bound exactly what
/// can be in flight: no kernel buffers).
fn pipeline(ctx: &Context, name: &str, hwm: Option<usize>, inproc_backend: bool) -> Pipeline {
    let socket = |t| {
        let s = ctx.socket(t);
        if let Some(h) = hwm {
            s.set_option(SocketOption::SndHwm(h)).unwrap();
            s.set_option(SocketOption::RcvHwm(h)).unwrap();
        }
        s
    };
    let frontend = socket(SocketType::Pull);
    frontend.bind(&format!("inproc://{name}-front")).unwrap();
    let backend = socket(SocketType::Push);
    let back_ep = if inproc_backend {
        backend.bind(&format!("inproc://{name}-back")).unwrap()
    } else {
        backend.bind("tcp://127.0.0.1:*").unwrap()
    };
    let producer = socket(SocketType::Push);
    producer.connect(&format!("inproc://{name}-front")).unwrap();
    let consumer = socket(SocketType::Pull);
    consumer.connect(&back_ep).unwrap();
    Pipeline {
        frontend,
        backend,
        producer,
        consumer,
    }
}

/// A REP request carries `[body]`; the REQ side sees `[reply]`.
#[test]
fn router_dealer_between_req_clients_and_rep_workers_over_tcp() {
    const CLIENTS: usize = 8;
    const REQUESTS: usize = 200;
    let ctx = Context::new();
    let frontend = ctx.socket(SocketType::Router);
    let front_ep = frontend.bind("tcp://127.0.0.1:*").unwrap();
    let backend = ctx.socket(SocketType::Dealer);
    let back_ep = backend.bind("tcp://127.0.0.1:*").unwrap();
    let (control, running) = spawn_proxy(Proxy::new(&frontend, &backend).unwrap());

    let workers: Vec<_> = (0..3)
        .map(|w| {
            let rep = ctx.socket(SocketType::Rep);
            rep.connect(&back_ep).unwrap();
            thread::spawn(move || loop {
                match rep.recv() {
                    Ok(m) => {
                        let mut reply = format!("w{w}:").into_bytes();
                        reply.extend_from_slice(&m.frames()[0]);
                        rep.send(reply).unwrap();
                    }
                    Err(RecvError::Closed) => break,
                    Err(e) => panic!("worker {w}: {e}"),
                }
            })
        })
        .collect();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let req = ctx.socket(SocketType::Req);
            req.connect(&front_ep).unwrap();
            thread::spawn(move || {
                let mut served_by = HashSet::new();
                for i in 0..REQUESTS {
                    req.send(format!("{c}.{i}")).unwrap();
                    let reply = req.recv_timeout(T).expect("reply through the proxy");
                    let text = String::from_utf8(reply.frames()[0].to_vec()).unwrap();
                    let (worker, body) = text.split_once(':').unwrap();
                    assert_eq!(body, format!("{c}.{i}"));
                    served_by.insert(worker.to_owned());
                }
                served_by
            })
        })
        .collect();
    let mut served_by = HashSet::new();
    for c in clients {
        served_by.extend(c.join().unwrap());
    }
    // The DEALER backend spreads requests over the workers.
    assert_eq!(served_by.len(), 3, "{served_by:?}");

    // Every request and reply passed whole: [id, "", body] is 3 frames each way. (Read once
    // the proxy returned: a live reading may lag by the message the proxy is counting.)
    control.terminate();
    finished(running).unwrap();
    let n = (CLIENTS * REQUESTS * 3) as u64;
    let s = control.statistics();
    assert_eq!(s.frontend.messages_received, n);
    assert_eq!(s.backend.messages_sent, n);
    assert_eq!(s.backend.messages_received, n);
    assert_eq!(s.frontend.messages_sent, n);
    assert_eq!(s.frontend.bytes_received, s.backend.bytes_sent);
    assert_eq!(s.backend.bytes_received, s.frontend.bytes_sent);
    ctx.terminate();
    for w in workers {
        w.join().unwrap();
    }
}

#[test]
fn pull_push_forwards_whole_messages_in_order() {
    let ctx = Context::new();
    let p = pipeline(&ctx, "proxy-pipeline", None, false);
    let (control, running) = spawn_proxy(Proxy::new(&p.frontend, &p.backend).unwrap());
    for i in 0..1000u32 {
        let mut m = Message::from_iter([i.to_be_bytes().to_vec()]);
        m.push_back("second frame");
        p.producer.send(m).unwrap();
    }
    for i in 0..1000u32 {
        let m = p.consumer.recv_timeout(T).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m.frames()[0][..], i.to_be_bytes());
        assert_eq!(&m.frames()[1][..], b"second frame");
    }
    control.terminate();
    finished(running).unwrap();
    let s = control.statistics();
    assert_eq!(s.frontend.messages_received, 2000);
    assert_eq!(s.backend.messages_sent, 2000);
    // PUSH cannot receive and PULL cannot send: nothing flows back.
    assert_eq!(s.backend.messages_received + s.frontend.messages_sent, 0);
}

/// With queues of 10 everywhere and a consumer that has not started reading, the proxy holds
/// the producer back (its sends block) instead of dropping: at no time has the producer got
/// further than the queues between it and the consumer can hold. Then everything arrives.
#[test]
fn hwm_back_pressure_reaches_the_producer_and_nothing_is_dropped() {
    const N: u32 = 20_000;
    const HWM: usize = 10;
    let ctx = Context::new();
    let p = pipeline(&ctx, "proxy-hwm", Some(HWM), true);
    let (control, running) = spawn_proxy(Proxy::new(&p.frontend, &p.backend).unwrap());
    let sent = Arc::new(AtomicU32::new(0));
    let sending = {
        let (producer, sent) = (p.producer.clone(), sent.clone());
        thread::spawn(move || {
            for i in 0..N {
                producer.send(i.to_be_bytes().to_vec()).unwrap();
                sent.store(i + 1, Ordering::SeqCst);
            }
        })
    };
    // Wait until messages reach the consumer's queue, then check the bound: the producer's
    // queue, the batch the proxy's frontend took from it (a receiver takes up to a quarter of
    // RCVHWM per lock), the one message the proxy holds, the consumer's queue.
    let mut poller = Poller::new().unwrap();
    poller.add(&p.consumer, Interest::READABLE);
    let mut events = Vec::new();
    assert_eq!(poller.wait(&mut events, T).unwrap(), 1);
    let bound = (2 * HWM + HWM / 4 + 1) as u32;
    assert!(
        sent.load(Ordering::SeqCst) <= bound,
        "the producer got {} messages out with nobody reading",
        sent.load(Ordering::SeqCst)
    );
    for i in 0..N {
        let m = p.consumer.recv_timeout(T).unwrap();
        assert_eq!(m.frames()[0][..], i.to_be_bytes(), "lost or reordered");
    }
    sending.join().unwrap();
    control.terminate();
    finished(running).unwrap();
    assert_eq!(control.statistics().backend.messages_sent, u64::from(N));
}

#[test]
fn capture_gets_a_copy_of_every_message_in_both_directions() {
    let ctx = Context::new();
    let frontend = ctx.socket(SocketType::Router);
    frontend.bind("inproc://proxy-cap-front").unwrap();
    let backend = ctx.socket(SocketType::Dealer);
    backend.bind("inproc://proxy-cap-back").unwrap();
    let capture = ctx.socket(SocketType::Push);
    capture.set_option(SocketOption::SndHwm(0)).unwrap();
    capture.bind("inproc://proxy-cap").unwrap();
    let captured = ctx.socket(SocketType::Pull);
    captured.set_option(SocketOption::RcvHwm(0)).unwrap();
    captured.connect("inproc://proxy-cap").unwrap();
    let proxy = Proxy::new(&frontend, &backend).unwrap().capture(&capture);
    let (control, running) = spawn_proxy(proxy);

    let rep = ctx.socket(SocketType::Rep);
    rep.connect("inproc://proxy-cap-back").unwrap();
    let req = ctx.socket(SocketType::Req);
    req.set_option(SocketOption::RoutingId("client".into()))
        .unwrap();
    req.connect("inproc://proxy-cap-front").unwrap();
    for i in 0..50 {
        req.send(format!("q{i}")).unwrap();
        let q = rep.recv_timeout(T).unwrap();
        rep.send(format!("a{}", std::str::from_utf8(&q.frames()[0]).unwrap()))
            .unwrap();
        assert_eq!(req.recv_timeout(T).unwrap().frames()[0], format!("aq{i}"));
    }
    // Request then reply, each with its envelope, as the proxy saw them.
    for i in 0..50 {
        let q = captured.recv_timeout(T).unwrap();
        let frames: Vec<&[u8]> = q.frames().iter().map(|f| &f[..]).collect();
        assert_eq!(frames, [&b"client"[..], b"", format!("q{i}").as_bytes()]);
        let a = captured.recv_timeout(T).unwrap();
        assert_eq!(a.last().unwrap(), format!("aq{i}").as_bytes());
    }
    assert_eq!(captured.try_recv().unwrap_err(), RecvError::WouldBlock);
    control.terminate();
    finished(running).unwrap();
}

/// A capture socket that is full, and then closed, loses copies; the proxy goes on.
#[test]
fn failing_capture_does_not_stop_the_proxy() {
    let ctx = Context::new();
    let p = pipeline(&ctx, "proxy-cap-fail", None, false);
    let capture = ctx.socket(SocketType::Push);
    capture.set_option(SocketOption::SndHwm(1)).unwrap();
    capture.connect("inproc://proxy-cap-nobody").unwrap(); // never bound: fills at once
    let proxy = Proxy::new(&p.frontend, &p.backend)
        .unwrap()
        .capture(&capture);
    let (control, running) = spawn_proxy(proxy);
    for i in 0..100u32 {
        p.producer.send(i.to_be_bytes().to_vec()).unwrap();
    }
    for i in 0..100u32 {
        assert_eq!(
            p.consumer.recv_timeout(T).unwrap().frames()[0][..],
            i.to_be_bytes()
        );
    }
    capture.close();
    for i in 0..100u32 {
        p.producer.send(i.to_be_bytes().to_vec()).unwrap();
        assert_eq!(
            p.consumer.recv_timeout(T).unwrap().frames()[0][..],
            i.to_be_bytes()
        );
    }
    control.terminate();
    finished(running).unwrap();
}

/// Subscriptions travel from a SUB through the proxy's XPUB (backend) and XSUB (frontend) to
/// the publisher, and only matching messages come back. The publisher is an XPUB so the test
/// can see the subscription arrive before publishing (a PUB would drop what it sends before
/// then, and nothing would tell the test when to start).
#[test]
fn xsub_xpub_carries_subscriptions_up_and_messages_down() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::XPub);
    let pub_ep = publisher.bind("tcp://127.0.0.1:*").unwrap();
    let frontend = ctx.socket(SocketType::XSub);
    frontend.connect(&pub_ep).unwrap();
    let backend = ctx.socket(SocketType::XPub);
    let back_ep = backend.bind("tcp://127.0.0.1:*").unwrap();
    let (control, running) = spawn_proxy(Proxy::new(&frontend, &backend).unwrap());

    let sub = ctx.socket(SocketType::Sub);
    sub.set_option(SocketOption::Subscribe("A".into())).unwrap();
    sub.connect(&back_ep).unwrap();
    let subscription = publisher
        .recv_timeout(T)
        .expect("subscription through the proxy");
    assert_eq!(&subscription.frames()[0][..], b"\x01A");

    for topic in ["A1", "B1", "A2"] {
        publisher.send(topic).unwrap();
    }
    assert_eq!(&sub.recv_timeout(T).unwrap().frames()[0][..], b"A1");
    assert_eq!(&sub.recv_timeout(T).unwrap().frames()[0][..], b"A2");
    control.terminate();
    finished(running).unwrap();
    let s = control.statistics();
    assert_eq!(s.backend.messages_received, 1, "the subscription");
    assert_eq!(s.frontend.messages_sent, 1, "the subscription, upstream");
}

/// The libzmq protocol on a REP control socket: every command is answered (STATISTICS with
/// 8 frames, the others with an empty message).
#[test]
fn steerable_with_rep_control_pause_resume_statistics_terminate() {
    let ctx = Context::new();
    let p = pipeline(&ctx, "proxy-steer-rep", None, false);
    let control = ctx.socket(SocketType::Rep);
    control.bind("inproc://proxy-steer-rep-ctl").unwrap();
    let commander = ctx.socket(SocketType::Req);
    commander.connect("inproc://proxy-steer-rep-ctl").unwrap();
    let running = {
        let (f, b, c) = (p.frontend.clone(), p.backend.clone(), control.clone());
        spawn(move || proxy_steerable(&f, &b, None, &c))
    };
    let command = |cmd: &'static str| -> Message {
        commander.send(cmd).unwrap();
        commander.recv_timeout(T).expect("control reply")
    };
    let statistics = |reply: Message| ProxyStatistics::from_message(&reply).expect("8 u64");

    p.producer.send("before").unwrap();
    assert_eq!(
        &p.consumer.recv_timeout(T).unwrap().frames()[0][..],
        b"before"
    );
    let s = statistics(command("STATISTICS"));
    assert_eq!(s.frontend.messages_received, 1);
    assert_eq!(s.frontend.bytes_received, 6);
    assert_eq!(s.backend.messages_sent, 1);

    // Once PAUSE is answered the proxy reads nothing: messages wait on its frontend.
    assert!(command("PAUSE").frames().iter().all(|f| f.is_empty()));
    for i in 0..10u32 {
        p.producer.send(i.to_be_bytes().to_vec()).unwrap();
    }
    let mut poller = Poller::new().unwrap();
    poller.add(&p.frontend, Interest::READABLE);
    let mut events = Vec::new();
    assert_eq!(
        poller.wait(&mut events, T).unwrap(),
        1,
        "queued at the frontend"
    );
    assert_eq!(
        statistics(command("STATISTICS")),
        s,
        "nothing moved while paused"
    );
    assert_eq!(p.consumer.try_recv().unwrap_err(), RecvError::WouldBlock);

    assert!(command("RESUME").frames().iter().all(|f| f.is_empty()));
    for i in 0..10u32 {
        assert_eq!(
            p.consumer.recv_timeout(T).unwrap().frames()[0][..],
            i.to_be_bytes()
        );
    }
    let s = statistics(command("STATISTICS"));
    assert_eq!(s.frontend.messages_received, 11);
    assert_eq!(s.backend.messages_sent, 11);
    assert_eq!(s.backend.bytes_sent, 6 + 40);

    // An unknown command is answered too, so the REP can take the next one.
    assert!(command("BOGUS").frames().iter().all(|f| f.is_empty()));
    assert!(command("TERMINATE").frames().iter().all(|f| f.is_empty()));
    finished(running).unwrap();
}

/// On a PAIR control socket only STATISTICS is answered (libzmq: "no response otherwise").
#[test]
fn steerable_with_pair_control_answers_only_statistics() {
    let ctx = Context::new();
    let p = pipeline(&ctx, "proxy-steer-pair", None, false);
    let control = ctx.socket(SocketType::Pair);
    control.bind("inproc://proxy-steer-pair-ctl").unwrap();
    let commander = ctx.socket(SocketType::Pair);
    commander.connect("inproc://proxy-steer-pair-ctl").unwrap();
    let running = {
        let (f, b, c) = (p.frontend.clone(), p.backend.clone(), control.clone());
        spawn(move || proxy_steerable(&f, &b, None, &c))
    };
    commander.send("PAUSE").unwrap();
    commander.send("RESUME").unwrap();
    commander.send("STATISTICS").unwrap();
    // The first reply is the statistics: PAUSE and RESUME were not answered.
    let reply = commander.recv_timeout(T).unwrap();
    assert_eq!(reply.len(), 8);
    assert_eq!(
        ProxyStatistics::from_message(&reply),
        Some(ProxyStatistics::default())
    );
    p.producer.send("x").unwrap();
    assert_eq!(&p.consumer.recv_timeout(T).unwrap().frames()[0][..], b"x");
    commander.send("TERMINATE").unwrap();
    finished(running).unwrap();
    assert_eq!(commander.try_recv().unwrap_err(), RecvError::WouldBlock);
}

/// The typed handle steers without a control socket, from any thread.
#[test]
fn proxy_control_handle_pauses_resumes_and_terminates() {
    let ctx = Context::new();
    let p = pipeline(&ctx, "proxy-handle", None, false);
    let (control, running) = spawn_proxy(Proxy::new(&p.frontend, &p.backend).unwrap());
    control.pause();
    assert!(control.is_paused());
    // The pause takes effect at the proxy's next round (the REP test shows a paused proxy
    // moves nothing); resuming lets a message through.
    p.producer.send("after").unwrap();
    control.resume();
    assert!(!control.is_paused());
    assert_eq!(
        &p.consumer.recv_timeout(T).unwrap().frames()[0][..],
        b"after"
    );
    let other = control.clone();
    thread::spawn(move || other.terminate()).join().unwrap();
    finished(running).unwrap();
    assert_eq!(control.statistics().backend.messages_sent, 1);
    // After the proxy returned, the handle is harmless.
    control.pause();
    control.terminate();
}

#[test]
fn closing_a_socket_ends_the_proxy_with_an_error() {
    let ctx = Context::new();
    for closed in [ProxySocket::Frontend, ProxySocket::Backend] {
        let p = pipeline(&ctx, &format!("proxy-close-{closed:?}"), None, false);
        let running = {
            let (f, b) = (p.frontend.clone(), p.backend.clone());
            spawn(move || proxy(&f, &b, None))
        };
        match closed {
            ProxySocket::Frontend => p.frontend.close(),
            _ => p.backend.close(),
        }
        match finished(running) {
            Err(ProxyError::Closed(which)) => assert_eq!(which, closed),
            other => panic!("expected Closed({closed:?}), got {other:?}"),
        }
    }
    // The context's termination closes them all.
    let p = pipeline(&ctx, "proxy-term", None, false);
    let running = {
        let (f, b) = (p.frontend.clone(), p.backend.clone());
        spawn(move || proxy(&f, &b, None))
    };
    ctx.terminate();
    assert!(matches!(finished(running), Err(ProxyError::Closed(_))));
}
