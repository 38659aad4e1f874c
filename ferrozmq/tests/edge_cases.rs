//! Regression tests for edge cases of publish-subscribe, the poller and the proxy found in
//! review: readiness that must match what a send or receive would do (XPUB_NODROP targets,
//! ROUTER_MANDATORY, SUB filtering), wake-ups on disconnect, and XPUB_MANUAL / XPUB_VERBOSER
//! reports as libzmq makes them. Deterministic: inproc delivery happens inside the sending
//! call, and wake-ups are observed with a counting `Waker` instead of sleeps; the time-outs
//! are only failure guards.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

use ferrozmq::{
    Bytes, Context, Interest, Message, Poller, RecvError, SendErrorKind, SocketOption, SocketType,
};

mod common;

use common::{subscribe, unsubscribe};

const T: Option<Duration> = Some(Duration::from_secs(5));

/// A `Waker` that counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let c = Arc::new(CountingWaker::default());
    (c.clone(), Waker::from(c))
}

/// Polls `poller` once as an async wait would, with `waker`: must be `Pending` (nothing ready
/// yet), which leaves `waker` registered in every socket item.
fn register_pending(poller: &mut Poller<'_>, waker: &Waker) {
    let mut cx = TaskContext::from_waker(waker);
    let mut events = Vec::new();
    assert!(
        matches!(poller.poll_wait(&mut cx, &mut events), Poll::Pending),
        "nothing should be ready yet: {events:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// XPUB_MANUAL
// ---------------------------------------------------------------------------------------------

/// XPUB_MANUAL applies the user's `Subscribe` to the peer of the subscription the user
/// *received* last (libzmq: `xpub_t::xrecv` sets `_last_pipe`), not to the peer whose input
/// was processed last: with two subscriptions queued, the answer to the first goes to the
/// first peer.
#[test]
fn xpub_manual_subscribe_applies_to_the_peer_of_the_last_received_subscription() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub);
    xpub.set_option(SocketOption::XpubManual(true)).unwrap();
    xpub.bind("inproc://review-manual-last").unwrap();
    let sub1 = ctx.socket(SocketType::Sub);
    let sub2 = ctx.socket(SocketType::Sub);
    sub1.connect("inproc://review-manual-last").unwrap();
    sub2.connect("inproc://review-manual-last").unwrap();
    // inproc: each subscription is in the XPUB's queue when `set_option` returns.
    subscribe(&sub1, "A");
    subscribe(&sub2, "B");
    assert_eq!(
        xpub.recv_timeout(T).unwrap(),
        Message::subscription(true, b"A")
    );
    // The user accepts sub1's subscription (the one it just received).
    xpub.set_option(SocketOption::Subscribe(Bytes::from_static(b"A")))
        .unwrap();
    xpub.send("A-data").unwrap();
    // inproc: delivered (or not) inside `send`.
    assert_eq!(
        sub1.try_recv().map(|m| m.frames()[0].to_bytes()),
        Ok(Bytes::from_static(b"A-data")),
        "sub1 subscribed to A and the user accepted it: it must get A-data"
    );
}

/// With XPUB_MANUAL, a peer that goes away is reported as one unsubscription per topic it
/// had asked for (libzmq keeps `_manual_subscriptions` for this), so a manual proxy can
/// cancel upstream.
#[test]
fn xpub_manual_reports_the_subscriptions_of_a_peer_that_leaves() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub);
    xpub.set_option(SocketOption::XpubManual(true)).unwrap();
    xpub.bind("inproc://review-manual-leave").unwrap();
    let sub = ctx.socket(SocketType::Sub);
    sub.connect("inproc://review-manual-leave").unwrap();
    subscribe(&sub, "A");
    assert_eq!(
        xpub.recv_timeout(T).unwrap(),
        Message::subscription(true, b"A")
    );
    xpub.set_option(SocketOption::Subscribe(Bytes::from_static(b"A")))
        .unwrap();
    // The subscriber goes (inproc: its close detaches it from the XPUB synchronously).
    sub.close();
    assert_eq!(
        xpub.recv_timeout(Some(Duration::from_secs(2))),
        Ok(Message::subscription(false, b"A")),
        "libzmq reports the leaving peer's subscriptions in manual mode too"
    );
}

