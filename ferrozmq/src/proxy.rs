//! The built-in proxy (`zmq_proxy`, `zmq_proxy_steerable`): moves whole messages between a
//! frontend and a backend socket in both directions the socket types allow, optionally copying
//! each to a capture socket, steerable through a control socket or a typed [`ProxyControl`].
//!
//! The loop never spins and never drops for its own sake: it waits in a [`Poller`] for the
//! sources it may read (a source is read only while its destination took the last message)
//! and for destinations that refused a message for lack of room. A refused message is kept
//! and offered again when the destination is writable, so high-water marks propagate back to
//! the senders; only socket types that drop by design (ROUTER to an unknown or full peer, PUB
//! to a slow subscriber) drop.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{RecvError, SendErrorKind};
use crate::poller::{Interest, PollError, PollEvent, Poller, PollerKey, PollerWaker};
use crate::{Message, Socket, SocketType};

/// Runs a proxy until a socket is closed (then `Err(ProxyError::Closed)`), as `zmq_proxy`.
///
/// Messages received on `frontend` are sent on `backend` and the other way round, each
/// direction only where the socket types allow it (ROUTER/DEALER: both; PULL/PUSH: frontend to
/// backend; XSUB/XPUB: messages one way, subscriptions the other). If `capture` is given,
/// every message passed is also sent to it without blocking; a capture socket that is full
/// or closed loses the copy but never stops the proxy.
pub fn proxy(
    frontend: &Socket,
    backend: &Socket,
    capture: Option<&Socket>,
) -> Result<(), ProxyError> {
    let mut p = Proxy::new(frontend, backend)?;
    if let Some(c) = capture {
        p = p.capture(c);
    }
    p.run()
}

/// As [`proxy`], steered by commands received on `control` (a REP or PAIR socket), as
/// `zmq_proxy_steerable`: `PAUSE`, `RESUME`, `TERMINATE` (the proxy returns `Ok(())`) and
/// `STATISTICS` (the reply is [`ProxyStatistics::to_message`]). A REP control socket gets an
/// empty reply to every other command, unknown ones included, so it can take the next.
pub fn proxy_steerable(
    frontend: &Socket,
    backend: &Socket,
    capture: Option<&Socket>,
    control: &Socket,
) -> Result<(), ProxyError> {
    let mut p = Proxy::new(frontend, backend)?.control_socket(control);
    if let Some(c) = capture {
        p = p.capture(c);
    }
    p.run()
}

/// A proxy set up but not yet running: add a capture or control socket, take
/// [`ProxyControl`] handles, then [`Proxy::run`] it (usually on its own thread).
///
/// ```
/// use ferrozmq::{Proxy, Socket, SocketType};
///
/// let frontend = Socket::new(SocketType::Router);
/// frontend.bind("tcp://127.0.0.1:*").unwrap();
/// let backend = Socket::new(SocketType::Dealer);
/// backend.bind("tcp://127.0.0.1:*").unwrap();
/// let proxy = Proxy::new(&frontend, &backend).unwrap();
/// let control = proxy.control();
/// let running = std::thread::spawn(move || proxy.run());
/// // ... later
/// println!("{:?}", control.statistics());
/// control.terminate();
/// running.join().unwrap().unwrap();
/// ```
#[derive(Debug)]
pub struct Proxy {
    frontend: Socket,
    backend: Socket,
    capture: Option<Socket>,
    control_socket: Option<Socket>,
    poller: Poller<'static>,
    shared: Arc<Shared>,
}

/// Steers a [`Proxy`] from any thread. `Clone + Send + Sync`; calls after the proxy returned
/// do nothing.
#[derive(Debug, Clone)]
pub struct ProxyControl {
    shared: Arc<Shared>,
    waker: PollerWaker,
}

/// What passed through a proxy, as the `STATISTICS` command reports it. Messages are counted
/// per frame, as libzmq does ("each part in a multipart message individually").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyStatistics {
    /// Traffic on the frontend socket.
    pub frontend: SocketStatistics,
    /// Traffic on the backend socket.
    pub backend: SocketStatistics,
}

