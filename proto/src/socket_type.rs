//! [`SocketType`]: the ZMTP socket types, their wire names, which pairs may talk, and
//! [`Capabilities`], the one table of what each type does that the socket core, the
//! connection, the proxy and the tools consult instead of matching on types themselves.
//!
//! RFC 23 §"The Socket-Type Property" (and RFC 28-31) define the names and the valid pairs.

/// A ZeroMQ socket type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketType {
    /// Exclusive pair (RFC 31).
    Pair,
    /// Publisher (RFC 29).
    Pub,
    /// Subscriber (RFC 29).
    Sub,
    /// Requester, strict send/recv alternation (RFC 28).
    Req,
    /// Replier, strict recv/send alternation (RFC 28).
    Rep,
    /// Asynchronous requester (RFC 28).
    Dealer,
    /// Asynchronous replier with explicit routing ids (RFC 28).
    Router,
    /// Pipeline receiver (RFC 30).
    Pull,
    /// Pipeline sender (RFC 30).
    Push,
    /// Raw publisher that sees subscriptions (RFC 29).
    XPub,
    /// Raw subscriber that sends subscriptions as messages (RFC 29).
    XSub,
    /// Raw TCP/IPC peers that do not speak ZMTP (libzmq's `ZMQ_STREAM`): no greeting, no
    /// framing; each message is `[routing id, data]`. Not a ZMTP type: it never appears in a
    /// greeting and only talks to peers of its own kind (raw byte streams).
    Stream,
}

