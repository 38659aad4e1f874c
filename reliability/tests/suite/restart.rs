//! A peer process killed (SIGKILL) in the middle of its work and started again on the same
//! endpoint: PUSH/PULL lose at most what was in flight on the dead connection, never
//! duplicate and never deliver a cut-off message; a relaxed, correlating REQ is never stuck
//! and never takes a stale reply, bound or connecting; a SUB receives from the new publisher
//! without subscribing again, and the new publisher gets the SUB's current subscriptions.
//! Every test runs over tcp and ipc.

use ferrozmq::{Bytes, Context, Message, Monitor, Socket, SocketOption, SocketType};

use crate::share_process;
use crate::support::{text, wait_disconnected, wait_handshake, IpcEndpoint, Peer, T};

/// Where a binding side listens: an ephemeral tcp port, or a fresh ipc path (whose file goes
/// with the first element).
fn bind_endpoints(tag: &str) -> (IpcEndpoint, [String; 2]) {
    let ipc = IpcEndpoint::new(tag);
    let endpoints = ["tcp://127.0.0.1:*".to_owned(), ipc.endpoint.clone()];
    (ipc, endpoints)
}

fn number(msg: &Message) -> u64 {
    let t = text(msg);
    t.parse().unwrap_or_else(|_| panic!("not a number: {t:?}"))
}

/// The first number the restarted pusher sends: far above anything the first one reaches.
const RESTART_AT: u64 = 1 << 40;

/// Child PUSH -> our PULL. The child streams 0, 1, 2, ... (blocking on the high-water mark
/// while we do not read) and is killed after we took 2,000; a new child sends
/// `RESTART_AT..RESTART_AT+2000`. The first life must arrive as a gap-free prefix, the second
/// whole and in order, and nothing twice.
#[test]
fn killed_pusher_restarted_nothing_duplicated() {
    let _process = share_process();
    let (_ipc, endpoints) = bind_endpoints("pusher");
    for bind in endpoints {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull);
        let ep = pull.bind(&bind).unwrap();
        let mut first = Peer::spawn(&["push", "connect", &ep, "0", "1000000000"]);
        let mut seen = Lives {
            ep: ep.clone(),
            next: [0, RESTART_AT],
        };
        while seen.next[0] < 2000 {
            seen.check(number(&pull.recv_timeout(T).unwrap()));
        }
        first.kill();

        let _second = Peer::spawn(&["push", "connect", &ep, &RESTART_AT.to_string(), "2000"]);
        // What the first life had already delivered may still come, interleaved (fair queue).
        while seen.next[1] < RESTART_AT + 2000 {
            seen.check(number(&pull.recv_timeout(T).unwrap()));
        }
        // Whatever is still queued here can only be the first life's remainder.
        while let Ok(m) = pull.try_recv() {
            seen.check(number(&m));
        }
    }
}

/// The next number expected from each life of the pusher.
struct Lives {
    ep: String,
    next: [u64; 2],
}

impl Lives {
    fn check(&mut self, n: u64) {
        let life = usize::from(n >= RESTART_AT);
        let ep = &self.ep;
        assert_eq!(
            n, self.next[life],
            "{ep}: life {life} out of order, lost or duplicated"
        );
        self.next[life] += 1;
    }
}

/// Child PUSH of 64 KiB messages, killed while its stream is in flight, so that its last
/// frame is most likely cut off: only whole messages are delivered, as a gap-free prefix of
/// what it sent, up to the reported disconnection.
#[test]
fn killed_pusher_mid_frame_delivers_only_whole_messages() {
    const SIZE: usize = 64 * 1024;
    let _process = share_process();
    let (_ipc, endpoints) = bind_endpoints("big-pusher");
    for bind in endpoints {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull);
        let mon = pull.monitor();
        let ep = pull.bind(&bind).unwrap();
        let size = SIZE.to_string();
        let mut child = Peer::spawn(&["push", "connect", &ep, "0", "1000000", &size]);
        let mut next = 0u64;
        let mut check = |m: &Message| {
            let body = m.frames()[0].clone();
            assert_eq!(body.len(), SIZE, "{ep}: message {next} truncated");
            let digits = body.iter().position(|&b| b == b':').expect("N: prefix");
            assert_eq!(&body[..digits], next.to_string().as_bytes(), "{ep}: gap");
            assert!(
                body[digits + 1..].iter().all(|&b| b == b'.'),
                "{ep}: corrupt"
            );
            next += 1;
        };
        for _ in 0..100 {
            check(&pull.recv_timeout(T).unwrap());
        }
        child.kill();
        wait_disconnected(&mon);
        // Everything the dead connection delivered was queued before it ended.
        while let Ok(m) = pull.try_recv() {
            check(&m);
        }
    }
}

