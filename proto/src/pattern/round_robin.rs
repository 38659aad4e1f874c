//! Round-robin choice of an outgoing peer (RFC 28 §"The DEALER Socket Type" and §"The REQ
//! Socket Type", RFC 30 §"The PUSH Socket Type": "SHALL route outgoing messages to available
//! peers using a round-robin strategy").
//!
//! The peers sit in a `Vec` in attach order with a cursor just after the last one chosen. A
//! pick is O(1) when the first offered peer accepts; `remove` is O(n) but adjusts the cursor
//! so that the rotation neither skips a peer nor serves one twice in a row.

use super::PeerId;

/// Peers in the order they attached; sends rotate through them.
#[derive(Debug, Default)]
pub struct RoundRobin {
    /// Peers in attach order.
    peers: Vec<PeerId>,
    /// Membership of `peers`, so `add` stays O(1).
    members: super::PeerSet,
    /// Index in `peers` just after the last chosen peer, `<= peers.len()`; the next pick
    /// starts there (modulo the length). Not wrapped eagerly, so a peer added after the last
    /// one chosen is offered next rather than the first peer being served twice in a row.
    cursor: usize,
}

impl RoundRobin {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a peer at the end of the rotation (no-op if present).
    pub fn add(&mut self, peer: PeerId) {
        if self.members.insert(peer) {
            self.peers.push(peer);
        }
    }

    /// Removes a peer (no-op if absent); the rotation continues with the next one.
    pub fn remove(&mut self, peer: PeerId) {
        if !self.members.remove(&peer) {
            return;
        }
        let Some(index) = self.peers.iter().position(|&p| p == peer) else {
            return;
        };
        self.peers.remove(index);
        // Everything after `index` shifted down by one: keep the cursor on the same peer. If
        // the removed peer was the one under the cursor, its successor now sits there.
        // (Invariant kept: `cursor <= peers.len()`.)
        if index < self.cursor {
            self.cursor -= 1;
        }
    }

    /// Number of peers.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// True if there are no peers.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// True if `peer` is in the rotation.
    pub fn contains(&self, peer: PeerId) -> bool {
        self.members.contains(&peer)
    }

    /// The peers in attach order.
    pub fn peers(&self) -> &[PeerId] {
        &self.peers
    }

