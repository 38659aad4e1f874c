//! Publish-subscribe: a publisher sends weather and sports updates, a subscriber takes only
//! the weather. Run with `cargo run --example pub_sub`.
//!
//! A subscription travels to the publisher over the connection, so messages published before
//! it arrives are not sent to that subscriber (the "slow joiner"). The publisher here is an
//! XPUB (a PUB that also receives its subscribers' subscriptions): it waits for the
//! subscription before it publishes, instead of sleeping and hoping.

use ferrozmq::{Context, SocketType};

/// Publishes `count` updates of each topic; returns what the subscriber received.
pub fn run(count: usize) -> Result<Vec<String>, ferrozmq::Error> {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::XPub);
    let endpoint = publisher.bind("tcp://127.0.0.1:*")?;

    let subscriber = ctx.socket(SocketType::Sub);
    subscriber.subscribe("weather")?;
    subscriber.connect(&endpoint)?;

    // The subscription arrives as a message: 0x01 then the topic.
    let subscription = publisher.recv()?;
    assert_eq!(&subscription.frames()[0][..], b"\x01weather");

    for i in 0..count {
        publisher.send(format!("sports {i}").as_str())?;
        publisher.send(format!("weather {i}").as_str())?;
    }
    let mut received = Vec::with_capacity(count);
    for _ in 0..count {
        match subscriber.recv_string()? {
            Ok(text) => received.push(text),
            Err(bytes) => received.push(format!("{bytes:?}")),
        }
    }
    Ok(received)
}

fn main() -> Result<(), ferrozmq::Error> {
    for update in run(5)? {
        println!("{update}");
    }
    Ok(())
}