/// One socket's share of [`ProxyStatistics`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketStatistics {
    /// Frames received on the socket.
    pub messages_received: u64,
    /// Bytes received on the socket.
    pub bytes_received: u64,
    /// Frames sent out of the socket.
    pub messages_sent: u64,
    /// Bytes sent out of the socket.
    pub bytes_sent: u64,
}

/// One of the sockets a proxy works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxySocket {
    /// The frontend socket.
    Frontend,
    /// The backend socket.
    Backend,
    /// The control socket.
    Control,
}

/// Why a proxy stopped (other than `TERMINATE`, which returns `Ok`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// A socket was closed (or its context terminated): libzmq's ETERM.
    #[error("the proxy's {0} socket was closed")]
    Closed(ProxySocket),
    /// A receive failed for another reason (e.g. a REQ or REP used out of turn).
    #[error("receive on the proxy's {socket} socket failed: {error}")]
    Recv {
        /// Which socket.
        socket: ProxySocket,
        /// The error.
        error: RecvError,
    },
    /// A send failed for another reason than a full queue (which the proxy waits out).
    #[error("send on the proxy's {socket} socket failed: {kind}")]
    Send {
        /// Which socket.
        socket: ProxySocket,
        /// The error.
        kind: SendErrorKind,
    },
    /// The poller could not be created or failed.
    #[error(transparent)]
    Poll(#[from] PollError),
}

impl std::fmt::Display for ProxySocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProxySocket::Frontend => "frontend",
            ProxySocket::Backend => "backend",
            ProxySocket::Control => "control",
        })
    }
}

/// State the proxy shares with its `ProxyControl` handles.
#[derive(Debug, Default)]
struct Shared {
    paused: AtomicBool,
    terminate: AtomicBool,
    /// Frontend then backend: frames in, bytes in, frames out, bytes out.
    counters: [[AtomicU64; 4]; 2],
}

/// Messages read from one socket per round before the loop looks at the other direction and
/// the control socket again (fairness, and commands are not starved).
const BATCH: usize = 256;

/// Frontend (0) and backend (1) in the arrays below.
const SIDES: [ProxySocket; 2] = [ProxySocket::Frontend, ProxySocket::Backend];

/// One direction of traffic, `from` side to the other.
#[derive(Debug)]
struct Direction {
    from: usize,
    /// The socket types allow it (the source receives, the destination sends).
    possible: bool,
    /// Received but refused by the destination for lack of room: offered again first.
    pending: Option<Message>,
}

impl Proxy {
    /// A proxy between `frontend` and `backend` (it keeps clones of the handles).
    pub fn new(frontend: &Socket, backend: &Socket) -> Result<Proxy, ProxyError> {
        Ok(Proxy {
            frontend: frontend.clone(),
            backend: backend.clone(),
            capture: None,
            control_socket: None,
            poller: Poller::new()?,
            shared: Arc::new(Shared::default()),
        })
    }

    /// Copies every message passed to `capture` too (best effort, never blocking).
    pub fn capture(mut self, capture: &Socket) -> Proxy {
        self.capture = Some(capture.clone());
        self
    }

    /// Takes `PAUSE`, `RESUME`, `TERMINATE` and `STATISTICS` commands on `control` (REP or
    /// PAIR), as `zmq_proxy_steerable`.
    pub fn control_socket(mut self, control: &Socket) -> Proxy {
        self.control_socket = Some(control.clone());
        self
    }

    /// A handle that pauses, resumes, terminates or reads the statistics of this proxy from
    /// any thread (no control socket needed).
    pub fn control(&self) -> ProxyControl {
        ProxyControl {
            shared: self.shared.clone(),
            waker: self.poller.waker(),
        }
    }

