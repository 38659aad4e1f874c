//! [`PublisherState`]: the decisions of PUB and XPUB (RFC 29) as plain data: which peers a
//! message goes to, which subscriptions take effect, and which of them XPUB reports to its
//! user under XPUB_VERBOSE, XPUB_VERBOSER, XPUB_MANUAL and MAX_SUBSCRIPTIONS. The socket
//! keeps the queues (XPUB's receive queue, XPUB_NODROP's blocked targets) and asks this type.

use super::{PeerId, PeerMap, PeerSet, SubscriptionTrie};

/// The options a publisher's decisions depend on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublisherConfig {
    /// XPUB_VERBOSE: report every subscription, not only a topic's first.
    pub verbose: bool,
    /// XPUB_VERBOSER: report every subscription and every cancel.
    pub verboser: bool,
    /// XPUB_MANUAL: report subscriptions without applying them; the user applies them.
    pub manual: bool,
    /// INVERT_MATCHING: a message goes to the peers with no matching subscription.
    pub invert_matching: bool,
    /// Most topics kept per peer; further new topics are ignored.
    pub max_subscriptions: Option<usize>,
}

/// What became of a peer's subscription or cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionOutcome {
    /// Applied (or, under XPUB_MANUAL, recorded); XPUB reports it to its user.
    Report,
    /// Applied, nothing to report (a topic's second subscriber, without VERBOSE).
    Silent,
    /// Ignored: the peer is at MAX_SUBSCRIPTIONS.
    Refused,
}

/// PUB/XPUB subscription state.
#[derive(Debug)]
pub struct PublisherState {
    xpub: bool,
    /// The subscriptions in force: what messages are filtered with.
    trie: SubscriptionTrie,
    /// XPUB_MANUAL: what each peer asked for (the user decides what goes into `trie`), so a
    /// peer that leaves can be reported topic by topic, as libzmq does.
    requested: SubscriptionTrie,
    /// Attached peers (INVERT_MATCHING sends to the non-matching ones).
    attached: PeerSet,
    /// Topics each peer holds (in `trie`, or `requested` under XPUB_MANUAL).
    counts: PeerMap<usize>,
    /// XPUB_MANUAL: the peer of the subscription the user received last; the user's own
    /// Subscribe/Unsubscribe apply to it (libzmq: the pipe of the last message received).
    last_sender: Option<PeerId>,
}

impl PublisherState {
    /// A PUB (`xpub` false) or XPUB's state, with no peer.
    pub fn new(xpub: bool) -> Self {
        PublisherState {
            xpub,
            trie: SubscriptionTrie::new(),
            requested: SubscriptionTrie::new(),
            attached: PeerSet::default(),
            counts: PeerMap::default(),
            last_sender: None,
        }
    }

    /// True for XPUB.
    pub fn is_xpub(&self) -> bool {
        self.xpub
    }

    /// A peer attached.
    pub fn attach(&mut self, peer: PeerId) {
        self.attached.insert(peer);
    }

    /// A peer subscribed (`subscribe`) to `topic`, or cancelled it.
    pub fn subscription(
        &mut self,
        peer: PeerId,
        subscribe: bool,
        topic: &[u8],
        config: &PublisherConfig,
    ) -> SubscriptionOutcome {
        let manual = self.xpub && config.manual;
        let table = if manual {
            &mut self.requested
        } else {
            &mut self.trie
        };
        let held = table.is_subscribed(topic, peer);
        let count = self.counts.entry(peer).or_default();
        match (subscribe, held) {
            (true, false) if config.max_subscriptions.is_some_and(|max| *count >= max) => {
                return SubscriptionOutcome::Refused;
            }
            (true, false) => *count += 1,
            (false, true) => *count = count.saturating_sub(1),
            _ => {}
        }
        let report = if manual {
            // Recorded, not applied: the user decides, and sees every request.
            if subscribe {
                table.add(topic, peer);
            } else {
                table.remove(topic, peer);
            }
            true
        } else if subscribe {
            // RFC 29: identical subscriptions result in a single report, unless verbose.
            table.add(topic, peer) || config.verbose || config.verboser
        } else {
            table.remove(topic, peer) || config.verboser
        };
        if report && self.xpub {
            SubscriptionOutcome::Report
        } else {
            SubscriptionOutcome::Silent
        }
    }

