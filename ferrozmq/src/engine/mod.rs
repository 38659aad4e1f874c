//! The I/O engine: one reactor thread per context, on mio (epoll, edge-triggered), that owns
//! every tcp/ipc listener and connection, runs the sans-IO sessions and the timers
//! (handshake, heartbeats, reconnect back-off, linger).
//!
//! Application threads talk to it through [`Reactor::send`] (commands) and pipe signals
//! (a connection has output to write, or room to read again); both land in one inbox and wake
//! the poll only if the reactor is actually asleep in it.

mod connection;
mod reactor;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ferrozmq_proto::pattern::PeerId;
use mio::{Token, Waker};
use parking_lot::Mutex;

use crate::socket::core::SocketCore;
use crate::socket::pipe::{Notify, Signal};
use crate::transport::{Listener, Target};

/// Token of the reactor's waker.
const WAKER: Token = Token(usize::MAX);

/// Work for the reactor thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// Accept connections on a bound listener.
    Listen {
        socket: Arc<SocketCore>,
        bind_id: u64,
        listener: Listener,
        unlink: Option<PathBuf>,
    },
    /// Keep a connection to `target` up, over the persistent `peer` if any.
    Connect {
        socket: Arc<SocketCore>,
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
        socket: Arc<SocketCore>,
        linger: Option<Duration>,
    },
    /// Stop once every lingering connection is done.
    Shutdown,
}

/// Handle to a reactor thread.
pub(crate) struct Reactor {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What application threads share with the reactor thread.
struct Shared {
    waker: Waker,
    inbox: Mutex<Inbox>,
    /// The reactor is (about to be) asleep in `poll`: a producer must wake it.
    polling: AtomicBool,
}

#[derive(Default)]
struct Inbox {
    commands: Vec<Command>,
    ready: Vec<Token>,
}

impl Reactor {
    /// Starts a reactor thread.
    ///
    /// # Panics
    /// If the OS refuses an epoll instance or a thread (resource exhaustion at start-up).
    pub(crate) fn spawn() -> Reactor {
        let poll = mio::Poll::new().expect("ferrozmq: cannot create an epoll instance");
        let waker = Waker::new(poll.registry(), WAKER).expect("ferrozmq: cannot create a waker");
        let shared = Arc::new(Shared {
            waker,
            inbox: Mutex::new(Inbox::default()),
            polling: AtomicBool::new(false),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ferrozmq-io".into())
            .spawn(move || reactor::run(poll, s))
            .expect("ferrozmq: cannot spawn the I/O thread");
        Reactor {
            shared,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Queues a command for the reactor thread.
    pub(crate) fn send(&self, cmd: Command) {
        self.shared.inbox.lock().commands.push(cmd);
        self.shared.wake();
    }

    /// Asks the reactor to stop after lingering connections finish, and waits for it.
    pub(crate) fn shutdown(&self) {
        let Some(thread) = self.thread.lock().take() else {
            return;
        };
        self.send(Command::Shutdown);
        if thread.thread().id() != std::thread::current().id() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn wake(&self) {
        // Pairs with the SeqCst store + inbox check in the reactor loop: either the reactor
        // sees our inbox entry before sleeping, or we see it polling and wake it.
        if self.polling.load(Ordering::SeqCst) {
            let _ = self.waker.wake();
        }
    }
}

/// Signal from a pipe to a connection: output to write, or room to read again.
struct ConnSignal {
    shared: Arc<Shared>,
    token: Token,
}

impl Notify for ConnSignal {
    fn notify(&self) {
        self.shared.inbox.lock().ready.push(self.token);
        self.shared.wake();
    }
}

fn conn_signal(shared: &Arc<Shared>, token: Token) -> Signal {
    Arc::new(ConnSignal {
        shared: shared.clone(),
        token,
    })
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor").finish_non_exhaustive()
    }
}
