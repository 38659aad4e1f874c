//! ROUTER routing ids: peer-chosen `Identity` or generated, and the lookup both ways
//! (RFC 28 §"The ROUTER Socket Type": "SHALL identify each double queue using a unique
//! "identity" binary string"; "SHOULD allow the peer to specify its identity explicitly
//! through the Identity metadata property").
//!
//! Generated ids follow libzmq: 5 bytes, `0x00` then a big-endian `u32` counter whose start
//! is random (taken from std's randomly keyed hasher, so no clock or RNG dependency).
use std::collections::HashMap;

use bytes::Bytes;

use super::{random_u32, PeerId};

/// Why a peer could not be attached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttachError {
    /// Another connected peer already uses this routing id (and handover is off).
    #[error("routing id already in use by another peer")]
    DuplicateId,
}

/// Routing id <-> peer table of a ROUTER.
#[derive(Debug)]
pub struct RouterTable {
    by_id: HashMap<Bytes, PeerId>,
    by_peer: super::PeerMap<Bytes>,
    /// The counter of the next generated id.
    next_generated: u32,
}

impl RouterTable {
    /// Empty.
    pub fn new() -> Self {
        Self::with_first_generated(random_u32())
    }

    /// Empty, with generated ids counting from `first` (deterministic tests; libzmq starts
    /// from a random value, as [`RouterTable::new`] does).
    pub fn with_first_generated(first: u32) -> Self {
        Self {
            by_id: HashMap::new(),
            by_peer: super::PeerMap::default(),
            next_generated: first,
        }
    }

    /// Attaches a peer. With `requested` (the peer's non-empty Identity, or the id given by
    /// CONNECT_ROUTING_ID) that id is used; otherwise a 5-byte id `0x00` + 4-byte big-endian
    /// counter is generated (as libzmq does). If the id is taken: with `handover` the old peer
    /// is detached and returned in `Ok((id, Some(old)))`, otherwise `Err(DuplicateId)`.
    ///
    /// An empty `requested` id counts as none (RFC 23: an empty Identity asks the ROUTER to
    /// generate one). Attaching a peer that is already attached replaces its old id. A
    /// generated id never collides: ids in use are skipped.
    pub fn attach(
        &mut self,
        peer: PeerId,
        requested: Option<Bytes>,
        handover: bool,
    ) -> Result<(Bytes, Option<PeerId>), AttachError> {
        let requested = requested.filter(|id| !id.is_empty());
        let mut evicted = None;
        let id = match requested {
            Some(id) => {
                match self.by_id.get(&id) {
                    Some(&old) if old == peer => return Ok((id, None)),
                    Some(_) if !handover => return Err(AttachError::DuplicateId),
                    Some(&old) => {
                        self.detach(old);
                        evicted = Some(old);
                    }
                    None => {}
                }
                id
            }
            None => self.generate(),
        };
        self.detach(peer);
        self.by_id.insert(id.clone(), peer);
        self.by_peer.insert(peer, id.clone());
        Ok((id, evicted))
    }

    /// Detaches a peer (no-op if absent).
    pub fn detach(&mut self, peer: PeerId) {
        if let Some(id) = self.by_peer.remove(&peer) {
            self.by_id.remove(&id);
        }
    }

    /// The peer with this routing id.
    pub fn lookup(&self, id: &[u8]) -> Option<PeerId> {
        self.by_id.get(id).copied()
    }

    /// The routing id of this peer.
    pub fn id_of(&self, peer: PeerId) -> Option<&Bytes> {
        self.by_peer.get(&peer)
    }

    /// Number of attached peers.
    pub fn len(&self) -> usize {
        self.by_peer.len()
    }

    /// True if no peer is attached.
    pub fn is_empty(&self) -> bool {
        self.by_peer.is_empty()
    }

    /// The next free generated id: `0x00` + big-endian counter.
    fn generate(&mut self) -> Bytes {
        // Terminates: at most `len()` ids are in use, far fewer than 2^32.
        loop {
            let n = self.next_generated;
            self.next_generated = n.wrapping_add(1);
            let [b0, b1, b2, b3] = n.to_be_bytes();
            let id = [0, b0, b1, b2, b3];
            if !self.by_id.contains_key(&id[..]) {
                return Bytes::copy_from_slice(&id);
            }
        }
    }
}