    /// A peer left: its subscriptions go. `report(topic)` is called for each cancel XPUB
    /// reports: a topic that lost its last subscriber (every topic of the peer under
    /// XPUB_VERBOSER; every topic it asked for under XPUB_MANUAL), as libzmq.
    pub fn detach(
        &mut self,
        peer: PeerId,
        config: &PublisherConfig,
        mut report: impl FnMut(&[u8]),
    ) {
        self.attached.remove(&peer);
        self.counts.remove(&peer);
        if self.last_sender == Some(peer) {
            self.last_sender = None;
        }
        let manual = self.xpub && config.manual;
        let automatic = self.xpub && !manual;
        if manual {
            // libzmq: the cancels a leaving peer causes come from nobody, so the user's
            // Subscribe/Unsubscribe after them apply to nobody either.
            self.last_sender = None;
        }
        self.trie.remove_peer(peer, |topic, last| {
            if automatic && (last || config.verboser) {
                report(topic);
            }
        });
        self.requested.remove_peer(peer, |topic, _| {
            if manual {
                report(topic);
            }
        });
    }

    /// The user received a message from `peer` (XPUB_MANUAL's Subscribe applies to it).
    pub fn received_from(&mut self, peer: PeerId) {
        self.last_sender = Some(peer);
    }

    /// The user received a notice from no peer (a leaving peer's cancel): XPUB_MANUAL's
    /// Subscribe/Unsubscribe apply to nobody until the next subscription is received.
    pub fn received_from_nobody(&mut self) {
        self.last_sender = None;
    }

    /// XPUB_MANUAL: the user's own Subscribe/Unsubscribe, for the peer whose subscription it
    /// received last (none yet: ignored).
    pub fn manual_subscription(&mut self, subscribe: bool, topic: &[u8]) {
        if let Some(peer) = self.last_sender {
            if subscribe {
                self.trie.add(topic, peer);
            } else {
                self.trie.remove(topic, peer);
            }
        }
    }

