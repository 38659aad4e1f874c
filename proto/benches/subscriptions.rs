//! `SubscriptionTrie::matches` on a 64-byte message against 10, 1,000 and 100,000 topics that
//! do not match plus one that does: the time should stay flat as the subscription count grows,
//! since matching walks the trie along the message only.
//!
//! The non-matching topics share the message's first ten bytes ("market.eu.") and then
//! diverge, so the walk does pass through the crowded part of the trie.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ferrozmq_proto::pattern::{PeerId, PeerSet, SubscriptionTrie};

const MESSAGE: &[u8; 64] = b"market.eu.ticker.AAPL 230.10 230.12 1200 2024-06-01T12:00:00.000";

fn trie_with(non_matching: u64) -> SubscriptionTrie {
    let mut trie = SubscriptionTrie::new();
    for i in 0..non_matching {
        // Hex digits after "market.eu.": never 't', so never a prefix of MESSAGE.
        let scrambled = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
        let topic = format!("market.eu.{scrambled:012x}");
        trie.add(topic.as_bytes(), PeerId(i % 64));
    }
    trie.add(b"market.eu.ticker.AAPL", PeerId(1_000));
    trie
}

fn matches(c: &mut Criterion) {
    let mut group = c.benchmark_group("SubscriptionTrie::matches, 64-byte message");
    for non_matching in [10, 1_000, 100_000] {
        let trie = trie_with(non_matching);
        assert_eq!(
            trie.topic_count(),
            usize::try_from(non_matching + 1).unwrap_or(0)
        );
        let mut out = PeerSet::default();
        group.bench_with_input(
            BenchmarkId::new("non-matching topics", non_matching),
            &trie,
            |b, trie| {
                b.iter(|| {
                    out.clear();
                    trie.matches(black_box(MESSAGE), &mut out);
                    out.len()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, matches);
criterion_main!(benches);
