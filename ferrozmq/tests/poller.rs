//! The poller: readable/writable reporting per socket type over tcp and inproc, descriptors,
//! time-outs, wakes from other threads, closed sockets, and the ROUTER case that motivated it
//! (a thread in `wait(None)` while workers reply on the same socket) with its wake-up count.
//! Also the async side: many sockets in one `select!`, and `Poller::wait_async`.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use futures::FutureExt;

use ferrozmq::{
    Context, Interest, Message, PollError, PollEvent, Poller, PollerKey, PollerStats, RecvError,
    SendErrorKind, Socket, SocketOption, SocketType,
};

/// Failure guard only: every wait that must succeed gets this long.
const T: Option<Duration> = Some(Duration::from_secs(20));
const NOW: Option<Duration> = Some(Duration::ZERO);
const RW: Interest = Interest::READABLE.union(Interest::WRITABLE);

/// Runs `f` on a thread; `finished` on the receiver turns a hang into a failure.
fn spawn<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Receiver<R> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

fn finished<R>(rx: Receiver<R>, what: &str) -> R {
    rx.recv_timeout(T.unwrap())
        .unwrap_or_else(|_| panic!("{what} did not finish: a wake-up was lost"))
}

fn endpoints(name: &str) -> [String; 2] {
    ["tcp://127.0.0.1:*".to_owned(), format!("inproc://{name}")]
}

/// `(key, readable, writable)` of each event, for whole-list assertions.
fn summary(events: &[PollEvent]) -> Vec<(PollerKey, bool, bool)> {
    events
        .iter()
        .map(|e| (e.key(), e.is_readable(), e.is_writable()))
        .collect()
}

/// A wait that must be ended by readiness, not by its guard time-out (which would mean a
/// lost wake-up that only the last look before giving up papered over).
fn wait_woken(poller: &mut Poller<'_>, events: &mut Vec<PollEvent>) -> usize {
    let start = Instant::now();
    let n = poller.wait(events, T).unwrap();
    assert!(
        start.elapsed() < T.unwrap(),
        "guard expired: a wake-up was lost"
    );
    n
}

/// Waits (guarded) until an event for `key` satisfies `pred`; returns the whole event list.
fn wait_until(
    poller: &mut Poller<'_>,
    key: PollerKey,
    pred: impl Fn(&PollEvent) -> bool,
) -> Vec<PollEvent> {
    let mut events = Vec::new();
    loop {
        wait_woken(poller, &mut events);
        if events.iter().any(|e| e.key() == key && pred(e)) {
            return events;
        }
    }
}

#[test]
fn push_pull_readable_and_writable() {
    for ep in endpoints("poll-push-pull") {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull);
        let ep = pull.bind(&ep).unwrap();
        let push = ctx.socket(SocketType::Push);
        push.connect(&ep).unwrap();
        let mut poller = Poller::new().unwrap();
        let kpull = poller.add(&pull, RW);
        let kpush = poller.add(&push, RW);
        let mut events = Vec::new();

        // A connected PUSH may queue at once; nothing is readable; PULL never writable.
        assert_eq!(poller.wait(&mut events, NOW).unwrap(), 1, "{ep}");
        assert_eq!(summary(&events), [(kpush, false, true)], "{ep}");

        push.send("x").unwrap();
        let events = wait_until(&mut poller, kpull, PollEvent::is_readable);
        assert_eq!(
            summary(&events),
            [(kpull, true, false), (kpush, false, true)],
            "{ep}"
        );
        // Level-triggered: still readable until received.
        let mut events = Vec::new();
        poller.wait(&mut events, NOW).unwrap();
        assert!(events.iter().any(|e| e.key() == kpull && e.is_readable()));
        assert_eq!(&pull.try_recv().unwrap().frames()[0][..], b"x");
        poller.wait(&mut events, NOW).unwrap();
        assert_eq!(summary(&events), [(kpush, false, true)], "{ep}");
    }
}

