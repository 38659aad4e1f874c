//! Publish-subscribe at the socket level (RFC 29): prefix filtering on every transport,
//! counted subscriptions, XPUB's view of subscriptions (verbose, verboser, manual, welcome),
//! XSUB, no-drop, invert matching, conflate, fan-out without copies, resubscription after
//! reconnects, and the publisher-side filter seen on the wire by hand-written ZMTP 3.0 and 3.1
//! subscribers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ferrozmq::{
    Bytes, Context, Message, RecvError, SendErrorKind, Socket, SocketOption, SocketType,
};

mod common;

use common::{endpoints, subscribe, text, unsubscribe};

const T: Option<Duration> = Some(Duration::from_secs(10));

fn recv_text(s: &Socket) -> String {
    text(&s.recv_timeout(T).unwrap()).join("|")
}

/// Waits until the publisher applies the subscriber's subscriptions: the subscriber takes a
/// private topic, the publisher sends it until one arrives (subscriptions on one connection
/// are applied in order, so everything subscribed before is in force too). The private topic
/// is then dropped; strays still in flight are filtered out by the subscriber itself.
fn sync(publisher: &Socket, subscriber: &Socket) {
    subscribe(subscriber, "\u{1}sync");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(
            Instant::now() < deadline,
            "subscription never reached the publisher"
        );
        publisher.send("\u{1}sync").unwrap();
        if subscriber
            .recv_timeout(Some(Duration::from_millis(20)))
            .is_ok()
        {
            break;
        }
    }
    unsubscribe(subscriber, "\u{1}sync");
}

/// Receives until `last` arrives; returns everything received, `last` included.
fn recv_until(s: &Socket, last: &str) -> Vec<String> {
    let mut got = Vec::new();
    loop {
        let m = recv_text(s);
        let done = m == last;
        got.push(m);
        if done {
            return got;
        }
    }
}

#[test]
fn prefix_filtering_on_every_transport() {
    for ep in endpoints("prefix") {
        let ctx = Context::new();
        let publisher = ctx.socket(SocketType::Pub);
        let ep = publisher.bind(&ep).unwrap();
        let subscriber = ctx.socket(SocketType::Sub);
        subscribe(&subscriber, "a");
        subscriber.connect(&ep).unwrap();
        sync(&publisher, &subscriber);
        for m in ["a1", "b1", "ab2", "", "a"] {
            publisher.send(m).unwrap();
        }
        publisher
            .send(Message::from(vec![
                Bytes::from("a-multi"),
                Bytes::from("part"),
            ]))
            .unwrap();
        publisher.send("a-end").unwrap();
        assert_eq!(
            recv_until(&subscriber, "a-end"),
            ["a1", "ab2", "a", "a-multi|part", "a-end"],
            "{ep}"
        );
    }
}

#[test]
fn empty_subscription_matches_everything_and_publisher_binds_or_connects() {
    for publisher_binds in [true, false] {
        let ctx = Context::new();
        let publisher = ctx.socket(SocketType::Pub);
        let subscriber = ctx.socket(SocketType::Sub);
        subscribe(&subscriber, "");
        if publisher_binds {
            let ep = publisher.bind("tcp://127.0.0.1:*").unwrap();
            subscriber.connect(&ep).unwrap();
        } else {
            let ep = subscriber.bind("tcp://127.0.0.1:*").unwrap();
            publisher.connect(&ep).unwrap();
        }
        sync(&publisher, &subscriber);
        for m in ["x", "", "end"] {
            publisher.send(m).unwrap();
        }
        assert_eq!(recv_until(&subscriber, "end"), ["x", "", "end"]);
    }
}

#[test]
fn subscriptions_are_counted() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub);
    let ep = publisher.bind("tcp://127.0.0.1:*").unwrap();
    let subscriber = ctx.socket(SocketType::Sub);
    subscriber.connect(&ep).unwrap();
    subscribe(&subscriber, "x");
    subscribe(&subscriber, "x");
    unsubscribe(&subscriber, "x");
    subscribe(&subscriber, "end");
    sync(&publisher, &subscriber);
    publisher.send("x1").unwrap();
    publisher.send("end").unwrap();
    assert_eq!(recv_until(&subscriber, "end"), ["x1", "end"]);
    unsubscribe(&subscriber, "x");
    sync(&publisher, &subscriber);
    publisher.send("x2").unwrap();
    publisher.send("end").unwrap();
    assert_eq!(recv_until(&subscriber, "end"), ["end"]);
}