    /// Runs the proxy on the calling thread until it is terminated (`Ok`) or a socket is
    /// closed or fails (`Err`). The proxy holds handles of its sockets, so dropping the
    /// application's handles does not stop it: use [`ProxyControl::terminate`], a `TERMINATE`
    /// command, [`Socket::close`] or the context's termination. A socket closed while the
    /// proxy is paused, or while it waits for the other socket to take a message, is noticed
    /// when forwarding resumes.
    pub fn run(mut self) -> Result<(), ProxyError> {
        let types = [self.frontend.socket_type(), self.backend.socket_type()];
        let mut dirs = [0, 1].map(|from| Direction {
            from,
            possible: can_receive(types[from]) && can_send(types[1 - from]),
            pending: None,
        });
        let keys = [
            self.poller.add(&self.frontend, Interest::NONE),
            self.poller.add(&self.backend, Interest::NONE),
        ];
        let control_key = match &self.control_socket {
            Some(c) => Some(self.poller.add(c, Interest::READABLE)),
            None => None,
        };
        let mut events = Vec::new();
        loop {
            if self.control_socket.is_some() {
                self.handle_commands()?;
            }
            if self.shared.terminate.load(Ordering::Acquire) {
                return Ok(());
            }
            let paused = self.shared.paused.load(Ordering::Acquire);
            let mut more = false;
            if !paused {
                for d in dirs.iter_mut().filter(|d| d.possible) {
                    more |= self.forward(d)?;
                }
            }
            if more {
                continue;
            }
            self.set_interests(&keys, &dirs, types, paused)?;
            self.poller.wait(&mut events, None)?;
            check_closed(&events, &keys, control_key)?;
        }
    }

    /// Moves up to `BATCH` messages in one direction. Returns true if it stopped at the batch
    /// limit (there may be more), false when the source is empty or the destination full.
    fn forward(&self, d: &mut Direction) -> Result<bool, ProxyError> {
        let sockets = [&self.frontend, &self.backend];
        let (from, to) = (sockets[d.from], sockets[1 - d.from]);
        for _ in 0..BATCH {
            let msg = match d.pending.take() {
                Some(m) => m,
                None => match from.try_recv() {
                    Ok(m) => {
                        self.count_received(d.from, &m);
                        if let Some(c) = &self.capture {
                            // Best effort by design: a full or closed capture loses the copy.
                            let _ = c.try_send(m.clone());
                        }
                        m
                    }
                    Err(RecvError::WouldBlock) => return Ok(false),
                    Err(RecvError::Closed) => return Err(ProxyError::Closed(SIDES[d.from])),
                    Err(error) => {
                        return Err(ProxyError::Recv {
                            socket: SIDES[d.from],
                            error,
                        })
                    }
                },
            };
            let (frames, bytes) = (msg.len() as u64, msg.byte_len() as u64);
            match to.try_send(msg) {
                Ok(()) => self.count_sent(1 - d.from, frames, bytes),
                Err(e) => match e.kind() {
                    SendErrorKind::WouldBlock => {
                        d.pending = Some(e.into_message());
                        return Ok(false);
                    }
                    SendErrorKind::Closed => return Err(ProxyError::Closed(SIDES[1 - d.from])),
                    kind => {
                        return Err(ProxyError::Send {
                            socket: SIDES[1 - d.from],
                            kind,
                        })
                    }
                },
            }
        }
        Ok(true)
    }

    /// What to wait for: each source whose direction has nothing pending, each destination
    /// holding a refused message. An idle send-only socket (PUSH, PUB) is asked for
    /// "readable", which it never is, so that its closing still wakes the wait. Nothing while
    /// paused (the control socket and the handle's wake still end the wait).
    fn set_interests(
        &mut self,
        keys: &[PollerKey; 2],
        dirs: &[Direction; 2],
        types: [SocketType; 2],
        paused: bool,
    ) -> Result<(), ProxyError> {
        let mut interest = [Interest::NONE; 2];
        if !paused {
            for d in dirs.iter().filter(|d| d.possible) {
                if d.pending.is_some() {
                    interest[1 - d.from] = interest[1 - d.from] | Interest::WRITABLE;
                } else {
                    interest[d.from] = interest[d.from] | Interest::READABLE;
                }
            }
            for (i, t) in interest.iter_mut().zip(types) {
                if *i == Interest::NONE && !can_receive(t) {
                    *i = Interest::READABLE;
                }
            }
        }
        for (key, interest) in keys.iter().zip(interest) {
            self.poller.modify(*key, interest)?;
        }
        Ok(())
    }

