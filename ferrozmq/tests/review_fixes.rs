//! Regression tests for the bugs a review of the reliability changes found (each failed
//! before its fix): XPUB holding back subscriptions behind unread notices, a RCVHWM change
//! stalling XPUB, `terminate` outliving LINGER behind a far reconnect timer, and the exit
//! flush aborting forked children. Public API only; every wait is on a message, a monitor
//! event or a process, with a time-out only to turn a hang into a failure.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{subscribe, text};
use ferrozmq::{Context, MonitorEventKind, RecvError, SocketOption, SocketType};

/// How long a step that should be quick may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(10);

/// Runs `f` on its own thread; `Some(result)` if it finished within `limit`, `None` if it
/// hangs (the thread is then left behind).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

/// An endpoint nobody listens on: bound once for its port, then released.
fn free_tcp_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("tcp://{}", l.local_addr().unwrap())
}

// ---- XPUB: subscriptions are applied only when the user reads ----------------------------

/// XPUB keeps at most RCVHWM messages for its user, but the subscriptions behind the
/// notices take effect whether or not the user reads them (as libzmq's). The first version
/// of the bound left a peer's input in its pipe once the notices reached RCVHWM, so an XPUB
/// whose user only publishes stopped serving its subscriber's 1001st topic.
#[test]
fn xpub_subscriptions_apply_while_its_receive_queue_is_full() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub);
    let ep = xpub.bind("tcp://127.0.0.1:*").unwrap();
    let sub = ctx.socket(SocketType::Sub);
    sub.connect(&ep).unwrap();
    // 1001 distinct topics, none a prefix of another; the XPUB's user reads none of the
    // notices (it only publishes).
    let rcvhwm = xpub.options().rcvhwm;
    assert_eq!(rcvhwm, 1000, "the default RCVHWM");
    for i in 0..=rcvhwm {
        subscribe(&sub, &format!("topic-{i:05}"));
    }
    // The first topic works: the subscriptions have reached the publisher.
    let first = publish_until_received(&xpub, &sub, "topic-00000 first");
    assert_eq!(first.as_deref(), Some("topic-00000 first"));
    // The last one must work too.
    let last_topic = format!("topic-{rcvhwm:05} last");
    let last = publish_until_received(&xpub, &sub, &last_topic);
    assert_eq!(
        last.as_deref(),
        Some(last_topic.as_str()),
        "the subscriber's topic number {} was never applied: the XPUB's unread notices \
         (RCVHWM {rcvhwm}) hold back the subscriptions themselves",
        rcvhwm + 1
    );
}

/// Publishes `msg` on `xpub` until `sub` receives something (at most `HANG`); returns what
/// `sub` received, as text.
fn publish_until_received(
    xpub: &ferrozmq::Socket,
    sub: &ferrozmq::Socket,
    msg: &str,
) -> Option<String> {
    let deadline = Instant::now() + HANG;
    while Instant::now() < deadline {
        xpub.send(msg.to_owned()).unwrap();
        match sub.recv_timeout(Some(Duration::from_millis(20))) {
            Ok(m) => return Some(text(&m).concat()),
            Err(RecvError::Timeout) => {}
            Err(e) => panic!("recv: {e}"),
        }
    }
    None
}

/// Past RCVHWM, XPUB drops what its user would see (counted) instead of holding the peer's
/// input back; with RCVHWM then set to 0 (no limit), everything after arrives. The first
/// version parked the peer's input and only resumed it below `rcvhwm / 2` read as it is
/// now: after RCVHWM 0 that was never true, and the input waited forever.
#[test]
fn xpub_keeps_rcvhwm_messages_and_takes_all_once_unlimited() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub);
    xpub.set_option(SocketOption::RcvHwm(1)).unwrap();
    xpub.bind("inproc://review-xpub-rcvhwm-zero").unwrap();
    let xsub = ctx.socket(SocketType::XSub);
    xsub.connect("inproc://review-xpub-rcvhwm-zero").unwrap();
    // Inproc delivery is synchronous: after each send the XPUB has taken the message.
    for m in ["up-0", "up-1", "up-2"] {
        xsub.send(m).unwrap();
    }
    xpub.set_option(SocketOption::RcvHwm(0)).unwrap();
    for m in ["up-3", "up-4", "up-5"] {
        xsub.send(m).unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..4 {
        match xpub.recv_timeout(Some(HANG)) {
            Ok(m) => got.push(text(&m).concat()),
            Err(e) => panic!("after {got:?}: {e}"),
        }
    }
    // up-1 and up-2 came while the one place was taken.
    assert_eq!(got, ["up-0", "up-3", "up-4", "up-5"]);
}

// ---- LINGER vs a far reconnect timer ------------------------------------------------------

/// A connect whose socket closes with messages queued lingers in the reactor, and its
/// pending reconnect is brought forward to the LINGER deadline. Before the fix only a retry
/// looked at that deadline, and a RECONNECT_IVL too long to represent scheduled none: the
/// reactor never stopped, and `terminate` (or dropping the context, or the exit flush of
/// the default context) blocked forever although LINGER was 100 ms.
#[test]
fn terminate_returns_within_linger_when_the_reconnect_interval_is_huge() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    let forever = Some(Duration::from_secs(u64::MAX));
    push.set_option(SocketOption::ReconnectIvl(forever))
        .unwrap();
    push.set_option(SocketOption::Linger(Some(Duration::from_millis(100))))
        .unwrap();
    let monitor = push.monitor();
    push.connect(&free_tcp_endpoint()).unwrap();
    // The connect was refused and its (never due) retry scheduled.
    let retried = (&monitor).any(|e| matches!(e.kind, MonitorEventKind::ConnectRetried { .. }));
    assert!(retried);
    // Queued for the peer that never came.
    push.send("pending").unwrap();
    let started = Instant::now();
    let done = within(HANG, move || ctx.terminate());
    assert!(
        done.is_some(),
        "terminate still blocked after {:?} with LINGER 100 ms",
        started.elapsed()
    );
}

// ---- the exit flush in a forked child ---------------------------------------------------

const FORK_CHILD: &str = "FERROZMQ_REVIEW_FORK_CHILD";

/// A forked child inherits the exit hook of the default context but not its I/O threads:
/// the hook must do nothing there. Before the fix the child's `exit(0)` tried to join a
/// thread it did not have, panicked inside the `extern "C"` hook and died of SIGABRT.
#[test]
#[allow(unsafe_code)]
fn a_forked_child_of_a_default_context_user_exits_cleanly() {
    if std::env::var(FORK_CHILD).is_ok() {
        // A process that used the default context once (the hook is registered), then
        // forks a child that exits at once.
        drop(ferrozmq::Socket::new(SocketType::Push));
        // SAFETY: the child only calls `exit`; the parent waits for it.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: ends the forked child (running the atexit hooks, as `exit` does).
            unsafe { libc::exit(0) };
        }
        let exited = within(HANG, move || {
            let mut status = 0;
            // SAFETY: waits for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            status
        });
        match exited {
            None => {
                // SAFETY: kills our own hung child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                eprintln!("the forked child hung in exit()");
                std::process::exit(3);
            }
            Some(status) if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) => {
                let signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
                eprintln!(
                    "the forked child's exit(0) failed: status {status:#x}, signal {signal:?}"
                );
                std::process::exit(4);
            }
            Some(_) => {}
        }
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "a_forked_child_of_a_default_context_user_exits_cleanly",
            "--exact",
            "--test-threads=1",
        ])
        .env(FORK_CHILD, "1")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "a forked child of a process that used the default context did not exit cleanly: {status}"
    );
}