// ---------------------------------------------------------------------------------------------
// XPUB_VERBOSER
// ---------------------------------------------------------------------------------------------

/// With XPUB_VERBOSER, every subscription of a peer that goes away is reported, not only the
/// topics that lost their last subscriber (libzmq: `call_on_uniq` is false with verbose
/// unsubscriptions).
#[test]
fn xpub_verboser_reports_every_subscription_of_a_leaving_peer() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub);
    xpub.set_option(SocketOption::XpubVerboser(true)).unwrap();
    xpub.bind("inproc://review-verboser-leave").unwrap();
    let sub1 = ctx.socket(SocketType::Sub);
    let sub2 = ctx.socket(SocketType::Sub);
    sub1.connect("inproc://review-verboser-leave").unwrap();
    sub2.connect("inproc://review-verboser-leave").unwrap();
    subscribe(&sub1, "A");
    subscribe(&sub2, "A");
    for _ in 0..2 {
        assert_eq!(
            xpub.recv_timeout(T).unwrap(),
            Message::subscription(true, b"A")
        );
    }
    // An explicit cancel by sub2 would be reported (verboser); its departure must be too.
    sub2.close();
    assert_eq!(
        xpub.recv_timeout(Some(Duration::from_secs(2))),
        Ok(Message::subscription(false, b"A"))
    );
}

// ---------------------------------------------------------------------------------------------
// disconnect (SocketCore::remove_peer) wakes nobody
// ---------------------------------------------------------------------------------------------

/// `disconnect` on an XPUB queues the dropped peer's unsubscriptions and wakes a waiting
/// receiver (poller, `recv_async`, blocked `recv`); with tcp the reactor's later detach finds
/// the peer already gone, so `remove_peer` itself must wake.
#[test]
fn xpub_disconnect_wakes_a_poller_waiting_for_the_unsubscription() {
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::Sub);
    sub.bind("inproc://review-xpub-disconnect").unwrap();
    subscribe(&sub, "A");
    let xpub = ctx.socket(SocketType::XPub);
    xpub.connect("inproc://review-xpub-disconnect").unwrap();
    assert_eq!(
        xpub.recv_timeout(T).unwrap(),
        Message::subscription(true, b"A")
    );
    let mut poller = Poller::new().unwrap();
    poller.add(&xpub, Interest::READABLE);
    let (count, waker) = counting_waker();
    register_pending(&mut poller, &waker);
    xpub.disconnect("inproc://review-xpub-disconnect").unwrap();
    // The unsubscription is there ...
    let ready = {
        let mut events = Vec::new();
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap()
    };
    assert_eq!(ready, 1, "the XPUB has the cancel to deliver");
    // ... but the waiting task was never told.
    assert!(
        count.0.load(Ordering::SeqCst) > 0,
        "the waiting poller task was not woken by the disconnect"
    );
}

