//! Publish-subscribe subscriptions (RFC 29): [`SubscriptionTrie`], topic -> peers on the
//! publisher side (PUB, XPUB), and [`TopicCounter`], counted topics on the subscriber side
//! (SUB, XSUB). RFC 29 §"The PUB Socket Type": "SHALL perform a binary comparison of the
//! subscription against the start of the first frame of the message"; so a topic matches every
//! message that starts with its bytes, and the empty topic matches every message.
//!
//! Both share one path-compressed trie: each edge holds a byte string (inline up to 16 bytes,
//! which covers most topic segments) and each node keeps its children in a `Vec` sorted by
//! first byte, found by binary search. A chain of single-child nodes collapses into one edge,
//! so a set of long topics costs about one node per topic rather than one per byte. Matching
//! walks the trie along the message, O(message length + matches), whatever else is subscribed.
//! Every walk is a loop, never recursion, so a peer's deep trie cannot overflow the stack.
use smallvec::SmallVec;

use super::{PeerId, PeerSet};

/// Publisher-side subscriptions: which peers subscribed to which topic prefixes.
///
/// A peer is either subscribed to a topic or not: subscribing twice is a no-op and one cancel
/// removes it, as in libzmq's publisher. Subscribers count duplicates themselves (see
/// [`TopicCounter`]) and cancel only when their count reaches zero.
pub struct SubscriptionTrie {
    trie: Trie<Peers>,
}

impl SubscriptionTrie {
    /// No subscriptions.
    pub fn new() -> Self {
        Self { trie: Trie::new() }
    }

    /// Subscribes `peer` to `topic`. Returns true if the topic had no subscriber at all
    /// before (the first one: an XPUB passes such a subscription upstream, RFC 29
    /// §"The XPUB Socket Type": "multiple identical subscriptions result in a single command").
    pub fn add(&mut self, topic: &[u8], peer: PeerId) -> bool {
        self.trie
            .upsert(topic, |peers| {
                let first = peers.is_empty();
                peers.insert(peer);
                first
            })
            .unwrap_or(false)
    }

    /// Cancels `peer`'s subscription to `topic`. Returns true if the peer was subscribed and
    /// the topic now has no subscriber left (the last one went).
    pub fn remove(&mut self, topic: &[u8], peer: PeerId) -> bool {
        self.trie
            .update(topic, |peers| peers.remove(peer) && peers.is_empty())
            .unwrap_or(false)
    }

    /// True if `peer` is subscribed to exactly `topic`.
    pub fn is_subscribed(&mut self, topic: &[u8], peer: PeerId) -> bool {
        self.trie
            .update(topic, |peers| peers.contains(peer))
            .unwrap_or(false)
    }

    /// Drops every subscription of `peer` (it disconnected), calling `removed(topic, last)`
    /// for each of its topics, `last` telling whether the topic thereby lost its last
    /// subscriber (RFC 29 §"The XPUB Socket Type": "if the subscriber peer disconnects
    /// prematurely, generate a suitable unsubscribe request"; XPUB reports the `last` ones,
    /// XPUB_VERBOSER all).
    ///
    /// Walks the whole trie once, then removes the peer's topics one by one.
    pub fn remove_peer(&mut self, peer: PeerId, mut removed: impl FnMut(&[u8], bool)) {
        let mut topics = Vec::new();
        self.trie.for_each(|topic, peers| {
            if peers.contains(peer) {
                topics.push(topic.to_vec());
            }
        });
        for topic in topics {
            let last = self.remove(&topic, peer);
            removed(&topic, last);
        }
    }

    /// Inserts into `out` every peer subscribed to a prefix of `data` (the first frame of a
    /// message), the empty prefix included. `out` is not cleared first. Costs O(`data.len()`
    /// + matches): subscriptions that do not match are never looked at.
    pub fn matches(&self, data: &[u8], out: &mut PeerSet) {
        for peers in self.trie.prefixes_of(data) {
            peers.insert_into(out);
        }
    }

