//! Async with `futures` streams and sinks, under a plain `futures` executor (no runtime in
//! ferrozmq's dependencies; tokio works the same way). A producer task sends through the
//! PUSH socket's `Sink`, a consumer task reads the PULL socket's `Stream`; a `select!` shows
//! that a cancelled send keeps its message. Run with `cargo run --example async_stream`.

use ferrozmq::{Context, Message, SocketType};
use futures::{SinkExt, StreamExt};

/// Moves `count` messages from a sink to a stream; returns what was received.
pub async fn run(count: usize) -> Result<Vec<String>, ferrozmq::Error> {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let endpoint = pull.bind("tcp://127.0.0.1:*")?;
    let push = ctx.socket(SocketType::Push);

    // Nothing is connected yet, so a send must wait; it loses the race against a ready
    // branch, and the message stays in `slot` instead of being lost.
    let mut slot = Some(Message::from("first"));
    futures::select_biased! {
        _ = futures::future::ready(()) => {}
        _ = futures::FutureExt::fuse(push.send_async_from(&mut slot)) => {}
    }
    push.connect(&endpoint)?;
    push.send_async_from(&mut slot).await?; // now it goes

    let mut sink = push.sink();
    let producer = async {
        for i in 1..count {
            sink.send(Message::from(format!("message {i}"))).await?;
        }
        Ok::<(), ferrozmq::Error>(())
    };
    let consumer = async {
        let mut stream = pull.stream().take(count);
        let mut received = Vec::with_capacity(count);
        while let Some(msg) = stream.next().await {
            received.push(String::from_utf8_lossy(&msg?.frames()[0]).into_owned());
        }
        Ok::<_, ferrozmq::Error>(received)
    };
    let (sent, received) = futures::join!(producer, consumer);
    sent?;
    // Inside async code, end the context without blocking the executor thread.
    ctx.terminate_async().await;
    received
}

fn main() -> Result<(), ferrozmq::Error> {
    for line in futures::executor::block_on(run(5))? {
        println!("{line}");
    }
    Ok(())
}
