//! The ZAP client (RFC 27) of a context: carries handshakes' [`ZapRequest`]s to the handler
//! bound at `inproc://zeromq.zap.01` and their replies back, without ever blocking a reactor.
//!
//! One per context, made on the first request: an internal DEALER socket connected to the
//! handler over inproc, and a thread that waits for replies. A connection whose handshake
//! asks ZAP sends its request with a non-blocking send (SNDHWM 0: never full), registers a
//! [`ZapSlot`] and goes on; the reply lands in the slot and fires the connection's signal,
//! which wakes the reactor to resume that handshake. Other connections never wait.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use ferrozmq_proto::mechanism::{ZapReply, ZapRequest, ZAP_ENDPOINT};
use parking_lot::Mutex;

use super::core::SocketCore;
use super::pipe::Signal;
use super::wait::Wait;
use crate::context::ContextInner;
use crate::{Message, SocketOption, SocketType};

/// Where a connection finds its ZAP reply once the handler answered.
#[derive(Debug, Default)]
pub(crate) struct ZapSlot {
    reply: Mutex<Option<ZapReply>>,
}

impl ZapSlot {
    /// Puts a reply in the slot.
    pub(crate) fn put(&self, reply: ZapReply) {
        *self.reply.lock() = Some(reply);
    }

    /// The reply, if it came.
    pub(crate) fn take(&self) -> Option<ZapReply> {
        self.reply.lock().take()
    }
}

/// At most this many ZAP requests wait for their replies at once, per context. Past it, a
/// handshake that needs ZAP is refused (status 300, a temporary failure) without asking: a
/// handler that stopped answering would otherwise let every new connection add a request to
/// its queue and an entry here, without bound. When the limit is reached, the entries of
/// connections that have gone away are dropped first (their replies, if any ever come, are
/// ignored); the requests themselves stay bounded by the client socket's SNDHWM (this limit)
/// plus the handler's RCVHWM.
pub const MAX_ZAP_WAITING: usize = 4096;

/// Entries the pending table keeps room for once a burst is over.
const PENDING_KEEP: usize = 64;

/// What a refused-for-backlog handshake reports.
pub(crate) const ZAP_BACKLOG: &str = "too many ZAP requests waiting for the handler";

/// A context's ZAP client.
pub(crate) struct ZapClient {
    socket: Arc<SocketCore>,
    /// The id of the handler socket this client is connected to.
    handler: u64,
    next_id: AtomicU64,
    pending: Mutex<HashMap<Bytes, (Arc<ZapSlot>, Signal)>>,
    /// Replies since the pending table was last pruned (changed under its lock).
    replies_since_prune: AtomicUsize,
}

impl std::fmt::Debug for ZapClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZapClient").finish_non_exhaustive()
    }
}

impl ZapClient {
    /// Makes the context's client: its DEALER, connected to the handler, and its reply thread.
    pub(crate) fn start(ctx: &Arc<ContextInner>, handler: u64) -> Option<Arc<ZapClient>> {
        let socket = ctx.internal_socket(SocketType::Dealer);
        for option in [
            // Never reached while the handler keeps up: `ask` refuses past MAX_ZAP_WAITING.
            SocketOption::SndHwm(MAX_ZAP_WAITING),
            SocketOption::RcvHwm(0),
            SocketOption::Linger(Some(std::time::Duration::ZERO)),
        ] {
            socket.set_option(option).ok()?;
        }
        super::connect_inproc(&socket, ZAP_ENDPOINT.trim_start_matches("inproc://"));
        let client = Arc::new(ZapClient {
            socket,
            handler,
            next_id: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
            replies_since_prune: AtomicUsize::new(0),
        });
        let weak = Arc::downgrade(&client);
        let ctx = Arc::downgrade(ctx);
        let socket = client.socket.clone();
        std::thread::Builder::new()
            .name("ferrozmq-zap".into())
            .spawn(move || receive_replies(&socket, &weak, &ctx))
            .ok()?;
        Some(client)
    }

    /// The handler socket's id.
    pub(crate) fn handler(&self) -> u64 {
        self.handler
    }

    /// Closes the client (its handler went away); requests still waiting are refused.
    pub(crate) fn close(&self) {
        self.socket.close();
        for (_, (slot, signal)) in self.pending.lock().drain() {
            slot.put(ZapReply::new(500, "ZAP handler went away"));
            signal.notify();
        }
    }

    /// Sends `request`; `signal` fires when its reply is in the returned slot. `None` if it
    /// could not be sent (the context is closing).
    pub(crate) fn ask(&self, request: &ZapRequest, signal: Signal) -> Option<Arc<ZapSlot>> {
        let id = Bytes::from(self.next_id.fetch_add(1, Ordering::Relaxed).to_string());
        let slot = Arc::new(ZapSlot::default());
        {
            let mut pending = self.pending.lock();
            if pending.len() >= MAX_ZAP_WAITING {
                // A connection that closed (or timed out) dropped its share of the slot.
                pending.retain(|_, (slot, _)| Arc::strong_count(slot) > 1);
            }
            if pending.len() >= MAX_ZAP_WAITING {
                drop(pending);
                slot.put(ZapReply::new(300, ZAP_BACKLOG));
                signal.notify();
                return Some(slot);
            }
            pending.insert(id.clone(), (slot.clone(), signal));
        }
        // RFC 27: the request starts with an empty delimiter frame (the handler is a REP or
        // a ROUTER that answers like one).
        let mut frames = vec![Bytes::new()];
        frames.extend(request.to_frames(&id));
        if self.socket.send(Message::from(frames), Wait::No).is_err() {
            self.pending.lock().remove(&id);
            return None;
        }
        Some(slot)
    }

