//! The one door between the engine and a socket.
//!
//! The engine (reactor, listeners, connectors, connections) never sees a socket's state: it
//! holds a [`SocketLink`] and may only read the socket's configuration, report monitor events,
//! attach a peer whose handshake completed and learn whether output is still queued. An
//! attached peer is a [`PeerLink`]: the data path (the two pipes) plus `detach`. The socket
//! talks to the engine the other way through `engine::Command`s. Nothing else crosses, so a
//! new kind of connection (a raw STREAM session, a secured one) needs nothing more than this.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use ferrozmq_proto::mechanism::ZapRequest;
use ferrozmq_proto::pattern::PeerId;
use ferrozmq_proto::session::SessionConfig;

use super::core::{Attachment, SocketCore};
pub(crate) use super::pattern::{PeerMeta, Refusal};
use super::pipe::fire;
pub(crate) use super::pipe::{Notify, Signal};
pub(crate) use super::zap::ZapSlot;
use crate::monitor::MonitorEvent;
use crate::{Message, Options, SocketType};

/// What the engine holds of a socket (cheap to clone).
#[derive(Clone)]
pub(crate) struct SocketLink {
    core: Arc<SocketCore>,
}

impl SocketLink {
    pub(crate) fn new(core: Arc<SocketCore>) -> SocketLink {
        SocketLink { core }
    }

    /// The socket's id (unique in its context).
    pub(crate) fn id(&self) -> u64 {
        self.core.id
    }

    pub(crate) fn socket_type(&self) -> SocketType {
        self.core.socket_type
    }

    /// A snapshot of the socket's options (transport settings, reconnect back-off).
    pub(crate) fn options(&self) -> Options {
        self.core.options()
    }

    /// The handshake settings for a new connection to `peer_addr` (the stream's peer name):
    /// ZAP is asked when a handler is bound in the socket's context (RFC 27), with the peer's
    /// IP address (empty for ipc) as libzmq sends it.
    pub(crate) fn session_config(&self, peer_addr: &str) -> SessionConfig {
        let mut config = self.core.session_config();
        if self.core.ctx.zap_handler_bound() {
            config.zap = Some(ZapRequest::new(
                self.core.zap_domain(),
                Bytes::from(zap_address(peer_addr)),
                config.routing_id.clone(),
            ));
        }
        config
    }

    /// Sends a handshake's ZAP request to the context's handler; `wake` fires once the reply
    /// is in the returned slot. `None` if it cannot be sent (the context is closing).
    pub(crate) fn ask_zap(&self, request: &ZapRequest, wake: Signal) -> Option<Arc<ZapSlot>> {
        self.core.ctx.zap_client()?.ask(request, wake)
    }

    /// A connection completed its handshake: the socket takes the peer (over `existing`, the
    /// persistent peer of a connect, if any) or refuses it. `output` is fired when the socket
    /// queues messages for the peer on an empty queue, `input` when a full incoming queue
    /// gets room again.
    pub(crate) fn attach(
        &self,
        existing: Option<PeerId>,
        meta: &PeerMeta,
        output: Signal,
        input: Signal,
    ) -> Result<PeerLink, Refusal> {
        let att = self.core.attach(existing, meta)?;
        att.out.set_reader(Some(output));
        att.inp.set_writer(Some(input));
        let routing_id = self.core.routing_id_of(att.peer);
        Ok(PeerLink {
            core: self.core.clone(),
            att,
            routing_id,
        })
    }

    /// Whether messages are still queued for `peer` (lingering connections and connects).
    pub(crate) fn has_pending_output(&self, peer: PeerId) -> bool {
        self.core.has_pending_output(peer)
    }

    /// Marks the socket's engine side closed (set when its close reaches the engine).
    pub(crate) fn mark_engine_closed(&self) {
        self.core.engine_closed.store(true, Ordering::Relaxed);
    }

    /// True once the socket's close reached the engine.
    pub(crate) fn is_engine_closed(&self) -> bool {
        self.core.engine_closed.load(Ordering::Relaxed)
    }

    /// True if anyone watches the socket's monitor events.
    pub(crate) fn monitor_active(&self) -> bool {
        self.core.monitor.is_active()
    }

    /// Reports a monitor event (built only if anyone watches).
    pub(crate) fn emit(&self, make: impl FnOnce() -> MonitorEvent) {
        self.core.monitor.emit(make);
    }

    /// The socket has nothing left in the engine: its monitors report `MonitorStopped`.
    pub(crate) fn stop_monitors(&self) {
        self.core.monitor.stop();
    }
}

impl std::fmt::Debug for SocketLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketLink")
            .field("id", &self.core.id)
            .field("type", &self.core.socket_type)
            .finish()
    }
}

/// An attached peer, as its connection sees it: messages in, messages out, and `detach`.
pub(crate) struct PeerLink {
    core: Arc<SocketCore>,
    att: Attachment,
    /// The routing id the socket gave the peer when it attached (ROUTER, STREAM).
    routing_id: Option<Bytes>,
}

impl PeerLink {
    /// The routing id the socket gave this peer (ROUTER, STREAM), if its type uses one.
    pub(crate) fn routing_id(&self) -> Option<Bytes> {
        self.routing_id.clone()
    }

    /// Hands a batch of received messages to the socket (all of them: the caller decoded no
    /// more than [`PeerLink::room`] allowed). Returns true if the incoming queue is now full.
    pub(crate) fn deliver(&self, batch: &mut VecDeque<Message>) -> bool {
        let (signal, full) = self.att.inp.push_batch(batch);
        fire(signal);
        full
    }

    /// Room left below RCVHWM in the incoming queue (`None`: no limit).
    pub(crate) fn room(&self) -> Option<usize> {
        self.att.inp.room()
    }

    /// True while the incoming queue is at RCVHWM.
    pub(crate) fn input_full(&self) -> bool {
        self.att.inp.is_full()
    }

    /// Moves up to `max` queued outgoing messages into `out`.
    pub(crate) fn take_output(&self, out: &mut VecDeque<Message>, max: usize) {
        fire(self.att.out.pop_batch(out, max));
    }

    /// True if no outgoing message is queued.
    pub(crate) fn output_is_empty(&self) -> bool {
        self.att.out.is_empty()
    }

    /// The connection is gone: unhook its signals and tell the socket.
    /// With `last`, the peer's final message is queued in the same step as the detach
    /// (STREAM's disconnection notification), so whoever receives it finds the peer gone.
    pub(crate) fn detach_with(self, last: Option<Message>) {
        self.att.out.set_reader(None);
        self.att.inp.set_writer(None);
        self.core.detach_with(self.att.peer, last);
    }
}

/// The address a ZAP request carries (RFC 27 §"Request": "the IP address of the peer"): the
/// host part of `tcp://ip:port` or `tcp://[ip6]:port`; empty for anything else (ipc).
fn zap_address(peer_name: &str) -> String {
    let addr = peer_name.strip_prefix("tcp://").unwrap_or(peer_name);
    match addr.parse::<std::net::SocketAddr>() {
        Ok(addr) => addr.ip().to_string(),
        Err(_) => String::new(),
    }
}
