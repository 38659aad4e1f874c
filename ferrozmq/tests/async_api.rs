//! The async API works under tokio and under a plain `futures` executor, with no runtime in
//! the library's dependencies: futures are woken by the socket itself.

use std::time::Duration;

use ferrozmq::{Context, SocketType};

async fn ping_pong(ctx: &Context, ep: &str, n: usize) {
    let rep = ctx.socket(SocketType::Rep);
    let ep = rep.bind(ep).unwrap();
    let req = ctx.socket(SocketType::Req);
    req.connect(&ep).unwrap();
    let server = async {
        for _ in 0..n {
            let m = rep.recv_async().await.unwrap();
            rep.send_async(m).await.unwrap();
        }
    };
    let client = async {
        for i in 0..n {
            req.send_async(format!("{i}")).await.unwrap();
            let m = req.recv_async().await.unwrap();
            assert_eq!(m.frames()[0], format!("{i}").as_bytes());
        }
    };
    futures::join!(server, client);
}

#[test]
fn async_under_futures_executor() {
    let ctx = Context::new();
    futures::executor::block_on(ping_pong(&ctx, "tcp://127.0.0.1:*", 500));
    futures::executor::block_on(ping_pong(&ctx, "inproc://async-futures", 500));
}

#[test]
fn async_under_tokio_multi_thread() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ctx = Context::new();
    rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(20),
            ping_pong(&ctx, "tcp://127.0.0.1:*", 500),
        )
        .await
        .expect("async ping-pong timed out");
    });
}

#[test]
fn async_recv_from_a_task_while_another_thread_sends() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..1000u32 {
            push.send(i.to_be_bytes().to_vec()).unwrap();
        }
        push
    });
    futures::executor::block_on(async {
        for i in 0..1000u32 {
            let m = pull.recv_async().await.unwrap();
            assert_eq!(&m.frames()[0][..], &i.to_be_bytes());
        }
    });
    drop(sender.join().unwrap());
}
