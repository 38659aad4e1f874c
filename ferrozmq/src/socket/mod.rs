//! [`Socket`]: the public, thread-safe socket handle, and the endpoint operations (bind,
//! connect, unbind, disconnect) that hand listeners and connects to the engine.

pub(crate) mod core;
mod halves;
pub(crate) mod link;
pub(crate) mod pattern;
pub(crate) mod pipe;
pub(crate) mod zap;

pub(crate) mod wait;

pub use halves::{SocketSink, SocketStream};

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use self::core::{SocketCore, Wait};
use crate::endpoint::Endpoint;
use crate::engine::Command;
use crate::error::{
    BindError, ConnectError, ContextError, DetachError, EndpointError, OptionError, RecvError,
    SendError, SendErrorKind,
};
use crate::monitor::{bind_error_kind, Monitor, MonitorEvent, MonitorEventKind};
use crate::transport::{abstract_name, bind_ipc, bind_tcp, Listener, Target};
use crate::{Context, Message, Options, SocketOption, SocketType};

/// What `open_listener` hands to `bind`: the listener (none for inproc), the resolved
/// endpoint, and the ipc path to remove when the listener closes.
type OpenedListener = (Option<Listener>, String, Option<std::path::PathBuf>);

/// A ZeroMQ socket. `Send + Sync` and cheap to clone: clones are handles to the same socket,
/// and any number of threads may send and receive on it at once. Messages are sent and
/// received whole (all frames at once), so concurrent senders never interleave frames.
///
/// The socket closes when [`Socket::close`] is called or the last handle is dropped; pending
/// outgoing messages are then flushed in the background for at most LINGER.
#[derive(Clone, Debug)]
pub struct Socket {
    handle: Arc<Handle>,
}

/// Closes the socket when the last `Socket` clone goes.
#[derive(Debug)]
struct Handle {
    core: Arc<SocketCore>,
    /// Keeps the context (and its I/O thread) alive while the socket is.
    _ctx: Context,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.core.close();
    }
}

impl Socket {
    /// A socket in the process-wide default context ([`Context::global`]), whose queued
    /// messages are flushed within LINGER when the process exits.
    ///
    /// # Panics
    /// If the default context's I/O thread cannot start; see [`Socket::try_new`].
    pub fn new(socket_type: SocketType) -> Socket {
        Context::global().socket(socket_type)
    }

    /// A socket in the process-wide default context, or why its I/O thread could not start.
    pub fn try_new(socket_type: SocketType) -> Result<Socket, ContextError> {
        Ok(Context::try_global()?.socket(socket_type))
    }

    pub(crate) fn from_core(core: Arc<SocketCore>, ctx: Context) -> Socket {
        Socket {
            handle: Arc::new(Handle { core, _ctx: ctx }),
        }
    }

    pub(crate) fn core(&self) -> &Arc<SocketCore> {
        &self.handle.core
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.core().socket_type
    }

    /// Binds to an endpoint and returns the resolved endpoint (e.g. with the ephemeral port
    /// chosen for `tcp://127.0.0.1:*`), also kept as [`Socket::last_endpoint`].
    ///
    /// tcp hosts are `*` (every IPv4 interface; with [`SocketOption::Ipv6`] on, a
    /// dual-stack `[::]` socket that takes IPv4 and IPv6 where the system allows), an address,
    /// an interface name (`tcp://lo:5555`) or a host name (resolved here, as in libzmq).
    /// `ipc://@NAME` binds in the Linux abstract namespace (no file is made).
    ///
    /// Monitors see `Listening` with the resolved endpoint, or `BindFailed` (unless the
    /// socket is closed).
    pub fn bind(&self, endpoint: &str) -> Result<String, BindError> {
        let core = self.core();
        let (listener, resolved, unlink) = match self.open_listener(endpoint) {
            Ok(opened) => opened,
            Err(e) => {
                if !matches!(e, BindError::Closed | BindError::EngineFailed) {
                    core.monitor.emit(|| {
                        let kind = MonitorEventKind::BindFailed {
                            error: bind_error_kind(&e),
                        };
                        MonitorEvent::new(kind, endpoint, None)
                    });
                }
                return Err(e);
            }
        };
        let bind_id = {
            let mut st = core.lock();
            let id = st.next_endpoint_id;
            st.next_endpoint_id += 1;
            st.binds.insert(resolved.clone(), id);
            st.binds.insert(endpoint.to_owned(), id);
            st.last_endpoint = Some(resolved.clone());
            id
        };
        // Before the engine gets the listener, so `Listening` precedes its connections.
        core.monitor
            .emit(|| MonitorEvent::new(MonitorEventKind::Listening, resolved.clone(), None));
        if let Some(listener) = listener {
            core.reactor().send(Command::Listen {
                socket: link::SocketLink::new(core.clone()),
                bind_id,
                listener,
                unlink,
            });
        }
        Ok(resolved)
    }

