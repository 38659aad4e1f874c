//! Regression tests for the reliability fixes that a single process can show: extreme option
//! values that once killed the I/O thread, messages of the default context flushed at exit
//! (a child process sends and returns from `main`), the cap on a peer's subscriptions, and
//! XPUB's bounded receive queue. Floods from raw peers, measured in memory, live in the reliability
//! suite (`reliability/tests/suite/floods.rs`).

mod common;

use std::time::Duration;

use common::{subscribe, text, unsubscribe};
use ferrozmq::{Context, Message, Socket, SocketOption, SocketType};

const T: Option<Duration> = Some(Duration::from_secs(10));

/// A PUSH/PULL pair in `ctx` still moves a message over tcp.
fn context_still_works(ctx: &Context) {
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    push.send("alive").unwrap();
    assert_eq!(text(&pull.recv_timeout(T).unwrap()), ["alive"]);
}

/// An endpoint nobody listens on (yet): bound once for its port, then released.
fn free_tcp_endpoint(ctx: &Context) -> String {
    let probe = ctx.socket(SocketType::Pull);
    let ep = probe.bind("tcp://127.0.0.1:*").unwrap();
    probe.close();
    ep
}

#[test]
fn linger_of_u64_max_seconds_neither_panics_nor_loses_messages() {
    let ctx = Context::new();
    let ep = free_tcp_endpoint(&ctx);
    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::Linger(Some(Duration::from_secs(u64::MAX))))
        .unwrap();
    push.connect(&ep).unwrap();
    push.send("kept").unwrap();
    // Closing with a message queued computes the linger deadline: `now + u64::MAX s`
    // panicked the I/O thread, and every socket of the context stopped.
    push.close();
    context_still_works(&ctx);
    // A deadline too far to represent is no deadline: the message waits for its peer.
    let pull = ctx.socket(SocketType::Pull);
    pull.bind(&ep).unwrap();
    assert_eq!(text(&pull.recv_timeout(T).unwrap()), ["kept"]);
}

#[test]
fn reconnect_interval_of_u64_max_seconds_does_not_kill_the_io_thread() {
    let ctx = Context::new();
    let ep = free_tcp_endpoint(&ctx);
    let push = ctx.socket(SocketType::Push);
    let forever = Some(Duration::from_secs(u64::MAX));
    push.set_option(SocketOption::ReconnectIvl(forever))
        .unwrap();
    push.set_option(SocketOption::ReconnectIvlMax(forever))
        .unwrap();
    let monitor = push.monitor();
    // The refused connect schedules a retry `now + u64::MAX s` away.
    push.connect(&ep).unwrap();
    let retried = (&monitor).find_map(|e| match e.kind {
        ferrozmq::MonitorEventKind::ConnectRetried { interval } => Some(interval),
        _ => None,
    });
    assert_eq!(retried, Some(Duration::from_secs(u64::MAX)));
    context_still_works(&ctx);
}

const EXIT_CHILD: &str = "FERROZMQ_TEST_EXIT_FLUSH_ENDPOINT";
const EXIT_MESSAGES: usize = 400;
const EXIT_SIZE: usize = 64 * 1024;

#[test]
fn default_context_flushes_queued_messages_at_exit() {
    if let Ok(ep) = std::env::var(EXIT_CHILD) {
        // The child: send on the default context, then return; the test harness exits the
        // process right after, with 25 MiB still queued.
        let push = Socket::new(SocketType::Push);
        push.connect(&ep).unwrap();
        for i in 0..EXIT_MESSAGES {
            push.send(vec![(i % 251) as u8; EXIT_SIZE]).unwrap();
        }
        return;
    }
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "default_context_flushes_queued_messages_at_exit",
            "--exact",
            "--test-threads=1",
        ])
        .env(EXIT_CHILD, &ep)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "child failed: {status}");
    // The child is gone: whatever arrives now was flushed before it exited.
    for i in 0..EXIT_MESSAGES {
        let m = pull
            .recv_timeout(T)
            .unwrap_or_else(|e| panic!("message {i} of {EXIT_MESSAGES} lost at exit: {e}"));
        let frame = &m.frames()[0];
        assert_eq!(frame.len(), EXIT_SIZE);
        assert!(frame.iter().all(|&b| b == (i % 251) as u8), "message {i}");
    }
}

#[test]
fn a_peer_beyond_max_subscriptions_is_ignored_for_new_topics() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub);
    xpub.set_option(SocketOption::MaxSubscriptions(Some(3)))
        .unwrap();
    xpub.bind("inproc://max-subscriptions").unwrap();
    let sub = ctx.socket(SocketType::Sub);
    sub.connect("inproc://max-subscriptions").unwrap();
    for topic in ["a", "b", "c", "d"] {
        subscribe(&sub, topic);
    }
    // Room again for one topic: `e` is accepted, after `d` was refused.
    unsubscribe(&sub, "a");
    subscribe(&sub, "e");
    let seen: Vec<Message> = (0..5).map(|_| xpub.recv_timeout(T).unwrap()).collect();
    let expected: Vec<Message> = [(true, "a"), (true, "b"), (true, "c"), (false, "a")]
        .into_iter()
        .chain([(true, "e")])
        .map(|(s, t)| Message::subscription(s, t.as_bytes()))
        .collect();
    assert_eq!(seen, expected, "`d` must be neither applied nor reported");
    // `d...` goes to nobody; `e...` arrives, and is the first thing that does.
    xpub.send("d-news").unwrap();
    xpub.send("e-news").unwrap();
    assert_eq!(text(&sub.recv_timeout(T).unwrap()), ["e-news"]);
}

#[test]
fn xpub_keeps_at_most_rcvhwm_messages_for_its_user() {
    const HWM: usize = 10;
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub);
    xpub.set_option(SocketOption::RcvHwm(HWM)).unwrap();
    xpub.bind("inproc://xpub-input").unwrap();
    let xsub = ctx.socket(SocketType::XSub);
    xsub.connect("inproc://xpub-input").unwrap();
    // Upstream messages the XPUB's user does not read: XPUB used to queue them all (as
    // libzmq does, without bound).
    for i in 0..10_000u32 {
        xsub.send(format!("up-{i}")).unwrap();
    }
    let mut got = Vec::new();
    while let Ok(m) = xpub.try_recv() {
        got.push(text(&m).concat());
    }
    // Inproc delivery is synchronous: the first RCVHWM were kept, the rest dropped.
    let expected: Vec<String> = (0..HWM).map(|i| format!("up-{i}")).collect();
    assert_eq!(got, expected);
}
