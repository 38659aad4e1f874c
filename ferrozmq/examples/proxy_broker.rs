//! Two proxies (`ferrozmq::Proxy`): publish-subscribe through an XSUB/XPUB forwarder
//! (publishers connect to its XSUB, subscribers to its XPUB; subscriptions flow upstream
//! through it, messages downstream), and a request broker, ROUTER in front of clients and
//! DEALER in front of REP workers, which spreads requests over the workers and routes every
//! reply back to its client.
//!
//! `cargo run --example proxy_broker`

use std::thread;

use ferrozmq::{Context, Message, Proxy, SocketType};

/// What the subscriber got and what the broker's clients got.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) received: Vec<String>,
    pub(crate) replies: Vec<String>,
}

pub(crate) fn run() -> Result<Outcome, Box<dyn std::error::Error>> {
    let ctx = Context::new();

    // --- The forwarder: XSUB for publishers, XPUB for subscribers.
    let xsub = ctx.socket(SocketType::XSub);
    let for_publishers = xsub.bind("tcp://127.0.0.1:*")?;
    let xpub = ctx.socket(SocketType::XPub);
    let for_subscribers = xpub.bind("tcp://127.0.0.1:*")?;
    let forwarder = Proxy::new(&xsub, &xpub)?;
    let forwarder_control = forwarder.control();
    let forwarder = thread::spawn(move || forwarder.run());

    let subscriber = ctx.socket(SocketType::Sub);
    subscriber.connect(&for_subscribers)?;
    subscriber.set_option(ferrozmq::SocketOption::Subscribe("weather".into()))?;
    // The publisher is an XPUB so it sees the subscription arrive through the forwarder,
    // and publishes only then (a PUB would drop messages sent before it: "slow joiner").
    let publisher = ctx.socket(SocketType::XPub);
    publisher.connect(&for_publishers)?;
    let subscription = publisher.recv()?;
    assert_eq!(&subscription.frames()[0][..], b"\x01weather");
    for m in ["weather: sunny", "sports: 2-1", "weather: rain"] {
        publisher.send(m)?;
    }
    let mut received = Vec::new();
    for _ in 0..2 {
        received.push(String::from_utf8(subscriber.recv()?.frames()[0].to_vec())?);
    }

    // --- The broker: ROUTER for clients, DEALER for workers.
    let frontend = ctx.socket(SocketType::Router);
    let for_clients = frontend.bind("tcp://127.0.0.1:*")?;
    let backend = ctx.socket(SocketType::Dealer);
    let for_workers = backend.bind("tcp://127.0.0.1:*")?;
    let broker = Proxy::new(&frontend, &backend)?;
    let broker_control = broker.control();
    let broker = thread::spawn(move || broker.run());
    for w in 0..3 {
        let rep = ctx.socket(SocketType::Rep);
        rep.connect(&for_workers)?;
        thread::spawn(move || {
            while let Ok(mut request) = rep.recv() {
                request.push_back(format!("worker {w}"));
                if rep.send(request).is_err() {
                    break;
                }
            }
        });
    }
    let mut replies = Vec::new();
    for c in 0..5 {
        let req = ctx.socket(SocketType::Req);
        req.connect(&for_clients)?;
        req.send(Message::single(format!("client {c}")))?;
        let reply = req.recv()?;
        let parts: Vec<_> = reply.iter().map(|f| String::from_utf8_lossy(f)).collect();
        replies.push(parts.join(" answered by "));
    }

    forwarder_control.terminate();
    broker_control.terminate();
    forwarder.join().map_err(|_| "forwarder panicked")??;
    broker.join().map_err(|_| "broker panicked")??;
    ctx.terminate();
    Ok(Outcome { received, replies })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let outcome = run()?;
    println!(
        "subscribed to \"weather\", received: {:?}",
        outcome.received
    );
    for r in &outcome.replies {
        println!("{r}");
    }
    Ok(())
}