    /// The transport part of `bind`: a listener (none for inproc), the resolved endpoint, and
    /// the ipc path to remove when the listener closes.
    fn open_listener(&self, endpoint: &str) -> Result<OpenedListener, BindError> {
        let ep = Endpoint::parse(endpoint)?;
        let core = self.core();
        refuse_inproc_for_raw(&ep, core.socket_type)?;
        let opts = core.options();
        if core.is_closed() || core.ctx.has_failed() {
            return Err(match core.closed_kind() {
                SendErrorKind::EngineFailed => BindError::EngineFailed,
                _ => BindError::Closed,
            });
        }
        Ok(match &ep {
            Endpoint::Tcp {
                source: Some(_), ..
            } => return Err(crate::EndpointError::InvalidAddress(endpoint.to_owned()).into()),
            Endpoint::Tcp { host, port, .. } => {
                let addr = Endpoint::tcp_bind_addr(host, *port, opts.ipv6)?;
                let (l, resolved) = bind_tcp(addr, &opts)?;
                (Some(l), resolved, None)
            }
            Endpoint::Ipc(path) => {
                let path = if path.as_os_str() == "*" {
                    ipc_wildcard_path()
                } else {
                    path.clone()
                };
                let l = bind_ipc(&path)?;
                let unlink = abstract_name(&path).is_none().then(|| path.clone());
                (Some(l), format!("ipc://{}", path.display()), unlink)
            }
            Endpoint::Inproc(name) => {
                core.ctx.inproc_bind(name, core)?;
                (None, endpoint.to_owned(), None)
            }
        })
    }

    /// A new monitor of this socket's events (see [`Monitor`]): it receives every event from
    /// now on, ending with `MonitorStopped` once the socket is closed and the engine is done
    /// with it. Any number of monitors may watch one socket.
    pub fn monitor(&self) -> Monitor {
        self.core().monitor.subscribe()
    }

