//! The publish-subscribe strategies (RFC 29): [`Publisher`] for PUB and XPUB, [`Subscriber`]
//! for SUB and XSUB, applied to the socket's peers and pipes.
//!
//! Filtering happens on the publisher, as libzmq does for tcp and ipc: each peer's
//! subscriptions sit in a [`SubscriptionTrie`], and a message goes only to the peers with a
//! subscription that prefixes its first frame. A message fanned out to N peers is N clones of
//! one `Message`, whose frames are shared `Bytes`: one allocation, never a payload copy.
//! Subscribers filter again on receipt (a publisher may be XPUB_MANUAL or not filter at all).
//!
//! Subscriptions travel as one-frame messages (0x01/0x00 + topic) through the pipes; the
//! connection turns them into the wire form the peer's ZMTP version calls for.

use std::collections::VecDeque;

use ferrozmq_proto::pattern::{
    FairQueue, PeerId, PeerMap, PeerSet, PublisherConfig, PublisherState, SubscriptionOutcome,
    TopicCounter,
};

use super::{next_accepted, not_applicable, Peer, PeerMeta, Refusal, Signals, Strategy};
use bytes::Bytes;

use crate::error::{OptionError, RecvError, SendErrorKind};
use crate::{Message, Options};

/// PUB and XPUB: the subscription decisions ([`PublisherState`], in the protocol core) and
/// the queues around them: XPUB's receive queue and XPUB_NODROP's blocked targets.
#[derive(Debug)]
pub(crate) struct Publisher {
    state: PublisherState,
    /// Scratch set of the current message's targets, kept to reuse its allocation.
    targets: PeerSet,
    /// XPUB_NODROP: the targets that had no room for the last refused message. The socket is
    /// writable again once they all have room (they are marked to signal when they drain).
    blocked: PeerSet,
    /// XPUB: messages waiting for `recv`, with the peer they came from. At most RCVHWM
    /// (unless 0): past it, notices and upstream messages are dropped and counted, while the
    /// subscriptions themselves still take effect.
    pending: VecDeque<(Option<PeerId>, Message)>,
    /// XPUB: notices and upstream messages dropped because `pending` was full.
    dropped: u64,
}

impl Publisher {
    pub(crate) fn new(xpub: bool) -> Self {
        Publisher {
            state: PublisherState::new(xpub),
            targets: PeerSet::default(),
            blocked: PeerSet::default(),
            pending: VecDeque::new(),
            dropped: 0,
        }
    }

    pub(crate) fn is_xpub(&self) -> bool {
        self.state.is_xpub()
    }

    /// Queues a message for XPUB's user, if RCVHWM allows.
    fn deliver(&mut self, peer: Option<PeerId>, msg: Message, opts: &Options) {
        if opts.rcvhwm != 0 && self.pending.len() >= opts.rcvhwm {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::warn!(
                    dropped = self.dropped,
                    "XPUB: receive queue full (RCVHWM), notices and upstream messages dropped"
                );
            }
            return;
        }
        self.pending.push_back((peer, msg));
    }

    /// XPUB: a subscription notice or upstream message waits for the user.
    fn has_pending(&self) -> bool {
        self.is_xpub() && !self.pending.is_empty()
    }
}

