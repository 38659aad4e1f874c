//! Helpers shared by the integration tests: fresh endpoints of every transport, subscription
//! shorthands, and frames as text. Each test file compiles its own copy, so helpers a file
//! does not use are not dead code.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use ferrozmq::{Bytes, Context, Message, Monitor, MonitorEvent, Socket, SocketOption, SocketType};

/// A fresh endpoint of each transport: tcp on an ephemeral port, an ipc path unique to this
/// test process and `tag`, and inproc named `tag`.
pub(crate) fn endpoints(tag: &str) -> Vec<String> {
    let dir = std::env::temp_dir();
    vec![
        "tcp://127.0.0.1:*".to_owned(),
        format!(
            "ipc://{}/fzmq-test-{}-{tag}.ipc",
            dir.display(),
            std::process::id()
        ),
        format!("inproc://{tag}"),
    ]
}

/// ZMQ_SUBSCRIBE to `topic`.
pub(crate) fn subscribe(s: &Socket, topic: &str) {
    s.set_option(SocketOption::Subscribe(Bytes::copy_from_slice(
        topic.as_bytes(),
    )))
    .unwrap();
}

/// ZMQ_UNSUBSCRIBE from `topic`.
pub(crate) fn unsubscribe(s: &Socket, topic: &str) {
    s.set_option(SocketOption::Unsubscribe(Bytes::copy_from_slice(
        topic.as_bytes(),
    )))
    .unwrap();
}

/// The frames of a message as (lossy) text.
pub(crate) fn text(m: &Message) -> Vec<String> {
    m.iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect()
}

/// A socket of type `bind` bound at `ep`, and one of type `connect` connected to it.
pub(crate) fn pair(
    ctx: &Context,
    bind: SocketType,
    connect: SocketType,
    ep: &str,
) -> (Socket, Socket) {
    let server = ctx.socket(bind);
    let resolved = server.bind(ep).unwrap();
    let client = ctx.socket(connect);
    client.connect(&resolved).unwrap();
    (server, client)
}

/// Skips monitor events until one satisfies `want` (within 10 s); fails with every event seen
/// if none does.
pub(crate) fn wait_for(
    mon: &Monitor,
    what: &str,
    want: impl Fn(&MonitorEvent) -> bool,
) -> MonitorEvent {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        match mon.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(ev) if want(&ev) => return ev,
            Ok(ev) => seen.push(ev.to_string()),
            Err(e) => panic!("no {what} event ({e}); saw {seen:#?}"),
        }
    }
}
