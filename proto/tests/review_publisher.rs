//! PublisherState regression (from a review): XPUB_MANUAL's last sender after a peer leaves.

use ferrozmq_proto::pattern::{PeerId, PeerSet, PublisherConfig, PublisherState};

const A: PeerId = PeerId(1);
const B: PeerId = PeerId(2);

fn targets(s: &PublisherState, topic: &[u8], config: &PublisherConfig) -> Vec<PeerId> {
    let mut out = PeerSet::default();
    s.targets(topic, config, &mut out);
    let mut v: Vec<_> = out.into_iter().collect();
    v.sort();
    v
}

/// libzmq's `xpub_t::send_unsubscription` under XPUB_MANUAL sets `_last_pipe = NULL` (and
/// queues a NULL pipe with the cancel): once a leaving peer's cancels are reported, the
/// user's Subscribe/Unsubscribe apply to nobody, not to the peer received from before.
#[test]
fn manual_detach_report_clears_the_last_sender() {
    let mut config = PublisherConfig::default();
    config.manual = true;
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