impl Default for RouterTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn b(s: &'static str) -> Option<Bytes> {
        Some(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn generated_ids_are_five_bytes_zero_led_and_unique() {
        let mut t = RouterTable::new();
        let mut seen = HashSet::new();
        for i in 0..1000 {
            let (id, evicted) = t.attach(PeerId(i), None, false).expect("attach");
            assert_eq!(evicted, None);
            assert_eq!(id.len(), 5);
            assert_eq!(id.first(), Some(&0));
            assert!(seen.insert(id.clone()), "duplicate generated id {id:?}");
            assert_eq!(t.lookup(&id), Some(PeerId(i)));
            assert_eq!(t.id_of(PeerId(i)), Some(&id));
        }
        assert_eq!(t.len(), 1000);
    }

    #[test]
    fn generated_ids_count_big_endian_and_wrap() {
        let mut t = RouterTable::with_first_generated(u32::MAX);
        let (a, _) = t.attach(PeerId(1), None, false).expect("attach");
        let (b, _) = t.attach(PeerId(2), None, false).expect("attach");
        assert_eq!(&a[..], [0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(&b[..], [0, 0, 0, 0, 0]);
        let mut t = RouterTable::with_first_generated(0x0102_0304);
        let (c, _) = t.attach(PeerId(1), None, false).expect("attach");
        assert_eq!(&c[..], [0, 1, 2, 3, 4]);
    }

    #[test]
    fn generation_skips_ids_in_use() {
        let mut t = RouterTable::with_first_generated(7);
        // A peer asked for exactly the id the counter will produce next.
        t.attach(PeerId(1), Some(Bytes::from_static(&[0, 0, 0, 0, 7])), false)
            .expect("attach");
        let (id, _) = t.attach(PeerId(2), None, false).expect("attach");
        assert_eq!(&id[..], [0, 0, 0, 0, 8]);
    }

    #[test]
    fn requested_id_used_as_given_and_empty_means_generate() {
        let mut t = RouterTable::new();
        let (id, _) = t.attach(PeerId(1), b("alice"), false).expect("attach");
        assert_eq!(&id[..], b"alice");
        assert_eq!(t.lookup(b"alice"), Some(PeerId(1)));
        let (id, _) = t
            .attach(PeerId(2), Some(Bytes::new()), false)
            .expect("attach");
        assert_eq!(id.len(), 5);
    }

    #[test]
    fn duplicate_without_handover_is_refused() {
        let mut t = RouterTable::new();
        t.attach(PeerId(1), b("alice"), false).expect("attach");
        assert_eq!(
            t.attach(PeerId(2), b("alice"), false),
            Err(AttachError::DuplicateId)
        );
        assert_eq!(t.lookup(b"alice"), Some(PeerId(1)));
        assert_eq!(t.id_of(PeerId(2)), None);
    }

    #[test]
    fn duplicate_with_handover_evicts_old_peer() {
        let mut t = RouterTable::new();
        t.attach(PeerId(1), b("alice"), true).expect("attach");
        let (id, evicted) = t.attach(PeerId(2), b("alice"), true).expect("attach");
        assert_eq!(&id[..], b"alice");
        assert_eq!(evicted, Some(PeerId(1)));
        assert_eq!(t.lookup(b"alice"), Some(PeerId(2)));
        assert_eq!(t.id_of(PeerId(1)), None);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn reattach_replaces_old_id() {
        let mut t = RouterTable::new();
        t.attach(PeerId(1), b("alice"), false).expect("attach");
        assert_eq!(
            t.attach(PeerId(1), b("alice"), false),
            Ok((Bytes::from_static(b"alice"), None))
        );
        t.attach(PeerId(1), b("bob"), false).expect("attach");
        assert_eq!(t.lookup(b"alice"), None);
        assert_eq!(t.lookup(b"bob"), Some(PeerId(1)));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn detach_frees_the_id() {
        let mut t = RouterTable::new();
        t.attach(PeerId(1), b("alice"), false).expect("attach");
        t.detach(PeerId(1));
        t.detach(PeerId(1));
        assert!(t.is_empty());
        assert_eq!(t.lookup(b"alice"), None);
        t.attach(PeerId(2), b("alice"), false).expect("attach");
        assert_eq!(t.lookup(b"alice"), Some(PeerId(2)));
    }
}
