//! Async request-reply and publish-subscribe, written once with async/await and run under
//! tokio and under `futures::executor` (a single-threaded executor with no I/O driver of its
//! own): ferrozmq's futures are woken by the sockets themselves, so no runtime is required.
//!
//! `cargo run --example async_executors`

use ferrozmq::{Context, Message, SocketType};

/// A REP task answering `n` requests, and a REQ task sending them; returns the replies.
pub(crate) async fn request_reply(ctx: &Context, n: usize) -> Result<Vec<String>, ferrozmq::Error> {
    let rep = ctx.socket(SocketType::Rep);
    let endpoint = rep.bind("tcp://127.0.0.1:*")?;
    let req = ctx.socket(SocketType::Req);
    req.connect(&endpoint)?;
    let server = async {
        for _ in 0..n {
            let mut request = rep.recv_async().await?;
            request.push_back("pong");
            rep.send_async(request).await?;
        }
        Ok::<_, ferrozmq::Error>(())
    };
    let client = async {
        let mut replies = Vec::new();
        for i in 0..n {
            req.send_async(format!("ping {i}")).await?;
            let reply = req.recv_async().await?;
            let parts: Vec<_> = reply.iter().map(|f| String::from_utf8_lossy(f)).collect();
            replies.push(parts.join(" "));
        }
        Ok::<_, ferrozmq::Error>(replies)
    };
    let (served, replies) = futures::join!(server, client);
    served?;
    replies
}

/// An XPUB task that waits for the subscription then publishes `n` messages (and one on a
/// topic nobody wants), and a SUB task receiving them.
pub(crate) async fn publish_subscribe(
    ctx: &Context,
    n: usize,
) -> Result<Vec<String>, ferrozmq::Error> {
    let publisher = ctx.socket(SocketType::XPub);
    let endpoint = publisher.bind("tcp://127.0.0.1:*")?;
    let subscriber = ctx.socket(SocketType::Sub);
    subscriber.connect(&endpoint)?;
    subscriber.set_option(ferrozmq::SocketOption::Subscribe("news".into()))?;
    let publish = async {
        // The subscription arriving is the signal to start (no slow-joiner loss).
        let _subscription = publisher.recv_async().await?;
        for i in 0..n {
            publisher.send_async("other: ignored").await?;
            publisher
                .send_async(Message::single(format!("news {i}")))
                .await?;
        }
        Ok::<_, ferrozmq::Error>(())
    };
    let receive = async {
        let mut got = Vec::new();
        for _ in 0..n {
            let m = subscriber.recv_async().await?;
            got.push(String::from_utf8_lossy(&m.frames()[0]).into_owned());
        }
        Ok::<_, ferrozmq::Error>(got)
    };
    let (published, got) = futures::join!(publish, receive);
    published?;
    got
}

/// What one executor's run gave: the replies, and the news received.
pub(crate) type Outcome = (Vec<String>, Vec<String>);

/// Both scenarios, under tokio then under `futures::executor::block_on`.
pub(crate) fn run(n: usize) -> Result<[Outcome; 2], Box<dyn std::error::Error>> {
    let ctx = Context::new();
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?
        .block_on(async {
            Ok::<_, ferrozmq::Error>((
                request_reply(&ctx, n).await?,
                publish_subscribe(&ctx, n).await?,
            ))
        })?;
    let plain = futures::executor::block_on(async {
        Ok::<_, ferrozmq::Error>((
            request_reply(&ctx, n).await?,
            publish_subscribe(&ctx, n).await?,
        ))
    })?;
    ctx.terminate();
    Ok([tokio, plain])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let [tokio, plain] = run(3)?;
    for (name, (replies, news)) in [("tokio", tokio), ("futures::executor", plain)] {
        println!("{name}: replies {replies:?}; news {news:?}");
    }
    Ok(())
}