/// Our PUSH -> child PULL, the child killed and restarted on its endpoint. Messages sent
/// while the connection dies may go with it; those sent after the monitor reported the loss,
/// and after the restart, all reach the new child once, in order; nothing the first child
/// received comes again.
#[test]
fn killed_puller_restarted_nothing_duplicated() {
    let _process = share_process();
    let (_ipc, endpoints) = bind_endpoints("puller");
    for bind in endpoints {
        let ctx = Context::new();
        let mut first = Peer::spawn(&["pull", "bind", &bind]);
        let ep = first.endpoint.clone();
        let push = ctx.socket(SocketType::Push);
        // Room for everything sent while no peer is connected.
        push.set_option(SocketOption::SndHwm(10_000)).unwrap();
        let mon = push.monitor();
        push.connect(&ep).unwrap();
        for n in 0..1000 {
            push.send_timeout(n.to_string(), T).unwrap();
        }
        for n in 0..1000 {
            assert_eq!(first.line(), format!("got {n}"), "{ep}: first child");
        }
        first.kill();
        // In flight: these may be written into the dead connection and lost.
        for n in 1000..1100 {
            push.send_timeout(n.to_string(), T).unwrap();
        }
        wait_disconnected(&mon);
        // Queued while no child is there, then sent after the restart.
        for n in 1100..2000 {
            push.send_timeout(n.to_string(), T).unwrap();
        }
        let second = Peer::spawn(&["pull", "bind", &ep]);
        for n in 2000..3000 {
            push.send_timeout(n.to_string(), T).unwrap();
        }
        let mut last = None;
        let mut next = 1100;
        while next < 3000 {
            let got = second.line_starting("got ");
            let n: u64 = got.parse().unwrap();
            assert!(
                n >= 1000,
                "{ep}: {n} was received by the first child already"
            );
            assert!(
                last < Some(n),
                "{ep}: {n} after {last:?}: duplicated or reordered"
            );
            last = Some(n);
            if n >= 1100 {
                assert_eq!(n, next, "{ep}: lost after the disconnect was reported");
                next += 1;
            }
        }
    }
}

/// A REQ with REQ_RELAXED and REQ_CORRELATE, and its monitor.
fn relaxed_req(ctx: &Context) -> (Socket, Monitor) {
    let req = ctx.socket(SocketType::Req);
    req.set_option(SocketOption::ReqRelaxed(true)).unwrap();
    req.set_option(SocketOption::ReqCorrelate(true)).unwrap();
    let mon = req.monitor();
    (req, mon)
}

/// One request that the child REP `rep` reports and answers; the reply is the request's.
fn round_trip(req: &Socket, rep: &Peer, body: &str, ep: &str) {
    req.send_timeout(body, T).unwrap();
    assert_eq!(rep.line(), format!("request {body}"), "{ep}");
    assert_eq!(text(&req.recv_timeout(T).unwrap()), body, "{ep}");
}

/// A request the child REP `rep` holds without answering; then the child is killed and the
/// REQ's monitor reports the loss.
fn kill_holding_a_request(req: &Socket, mut rep: Peer, mon: &Monitor) {
    req.send_timeout("hold-1", T).unwrap();
    assert_eq!(rep.line(), "holding hold-1");
    rep.kill();
    wait_disconnected(mon);
}

/// REQ (REQ_RELAXED + REQ_CORRELATE) -> child REP, which is killed while it holds a request.
/// Once the loss is reported, the REQ sends a new request without the old one's reply; the
/// new child gets only that one (the old request is not delivered twice), and the reply the
/// REQ takes is the new request's.
#[test]
fn req_survives_rep_killed_holding_a_request() {
    let _process = share_process();
    let (_ipc, endpoints) = bind_endpoints("rep");
    for bind in endpoints {
        let ctx = Context::new();
        let first = Peer::spawn(&["rep", "bind", &bind, "hold"]);
        let ep = first.endpoint.clone();
        let (req, mon) = relaxed_req(&ctx);
        req.connect(&ep).unwrap();
        round_trip(&req, &first, "one", &ep);
        kill_holding_a_request(&req, first, &mon);

        // Relaxed: no reply is needed to send again; queued for the next connection.
        req.send_timeout("two", T).unwrap();
        // Without HOLD, this child would answer `hold-1` if it were delivered again.
        let second = Peer::spawn(&["rep", "bind", &ep]);
        assert_eq!(
            second.line(),
            "request two",
            "{ep}: old request redelivered"
        );
        assert_eq!(text(&req.recv_timeout(T).unwrap()), "two", "{ep}");
        round_trip(&req, &second, "three", &ep);
    }
}