#[test]
fn req_rep_readiness_follows_the_state_machine() {
    for ep in endpoints("poll-req-rep") {
        let ctx = Context::new();
        let rep = ctx.socket(SocketType::Rep);
        let ep = rep.bind(&ep).unwrap();
        let req = ctx.socket(SocketType::Req);
        req.connect(&ep).unwrap();
        let mut poller = Poller::new().unwrap();
        let kreq = poller.add(&req, RW);
        let krep = poller.add(&rep, RW);
        let mut events = Vec::new();

        // REQ may send; REP has no request, so it can neither receive nor reply.
        poller.wait(&mut events, NOW).unwrap();
        assert_eq!(summary(&events), [(kreq, false, true)], "{ep}");

        req.send("ping").unwrap();
        // REQ awaits its reply: neither; REP becomes readable when the request arrives.
        let events = wait_until(&mut poller, krep, PollEvent::is_readable);
        assert_eq!(summary(&events), [(krep, true, false)], "{ep}");

        let m = rep.try_recv().unwrap();
        let mut events = Vec::new();
        poller.wait(&mut events, NOW).unwrap();
        assert_eq!(summary(&events), [(krep, false, true)], "{ep}");

        rep.send(m).unwrap();
        let events = wait_until(&mut poller, kreq, PollEvent::is_readable);
        assert_eq!(summary(&events), [(kreq, true, false)], "{ep}");
        assert_eq!(&req.try_recv().unwrap().frames()[0][..], b"ping");
        let mut events = Vec::new();
        poller.wait(&mut events, NOW).unwrap();
        assert_eq!(summary(&events), [(kreq, false, true)], "{ep}");
    }
}

#[test]
fn router_is_always_writable_and_readable_on_input() {
    for ep in endpoints("poll-router") {
        let ctx = Context::new();
        let router = ctx.socket(SocketType::Router);
        let ep = router.bind(&ep).unwrap();
        let dealer = ctx.socket(SocketType::Dealer);
        dealer
            .set_option(SocketOption::RoutingId("d1".into()))
            .unwrap();
        dealer.connect(&ep).unwrap();
        let mut poller = Poller::new().unwrap();
        let krouter = poller.add(&router, RW);
        let mut events = Vec::new();

        poller.wait(&mut events, NOW).unwrap();
        assert_eq!(summary(&events), [(krouter, false, true)], "{ep}");

        // Only readability asked: the wait sleeps until the dealer's message is in.
        poller.modify(krouter, Interest::READABLE).unwrap();
        dealer.send("hello").unwrap();
        assert_eq!(wait_woken(&mut poller, &mut events), 1, "{ep}");
        assert_eq!(summary(&events), [(krouter, true, false)], "{ep}");
        let m = router.try_recv().unwrap();
        assert_eq!(&m.frames()[0][..], b"d1");
        assert_eq!(&m.frames()[1][..], b"hello");
    }
}

/// A sender that filled the peer's queue (a send was refused) is woken when it drains.
#[test]
fn writable_again_when_a_full_queue_drains() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.bind("inproc://poll-hwm").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::SndHwm(4)).unwrap();
    push.connect("inproc://poll-hwm").unwrap();
    let mut sent = 0;
    loop {
        match push.try_send(format!("{sent}")) {
            Ok(()) => sent += 1,
            Err(e) if e.kind() == SendErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(sent >= 4);
    let mut poller = Poller::new().unwrap();
    let kpush = poller.add(&push, Interest::WRITABLE);
    let mut events = Vec::new();
    assert_eq!(poller.wait(&mut events, NOW).unwrap(), 0);

    let receiver = thread::spawn(move || {
        for _ in 0..sent {
            pull.recv_timeout(T).unwrap();
        }
        pull
    });
    assert_eq!(wait_woken(&mut poller, &mut events), 1);
    assert_eq!(summary(&events), [(kpush, false, true)]);
    let _pull = receiver.join().unwrap();
}

/// A queue filled exactly to its HWM by sends that all succeeded (none refused) must also
/// report writable once it drains.
#[test]
fn writable_again_after_filling_exactly_to_hwm() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.bind("inproc://poll-hwm-exact").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::SndHwm(4)).unwrap();
    push.connect("inproc://poll-hwm-exact").unwrap();
    for i in 0..4 {
        push.try_send(format!("{i}")).unwrap();
    }
    let mut poller = Poller::new().unwrap();
    let kpush = poller.add(&push, Interest::WRITABLE);
    let mut events = Vec::new();
    assert_eq!(poller.wait(&mut events, NOW).unwrap(), 0);

    let receiver = thread::spawn(move || {
        for _ in 0..4 {
            pull.recv_timeout(T).unwrap();
        }
        pull
    });
    assert_eq!(wait_woken(&mut poller, &mut events), 1);
    assert_eq!(summary(&events), [(kpush, false, true)]);
    let _pull = receiver.join().unwrap();
}

