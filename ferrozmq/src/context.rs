//! [`Context`]: owns the I/O thread and the inproc endpoint registry shared by its sockets.
//!
//! Sockets keep their context alive. When the last handle of a context and of its sockets is
//! dropped (or [`Context::terminate`] is called), every socket closes, pending messages are
//! flushed for at most each socket's LINGER (30 s by default, not forever as in libzmq), and
//! the I/O thread stops.
//!
//! The default context of [`Socket::new`] is never dropped, so it is terminated when the
//! process exits (an `atexit` hook): a program that sends and returns from `main` still has
//! its messages delivered within LINGER, as with a context of its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use ferrozmq_proto::pattern::PeerId;

use crate::engine::{Command, Reactor};
use crate::error::{BindError, ContextError};
use crate::monitor::{MonitorEvent, MonitorEventKind};
use crate::socket::core::SocketCore;
use crate::socket::pattern::PeerMeta;
use crate::socket::zap::ZapClient;
use crate::{Socket, SocketType};

/// A set of sockets sharing an I/O thread and inproc endpoints. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Context {
    shell: Arc<ContextShell>,
}

#[cfg(test)]
impl Context {
    /// What the context's sockets share, for unit tests of its parts.
    pub(crate) fn inner(&self) -> &Arc<ContextInner> {
        &self.shell.inner
    }
}

/// Dropping the last shell terminates the context.
#[derive(Debug)]
struct ContextShell {
    inner: Arc<ContextInner>,
}

/// What sockets (and the engine) share.
pub(crate) struct ContextInner {
    /// The I/O threads (at least one); each socket is served by one of them, in turn.
    reactors: Vec<Reactor>,
    next_reactor: AtomicUsize,
    inproc: Mutex<HashMap<String, InprocEntry>>,
    sockets: Mutex<HashMap<u64, Weak<SocketCore>>>,
    next_socket_id: AtomicU64,
    /// The end of a termination begun by `terminate_async`, shared by every later call (a
    /// second `terminate_async`, `terminate`, the last handle's drop), so none of them returns
    /// while the I/O threads are still flushing.
    termination: Mutex<Option<Arc<Finished>>>,
    /// The ZAP client, made on the first handshake that asks ZAP (see `socket/zap.rs`).
    zap: Mutex<Option<Arc<ZapClient>>>,
}

enum InprocEntry {
    Bound(Weak<SocketCore>),
    /// Connects made before the bind: (socket, its persistent peer).
    Pending(Vec<(Weak<SocketCore>, PeerId)>),
}

/// The default context, made on first use; taken out and terminated at exit.
static GLOBAL: Mutex<Option<Context>> = Mutex::new(None);

impl Context {
    /// A new context with its own I/O thread.
    ///
    /// # Panics
    /// If the I/O thread cannot start (the process is out of descriptors or threads); use
    /// [`Context::try_new`] to handle that.
    pub fn new() -> Context {
        Context::try_new().unwrap_or_else(|e| panic!("ferrozmq: {e}"))
    }

    /// A new context with its own I/O thread, or why the thread could not start.
    pub fn try_new() -> Result<Context, ContextError> {
        Context::with_io_threads(1)
    }

    /// A new context with `n` I/O threads (libzmq's ZMQ_IO_THREADS; 0 counts as 1). Each
    /// socket's connections are served by one of them, taken in turn as sockets are made,
    /// so sockets busy at once (both ends of a pipeline in one process, a proxy's two sides)
    /// can use a core each. One thread is enough for most programs, as with libzmq.
    pub fn with_io_threads(n: usize) -> Result<Context, ContextError> {
        let reactors = (0..n.max(1))
            .map(|_| Reactor::new())
            .collect::<Result<Vec<_>, _>>()
            .map_err(ContextError::Io)?;
        let inner = Arc::new(ContextInner {
            reactors,
            next_reactor: AtomicUsize::new(0),
            inproc: Mutex::new(HashMap::new()),
            sockets: Mutex::new(HashMap::new()),
            next_socket_id: AtomicU64::new(1),
            termination: Mutex::new(None),
            zap: Mutex::new(None),
        });
        for reactor in &inner.reactors {
            let weak = Arc::downgrade(&inner);
            let started = reactor.start(move || {
                if let Some(inner) = weak.upgrade() {
                    inner.close_sockets();
                }
            });
            if let Err(e) = started {
                // The threads already started stop again.
                for reactor in &inner.reactors {
                    reactor.shutdown();
                }
                return Err(ContextError::Io(e));
            }
        }
        Ok(Context {
            shell: Arc::new(ContextShell { inner }),
        })
    }

