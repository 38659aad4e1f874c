//! A proxy between publishers and subscribers: an XSUB frontend (publishers connect to it)
//! and an XPUB backend (subscribers connect to it), joined by [`ferrozmq::Proxy`], which
//! forwards messages one way and subscriptions the other. Stopped from another thread with
//! its [`ferrozmq::ProxyControl`]. Run with `cargo run --example forwarder`.

use ferrozmq::{Context, Proxy, SocketType};

/// Forwards `count` messages from a publisher to a subscriber through the proxy; returns
/// what the subscriber received and how many messages the proxy passed.
pub fn run(count: usize) -> Result<(Vec<String>, u64), ferrozmq::Error> {
    let ctx = Context::new();
    let frontend = ctx.socket(SocketType::XSub);
    let publishers = frontend.bind("tcp://127.0.0.1:*")?;
    let backend = ctx.socket(SocketType::XPub);
    let subscribers = backend.bind("tcp://127.0.0.1:*")?;

    let proxy = Proxy::new(&frontend, &backend)?;
    let control = proxy.control();
    let running = std::thread::spawn(move || proxy.run());

    // The publisher is an XPUB too, so it can see the subscription reach it through the
    // proxy before publishing (no sleep-and-hope).
    let publisher = ctx.socket(SocketType::XPub);
    publisher.connect(&publishers)?;
    let subscriber = ctx.socket(SocketType::Sub);
    subscriber.subscribe("news")?;
    subscriber.connect(&subscribers)?;
    let subscription = publisher.recv()?;
    assert_eq!(&subscription.frames()[0][..], b"\x01news");

    for i in 0..count {
        publisher.send(format!("news {i}").as_str())?;
    }
    let mut received = Vec::with_capacity(count);
    for _ in 0..count {
        received.push(String::from_utf8_lossy(&subscriber.recv_bytes()?).into_owned());
    }
    let passed = control.statistics().frontend.messages_received;
    control.terminate();
    running.join().expect("the proxy thread does not panic")?;
    Ok((received, passed))
}

fn main() -> Result<(), ferrozmq::Error> {
    let (received, passed) = run(3)?;
    println!("received {received:?}; the proxy passed {passed} messages from the frontend");
    Ok(())
}