#[test]
fn file_descriptors_readable_writable_and_hang_up() {
    let (a, b) = UnixStream::pair().unwrap();
    let mut poller = Poller::new().unwrap();
    let kb = poller.add_fd(b.as_fd(), Interest::READABLE);
    let ka = poller.add_fd(a.as_fd(), Interest::WRITABLE);
    let mut events = Vec::new();

    poller.wait(&mut events, NOW).unwrap();
    assert_eq!(summary(&events), [(ka, false, true)]);

    (&a).write_all(b"x").unwrap();
    wait_woken(&mut poller, &mut events);
    assert_eq!(summary(&events), [(kb, true, false), (ka, false, true)]);
    let mut buf = [0u8; 8];
    assert_eq!((&b).read(&mut buf).unwrap(), 1);
    poller.wait(&mut events, NOW).unwrap();
    assert_eq!(summary(&events), [(ka, false, true)]);

    // The peer goes away (shuts both directions; the borrow keeps it open): readable (EOF)
    // and an error (POLLHUP), whatever was asked.
    poller.remove(ka).unwrap();
    a.shutdown(std::net::Shutdown::Both).unwrap();
    wait_woken(&mut poller, &mut events);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].key(), kb);
    assert!(events[0].is_readable() && events[0].is_error());
}

#[test]
fn sockets_and_descriptors_in_one_wait() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    let mut poller = Poller::new().unwrap();
    let kfd = poller.add_fd(b.as_fd(), Interest::READABLE);
    let kpull = poller.add(&pull, Interest::READABLE);
    let mut events = Vec::new();

    // The descriptor alone wakes the wait ...
    (&a).write_all(b"x").unwrap();
    wait_woken(&mut poller, &mut events);
    assert_eq!(summary(&events), [(kfd, true, false)]);
    (&b).read_exact(&mut [0u8; 1]).unwrap();
    // ... and the socket alone; then both at once (sockets listed first).
    push.send("m").unwrap();
    let events = wait_until(&mut poller, kpull, PollEvent::is_readable);
    assert_eq!(summary(&events), [(kpull, true, false)]);
    (&a).write_all(b"y").unwrap();
    let events = wait_until(&mut poller, kfd, PollEvent::is_readable);
    assert_eq!(summary(&events), [(kpull, true, false), (kfd, true, false)]);
}

#[test]
fn time_out_returns_zero_events() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.bind("inproc://poll-timeout").unwrap();
    let (_a, b) = UnixStream::pair().unwrap();
    let mut poller = Poller::new().unwrap();
    poller.add(&pull, Interest::READABLE);
    let mut events = vec![];
    // A zero time-out just looks; a short one sleeps at least that long, with and without a
    // descriptor item.
    assert_eq!(poller.wait(&mut events, NOW).unwrap(), 0);
    for with_fd in [false, true] {
        if with_fd {
            poller.add_fd(b.as_fd(), Interest::READABLE);
        }
        let timeout = Duration::from_millis(30);
        let start = Instant::now();
        assert_eq!(poller.wait(&mut events, Some(timeout)).unwrap(), 0);
        assert!(events.is_empty());
        assert!(start.elapsed() >= timeout, "returned before its time-out");
    }
    // Nothing woke it: every sleep ended by its time-out.
    assert_eq!(poller.stats().wakeups, 0);
}

