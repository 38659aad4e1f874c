//! Fair queueing of incoming messages across peers (RFC 28 §"The DEALER Socket Type": "SHALL
//! receive incoming messages from its peers using a fair-queuing strategy"; RFC 30 PULL).
//!
//! Only active peers (those that may have input) are in the line, so a socket with thousands
//! of idle peers pays nothing for them. A peer is served one message per turn, then goes to
//! the back; a peer found empty leaves the line until it is activated again.
use std::collections::VecDeque;

use super::PeerId;

/// The set of peers that may have input, served in turn.
#[derive(Debug, Default)]
pub struct FairQueue {
    /// Active peers, front served next. Never holds a peer twice.
    line: VecDeque<PeerId>,
    /// Exactly the peers in `line`.
    active: super::PeerSet,
}

impl FairQueue {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks a peer as possibly having input (idempotent; a new peer goes to the back).
    pub fn activate(&mut self, peer: PeerId) {
        if self.active.insert(peer) {
            self.line.push_back(peer);
        }
    }

    /// Forgets a peer entirely.
    pub fn remove(&mut self, peer: PeerId) {
        if self.active.remove(&peer) {
            // O(active peers); idle peers are never in the line.
            self.line.retain(|&p| p != peer);
        }
    }

    /// True if some peer is marked active.
    pub fn has_active(&self) -> bool {
        !self.line.is_empty()
    }

    /// True if `peer` is marked active.
    pub fn is_active(&self, peer: PeerId) -> bool {
        self.active.contains(&peer)
    }

    /// Number of active peers.
    pub fn active_len(&self) -> usize {
        self.line.len()
    }

    /// Drops from the line every active peer for which `has_input` is false (a readiness
    /// check: activations are hints, set on the empty -> non-empty edge). True if some peer
    /// remains active.
    pub fn retain_ready(&mut self, mut has_input: impl FnMut(PeerId) -> bool) -> bool {
        let active = &mut self.active;
        self.line.retain(|&p| {
            let keep = has_input(p);
            if !keep {
                active.remove(&p);
            }
            keep
        });
        !self.line.is_empty()
    }