    /// True if no peer is subscribed to anything.
    pub fn is_empty(&self) -> bool {
        self.trie.is_empty()
    }

    /// The number of distinct topics with at least one subscriber.
    pub fn topic_count(&self) -> usize {
        self.trie.len()
    }

    /// The number of trie nodes below the root (pruning checks).
    #[cfg(test)]
    fn node_count(&self) -> usize {
        self.trie.node_count()
    }
}

/// Subscriber-side subscriptions: counted topics. Subscribing to a topic twice takes two
/// unsubscribes; only the first subscribe and the last unsubscribe need to reach publishers.
pub struct TopicCounter {
    trie: Trie<u64>,
}

impl TopicCounter {
    /// No subscriptions.
    pub fn new() -> Self {
        Self { trie: Trie::new() }
    }

    /// Counts one more subscription to `topic`. Returns true if the count went from 0 to 1.
    pub fn add(&mut self, topic: &[u8]) -> bool {
        self.trie
            .upsert(topic, |count| {
                // Saturates rather than wraps: 2^64 subscriptions are not reachable anyway.
                *count = count.saturating_add(1);
                *count == 1
            })
            .unwrap_or(false)
    }

    /// Counts one subscription to `topic` less. Returns true if the count went from 1 to 0;
    /// false if it is still positive or `topic` was not subscribed at all.
    pub fn remove(&mut self, topic: &[u8]) -> bool {
        self.trie
            .update(topic, |count| match count.checked_sub(1) {
                Some(left) => {
                    *count = left;
                    left == 0
                }
                None => false,
            })
            .unwrap_or(false)
    }

    /// True if some subscribed topic is a prefix of `data`. O(`data.len()`).
    pub fn matches(&self, data: &[u8]) -> bool {
        self.trie.prefixes_of(data).any(|count| *count > 0)
    }

    /// Calls `f` once for every topic with a positive count, in byte order (to resend the
    /// subscriptions to a publisher that reconnected).
    pub fn for_each_topic(&self, mut f: impl FnMut(&[u8])) {
        self.trie.for_each(|topic, _| f(topic));
    }

    /// True if nothing is subscribed.
    pub fn is_empty(&self) -> bool {
        self.trie.is_empty()
    }

    /// The number of distinct subscribed topics.
    pub fn len(&self) -> usize {
        self.trie.len()
    }

    /// The number of trie nodes below the root (pruning checks).
    #[cfg(test)]
    fn node_count(&self) -> usize {
        self.trie.node_count()
    }
}

/// What a trie node holds for its topic; the default value means "not subscribed".
trait Payload: Default {
    fn is_empty(&self) -> bool;
}

/// The peers subscribed to one topic. Most topics have one subscriber, which needs no
/// allocation; a hash set takes over from the second.
#[derive(Debug, Default)]
enum Peers {
    #[default]
    None,
    One(PeerId),
    Many(PeerSet),
}

impl Peers {
    fn insert(&mut self, peer: PeerId) {
        match self {
            Peers::None => *self = Peers::One(peer),
            Peers::One(one) if *one == peer => {}
            Peers::One(one) => *self = Peers::Many([*one, peer].into_iter().collect()),
            Peers::Many(set) => {
                set.insert(peer);
            }
        }
    }

    /// Returns true if `peer` was there.
    fn remove(&mut self, peer: PeerId) -> bool {
        match self {
            Peers::None => false,
            Peers::One(one) if *one == peer => {
                *self = Peers::None;
                true
            }
            Peers::One(_) => false,
            Peers::Many(set) => {
                let removed = set.remove(&peer);
                // Back to the allocation-free forms once the set is small again.
                if set.len() <= 1 {
                    *self = set
                        .iter()
                        .next()
                        .map_or(Peers::None, |&last| Peers::One(last));
                }
                removed
            }
        }
    }

    fn contains(&self, peer: PeerId) -> bool {
        match self {
            Peers::None => false,
            Peers::One(one) => *one == peer,
            Peers::Many(set) => set.contains(&peer),
        }
    }

