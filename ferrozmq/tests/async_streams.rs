//! The async API as the ecosystem expects it (issue 12): `Stream` / `Sink` halves, a `Stream`
//! of monitor events, cancellation (`select!` branches that lose), and a termination that
//! does not block the executor thread.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrozmq::{
    Context, Message, MonitorEventKind, RecvError, SendErrorKind, SocketOption, SocketType,
};
use futures::{SinkExt, StreamExt};

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A branch that loses `select!` against one that needs one more poll: the other branch is
/// polled (and left pending) at least once before it is dropped.
async fn one_yield() {
    tokio::task::yield_now().await;
}

#[test]
fn stream_and_sink_carry_a_pipeline_and_the_stream_ends_on_close() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    current_thread().block_on(async {
        let mut sink = push.sink();
        let mut stream = pull.stream();
        let producer = async {
            for i in 0..200 {
                sink.send(Message::from(format!("{i}"))).await.unwrap();
            }
            sink.close().await.unwrap();
        };
        let consumer = async {
            let mut got = Vec::new();
            while got.len() < 200 {
                let msg = stream.next().await.unwrap().unwrap();
                got.push(String::from_utf8(msg.frames()[0].to_vec()).unwrap());
            }
            got
        };
        let ((), got) = futures::join!(producer, consumer);
        let want: Vec<String> = (0..200).map(|i| format!("{i}")).collect();
        assert_eq!(got, want);
        pull.close();
        assert!(
            stream.next().await.is_none(),
            "a closed socket ends its stream"
        );
        assert!(futures::stream::FusedStream::is_terminated(&stream));
    });
}

#[test]
fn split_halves_serve_request_reply_from_two_tasks() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    let ep = router.bind("tcp://127.0.0.1:*").unwrap();
    let dealer = ctx.socket(SocketType::Dealer);
    dealer.connect(&ep).unwrap();
    let rt = current_thread();
    rt.block_on(async {
        let (mut tx, mut rx) = router.split();
        let server = tokio::spawn(async move {
            for _ in 0..50 {
                let msg = rx.next().await.unwrap().unwrap();
                tx.send(msg).await.unwrap(); // echo, envelope included
            }
        });
        let (mut dtx, mut drx) = dealer.split();
        for i in 0..50 {
            dtx.send(Message::from(format!("ping {i}"))).await.unwrap();
            let reply = drx.next().await.unwrap().unwrap();
            assert_eq!(reply.frames()[0], format!("ping {i}").as_bytes());
        }
        server.await.unwrap();
    });
}

#[test]
fn monitor_is_a_stream_of_events() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let mut monitor = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    current_thread().block_on(async {
        let first = StreamExt::next(&mut monitor).await.unwrap();
        assert_eq!(first.kind, MonitorEventKind::Listening);
        loop {
            let ev = StreamExt::next(&mut monitor).await.unwrap();
            if ev.kind == MonitorEventKind::HandshakeSucceeded {
                break;
            }
        }
        pull.close();
        // The stream ends after MonitorStopped.
        let rest: Vec<_> = StreamExt::collect::<Vec<_>>(&mut monitor).await;
        assert_eq!(rest.last().unwrap().kind, MonitorEventKind::MonitorStopped);
    });
}

#[test]
fn a_cancelled_send_async_from_keeps_its_message_which_is_then_delivered() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push); // no peer yet: every send must wait
    current_thread().block_on(async {
        let mut slot = Some(Message::from("kept"));
        tokio::select! {
            biased;
            _ = push.send_async_from(&mut slot) => panic!("nothing can take the message"),
            _ = one_yield() => {}
        }
        assert!(slot.is_some(), "the losing send handed its message back");
        let pull = ctx.socket(SocketType::Pull);
        pull.bind("inproc://kept").unwrap();
        push.connect("inproc://kept").unwrap();
        push.send_async_from(&mut slot).await.unwrap();
        assert!(slot.is_none());
        assert_eq!(pull.recv_async().await.unwrap().frames()[0], "kept");
    });
}

#[test]
fn a_cancelled_send_async_drops_its_message_as_documented_and_never_sends_it_later() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    current_thread().block_on(async {
        tokio::select! {
            biased;
            _ = push.send_async("lost") => panic!("nothing can take the message"),
            _ = one_yield() => {}
        }
        let pull = ctx.socket(SocketType::Pull);
        pull.bind("inproc://lost").unwrap();
        push.connect("inproc://lost").unwrap();
        push.send_async("after").await.unwrap();
        assert_eq!(pull.recv_async().await.unwrap().frames()[0], "after");
        assert_eq!(pull.try_recv(), Err(RecvError::WouldBlock));
    });
}

