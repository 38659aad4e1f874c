//! One socket, many threads: four threads send on the same PUSH socket at once (no mutex,
//! no proxy: ferrozmq sockets are `Send + Sync` and clones are handles to the same socket),
//! and a PULL receives every message whole.

use std::thread;

use ferrozmq::{Message, Socket, SocketType};

const THREADS: usize = 4;
const PER_THREAD: usize = 10_000;

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pull = Socket::new(SocketType::Pull);
    let endpoint = pull.bind("tcp://127.0.0.1:*")?;
    let push = Socket::new(SocketType::Push);
    push.connect(&endpoint)?;

    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let push = push.clone(); // the same socket
            thread::spawn(move || {
                for i in 0..PER_THREAD {
                    // Two frames: they always arrive together, never interleaved with
                    // another thread's frames.
                    let msg: Message = [t.to_string(), i.to_string()].into_iter().collect();
                    push.send(msg).expect("send");
                }
            })
        })
        .collect();

    let mut next = [0usize; THREADS];
    for _ in 0..THREADS * PER_THREAD {
        let msg = pull.recv()?;
        let [t, i] = msg.frames() else {
            panic!("a message lost its frames: {msg:?}");
        };
        let (t, i): (usize, usize) = (
            std::str::from_utf8(t)?.parse()?,
            std::str::from_utf8(i)?.parse()?,
        );
        // Messages from one thread keep their order.
        assert_eq!(i, next[t], "thread {t} out of order");
        next[t] += 1;
    }
    for s in senders {
        s.join().expect("sender thread");
    }
    println!(
        "{} messages from {THREADS} threads on one socket",
        THREADS * PER_THREAD
    );
    Ok(())
}
