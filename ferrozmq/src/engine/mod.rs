//! The I/O engine: one reactor thread per context, on mio (epoll, edge-triggered), that owns
//! every tcp/ipc listener and connection, runs the sans-IO sessions and the timers
//! (handshake, heartbeats, reconnect back-off, linger).
//!
//! Application threads talk to it through [`Reactor::send`] (commands) and pipe signals
//! (a connection has output to write, or room to read again); both land in one inbox and wake
//! the poll only if the reactor is actually asleep in it.

mod backoff;
mod connection;
mod reactor;
mod resolve;
mod sleep;
mod timers;
mod wire_session;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ferrozmq_proto::pattern::PeerId;
use mio::{Token, Waker};
use parking_lot::Mutex;

use crate::socket::link::{Notify, Signal, SocketLink};
use crate::transport::{Listener, Target};
use sleep::SleepFlag;

/// Token of the reactor's waker.
const WAKER: Token = Token(usize::MAX);

/// Work for the reactor thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// Accept connections on a bound listener.
    Listen {
        socket: SocketLink,
        bind_id: u64,
        listener: Listener,
        unlink: Option<PathBuf>,
    },
    /// Keep a connection to `target` up, over the persistent `peer` if any.
    Connect {
        socket: SocketLink,
        connect_id: u64,
        target: Target,
        peer: Option<PeerId>,
    },
    /// Stop listening.
    Unbind { socket_id: u64, bind_id: u64 },
    /// Drop a connect and its connection.
    Disconnect { socket_id: u64, connect_id: u64 },
    /// The socket closed: flush its connections for at most `linger`, then close them.
    CloseSocket {
        socket: SocketLink,
        linger: Option<Duration>,
    },
    /// A resolver thread's answer for the tcp name of connect `connect_id` (see
    /// `resolve.rs`): an address, or why the name did not resolve.
    Resolved {
        socket_id: u64,
        connect_id: u64,
        result: Result<std::net::SocketAddr, String>,
    },
    /// Stop once every lingering connection is done.
    Shutdown,
    /// Panic in the reactor thread (tests of the failure path only).
    #[cfg(test)]
    Crash,
}

/// Handle to a reactor thread.
pub(crate) struct Reactor {
    shared: Arc<Shared>,
    /// The poll instance, until [`Reactor::start`] hands it to the thread.
    poll: Mutex<Option<mio::Poll>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What application threads share with the reactor thread.
struct Shared {
    waker: Waker,
    inbox: Mutex<Inbox>,
    /// The reactor is (about to be) asleep in `poll`: a producer must wake it.
    sleep: SleepFlag,
    /// The reactor thread stopped on an internal error (a panic): nothing moves any more.
    failed: AtomicBool,
}

#[derive(Default)]
struct Inbox {
    commands: Vec<Command>,
    /// Connections a pipe woke, and for what.
    ready: Vec<(Token, Wake)>,
    /// The reactor thread is gone (shut down or failed): commands are settled on the spot
    /// (see [`settle_without_reactor`]) instead of queued for nobody.
    closed: bool,
}

impl Reactor {
    /// Creates the reactor's poll instance and waker; [`Reactor::start`] starts its thread.
    pub(crate) fn new() -> std::io::Result<Reactor> {
        let poll = mio::Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let shared = Arc::new(Shared {
            waker,
            inbox: Mutex::new(Inbox::default()),
            sleep: SleepFlag::new(),
            failed: AtomicBool::new(false),
        });
        Ok(Reactor {
            shared,
            poll: Mutex::new(Some(poll)),
            thread: Mutex::new(None),
        })
    }

    /// Starts the reactor thread. Should the thread ever stop on a panic, it marks the reactor
    /// failed and calls `on_failure` (which closes the context's sockets, so that every
    /// caller, blocked or not, gets an error instead of a silent stop).
    pub(crate) fn start(&self, on_failure: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        let Some(poll) = self.poll.lock().take() else {
            return Ok(());
        };
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new()
            .name("ferrozmq-io".into())
            .spawn(move || {
                let run = std::panic::AssertUnwindSafe(|| reactor::run(poll, shared.clone()));
                if std::panic::catch_unwind(run).is_err() {
                    tracing::error!("ferrozmq I/O thread stopped on an internal error");
                    shared.failed.store(true, Ordering::SeqCst);
                    shared.close_inbox();
                    on_failure();
                }
            })?;
        *self.thread.lock() = Some(thread);
        Ok(())
    }

    /// True once the reactor thread stopped on an internal error.
    pub(crate) fn has_failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire)
    }

    /// Queues a command for the reactor thread, or settles it at once if the thread is gone
    /// (a close that raced the context's termination still stops its monitors).
    pub(crate) fn send(&self, cmd: Command) {
        self.shared.post(cmd);
    }

    /// Asks the reactor to stop after lingering connections finish, and waits for it.
    pub(crate) fn shutdown(&self) {
        let Some(thread) = self.thread.lock().take() else {
            return;
        };
        self.send(Command::Shutdown);
        if thread.thread().id() != std::thread::current().id() {
            let _ = thread.join();
            // Whatever came in after the reactor's last look at its inbox.
            self.shared.close_inbox();
        }
    }
}

