//! Interop tests of ferrozmq against JeroMQ 0.3.6, which speaks ZMTP 2.0 (RFC 15): ferrozmq
//! must detect the revision and fall back (issue 13). REQ/REP, DEALER/ROUTER, PUSH/PULL and
//! PUB/SUB, each role on each side and each side binding in turn, 10,000 three-frame messages
//! in order (short and long frames).
//!
//! The JeroMQ side is `interop/java/JeromqPeer.java`, compiled here with javac against the
//! jar of Debian's `libjeromq-java` (`.ci/run` installs it) and run with `java -cp`; it checks
//! what it receives and reports through its exit status. Without java, javac or the jar, each
//! test prints why and passes without running (skips). Time-outs only guard against hangs.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ferrozmq::{Bytes, Context, Message, Socket, SocketOption, SocketType};

/// Messages per test.
const COUNT: usize = 10_000;
/// Frames per message.
const FRAMES: usize = 3;
/// Guard against a hang: no single receive, and no whole run, may take longer.
const GUARD: Duration = Duration::from_secs(120);
const JARS: [&str; 2] = [
    "/usr/share/java/jeromq.jar",
    "/usr/share/java/jeromq-0.3.6.jar",
];

/// The class path of the compiled peer and the jar, or why the tests cannot run.
fn peer_classpath() -> Result<&'static str, &'static str> {
    static CLASSPATH: OnceLock<Result<String, String>> = OnceLock::new();
    CLASSPATH
        .get_or_init(|| {
            let jar = JARS
                .iter()
                .find(|j| Path::new(j).exists())
                .ok_or("no JeroMQ jar in /usr/share/java (apt-get install libjeromq-java)")?;
            for tool in ["java", "javac"] {
                let found = Command::new(tool)
                    .arg("-version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if !found {
                    return Err(format!("no working `{tool}` on the PATH (install a JDK)"));
                }
            }
            let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("jeromq-peer");
            let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("java/JeromqPeer.java");
            let status = Command::new("javac")
                .args(["-cp", jar, "-d"])
                .arg(&out)
                .arg(&source)
                .status()
                .map_err(|e| format!("javac: {e}"))?;
            // A source that does not compile is a failure, not a skip.
            assert!(status.success(), "javac failed on {}", source.display());
            Ok(format!("{}:{jar}", out.display()))
        })
        .as_ref()
        .map(String::as_str)
        .map_err(String::as_str)
}

/// A running JeroMQ peer: its stdout lines arrive on `lines`.
struct JavaPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl JavaPeer {
    fn start(classpath: &str, role: &str, bind: bool, endpoint: &str) -> JavaPeer {
        let mut child = Command::new("java")
            .args(["-cp", classpath, "JeromqPeer", role])
            .arg(if bind { "bind" } else { "connect" })
            .arg(endpoint)
            .arg(COUNT.to_string())
            .arg(FRAMES.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("java");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        JavaPeer {
            stdin: child.stdin.take(),
            child,
            lines,
        }
    }

    /// The next line the peer prints; fails if it exits first or the guard expires.
    fn line(&mut self) -> String {
        match self.lines.recv_timeout(GUARD) {
            Ok(line) => line,
            Err(e) => panic!(
                "JeroMQ peer printed nothing more ({e:?}); {:?}",
                self.finish()
            ),
        }
    }

    /// The port a binding peer printed.
    fn port(&mut self) -> u16 {
        let line = self.line();
        line.strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("expected PORT, got {line:?}"))
    }

    /// Waits for the peer to exit and returns its status and last line.
    fn finish(&mut self) -> (Option<i32>, Vec<String>) {
        let deadline = Instant::now() + GUARD;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = Vec::new();
        // The reader thread ends with the peer's stdout; the time-out only guards a child
        // that left a descendant holding it open.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            rest.push(line);
        }
        (status, rest)
    }

    /// Asserts the peer exchanged all messages as expected.
    fn assert_ok(mut self) {
        let (status, lines) = self.finish();
        assert_eq!(status, Some(0), "JeroMQ peer failed; stdout {lines:?}");
        assert_eq!(
            lines.last().map(String::as_str),
            Some("OK 10000"),
            "{lines:?}"
        );
    }
}

impl Drop for JavaPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Message `i`, the same as `JeromqPeer.message(i, 3)`: "m", i, (i % 600) letters.
fn message(i: usize) -> Vec<Bytes> {
    let letter = b'a' + (i % 26) as u8;
    vec![
        Bytes::from_static(b"m"),
        Bytes::from(i.to_string()),
        Bytes::from(vec![letter; i % 600]),
    ][..FRAMES]
        .to_vec()
}

fn recv(s: &Socket) -> Vec<Bytes> {
    let m = s.recv_timeout(Some(GUARD)).expect("ferrozmq receive");
    m.iter().map(|f| Bytes::copy_from_slice(f)).collect()
}

fn send(s: &Socket, frames: Vec<Bytes>) {
    s.send(Message::from(frames)).expect("ferrozmq send");
}

/// The counterpart JeroMQ runs for a ferrozmq socket of type `ours`.
fn java_role(ours: SocketType) -> &'static str {
    match ours {
        SocketType::Req => "rep",
        SocketType::Rep => "req",
        SocketType::Dealer => "router",
        SocketType::Router => "dealer",
        SocketType::Push => "pull",
        SocketType::Pull => "push",
        SocketType::Pub => "sub",
        SocketType::Sub => "pub",
        other => panic!("no JeroMQ counterpart for {other}"),
    }
}