#[test]
fn subscribe_is_refused_where_it_does_not_apply() {
    let ctx = Context::new();
    for t in [SocketType::Pub, SocketType::Push, SocketType::XPub] {
        let s = ctx.socket(t);
        assert!(s
            .set_option(SocketOption::Subscribe(Bytes::from_static(b"a")))
            .is_err());
    }
    let publisher = ctx.socket(SocketType::Pub);
    assert_eq!(publisher.try_recv().unwrap_err(), RecvError::NotSupported);
    let subscriber = ctx.socket(SocketType::Sub);
    assert_eq!(
        subscriber.try_send("x").unwrap_err().kind(),
        SendErrorKind::NotSupported
    );
}

#[test]
fn xpub_sees_first_subscription_and_last_cancel_by_default() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub);
    let ep = xpub.bind("tcp://127.0.0.1:*").unwrap();
    let s1 = ctx.socket(SocketType::Sub);
    let s2 = ctx.socket(SocketType::Sub);
    s1.connect(&ep).unwrap();
    s2.connect(&ep).unwrap();
    subscribe(&s1, "t");
    assert_eq!(
        xpub.recv_timeout(T).unwrap(),
        Message::subscription(true, b"t")
    );
    subscribe(&s2, "t");
    subscribe(&s2, "marker");
    // s2's "t" is not the first: only the marker comes through.
    assert_eq!(
        xpub.recv_timeout(T).unwrap(),
        Message::subscription(true, b"marker")
    );
    unsubscribe(&s2, "t");
    unsubscribe(&s2, "marker");
    assert_eq!(
        xpub.recv_timeout(T).unwrap(),
        Message::subscription(false, b"marker")
    );
    unsubscribe(&s1, "t");
    assert_eq!(
        xpub.recv_timeout(T).unwrap(),
        Message::subscription(false, b"t")
    );
    assert_eq!(xpub.try_recv().unwrap_err(), RecvError::WouldBlock);
}

#[test]
fn xpub_verbose_and_verboser() {
    for verboser in [false, true] {
        let ctx = Context::new();
        let xpub = ctx.socket(SocketType::XPub);
        let opt = if verboser {
            SocketOption::XpubVerboser(true)
        } else {
            SocketOption::XpubVerbose(true)
        };
        xpub.set_option(opt).unwrap();
        let ep = xpub.bind("tcp://127.0.0.1:*").unwrap();
        let s1 = ctx.socket(SocketType::Sub);
        let s2 = ctx.socket(SocketType::Sub);
        s1.connect(&ep).unwrap();
        s2.connect(&ep).unwrap();
        subscribe(&s1, "t");
        assert_eq!(
            xpub.recv_timeout(T).unwrap(),
            Message::subscription(true, b"t")
        );
        subscribe(&s2, "t");
        assert_eq!(
            xpub.recv_timeout(T).unwrap(),
            Message::subscription(true, b"t")
        );
        unsubscribe(&s2, "t");
        if verboser {
            assert_eq!(
                xpub.recv_timeout(T).unwrap(),
                Message::subscription(false, b"t")
            );
        }
        unsubscribe(&s1, "t");
        assert_eq!(
            xpub.recv_timeout(T).unwrap(),
            Message::subscription(false, b"t")
        );
        assert_eq!(xpub.try_recv().unwrap_err(), RecvError::WouldBlock);
    }
}

#[test]
fn xpub_manual_applies_only_what_the_user_subscribes() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub);
    xpub.set_option(SocketOption::XpubManual(true)).unwrap();
    let ep = xpub.bind("tcp://127.0.0.1:*").unwrap();
    let sub = ctx.socket(SocketType::Sub);
    sub.connect(&ep).unwrap();
    subscribe(&sub, "");
    assert_eq!(
        xpub.recv_timeout(T).unwrap(),
        Message::subscription(true, b"")
    );
    // Not applied: the user subscribes the peer to "news" only.
    xpub.set_option(SocketOption::Subscribe(Bytes::from_static(b"news")))
        .unwrap();
    for m in ["sport", "news1"] {
        xpub.send(m).unwrap();
    }
    assert_eq!(recv_text(&sub), "news1");
}