    /// Offers the peers in rotation order, starting after the last one chosen, each at most
    /// once, until `accept` returns true; that peer is chosen and returned. `None` if all
    /// refused (e.g. all queues full) or there are none.
    ///
    /// A refusal does not move the cursor past the refusing peer: the next pick still starts
    /// after the last peer *chosen*.
    pub fn pick(&mut self, mut accept: impl FnMut(PeerId) -> bool) -> Option<PeerId> {
        let len = self.peers.len();
        for offset in 0..len {
            let index = (self.cursor + offset) % len;
            let peer = *self.peers.get(index)?;
            if accept(peer) {
                self.cursor = index + 1;
                return Some(peer);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rr(ids: &[u64]) -> RoundRobin {
        let mut rr = RoundRobin::new();
        for &id in ids {
            rr.add(PeerId(id));
        }
        rr
    }

    fn picks(rr: &mut RoundRobin, n: usize) -> Vec<u64> {
        (0..n)
            .filter_map(|_| rr.pick(|_| true))
            .map(|p| p.0)
            .collect()
    }

    #[test]
    fn empty_picks_none() {
        let mut rr = RoundRobin::new();
        assert!(rr.is_empty());
        assert_eq!(rr.pick(|_| true), None);
        rr.remove(PeerId(1));
        assert_eq!(rr.len(), 0);
    }

    #[test]
    fn rotates_in_attach_order() {
        let mut rr = rr(&[1, 2, 3]);
        assert_eq!(picks(&mut rr, 7), [1, 2, 3, 1, 2, 3, 1]);
    }

    #[test]
    fn add_is_idempotent_and_appends() {
        let mut rr = rr(&[1, 2]);
        rr.add(PeerId(1));
        assert_eq!(rr.len(), 2);
        assert_eq!(picks(&mut rr, 1), [1]);
        rr.add(PeerId(3));
        assert_eq!(picks(&mut rr, 4), [2, 3, 1, 2]);
    }

    #[test]
    fn remove_before_cursor_skips_nobody() {
        let mut rr = rr(&[1, 2, 3, 4]);
        assert_eq!(picks(&mut rr, 2), [1, 2]);
        rr.remove(PeerId(1));
        // 3 was next and still is.
        assert_eq!(picks(&mut rr, 4), [3, 4, 2, 3]);
    }

    #[test]
    fn remove_at_cursor_continues_with_successor() {
        let mut rr = rr(&[1, 2, 3, 4]);
        assert_eq!(picks(&mut rr, 2), [1, 2]);
        rr.remove(PeerId(3));
        assert_eq!(picks(&mut rr, 3), [4, 1, 2]);
    }

    #[test]
    fn remove_last_when_cursor_on_it_wraps() {
        let mut rr = rr(&[1, 2, 3]);
        assert_eq!(picks(&mut rr, 2), [1, 2]);
        rr.remove(PeerId(3));
        assert_eq!(picks(&mut rr, 3), [1, 2, 1]);
    }

    #[test]
    fn remove_just_chosen_does_not_serve_next_twice() {
        let mut rr = rr(&[1, 2, 3]);
        assert_eq!(picks(&mut rr, 1), [1]);
        rr.remove(PeerId(1));
        assert_eq!(picks(&mut rr, 3), [2, 3, 2]);
    }

    #[test]
    fn peer_added_after_wrap_is_served_next() {
        let mut rr = rr(&[1]);
        assert_eq!(picks(&mut rr, 1), [1]);
        rr.add(PeerId(2));
        assert_eq!(picks(&mut rr, 3), [2, 1, 2]);
    }

    #[test]
    fn refusing_peers_are_skipped_and_each_offered_once() {
        let mut rr = rr(&[1, 2, 3, 4]);
        let mut offered = Vec::new();
        let chosen = rr.pick(|p| {
            offered.push(p.0);
            p.0 == 3
        });
        assert_eq!(chosen, Some(PeerId(3)));
        assert_eq!(offered, [1, 2, 3]);
        // The next pick starts after 3.
        assert_eq!(picks(&mut rr, 1), [4]);

        let mut offered = Vec::new();
        assert_eq!(
            rr.pick(|p| {
                offered.push(p.0);
                false
            }),
            None
        );
        assert_eq!(offered, [1, 2, 3, 4]);
        // All refusing does not move the cursor.
        assert_eq!(picks(&mut rr, 1), [1]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u64),
        Remove(u64),
        Pick,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u64..8).prop_map(Op::Add),
            (0u64..8).prop_map(Op::Remove),
            Just(Op::Pick),
            Just(Op::Pick),
        ]
    }

    proptest! {
        /// Against a model: after any sequence of adds, removes and picks, the peers are the
        /// attached ones in attach order, no peer is picked twice in a row while another is
        /// present, and `len()` consecutive picks serve every peer exactly once.
        #[test]
        fn rotation_stays_fair(ops in proptest::collection::vec(op(), 0..64)) {
            let mut rr = RoundRobin::new();
            let mut model: Vec<u64> = Vec::new();
            let mut last: Option<u64> = None;
            for op in ops {
                match op {
                    Op::Add(id) => {
                        rr.add(PeerId(id));
                        if !model.contains(&id) {
                            model.push(id);
                        }
                    }
                    Op::Remove(id) => {
                        rr.remove(PeerId(id));
                        model.retain(|&p| p != id);
                        // A re-added peer is a new attachment (real ids are never reused).
                        if last == Some(id) {
                            last = None;
                        }
                    }
                    Op::Pick => {
                        let got = rr.pick(|_| true).map(|p| p.0);
                        prop_assert_eq!(got.is_some(), !model.is_empty());
                        if let (Some(got), Some(last)) = (got, last) {
                            if model.len() > 1 && model.contains(&last) {
                                prop_assert_ne!(got, last);
                            }
                        }
                        last = got;
                    }
                }
                let peers: Vec<u64> = rr.peers().iter().map(|p| p.0).collect();
                prop_assert_eq!(&peers, &model);
            }
            let mut round = picks(&mut rr, model.len());
            round.sort_unstable();
            let mut expected = model.clone();
            expected.sort_unstable();
            prop_assert_eq!(round, expected);
        }
    }
}
