//! What the subject modules share: the `peer` child process (spawned, read line by line,
//! killed, stopped and continued), waits on monitor events, unique ipc paths, and the ZMTP
//! bytes raw clients write (a greeting, a READY).
//!
//! Every wait has a generous time-out that only turns a hang into a failure; no test asserts
//! on how long anything took.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use ferrozmq::{DisconnectReason, Message, Monitor, MonitorEvent, MonitorEventKind, SessionError};
use rustix::process::{kill_process, Pid, Signal};

/// The time-out that turns a hang into a failure.
pub(crate) const HANG: Duration = Duration::from_secs(20);

/// [`HANG`] as the socket API takes it.
pub(crate) const T: Option<Duration> = Some(HANG);

/// A `peer` child process (src/bin/peer.rs). Dropping it kills it (SIGKILL works on a stopped
/// process too) and reaps it, so a failing test leaves no process behind.
pub(crate) struct Peer {
    child: Child,
    /// Keeps the child's stdin open: the child exits when it closes.
    _stdin: ChildStdin,
    lines: Receiver<String>,
    /// The endpoint from the child's `ready` line (resolved if it bound).
    pub(crate) endpoint: String,
}

impl Peer {
    /// Starts `peer ARGS...` and waits for its `ready` line.
    pub(crate) fn spawn(args: &[&str]) -> Peer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_peer"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the peer binary");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut peer = Peer {
            child,
            _stdin: stdin,
            lines,
            endpoint: String::new(),
        };
        let ready = peer.line();
        peer.endpoint = ready
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("peer {args:?}: expected `ready`, got {ready:?}"))
            .to_owned();
        peer
    }

    /// The next line the child printed.
    pub(crate) fn line(&self) -> String {
        match self.lines.recv_timeout(HANG) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!("peer printed nothing for {HANG:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("peer exited (see its stderr)"),
        }
    }

    /// Skips lines until one starts with `prefix`; returns the rest of it.
    pub(crate) fn line_starting(&self, prefix: &str) -> String {
        loop {
            if let Some(rest) = self.line().strip_prefix(prefix) {
                return rest.to_owned();
            }
        }
    }

    /// SIGKILL, then reap.
    pub(crate) fn kill(&mut self) {
        // `Child::kill` sends SIGKILL.
        self.child.kill().expect("SIGKILL the peer");
        self.child.wait().expect("reap the peer");
    }

    /// SIGSTOP: the process freezes with its sockets open.
    pub(crate) fn stop(&self) {
        self.signal(Signal::STOP);
    }

    /// SIGCONT after [`Peer::stop`].
    pub(crate) fn cont(&self) {
        self.signal(Signal::CONT);
    }

    fn signal(&self, signal: Signal) {
        let raw = i32::try_from(self.child.id()).expect("pid fits in i32");
        let pid = Pid::from_raw(raw).expect("pid is not 0");
        kill_process(pid, signal).expect("signal the peer");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Skips events until one satisfies `want`; fails, listing what it saw, if none comes.
pub(crate) fn wait_event(
    mon: &Monitor,
    what: &str,
    want: impl Fn(&MonitorEvent) -> bool,
) -> MonitorEvent {
    let deadline = Instant::now() + HANG;
    let mut seen = Vec::new();
    loop {
        match mon.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(ev) if want(&ev) => return ev,
            Ok(ev) => seen.push(ev),
            Err(e) => panic!("no {what} event ({e}); saw {seen:#?}"),
        }
    }
}

/// Waits for any `Disconnected`.
pub(crate) fn wait_disconnected(mon: &Monitor) -> DisconnectReason {
    let ev = wait_event(mon, "Disconnected", |e| {
        matches!(e.kind, MonitorEventKind::Disconnected { .. })
    });
    match ev.kind {
        MonitorEventKind::Disconnected { reason } => reason,
        _ => unreachable!(),
    }
}

/// Waits for a `HandshakeSucceeded`.
pub(crate) fn wait_handshake(mon: &Monitor) {
    wait_event(mon, "HandshakeSucceeded", |e| {
        e.kind == MonitorEventKind::HandshakeSucceeded
    });
}

/// True for the reasons a heartbeat gives up on a peer (RFC 37: our time-out after a PING,
/// or the TTL the peer announced).
pub(crate) fn is_heartbeat_timeout(reason: &DisconnectReason) -> bool {
    matches!(
        reason,
        DisconnectReason::Protocol(SessionError::HeartbeatTimeout | SessionError::PeerTtlExpired)
    )
}

/// The first frame as text.
pub(crate) fn text(msg: &Message) -> String {
    String::from_utf8_lossy(msg.first().map_or(&[][..], |f| &f[..])).into_owned()
}

/// A fresh ipc endpoint in the temporary directory, unique to this process and call. Its
/// socket file is removed on drop: a killed peer leaves it behind.
pub(crate) struct IpcEndpoint {
    path: PathBuf,
    /// `ipc://PATH`.
    pub(crate) endpoint: String,
}

impl IpcEndpoint {
    pub(crate) fn new(tag: &str) -> IpcEndpoint {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "fzmq-reliability-{}-{tag}-{n}.ipc",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let endpoint = format!("ipc://{}", path.display());
        IpcEndpoint { path, endpoint }
    }
}

impl Drop for IpcEndpoint {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A ZMTP 3.1 NULL greeting (RFC 23 §"Greeting"), as-server = 0.
pub(crate) fn greeting() -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
    let mut mechanism = b"NULL".to_vec();
    mechanism.resize(20, 0);
    g.extend(mechanism);
    g.push(0);
    g.resize(64, 0);
    g
}

/// A READY command with a Socket-Type property (RFC 23 §"Commands", §"The NULL Security
/// Mechanism"): short command frame, name length + name, property name, 4-octet value length.
pub(crate) fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut frame = vec![0x04, u8::try_from(body.len()).unwrap()];
    frame.extend(body);
    frame
}
