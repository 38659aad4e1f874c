//! The poller: one thread serves two PULL sockets, an urgent and a normal queue, reading
//! whichever is ready, urgent first. Run with `cargo run --example poller`.
//!
//! (ferrozmq sockets are thread-safe, so a thread per socket works too; a poller is for one
//! thread that waits on many sockets, and on plain file descriptors, as `zmq_poll`.)

use ferrozmq::{Context, Interest, Poller, SocketType};

/// Sends `count` messages to each queue, then serves both with one poller; returns the
/// messages in the order they were handled.
pub fn run(count: usize) -> Result<Vec<String>, ferrozmq::Error> {
    let ctx = Context::new();
    let urgent = ctx.socket(SocketType::Pull);
    let urgent_ep = urgent.bind("inproc://urgent")?;
    let normal = ctx.socket(SocketType::Pull);
    let normal_ep = normal.bind("inproc://normal")?;

    let producer = ctx.socket(SocketType::Push);
    producer.connect(&normal_ep)?;
    let alarm = ctx.socket(SocketType::Push);
    alarm.connect(&urgent_ep)?;
    for i in 0..count {
        producer.send(format!("normal {i}").as_str())?;
        alarm.send(format!("urgent {i}").as_str())?;
    }

    let mut poller = Poller::new()?;
    let urgent_key = poller.add(&urgent, Interest::READABLE);
    let normal_key = poller.add(&normal, Interest::READABLE);
    let mut events = Vec::new();
    let mut handled = Vec::with_capacity(2 * count);
    while handled.len() < 2 * count {
        poller.wait(&mut events, None)?;
        // Events come in the order the sockets were added: urgent first.
        let ready_urgent = events.iter().any(|e| e.key() == urgent_key);
        let socket = if ready_urgent { &urgent } else { &normal };
        debug_assert!(ready_urgent || events.iter().any(|e| e.key() == normal_key));
        let msg = socket.try_recv()?;
        handled.push(String::from_utf8_lossy(&msg.frames()[0]).into_owned());
    }
    Ok(handled)
}

fn main() -> Result<(), ferrozmq::Error> {
    for line in run(3)? {
        println!("{line}");
    }
    Ok(())
}
