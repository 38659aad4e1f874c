//! [`Context`]: owns the I/O thread and the inproc endpoint registry shared by its sockets.
//!
//! Sockets keep their context alive. When the last handle of a context and of its sockets is
//! dropped (or [`Context::terminate`] is called), every socket closes, pending messages are
//! flushed for at most each socket's LINGER (30 s by default, not forever as in libzmq), and
//! the I/O thread stops.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use ferrozmq_proto::pattern::PeerId;

use crate::engine::{Command, Reactor};
use crate::error::BindError;
use crate::monitor::{MonitorEvent, MonitorEventKind};
use crate::socket::core::SocketCore;
use crate::socket::pattern::PeerMeta;
use crate::{Socket, SocketType};

/// A set of sockets sharing an I/O thread and inproc endpoints. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Context {
    shell: Arc<ContextShell>,
}

/// Dropping the last shell terminates the context.
#[derive(Debug)]
struct ContextShell {
    inner: Arc<ContextInner>,
}

/// What sockets (and the engine) share.
pub(crate) struct ContextInner {
    pub(crate) reactor: Reactor,
    inproc: Mutex<HashMap<String, InprocEntry>>,
    sockets: Mutex<HashMap<u64, Weak<SocketCore>>>,
    next_socket_id: AtomicU64,
}

enum InprocEntry {
    Bound(Weak<SocketCore>),
    /// Connects made before the bind: (socket, its persistent peer).
    Pending(Vec<(Weak<SocketCore>, PeerId)>),
}

impl Context {
    /// A new context with its own I/O thread.
    pub fn new() -> Context {
        let inner = Arc::new(ContextInner {
            reactor: Reactor::spawn(),
            inproc: Mutex::new(HashMap::new()),
            sockets: Mutex::new(HashMap::new()),
            next_socket_id: AtomicU64::new(1),
        });
        Context {
            shell: Arc::new(ContextShell { inner }),
        }
    }

    /// The process-wide default context used by [`Socket::new`]. It lives until the process
    /// exits; messages still queued then are not flushed — use your own `Context` and drop or
    /// terminate it to flush before exiting.
    pub fn global() -> Context {
        static GLOBAL: OnceLock<Context> = OnceLock::new();
        GLOBAL.get_or_init(Context::new).clone()
    }

    /// Creates a socket of the given type in this context.
    pub fn socket(&self, socket_type: SocketType) -> Socket {
        let inner = &self.shell.inner;
        let id = inner.next_socket_id.fetch_add(1, Ordering::Relaxed);
        let core = SocketCore::new(id, socket_type, inner.clone());
        inner.sockets.lock().insert(id, Arc::downgrade(&core));
        Socket::from_core(core, self.clone())
    }

    /// Closes every socket of this context (each flushing for at most its LINGER) and stops the
    /// I/O thread once they are done. Blocked calls on those sockets return `Closed`.
    pub fn terminate(&self) {
        self.shell.inner.terminate();
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
        let sockets: Vec<_> = self
            .sockets
            .lock()
            .drain()
            .filter_map(|(_, w)| w.upgrade())
            .collect();
        for s in sockets {
            s.close();
        }
        self.reactor.shutdown();
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
            self.reactor.send(Command::CloseSocket { socket, linger });
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

fn non_empty(b: bytes::Bytes) -> Option<bytes::Bytes> {
    (!b.is_empty()).then_some(b)
}

impl std::fmt::Debug for ContextInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextInner").finish_non_exhaustive()
    }
}