    /// Serves peers in turn: calls `pop` on the active peer at the front; a peer whose `pop`
    /// returns `None` is deactivated and the next one is tried; the peer that yields a value
    /// goes to the back of the line (fairness: one message per peer per turn) and
    /// `(peer, value)` is returned. `None` once no active peer has anything.
    ///
    /// Each active peer is asked at most once per call.
    pub fn next<T>(&mut self, mut pop: impl FnMut(PeerId) -> Option<T>) -> Option<(PeerId, T)> {
        while let Some(peer) = self.line.pop_front() {
            match pop(peer) {
                Some(value) => {
                    self.line.push_back(peer);
                    return Some((peer, value));
                }
                None => {
                    self.active.remove(&peer);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Per-peer backlogs standing in for the pipes.
    struct Backlogs(HashMap<PeerId, VecDeque<u32>>);

    impl Backlogs {
        fn new(spec: &[(u64, u32)]) -> Self {
            Self(
                spec.iter()
                    .map(|&(id, n)| (PeerId(id), (0..n).collect()))
                    .collect(),
            )
        }
        fn pop(&mut self, peer: PeerId) -> Option<u32> {
            self.0.get_mut(&peer)?.pop_front()
        }
    }

    #[test]
    fn retain_ready_drops_only_idle_peers() {
        let mut fq = FairQueue::new();
        for id in 1..=3 {
            fq.activate(PeerId(id));
        }
        assert!(fq.retain_ready(|p| p == PeerId(2)));
        assert_eq!(fq.active_len(), 1);
        assert!(fq.is_active(PeerId(2)));
        assert!(!fq.retain_ready(|_| false));
        fq.activate(PeerId(1));
        assert!(fq.is_active(PeerId(1)));
    }

    fn drain(fq: &mut FairQueue, backlogs: &mut Backlogs) -> Vec<(u64, u32)> {
        std::iter::from_fn(|| fq.next(|p| backlogs.pop(p)))
            .map(|(p, v)| (p.0, v))
            .collect()
    }

    #[test]
    fn empty_yields_none() {
        let mut fq = FairQueue::new();
        assert!(!fq.has_active());
        assert_eq!(fq.next(|_| Some(())), None);
    }

    #[test]
    fn turn_taking_with_uneven_backlogs() {
        let mut backlogs = Backlogs::new(&[(1, 3), (2, 1), (3, 2)]);
        let mut fq = FairQueue::new();
        for id in [1, 2, 3] {
            fq.activate(PeerId(id));
        }
        assert_eq!(
            drain(&mut fq, &mut backlogs),
            [(1, 0), (2, 0), (3, 0), (1, 1), (3, 1), (1, 2)]
        );
        assert!(!fq.has_active());
    }

    #[test]
    fn empty_peer_is_deactivated_until_activated_again() {
        let mut backlogs = Backlogs::new(&[(1, 1), (2, 0)]);
        let mut fq = FairQueue::new();
        fq.activate(PeerId(1));
        fq.activate(PeerId(2));
        assert_eq!(drain(&mut fq, &mut backlogs), [(1, 0)]);
        assert!(!fq.is_active(PeerId(2)));

        backlogs.0.insert(PeerId(2), VecDeque::from([7]));
        assert_eq!(drain(&mut fq, &mut backlogs), []);
        fq.activate(PeerId(2));
        assert_eq!(drain(&mut fq, &mut backlogs), [(2, 7)]);
    }

    #[test]
    fn activate_is_idempotent() {
        let mut backlogs = Backlogs::new(&[(1, 4), (2, 4)]);
        let mut fq = FairQueue::new();
        fq.activate(PeerId(1));
        fq.activate(PeerId(2));
        fq.activate(PeerId(1));
        fq.activate(PeerId(1));
        assert_eq!(fq.active_len(), 2);
        let served: Vec<u64> = drain(&mut fq, &mut backlogs)
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(served, [1, 2, 1, 2, 1, 2, 1, 2]);
    }

    #[test]
    fn activating_a_served_peer_keeps_its_place() {
        let mut backlogs = Backlogs::new(&[(1, 2), (2, 2)]);
        let mut fq = FairQueue::new();
        fq.activate(PeerId(1));
        fq.activate(PeerId(2));
        assert_eq!(
            fq.next(|p| backlogs.pop(p)).map(|(p, _)| p),
            Some(PeerId(1))
        );
        // 1 is at the back already; activating it again must not let it jump or duplicate.
        fq.activate(PeerId(1));
        assert_eq!(
            fq.next(|p| backlogs.pop(p)).map(|(p, _)| p),
            Some(PeerId(2))
        );
        assert_eq!(fq.active_len(), 2);
    }

    #[test]
    fn remove_forgets_peer() {
        let mut backlogs = Backlogs::new(&[(1, 2), (2, 2), (3, 2)]);
        let mut fq = FairQueue::new();
        for id in [1, 2, 3] {
            fq.activate(PeerId(id));
        }
        fq.remove(PeerId(2));
        fq.remove(PeerId(42));
        assert!(!fq.is_active(PeerId(2)));
        assert_eq!(
            drain(&mut fq, &mut backlogs),
            [(1, 0), (3, 0), (1, 1), (3, 1)]
        );
        // Activating after removal puts it back exactly once.
        fq.activate(PeerId(2));
        fq.activate(PeerId(2));
        assert_eq!(drain(&mut fq, &mut backlogs), [(2, 0), (2, 1)]);
    }

    #[test]
    fn thousands_of_idle_peers_are_not_visited() {
        let mut fq = FairQueue::new();
        // 10_000 peers connect and are activated once; each is found empty exactly once.
        for id in 0..10_000 {
            fq.activate(PeerId(id));
        }
        let mut asked = 0usize;
        let got = fq.next(|_| {
            asked += 1;
            None::<()>
        });
        assert_eq!(got, None);
        assert_eq!(asked, 10_000);
        assert!(!fq.has_active());

        // Now two of them have input: only those two are ever asked.
        let mut backlogs = Backlogs::new(&[(5_000, 2), (9_999, 2)]);
        fq.activate(PeerId(5_000));
        fq.activate(PeerId(9_999));
        let mut asked = Vec::new();
        let served: Vec<u64> = std::iter::from_fn(|| {
            fq.next(|p| {
                asked.push(p.0);
                backlogs.pop(p)
            })
        })
        .map(|(p, _)| p.0)
        .collect();
        assert_eq!(served, [5_000, 9_999, 5_000, 9_999]);
        // 4 hits, then each of the two found empty once.
        assert_eq!(asked, [5_000, 9_999, 5_000, 9_999, 5_000, 9_999]);
        assert!(!fq.has_active());
    }

    proptest! {
        /// Whatever the backlogs and activation order: every message is delivered once, in
        /// per-peer order, and between two messages of one peer every other peer that still
        /// had a message queued at the time was served.
        #[test]
        fn serves_everything_fairly(
            backlog in proptest::collection::vec(0u32..6, 1..8),
            extra_activations in proptest::collection::vec(0usize..8, 0..16),
        ) {
            let spec: Vec<(u64, u32)> =
                backlog.iter().enumerate().map(|(i, &n)| (i as u64, n)).collect();
            let mut backlogs = Backlogs::new(&spec);
            let mut fq = FairQueue::new();
            for &(id, _) in &spec {
                fq.activate(PeerId(id));
            }
            for i in extra_activations {
                fq.activate(PeerId((i % spec.len()) as u64));
            }
            prop_assert!(fq.active_len() <= spec.len());
            let served = drain(&mut fq, &mut backlogs);
            let total: u32 = backlog.iter().sum();
            prop_assert_eq!(served.len() as u32, total);
            for &(id, n) in &spec {
                let mine: Vec<u32> =
                    served.iter().filter(|(p, _)| *p == id).map(|&(_, v)| v).collect();
                prop_assert_eq!(mine, (0..n).collect::<Vec<_>>());
            }
            // Round k serves exactly the peers with more than k messages.
            let mut at = 0;
            for round in 0.. {
                let expected: Vec<u64> = spec
                    .iter()
                    .filter(|&&(_, n)| n > round)
                    .map(|&(id, _)| id)
                    .collect();
                if expected.is_empty() {
                    break;
                }
                let got: Vec<u64> =
                    served[at..at + expected.len()].iter().map(|&(p, _)| p).collect();
                at += expected.len();
                prop_assert_eq!(got, expected);
            }
            prop_assert!(!fq.has_active());
        }
    }
}