impl SocketType {
    /// The name sent in the `Socket-Type` property (RFC 23), e.g. `"DEALER"`.
    pub fn name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
            SocketType::Stream => "STREAM",
        }
    }

    /// Parses a `Socket-Type` property value. RFC 23 gives the names in upper case and
    /// compares them exactly; we do too.
    pub fn from_name(name: &[u8]) -> Option<SocketType> {
        Some(match name {
            b"PAIR" => SocketType::Pair,
            b"PUB" => SocketType::Pub,
            b"SUB" => SocketType::Sub,
            b"REQ" => SocketType::Req,
            b"REP" => SocketType::Rep,
            b"DEALER" => SocketType::Dealer,
            b"ROUTER" => SocketType::Router,
            b"PULL" => SocketType::Pull,
            b"PUSH" => SocketType::Push,
            b"XPUB" => SocketType::XPub,
            b"XSUB" => SocketType::XSub,
            b"STREAM" => SocketType::Stream,
            _ => return None,
        })
    }

    /// The socket-type byte of a ZMTP 2.0 greeting (RFC 15 §"Formal Grammar": PAIR 0 to
    /// PUSH 8). RFC 15 §"Publish-Subscribe" puts XPUB and XSUB on the wire as PUB and SUB;
    /// libzmq sends its own numbers for them, 9 and 10, and so do we.
    pub fn zmtp2_number(self) -> u8 {
        use SocketType::*;
        match self {
            Pair => 0,
            Pub => 1,
            Sub => 2,
            Req => 3,
            Rep => 4,
            Dealer => 5,
            Router => 6,
            Pull => 7,
            Push => 8,
            XPub => 9,
            XSub => 10,
            // libzmq's ZMQ_STREAM number; it never goes on the wire.
            Stream => 11,
        }
    }

    /// The socket type of a ZMTP 2.0 socket-type byte, if it is one.
    pub fn from_zmtp2_number(number: u8) -> Option<SocketType> {
        use SocketType::*;
        // STREAM is left out: it never speaks ZMTP, so no greeting names it.
        [
            Pair, Pub, Sub, Req, Rep, Dealer, Router, Pull, Push, XPub, XSub,
        ]
        .into_iter()
        .find(|t| t.zmtp2_number() == number)
    }

    /// Whether a socket of this type may talk to a peer of type `peer`
    /// (RFC 23 §"The Socket-Type Property").
    pub fn is_compatible(self, peer: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (Pair, Pair)
                | (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Push, Pull)
                | (Pull, Push)
                | (Pub | XPub, Sub | XSub)
                | (Sub | XSub, Pub | XPub)
                // A raw connection's peer is a raw byte stream, which STREAM models as itself.
                | (Stream, Stream)
        )
    }

    /// Whether this type sends an `Identity` property in its READY (RFC 23: REQ, DEALER and
    /// ROUTER do; libzmq does the same).
    pub fn sends_identity(self) -> bool {
        self.capabilities().sends_identity
    }

    /// What this socket type does (RFC 28-31).
    pub fn capabilities(self) -> Capabilities {
        use Routing::*;
        use SocketType::*;
        use Subscriptions::{Publisher, Subscriber};
        let (can_send, can_recv, routing, subscriptions, conflate_in, conflate_out) = match self {
            // RFC 31: one peer, both ways.
            Pair => (true, true, Exclusive, Subscriptions::None, false, false),
            // RFC 29: publishers fan out and take subscriptions; XPUB also receives them.
            Pub => (true, false, FanOut, Publisher, false, true),
            XPub => (true, true, FanOut, Publisher, false, false),
            // RFC 29: subscribers send subscriptions upstream (XSUB also other messages).
            Sub => (false, true, Routing::None, Subscriber, true, false),
            XSub => (true, true, Upstream, Subscriber, false, false),
            // RFC 28: requests round robin, replies go back to the requester.
            Req => (true, true, RoundRobin, Subscriptions::None, false, false),
            Rep => (true, true, ToRequester, Subscriptions::None, false, false),
            Dealer => (true, true, RoundRobin, Subscriptions::None, true, true),
            Router => (true, true, ByRoutingId, Subscriptions::None, false, false),
            // RFC 30: a pipeline goes one way.
            Push => (true, false, RoundRobin, Subscriptions::None, false, true),
            Pull => (false, true, Routing::None, Subscriptions::None, true, false),
            // libzmq's ZMQ_STREAM: addressed by routing id as ROUTER, over raw connections.
            Stream => (true, true, ByRoutingId, Subscriptions::None, false, false),
        };
        Capabilities {
            can_send,
            can_recv,
            routing,
            subscriptions,
            sends_identity: matches!(self, Req | Dealer | Router),
            lockstep: matches!(self, Req | Rep),
            conflates_incoming: conflate_in,
            conflates_outgoing: conflate_out,
            raw: matches!(self, Stream),
        }
    }
}

/// What a socket type does: the one table behind every per-type decision outside the
/// strategies themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Sending is allowed (not PULL, SUB).
    pub can_send: bool,
    /// Receiving is allowed (not PUSH, PUB). Incoming messages are fair-queued between
    /// peers (RFC 28-31), except XPUB's, which are its subscribers' subscriptions.
    pub can_recv: bool,
    /// Where a sent message goes.
    pub routing: Routing,
    /// The part a socket plays in publish-subscribe.
    pub subscriptions: Subscriptions,
    /// Sends an `Identity` property in READY (REQ, DEALER, ROUTER).
    pub sends_identity: bool,
    /// Sends at most one message per message received, and only after receiving it (REQ,
    /// REP, RFC 28): such a socket can never flood a connection, so the engine lets the
    /// sending thread write its message out itself instead of waking the I/O thread.
    pub lockstep: bool,
    /// ZMQ_CONFLATE applies to the incoming queues. As libzmq: only PUSH, PULL, PUB, SUB and
    /// DEALER conflate; the option is ignored by the other types.
    pub conflates_incoming: bool,
    /// ZMQ_CONFLATE applies to the outgoing queues. Never a subscriber's: they carry its
    /// subscriptions, which must all arrive.
    pub conflates_outgoing: bool,
    /// Connections carry raw bytes, not ZMTP (STREAM): no greeting, no framing; the engine
    /// runs a [`crate::session::RawSession`] instead of a [`crate::Session`].
    pub raw: bool,
}