#[test]
fn waker_releases_a_wait_with_no_time_out() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.bind("inproc://poll-waker").unwrap();
    let mut poller = Poller::new().unwrap();
    poller.add(&pull, Interest::READABLE);
    let waker = poller.waker();
    let ready = Arc::new(Barrier::new(2));
    let waiter = {
        let ready = ready.clone();
        spawn(move || {
            let mut events = Vec::new();
            ready.wait();
            let n = poller.wait(&mut events, None).unwrap();
            (n, poller)
        })
    };
    ready.wait();
    // Whether this lands before or during the wait, that wait returns (the contract).
    thread::spawn(move || waker.wake()).join().unwrap();
    let (n, mut poller) = finished(waiter, "wait(None)");
    assert_eq!(n, 0);

    // A wake before a wait makes that wait return at once; it is consumed by it.
    poller.waker().wake();
    let mut events = Vec::new();
    assert_eq!(poller.wait(&mut events, None).unwrap(), 0);
    assert_eq!(poller.wait(&mut events, NOW).unwrap(), 0);
}

#[test]
fn closed_socket_is_reported_as_an_error() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.bind("inproc://poll-closed").unwrap();
    let mut poller = Poller::new().unwrap();
    let key = poller.add(&pull, Interest::READABLE);
    let ready = Arc::new(Barrier::new(2));
    let waiter = {
        let ready = ready.clone();
        thread::spawn(move || {
            let mut events = Vec::new();
            ready.wait();
            wait_woken(&mut poller, &mut events);
            events
        })
    };
    ready.wait();
    pull.close();
    let events = waiter.join().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].key(), key);
    assert!(events[0].is_error() && !events[0].is_readable());
}

#[test]
fn unknown_keys_are_refused() {
    let mut poller = Poller::new().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    let k = poller.add_fd(a.as_fd(), Interest::READABLE);
    poller.remove(k).unwrap();
    assert!(matches!(poller.remove(k), Err(PollError::UnknownKey(x)) if x == k));
    assert!(matches!(
        poller.modify(k, Interest::WRITABLE),
        Err(PollError::UnknownKey(_))
    ));
    assert!(poller.is_empty());
}

// ---- the ROUTER case ----