    /// Connects to an endpoint. The connection is made (and remade after failures, with
    /// RECONNECT_IVL back-off) in the background; messages queue for it meanwhile unless
    /// IMMEDIATE is set. inproc endpoints may be connected before they are bound.
    ///
    /// tcp endpoints are `tcp://[SOURCE;]HOST:PORT`. A host name is not resolved here: the
    /// engine resolves it off the caller's thread before every connection attempt (so a name
    /// that does not resolve yet, or whose address changes, is retried like a refused
    /// connect), and monitors see each failure as [`MonitorEventKind::ResolveFailed`]. Names
    /// resolve to IPv4 addresses unless [`SocketOption::Ipv6`] is on. `SOURCE` (`*`, an
    /// address or an interface name, with an optional `:PORT`) is the local address the
    /// connection is bound to, as in libzmq. `ipc://@NAME` connects in the Linux abstract
    /// namespace.
    pub fn connect(&self, endpoint: &str) -> Result<(), ConnectError> {
        let ep = Endpoint::parse(endpoint)?;
        let core = self.core();
        refuse_inproc_for_raw(&ep, core.socket_type)?;
        let target = match &ep {
            Endpoint::Tcp { host, port, source } => {
                let dst = Endpoint::tcp_connect_dst(host, *port)?;
                let ipv6 = core.options().ipv6;
                let source = source
                    .as_ref()
                    .map(|(h, p)| Endpoint::tcp_source_addr(h, *p, ipv6))
                    .transpose()?;
                Some(Target::Tcp { dst, source })
            }
            Endpoint::Ipc(path) => Some(Target::Ipc(path.clone())),
            Endpoint::Inproc(_) => None,
        };
        let (connect_id, peer) = {
            let mut st = core.lock();
            if st.closed || core.ctx.has_failed() {
                return Err(match core.closed_kind() {
                    SendErrorKind::EngineFailed => ConnectError::EngineFailed,
                    _ => ConnectError::Closed,
                });
            }
            let id = st.next_endpoint_id;
            st.next_endpoint_id += 1;
            // A STREAM connection is a fresh byte stream each time, with a fresh routing id:
            // nothing queued for one may go to the next, so it has no persistent peer.
            let persistent =
                (!st.options.immediate || target.is_none()) && !core.socket_type.capabilities().raw;
            let peer = persistent.then(|| core.create_peer(&mut st, true).peer);
            st.connects
                .entry(endpoint.to_owned())
                .or_default()
                .push((id, peer));
            (id, peer)
        };
        match (target, &ep) {
            (Some(target), _) => {
                core.reactor().send(Command::Connect {
                    socket: link::SocketLink::new(core.clone()),
                    connect_id,
                    target,
                    peer,
                });
            }
            (None, Endpoint::Inproc(name)) => {
                if let Some(peer) = peer {
                    core.ctx.inproc_connect(name, core, peer);
                }
            }
            (None, _) => {}
        }
        Ok(())
    }

    /// Stops listening on an endpoint given to (or returned by) `bind`. Connections already
    /// accepted stay up.
    pub fn unbind(&self, endpoint: &str) -> Result<(), DetachError> {
        let ep = Endpoint::parse(endpoint)?;
        let core = self.core();
        let id = {
            let mut st = core.lock();
            if st.closed {
                return Err(DetachError::Closed);
            }
            let id = st
                .binds
                .get(endpoint)
                .copied()
                .ok_or_else(|| DetachError::NotFound(endpoint.to_owned()))?;
            st.binds.retain(|_, v| *v != id);
            id
        };
        if let Endpoint::Inproc(name) = &ep {
            core.ctx.inproc_unbind(name, core);
        } else {
            core.reactor().send(Command::Unbind {
                socket_id: core.id,
                bind_id: id,
            });
        }
        Ok(())
    }

    /// Drops the connection made by `connect` to this endpoint, and its queue.
    pub fn disconnect(&self, endpoint: &str) -> Result<(), DetachError> {
        let ep = Endpoint::parse(endpoint)?;
        let core = self.core();
        let connects = {
            let mut st = core.lock();
            if st.closed {
                return Err(DetachError::Closed);
            }
            st.connects
                .remove(endpoint)
                .ok_or_else(|| DetachError::NotFound(endpoint.to_owned()))?
        };
        for (id, peer) in connects {
            core.reactor().send(Command::Disconnect {
                socket_id: core.id,
                connect_id: id,
            });
            if let Some(peer) = peer {
                if let Endpoint::Inproc(name) = &ep {
                    core.ctx.inproc_cancel(name, core.id, peer);
                }
                core.remove_peer(peer);
            }
        }
        Ok(())
    }

    /// The endpoint resolved by the last successful `bind` (ZMQ_LAST_ENDPOINT).
    pub fn last_endpoint(&self) -> Option<String> {
        self.core().lock().last_endpoint.clone()
    }

    /// Sets one option. Like libzmq, options affect connections made after the call.
    ///
    /// An option that does not apply to this socket type (ROUTER_MANDATORY on a REP, see
    /// [`SocketOption::applies_to`]) is refused with [`OptionError::NotApplicable`].
    pub fn set_option(&self, option: SocketOption) -> Result<(), OptionError> {
        if !option.applies_to(self.socket_type()) {
            return Err(OptionError::NotApplicable(option.name()));
        }
        self.core().set_option(option)
    }