    /// Puts into `out` (cleared first) the peers a message whose first frame is `topic`
    /// goes to.
    pub fn targets(&self, topic: &[u8], config: &PublisherConfig, out: &mut PeerSet) {
        out.clear();
        self.trie.matches(topic, out);
        if config.invert_matching {
            let matched = std::mem::take(out);
            out.extend(self.attached.iter().filter(|p| !matched.contains(p)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SubscriptionOutcome::*;

    const A: PeerId = PeerId(1);
    const B: PeerId = PeerId(2);

    fn xpub(config: PublisherConfig) -> (PublisherState, PublisherConfig) {
        let mut s = PublisherState::new(true);
        s.attach(A);
        s.attach(B);
        (s, config)
    }

    fn targets(s: &PublisherState, topic: &[u8], config: &PublisherConfig) -> Vec<PeerId> {
        let mut out = PeerSet::default();
        s.targets(topic, config, &mut out);
        let mut v: Vec<_> = out.into_iter().collect();
        v.sort();
        v
    }

    #[test]
    fn first_subscription_and_last_cancel_are_reported() {
        let (mut s, c) = xpub(PublisherConfig::default());
        assert_eq!(s.subscription(A, true, b"t", &c), Report);
        assert_eq!(s.subscription(B, true, b"t", &c), Silent);
        assert_eq!(s.subscription(A, false, b"t", &c), Silent);
        assert_eq!(s.subscription(B, false, b"t", &c), Report);
        assert!(targets(&s, b"topic", &c).is_empty());
    }

    #[test]
    fn verbose_reports_every_subscription_and_verboser_every_cancel() {
        let verbose = PublisherConfig {
            verbose: true,
            ..Default::default()
        };
        let (mut s, c) = xpub(verbose);
        s.subscription(A, true, b"t", &c);
        assert_eq!(s.subscription(B, true, b"t", &c), Report);
        assert_eq!(s.subscription(A, false, b"t", &c), Silent);
        let verboser = PublisherConfig {
            verboser: true,
            ..Default::default()
        };
        let (mut s, c) = xpub(verboser);
        s.subscription(A, true, b"t", &c);
        s.subscription(B, true, b"t", &c);
        assert_eq!(s.subscription(A, false, b"t", &c), Report);
    }

    #[test]
    fn a_pub_reports_nothing_but_filters() {
        let mut s = PublisherState::new(false);
        s.attach(A);
        let c = PublisherConfig::default();
        assert_eq!(s.subscription(A, true, b"we", &c), Silent);
        assert_eq!(targets(&s, b"weather", &c), [A]);
        assert!(targets(&s, b"news", &c).is_empty());
    }

    #[test]
    fn manual_records_requests_and_applies_the_users_choice_to_the_last_sender() {
        let (mut s, c) = xpub(PublisherConfig {
            manual: true,
            ..Default::default()
        });
        assert_eq!(s.subscription(A, true, b"t", &c), Report);
        assert!(targets(&s, b"t", &c).is_empty(), "not applied by itself");
        s.manual_subscription(true, b"t"); // no message received yet: ignored
        assert!(targets(&s, b"t", &c).is_empty());
        s.received_from(A);
        s.manual_subscription(true, b"t");
        assert_eq!(targets(&s, b"t", &c), [A]);
        let mut reported = Vec::new();
        s.detach(A, &c, |t| reported.push(t.to_vec()));
        assert_eq!(
            reported,
            [b"t".to_vec()],
            "a leaving peer's requests are reported"
        );
        assert!(targets(&s, b"t", &c).is_empty());
    }

    #[test]
    fn a_leaving_peer_reports_the_topics_it_was_last_on() {
        let (mut s, c) = xpub(PublisherConfig::default());
        s.subscription(A, true, b"shared", &c);
        s.subscription(B, true, b"shared", &c);
        s.subscription(A, true, b"own", &c);
        let mut reported = Vec::new();
        s.detach(A, &c, |t| reported.push(t.to_vec()));
        assert_eq!(reported, [b"own".to_vec()]);
        assert_eq!(targets(&s, b"shared", &c), [B]);
    }

    #[test]
    fn max_subscriptions_refuses_new_topics_only() {
        let (mut s, c) = xpub(PublisherConfig {
            max_subscriptions: Some(2),
            ..Default::default()
        });
        assert_eq!(s.subscription(A, true, b"a", &c), Report);
        assert_eq!(s.subscription(A, true, b"b", &c), Report);
        assert_eq!(s.subscription(A, true, b"c", &c), Refused);
        // A topic the peer holds is no new topic; another peer has its own count.
        assert_eq!(s.subscription(A, true, b"a", &c), Silent);
        assert_eq!(s.subscription(B, true, b"c", &c), Report);
        // A cancel makes room.
        assert_eq!(s.subscription(A, false, b"a", &c), Report);
        assert_eq!(s.subscription(A, true, b"c", &c), Silent);
        assert_eq!(targets(&s, b"c", &c), [A, B]);
    }

    #[test]
    fn invert_matching_targets_the_peers_without_a_match() {
        let (mut s, c) = xpub(PublisherConfig {
            invert_matching: true,
            ..Default::default()
        });
        s.subscription(A, true, b"x", &c);
        assert_eq!(targets(&s, b"xyz", &c), [B]);
        assert_eq!(targets(&s, b"abc", &c), [A, B]);
    }

    /// libzmq's `xpub_t::send_unsubscription` under XPUB_MANUAL sets `_last_pipe = NULL` (and
    /// queues a NULL pipe with the cancel): once a leaving peer's cancels are reported, the
    /// user's Subscribe/Unsubscribe apply to nobody, not to the peer received from before.
    #[test]
    fn manual_detach_report_clears_the_last_sender() {
        let config = PublisherConfig {
            manual: true,
            ..Default::default()
        };
        let mut s = PublisherState::new(true);
        s.attach(A);
        s.attach(B);
        s.subscription(A, true, b"t", &config);
        s.received_from(A);
        s.manual_subscription(true, b"t");
        s.subscription(B, true, b"t", &config);
        s.received_from(B);
        s.manual_subscription(true, b"t");
        assert_eq!(targets(&s, b"t1", &config), [A, B]);
        let mut reported = Vec::new();
        s.detach(A, &config, |t| reported.push(t.to_vec()));
        assert_eq!(reported, [b"t".to_vec()]);
        // The user applies the cancel it received for A.
        s.manual_subscription(false, b"t");
        assert_eq!(targets(&s, b"t1", &config), [B], "B lost its subscription");
    }
}