#[test]
fn xpub_welcome_message_reaches_a_new_subscriber() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub);
    xpub.set_option(SocketOption::XpubWelcomeMsg(Some(Bytes::from_static(
        b"W:hello",
    ))))
    .unwrap();
    let ep = xpub.bind("tcp://127.0.0.1:*").unwrap();
    let sub = ctx.socket(SocketType::Sub);
    subscribe(&sub, "W:");
    sub.connect(&ep).unwrap();
    assert_eq!(recv_text(&sub), "W:hello");
    assert_eq!(
        xpub.recv_timeout(T).unwrap(),
        Message::subscription(true, b"W:")
    );
}

#[test]
fn xsub_sends_subscriptions_and_messages_upstream() {
    for ep in endpoints("xsub") {
        let ctx = Context::new();
        let xpub = ctx.socket(SocketType::XPub);
        let ep = xpub.bind(&ep).unwrap();
        let xsub = ctx.socket(SocketType::XSub);
        xsub.connect(&ep).unwrap();
        xsub.send(Message::subscription(true, b"t")).unwrap();
        assert_eq!(
            xpub.recv_timeout(T).unwrap(),
            Message::subscription(true, b"t")
        );
        xpub.send("t1").unwrap();
        xpub.send("u1").unwrap();
        xpub.send("t2").unwrap();
        assert_eq!(recv_text(&xsub), "t1");
        assert_eq!(recv_text(&xsub), "t2");
        xsub.send("upstream").unwrap();
        assert_eq!(recv_text(&xpub), "upstream");
        xsub.send(Message::subscription(false, b"t")).unwrap();
        assert_eq!(
            xpub.recv_timeout(T).unwrap(),
            Message::subscription(false, b"t"),
            "{ep}"
        );
    }
}

#[test]
fn pub_never_blocks_and_only_the_slow_subscriber_loses_messages() {
    const N: usize = 1000;
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub);
    publisher.set_option(SocketOption::SndHwm(5)).unwrap();
    let ep = publisher.bind("tcp://127.0.0.1:*").unwrap();
    let fast = ctx.socket(SocketType::Sub);
    let slow = ctx.socket(SocketType::Sub);
    slow.set_option(SocketOption::RcvHwm(5)).unwrap();
    for s in [&fast, &slow] {
        subscribe(s, "");
        s.connect(&ep).unwrap();
        sync(&publisher, s);
    }
    // 64 KiB each: far more than the kernel buffers and queues can hold for the slow one.
    let body = Bytes::from(vec![7u8; 64 * 1024]);
    for i in 0..N {
        let mut m = Message::single(format!("{i}"));
        m.push_back(body.clone());
        publisher.try_send(m).unwrap();
        // The fast subscriber keeps up, so its queue never fills.
        let got = loop {
            let m = fast.recv_timeout(T).unwrap();
            if m.len() == 2 {
                break m;
            }
        };
        assert_eq!(text(&got)[0], i.to_string());
    }
    let mut slow_got = 0;
    while slow.recv_timeout(Some(Duration::from_secs(1))).is_ok() {
        slow_got += 1;
    }
    assert!(
        slow_got < N,
        "the slow subscriber lost nothing ({slow_got})"
    );
}

#[test]
fn xpub_nodrop_refuses_instead_of_dropping_and_resumes() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub);
    publisher
        .set_option(SocketOption::XpubNodrop(true))
        .unwrap();
    publisher.set_option(SocketOption::SndHwm(10)).unwrap();
    let ep = publisher.bind("inproc://nodrop").unwrap();
    let subscriber = ctx.socket(SocketType::Sub);
    subscriber.set_option(SocketOption::RcvHwm(10)).unwrap();
    subscribe(&subscriber, "");
    subscriber.connect(&ep).unwrap();
    let mut sent = 0u32;
    loop {
        match publisher.try_send(sent.to_string()) {
            Ok(()) => sent += 1,
            Err(e) => {
                assert_eq!(e.kind(), SendErrorKind::WouldBlock);
                break;
            }
        }
        assert!(sent < 1_000_000, "never refused");
    }
    // A blocked send goes through once the subscriber reads; nothing was lost.
    let sender = {
        let publisher = publisher.clone();
        std::thread::spawn(move || publisher.send_timeout("last", T).unwrap())
    };
    for i in 0..sent {
        assert_eq!(recv_text(&subscriber), i.to_string());
    }
    assert_eq!(recv_text(&subscriber), "last");
    sender.join().unwrap();
}