    /// A snapshot of the socket's options.
    pub fn options(&self) -> Options {
        self.core().options()
    }

    /// Subscribes to messages starting with `topic` (SUB, XSUB): ZMQ_SUBSCRIBE. Subscriptions
    /// are counted: two subscribes to one topic take two unsubscribes.
    pub fn subscribe(&self, topic: impl AsRef<[u8]>) -> Result<(), OptionError> {
        let topic = bytes::Bytes::copy_from_slice(topic.as_ref());
        self.set_option(SocketOption::Subscribe(topic))
    }

    /// Cancels one subscription to `topic` (SUB, XSUB): ZMQ_UNSUBSCRIBE.
    pub fn unsubscribe(&self, topic: impl AsRef<[u8]>) -> Result<(), OptionError> {
        let topic = bytes::Bytes::copy_from_slice(topic.as_ref());
        self.set_option(SocketOption::Unsubscribe(topic))
    }

    /// Sends a message, blocking up to SNDTIMEO (forever by default) until a peer can take it.
    pub fn send(&self, msg: impl Into<Message>) -> Result<(), SendError> {
        self.core().send(msg.into(), Wait::Configured)
    }

    /// Sends without blocking; `WouldBlock` if no peer can take the message now.
    pub fn try_send(&self, msg: impl Into<Message>) -> Result<(), SendError> {
        self.core().send(msg.into(), Wait::No)
    }

    /// Sends, waiting at most `timeout` (`None`: forever).
    pub fn send_timeout(
        &self,
        msg: impl Into<Message>,
        timeout: Option<Duration>,
    ) -> Result<(), SendError> {
        self.core().send(msg.into(), Wait::from_timeout(timeout))
    }

    /// Sends every message of `msgs`, from the front, under one lock of the socket (cheaper
    /// than one `send` each for a burst of small messages), blocking up to SNDTIMEO for the
    /// whole batch. On failure the message that failed is handed back in the error and those
    /// after it stay in `msgs`; those before it were sent.
    pub fn send_many(
        &self,
        msgs: &mut std::collections::VecDeque<Message>,
    ) -> Result<(), SendError> {
        self.core().send_many(msgs, Wait::Configured)
    }

    /// Receives up to `max` messages into `out` under one lock of the socket: blocks up to
    /// RCVTIMEO for the first, then takes what is already queued. Returns how many were
    /// appended: at least one, unless `max` is 0 (then none, at once).
    pub fn recv_many(&self, out: &mut Vec<Message>, max: usize) -> Result<usize, RecvError> {
        self.core().recv_many(out, max, Wait::Configured)
    }

    /// Receives a message, blocking up to RCVTIMEO (forever by default).
    pub fn recv(&self) -> Result<Message, RecvError> {
        self.core().recv(Wait::Configured)
    }

    /// Receives a message (as [`Socket::recv`]) and returns its bytes: the frame of a
    /// one-frame message, or the frames one after another for a multipart one (use `recv`
    /// to keep them apart).
    ///
    /// ```
    /// # use ferrozmq::{Context, SocketType};
    /// let ctx = Context::new();
    /// let pull = ctx.socket(SocketType::Pull);
    /// pull.bind("inproc://recv-bytes-doc").unwrap();
    /// let push = ctx.socket(SocketType::Push);
    /// push.connect("inproc://recv-bytes-doc").unwrap();
    /// push.send(&b"\x00\x01"[..]).unwrap();
    /// assert_eq!(pull.recv_bytes().unwrap(), [0, 1]);
    /// ```
    pub fn recv_bytes(&self) -> Result<Vec<u8>, RecvError> {
        let msg = self.recv()?;
        let mut out = Vec::with_capacity(msg.byte_len());
        for frame in msg.frames() {
            out.extend_from_slice(frame);
        }
        Ok(out)
    }

