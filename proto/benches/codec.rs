//! The codec on the hot path, through two `Session`s after their handshake: encoding 1,000
//! messages of 16 B and of 4 KiB into a session's output, and decoding the same bytes back
//! into messages (decode times include copying the input buffer for each iteration). Guards
//! the per-message cost of framing against regressions.
use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrozmq_proto::{Message, Session, SessionConfig, SessionEvent, SocketType};

const BATCH: usize = 1_000;

/// Two sessions (PUSH -> PULL) that have completed their greeting and NULL handshake.
fn ready_pair() -> (Session, Session) {
    let now = Instant::now();
    let mut a = Session::new(SessionConfig::new(SocketType::Push), now);
    let mut b = Session::new(SessionConfig::new(SocketType::Pull), now);
    for _ in 0..10 {
        deliver(&mut a, &mut b, now);
        deliver(&mut b, &mut a, now);
    }
    assert!(a.is_ready() && b.is_ready(), "handshake did not complete");
    while b.poll_event().is_some() {}
    (a, b)
}

/// Moves everything `from` has to send into `to`.
fn deliver(from: &mut Session, to: &mut Session, now: Instant) {
    while from.pending_output_len() > 0 {
        let mut bytes = BytesMut::from(from.pending_output());
        from.consume_output(bytes.len());
        to.handle_input(&mut bytes, now).expect("handshake");
    }
}

/// The wire bytes of `BATCH` messages of `size` bytes.
fn encoded(a: &mut Session, size: usize) -> BytesMut {
    let msg = Message::from(vec![7u8; size]);
    for _ in 0..BATCH {
        a.send_message(&msg);
    }
    let mut out = BytesMut::new();
    while a.pending_output_len() > 0 {
        let chunk = a.pending_output().to_vec();
        a.consume_output(chunk.len());
        out.extend_from_slice(&chunk);
    }
    out
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec, 1,000 messages");
    group.throughput(Throughput::Elements(BATCH as u64));
    for size in [16usize, 4096] {
        let (mut a, mut b) = ready_pair();
        let msg = Message::from(vec![7u8; size]);
        group.bench_with_input(BenchmarkId::new("encode", size), &size, |bench, _| {
            bench.iter(|| {
                for _ in 0..BATCH {
                    a.send_message(black_box(&msg));
                }
                let n = a.pending_output_len();
                a.consume_output(n);
            })
        });
        let wire = encoded(&mut a, size);
        let now = Instant::now();
        group.bench_with_input(BenchmarkId::new("decode", size), &size, |bench, _| {
            bench.iter(|| {
                let mut input = wire.clone();
                b.handle_input(&mut input, now).expect("decode");
                let mut n = 0;
                while let Some(SessionEvent::Message(m)) = b.poll_event() {
                    black_box(m);
                    n += 1;
                }
                assert_eq!(n, BATCH);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