/// The same with the REQ bound and the child REP connecting to it: the killed child's peer
/// goes with its connection, and the request it held with it. Once a new child has connected,
/// the REQ's next request is answered, and only that one.
#[test]
fn bound_req_survives_connecting_rep_killed_holding_a_request() {
    let _process = share_process();
    let (_ipc, endpoints) = bind_endpoints("req");
    for bind in endpoints {
        let ctx = Context::new();
        let (req, mon) = relaxed_req(&ctx);
        let ep = req.bind(&bind).unwrap();
        let first = Peer::spawn(&["rep", "connect", &ep, "hold"]);
        round_trip(&req, &first, "one", &ep);
        kill_holding_a_request(&req, first, &mon);

        let second = Peer::spawn(&["rep", "connect", &ep]);
        wait_handshake(&mon);
        round_trip(&req, &second, "two", &ep);
        round_trip(&req, &second, "three", &ep);
    }
}

/// SUB (subscribed to `A`) under a child PUB bound on an endpoint, killed and restarted there
/// three times: after each restart the SUB receives the new publisher's messages without
/// subscribing again, and still only those starting with `A`.
#[test]
fn sub_receives_from_restarted_publisher_without_resubscribing() {
    let _process = share_process();
    let (_ipc, endpoints) = bind_endpoints("pub");
    for bind in endpoints {
        let ctx = Context::new();
        let mut publisher = Peer::spawn(&["pub", "bind", &bind, "life0"]);
        let ep = publisher.endpoint.clone();
        let sub = ctx.socket(SocketType::Sub);
        sub.set_option(SocketOption::Subscribe(Bytes::from_static(b"A")))
            .unwrap();
        let mon = sub.monitor();
        sub.connect(&ep).unwrap();
        for life in 0..4 {
            let wanted = format!("A life{life} ");
            loop {
                let t = text(&sub.recv_timeout(T).unwrap());
                assert!(t.starts_with("A "), "{ep}: unsubscribed message {t:?}");
                if t.starts_with(&wanted) {
                    break;
                }
                let previous = format!("A life{} ", life.max(1) - 1);
                assert!(
                    t.starts_with(&previous),
                    "{ep}: {t:?} while waiting for life {life}"
                );
            }
            if life < 3 {
                publisher.kill();
                wait_disconnected(&mon);
                publisher = Peer::spawn(&["pub", "bind", &ep, &format!("life{}", life + 1)]);
            }
        }
    }
}

/// SUB -> child XPUB (XPUB_VERBOSER: it prints every subscription message), killed and
/// restarted on its endpoint. Subscriptions are counted: A, B twice, C, D, then B and D
/// cancelled once leave A, B and C. The first publisher sees each subscribe and the cancel of
/// D only; the restarted one is sent the current set, A, B and C, each once, and not D.
#[test]
fn restarted_publisher_gets_the_current_subscriptions() {
    let _process = share_process();
    let (_ipc, endpoints) = bind_endpoints("xpub");
    for bind in endpoints {
        let ctx = Context::new();
        let mut first = Peer::spawn(&["xpub", "bind", &bind]);
        let ep = first.endpoint.clone();
        let sub = ctx.socket(SocketType::Sub);
        let mon = sub.monitor();
        sub.connect(&ep).unwrap();
        let set = |option: fn(Bytes) -> SocketOption, topic: &'static str| {
            sub.set_option(option(Bytes::from_static(topic.as_bytes())))
                .unwrap();
        };
        // Subscriptions made before the connection is up are sent as a set: A first, and
        // once it arrived the rest travel one by one.
        set(SocketOption::Subscribe, "A");
        assert_eq!(first.line(), "subscribe A");
        for topic in ["B", "B", "C", "D"] {
            set(SocketOption::Subscribe, topic);
        }
        set(SocketOption::Unsubscribe, "B");
        set(SocketOption::Unsubscribe, "D");
        let lines: Vec<String> = (0..5).map(|_| first.line()).collect();
        let expected = [
            "subscribe B",
            "subscribe B",
            "subscribe C",
            "subscribe D",
            "unsubscribe D",
        ];
        assert_eq!(lines, expected, "{ep}: first publisher");
        first.kill();
        wait_disconnected(&mon);

        let second = Peer::spawn(&["xpub", "bind", &ep]);
        let mut got = Vec::new();
        let current = ["subscribe A", "subscribe B", "subscribe C"];
        while !current.iter().all(|s| got.contains(&s.to_string())) {
            got.push(second.line());
        }
        // Sent after the set: anything of the set still to come would come before it.
        set(SocketOption::Subscribe, "Y");
        loop {
            let line = second.line();
            if line == "subscribe Y" {
                break;
            }
            got.push(line);
        }
        got.sort();
        assert_eq!(got, current, "{ep}: restarted publisher");
    }
}