    /// The number of I/O threads.
    pub fn io_threads(&self) -> usize {
        self.shell.inner.reactors.len()
    }

    /// The process-wide default context used by [`Socket::new`].
    ///
    /// It lives until the process exits; then (after `main` returns or at
    /// `std::process::exit`) its sockets are closed and their queued messages flushed for at
    /// most LINGER each, as when a context of one's own is dropped.
    ///
    /// # Panics
    /// If the I/O thread cannot start; see [`Context::try_global`].
    pub fn global() -> Context {
        Context::try_global().unwrap_or_else(|e| panic!("ferrozmq: {e}"))
    }

    /// The process-wide default context, or why its I/O thread could not start.
    pub fn try_global() -> Result<Context, ContextError> {
        let mut global = GLOBAL.lock();
        if let Some(ctx) = &*global {
            return Ok(ctx.clone());
        }
        let ctx = Context::try_new()?;
        register_exit_flush();
        *global = Some(ctx.clone());
        Ok(ctx)
    }

    /// Creates a socket of the given type in this context.
    pub fn socket(&self, socket_type: SocketType) -> Socket {
        let inner = &self.shell.inner;
        let id = inner.next_socket_id.fetch_add(1, Ordering::Relaxed);
        let io = inner.next_reactor.fetch_add(1, Ordering::Relaxed) % inner.reactors.len();
        let core = SocketCore::new(id, socket_type, inner.clone(), io);
        inner.sockets.lock().insert(id, Arc::downgrade(&core));
        if inner.has_failed() {
            // Nothing would ever move its messages: every call says so at once.
            core.close();
        }
        Socket::from_core(core, self.clone())
    }

    /// The context's first reactor (tests of the failure path).
    #[cfg(test)]
    pub(crate) fn reactor(&self) -> &Reactor {
        self.shell.inner.reactor(0)
    }

    /// Closes every socket of this context (each flushing for at most its LINGER) and stops the
    /// I/O thread once they are done. Blocked calls on those sockets return `Closed`.
    ///
    /// Blocks the calling thread for up to LINGER, as does dropping the last handle of the
    /// context (sockets hold one). In async code use [`Context::terminate_async`] instead.
    pub fn terminate(&self) {
        self.shell.inner.terminate();
    }

    /// [`Context::terminate`] for async code: starts the termination at once (every socket
    /// closes; blocked calls return `Closed`) and returns a future, for any executor, that
    /// completes once the I/O threads have flushed for at most each socket's LINGER and
    /// stopped. The waiting is done by a short-lived helper thread, never by the task's
    /// executor thread.
    ///
    /// Which to use: inside an async task, `ctx.terminate_async().await` before the last
    /// handles of the context and of its sockets go. Once it completed, dropping them
    /// returns at once; whereas dropping the last handle without it (or calling
    /// `terminate`) blocks the executor thread for up to LINGER. Dropping a socket alone
    /// never blocks (its flush runs in the background); only the context's end waits.
    ///
    /// ```
    /// # use ferrozmq::{Context, SocketType};
    /// let ctx = Context::new();
    /// let push = ctx.socket(SocketType::Push);
    /// push.connect("tcp://127.0.0.1:1").unwrap();
    /// futures::executor::block_on(async move {
    ///     ctx.terminate_async().await;
    ///     drop(push); // returns at once
    /// });
    /// ```
    pub fn terminate_async(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let inner = &self.shell.inner;
        inner.close_sockets();
        let (done, first) = {
            let mut slot = inner.termination.lock();
            match slot.as_ref() {
                Some(d) => (d.clone(), false),
                None => {
                    let d = Arc::new(Finished::default());
                    *slot = Some(d.clone());
                    (d, true)
                }
            }
        };
        if first {
            let jobs: Vec<_> = inner
                .reactors
                .iter()
                .filter_map(Reactor::begin_shutdown)
                .collect();
            if jobs.is_empty() {
                done.set();
            } else {
                let signal = done.clone();
                let run = move || {
                    jobs.into_iter().for_each(|job| job());
                    signal.set();
                };
                let spawned = std::thread::Builder::new()
                    .name("ferrozmq-term".into())
                    .spawn(run);
                if let Err(e) = spawned {
                    // The join handles went with the closure: the I/O threads still finish on
                    // their own, detached, but nothing can wait for them any more.
                    tracing::warn!("ferrozmq: no thread to await the termination ({e})");
                    done.set();
                }
            }
        }
        std::future::poll_fn(move |cx| done.poll(cx))
    }
}

