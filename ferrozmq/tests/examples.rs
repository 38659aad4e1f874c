//! Every example in `examples/` runs here, as a function with a small count (building and
//! spawning each example binary would be slower); the examples' `main`s call the same code.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/req_rep.rs"]
mod req_rep;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/push_pull.rs"]
mod push_pull;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/shared_socket.rs"]
mod shared_socket;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/pub_sub.rs"]
mod pub_sub;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/forwarder.rs"]
mod forwarder;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/poller.rs"]
mod poller;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/monitor.rs"]
mod monitor;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/async_stream.rs"]
mod async_stream;

#[test]
fn request_reply() {
    req_rep::main().unwrap();
}

#[test]
fn pipeline() {
    push_pull::main().unwrap();
}

#[test]
fn one_socket_many_threads() {
    shared_socket::main().unwrap();
}

#[test]
fn publish_subscribe_delivers_only_the_subscribed_topic() {
    let got = pub_sub::run(10).unwrap();
    let want: Vec<String> = (0..10).map(|i| format!("weather {i}")).collect();
    assert_eq!(got, want);
}

#[test]
fn the_forwarder_proxy_passes_messages_and_subscriptions() {
    let (got, passed) = forwarder::run(10).unwrap();
    let want: Vec<String> = (0..10).map(|i| format!("news {i}")).collect();
    assert_eq!(got, want);
    assert_eq!(passed, 10);
}

#[test]
fn the_poller_serves_the_urgent_queue_first() {
    let got = poller::run(5).unwrap();
    assert_eq!(got.len(), 10);
    let urgent: Vec<_> = got[..5].to_vec();
    let want: Vec<String> = (0..5).map(|i| format!("urgent {i}")).collect();
    assert_eq!(urgent, want, "{got:?}");
    assert!(got[5..].iter().all(|m| m.starts_with("normal")), "{got:?}");
}

#[test]
fn the_monitor_sees_the_connection_life() {
    let names = monitor::run().unwrap();
    let order = [
        "connect retried",
        "connected",
        "handshake succeeded",
        "disconnected",
    ];
    let mut at = 0;
    for want in order {
        at += names[at..]
            .iter()
            .position(|n| n == want)
            .unwrap_or_else(|| panic!("no {want:?} after position {at} in {names:?}"));
    }
}

#[test]
fn async_streams_and_sinks() {
    let got = futures::executor::block_on(async_stream::run(20)).unwrap();
    let mut want = vec!["first".to_owned()];
    want.extend((1..20).map(|i| format!("message {i}")));
    assert_eq!(got, want);
}
