//! One socket shared by many threads: the property libzmq lacks. Every message is checked:
//! nothing lost, nothing duplicated, per-sender order kept, replies reach the right client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use ferrozmq::{Bytes, Context, Message, RecvError, Socket, SocketOption, SocketType};

const T: Option<Duration> = Some(Duration::from_secs(20));

fn assert_send_sync<T: Send + Sync + Clone>() {}

#[test]
fn socket_is_send_sync_clone() {
    assert_send_sync::<Socket>();
    assert_send_sync::<Context>();
}

/// 8 threads send on one PUSH while 2 threads receive on one PULL.
#[test]
fn eight_senders_two_receivers_nothing_lost_or_duplicated() {
    const SENDERS: u32 = 8;
    const PER_SENDER: u32 = 20_000;
    let ctx = Context::new();
    for ep in ["tcp://127.0.0.1:*", "inproc://shared-push"] {
        let pull = ctx.socket(SocketType::Pull);
        let ep = pull.bind(ep).unwrap();
        let push = ctx.socket(SocketType::Push);
        push.connect(&ep).unwrap();

        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let pull = pull.clone();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match pull.recv_timeout(T) {
                            Ok(m) if m.frames()[0].is_empty() => break,
                            Ok(m) => {
                                let f = &m.frames()[0];
                                let sender = u32::from_be_bytes(f[0..4].try_into().unwrap());
                                let seq = u32::from_be_bytes(f[4..8].try_into().unwrap());
                                got.push((sender, seq));
                            }
                            Err(e) => panic!("receiver: {e}"),
                        }
                    }
                    got
                })
            })
            .collect();

        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let push = push.clone();
                thread::spawn(move || {
                    for seq in 0..PER_SENDER {
                        let mut b = Vec::with_capacity(8);
                        b.extend_from_slice(&s.to_be_bytes());
                        b.extend_from_slice(&seq.to_be_bytes());
                        push.send(b).unwrap();
                    }
                })
            })
            .collect();
        for s in senders {
            s.join().unwrap();
        }
        // One empty message per receiver ends it (sent after all data: FIFO on one pipe).
        push.send(Message::from_iter([Bytes::new()])).unwrap();
        push.send(Message::from_iter([Bytes::new()])).unwrap();

        let mut per_sender: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut total = 0;
        for r in receivers {
            let got = r.join().unwrap();
            total += got.len();
            // Within one receiver, each sender's messages arrive in the order sent.
            let mut last: HashMap<u32, u32> = HashMap::new();
            for (s, seq) in got {
                if let Some(prev) = last.insert(s, seq) {
                    assert!(seq > prev, "{ep}: sender {s} reordered: {prev} then {seq}");
                }
                per_sender.entry(s).or_default().push(seq);
            }
        }
        assert_eq!(total, (SENDERS * PER_SENDER) as usize, "{ep}");
        for s in 0..SENDERS {
            let mut v = per_sender.remove(&s).unwrap();
            v.sort_unstable();
            assert_eq!(v, (0..PER_SENDER).collect::<Vec<_>>(), "{ep}: sender {s}");
        }
    }
}

/// A ROUTER whose requests are handled by 8 worker threads, each replying on the same socket,
/// while another thread sits blocked in `recv` on it too; 100,000 requests from 4 clients.
#[test]
fn router_with_eight_workers_replies_reach_the_right_client() {
    const CLIENTS: usize = 4;
    const PER_CLIENT: u32 = 25_000;
    const WINDOW: u32 = 200;
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    router
        .set_option(SocketOption::RcvTimeo(Some(Duration::from_millis(200))))
        .unwrap();
    let ep = router.bind("tcp://127.0.0.1:*").unwrap();
    let stop = Arc::new(AtomicBool::new(false));

    let workers: Vec<_> = (0..9)
        .map(|w| {
            let router = router.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                let mut handled = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    match router.recv() {
                        Ok(mut m) => {
                            // [client id, request] -> [client id, "re:" + request]
                            let req = m.pop_back().unwrap();
                            let mut body = b"re:".to_vec();
                            body.extend_from_slice(&req);
                            m.push_back(body);
                            router.send(m).unwrap();
                            handled += 1;
                        }
                        Err(RecvError::Timeout) => {}
                        Err(e) => panic!("worker {w}: {e}"),
                    }
                }
                handled
            })
        })
        .collect();

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let dealer = ctx.socket(SocketType::Dealer);
            dealer
                .set_option(SocketOption::RoutingId(Bytes::from(format!("client-{c}"))))
                .unwrap();
            dealer.connect(&ep).unwrap();
            thread::spawn(move || {
                let mut next = 0u32;
                let mut received = vec![false; PER_CLIENT as usize];
                let mut done = 0u32;
                while done < PER_CLIENT {
                    while next < PER_CLIENT && next - done < WINDOW {
                        dealer.send(format!("{c}:{next}")).unwrap();
                        next += 1;
                    }
                    let m = dealer.recv_timeout(T).expect("reply");
                    let s = String::from_utf8(m.frames()[0].to_vec()).unwrap();
                    let rest = s.strip_prefix("re:").expect("reply prefix");
                    let (client, seq) = rest.split_once(':').unwrap();
                    assert_eq!(client, c.to_string(), "reply delivered to the wrong client");
                    let seq: usize = seq.parse().unwrap();
                    assert!(!received[seq], "duplicate reply {seq}");
                    received[seq] = true;
                    done += 1;
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let handled: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(handled, CLIENTS as u64 * u64::from(PER_CLIENT));
}

/// A thread blocked in `recv` with no time-out is released by `close` from another thread.
#[test]
fn close_releases_a_blocked_recv_and_send() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.bind("inproc://blocked").unwrap();
    let push = ctx.socket(SocketType::Push); // no peer: send blocks
    let barrier = Arc::new(Barrier::new(3));
    let r = {
        let pull = pull.clone();
        let b = barrier.clone();
        thread::spawn(move || {
            b.wait();
            pull.recv()
        })
    };
    let s = {
        let push = push.clone();
        let b = barrier.clone();
        thread::spawn(move || {
            b.wait();
            push.send("nobody")
        })
    };
    barrier.wait();
    pull.close();
    push.close();
    assert_eq!(r.join().unwrap().unwrap_err(), RecvError::Closed);
    assert_eq!(
        s.join().unwrap().unwrap_err().kind(),
        ferrozmq::SendErrorKind::Closed
    );
}

/// A blocked `recv` never stops another thread's `send` on the same socket.
#[test]
fn blocked_recv_does_not_block_send_on_same_socket() {
    let ctx = Context::new();
    let a = ctx.socket(SocketType::Pair);
    let ep = a.bind("tcp://127.0.0.1:*").unwrap();
    let b = ctx.socket(SocketType::Pair);
    b.connect(&ep).unwrap();
    let a2 = a.clone();
    let waiter = thread::spawn(move || a2.recv_timeout(T));
    // While `waiter` is blocked in recv on `a`, send on `a` from this thread.
    for i in 0..100 {
        a.send(format!("{i}")).unwrap();
    }
    for i in 0..100 {
        assert_eq!(
            b.recv_timeout(T).unwrap().frames()[0],
            format!("{i}").as_bytes()
        );
    }
    b.send("wake").unwrap();
    assert_eq!(&waiter.join().unwrap().unwrap().frames()[0][..], b"wake");
}