/// A one-shot "done" flag that tasks (wakers) and threads (a condvar) can wait for: the end
/// of a termination begun by `terminate_async`.
#[derive(Debug, Default)]
struct Finished {
    state: Mutex<(bool, Vec<std::task::Waker>)>,
    done: parking_lot::Condvar,
}

impl Finished {
    fn set(&self) {
        let wakers = {
            let mut st = self.state.lock();
            st.0 = true;
            std::mem::take(&mut st.1)
        };
        self.done.notify_all();
        for w in wakers {
            w.wake();
        }
    }

    fn poll(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let mut st = self.state.lock();
        if st.0 {
            return std::task::Poll::Ready(());
        }
        if !st.1.iter().any(|w| w.will_wake(cx.waker())) {
            st.1.push(cx.waker().clone());
        }
        std::task::Poll::Pending
    }

    /// Blocks the calling thread until the flag is set.
    fn wait(&self) {
        let mut st = self.state.lock();
        while !st.0 {
            self.done.wait(&mut st);
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl Drop for ContextShell {
    fn drop(&mut self) {
        self.inner.terminate();
    }
}

impl ContextInner {
    fn terminate(&self) {
        self.close_sockets();
        // A termination `terminate_async` began is joined, not begun again (its helper
        // thread holds the I/O threads' join handles). Not from an I/O thread itself, which
        // that termination waits for.
        let pending = self.termination.lock().clone();
        if let Some(done) = pending {
            if std::thread::current().name() != Some("ferrozmq-io") {
                done.wait();
            }
            return;
        }
        for reactor in &self.reactors {
            reactor.shutdown();
        }
    }

    /// True once any I/O thread of the context failed: its sockets were all closed, and the
    /// context serves no more.
    pub(crate) fn has_failed(&self) -> bool {
        self.reactors.iter().any(Reactor::has_failed)
    }

    /// The I/O thread `io` (taken modulo their number, so any index names one).
    pub(crate) fn reactor(&self, io: usize) -> &Reactor {
        let n = self.reactors.len();
        &self.reactors[io % n]
    }

    /// Closes every socket of the context (blocked calls return).
    fn close_sockets(&self) {
        let sockets: Vec<_> = self
            .sockets
            .lock()
            .drain()
            .filter_map(|(_, w)| w.upgrade())
            .collect();
        for s in sockets {
            s.close();
        }
    }

    /// A socket the context uses itself (no `Socket` handle, so it does not keep the context
    /// alive); closed with the context's other sockets.
    pub(crate) fn internal_socket(self: &Arc<Self>, socket_type: SocketType) -> Arc<SocketCore> {
        let id = self.next_socket_id.fetch_add(1, Ordering::Relaxed);
        let io = self.next_reactor.fetch_add(1, Ordering::Relaxed) % self.reactors.len();
        let core = SocketCore::new(id, socket_type, self.clone(), io);
        self.sockets.lock().insert(id, Arc::downgrade(&core));
        core
    }

    /// True if a live socket is bound at `inproc://zeromq.zap.01` (RFC 27's handler).
    pub(crate) fn zap_handler_bound(&self) -> bool {
        self.zap_handler().is_some()
    }

    /// The id of the live socket bound at `inproc://zeromq.zap.01`, if any.
    fn zap_handler(&self) -> Option<u64> {
        let name = ferrozmq_proto::mechanism::ZAP_ENDPOINT.trim_start_matches("inproc://");
        match self.inproc.lock().get(name) {
            Some(InprocEntry::Bound(w)) => w.upgrade().filter(|s| !s.is_closed()).map(|s| s.id),
            _ => None,
        }
    }

    /// The ZAP client for the handler bound now, made on first use (and made anew when
    /// another handler took the endpoint); `None` if no handler is bound or the context is
    /// closing.
    pub(crate) fn zap_client(self: &Arc<Self>) -> Option<Arc<ZapClient>> {
        let handler = self.zap_handler()?;
        let mut zap = self.zap.lock();
        if zap.as_ref().is_some_and(|z| z.handler() != handler) {
            if let Some(old) = zap.take() {
                old.close();
            }
        }
        if zap.is_none() && !self.has_failed() {
            *zap = ZapClient::start(self, handler);
        }
        zap.clone()
    }

    /// Forgets the ZAP client once its socket closed (breaking the reference cycle).
    pub(crate) fn drop_zap_client(&self, handler: u64) {
        let mut zap = self.zap.lock();
        if zap.as_ref().is_some_and(|z| z.handler() == handler) {
            zap.take();
        }
    }

    /// Called by `SocketCore::close`.
    pub(crate) fn socket_closed(&self, core: &SocketCore, linger: Option<Duration>) {
        self.sockets.lock().remove(&core.id);
        self.inproc.lock().retain(|name, e| match e {
            InprocEntry::Bound(w) => {
                let upgraded = w.upgrade();
                let ours = upgraded.as_ref().is_some_and(|s| s.id == core.id);
                if ours {
                    report_inproc_closed(core, name);
                }
                upgraded.is_some() && !ours
            }
            InprocEntry::Pending(list) => {
                list.retain(|(w, _)| w.upgrade().is_some_and(|s| s.id != core.id));
                !list.is_empty()
            }
        });
        // `close` runs through a live handle, so the socket can still be named by `Arc`.
        if let Some(socket) = core.arc() {
            let socket = crate::socket::link::SocketLink::new(socket);
            core.reactor().send(Command::CloseSocket { socket, linger });
        }
    }

    /// Binds an inproc name; links connects that were waiting for it.
    pub(crate) fn inproc_bind(&self, name: &str, core: &Arc<SocketCore>) -> Result<(), BindError> {
        let pending = {
            let mut reg = self.inproc.lock();
            match reg.get(name) {
                Some(InprocEntry::Bound(w)) if w.upgrade().is_some_and(|s| !s.is_closed()) => {
                    return Err(BindError::AddrInUse(format!("inproc://{name}")));
                }
                _ => {}
            }
            match reg.insert(name.to_owned(), InprocEntry::Bound(Arc::downgrade(core))) {
                Some(InprocEntry::Pending(list)) => list,
                _ => Vec::new(),
            }
        };
        for (w, peer) in pending {
            if let Some(connector) = w.upgrade() {
                link_inproc(&connector, peer, core);
            }
        }
        Ok(())
    }

    /// Removes an inproc binding of this socket.
    pub(crate) fn inproc_unbind(&self, name: &str, core: &SocketCore) -> bool {
        let mut reg = self.inproc.lock();
        match reg.get(name) {
            Some(InprocEntry::Bound(w)) if w.upgrade().is_some_and(|s| s.id == core.id) => {
                reg.remove(name);
                report_inproc_closed(core, name);
                true
            }
            _ => false,
        }
    }

    /// Forgets a connect still waiting for its inproc name to be bound (`disconnect`).
    pub(crate) fn inproc_cancel(&self, name: &str, socket_id: u64, peer: PeerId) {
        let mut reg = self.inproc.lock();
        if let Some(InprocEntry::Pending(list)) = reg.get_mut(name) {
            list.retain(|(w, p)| !(*p == peer && w.upgrade().is_some_and(|s| s.id == socket_id)));
            if list.is_empty() {
                reg.remove(name);
            }
        }
    }

    /// Connects to an inproc name, now if it is bound, else once it is.
    pub(crate) fn inproc_connect(&self, name: &str, core: &Arc<SocketCore>, peer: PeerId) {
        let binder = {
            let mut reg = self.inproc.lock();
            match reg.get_mut(name) {
                Some(InprocEntry::Bound(w)) => match w.upgrade() {
                    Some(b) if !b.is_closed() => Some(b),
                    _ => {
                        reg.insert(
                            name.to_owned(),
                            InprocEntry::Pending(vec![(Arc::downgrade(core), peer)]),
                        );
                        None
                    }
                },
                Some(InprocEntry::Pending(list)) => {
                    list.push((Arc::downgrade(core), peer));
                    None
                }
                None => {
                    reg.insert(
                        name.to_owned(),
                        InprocEntry::Pending(vec![(Arc::downgrade(core), peer)]),
                    );
                    None
                }
            }
        };
        if let Some(b) = binder {
            link_inproc(core, peer, &b);
        }
    }
}

/// Joins a connecting socket's persistent peer to a new peer of the binding socket: the two
/// share the same pair of pipes, so messages move with no codec and no I/O thread.
fn link_inproc(connector: &Arc<SocketCore>, c_peer: PeerId, binder: &Arc<SocketCore>) {
    let c_meta = PeerMeta {
        socket_type: connector.socket_type,
        routing_id: non_empty(connector.routing_id()),
    };
    let b_meta = PeerMeta {
        socket_type: binder.socket_type,
        routing_id: non_empty(binder.routing_id()),
    };
    let Ok(c_att) = connector.attach(Some(c_peer), &b_meta) else {
        return;
    };
    match binder.attach_inproc(&c_meta, c_att.inp.clone(), c_att.out.clone()) {
        Ok(b_peer) => {
            connector.add_inproc_link(c_peer, binder, b_peer);
            binder.add_inproc_link(b_peer, connector, c_peer);
        }
        Err(_) => connector.detach(c_peer),
    }
}

/// Monitors see an inproc binding go as `Closed`, as a tcp/ipc listener.
fn report_inproc_closed(core: &SocketCore, name: &str) {
    core.monitor
        .emit(|| MonitorEvent::new(MonitorEventKind::Closed, format!("inproc://{name}"), None));
}

/// Terminates the default context when the process exits, so what its sockets queued is
/// flushed (within LINGER) instead of lost. Registered once, when the context is made.
#[allow(unsafe_code, reason = "atexit(3) has no wrapper in std")]
fn register_exit_flush() {
    /// The process that registered the hook: a child made by `fork` inherits the hook but
    /// not the I/O threads, so it has nothing to flush (and no thread to join).
    static REGISTERED_BY: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    extern "C" fn flush_global() {
        if REGISTERED_BY.load(Ordering::Relaxed) != std::process::id() {
            return;
        }
        // A panic must not unwind out of an `extern "C"` function (it would abort).
        let _ = std::panic::catch_unwind(|| {
            // Taken out first: a socket made during the flush gets a fresh default context.
            let ctx = GLOBAL.lock().take();
            if let Some(ctx) = ctx {
                ctx.terminate();
            }
        });
    }
    REGISTERED_BY.store(std::process::id(), Ordering::Relaxed);
    // SAFETY: `flush_global` is a plain `extern "C" fn()` with no arguments, as atexit(3)
    // expects; it catches any panic, so nothing unwinds across the FFI boundary, and it
    // stays valid for the process's life.
    let rc = unsafe { libc::atexit(flush_global) };
    if rc != 0 {
        tracing::warn!("ferrozmq: cannot register the exit flush of the default context");
    }
}

fn non_empty(b: bytes::Bytes) -> Option<bytes::Bytes> {
    (!b.is_empty()).then_some(b)
}

impl std::fmt::Debug for ContextInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextInner").finish_non_exhaustive()
    }
}