    fn insert_into(&self, out: &mut PeerSet) {
        match self {
            Peers::None => {}
            Peers::One(one) => {
                out.insert(*one);
            }
            Peers::Many(set) => out.extend(set.iter().copied()),
        }
    }
}

impl Payload for Peers {
    fn is_empty(&self) -> bool {
        matches!(self, Peers::None)
    }
}

impl Payload for u64 {
    fn is_empty(&self) -> bool {
        *self == 0
    }
}

/// A path-compressed trie from byte strings to `P`.
///
/// Invariants, kept by every operation: a node's children have non-empty labels with
/// distinct first bytes, sorted; a node other than the root with an empty payload has at
/// least two children (otherwise it is removed or merged with its only child); `len` is the
/// number of nodes with a non-empty payload.
struct Trie<P> {
    root: Node<P>,
    len: usize,
}

struct Node<P> {
    /// The bytes on the edge from the parent; empty only at the root.
    label: SmallVec<[u8; 16]>,
    payload: P,
    children: Vec<Node<P>>,
}

impl<P: Payload> Trie<P> {
    fn new() -> Self {
        Self {
            root: Node::new(&[]),
            len: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn len(&self) -> usize {
        self.len
    }

    /// Applies `f` to the payload of `key`, creating the node if needed; a node `f` leaves
    /// empty is pruned again. `None` only if the trie's invariants were broken.
    fn upsert<R>(&mut self, key: &[u8], f: impl FnOnce(&mut P) -> R) -> Option<R> {
        let payload = self.entry(key)?;
        let was_empty = payload.is_empty();
        let result = f(payload);
        let now_empty = payload.is_empty();
        self.count_change(was_empty, now_empty);
        if now_empty {
            self.update(key, |_| ());
        }
        Some(result)
    }

    /// The payload of `key`, splitting an edge or adding a leaf (with an empty payload) if
    /// `key` has no node yet.
    fn entry(&mut self, key: &[u8]) -> Option<&mut P> {
        let mut node = &mut self.root;
        let mut rest = key;
        while let Some(&first) = rest.first() {
            let index = match node.child_index(first) {
                Ok(index) => index,
                Err(index) => {
                    node.children.insert(index, Node::new(rest));
                    return node.children.get_mut(index).map(|leaf| &mut leaf.payload);
                }
            };
            let child = node.children.get_mut(index)?;
            let (common, tail) = common_prefix(&child.label, rest);
            if common < child.label.len() {
                child.split(common);
            }
            rest = tail;
            node = child;
        }
        Some(&mut node.payload)
    }

    /// Applies `f` to the payload of an existing `key`, then prunes the node if it is left
    /// empty. `None` if `key` has no node.
    fn update<R>(&mut self, key: &[u8], f: impl FnOnce(&mut P) -> R) -> Option<R> {
        let path = self.path_to(key)?;
        let Some((&last, above)) = path.split_last() else {
            // The empty key lives in the root, which is never pruned.
            let was_empty = self.root.payload.is_empty();
            let result = f(&mut self.root.payload);
            self.count_change(was_empty, self.root.payload.is_empty());
            return Some(result);
        };
        let mut parent = &mut self.root;
        for &index in above {
            parent = parent.children.get_mut(index)?;
        }
        let node = parent.children.get_mut(last)?;
        let was_empty = node.payload.is_empty();
        let result = f(&mut node.payload);
        let now_empty = node.payload.is_empty();
        if now_empty {
            match node.children.len() {
                0 => {
                    parent.children.remove(last);
                    // The parent may now be an empty pass-through node: fold it into its
                    // only child (the root stays, whatever it holds).
                    if !above.is_empty() && parent.payload.is_empty() {
                        parent.merge_only_child();
                    }
                }
                1 => node.merge_only_child(),
                _ => {}
            }
        }
        self.count_change(was_empty, now_empty);
        Some(result)
    }

    fn count_change(&mut self, was_empty: bool, now_empty: bool) {
        match (was_empty, now_empty) {
            (true, false) => self.len += 1,
            (false, true) => self.len -= 1,
            _ => {}
        }
    }

    /// The child indices leading from the root to the node of exactly `key`, if there is one.
    fn path_to(&self, key: &[u8]) -> Option<SmallVec<[usize; 8]>> {
        let mut path = SmallVec::new();
        let mut node = &self.root;
        let mut rest = key;
        while let Some(&first) = rest.first() {
            let index = node.child_index(first).ok()?;
            let child = node.children.get(index)?;
            rest = rest.strip_prefix(child.label.as_slice())?;
            path.push(index);
            node = child;
        }
        Some(path)
    }

    /// The payloads of the nodes whose keys are prefixes of `data`, shortest first (empty
    /// payloads included).
    fn prefixes_of<'a>(&'a self, data: &'a [u8]) -> Prefixes<'a, P> {
        Prefixes {
            next: Some(&self.root),
            rest: data,
        }
    }

    /// Calls `f(key, payload)` for every non-empty payload, in byte order of the keys.
    fn for_each(&self, mut f: impl FnMut(&[u8], &P)) {
        let mut key = Vec::new();
        // (node, length of its parent's key)
        let mut stack = vec![(&self.root, 0)];
        while let Some((node, parent_len)) = stack.pop() {
            key.truncate(parent_len);
            key.extend_from_slice(&node.label);
            if !node.payload.is_empty() {
                f(&key, &node.payload);
            }
            stack.extend(node.children.iter().rev().map(|child| (child, key.len())));
        }
    }

    #[cfg(test)]
    fn node_count(&self) -> usize {
        let mut count = 0;
        let mut stack: Vec<&Node<P>> = self.root.children.iter().collect();
        while let Some(node) = stack.pop() {
            count += 1;
            stack.extend(node.children.iter());
        }
        count
    }

    /// Panics if an invariant of the type doc does not hold.
    #[cfg(test)]
    fn check_invariants(&self) {
        let mut non_empty = usize::from(!self.root.payload.is_empty());
        let mut stack = vec![(&self.root, true)];
        while let Some((node, is_root)) = stack.pop() {
            if !is_root {
                assert!(!node.label.is_empty(), "empty label below the root");
                if node.payload.is_empty() {
                    assert!(node.children.len() >= 2, "empty node with < 2 children");
                } else {
                    non_empty += 1;
                }
            }
            let firsts: Vec<u8> = node.children.iter().map(|c| c.label[0]).collect();
            assert!(firsts.windows(2).all(|w| w[0] < w[1]), "children unsorted");
            stack.extend(node.children.iter().map(|c| (c, false)));
        }
        assert_eq!(non_empty, self.len, "len out of step");
    }
}

impl<P> Drop for Trie<P> {
    /// Takes the nodes apart one by one: the default recursive drop could overflow the stack
    /// on a deep trie (a peer subscribing to "a", "aa", "aaa", ...).
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.root.children);
        while let Some(mut node) = stack.pop() {
            stack.append(&mut node.children);
        }
    }
}