/// The same `remove_peer` path wakes writers: a PUB with XPUB_NODROP refused to send to its
/// full subscriber; once that subscriber is disconnected a waiting poller learns that the
/// socket is writable.
#[test]
fn nodrop_publisher_disconnect_wakes_a_poller_waiting_for_writable() {
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::Sub);
    sub.bind("inproc://review-nodrop-disconnect").unwrap();
    subscribe(&sub, "");
    let publisher = ctx.socket(SocketType::Pub);
    publisher
        .set_option(SocketOption::XpubNodrop(true))
        .unwrap();
    publisher.set_option(SocketOption::SndHwm(4)).unwrap();
    publisher.set_option(SocketOption::RcvHwm(4)).unwrap();
    publisher
        .connect("inproc://review-nodrop-disconnect")
        .unwrap();
    let mut sent = 0;
    while publisher.try_send("x").is_ok() {
        sent += 1;
        assert!(sent < 10_000, "never refused");
    }
    let mut poller = Poller::new().unwrap();
    poller.add(&publisher, Interest::WRITABLE);
    let (count, waker) = counting_waker();
    register_pending(&mut poller, &waker);
    publisher
        .disconnect("inproc://review-nodrop-disconnect")
        .unwrap();
    assert!(publisher.try_send("y").is_ok(), "no full target is left");
    assert!(
        count.0.load(Ordering::SeqCst) > 0,
        "the task waiting for writable was not woken by the disconnect"
    );
}

// ---------------------------------------------------------------------------------------------
// Poller readiness
// ---------------------------------------------------------------------------------------------

/// The poller does not report a SUB readable when its queue holds only messages that no
/// longer match (unsubscribed after they were queued): readiness drops them first, as
/// libzmq's `xsub_t::xhas_in`, so a `recv` after a readable poll never blocks.
#[test]
fn poller_does_not_report_a_sub_readable_for_non_matching_messages() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub);
    publisher.bind("inproc://review-sub-poll").unwrap();
    let sub = ctx.socket(SocketType::Sub);
    sub.connect("inproc://review-sub-poll").unwrap();
    subscribe(&sub, "a");
    // inproc: the subscription is applied, and the message queued at the SUB, synchronously.
    publisher.send("a1").unwrap();
    unsubscribe(&sub, "a");
    let mut poller = Poller::new().unwrap();
    poller.add(&sub, Interest::READABLE);
    let mut events = Vec::new();
    let n = poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
    let recv = sub.try_recv();
    assert_eq!(recv, Err(RecvError::WouldBlock), "nothing matches any more");
    assert_eq!(n, 0, "reported readable, yet a receive finds nothing");
}

/// With ROUTER_MANDATORY, a ROUTER whose only peer is full is not writable (libzmq:
/// `any_of_out_pipes (check_pipe_hwm)`); otherwise a proxy whose destination is that ROUTER
/// would spin between `WouldBlock` and "writable".
#[test]
fn router_mandatory_with_every_peer_full_is_not_writable() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    router
        .set_option(SocketOption::RouterMandatory(true))
        .unwrap();
    router.bind("inproc://review-router-mandatory").unwrap();
    let dealer = ctx.socket(SocketType::Dealer);
    dealer
        .set_option(SocketOption::RoutingId(Bytes::from_static(b"D")))
        .unwrap();
    dealer.set_option(SocketOption::SndHwm(4)).unwrap();
    dealer.set_option(SocketOption::RcvHwm(4)).unwrap();
    dealer.connect("inproc://review-router-mandatory").unwrap();
    let mut sent = 0;
    loop {
        match router.try_send(Message::from(vec![
            Bytes::from_static(b"D"),
            Bytes::from_static(b"x"),
        ])) {
            Ok(()) => sent += 1,
            Err(e) => {
                assert_eq!(e.kind(), SendErrorKind::WouldBlock);
                break;
            }
        }
        assert!(sent < 10_000, "never refused");
    }
    let mut poller = Poller::new().unwrap();
    poller.add(&router, Interest::WRITABLE);
    let mut events = Vec::new();
    let n = poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
    assert_eq!(n, 0, "every peer is full: a send would be refused");
}

// ---------------------------------------------------------------------------------------------
// XPUB_NODROP readiness
// ---------------------------------------------------------------------------------------------