    /// Takes every queued command from the control socket.
    fn handle_commands(&self) -> Result<(), ProxyError> {
        let Some(control) = &self.control_socket else {
            return Ok(());
        };
        loop {
            let msg = match control.try_recv() {
                Ok(m) => m,
                Err(RecvError::WouldBlock) => return Ok(()),
                Err(RecvError::Closed) => return Err(ProxyError::Closed(ProxySocket::Control)),
                Err(error) => {
                    return Err(ProxyError::Recv {
                        socket: ProxySocket::Control,
                        error,
                    })
                }
            };
            let command = msg.last().map(|f| f.as_slice()).unwrap_or_default();
            let reply = match command {
                b"PAUSE" => {
                    self.shared.paused.store(true, Ordering::Release);
                    None
                }
                b"RESUME" => {
                    self.shared.paused.store(false, Ordering::Release);
                    None
                }
                b"TERMINATE" => {
                    self.shared.terminate.store(true, Ordering::Release);
                    None
                }
                b"STATISTICS" => Some(self.shared.statistics().to_message()),
                other => {
                    tracing::warn!(
                        command = %String::from_utf8_lossy(other),
                        "proxy: unknown control command ignored"
                    );
                    None
                }
            };
            // libzmq: STATISTICS is answered on any control socket; a REP also gets an empty
            // reply to every other command. A reply that cannot go out now is dropped rather
            // than stall the proxy.
            let reply = match reply {
                Some(r) => Some(r),
                None if control.socket_type() == SocketType::Rep => Some(Message::new()),
                None => None,
            };
            if let Some(r) = reply {
                match control.try_send(r) {
                    Err(e) if e.kind() == SendErrorKind::Closed => {
                        return Err(ProxyError::Closed(ProxySocket::Control))
                    }
                    _ => {}
                }
            }
        }
    }

    fn count_received(&self, side: usize, msg: &Message) {
        let c = &self.shared.counters[side];
        c[0].fetch_add(msg.len() as u64, Ordering::Relaxed);
        c[1].fetch_add(msg.byte_len() as u64, Ordering::Relaxed);
    }

    fn count_sent(&self, side: usize, frames: u64, bytes: u64) {
        let c = &self.shared.counters[side];
        c[2].fetch_add(frames, Ordering::Relaxed);
        c[3].fetch_add(bytes, Ordering::Relaxed);
    }
}

/// A closed frontend, backend or control socket ends the proxy.
fn check_closed(
    events: &[PollEvent],
    keys: &[PollerKey; 2],
    control: Option<PollerKey>,
) -> Result<(), ProxyError> {
    for e in events.iter().filter(|e| e.is_error()) {
        let which = if e.key() == keys[0] {
            ProxySocket::Frontend
        } else if e.key() == keys[1] {
            ProxySocket::Backend
        } else if Some(e.key()) == control {
            ProxySocket::Control
        } else {
            continue;
        };
        return Err(ProxyError::Closed(which));
    }
    Ok(())
}

fn can_receive(t: SocketType) -> bool {
    t.capabilities().can_recv
}

fn can_send(t: SocketType) -> bool {
    t.capabilities().can_send
}

impl ProxyControl {
    /// Stops forwarding (messages wait in the sockets' queues, under their HWMs).
    pub fn pause(&self) {
        self.shared.paused.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Forwards again after [`ProxyControl::pause`] or a `PAUSE` command.
    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::Release);
        self.waker.wake();
    }

    /// Makes [`Proxy::run`] return `Ok(())`.
    pub fn terminate(&self) {
        self.shared.terminate.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// The counters so far: a live reading that may lag the traffic by the message the proxy
    /// is handling (a receiver may already have a message not yet counted as sent); exact
    /// once the proxy has returned. The `STATISTICS` command, answered by the proxy itself
    /// between messages, has no such lag.
    pub fn statistics(&self) -> ProxyStatistics {
        self.shared.statistics()
    }

    /// Whether the proxy is paused (by a handle or a `PAUSE` command).
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::Acquire)
    }
}

