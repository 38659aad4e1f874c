//! A reactor's connects: each keeps one connection to its target up, resolving tcp names in the
//! background before every attempt (`engine/resolve.rs`) and reconnecting with exponential
//! back-off (`engine/backoff.rs`); a closed socket's connect lives on only while LINGER lets
//! it flush its queue. Monitor events: connect delayed and retried, resolve failed.

use std::time::Instant;

use ferrozmq_proto::pattern::PeerId;

use super::*;

/// A `connect`: keeps one connection up, reconnecting with back-off.
pub(super) struct Connector {
    pub(super) socket: SocketLink,
    pub(super) target: Target,
    /// The target as an endpoint, for monitor events.
    pub(super) endpoint: String,
    pub(super) peer: Option<PeerId>,
    /// RECONNECT_IVL / RECONNECT_IVL_MAX back-off.
    pub(super) backoff: Backoff,
    /// The connection in progress or up.
    pub(super) active: Option<usize>,
    /// When the pending reconnect timer fires, if one is pending.
    pub(super) timer_at: Option<Instant>,
    /// Set once the socket closed with messages still queued for this connect: keep trying
    /// until they are flushed or this deadline passes (`Some(None)`: no deadline).
    pub(super) linger: Option<Option<Instant>>,
    /// A tcp name's resolution is under way (see `resolve.rs`).
    pub(super) resolving: bool,
    /// The address the name resolved to, for the attempt about to start.
    pub(super) resolved: Option<std::net::SocketAddr>,
}

impl Reactor {
    /// A connect: keep a connection to `target` up.
    pub(super) fn on_connect(
        &mut self,
        socket: SocketLink,
        connect_id: u64,
        target: Target,
        peer: Option<PeerId>,
        now: Instant,
    ) {
        if socket.is_engine_closed() {
            return;
        }
        let backoff = Backoff::new(socket.options().reconnect_ivl);
        let key = (socket.id(), connect_id);
        let endpoint = target.endpoint();
        self.index(socket.id()).connects.insert(connect_id);
        self.connectors.insert(
            key,
            Connector {
                socket,
                target,
                endpoint,
                peer,
                backoff,
                active: None,
                timer_at: None,
                linger: None,
                resolving: false,
                resolved: None,
            },
        );
        self.start_connect(key, now);
    }

    /// A resolver thread answered: connect to the address, or report and retry later.
    pub(super) fn on_resolved(
        &mut self,
        key: (u64, u64),
        result: Result<std::net::SocketAddr, String>,
        now: Instant,
    ) {
        let Some(c) = self.connectors.get_mut(&key) else {
            return; // disconnected or closed meanwhile
        };
        if !std::mem::take(&mut c.resolving) {
            return;
        }
        match result {
            Ok(addr) => {
                tracing::debug!(endpoint = %c.endpoint, %addr, "resolved");
                c.resolved = Some(addr);
                self.start_connect(key, now);
            }
            Err(error) => {
                tracing::debug!(endpoint = %c.endpoint, %error, "cannot resolve");
                c.socket.emit(|| {
                    let kind = MonitorEventKind::ResolveFailed { error };
                    MonitorEvent::new(kind, c.endpoint.clone(), None)
                });
                self.schedule_reconnect(key, now);
            }
        }
    }

    pub(super) fn start_connect(&mut self, key: (u64, u64), now: Instant) {
        let Some(c) = self.connectors.get_mut(&key) else {
            return;
        };
        // A closed socket's connect lives only until its LINGER deadline, even while a name is
        // still being resolved (a resolver that never answers must not hold up termination;
        // its late answer finds no connector and is dropped).
        if c.linger.flatten().is_some_and(|d| d <= now) {
            if let Some(c) = self.remove_connector(key) {
                self.stop_monitor_if_done(&c.socket, false);
            }
            return;
        }
        // A name is resolved afresh before each attempt, off this thread; the attempt starts
        // when the answer comes back (`on_resolved`).
        let resolved = c.resolved.take();
        if resolved.is_none() {
            if let Some((host, port)) = c.target.name_to_resolve() {
                if !c.resolving {
                    c.resolving = true;
                    let ipv6 = c.socket.options().ipv6;
                    crate::engine::resolve::spawn(&self.shared, key, host, port, ipv6);
                }
                return;
            }
        }
        let socket = c.socket.clone();
        let peer = c.peer;
        let linger = c.linger;
        let endpoint = c.endpoint.clone();
        let opts = socket.options();
        match c.target.connect(resolved, &opts) {
            Ok(stream) => {
                let gen = self.gen();
                let conn = Connection::new(
                    gen,
                    stream,
                    socket,
                    Origin::Connected { connect_id: key.1 },
                    peer,
                    endpoint,
                    now,
                );
                let mut conn = conn;
                conn.linger = linger;
                let token = self.add_conn(conn);
                if let Some(c) = self.connectors.get_mut(&key) {
                    c.active = token;
                }
                match token {
                    // Driven only now, so that a connect refused at once finds `active` set
                    // and schedules its retry.
                    Some(t) => self.drive(t, now),
                    None => self.schedule_reconnect(key, now),
                }
            }
            Err(e) => {
                tracing::debug!("connect failed: {e}");
                self.schedule_reconnect(key, now);
            }
        }
    }

    /// Schedules the next attempt with exponential back-off (RECONNECT_IVL, RECONNECT_IVL_MAX).
    pub(super) fn schedule_reconnect(&mut self, key: (u64, u64), now: Instant) {
        let Some(c) = self.connectors.get_mut(&key) else {
            return;
        };
        c.active = None;
        let opts = c.socket.options();
        let flushed = c.peer.is_none_or(|p| !c.socket.has_pending_output(p));
        let expired = c.linger.flatten().is_some_and(|d| d <= now);
        // The reactor's own view of "closed" is `linger` (set when it handles CloseSocket; the
        // socket's flag may already be up before that command arrives). A closed socket's
        // connect lives on only while LINGER lets it flush its queue.
        // RECONNECT_IVL unset or 0: no reconnection (libzmq retries only above 0).
        let retry = opts.reconnect_ivl.is_some_and(|ivl| !ivl.is_zero())
            && match c.linger {
                None => !self.shutting_down,
                Some(_) => !flushed && !expired,
            };
        if !retry {
            if let Some(c) = self.remove_connector(key) {
                self.stop_monitor_if_done(&c.socket, false);
            }
            return;
        }
        let mut delay = c.backoff.next_delay(opts.reconnect_ivl_max);
        if let Some(deadline) = c.linger.flatten() {
            delay = delay.min(deadline.saturating_duration_since(now));
        }
        c.socket.emit(|| {
            let kind = MonitorEventKind::ConnectRetried { interval: delay };
            MonitorEvent::new(kind, c.endpoint.clone(), None)
        });
        let timer = Timer::Reconnect {
            socket_id: key.0,
            connect_id: key.1,
        };
        // An interval too long to represent never comes due: no retry.
        c.timer_at = self
            .timers
            .reschedule(timer, c.timer_at, now.checked_add(delay));
    }

    /// Forgets a connector and its pending reconnect timer.
    pub(super) fn remove_connector(&mut self, key: (u64, u64)) -> Option<Connector> {
        let c = self.connectors.remove(&key)?;
        self.unindex(key.0, None, Some(key.1));
        let timer = Timer::Reconnect {
            socket_id: key.0,
            connect_id: key.1,
        };
        self.timers.reschedule(timer, c.timer_at, None);
        Some(c)
    }
}