/// CPU time used so far by the process, or by the calling thread.
#[allow(unsafe_code, reason = "getrusage(2) has no wrapper in std")]
fn cpu_time(thread_only: bool) -> Duration {
    let who = if thread_only {
        libc::RUSAGE_THREAD
    } else {
        libc::RUSAGE_SELF
    };
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `ru` is a writable rusage-sized buffer that outlives the call.
    let rc = unsafe { libc::getrusage(who, ru.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
    // SAFETY: zero-initialised plain integers, and getrusage succeeded in filling them.
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.unsigned_abs())
            + Duration::from_micros(t.tv_usec.unsigned_abs())
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Rounds of one request per REQ socket, run by `threads` threads over `per_thread` sockets.
fn run_req_clients(
    ctx: &Context,
    ep: &str,
    threads: usize,
    per_thread: usize,
    rounds: usize,
) -> Vec<thread::JoinHandle<()>> {
    (0..threads)
        .map(|t| {
            let reqs: Vec<Socket> = (0..per_thread)
                .map(|_| {
                    let req = ctx.socket(SocketType::Req);
                    req.connect(ep).unwrap();
                    req
                })
                .collect();
            thread::spawn(move || {
                for round in 0..rounds {
                    for (i, req) in reqs.iter().enumerate() {
                        req.send(format!("{t}.{i}.{round}")).unwrap();
                    }
                    for (i, req) in reqs.iter().enumerate() {
                        let reply = req.recv_timeout(T).expect("reply");
                        assert_eq!(
                            &reply.frames()[0][..],
                            format!("re:{t}.{i}.{round}").as_bytes()
                        );
                    }
                }
            })
        })
        .collect()
}

/// `[id, "", body]` -> `[id, "", "re:" + body]`.
fn reply_to(mut m: Message) -> Message {
    let body = m.pop_back().unwrap();
    let mut r = b"re:".to_vec();
    r.extend_from_slice(&body);
    m.push_back(r);
    m
}

/// Drains the ROUTER after each wake-up and hands requests to workers; returns what it took.
fn router_poll_loop(
    router: &Socket,
    total: usize,
    mut on_request: impl FnMut(Message),
    mut on_wake: impl FnMut(&Socket),
    poller: &mut Poller<'_>,
) -> usize {
    let key = poller.add(router, Interest::READABLE);
    let mut events = Vec::new();
    let mut received = 0;
    while received < total {
        poller.wait(&mut events, None).unwrap();
        on_wake(router);
        if events.iter().any(|e| e.key() == key && e.is_readable()) {
            loop {
                match router.try_recv() {
                    Ok(m) => {
                        received += 1;
                        on_request(m);
                    }
                    Err(RecvError::WouldBlock) => break,
                    Err(e) => panic!("router: {e}"),
                }
            }
        }
    }
    received
}

fn report(label: &str, received: usize, stats: PollerStats, poller_cpu: Duration, wall: Duration) {
    println!(
        "{label}: {received} requests in {wall:.2?}; poller: {} sleeps, {} wake-ups \
         ({} spurious), {} wake signals, {:.1} requests per wake-up, poller thread CPU \
         {poller_cpu:.2?}; process CPU {:.2?}",
        stats.sleeps,
        stats.wakeups,
        stats.spurious_wakeups,
        stats.wake_signals,
        received as f64 / stats.wakeups.max(1) as f64,
        cpu_time(false),
    );
}

/// The case that started the library: one thread in `wait(None)` on a ROUTER, 4 workers
/// replying on the same socket concurrently, 100 REQ clients, 100,000 requests. Every reply
/// must arrive, and the poller must not spin: it sleeps at most once per request received
/// (it in fact drains several per wake-up).
#[test]
fn router_poller_with_four_workers_replying_does_not_spin() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 25;
    const ROUNDS: usize = 1000;
    const TOTAL: usize = THREADS * PER_THREAD * ROUNDS;
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    let ep = router.bind("tcp://127.0.0.1:*").unwrap();
    let (tx, rx) = crossbeam_channel::unbounded::<Message>();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (rx, router) = (rx.clone(), router.clone());
            thread::spawn(move || {
                for m in rx {
                    router.send(reply_to(m)).unwrap();
                }
            })
        })
        .collect();
    let start = Instant::now();
    let poll_thread = {
        let router = router.clone();
        spawn(move || {
            let mut poller = Poller::new().unwrap();
            let cpu0 = cpu_time(true);
            let n = router_poll_loop(&router, TOTAL, |m| tx.send(m).unwrap(), |_| {}, &mut poller);
            (n, poller.stats(), cpu_time(true) - cpu0)
        })
    };
    let clients = run_req_clients(&ctx, &ep, THREADS, PER_THREAD, ROUNDS);
    for c in clients {
        c.join().unwrap();
    }
    let (received, stats, poller_cpu) = finished(poll_thread, "the poller thread");
    for w in workers {
        w.join().unwrap();
    }
    report(
        "workers reply",
        received,
        stats,
        poller_cpu,
        start.elapsed(),
    );
    assert_eq!(received, TOTAL);
    // Each sleep ends with at least one request to take, except the wake-ups that a peer
    // attaching causes (one per client, at most).
    assert!(
        stats.sleeps <= (received + THREADS * PER_THREAD) as u64 + 2,
        "poller slept {} times for {received} requests: it spins",
        stats.sleeps
    );
    assert!(stats.wakeups <= stats.sleeps);
}