impl Strategy for Publisher {
    /// A peer attached: XPUB greets it with XPUB_WELCOME_MSG, if set.
    fn on_attach(
        &mut self,
        peer: PeerId,
        _meta: &PeerMeta,
        peers: &PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<Bytes>, Refusal> {
        self.state.attach(peer);
        if let (true, Some(welcome), Some(p)) =
            (self.is_xpub(), &opts.xpub_welcome_msg, peers.get(&peer))
        {
            if let Ok(s) = p.out.try_push(Message::single(welcome.clone())) {
                signals.extend(s);
            }
        }
        Ok(None)
    }

    /// A peer is gone: its subscriptions go too, and XPUB reports the cancels libzmq would.
    fn on_detach(&mut self, peer: PeerId, _remove: bool, opts: &Options) {
        self.blocked.remove(&peer);
        let pending = &mut self.pending;
        self.state.detach(peer, &config(opts), |topic| {
            pending.push_back((None, Message::subscription(false, topic)));
        });
    }

    /// Takes everything a peer sent: subscriptions update the state at once (whether or not
    /// the user reads XPUB's notices); XPUB keeps what its user should see, up to RCVHWM.
    /// True if XPUB's `recv` queue went from empty to non-empty.
    fn on_input(
        &mut self,
        peer: PeerId,
        _fq: &mut FairQueue,
        peers: &PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> bool {
        let was_empty = self.pending.is_empty();
        let Some(p) = peers.get(&peer) else {
            return false;
        };
        let config = config(opts);
        while let Some((msg, s)) = p.inp.try_pop() {
            signals.extend(s);
            let report = match msg.as_subscription() {
                Some((subscribe, topic)) => {
                    let outcome = self.state.subscription(peer, subscribe, topic, &config);
                    if outcome == SubscriptionOutcome::Refused {
                        tracing::debug!(?peer, "subscription refused: MAX_SUBSCRIPTIONS reached");
                    }
                    outcome == SubscriptionOutcome::Report
                }
                // RFC 29: XPUB passes other messages from subscribers up to its user; PUB
                // drops them.
                None => self.is_xpub(),
            };
            if report {
                self.deliver(Some(peer), msg, opts);
            }
        }
        was_empty && !self.pending.is_empty()
    }

    /// Sends to every matching peer. A full peer loses the message (that peer only), unless
    /// XPUB_NODROP, where the whole send waits until every target has room.
    fn send(
        &mut self,
        peers: &PeerMap<Peer>,
        opts: &Options,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)> {
        self.state
            .targets(topic(&msg), &config(opts), &mut self.targets);
        if opts.xpub_nodrop {
            // Check all before sending to any, so a message reaches all or none. Every target
            // found full is marked (it signals when it drains) and remembered for `can_send`.
            self.blocked.clear();
            for p in &self.targets {
                if peers.get(p).is_some_and(|peer| !peer.out.has_room()) {
                    self.blocked.insert(*p);
                }
            }
            if !self.blocked.is_empty() {
                return Err((SendErrorKind::WouldBlock, msg));
            }
        }
        fan_out(
            self.targets.iter().filter_map(|p| peers.get(p)),
            msg,
            signals,
        );
        Ok(())
    }

    /// XPUB: the next subscription (or upstream message) for the user. Under XPUB_MANUAL its
    /// peer becomes the one `Subscribe` applies to.
    ///
    /// The peer id returned is a placeholder no caller looks up: XPUB's messages come from
    /// its own queue, not from a peer's pipe.
    fn recv(
        &mut self,
        _fq: &mut FairQueue,
        _peers: &mut PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> Result<Option<(PeerId, Message)>, RecvError> {
        if !self.is_xpub() {
            return Err(RecvError::NotSupported);
        }
        Ok(self.pending.pop_front().map(|(peer, msg)| {
            match peer {
                Some(peer) => self.state.received_from(peer),
                None => self.state.received_from_nobody(),
            }
            (PeerId(0), msg)
        }))
    }

    fn has_queued(&self, _fq: &FairQueue) -> bool {
        self.has_pending()
    }

    fn can_recv(
        &self,
        _fq: &mut FairQueue,
        _peers: &mut PeerMap<Peer>,
        _opts: &Options,
        _signals: &mut Signals,
    ) -> bool {
        self.has_pending()
    }

    /// XPUB_MANUAL's user Subscribe/Unsubscribe; other publishers take none.
    fn subscription(
        &mut self,
        subscribe: bool,
        topic: &[u8],
        _peers: &PeerMap<Peer>,
        opts: &Options,
        _signals: &mut Signals,
    ) -> Result<(), OptionError> {
        if !(self.is_xpub() && opts.xpub_manual) {
            return Err(not_applicable(subscribe));
        }
        self.state.manual_subscription(subscribe, topic);
        Ok(())
    }

    /// Writable unless XPUB_NODROP refused the last message and one of the targets that had
    /// no room still has none. (libzmq's publisher always says writable; then a proxy waiting
    /// for room would spin.)
    fn can_send(&self, peers: &PeerMap<Peer>, opts: &Options) -> bool {
        !opts.xpub_nodrop
            || self
                .blocked
                .iter()
                .all(|p| peers.get(p).is_none_or(|peer| peer.out.has_room()))
    }
}

/// The options the publisher's decisions depend on.
fn config(opts: &Options) -> PublisherConfig {
    let mut c = PublisherConfig::default();
    c.verbose = opts.xpub_verbose;
    c.verboser = opts.xpub_verboser;
    c.manual = opts.xpub_manual;
    c.invert_matching = opts.invert_matching;
    c.max_subscriptions = opts.max_subscriptions;
    c
}

/// SUB and XSUB: the counted subscriptions, sent to every publisher and checked on receipt.
#[derive(Debug)]
pub(crate) struct Subscriber {
    /// XSUB: may send (subscription messages and others); SUB only subscribes by option.
    xsub: bool,
    topics: TopicCounter,
}

impl Subscriber {
    pub(crate) fn new(xsub: bool) -> Self {
        Subscriber {
            xsub,
            topics: TopicCounter::default(),
        }
    }

    /// SUBSCRIBE / UNSUBSCRIBE (the option, or an XSUB's subscription message). Counted:
    /// every subscribe is passed on (XPUB_VERBOSE upstream sees each), a cancel only when the
    /// count falls to zero.
    fn apply_subscription(
        &mut self,
        subscribe: bool,
        topic: &[u8],
        peers: &PeerMap<Peer>,
        signals: &mut Signals,
    ) {
        let pass = if subscribe {
            self.topics.add(topic);
            true
        } else {
            self.topics.remove(topic)
        };
        if pass {
            let msg = Message::subscription(subscribe, topic);
            for p in peers.values().filter(|p| p.connected) {
                if let Ok(s) = p.out.push_forced(msg.clone()) {
                    signals.extend(s);
                }
            }
        }
    }

    /// Whether a received message is delivered. XSUB leaves filtering to its publishers and
    /// delivers everything (as libzmq's, where only SUB filters), so a welcome message or a
    /// manual XPUB's choice gets through; SUB keeps what matches a subscription (with
    /// INVERT_MATCHING, what matches none).
    fn wants(&self, msg: &Message, opts: &Options) -> bool {
        self.xsub || self.topics.matches(topic(msg)) != opts.invert_matching
    }
}

impl Strategy for Subscriber {
    /// A publisher attached: it gets every current subscription (a reconnecting subscriber
    /// resubscribes by itself). Whatever an earlier connection left unsent is dropped first,
    /// so nothing is subscribed twice.
    fn on_attach(
        &mut self,
        peer: PeerId,
        _meta: &PeerMeta,
        peers: &PeerMap<Peer>,
        _opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<Bytes>, Refusal> {
        let Some(p) = peers.get(&peer) else {
            return Ok(None);
        };
        signals.extend(p.out.clear());
        self.topics.for_each_topic(|topic| {
            if let Ok(s) = p.out.push_forced(Message::subscription(true, topic)) {
                signals.extend(s);
            }
        });
        Ok(None)
    }

    fn subscription(
        &mut self,
        subscribe: bool,
        topic: &[u8],
        peers: &PeerMap<Peer>,
        _opts: &Options,
        signals: &mut Signals,
    ) -> Result<(), OptionError> {
        self.apply_subscription(subscribe, topic, peers, signals);
        Ok(())
    }

    fn can_send(&self, _peers: &PeerMap<Peer>, _opts: &Options) -> bool {
        self.xsub
    }

    /// XSUB's send: a subscription message is applied as above; anything else goes to every
    /// connected publisher (dropped where the queue is full). SUB cannot send.
    fn send(
        &mut self,
        peers: &PeerMap<Peer>,
        _opts: &Options,
        msg: Message,
        signals: &mut Signals,
    ) -> Result<(), (SendErrorKind, Message)> {
        if !self.xsub {
            return Err((SendErrorKind::NotSupported, msg));
        }
        if let Some((subscribe, topic)) = msg.as_subscription() {
            self.apply_subscription(subscribe, topic, peers, signals);
            return Ok(());
        }
        fan_out(peers.values().filter(|p| p.connected), msg, signals);
        Ok(())
    }

    /// Whether a receive would find a message: for SUB, non-matching messages at the head of
    /// each ready peer's input are dropped first, so a poller never reports a SUB readable
    /// for messages `recv` would throw away.
    fn can_recv(
        &self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> bool {
        fq.retain_ready(|p| {
            let Some(peer) = peers.get_mut(&p) else {
                return false;
            };
            loop {
                match peer.peek_input(signals) {
                    None => return false,
                    Some(msg) if self.wants(msg, opts) => return true,
                    Some(_) => peer.local.pop_front(),
                };
            }
        })
    }

    /// SUB: the next message that matches a subscription (or, with INVERT_MATCHING, none);
    /// others are dropped. XSUB: the next message.
    fn recv(
        &mut self,
        fq: &mut FairQueue,
        peers: &mut PeerMap<Peer>,
        opts: &Options,
        signals: &mut Signals,
    ) -> Result<Option<(PeerId, Message)>, RecvError> {
        Ok(next_accepted(fq, peers, signals, |_, msg| {
            self.wants(&msg, opts).then_some(msg)
        }))
    }
}

/// The bytes subscriptions are matched against: the first frame (empty for an empty message).
fn topic(msg: &Message) -> &[u8] {
    msg.first().map_or(&[], |f| &f[..])
}

/// Hands `msg` to every peer's outgoing queue that has room (the others lose it). Every peer
/// but the last gets a clone (frames shared, never copied); the last takes the message itself,
/// so a single peer costs no clone at all.
fn fan_out<'a>(peers: impl Iterator<Item = &'a Peer>, msg: Message, signals: &mut Signals) {
    let mut peers = peers.peekable();
    let mut msg = Some(msg);
    while let Some(peer) = peers.next() {
        let m = if peers.peek().is_some() {
            msg.clone()
        } else {
            msg.take()
        };
        if let Some(Ok(s)) = m.map(|m| peer.out.try_push(m)) {
            signals.extend(s);
        }
    }
}