impl Reactor {
    /// Asks the reactor to stop after lingering connections finish, without waiting: the
    /// returned job waits for it (run it on a thread that may block). `None` if the thread
    /// was already stopped or is being stopped.
    pub(crate) fn begin_shutdown(&self) -> Option<impl FnOnce() + Send + 'static> {
        let thread = self.thread.lock().take()?;
        self.send(Command::Shutdown);
        let shared = self.shared.clone();
        Some(move || {
            let _ = thread.join();
            shared.close_inbox();
        })
    }
}

/// What a command means once no reactor will run it: a closed socket has nothing left in the
/// engine, so its monitors stop; a listener is closed; the rest is dropped.
fn settle_without_reactor(cmd: Command) {
    match cmd {
        Command::CloseSocket { socket, .. } => {
            socket.mark_engine_closed();
            socket.stop_monitors();
        }
        Command::Listen {
            unlink: Some(path), ..
        } => {
            let _ = std::fs::remove_file(path);
        }
        _ => {}
    }
}

impl Shared {
    /// Queues a command for the reactor thread (see [`Reactor::send`]).
    fn post(&self, cmd: Command) {
        let mut inbox = self.inbox.lock();
        if inbox.closed {
            drop(inbox);
            settle_without_reactor(cmd);
            return;
        }
        inbox.commands.push(cmd);
        drop(inbox);
        self.wake();
    }

    /// Marks the inbox closed (the reactor thread is gone) and settles what it held.
    fn close_inbox(&self) {
        let commands = {
            let mut inbox = self.inbox.lock();
            inbox.closed = true;
            inbox.ready.clear();
            std::mem::take(&mut inbox.commands)
        };
        for cmd in commands {
            settle_without_reactor(cmd);
        }
    }

    fn wake(&self) {
        // After the inbox entry (see `sleep.rs`): either the reactor sees the entry before
        // sleeping, or we see it announced and wake it.
        if self.sleep.must_wake() {
            let _ = self.waker.wake();
        }
    }
}

/// What a pipe wakes a connection for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// The outgoing pipe has messages: only writing can make progress (no read syscall).
    Output,
    /// The incoming pipe has room again: read (and write what reading may have queued).
    Input,
}

/// Signal from a pipe to a connection: output to write, or room to read again.
struct ConnSignal {
    shared: Arc<Shared>,
    token: Token,
    wake: Wake,
}

impl Notify for ConnSignal {
    fn notify(&self) {
        self.shared.inbox.lock().ready.push((self.token, self.wake));
        self.shared.wake();
    }
}

fn conn_signal(shared: &Arc<Shared>, token: Token, wake: Wake) -> Signal {
    Arc::new(ConnSignal {
        shared: shared.clone(),
        token,
        wake,
    })
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Command;
    use crate::{Context, RecvError, SendErrorKind, SocketType};

    #[test]
    fn a_reactor_panic_fails_every_call_instead_of_hanging() {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull);
        let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
        let push = ctx.socket(SocketType::Push);
        push.connect(&ep).unwrap();
        push.send("before").unwrap();
        assert!(pull.recv_timeout(Some(Duration::from_secs(10))).is_ok());
        let blocked = {
            let pull = pull.clone();
            std::thread::spawn(move || pull.recv())
        };
        ctx.reactor().send(Command::Crash);
        // The blocked receiver is released with the cause, not left hanging.
        assert_eq!(blocked.join().unwrap(), Err(RecvError::EngineFailed));
        let err = push.send("after").unwrap_err();
        assert_eq!(err.kind(), SendErrorKind::EngineFailed);
        assert!(matches!(
            push.connect(&ep),
            Err(crate::ConnectError::EngineFailed)
        ));
        // A socket made afterwards fails at once too.
        let late = ctx.socket(SocketType::Pull);
        assert_eq!(late.try_recv(), Err(RecvError::EngineFailed));
        // And the context still terminates (the thread is gone; nothing waits for it).
        ctx.terminate();
    }

    /// A closed socket whose connect is still resolving its host name (a DNS server that does
    /// not answer) lets the context terminate at its LINGER deadline: the resolver's answer,
    /// when it comes, finds no connect.
    #[test]
    fn linger_ends_a_connect_whose_name_is_still_resolving() {
        use std::sync::atomic::Ordering;
        super::resolve::TEST_DELAY_MS.store(5_000, Ordering::Relaxed);
        let finished_before = super::resolve::TEST_FINISHED.load(Ordering::Relaxed);
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push);
        push.set_option(crate::SocketOption::Linger(Some(Duration::from_millis(
            100,
        ))))
        .unwrap();
        push.connect("tcp://localhost:1").unwrap();
        push.send("queued").unwrap();
        push.close();
        ctx.terminate();
        // Terminated while the (5 s) resolution was still under way.
        let finished = super::resolve::TEST_FINISHED.load(Ordering::Relaxed);
        super::resolve::TEST_DELAY_MS.store(0, Ordering::Relaxed);
        assert_eq!(
            finished, finished_before,
            "terminate waited for the resolver instead of LINGER"
        );
    }
}