impl<P: Payload> Node<P> {
    fn new(label: &[u8]) -> Self {
        Self {
            label: SmallVec::from_slice(label),
            payload: P::default(),
            children: Vec::new(),
        }
    }

    /// The index of the child whose label starts with `first`, or where it would go.
    fn child_index(&self, first: u8) -> Result<usize, usize> {
        self.children
            .binary_search_by_key(&Some(first), |child| child.label.first().copied())
    }

    /// Cuts this node's label after `at` bytes: the node keeps the head with an empty payload
    /// and gets one child holding the tail, its old payload and its old children.
    fn split(&mut self, at: usize) {
        let tail = Node {
            label: self.label.drain(at..).collect(),
            payload: std::mem::take(&mut self.payload),
            children: std::mem::take(&mut self.children),
        };
        self.children.push(tail);
    }

    /// If this node has exactly one child, absorbs it: label joined, payload and children
    /// taken over.
    fn merge_only_child(&mut self) {
        if self.children.len() != 1 {
            return;
        }
        if let Some(child) = self.children.pop() {
            self.label.extend_from_slice(&child.label);
            self.payload = child.payload;
            self.children = child.children;
        }
    }
}

/// Iterator of [`Trie::prefixes_of`].
struct Prefixes<'a, P> {
    next: Option<&'a Node<P>>,
    /// The part of the data below `next`.
    rest: &'a [u8],
}

