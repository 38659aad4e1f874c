//! The poller's motivating case, measured: one thread blocked in `Poller::wait(None)` on a
//! ROUTER, worker threads replying, REQ clients over tcp. Prints how often the poller slept
//! and woke and the CPU time it used, for two designs:
//!
//! - `workers-send`: workers send their replies on the shared ROUTER themselves (ferrozmq
//!   sockets are thread-safe), so the poller only wakes for requests;
//! - `poller-sends`: the libzmq way round, workers hand replies back through a channel and
//!   wake the poller with a `PollerWaker` (no extra socket), and the poller sends them.
//!
//! `cargo run --release --example poller_router -- [CLIENTS] [REQUESTS]` (default 100 and
//! 100000).

use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, Interest, Message, Poller, PollerStats, RecvError, Socket, SocketType};

const WORKERS: usize = 4;
const CLIENT_THREADS: usize = 4;

fn main() {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().map_or(100, |a| a.parse().expect("CLIENTS"));
    let requests: usize = args
        .next()
        .map_or(100_000, |a| a.parse().expect("REQUESTS"));
    let per_thread = clients.div_ceil(CLIENT_THREADS);
    let rounds = requests.div_ceil(per_thread * CLIENT_THREADS);
    let total = rounds * per_thread * CLIENT_THREADS;
    println!(
        "{} REQ clients on {CLIENT_THREADS} threads, {total} requests, {WORKERS} workers, tcp",
        per_thread * CLIENT_THREADS
    );
    println!(
        "{:<13} {:>9} {:>8} {:>8} {:>9} {:>8} {:>9} {:>11} {:>12} {:>12}",
        "design",
        "wall",
        "sleeps",
        "wakeups",
        "spurious",
        "signals",
        "req/wake",
        "poller CPU",
        "CPU/request",
        "process CPU"
    );
    for poller_sends in [false, true] {
        let cpu0 = cpu_time(false);
        let r = run(poller_sends, per_thread, rounds);
        let process_cpu = cpu_time(false) - cpu0;
        println!(
            "{:<13} {:>9.2?} {:>8} {:>8} {:>9} {:>8} {:>9.1} {:>11.2?} {:>12.2?} {:>12.2?}",
            if poller_sends {
                "poller-sends"
            } else {
                "workers-send"
            },
            r.wall,
            r.stats.sleeps,
            r.stats.wakeups,
            r.stats.spurious_wakeups,
            r.stats.wake_signals,
            r.received as f64 / r.stats.wakeups.max(1) as f64,
            r.poller_cpu,
            r.poller_cpu / r.received.max(1) as u32,
            process_cpu,
        );
    }
}

struct Run {
    received: usize,
    stats: PollerStats,
    poller_cpu: Duration,
    wall: Duration,
}

fn run(poller_sends: bool, per_thread: usize, rounds: usize) -> Run {
    let total = per_thread * CLIENT_THREADS * rounds;
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    let ep = router.bind("tcp://127.0.0.1:*").expect("bind");
    let mut poller = Poller::new().expect("poller");
    let key = poller.add(&router, Interest::READABLE);
    let (req_tx, req_rx) = crossbeam_channel::unbounded::<Message>();
    let (rep_tx, rep_rx) = crossbeam_channel::unbounded::<Message>();
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (req_rx, rep_tx) = (req_rx.clone(), rep_tx.clone());
            let (router, waker) = (router.clone(), poller.waker());
            thread::spawn(move || {
                for m in req_rx {
                    let reply = reply_to(m);
                    if poller_sends {
                        rep_tx.send(reply).expect("reply channel");
                        waker.wake();
                    } else {
                        router.send(reply).expect("send");
                    }
                }
            })
        })
        .collect();
    drop((req_rx, rep_tx));

    let start = Instant::now();
    let poll_thread = {
        let router = router.clone();
        thread::spawn(move || {
            let cpu0 = cpu_time(true);
            let mut events = Vec::new();
            let (mut received, mut sent) = (0, 0);
            let sent_target = if poller_sends { total } else { 0 };
            while received < total || sent < sent_target {
                poller.wait(&mut events, None).expect("wait");
                for r in rep_rx.try_iter() {
                    router.send(r).expect("send");
                    sent += 1;
                }
                if events.iter().any(|e| e.key() == key && e.is_readable()) {
                    loop {
                        match router.try_recv() {
                            Ok(m) => {
                                received += 1;
                                req_tx.send(m).expect("request channel");
                            }
                            Err(RecvError::WouldBlock) => break,
                            Err(e) => panic!("router: {e}"),
                        }
                    }
                }
            }
            (received, poller.stats(), cpu_time(true) - cpu0)
        })
    };
    let clients: Vec<_> = (0..CLIENT_THREADS)
        .map(|_| {
            let reqs: Vec<Socket> = (0..per_thread)
                .map(|_| {
                    let req = ctx.socket(SocketType::Req);
                    req.connect(&ep).expect("connect");
                    req
                })
                .collect();
            thread::spawn(move || {
                for round in 0..rounds {
                    for req in &reqs {
                        req.send(round.to_string()).expect("request");
                    }
                    for req in &reqs {
                        let reply = req.recv().expect("reply");
                        assert_eq!(reply.frames()[0], format!("re:{round}").as_bytes());
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    let wall = start.elapsed();
    let (received, stats, poller_cpu) = poll_thread.join().expect("poller thread");
    for w in workers {
        w.join().expect("worker");
    }
    Run {
        received,
        stats,
        poller_cpu,
        wall,
    }
}

/// `[id, "", body]` -> `[id, "", "re:" + body]`.
fn reply_to(mut m: Message) -> Message {
    let body = m.pop_back().unwrap_or_default();
    let mut r = b"re:".to_vec();
    r.extend_from_slice(&body);
    m.push_back(r);
    m
}

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