    /// Receives a message (as [`Socket::recv_bytes`]) as text: `Ok(Ok(text))` if it is UTF-8,
    /// `Ok(Err(bytes))` with the bytes if not (the `zmq` crate's convention), `Err` if nothing
    /// was received.
    ///
    /// ```
    /// # use ferrozmq::{Context, SocketType};
    /// let ctx = Context::new();
    /// let pull = ctx.socket(SocketType::Pull);
    /// pull.bind("inproc://recv-string-doc").unwrap();
    /// let push = ctx.socket(SocketType::Push);
    /// push.connect("inproc://recv-string-doc").unwrap();
    /// push.send("héllo").unwrap();
    /// assert_eq!(pull.recv_string().unwrap().as_deref(), Ok("héllo"));
    /// ```
    pub fn recv_string(&self) -> Result<Result<String, Vec<u8>>, RecvError> {
        let bytes = self.recv_bytes()?;
        Ok(String::from_utf8(bytes).map_err(|e| e.into_bytes()))
    }

    /// Receives without blocking; `WouldBlock` if nothing is queued.
    pub fn try_recv(&self) -> Result<Message, RecvError> {
        self.core().recv(Wait::No)
    }

    /// Receives, waiting at most `timeout` (`None`: forever).
    pub fn recv_timeout(&self, timeout: Option<Duration>) -> Result<Message, RecvError> {
        self.core().recv(Wait::from_timeout(timeout))
    }

    /// Sends asynchronously; the future works under any executor (it is woken by the socket
    /// itself, not by a runtime's reactor).
    ///
    /// # Cancellation
    /// Not cancellation-safe, as `tokio::sync::mpsc::Sender::send`: the future owns `msg`
    /// until the socket has queued it. If it is dropped before completing (the losing branch
    /// of a `select!`, a time-out), the message was **not** queued and is dropped with it;
    /// it is never queued later. To keep the message through a cancellation, use
    /// [`Socket::send_async_from`] (the message stays in the caller's slot) or the
    /// [`SocketSink`](crate::SocketSink) of [`Socket::sink`].
    pub async fn send_async(&self, msg: impl Into<Message>) -> Result<(), SendError> {
        let mut msg = Some(msg.into());
        self.send_async_from(&mut msg).await
    }

    /// Sends the message in `slot` asynchronously, taking it out only when the socket queues
    /// it.
    ///
    /// # Cancellation
    /// Cancellation-safe: if the future is dropped before completing, the message is still
    /// in `slot`, unsent, to be sent again or kept. When the future completes, `slot` is
    /// empty: `Ok` means the message was queued; an error hands it back in the
    /// [`SendError`]. An empty `slot` completes at once with `Ok`.
    ///
    /// ```
    /// # use ferrozmq::{Context, Message, SocketType};
    /// # use std::future::{pending, Future};
    /// # futures::executor::block_on(async {
    /// let ctx = Context::new();
    /// let push = ctx.socket(SocketType::Push); // no peer: a send must wait
    /// let mut slot = Some(Message::from("kept"));
    /// futures::select_biased! {
    ///     _ = futures::FutureExt::fuse(std::future::ready(())) => {}
    ///     _ = futures::FutureExt::fuse(push.send_async_from(&mut slot)) => unreachable!(),
    /// }
    /// assert_eq!(slot.unwrap().frames()[0], "kept");
    /// # });
    /// ```
    pub async fn send_async_from(&self, slot: &mut Option<Message>) -> Result<(), SendError> {
        poll_fn(|cx| self.poll_send(cx, slot)).await
    }