/// With XPUB_NODROP a publisher is writable unless a target of the last refused message
/// still has no room: one full subscriber of an unrelated topic does not make it
/// unwritable.
#[test]
fn nodrop_publisher_is_writable_while_the_full_subscriber_is_not_a_target() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::XPub);
    publisher
        .set_option(SocketOption::XpubNodrop(true))
        .unwrap();
    publisher.bind("inproc://review-nodrop-unrelated").unwrap();
    let slow = ctx.socket(SocketType::Sub);
    slow.set_option(SocketOption::RcvHwm(4)).unwrap();
    slow.connect("inproc://review-nodrop-unrelated").unwrap();
    subscribe(&slow, "b");
    let fast = ctx.socket(SocketType::Sub);
    fast.connect("inproc://review-nodrop-unrelated").unwrap();
    subscribe(&fast, "a");
    for _ in 0..4 {
        publisher.try_send("b").unwrap(); // fills the slow subscriber exactly to its HWM
    }
    let mut poller = Poller::new().unwrap();
    poller.add(&publisher, Interest::WRITABLE);
    let mut events = Vec::new();
    let n = poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
    assert!(publisher.try_send("a").is_ok(), "a send to `fast` is taken");
    assert_eq!(n, 1, "reported not writable, yet the send was taken");
}

/// A proxy whose backend is an XPUB_NODROP holds a message refused by a full subscriber and
/// delivers it once that subscriber drains, even while an unrelated subscriber stays full.
#[test]
fn proxy_to_nodrop_xpub_delivers_once_the_target_drains_despite_an_unrelated_full_peer() {
    let ctx = Context::new();
    // Upstream publisher -> XSUB frontend -> proxy -> XPUB(nodrop) backend -> subscribers.
    let upstream = ctx.socket(SocketType::XPub);
    upstream.bind("inproc://review-stall-up").unwrap();
    let frontend = ctx.socket(SocketType::XSub);
    frontend.connect("inproc://review-stall-up").unwrap();
    let backend = ctx.socket(SocketType::XPub);
    backend.set_option(SocketOption::XpubNodrop(true)).unwrap();
    backend.bind("inproc://review-stall-down").unwrap();
    let proxy = ferrozmq::Proxy::new(&frontend, &backend).unwrap();
    let control = proxy.control();
    let running = std::thread::spawn(move || proxy.run());

    let slow = ctx.socket(SocketType::Sub);
    slow.set_option(SocketOption::RcvHwm(4)).unwrap();
    slow.connect("inproc://review-stall-down").unwrap();
    subscribe(&slow, "b");
    let fast = ctx.socket(SocketType::Sub);
    fast.set_option(SocketOption::RcvHwm(4)).unwrap();
    fast.connect("inproc://review-stall-down").unwrap();
    subscribe(&fast, "a");
    // Both subscriptions went through the proxy to the upstream publisher.
    let mut subs = vec![
        upstream.recv_timeout(T).unwrap(),
        upstream.recv_timeout(T).unwrap(),
    ];
    subs.sort_by(|x, y| x.frames()[0].cmp(&y.frames()[0]));
    assert_eq!(
        subs,
        [
            Message::subscription(true, b"a"),
            Message::subscription(true, b"b")
        ]
    );
    // Fill `slow` exactly (4 accepted), then one more than `fast` holds.
    for _ in 0..4 {
        upstream.send("b").unwrap();
    }
    for i in 0..5 {
        upstream.send(format!("a{i}")).unwrap();
    }
    // Wait until the proxy holds the refused a4: 9 received from the frontend, 8 sent.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let s = control.statistics();
        if s.frontend.messages_received == 9 && s.backend.messages_sent == 8 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "proxy did not forward: {s:?}"
        );
        std::thread::yield_now();
    }
    // `fast` reads everything: a4's only target has room again.
    for i in 0..5 {
        let got = fast.recv_timeout(Some(Duration::from_secs(2)));
        assert_eq!(
            got.map(|m| m.frames()[0].to_bytes()),
            Ok(Bytes::from(format!("a{i}"))),
            "message a{i} stuck in the proxy"
        );
    }
    control.terminate();
    running.join().unwrap().unwrap();
}