#[test]
fn invert_matching_selects_what_does_not_match() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub);
    publisher
        .set_option(SocketOption::InvertMatching(true))
        .unwrap();
    let ep = publisher.bind("tcp://127.0.0.1:*").unwrap();
    let subscriber = ctx.socket(SocketType::Sub);
    subscriber
        .set_option(SocketOption::InvertMatching(true))
        .unwrap();
    subscribe(&subscriber, "noise");
    subscriber.connect(&ep).unwrap();
    // Everything but "noise" arrives; wait until the subscription is in force.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline);
        publisher.send("probe").unwrap();
        if subscriber
            .recv_timeout(Some(Duration::from_millis(20)))
            .is_ok()
        {
            break;
        }
    }
    for m in ["noise1", "signal", "noise2", "end"] {
        publisher.send(m).unwrap();
    }
    let got: Vec<_> = recv_until(&subscriber, "end")
        .into_iter()
        .filter(|m| m != "probe")
        .collect();
    assert_eq!(got, ["signal", "end"]);
}

#[test]
fn conflate_keeps_only_the_newest_message() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub);
    let ep = publisher.bind("inproc://conflate").unwrap();
    let subscriber = ctx.socket(SocketType::Sub);
    subscriber.set_option(SocketOption::Conflate(true)).unwrap();
    subscribe(&subscriber, "");
    subscriber.connect(&ep).unwrap();
    sync(&publisher, &subscriber);
    while subscriber.try_recv().is_ok() {}
    for i in 0..1000 {
        publisher.send(i.to_string()).unwrap();
    }
    assert_eq!(recv_text(&subscriber), "999");
    assert_eq!(subscriber.try_recv().unwrap_err(), RecvError::WouldBlock);
}

#[test]
fn fan_out_shares_one_allocation() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub);
    let ep = publisher.bind("inproc://fan-out").unwrap();
    let subs: Vec<Socket> = (0..3).map(|_| ctx.socket(SocketType::Sub)).collect();
    for s in &subs {
        subscribe(s, "");
        s.connect(&ep).unwrap();
        sync(&publisher, s);
    }
    let payload = Bytes::from(vec![42u8; 4096]);
    publisher.send(Message::single(payload.clone())).unwrap();
    for s in &subs {
        let got = loop {
            let m = s.recv_timeout(T).unwrap();
            if m.first().is_some_and(|f| f.len() == 4096) {
                break m;
            }
        };
        assert_eq!(
            got.frames()[0].as_ptr(),
            payload.as_ptr(),
            "payload was copied"
        );
    }
}

/// A free tcp port on loopback (bound and released at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn bind_retrying(s: &Socket, ep: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(e) = s.bind(ep) {
        assert!(Instant::now() < deadline, "bind {ep}: {e}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn subscriber_before_publisher_and_publisher_restart() {
    let ctx = Context::new();
    let ep = format!("tcp://127.0.0.1:{}", free_port());
    let subscriber = ctx.socket(SocketType::Sub);
    subscribe(&subscriber, "");
    subscriber.connect(&ep).unwrap();
    for round in 0..2 {
        let publisher = ctx.socket(SocketType::Pub);
        publisher
            .set_option(SocketOption::Linger(Some(Duration::ZERO)))
            .unwrap();
        bind_retrying(&publisher, &ep);
        sync(&publisher, &subscriber);
        publisher.send(format!("round {round}")).unwrap();
        assert_eq!(
            recv_until(&subscriber, &format!("round {round}"))
                .last()
                .unwrap(),
            &format!("round {round}")
        );
        publisher.close();
    }
}