    /// Receives asynchronously; the future works under any executor.
    ///
    /// # Cancellation
    /// Cancellation-safe: a message is taken from the socket only by the poll that completes
    /// the future, so a future dropped before completing (the losing branch of a `select!`)
    /// took nothing, and the next receive gets the message.
    pub async fn recv_async(&self) -> Result<Message, RecvError> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Tries to receive a message without blocking; if none is ready, registers the task's
    /// waker and returns `Pending`. The building block of [`Socket::recv_async`] and
    /// [`SocketStream`](crate::SocketStream).
    ///
    /// Contract: after `Pending`, the waker of the latest call is woken when a message may
    /// have become ready (or the socket closed); wake-ups may be spurious (another receiver
    /// took the message first), so poll again and expect `Pending` again. A message is taken
    /// only by a call that returns it. Any number of tasks may poll one socket; each
    /// registered waker is woken.
    pub fn poll_recv(&self, cx: &mut TaskContext<'_>) -> Poll<Result<Message, RecvError>> {
        match self.core().poll_recv(cx.waker()) {
            Err(RecvError::WouldBlock) => Poll::Pending,
            other => Poll::Ready(other),
        }
    }

    /// Tries to queue the message in `slot` without blocking: `Ready(Ok(()))` once queued
    /// (`slot` is then empty), `Ready(Err(e))` if the send failed (the message is in `e`,
    /// `slot` is empty), or `Pending` with the message still in `slot` and the task's waker
    /// registered. An empty `slot` is `Ready(Ok(()))` at once.
    ///
    /// Contract: after `Pending`, the waker is woken when a peer may have room (or the socket
    /// closed); wake-ups may be spurious (another sender took the room first), so poll again.
    /// Because the message stays with the caller until it is queued, dropping the caller's
    /// future loses nothing. The building block of [`Socket::send_async_from`] and
    /// [`SocketSink`](crate::SocketSink).
    pub fn poll_send(
        &self,
        cx: &mut TaskContext<'_>,
        slot: &mut Option<Message>,
    ) -> Poll<Result<(), SendError>> {
        let Some(msg) = slot.take() else {
            return Poll::Ready(Ok(()));
        };
        match self.core().poll_send(msg, cx.waker()) {
            Err(e) if e.kind() == SendErrorKind::WouldBlock => {
                *slot = Some(e.into_message());
                Poll::Pending
            }
            other => Poll::Ready(other),
        }
    }

    /// How many sent messages are still queued in this socket, waiting for a connection to
    /// take them (a message a connection has taken is on its way to the kernel and no longer
    /// counted).
    ///
    /// After [`Context::terminate`] has returned (every socket closed and LINGER over), the
    /// count on a handle still held is what LINGER cut off for peers this socket connected to
    /// (their queues outlive their connections); the queue of a peer that connected to us
    /// goes with its connection and is not counted. `fzmq` uses it to report undelivered
    /// messages. libzmq has no equivalent.
    pub fn queued_outgoing(&self) -> usize {
        self.core().queued_outgoing()
    }

    /// Closes the socket for every handle: blocked calls return `Closed`; pending outgoing
    /// messages are flushed for at most LINGER in the background.
    pub fn close(&self) {
        self.core().close();
    }
}

fn ipc_wildcard_path() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("ferrozmq-{}-{n}.ipc", std::process::id()))
}

/// Connects an internal socket (one made by the context itself, such as its ZAP client) to an
/// inproc name, now or once it is bound, as `Socket::connect` does.
pub(crate) fn connect_inproc(core: &Arc<SocketCore>, name: &str) {
    let peer = {
        let mut st = core.lock();
        let id = st.next_endpoint_id;
        st.next_endpoint_id += 1;
        let peer = core.create_peer(&mut st, true).peer;
        st.connects
            .entry(format!("inproc://{name}"))
            .or_default()
            .push((id, Some(peer)));
        peer
    };
    core.ctx.inproc_connect(name, core, peer);
}

/// STREAM sockets take tcp and ipc only: inproc carries no raw byte stream.
fn refuse_inproc_for_raw(ep: &Endpoint, socket_type: SocketType) -> Result<(), EndpointError> {
    match ep {
        Endpoint::Inproc(_) if socket_type.capabilities().raw => {
            Err(EndpointError::NotForStream("inproc".to_owned()))
        }
        _ => Ok(()),
    }
}