/// Where a sent message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Routing {
    /// Nothing is sent (PULL).
    None,
    /// To the one peer (PAIR).
    Exclusive,
    /// To the next peer with room, in turn (REQ, DEALER, PUSH).
    RoundRobin,
    /// To every matching subscriber (PUB, XPUB).
    FanOut,
    /// To every publisher (XSUB; a SUB sends only its subscriptions, as options).
    Upstream,
    /// Back to the peer of the request being answered (REP).
    ToRequester,
    /// To the peer named by the first frame (ROUTER, STREAM).
    ByRoutingId,
}

/// The part a socket type plays in publish-subscribe (RFC 29).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subscriptions {
    /// Not a publish-subscribe socket.
    None,
    /// Takes its peers' subscriptions and filters what it sends (PUB, XPUB).
    Publisher,
    /// Sends subscriptions to its publishers (SUB, XSUB).
    Subscriber,
}

impl std::fmt::Display for SocketType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SocketType {
    type Err = UnknownSocketType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SocketType::from_name(s.to_ascii_uppercase().as_bytes()).ok_or(UnknownSocketType)
    }
}

/// A socket type name that is not one of ZeroMQ's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown socket type (expected one of pair, pub, sub, req, rep, dealer, router, pull, push, xpub, xsub, stream)")]
pub struct UnknownSocketType;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_is_symmetric_and_strict() {
        use SocketType::*;
        let all = [
            Pair, Pub, Sub, Req, Rep, Dealer, Router, Pull, Push, XPub, XSub, Stream,
        ];
        for a in all {
            for b in all {
                assert_eq!(a.is_compatible(b), b.is_compatible(a), "{a} vs {b}");
            }
            assert_eq!(SocketType::from_name(a.name().as_bytes()), Some(a));
        }
        for (n, t) in all.into_iter().enumerate() {
            assert_eq!(usize::from(t.zmtp2_number()), n, "{t}");
            let expected = (t != Stream).then_some(t);
            assert_eq!(SocketType::from_zmtp2_number(n as u8), expected);
        }
        assert_eq!(SocketType::from_zmtp2_number(11), None);
        // STREAM talks only to raw peers, never to a ZMTP type.
        for t in all.into_iter().filter(|t| *t != Stream) {
            assert!(!Stream.is_compatible(t), "{t}");
        }
        assert!(Req.is_compatible(Router));
        assert!(!Req.is_compatible(Req));
        assert!(!Push.is_compatible(Push));
        assert!(!Pair.is_compatible(Dealer));
    }

    #[test]
    fn capabilities_agree_with_compatibility() {
        use SocketType::*;
        let all = [
            Pair, Pub, Sub, Req, Rep, Dealer, Router, Pull, Push, XPub, XSub, Stream,
        ];
        for a in all {
            let caps = a.capabilities();
            // Something must flow between compatible peers: one side sends what the other
            // receives (subscriptions flow from subscribers to publishers).
            for b in all.into_iter().filter(|b| a.is_compatible(*b)) {
                let other = b.capabilities();
                assert!(
                    (caps.can_send && other.can_recv) || (other.can_send && caps.can_recv),
                    "{a} and {b} are compatible but nothing can flow"
                );
            }
            assert_eq!(caps.can_send, caps.routing != Routing::None, "{a}");
            assert!(!(caps.subscriptions == Subscriptions::Subscriber && caps.conflates_outgoing));
        }
        assert_eq!(Pub.capabilities().subscriptions, Subscriptions::Publisher);
        assert!(!Push.capabilities().can_recv);
        assert!(Router.sends_identity() && !Rep.sends_identity());
        assert!(Stream.capabilities().raw && !Router.capabilities().raw);
        assert!(!Stream.sends_identity());
    }
}