// ---- the publisher's filter seen on the wire, by hand-written subscribers ----

/// A NULL greeting with the given ZMTP minor version (RFC 23 §"Greeting").
fn greeting(minor: u8) -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, minor];
    let mut mech = b"NULL".to_vec();
    mech.resize(20, 0);
    g.extend(mech);
    g.push(0);
    g.resize(64, 0);
    g
}

/// A short command frame (RFC 23 §"Commands").
fn command(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    let mut f = vec![0x04, body.len() as u8];
    f.extend(body);
    f
}

fn ready_sub() -> Vec<u8> {
    let mut props = vec![11];
    props.extend_from_slice(b"Socket-Type");
    props.extend_from_slice(&3u32.to_be_bytes());
    props.extend_from_slice(b"SUB");
    command("READY", &props)
}

/// Reads one frame: (flags, body).
fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).unwrap();
    let len = if head[0] & 0x02 != 0 {
        let mut rest = [0u8; 7];
        s.read_exact(&mut rest).unwrap();
        let mut be = [0u8; 8];
        be[0] = head[1];
        be[1..].copy_from_slice(&rest);
        u64::from_be_bytes(be) as usize
    } else {
        head[1] as usize
    };
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (head[0], body)
}

/// Connects a raw subscriber speaking ZMTP 3.`minor`, subscribed to "a" in the form that
/// version uses (3.0: a 0x01 message; 3.1: a SUBSCRIBE command).
fn raw_subscriber(ep: &str, minor: u8) -> TcpStream {
    let mut s = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&greeting(minor)).unwrap();
    let mut theirs = [0u8; 64];
    s.read_exact(&mut theirs).unwrap();
    assert_eq!(theirs[10], 3);
    s.write_all(&ready_sub()).unwrap();
    let (flags, _ready) = read_frame(&mut s);
    assert_eq!(flags & 0x04, 0x04, "expected the publisher's READY");
    let subscription = if minor == 0 {
        vec![0x00, 2, 1, b'a']
    } else {
        command("SUBSCRIBE", b"a")
    };
    s.write_all(&subscription).unwrap();
    s
}

#[test]
fn publisher_filters_on_the_wire_for_zmtp_3_0_and_3_1_subscribers() {
    for minor in [0u8, 1] {
        let ctx = Context::new();
        let xpub = ctx.socket(SocketType::XPub);
        let ep = xpub.bind("tcp://127.0.0.1:*").unwrap();
        let mut raw = raw_subscriber(&ep, minor);
        // The subscription arrived (XPUB shows it) whatever form it took on the wire.
        assert_eq!(
            xpub.recv_timeout(T).unwrap(),
            Message::subscription(true, b"a")
        );
        for m in ["a1", "b1", "b2", "a2"] {
            xpub.send(m).unwrap();
        }
        // Only the matching messages were written to the connection.
        assert_eq!(read_frame(&mut raw), (0, b"a1".to_vec()), "3.{minor}");
        assert_eq!(read_frame(&mut raw), (0, b"a2".to_vec()), "3.{minor}");
        // A cancel in the same form stops them.
        let cancel = if minor == 0 {
            vec![0x00, 2, 0, b'a']
        } else {
            command("CANCEL", b"a")
        };
        raw.write_all(&cancel).unwrap();
        assert_eq!(
            xpub.recv_timeout(T).unwrap(),
            Message::subscription(false, b"a")
        );
    }
}

#[test]
fn subscribe_and_unsubscribe_methods_take_any_bytes() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub);
    publisher.bind("inproc://subscribe-methods").unwrap();
    let subscriber = ctx.socket(SocketType::Sub);
    subscriber.connect("inproc://subscribe-methods").unwrap();
    let topic = String::from("weather.");
    subscriber.subscribe(&topic).unwrap();
    subscriber.subscribe(b"news.").unwrap();
    subscriber.unsubscribe("news.").unwrap();
    // inproc: the subscriptions are in force once the calls return.
    publisher.send("news.today").unwrap();
    publisher.send("weather.today").unwrap();
    assert_eq!(recv_text(&subscriber), "weather.today");
    assert!(publisher.subscribe("x").is_err(), "a PUB cannot subscribe");
}