/// Runs a ferrozmq socket of type `ours` against its JeroMQ counterpart; `ferrozmq_binds`
/// says which side binds.
fn run(ours: SocketType, ferrozmq_binds: bool) {
    let classpath = match peer_classpath() {
        Ok(cp) => cp,
        Err(why) => {
            println!("SKIPPED: JeroMQ interop test not run: {why}");
            eprintln!("SKIPPED: JeroMQ interop test not run: {why}");
            return;
        }
    };
    let ctx = Context::new();
    let s = ctx.socket(ours);
    s.set_option(SocketOption::SndHwm(0)).unwrap();
    s.set_option(SocketOption::RcvHwm(0)).unwrap();
    if ours == SocketType::Dealer {
        s.set_option(SocketOption::RoutingId(Bytes::from_static(b"dealer-id")))
            .unwrap();
    }
    if ours == SocketType::Sub {
        for topic in [&b"sync"[..], b"m"] {
            s.set_option(SocketOption::Subscribe(Bytes::from_static(topic)))
                .unwrap();
        }
    }
    let mut peer = if ferrozmq_binds {
        let endpoint = s.bind("tcp://127.0.0.1:*").unwrap();
        JavaPeer::start(classpath, java_role(ours), false, &endpoint)
    } else {
        let mut peer = JavaPeer::start(classpath, java_role(ours), true, "tcp://127.0.0.1");
        let port = peer.port();
        s.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
        peer
    };
    match ours {
        SocketType::Req | SocketType::Dealer => {
            for i in 0..COUNT {
                send(&s, message(i));
                assert_eq!(recv(&s), message(i), "reply {i}");
            }
        }
        SocketType::Rep => {
            for i in 0..COUNT {
                let got = recv(&s);
                assert_eq!(got, message(i), "request {i}");
                send(&s, got);
            }
        }
        SocketType::Router => {
            for i in 0..COUNT {
                let got = recv(&s);
                // The JeroMQ DEALER's identity frame (RFC 15 greeting) is its routing id.
                assert_eq!(&got[0][..], b"dealer-id", "routing id of message {i}");
                assert_eq!(got[1..], message(i)[..], "message {i}");
                send(&s, got);
            }
        }
        SocketType::Push => (0..COUNT).for_each(|i| send(&s, message(i))),
        SocketType::Pull => (0..COUNT).for_each(|i| assert_eq!(recv(&s), message(i), "{i}")),
        SocketType::Pub => publish(&s, &mut peer),
        SocketType::Sub => subscribe(&s, &mut peer),
        other => panic!("{other}"),
    }
    peer.assert_ok();
}

/// Sends "sync" until the JeroMQ SUB says it got one (so its subscriptions, sent as ZMTP 2.0
/// messages, have arrived), then the data with an unwanted "x" message before each.
fn publish(s: &Socket, peer: &mut JavaPeer) {
    let deadline = Instant::now() + GUARD;
    loop {
        send(s, vec![Bytes::from_static(b"sync")]);
        match peer.lines.recv_timeout(Duration::from_millis(10)) {
            Ok(line) if line == "SYNCED" => break,
            Ok(line) => panic!("unexpected line from the JeroMQ SUB: {line:?}"),
            Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            Err(e) => panic!("JeroMQ SUB never synced ({e:?}); {:?}", peer.finish()),
        }
    }
    for i in 0..COUNT {
        send(
            s,
            vec![Bytes::from_static(b"x"), Bytes::from(i.to_string())],
        );
        send(s, message(i));
    }
}

/// Receives the JeroMQ PUB's first "sync" (it only sends what we subscribed to, so our
/// subscriptions reached it), tells it to go on, then expects the data in order and no "x".
fn subscribe(s: &Socket, peer: &mut JavaPeer) {
    assert_eq!(recv(s), vec![Bytes::from_static(b"sync")]);
    let stdin = peer.stdin.as_mut().expect("stdin");
    stdin.write_all(b"go\n").unwrap();
    stdin.flush().unwrap();
    for i in 0..COUNT {
        let mut got = recv(s);
        while got == [Bytes::from_static(b"sync")] {
            got = recv(s);
        }
        assert_eq!(got, message(i), "message {i}");
    }
}

#[test]
fn req_ferrozmq_binds() {
    run(SocketType::Req, true);
}

#[test]
fn req_jeromq_binds() {
    run(SocketType::Req, false);
}

#[test]
fn rep_ferrozmq_binds() {
    run(SocketType::Rep, true);
}

#[test]
fn rep_jeromq_binds() {
    run(SocketType::Rep, false);
}

#[test]
fn dealer_ferrozmq_binds() {
    run(SocketType::Dealer, true);
}

#[test]
fn dealer_jeromq_binds() {
    run(SocketType::Dealer, false);
}

#[test]
fn router_ferrozmq_binds() {
    run(SocketType::Router, true);
}

#[test]
fn router_jeromq_binds() {
    run(SocketType::Router, false);
}

#[test]
fn push_ferrozmq_binds() {
    run(SocketType::Push, true);
}

#[test]
fn push_jeromq_binds() {
    run(SocketType::Push, false);
}

#[test]
fn pull_ferrozmq_binds() {
    run(SocketType::Pull, true);
}

#[test]
fn pull_jeromq_binds() {
    run(SocketType::Pull, false);
}

#[test]
fn pub_ferrozmq_binds() {
    run(SocketType::Pub, true);
}

#[test]
fn pub_jeromq_binds() {
    run(SocketType::Pub, false);
}

#[test]
fn sub_ferrozmq_binds() {
    run(SocketType::Sub, true);
}

#[test]
fn sub_jeromq_binds() {
    run(SocketType::Sub, false);
}