impl Shared {
    fn statistics(&self) -> ProxyStatistics {
        let side = |c: &[AtomicU64; 4]| SocketStatistics {
            messages_received: c[0].load(Ordering::Relaxed),
            bytes_received: c[1].load(Ordering::Relaxed),
            messages_sent: c[2].load(Ordering::Relaxed),
            bytes_sent: c[3].load(Ordering::Relaxed),
        };
        ProxyStatistics {
            frontend: side(&self.counters[0]),
            backend: side(&self.counters[1]),
        }
    }
}

impl ProxyStatistics {
    /// The `STATISTICS` reply: 8 frames of 8 bytes, each a `u64` — frontend frames received,
    /// bytes received, frames sent, bytes sent, then the same for the backend. libzmq copies
    /// its `uint64_t`s in host byte order; these are little-endian, which is the same bytes on
    /// every little-endian host (x86-64, AArch64) and well defined elsewhere.
    pub fn to_message(&self) -> Message {
        let mut m = Message::new();
        for v in self.values() {
            m.push_back(v.to_le_bytes().to_vec());
        }
        m
    }

    /// Parses a `STATISTICS` reply (see [`ProxyStatistics::to_message`]); `None` if it does
    /// not have 8 frames of 8 bytes.
    pub fn from_message(msg: &Message) -> Option<ProxyStatistics> {
        let frames = msg.frames();
        if frames.len() != 8 {
            return None;
        }
        let mut v = [0u64; 8];
        for (slot, f) in v.iter_mut().zip(frames) {
            *slot = u64::from_le_bytes(f.as_ref().try_into().ok()?);
        }
        let side = |s: &[u64]| SocketStatistics {
            messages_received: s[0],
            bytes_received: s[1],
            messages_sent: s[2],
            bytes_sent: s[3],
        };
        Some(ProxyStatistics {
            frontend: side(&v[..4]),
            backend: side(&v[4..]),
        })
    }

    fn values(&self) -> [u64; 8] {
        let (f, b) = (&self.frontend, &self.backend);
        [
            f.messages_received,
            f.bytes_received,
            f.messages_sent,
            f.bytes_sent,
            b.messages_received,
            b.bytes_received,
            b.messages_sent,
            b.bytes_sent,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_round_trip_through_the_wire_form() {
        let s = ProxyStatistics {
            frontend: SocketStatistics {
                messages_received: 1,
                bytes_received: 2,
                messages_sent: 3,
                bytes_sent: 4,
            },
            backend: SocketStatistics {
                messages_received: 5,
                bytes_received: 6,
                messages_sent: 7,
                bytes_sent: u64::MAX,
            },
        };
        let m = s.to_message();
        assert_eq!(m.len(), 8);
        assert_eq!(&m.frames()[0][..], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&m.frames()[7][..], &[0xff; 8]);
        assert_eq!(ProxyStatistics::from_message(&m), Some(s));
        assert_eq!(ProxyStatistics::from_message(&Message::from("x")), None);
    }

    #[test]
    fn directions_follow_the_socket_types() {
        use SocketType::*;
        for (f, b, fwd, back) in [
            (Router, Dealer, true, true),
            (Pull, Push, true, false),
            (XSub, XPub, true, true),
            (Sub, Pub, true, false),
            (Push, Pull, false, true),
            (Pull, Pull, false, false),
        ] {
            assert_eq!(can_receive(f) && can_send(b), fwd, "{f:?}->{b:?}");
            assert_eq!(can_receive(b) && can_send(f), back, "{b:?}->{f:?}");
        }
    }
}