/// The libzmq way round: workers hand replies back to the polling thread, which sends them.
/// A worker wakes the poller with a `PollerWaker` (no extra socket); each reply costs at most
/// one wake-up, each request at most one.
#[test]
fn router_poller_woken_by_workers_sends_their_replies() {
    const THREADS: usize = 2;
    const PER_THREAD: usize = 10;
    const ROUNDS: usize = 500;
    const TOTAL: usize = THREADS * PER_THREAD * ROUNDS;
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    let ep = router.bind("tcp://127.0.0.1:*").unwrap();
    let mut poller = Poller::new().unwrap();
    let (req_tx, req_rx) = crossbeam_channel::unbounded::<Message>();
    let (rep_tx, rep_rx) = crossbeam_channel::unbounded::<Message>();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (req_rx, rep_tx, waker) = (req_rx.clone(), rep_tx.clone(), poller.waker());
            thread::spawn(move || {
                for m in req_rx {
                    rep_tx.send(reply_to(m)).unwrap();
                    waker.wake();
                }
            })
        })
        .collect();
    drop(rep_tx);
    let start = Instant::now();
    let poll_thread = {
        let router = router.clone();
        spawn(move || {
            let mut sent = 0;
            let send_replies = |router: &Socket, sent: &mut usize| {
                for r in rep_rx.try_iter() {
                    router.send(r).unwrap();
                    *sent += 1;
                }
            };
            let cpu0 = cpu_time(true);
            let n = router_poll_loop(
                &router,
                TOTAL,
                |m| req_tx.send(m).unwrap(),
                |router| send_replies(router, &mut sent),
                &mut poller,
            );
            drop(req_tx);
            // The last replies: wait for the workers' wakes until all are out.
            let mut events = Vec::new();
            while sent < TOTAL {
                wait_woken(&mut poller, &mut events);
                send_replies(&router, &mut sent);
            }
            (n, poller.stats(), cpu_time(true) - cpu0)
        })
    };
    let clients = run_req_clients(&ctx, &ep, THREADS, PER_THREAD, ROUNDS);
    for c in clients {
        c.join().unwrap();
    }
    let (received, stats, poller_cpu) = finished(poll_thread, "the poller thread");
    for w in workers {
        w.join().unwrap();
    }
    report("poller sends", received, stats, poller_cpu, start.elapsed());
    assert_eq!(received, TOTAL);
    assert!(
        stats.sleeps <= (2 * received + THREADS * PER_THREAD) as u64 + 2,
        "poller slept {} times for {received} requests and replies: it spins",
        stats.sleeps
    );
}

// ---- async ----

/// Many sockets in one `futures::select!`: each message is taken exactly once, whichever
/// branch wins (a losing `recv_async` future takes nothing when dropped).
#[test]
fn many_sockets_in_one_futures_select() {
    let ctx = Context::new();
    let pulls: Vec<Socket> = (0..3).map(|_| ctx.socket(SocketType::Pull)).collect();
    let pushes: Vec<Socket> = pulls
        .iter()
        .enumerate()
        .map(|(i, pull)| {
            pull.bind(&format!("inproc://poll-select-{i}")).unwrap();
            let push = ctx.socket(SocketType::Push);
            push.connect(&format!("inproc://poll-select-{i}")).unwrap();
            push
        })
        .collect();
    let sender = thread::spawn(move || {
        for n in 0..300u32 {
            pushes[(n % 3) as usize]
                .send(n.to_be_bytes().to_vec())
                .unwrap();
        }
        pushes
    });
    let selecting = spawn(move || {
        let mut got = vec![Vec::new(); 3];
        futures::executor::block_on(async {
            for _ in 0..300 {
                let (i, m) = futures::select! {
                    m = pulls[0].recv_async().fuse() => (0, m),
                    m = pulls[1].recv_async().fuse() => (1, m),
                    m = pulls[2].recv_async().fuse() => (2, m),
                };
                let n = u32::from_be_bytes(m.unwrap().frames()[0][..].try_into().unwrap());
                got[i].push(n);
            }
        });
        got
    });
    let got = finished(selecting, "the select loop");
    let _pushes = sender.join().unwrap();
    for (i, g) in got.iter().enumerate() {
        let expected: Vec<u32> = (0..300).filter(|n| n % 3 == i as u32).collect();
        assert_eq!(g, &expected, "socket {i}");
    }
}