    fn complete(&self, msg: &Message) {
        let frames: Vec<Bytes> = msg.frames().iter().map(|f| f.to_bytes()).collect();
        let Some((first, rest)) = frames.split_first() else {
            return;
        };
        if !first.is_empty() {
            return;
        }
        let Some(id) = rest.get(1) else {
            return;
        };
        let entry = {
            let mut pending = self.pending.lock();
            let entry = pending.remove(id);
            // Once as many replies came as entries are left (so at O(1) a reply), forget the
            // entries of connections that went away and give room grown for a burst back.
            let replies = self.replies_since_prune.fetch_add(1, Ordering::Relaxed) + 1;
            if replies >= pending.len().max(PENDING_KEEP) {
                self.replies_since_prune.store(0, Ordering::Relaxed);
                pending.retain(|_, (slot, _)| Arc::strong_count(slot) > 1);
                let keep = (pending.len() * 2).max(PENDING_KEEP);
                pending.shrink_to(keep);
            }
            entry
        };
        let Some((slot, signal)) = entry else {
            return;
        };
        // A reply that breaks RFC 27 refuses the peer: as libzmq, a broken handler
        // lets nobody in.
        let reply = ZapReply::from_frames(rest, id)
            .unwrap_or_else(|e| ZapReply::new(500, format!("invalid ZAP reply: {e}")));
        slot.put(reply);
        signal.notify();
    }
}

/// The reply thread: runs until the context closes the client's socket.
fn receive_replies(socket: &Arc<SocketCore>, client: &Weak<ZapClient>, ctx: &Weak<ContextInner>) {
    while let Ok(msg) = socket.recv(Wait::Forever) {
        match client.upgrade() {
            Some(client) => client.complete(&msg),
            None => break,
        }
    }
    if let (Some(ctx), Some(client)) = (ctx.upgrade(), client.upgrade()) {
        ctx.drop_zap_client(client.handler);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Context;

    struct Nop;
    impl super::super::pipe::Notify for Nop {
        fn notify(&self) {}
    }

    /// Says on a channel that the reply came.
    struct Tell(std::sync::mpsc::Sender<()>);
    impl super::super::pipe::Notify for Tell {
        fn notify(&self) {
            let _ = self.0.send(());
        }
    }

    fn request() -> ZapRequest {
        ZapRequest::new("test", "127.0.0.1", Bytes::new())
    }

    /// A handler that reads every request and answers none: at most MAX_ZAP_WAITING
    /// requests wait; the next handshake is refused at once (300) and its request never
    /// sent; once some asking connections have gone (dropped their slots), there is room;
    /// once the burst is over, the table's memory is given back.
    #[test]
    fn waiting_requests_are_capped_and_departed_ones_make_room() {
        let ctx = Context::new();
        let handler = ctx.socket(SocketType::Router);
        handler.bind(ZAP_ENDPOINT).unwrap();
        let client = ctx.inner().zap_client().unwrap();
        let signal: Signal = Arc::new(Nop);
        let guard = Some(std::time::Duration::from_secs(20));
        let mut waiting = Vec::new();
        let mut requests = Vec::new();
        for _ in 0..MAX_ZAP_WAITING {
            waiting.push(client.ask(&request(), signal.clone()).unwrap());
            // The handler takes the request (and does not answer it yet).
            requests.push(handler.recv_timeout(guard).unwrap());
        }
        assert!(waiting.iter().all(|slot| slot.take().is_none()));

        let refused = client.ask(&request(), signal.clone()).unwrap();
        let reply = refused.take().expect("refused at once");
        assert_eq!(reply.status_code, 300);
        // Its request was not sent (an inproc send lands before `ask` returns).
        assert!(handler
            .recv_timeout(Some(std::time::Duration::ZERO))
            .is_err());

        // Half the asking connections close: their entries make room.
        waiting.truncate(MAX_ZAP_WAITING / 2);
        let (tell, answered) = std::sync::mpsc::channel();
        let asked = client.ask(&request(), Arc::new(Tell(tell))).unwrap();
        assert!(asked.take().is_none(), "asked, waiting for the handler");
        let last = handler.recv_timeout(guard).unwrap();

        // The other connections leave, and the handler at last answers everything, the
        // last request last: the table, grown for the burst, gives its room back.
        drop(waiting);
        let grown = client.pending.lock().capacity();
        requests.push(last);
        for request in &requests {
            let mut reply: Vec<Bytes> = request.frames().iter().map(|f| f.to_bytes()).collect();
            let id = reply[3].clone();
            reply.truncate(2);
            reply.extend(ZapReply::new(200, "ok").to_frames(&id));
            handler.send(Message::from(reply)).unwrap();
        }
        // Replies are handled in order: the last one's signal means all were.
        answered
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap();
        assert_eq!(asked.take().map(|r| r.status_code), Some(200));
        let left = client.pending.lock().capacity();
        assert!(
            left <= 4 * PENDING_KEEP && grown >= MAX_ZAP_WAITING,
            "{grown} -> {left}"
        );
    }
}