#[test]
fn a_sink_flush_that_loses_a_select_keeps_the_message_for_the_next_flush() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    current_thread().block_on(async {
        let mut sink = push.sink();
        // Reserved (the buffer is empty) and buffered: no peer can take it yet.
        sink.feed(Message::from("buffered")).await.unwrap();
        tokio::select! {
            biased;
            _ = sink.flush() => panic!("nothing can take the message"),
            _ = one_yield() => {}
        }
        let pull = ctx.socket(SocketType::Pull);
        pull.bind("inproc://buffered").unwrap();
        push.connect("inproc://buffered").unwrap();
        sink.flush().await.unwrap();
        assert_eq!(pull.recv_async().await.unwrap().frames()[0], "buffered");
    });
}

#[test]
fn a_sink_hands_the_message_back_when_the_send_fails() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    current_thread().block_on(async {
        let mut sink = push.sink();
        sink.feed(Message::from("refused")).await.unwrap();
        push.close();
        let err = sink.flush().await.unwrap_err();
        assert_eq!(err.kind(), SendErrorKind::Closed);
        assert_eq!(err.into_message().frames()[0], "refused");
        assert!(sink.take_pending().is_none());
    });
}

#[test]
fn recv_async_that_loses_a_select_takes_nothing() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.bind("inproc://recv-cancel").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect("inproc://recv-cancel").unwrap();
    current_thread().block_on(async {
        let mut lost_races = 0;
        for i in 0..200 {
            let want = format!("{i}");
            // Sometimes already queued when the race starts, sometimes not.
            if i % 2 == 0 {
                push.send(want.as_str()).unwrap();
            }
            let won = tokio::select! {
                biased;
                _ = one_yield() => None,
                m = pull.recv_async() => Some(m.unwrap()),
            };
            if i % 2 == 1 {
                push.send(want.as_str()).unwrap();
            }
            let msg = match won {
                Some(m) => m,
                None => {
                    lost_races += 1;
                    pull.recv_async().await.unwrap()
                }
            };
            assert_eq!(msg.frames()[0], want.as_bytes(), "round {i}");
        }
        assert!(lost_races > 0, "the receive lost some races");
        assert_eq!(pull.try_recv(), Err(RecvError::WouldBlock));
    });
}

#[test]
fn terminate_async_lets_the_executor_run_other_tasks_while_the_context_lingers() {
    let path = std::env::temp_dir().join(format!("ferrozmq-term-async-{}.ipc", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let ep = format!("ipc://{}", path.display());
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::Linger(Some(Duration::from_secs(60))))
        .unwrap();
    push.connect(&ep).unwrap();
    push.send("lingering").unwrap(); // queued for a peer that is not there yet
    let log = Arc::new(Mutex::new(Vec::<&str>::new()));
    current_thread().block_on(async {
        let terminating = {
            let log = log.clone();
            tokio::spawn(async move {
                ctx.terminate_async().await;
                drop(push); // the last handle: returns at once now
                log.lock().unwrap().push("terminated");
            })
        };
        let receiving = {
            let log = log.clone();
            tokio::spawn(async move {
                log.lock().unwrap().push("other task ran");
                // Only this task (on the same thread) can end the linger: it takes the message.
                let other = Context::new();
                let pull = other.socket(SocketType::Pull);
                pull.bind(&ep).unwrap();
                let msg = pull.recv_async().await.unwrap();
                log.lock().unwrap().push("received");
                assert_eq!(msg.frames()[0], "lingering");
                other.terminate_async().await;
            })
        };
        terminating.await.unwrap();
        receiving.await.unwrap();
    });
    let log = log.lock().unwrap();
    let pos = |e| log.iter().position(|x| *x == e).unwrap();
    assert!(pos("other task ran") < pos("terminated"), "{log:?}");
    assert!(log.contains(&"received"), "{log:?}");
}

/// A termination begun by `terminate_async` whose future is dropped (a caller that gave up on
/// it) is joined by a later `terminate`: it returns only once the I/O thread has stopped, which
/// the socket's monitor reports (`MonitorStopped`) before that.
#[test]
fn terminate_after_an_abandoned_terminate_async_still_waits_for_the_flush() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    let mon = push.monitor();
    push.set_option(SocketOption::Linger(Some(Duration::from_millis(1500))))
        .unwrap();
    push.connect("tcp://127.0.0.1:1").unwrap();
    push.send("never delivered").unwrap();
    drop(ctx.terminate_async());
    ctx.terminate();
    let mut seen = Vec::new();
    while let Ok(ev) = mon.try_recv() {
        seen.push(ev.kind);
    }
    assert!(
        seen.iter()
            .any(|k| matches!(k, MonitorEventKind::MonitorStopped)),
        "terminate returned before the I/O thread stopped: {seen:?}"
    );
}