impl<'a, P: Payload> Iterator for Prefixes<'a, P> {
    type Item = &'a P;

    fn next(&mut self) -> Option<&'a P> {
        let node = self.next.take()?;
        if let Some(&first) = self.rest.first() {
            if let Ok(index) = node.child_index(first) {
                if let Some(child) = node.children.get(index) {
                    if let Some(tail) = self.rest.strip_prefix(child.label.as_slice()) {
                        self.rest = tail;
                        self.next = Some(child);
                    }
                }
            }
        }
        Some(&node.payload)
    }
}

/// The length of the common prefix of `label` and `key`, and the rest of `key` after it.
fn common_prefix<'k>(label: &[u8], key: &'k [u8]) -> (usize, &'k [u8]) {
    let mut rest = key.iter();
    let mut common = 0;
    for &byte in label {
        if rest.as_slice().first() != Some(&byte) {
            break;
        }
        rest.next();
        common += 1;
    }
    (common, rest.as_slice())
}

impl Default for SubscriptionTrie {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SubscriptionTrie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionTrie")
            .field("topics", &self.topic_count())
            .finish_non_exhaustive()
    }
}

impl Default for TopicCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for TopicCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicCounter")
            .field("topics", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    fn peers(trie: &SubscriptionTrie, data: &[u8]) -> Vec<u64> {
        let mut out = PeerSet::default();
        trie.matches(data, &mut out);
        let mut ids: Vec<u64> = out.into_iter().map(|p| p.0).collect();
        ids.sort_unstable();
        ids
    }

    fn topics(counter: &TopicCounter) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        counter.for_each_topic(|t| all.push(t.to_vec()));
        all
    }

    const A: PeerId = PeerId(1);
    const B: PeerId = PeerId(2);
    const C: PeerId = PeerId(3);

    #[test]
    fn prefix_matching() {
        let mut trie = SubscriptionTrie::new();
        trie.add(b"weather.", A);
        trie.add(b"weather.nyc", B);
        trie.add(b"sport", C);
        assert_eq!(peers(&trie, b"weather.nyc 21C"), [1, 2]);
        assert_eq!(peers(&trie, b"weather.ldn 12C"), [1]);
        assert_eq!(
            peers(&trie, b"weather.ny"),
            [1],
            "topic longer than the message"
        );
        assert_eq!(peers(&trie, b"weather"), Vec::<u64>::new());
        assert_eq!(peers(&trie, b"sports"), [3]);
        assert_eq!(peers(&trie, b"sport"), [3], "topic equal to the message");
        assert_eq!(peers(&trie, b""), Vec::<u64>::new());
        assert_eq!(peers(&trie, b"news"), Vec::<u64>::new());
    }

    #[test]
    fn empty_topic_matches_everything() {
        let mut trie = SubscriptionTrie::new();
        assert!(trie.add(b"", A));
        trie.add(b"x", B);
        assert_eq!(peers(&trie, b""), [1]);
        assert_eq!(peers(&trie, b"anything"), [1]);
        assert_eq!(peers(&trie, b"xyz"), [1, 2]);
        assert_eq!(trie.topic_count(), 2);

        let mut counter = TopicCounter::new();
        assert!(!counter.matches(b"anything"));
        counter.add(b"");
        assert!(counter.matches(b""));
        assert!(counter.matches(b"anything"));
    }

    #[test]
    fn peer_on_nested_topics_is_matched_once() {
        let mut trie = SubscriptionTrie::new();
        trie.add(b"a", A);
        trie.add(b"ab", A);
        let mut out = PeerSet::default();
        trie.matches(b"abc", &mut out);
        assert_eq!(out.len(), 1);
        assert!(out.contains(&A));
    }

    #[test]
    fn first_and_last_subscriber_across_two_peers() {
        let mut trie = SubscriptionTrie::new();
        assert!(trie.add(b"t", A), "first subscriber");
        assert!(!trie.add(b"t", B), "second subscriber");
        assert!(!trie.remove(b"t", A), "one left");
        assert!(!trie.remove(b"t", A), "A no longer subscribed");
        assert!(trie.remove(b"t", B), "last one gone");
        assert!(!trie.remove(b"t", B), "nothing left to remove");
        assert!(trie.add(b"t", A), "first again");
        assert!(!trie.remove(b"other", A), "unknown topic");
        assert!(!trie.remove(b"", A), "empty topic not subscribed");
    }

    #[test]
    fn duplicate_add_by_same_peer_is_idempotent() {
        let mut trie = SubscriptionTrie::new();
        assert!(trie.add(b"t", A));
        assert!(!trie.add(b"t", A));
        assert_eq!(trie.topic_count(), 1);
        assert!(trie.remove(b"t", A), "one cancel removes it");
        assert!(trie.is_empty());
        assert_eq!(peers(&trie, b"t"), Vec::<u64>::new());
    }

    #[test]
    fn remove_peer_reports_exactly_the_emptied_topics() {
        let mut trie = SubscriptionTrie::new();
        trie.add(b"", A);
        trie.add(b"shared", A);
        trie.add(b"shared", B);
        trie.add(b"only-a", A);
        trie.add(b"only-a/deeper", A);
        trie.add(b"only-b", B);
        let mut emptied = Vec::new();
        let mut all = Vec::new();
        trie.remove_peer(A, |t, last| {
            all.push(t.to_vec());
            if last {
                emptied.push(t.to_vec());
            }
        });
        emptied.sort();
        assert_eq!(
            emptied,
            [b"".to_vec(), b"only-a".to_vec(), b"only-a/deeper".to_vec()]
        );
        all.sort();
        assert_eq!(
            all,
            [
                b"".to_vec(),
                b"only-a".to_vec(),
                b"only-a/deeper".to_vec(),
                b"shared".to_vec()
            ]
        );
        assert_eq!(trie.topic_count(), 2);
        assert_eq!(peers(&trie, b"shared"), [2]);
        assert_eq!(peers(&trie, b"only-a/deeper"), Vec::<u64>::new());
        trie.trie.check_invariants();

        let mut emptied = Vec::new();
        trie.remove_peer(C, |t, _| emptied.push(t.to_vec()));
        assert!(emptied.is_empty(), "unknown peer empties nothing");
    }

    #[test]
    fn removing_everything_prunes_every_node() {
        let mut trie = SubscriptionTrie::new();
        let topics: [&[u8]; 6] = [
            b"",
            b"abc",
            b"abd",
            b"ab",
            b"abcdefghijklmnopqrstuvwxyz",
            b"b",
        ];
        for t in topics {
            trie.add(t, A);
            trie.add(t, B);
        }
        trie.trie.check_invariants();
        assert!(trie.node_count() > 0);
        for t in topics {
            trie.remove(t, A);
        }
        trie.remove_peer(B, |_, _| {});
        assert!(trie.is_empty());
        assert_eq!(trie.node_count(), 0);

        let mut counter = TopicCounter::new();
        for t in topics {
            counter.add(t);
        }
        for t in topics.iter().rev() {
            counter.remove(t);
            counter.trie.check_invariants();
        }
        assert!(counter.is_empty());
        assert_eq!(counter.node_count(), 0);
    }

    #[test]
    fn path_compression_keeps_one_node_per_topic() {
        let mut counter = TopicCounter::new();
        counter.add(b"market.eu.ticker.AAPL");
        assert_eq!(counter.node_count(), 1);
        counter.add(b"market.eu.ticker.MSFT");
        // "market.eu.ticker." plus the two tails.
        assert_eq!(counter.node_count(), 3);
        counter.remove(b"market.eu.ticker.AAPL");
        assert_eq!(counter.node_count(), 1, "merged back into one edge");
        assert!(counter.matches(b"market.eu.ticker.MSFT 412.5"));
        assert!(!counter.matches(b"market.eu.ticker.AAPL 230.1"));
    }

    #[test]
    fn topic_counter_counts() {
        let mut counter = TopicCounter::new();
        assert!(counter.add(b"t"));
        assert!(!counter.add(b"t"));
        assert!(counter.add(b"u"));
        assert_eq!(counter.len(), 2);
        assert!(!counter.remove(b"t"), "one subscription left");
        assert!(counter.matches(b"topic"));
        assert!(counter.remove(b"t"), "1 -> 0");
        assert!(!counter.matches(b"topic"));
        assert!(!counter.remove(b"t"), "already at 0");
        assert!(!counter.remove(b"unknown"));
        assert!(!counter.remove(b""), "root, never subscribed");
        assert_eq!(topics(&counter), [b"u".to_vec()]);
        assert!(counter.remove(b"u"));
        assert!(counter.is_empty());
    }

    #[test]
    fn for_each_topic_lists_each_topic_once_in_order() {
        let mut counter = TopicCounter::new();
        for t in [&b"b"[..], b"a", b"ab", b"", b"ab", b"abc"] {
            counter.add(t);
        }
        assert_eq!(
            topics(&counter),
            [
                b"".to_vec(),
                b"a".to_vec(),
                b"ab".to_vec(),
                b"abc".to_vec(),
                b"b".to_vec()
            ]
        );
    }

    #[test]
    fn binary_topics() {
        let mut trie = SubscriptionTrie::new();
        trie.add(&[0x00], A);
        trie.add(&[0xFF, 0x00], B);
        trie.add(&[0xFF, 0xFF], C);
        assert_eq!(peers(&trie, &[0x00, 0xFF]), [1]);
        assert_eq!(peers(&trie, &[0xFF, 0x00, 0x00]), [2]);
        assert_eq!(peers(&trie, &[0xFF, 0xFF]), [3]);
        assert_eq!(peers(&trie, &[0xFF]), Vec::<u64>::new());
        assert_eq!(peers(&trie, &[0x01]), Vec::<u64>::new());
        assert!(trie.remove(&[0xFF, 0x00], B));
        assert_eq!(peers(&trie, &[0xFF, 0xFF, 0x00]), [3]);
        trie.trie.check_invariants();

        let mut counter = TopicCounter::new();
        counter.add(&[0x00, 0x00]);
        counter.add(&[0xFF]);
        assert!(counter.matches(&[0x00, 0x00, 0x01]));
        assert!(!counter.matches(&[0x00]));
        assert!(counter.matches(&[0xFF, 0xFF]));
        assert_eq!(topics(&counter), [vec![0x00, 0x00], vec![0xFF]]);
    }

    #[test]
    fn deep_trie_is_walked_and_dropped_without_recursion() {
        // Topics "a", "aa", "aaa", ...: one node per topic, each the only child of the last.
        // Built directly, as adding them one by one costs O(depth) each.
        const DEPTH: usize = 200_000;
        let mut chain = Node::new(b"a");
        chain.payload = 1;
        for _ in 1..DEPTH {
            let mut parent = Node::new(b"a");
            parent.payload = 1;
            parent.children.push(chain);
            chain = parent;
        }
        let mut counter = TopicCounter::new();
        counter.trie.root.children.push(chain);
        counter.trie.len = DEPTH;
        assert!(counter.matches(&[b'a'; DEPTH + 1]));
        assert!(!counter.matches(b"b"));
        let mut topics = 0;
        counter.for_each_topic(|_| topics += 1);
        assert_eq!(topics, DEPTH);
        assert!(counter.remove(&[b'a'; DEPTH]), "the deepest leaf");
        assert_eq!(counter.len(), DEPTH - 1);
        drop(counter);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(Vec<u8>, u64),
        Remove(Vec<u8>, u64),
        RemovePeer(u64),
        Match(Vec<u8>),
    }

    /// Short topics over a three-letter alphabet (plus 0x00 and 0xFF) so they often share
    /// prefixes, split edges and merge back.
    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b'b'), Just(0), Just(0xFF)],
            0..6,
        )
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (bytes(), 0u64..4).prop_map(|(t, p)| Op::Add(t, p)),
            3 => (bytes(), 0u64..4).prop_map(|(t, p)| Op::Remove(t, p)),
            1 => (0u64..4).prop_map(Op::RemovePeer),
            3 => bytes().prop_map(Op::Match),
        ]
    }

    proptest! {
        #[test]
        fn subscription_trie_matches_naive_model(ops in proptest::collection::vec(op(), 0..80)) {
            let mut trie = SubscriptionTrie::new();
            let mut model: HashMap<Vec<u8>, Vec<u64>> = HashMap::new();
            for op in ops {
                match op {
                    Op::Add(topic, p) => {
                        let subscribers = model.entry(topic.clone()).or_default();
                        let first = subscribers.is_empty();
                        if !subscribers.contains(&p) {
                            subscribers.push(p);
                        }
                        prop_assert_eq!(trie.add(&topic, PeerId(p)), first);
                    }
                    Op::Remove(topic, p) => {
                        let subscribers = model.entry(topic.clone()).or_default();
                        let was = subscribers.contains(&p);
                        subscribers.retain(|&q| q != p);
                        let last = was && subscribers.is_empty();
                        prop_assert_eq!(trie.remove(&topic, PeerId(p)), last);
                    }
                    Op::RemovePeer(p) => {
                        let mut expected: Vec<Vec<u8>> = Vec::new();
                        for (topic, subscribers) in &mut model {
                            let was = subscribers.contains(&p);
                            subscribers.retain(|&q| q != p);
                            if was && subscribers.is_empty() {
                                expected.push(topic.clone());
                            }
                        }
                        let mut emptied = Vec::new();
                        trie.remove_peer(PeerId(p), |t, last| {
                            if last {
                                emptied.push(t.to_vec());
                            }
                        });
                        expected.sort();
                        emptied.sort();
                        prop_assert_eq!(emptied, expected);
                    }
                    Op::Match(data) => {
                        let mut expected: Vec<u64> = model
                            .iter()
                            .filter(|(topic, _)| data.starts_with(topic))
                            .flat_map(|(_, subscribers)| subscribers.iter().copied())
                            .collect();
                        expected.sort_unstable();
                        expected.dedup();
                        prop_assert_eq!(peers(&trie, &data), expected);
                    }
                }
                trie.trie.check_invariants();
                let live = model.values().filter(|s| !s.is_empty()).count();
                prop_assert_eq!(trie.topic_count(), live);
                prop_assert_eq!(trie.is_empty(), live == 0);
            }
        }

        #[test]
        fn topic_counter_matches_naive_model(ops in proptest::collection::vec(op(), 0..80)) {
            let mut counter = TopicCounter::new();
            let mut model: HashMap<Vec<u8>, u64> = HashMap::new();
            for op in ops {
                match op {
                    Op::Add(topic, _) => {
                        let count = model.entry(topic.clone()).or_default();
                        *count += 1;
                        prop_assert_eq!(counter.add(&topic), *count == 1);
                    }
                    Op::Remove(topic, _) => {
                        let count = model.entry(topic.clone()).or_default();
                        let last = *count == 1;
                        *count = count.saturating_sub(1);
                        prop_assert_eq!(counter.remove(&topic), last);
                    }
                    Op::RemovePeer(_) => {}
                    Op::Match(data) => {
                        let expected = model
                            .iter()
                            .any(|(topic, &count)| count > 0 && data.starts_with(topic));
                        prop_assert_eq!(counter.matches(&data), expected);
                    }
                }
                counter.trie.check_invariants();
                let mut expected: Vec<Vec<u8>> = model
                    .iter()
                    .filter(|(_, &count)| count > 0)
                    .map(|(topic, _)| topic.clone())
                    .collect();
                expected.sort();
                prop_assert_eq!(counter.len(), expected.len());
                prop_assert_eq!(topics(&counter), expected);
            }
        }
    }
}