/// The same under tokio, mixing a receive, a send and a timer branch.
#[test]
fn sockets_in_tokio_select_with_send_and_timer() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    let out = ctx.socket(SocketType::Push);
    out.set_option(SocketOption::SndHwm(1)).unwrap(); // no peer: the queue fills at once
    out.connect("inproc://poll-tokio-nobody").unwrap();
    rt.block_on(async {
        let feeder = tokio::spawn({
            let push = push.clone();
            async move {
                for i in 0..100u32 {
                    push.send_async(i.to_be_bytes().to_vec()).await.unwrap();
                }
            }
        });
        let mut received = 0u32;
        let mut sent_out = 0;
        let guard = tokio::time::sleep(T.unwrap());
        tokio::pin!(guard);
        while received < 100 {
            tokio::select! {
                m = pull.recv_async() => {
                    let m = m.unwrap();
                    assert_eq!(m.frames()[0][..], received.to_be_bytes());
                    received += 1;
                }
                r = out.send_async("queued") => { r.unwrap(); sent_out += 1; }
                _ = &mut guard => panic!("select timed out"),
            }
        }
        feeder.await.unwrap();
        // The PUSH with no peer took exactly its HWM, then its send stayed pending.
        assert_eq!(sent_out, 1);
    });
}

/// `Poller::wait_async`: one future for many sockets, woken by the sockets themselves.
#[test]
fn wait_async_reports_sockets_under_any_executor() {
    let ctx = Context::new();
    let mut poller = Poller::new().unwrap();
    let mut pulls = Vec::new();
    let mut pushes = Vec::new();
    let mut keys = Vec::new();
    for i in 0..4 {
        let pull = ctx.socket(SocketType::Pull);
        let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
        let push = ctx.socket(SocketType::Push);
        push.connect(&ep).unwrap();
        keys.push(poller.add(&pull, Interest::READABLE));
        pulls.push(pull);
        pushes.push((i, push));
    }
    let sender = thread::spawn(move || {
        for round in 0..50u32 {
            for (i, push) in &pushes {
                push.send(format!("{i}:{round}")).unwrap();
            }
        }
        pushes
    });
    let waiting = spawn(move || {
        let mut counts = [0u32; 4];
        futures::executor::block_on(async {
            let mut events = Vec::new();
            while counts.iter().sum::<u32>() < 200 {
                let n = poller.wait_async(&mut events).await.unwrap();
                assert!(
                    n > 0,
                    "no wake was requested, so only readiness ends a wait"
                );
                for e in &events {
                    let i = keys.iter().position(|k| *k == e.key()).unwrap();
                    while let Ok(m) = pulls[i].try_recv() {
                        let expected = format!("{i}:{}", counts[i]);
                        assert_eq!(m.frames()[0], expected.as_bytes());
                        counts[i] += 1;
                    }
                }
            }
        });
        counts
    });
    let counts = finished(waiting, "the wait_async loop");
    let _pushes = sender.join().unwrap();
    assert_eq!(counts, [50; 4]);
}

#[test]
fn wait_async_is_released_by_the_waker_and_refuses_descriptors() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.bind("inproc://poll-async-wake").unwrap();
    let mut poller = Poller::new().unwrap();
    poller.add(&pull, Interest::READABLE);
    let waker = poller.waker();
    let waking = thread::spawn(move || waker.wake());
    let waiting = spawn(move || {
        let mut events = Vec::new();
        let n = futures::executor::block_on(poller.wait_async(&mut events)).unwrap();
        (n, poller)
    });
    let (n, mut poller) = finished(waiting, "wait_async");
    assert_eq!(n, 0);
    waking.join().unwrap();
    let mut events = Vec::new();

    let (a, _b) = UnixStream::pair().unwrap();
    let k = poller.add_fd(a.as_fd(), Interest::READABLE);
    let r = futures::executor::block_on(poller.wait_async(&mut events));
    assert!(matches!(r, Err(PollError::FdInAsyncWait(x)) if x == k));
}
