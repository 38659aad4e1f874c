//! STREAM (libzmq's `ZMQ_STREAM`, zmq_socket(3) §"ZMQ_STREAM"): peers are raw tcp or ipc
//! byte streams, each known by a routing id the socket generates (5 bytes: `0x00` and a
//! big-endian counter, as libzmq's). What a peer sends arrives as `[routing id, data]`; the
//! connection puts the id in front (see `engine/connection.rs`), together with the
//! ZMQ_STREAM_NOTIFY messages `[routing id, empty]` for a connection made or lost, so they
//! stay in order with the data. Input is fair-queued between peers.
//!
//! Sending `[routing id, data...]` writes the data frames to that peer, one after another;
//! `[routing id, empty]` (or nothing after the id) closes the connection once what was
//! queued before it is written. As in libzmq's `stream_t::xsend`, a routing id naming no
//! peer fails with `HostUnreachable` whatever ROUTER_MANDATORY says (STREAM has no such
//! option), and a peer whose queue is at SNDHWM refuses with `WouldBlock` (libzmq's EAGAIN):
//! a STREAM never drops data silently.

use bytes::Bytes;
use ferrozmq_proto::pattern::{PeerId, PeerMap, RouterTable};

use super::{Peer, PeerMeta, Refusal, Signals, Strategy};
use crate::error::SendErrorKind;
use crate::socket::pipe::PushError;
use crate::{Message, Options};

/// STREAM: peers by generated routing id.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    table: RouterTable,
}

impl Strategy for Stream {
    fn on_attach(
        &mut self,
        peer: PeerId,
        _meta: &PeerMeta,
        _peers: &PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> Result<Option<Bytes>, Refusal> {
        // A raw peer names no id: one is always generated, so the attach cannot collide.
        match self.table.attach(peer, None, false) {
            Ok((id, _)) => Ok(Some(id)),
            Err(_) => Err(Refusal::DuplicateId),
        }
    }

    fn on_detach(&mut self, peer: PeerId, _remove: bool, _opts: &Options) {
        self.table.detach(peer);
    }

    fn can_send(&self, _peers: &PeerMap<Peer>, _opts: &Options) -> bool {
        // As libzmq's `stream_t::xhas_out`: always writable; which peer is full is only
        // known once the routing id is read.
        true
    }

    fn send(
        &mut self,
        peers: &PeerMap<Peer>,
        _opts: &Options,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)> {
        let Some(id) = msg.first() else {
            return Err((SendErrorKind::MissingRoutingId, msg));
        };
        let Some(target) = self.table.lookup(id).and_then(|p| peers.get(&p)) else {
            return Err((SendErrorKind::HostUnreachable, msg));
        };
        let mut body = msg;
        let id = body.pop_front().unwrap_or_default();
        match target.out.try_push(body) {
            Ok(s) => {
                signals.extend(s);
                Ok(())
            }
            Err(PushError::Full(mut m)) => {
                m.push_front(id);
                Err((SendErrorKind::WouldBlock, m))
            }
            // The connection is going: as if it were already gone.
            Err(PushError::Closed(mut m)) => {
                m.push_front(id);
                Err((SendErrorKind::HostUnreachable, m))
            }
        }
    }
}
