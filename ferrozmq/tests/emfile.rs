//! A listener out of file descriptors keeps accepting once descriptors are freed.
//!
//! Its own test binary, with one test, because it lowers the process's descriptor limit. The
//! test runs a ROUTER echo with room for only a few more descriptors, and starts itself again
//! as a child process (with the limit it had) whose 20 DEALERs each send a request and hang
//! up once answered. The first few are accepted; accepting then fails with EMFILE while the
//! rest wait in the listen backlog. An edge-triggered poll reports no new edge for a backlog
//! that stays non-empty, so before the fix the waiting clients were never accepted as the
//! first ones hung up; now each one is answered. Then, with no descriptor left,
//! `Context::try_new` reports the error instead of panicking.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use ferrozmq::{Context, MonitorEventKind, SocketType};

const CHILD: &str = "FERROZMQ_TEST_EMFILE_ENDPOINT";
const CLIENTS: usize = 20;
/// Descriptors left to the ROUTER beyond those open when the limit is lowered.
const SPARE: u64 = 4;
const T: Option<Duration> = Some(Duration::from_secs(20));

#[test]
fn accepting_resumes_when_descriptors_are_freed() {
    if let Ok(ep) = std::env::var(CHILD) {
        return clients(&ep);
    }
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    let monitor = router.monitor();
    let ep = router.bind("tcp://127.0.0.1:*").unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "accepting_resumes_when_descriptors_are_freed",
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD, &ep)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    set_open_files_limit(open + SPARE);
    // The child starts its clients once our limit is low.
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    for i in 0..CLIENTS {
        let mut request = router
            .recv_timeout(T)
            .unwrap_or_else(|e| panic!("request {i} of {CLIENTS} never came: {e}"));
        // [routing id, body]: echo it back.
        let body = request.pop_back().unwrap();
        request.push_back(body);
        router.send(request).unwrap();
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "a client got no answer: {status}");
    let ran_out = std::iter::from_fn(|| monitor.try_recv().ok())
        .any(|e| matches!(e.kind, MonitorEventKind::AcceptFailed { .. }));
    assert!(
        ran_out,
        "the limit of {} descriptors was never hit: the test proved nothing",
        open + SPARE
    );
    // With no descriptor to spare, a context cannot start its I/O thread: `try_new` says so
    // (`new` would panic).
    set_open_files_limit(3);
    assert!(matches!(
        Context::try_new(),
        Err(ferrozmq::ContextError::Io(_))
    ));
}

/// The child: `CLIENTS` DEALERs, each in its own thread, send one request and hang up once
/// answered (freeing a descriptor of the server's).
fn clients(ep: &str) {
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    let ctx = Context::new();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let dealer = ctx.socket(SocketType::Dealer);
            dealer.connect(ep).unwrap();
            std::thread::spawn(move || {
                dealer.send(format!("client {i}")).unwrap();
                let reply = dealer.recv_timeout(T).expect("no answer");
                assert_eq!(&reply.frames()[0][..], format!("client {i}").as_bytes());
                dealer.close();
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client got no answer");
    }
}

/// Lowers this process's soft RLIMIT_NOFILE.
#[allow(unsafe_code, reason = "setrlimit(2) has no wrapper in std")]
fn set_open_files_limit(soft: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the call to fill in.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(got, 0);
    limit.rlim_cur = soft;
    // SAFETY: `limit` is a valid rlimit; lowering the soft limit needs no privilege.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(set, 0);
}
