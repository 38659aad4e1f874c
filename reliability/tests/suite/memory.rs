//! Memory under a slow consumer: a subscriber that stops reading must cost the publisher no
//! more than its high-water marks allow, and the publisher must never block. Measured as the
//! growth of this process's RSS, with every other test of the binary held off
//! ([`crate::measure_memory`]).

use std::time::Duration;

use ferrozmq::{Bytes, Context, SendErrorKind, SocketOption, SocketType};

use crate::support::{text, HANG};
use crate::{measure_memory, rss_bytes};

const MIB: usize = 1 << 20;

/// PUB (SNDHWM 100) -> SUB (RCVHWM 100) over tcp; the SUB takes one message, then reads
/// nothing while 200,000 messages of 1 KiB are published.
///
/// Unbounded queuing would hold all of them: 200,000 x 1 KiB = 195 MiB. Within the marks the
/// process holds at most SNDHWM + RCVHWM x 1.25 (a receiver batches up to a quarter of RCVHWM
/// beyond it) = 225 messages in queues, plus what the two connections buffer: the publisher's
/// encoded output (256 KiB), the subscriber's read buffer (512 KiB chunks) and what they
/// decoded from it. The socket buffers are kernel memory, outside RSS. The bound: 225 x 1 KiB
/// x 8 (allocator and message overhead, generously) + 32 MiB for the buffers, allocator arenas
/// and thread stacks = about 34 MiB, a sixth of the unbounded case.
///
/// Every `try_send` must succeed: PUB drops for a full subscriber instead of refusing.
#[test]
fn slow_subscriber_keeps_publisher_within_hwm() {
    const SNDHWM: usize = 100;
    const RCVHWM: usize = 100;
    const MESSAGES: usize = 200_000;
    const SIZE: usize = 1024;
    let _alone = measure_memory();
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub);
    publisher.set_option(SocketOption::SndHwm(SNDHWM)).unwrap();
    let ep = publisher.bind("tcp://127.0.0.1:*").unwrap();
    let subscriber = ctx.socket(SocketType::Sub);
    subscriber.set_option(SocketOption::RcvHwm(RCVHWM)).unwrap();
    subscriber
        .set_option(SocketOption::Subscribe(Bytes::new()))
        .unwrap();
    subscriber.connect(&ep).unwrap();

    // Publish probes until one arrives: the subscription has reached the publisher.
    let deadline = std::time::Instant::now() + HANG;
    loop {
        assert!(std::time::Instant::now() < deadline, "no probe arrived");
        publisher.try_send("probe").unwrap();
        if subscriber
            .recv_timeout(Some(Duration::from_millis(10)))
            .is_ok()
        {
            break;
        }
    }

    let before = rss_bytes();
    let mut peak = before;
    for n in 0..MESSAGES {
        // A buffer of its own per message, as an application would send.
        let mut body = vec![b'.'; SIZE];
        body[..8].copy_from_slice(&(n as u64).to_be_bytes());
        if let Err(e) = publisher.try_send(body) {
            assert_ne!(
                e.kind(),
                SendErrorKind::WouldBlock,
                "PUB refused message {n}"
            );
            panic!("message {n}: {e}");
        }
        if n % 1000 == 0 {
            peak = peak.max(rss_bytes());
        }
    }
    peak = peak.max(rss_bytes());
    let growth = peak.saturating_sub(before);
    let bound = (SNDHWM + RCVHWM * 5 / 4) * SIZE * 8 + 32 * MIB;
    eprintln!(
        "slow subscriber: RSS grew {:.1} MiB (bound {:.1} MiB, unbounded queuing {:.0} MiB)",
        growth as f64 / MIB as f64,
        bound as f64 / MIB as f64,
        (MESSAGES * SIZE) as f64 / MIB as f64
    );
    assert!(
        growth < bound,
        "RSS grew {growth} bytes publishing to a stalled subscriber; bound {bound}"
    );

    // The subscriber was stalled, not broken: what was kept arrives, in order, the rest was
    // dropped. Once it has room again, an `end` published (until one arrives) closes the run.
    let mut received = 0;
    let mut last = None;
    let deadline = std::time::Instant::now() + HANG;
    loop {
        assert!(std::time::Instant::now() < deadline, "no end arrived");
        let Ok(m) = subscriber.recv_timeout(Some(Duration::from_millis(10))) else {
            publisher.try_send("end").unwrap();
            continue;
        };
        match &text(&m)[..] {
            "end" => break,
            "probe" => continue,
            _ => {}
        }
        assert_eq!(m.frames()[0].len(), SIZE);
        let n = u64::from_be_bytes(m.frames()[0][..8].try_into().unwrap());
        assert!(last < Some(n), "{n} after {last:?}");
        last = Some(n);
        received += 1;
    }
    assert!(received > 0 && received < MESSAGES, "received {received}");
}
