//! [`SocketType`]: the ZMTP socket types, their wire names and which pairs may talk.
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
            _ => return None,
        })
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
        )
    }

    /// Whether this type sends an `Identity` property in its READY (RFC 23: REQ, DEALER and
    /// ROUTER do; libzmq does the same).
    pub fn sends_identity(self) -> bool {
        matches!(
            self,
            SocketType::Req | SocketType::Dealer | SocketType::Router
        )
    }
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
#[error("unknown socket type (expected one of pair, pub, sub, req, rep, dealer, router, pull, push, xpub, xsub)")]
pub struct UnknownSocketType;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_is_symmetric_and_strict() {
        use SocketType::*;
        let all = [
            Pair, Pub, Sub, Req, Rep, Dealer, Router, Pull, Push, XPub, XSub,
        ];
        for a in all {
            for b in all {
                assert_eq!(a.is_compatible(b), b.is_compatible(a), "{a} vs {b}");
            }
            assert_eq!(SocketType::from_name(a.name().as_bytes()), Some(a));
        }
        assert!(Req.is_compatible(Router));
        assert!(!Req.is_compatible(Req));
        assert!(!Push.is_compatible(Push));
        assert!(!Pair.is_compatible(Dealer));
    }
}
