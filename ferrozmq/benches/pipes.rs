//! The socket core and its pipes without any I/O: an inproc PUSH/PULL pair in one thread,
//! 1,000 messages of 16 B sent, then received. Each send takes the socket lock and pushes into
//! the peer's pipe; each receive takes the socket lock and pops from its batch. Guards the
//! per-message cost of the thread-safe path against regressions, one call per message and in
//! batches (`send_many` / `recv_many`, one socket lock per batch).
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrozmq::{Bytes, Context, SocketOption, SocketType};

const BATCH: u64 = 1_000;

fn pipes(c: &mut Criterion) {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.set_option(SocketOption::RcvHwm(0)).unwrap();
    pull.bind("inproc://bench-pipes").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::SndHwm(0)).unwrap();
    push.connect("inproc://bench-pipes").unwrap();
    let payload = Bytes::from_static(&[7u8; 16]);
    let mut group = c.benchmark_group("inproc PUSH/PULL, one thread");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("send then receive 1,000 x 16 B", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                push.try_send(payload.clone()).unwrap();
            }
            for _ in 0..BATCH {
                black_box(pull.try_recv().unwrap());
            }
        })
    });
    group.bench_function("send_many then recv_many 1,000 x 16 B", |b| {
        let mut batch = std::collections::VecDeque::with_capacity(BATCH as usize);
        let mut got = Vec::with_capacity(BATCH as usize);
        b.iter(|| {
            batch.extend((0..BATCH).map(|_| ferrozmq::Message::from(payload.clone())));
            push.send_many(&mut batch).unwrap();
            got.clear();
            while got.len() < BATCH as usize {
                pull.recv_many(&mut got, BATCH as usize).unwrap();
            }
            black_box(&got);
        })
    });
    group.finish();
}

criterion_group!(benches, pipes);
criterion_main!(benches);
