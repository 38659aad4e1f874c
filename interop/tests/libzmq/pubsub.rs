//! Publish-subscribe against libzmq (RFC 29): PUB to SUB both ways, XPUB and XSUB seeing each
//! other's subscriptions, the publisher's filter seen through a libzmq XSUB (which filters
//! nothing itself), hand-written ZMTP 3.0 peers on the wire, and resubscription after the
//! publisher restarts or binds late.
//!
//! No test waits for time to pass. A subscription is known to be in force when an XPUB
//! receives it, or when a probe gets through: the publisher sends a probe on a subscribed
//! topic until the subscriber receives one (one connection carries subscriptions in order, so
//! everything subscribed before is in force too), then a "done" message the subscriber reads
//! up to, so no probe is left in flight. Every receive fails after [`TIMEOUT`].
//!
//! A libzmq socket that binds takes a new peer on board (and a SUB sends that peer its
//! subscriptions) only inside the application's calls into it: send, recv, poll. So whatever
//! waits for a libzmq subscriber's subscription keeps calling the subscriber: the probe loop
//! by receiving, [`recv_pumping`] by short receives that must find nothing.
//!
//! The raw ZMTP peer lives here rather than in `peer.rs`: it speaks 3.0 only, for these tests.

use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferrozmq::SocketType;

use crate::peer::{assert_frames, socket, BindAddress, Frames, Impl, Peer, Transport, TIMEOUT};

/// Every subscriber in a scenario also takes this topic, so `[END]` marks where a batch ends.
const END: &[u8] = b"~end";
/// How long one probe waits before the publisher sends the next.
const PROBE_INTERVAL: Duration = Duration::from_millis(20);
/// How long [`recv_pumping`] lets another socket run (ferrozmq treats a zero time-out as
/// "do not wait" and reports would-block, which `Peer::recv_within` does not expect).
const PUMP: Duration = Duration::from_millis(1);

/// A SUB or XSUB of either implementation, subscribing the way its type does.
struct Subscriber {
    peer: Box<dyn Peer>,
    socket_type: SocketType,
}

impl Subscriber {
    fn new(imp: Impl, socket_type: SocketType) -> Subscriber {
        Subscriber {
            peer: socket(imp, socket_type),
            socket_type,
        }
    }

    fn subscribe(&self, topic: &[u8]) {
        match self.socket_type {
            SocketType::Sub => self.peer.subscribe(topic),
            _ => self.peer.send(&[subscription(true, topic)]),
        }
    }

    fn unsubscribe(&self, topic: &[u8]) {
        match self.socket_type {
            SocketType::Sub => self.peer.unsubscribe(topic),
            _ => self.peer.send(&[subscription(false, topic)]),
        }
    }
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.peer.fmt(f)
    }
}

impl Deref for Subscriber {
    type Target = dyn Peer;

    fn deref(&self) -> &Self::Target {
        &*self.peer
    }
}

/// RFC 29 §"XSUB": a subscription message is 0x01 and the topic, a cancel 0x00 and the topic.
fn subscription(subscribe: bool, topic: &[u8]) -> Vec<u8> {
    [&[u8::from(subscribe)], topic].concat()
}

/// Waits until `publisher` applies everything `subscriber` subscribed so far, by a probe on
/// a private topic, which it then drops again. Each sync takes a topic never used before: a
/// probe on a reused one could pass the publisher's filter by a subscription whose cancel is
/// still on its way, and prove nothing.
fn sync(publisher: &dyn Peer, subscriber: &Subscriber) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let topic = format!("~sync{}", NEXT.fetch_add(1, Ordering::Relaxed)).into_bytes();
    subscriber.subscribe(&topic);
    probe(publisher, &topic, &format!("{subscriber:?}"), |timeout| {
        subscriber.recv_within(timeout)
    });
    subscriber.unsubscribe(&topic);
}

/// `publisher` sends `[topic, "probe"]` until `recv_within` returns one, then
/// `[topic, "done"]`, and `recv_within` is read up to it: only probes may come before.
/// The receiving side must have subscribed to `topic` (or a prefix of it) and never cancelled
/// it on this connection, or a probe may get through on a subscription being cancelled.
fn probe(
    publisher: &dyn Peer,
    topic: &[u8],
    receiver: &str,
    mut recv_within: impl FnMut(Duration) -> Option<Frames>,
) {
    let probe = vec![topic.to_vec(), b"probe".to_vec()];
    let deadline = Instant::now() + TIMEOUT;
    loop {
        publisher.send(&probe);
        if let Some(got) = recv_within(PROBE_INTERVAL) {
            assert_frames(&format!("{receiver} probed by {publisher:?}"), &got, &probe);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{receiver} got no probe from {publisher:?} within {TIMEOUT:?}: \
             its subscription never took effect"
        );
    }
    let done = vec![topic.to_vec(), b"done".to_vec()];
    publisher.send(&done);
    loop {
        let got = recv_within(TIMEOUT)
            .unwrap_or_else(|| panic!("{receiver}: no end of probes from {publisher:?}"));
        if got == done {
            return;
        }
        assert_frames(&format!("{receiver} probed by {publisher:?}"), &got, &probe);
    }
}

/// Receives until `[END]`; returns what came before it.
fn recv_until_end(subscriber: &dyn Peer) -> Vec<Frames> {
    let end = vec![END.to_vec()];
    let mut got = Vec::new();
    loop {
        let msg = subscriber.recv();
        if msg == end {
            return got;
        }
        got.push(msg);
    }
}

/// Receives on an XPUB, failing after [`TIMEOUT`], while giving each of `others` a chance to
/// run. A libzmq socket takes a new peer of a bound socket on board only inside its own calls
/// (send, recv, poll), so a libzmq SUB that binds sends nothing to a connecting XPUB until it
/// is called; each of `others` is given [`PUMP`] to receive, and must have nothing to read.
fn recv_pumping(xpub: &dyn Peer, others: &[&dyn Peer]) -> Frames {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(msg) = xpub.recv_within(PROBE_INTERVAL) {
            return msg;
        }
        for other in others {
            if let Some(msg) = other.recv_within(PUMP) {
                panic!("{other:?}: unexpected {msg:?} while {xpub:?} waits");
            }
        }
        assert!(
            Instant::now() < deadline,
            "{xpub:?}: no message within {TIMEOUT:?}"
        );
    }
}

/// Sends each message, then `[END]`.
fn send_then_end(publisher: &dyn Peer, messages: &[Frames]) {
    for msg in messages {
        publisher.send(msg);
    }
    publisher.send(&[END.to_vec()]);
}

/// Asserts that the batch a subscriber received is exactly `want`, in order.
#[track_caller]
fn assert_batch(what: &str, got: &[Frames], want: &[Frames]) {
    assert!(
        got == want,
        "{what}: got {} message(s), want {}\n  got:  {}\n  want: {}",
        got.len(),
        want.len(),
        show(got),
        show(want)
    );
}

/// Messages as text, one `[frame|frame]` per message.
fn show(messages: &[Frames]) -> String {
    let text = |m: &Frames| {
        let frames: Vec<_> = m.iter().map(|f| String::from_utf8_lossy(f)).collect();
        format!("[{}]", frames.join("|"))
    };
    messages.iter().map(text).collect::<Vec<_>>().join(" ")
}

fn message(parts: &[&[u8]]) -> Frames {
    parts.iter().map(|p| p.to_vec()).collect()
}

fn messages(list: &[&[&[u8]]]) -> Vec<Frames> {
    list.iter().map(|m| message(m)).collect()
}

/// Binds `binder` to a fresh address and connects every one of `connectors` to it.
fn bind_and_connect(
    transport: Transport,
    binder: &dyn Peer,
    connectors: &[&dyn Peer],
) -> BindAddress {
    let address = BindAddress::new(transport);
    let endpoint = binder.bind(address.endpoint());
    for connector in connectors {
        connector.connect(&endpoint);
    }
    address
}

// ---- PUB to SUB ----

/// A publisher of one implementation and a SUB of the other, connected, the SUB taking [`END`].
#[derive(Debug)]
struct PubSub {
    publisher: Box<dyn Peer>,
    subscriber: Subscriber,
    /// Declared last so the ipc file outlives the sockets.
    _address: BindAddress,
}

impl PubSub {
    fn new(publisher_impl: Impl, binder: Impl, transport: Transport) -> PubSub {
        let publisher = socket(publisher_impl, SocketType::Pub);
        let subscriber = Subscriber::new(publisher_impl.other(), SocketType::Sub);
        subscriber.subscribe(END);
        let address = if binder == publisher_impl {
            bind_and_connect(transport, &*publisher, &[&*subscriber])
        } else {
            bind_and_connect(transport, &*subscriber, &[&*publisher])
        };
        PubSub {
            publisher,
            subscriber,
            _address: address,
        }
    }

    /// Makes the subscriptions so far take effect, sends `sent` and checks that exactly
    /// `want` arrives.
    fn check(&self, what: &str, sent: &[Frames], want: &[Frames]) {
        sync(&*self.publisher, &self.subscriber);
        send_then_end(&*self.publisher, sent);
        let got = recv_until_end(&*self.subscriber);
        assert_batch(
            &format!("{:?} from {:?}: {what}", self.subscriber, self.publisher),
            &got,
            want,
        );
    }
}

#[derive(Debug, Clone, Copy)]
enum PubSubScenario {
    PrefixFiltering,
    EmptySubscriptionMatchesEverything,
    SubscriptionsAreCounted,
    UnsubscribeStopsDelivery,
}

fn run_pub_sub(publisher: Impl, scenario: PubSubScenario, binder: Impl, transport: Transport) {
    let link = PubSub::new(publisher, binder, transport);
    let sub = &link.subscriber;
    match scenario {
        PubSubScenario::PrefixFiltering => {
            sub.subscribe(b"a");
            link.check(
                "subscribed to \"a\"",
                &messages(&[
                    &[b"a1"],
                    &[b"ab"],
                    &[b"b1"],
                    &[b"A1"],
                    &[b""],
                    &[b"ba"],
                    &[b"a"],
                    &[b"a-multi", b"part", b""],
                    &[b"b-multi", b"a-part"],
                ]),
                &messages(&[&[b"a1"], &[b"ab"], &[b"a"], &[b"a-multi", b"part", b""]]),
            );
        }
        PubSubScenario::EmptySubscriptionMatchesEverything => {
            sub.subscribe(b"");
            let all = messages(&[&[b"x"], &[b""], &[b"b", b"multi"], &[b"\x00\x01\xff"]]);
            link.check("subscribed to \"\"", &all, &all);
        }
        PubSubScenario::SubscriptionsAreCounted => {
            sub.subscribe(b"c");
            sub.subscribe(b"c");
            sub.unsubscribe(b"c");
            link.check(
                "\"c\" subscribed twice, cancelled once",
                &messages(&[&[b"c1"], &[b"d1"]]),
                &messages(&[&[b"c1"]]),
            );
            sub.unsubscribe(b"c");
            link.check("\"c\" cancelled twice", &messages(&[&[b"c2"]]), &[]);
        }
        PubSubScenario::UnsubscribeStopsDelivery => {
            sub.subscribe(b"u");
            link.check(
                "subscribed to \"u\"",
                &messages(&[&[b"u1"]]),
                &messages(&[&[b"u1"]]),
            );
            sub.unsubscribe(b"u");
            link.check("\"u\" cancelled", &messages(&[&[b"u2"]]), &[]);
        }
    }
}

// ---- XPUB and XSUB ----

/// An XPUB of `xpub` and a `subscriber_type` (SUB or XSUB) of the other implementation: the
/// XPUB receives 0x01 + topic when it subscribes and 0x00 + topic when it cancels, filters
/// what it sends by that, and receives what an XSUB sends upstream.
fn xpub_sees_subscriptions(
    xpub_impl: Impl,
    subscriber_type: SocketType,
    binder: Impl,
    transport: Transport,
) {
    let xpub = socket(xpub_impl, SocketType::XPub);
    let subscriber = Subscriber::new(xpub_impl.other(), subscriber_type);
    let _address = if binder == xpub_impl {
        bind_and_connect(transport, &*xpub, &[&*subscriber])
    } else {
        bind_and_connect(transport, &*subscriber, &[&*xpub])
    };

    subscriber.subscribe(b"t");
    let what = format!("{xpub:?} from {subscriber:?}");
    let got = recv_pumping(&*xpub, &[&*subscriber]);
    assert_frames(&what, &got, &[subscription(true, b"t")]);
    // The XPUB applied the subscription before handing it over, so the filter is in force.
    for msg in messages(&[&[b"u1"], &[b"t1"], &[b"u2", b"t"], &[b"t2", b"multi"]]) {
        xpub.send(&msg);
    }
    let what = format!("{subscriber:?} from {xpub:?}");
    assert_frames(&what, &subscriber.recv(), &message(&[b"t1"]));
    assert_frames(&what, &subscriber.recv(), &message(&[b"t2", b"multi"]));

    if subscriber_type == SocketType::XSub {
        // Only a one-frame message can be a subscription (libzmq 4.3 also reads the later
        // frames of an XSUB's message as subscriptions, so none here starts with 0 or 1).
        let upstream = message(&[b"upstream", b"part two"]);
        subscriber.send(&upstream);
        assert_frames(
            &format!("{xpub:?} from {subscriber:?}"),
            &xpub.recv(),
            &upstream,
        );
    }

    subscriber.unsubscribe(b"t");
    let what = format!("{xpub:?} from {subscriber:?}");
    let got = recv_pumping(&*xpub, &[&*subscriber]);
    assert_frames(&what, &got, &[subscription(false, b"t")]);
}

/// A verbose XPUB of `xpub` and two SUBs of the other implementation subscribing to the same
/// topic: the XPUB sees both subscriptions (the second only because of ZMQ_XPUB_VERBOSE),
/// both SUBs get what it sends, and of the two cancels only the last is shown.
fn xpub_verbose_sees_duplicates(xpub_impl: Impl, binder: Impl, transport: Transport) {
    let xpub = socket(xpub_impl, SocketType::XPub);
    xpub.set_xpub_verbose();
    let subs = [
        socket(xpub_impl.other(), SocketType::Sub),
        socket(xpub_impl.other(), SocketType::Sub),
    ];
    let _addresses: Vec<BindAddress> = if binder == xpub_impl {
        vec![bind_and_connect(transport, &*xpub, &[&*subs[0], &*subs[1]])]
    } else {
        subs.iter()
            .map(|sub| bind_and_connect(transport, &**sub, &[&*xpub]))
            .collect()
    };

    for sub in &subs {
        sub.subscribe(b"t");
        let what = format!("verbose {xpub:?} from {sub:?}");
        let got = recv_pumping(&*xpub, &[&*subs[0], &*subs[1]]);
        assert_frames(&what, &got, &[subscription(true, b"t")]);
    }
    xpub.send(&message(&[b"u1"]));
    xpub.send(&message(&[b"t1"]));
    for sub in &subs {
        assert_frames(
            &format!("{sub:?} from {xpub:?}"),
            &sub.recv(),
            &message(&[b"t1"]),
        );
    }

    // Each SUB cancels, then subscribes to its own marker: once both markers are in, both
    // cancels have been processed (each connection is in order), whichever came first.
    let markers = [b"m0".as_slice(), b"m1".as_slice()];
    for (sub, marker) in subs.iter().zip(markers) {
        sub.unsubscribe(b"t");
        sub.subscribe(marker);
    }
    let mut markers_left: Vec<Vec<u8>> = markers
        .iter()
        .map(|marker| subscription(true, marker))
        .collect();
    let mut others = Vec::new();
    while !markers_left.is_empty() {
        let msg = recv_pumping(&*xpub, &[&*subs[0], &*subs[1]]);
        let before = markers_left.len();
        markers_left.retain(|marker| msg != [marker.clone()]);
        if markers_left.len() == before {
            others.push(msg);
        }
    }
    assert_batch(
        &format!("verbose {xpub:?}: notifications for two cancels of \"t\""),
        &others,
        &[vec![subscription(false, b"t")]],
    );
}

// ---- the publisher's filter ----

/// A PUB of `publisher` and a `subscriber_type` of the other implementation subscribed to
/// "a": the subscriber gets exactly the matching messages of a long mixed sequence, in order,
/// and none once it cancels. A libzmq XSUB filters nothing itself, so with one the test sees
/// ferrozmq's publisher-side filter alone.
fn publisher_filters(publisher_impl: Impl, subscriber_type: SocketType, transport: Transport) {
    const COUNT: usize = 600;
    let publisher = socket(publisher_impl, SocketType::Pub);
    publisher.set_unlimited_sndhwm(); // A PUB drops at the mark; this test must lose nothing.
    let subscriber = Subscriber::new(publisher_impl.other(), subscriber_type);
    let _address = bind_and_connect(transport, &*publisher, &[&*subscriber]);
    subscriber.subscribe(b"a");
    subscriber.subscribe(END);

    let topics: [&[u8]; 7] = [b"a", b"b", b"ab", b"ba", b"", b"A", b"a\x00"];
    let sent: Vec<Frames> = (0..COUNT)
        .map(|i| {
            let topic = topics[i % topics.len()];
            let mut msg = vec![[topic, format!("{i}").as_bytes()].concat()];
            if i % 5 == 0 {
                msg.push(format!("part of {i}").into_bytes());
            }
            msg
        })
        .collect();
    let want: Vec<Frames> = sent
        .iter()
        .filter(|msg| msg[0].starts_with(b"a"))
        .cloned()
        .collect();
    let what = format!("{subscriber:?} subscribed to \"a\" from {publisher:?}");
    sync(&*publisher, &subscriber);
    send_then_end(&*publisher, &sent);
    assert_batch(&what, &recv_until_end(&*subscriber), &want);

    subscriber.unsubscribe(b"a");
    sync(&*publisher, &subscriber);
    send_then_end(&*publisher, &sent);
    let what = format!("{subscriber:?} after cancelling \"a\" from {publisher:?}");
    assert_batch(&what, &recv_until_end(&*subscriber), &[]);
}

// ---- ZMTP 3.0 peers ----

/// RFC 23 §"Framing": the flag bits of a frame's first byte.
const MORE: u8 = 0x01;
const LONG: u8 = 0x02;
const COMMAND: u8 = 0x04;
/// No frame in these tests comes near this; a larger size means a broken stream.
const MAX_FRAME: u64 = 1 << 20;

/// One frame as it was on the wire.
#[derive(Clone, PartialEq, Eq)]
struct WireFrame {
    flags: u8,
    body: Vec<u8>,
}

impl WireFrame {
    fn new(flags: u8, body: &[u8]) -> WireFrame {
        WireFrame {
            flags,
            body: body.to_vec(),
        }
    }
}

impl fmt::Debug for WireFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:#04x} {:?}",
            self.flags,
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// A hand-written ZMTP 3.0 peer on a tcp connection: it sends a greeting with minor version 0
/// (so the other side must fall back to 3.0 rules) and reads what comes back frame by frame.
struct RawZmtp3_0 {
    stream: TcpStream,
    /// Bytes read but not yet parsed into frames.
    buf: Vec<u8>,
    what: String,
}

impl RawZmtp3_0 {
    /// Connects to a tcp `endpoint` as a `socket_type` peer and completes the NULL handshake,
    /// checking that the other side announces `peer_type`.
    fn connect(endpoint: &str, socket_type: &str, peer_type: &str) -> RawZmtp3_0 {
        let addr: SocketAddr = endpoint
            .strip_prefix("tcp://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("not a tcp endpoint: {endpoint}"));
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
            .unwrap_or_else(|e| panic!("connecting to {endpoint}: {e}"));
        let mut raw = RawZmtp3_0 {
            stream,
            buf: Vec::new(),
            what: format!("raw ZMTP 3.0 {socket_type} connected to {peer_type} at {endpoint}"),
        };
        raw.write(&greeting_3_0());
        let deadline = Instant::now() + TIMEOUT;
        while raw.buf.len() < 64 {
            assert!(
                raw.read_more(deadline),
                "{}: no complete greeting",
                raw.what
            );
        }
        let theirs: Vec<u8> = raw.buf.drain(..64).collect();
        assert_eq!(
            (theirs[0], theirs[9], theirs[10]),
            (0xFF, 0x7F, 3),
            "{}: not a ZMTP 3 greeting: {theirs:?}",
            raw.what
        );
        // libzmq 4.3 was seen to drop a peer whose greeting and READY came in one write, so
        // READY follows the greetings, as libzmq's own peers do.
        raw.write(&ready(socket_type));
        let frame = raw.frame();
        assert_eq!(
            ready_socket_type(&frame).as_deref(),
            Some(peer_type.as_bytes()),
            "{}: expected a READY with Socket-Type {peer_type}, got {frame:?}",
            raw.what
        );
        raw
    }

    /// Writes a message (RFC 23 §"Framing": MORE on all frames but the last; short sizes).
    fn send(&mut self, parts: &[&[u8]]) {
        let mut out = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let more = if i + 1 < parts.len() { MORE } else { 0 };
            out.push(more);
            out.push(u8::try_from(part.len()).expect("a short frame"));
            out.extend_from_slice(part);
        }
        self.write(&out);
    }

    /// The next frame, failing after [`TIMEOUT`].
    fn frame(&mut self) -> WireFrame {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some((frame, used)) = self.parse_frame(0) {
                self.buf.drain(..used);
                return frame;
            }
            assert!(
                self.read_more(deadline),
                "{}: no frame in {TIMEOUT:?}",
                self.what
            );
        }
    }

    /// Frames up to and including the first whose body is `last`.
    fn frames_until(&mut self, last: &[u8]) -> Vec<WireFrame> {
        let mut frames = Vec::new();
        loop {
            let frame = self.frame();
            let done = frame.body == last;
            frames.push(frame);
            if done {
                return frames;
            }
        }
    }

    /// The next whole message if it arrives within `timeout`; commands fail the test.
    fn message_within(&mut self, timeout: Duration) -> Option<Frames> {
        let deadline = Instant::now() + timeout;
        loop {
            let (mut at, mut frames) = (0, Frames::new());
            while let Some((frame, used)) = self.parse_frame(at) {
                assert_eq!(frame.flags & COMMAND, 0, "{}: command {frame:?}", self.what);
                at += used;
                frames.push(frame.body);
                if frame.flags & MORE == 0 {
                    self.buf.drain(..at);
                    return Some(frames);
                }
            }
            if !self.read_more(deadline) {
                return None;
            }
        }
    }

    /// The frame starting at `at` in the buffer and its length on the wire, if complete.
    fn parse_frame(&self, at: usize) -> Option<(WireFrame, usize)> {
        let (&flags, rest) = self.buf.get(at..)?.split_first()?;
        let (size, header) = if flags & LONG != 0 {
            let size: [u8; 8] = rest.get(..8)?.try_into().ok()?;
            (u64::from_be_bytes(size), 9)
        } else {
            (u64::from(*rest.first()?), 2)
        };
        assert!(size <= MAX_FRAME, "{}: a {size}-byte frame", self.what);
        let size = usize::try_from(size).ok()?;
        let body = self.buf.get(at + header..at + header + size)?;
        Some((WireFrame::new(flags, body), header + size))
    }

    /// Reads what is there into the buffer; false if nothing came before `deadline`.
    fn read_more(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        self.stream
            .set_read_timeout(Some(left))
            .expect("read timeout");
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => panic!("{}: connection closed", self.what),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
            Err(e) => panic!("{}: read: {e}", self.what),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if let Err(e) = self.stream.write_all(bytes) {
            panic!("{}: write: {e}", self.what);
        }
    }
}

/// RFC 23 §"Greeting": signature, version 3.0, mechanism NULL, as-server 0, filler.
fn greeting_3_0() -> Vec<u8> {
    let mut greeting = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 0];
    let mut mechanism = b"NULL".to_vec();
    mechanism.resize(20, 0);
    greeting.extend(mechanism);
    greeting.push(0);
    greeting.resize(64, 0);
    greeting
}

/// RFC 23 §"The NULL Security Mechanism": a READY command with the Socket-Type property.
fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend(b"READY");
    body.push(11);
    body.extend(b"Socket-Type");
    body.extend(u32::try_from(socket_type.len()).unwrap().to_be_bytes());
    body.extend(socket_type.as_bytes());
    let mut frame = vec![COMMAND, u8::try_from(body.len()).unwrap()];
    frame.extend(body);
    frame
}

/// The Socket-Type of a READY command (RFC 23 §"Commands", names case-insensitive), or
/// `None` if the frame is not one.
fn ready_socket_type(frame: &WireFrame) -> Option<Vec<u8>> {
    if frame.flags & COMMAND == 0 {
        return None;
    }
    let mut rest = frame.body.strip_prefix(b"\x05READY")?;
    while let Some((&name_len, after)) = rest.split_first() {
        let name = after.get(..usize::from(name_len))?;
        let after = after.get(usize::from(name_len)..)?;
        let len: [u8; 4] = after.get(..4)?.try_into().ok()?;
        let len = usize::try_from(u32::from_be_bytes(len)).ok()?;
        let value = after.get(4..4 + len)?;
        if name.eq_ignore_ascii_case(b"Socket-Type") {
            return Some(value.to_vec());
        }
        rest = after.get(4 + len..)?;
    }
    None
}

/// A raw ZMTP 3.0 SUB subscribes to "a" with a 0x01 message (3.0 has no SUBSCRIBE command)
/// to a PUB of `publisher`, then cancels with a 0x00 message; returns every frame the PUB
/// wrote to it after the probes.
fn zmtp_3_0_subscriber_sees(publisher: Impl) -> Vec<WireFrame> {
    let publisher = socket(publisher, SocketType::Pub);
    let endpoint = publisher.bind("tcp://127.0.0.1:*");
    let mut raw = RawZmtp3_0::connect(&endpoint, "SUB", "PUB");
    raw.send(&[&subscription(true, b"a")]);
    let what = raw.what.clone();
    probe(&*publisher, b"a~", &what, |t| raw.message_within(t));
    let sent = messages(&[
        &[b"a1"],
        &[b"b1"],
        &[b"a-multi", b"part"],
        &[b"ba"],
        &[b"a2"],
        &[b"a-end"],
    ]);
    for msg in &sent {
        publisher.send(msg);
    }
    let mut frames = raw.frames_until(b"a-end");

    raw.send(&[&subscription(false, b"a")]);
    raw.send(&[&subscription(true, b"z")]);
    probe(&*publisher, b"z~", &what, |t| raw.message_within(t));
    publisher.send(&message(&[b"a3"]));
    publisher.send(&message(&[b"z-end"]));
    frames.extend(raw.frames_until(b"z-end"));
    frames
}

/// A SUB or XSUB of `subscriber` subscribes to "a" and binds; a raw ZMTP 3.0 PUB connects
/// and sends a1, b1, a2 and a-end, filtering nothing. Returns what the subscriber delivered
/// up to a-end, and the frames it wrote: its subscription to "a", then (after the messages)
/// a subscription to "b" and a cancel of "a". The raw PUB reads only after the subscriber
/// received: a bound libzmq socket takes a new peer on board, and sends it its
/// subscriptions, only inside a call such as recv.
fn zmtp_3_0_publisher_sees(
    subscriber: Impl,
    socket_type: SocketType,
) -> (Vec<Frames>, Vec<WireFrame>) {
    let subscriber = Subscriber::new(subscriber, socket_type);
    subscriber.subscribe(b"a");
    let endpoint = subscriber.bind("tcp://127.0.0.1:*");
    let mut raw = RawZmtp3_0::connect(&endpoint, "PUB", socket_type.name());
    for msg in [b"a1".as_slice(), b"b1", b"a2", b"a-end"] {
        raw.send(&[msg]);
    }
    let end = message(&[b"a-end"]);
    let mut delivered = Vec::new();
    while delivered.last() != Some(&end) {
        delivered.push(subscriber.recv());
    }
    let mut frames = vec![raw.frame()];
    subscriber.subscribe(b"b");
    subscriber.unsubscribe(b"a");
    frames.push(raw.frame());
    frames.push(raw.frame());
    (delivered, frames)
}

/// Runs [`zmtp_3_0_publisher_sees`] with libzmq, checks libzmq against `want`, then ferrozmq
/// against libzmq.
fn same_as_libzmq_for_zmtp_3_0_publisher(socket_type: SocketType, want_delivered: &[Frames]) {
    let want_frames = vec![
        WireFrame::new(0, b"\x01a"),
        WireFrame::new(0, b"\x01b"),
        WireFrame::new(0, b"\x00a"),
    ];
    let name = socket_type.name();
    let (delivered, frames) = zmtp_3_0_publisher_sees(Impl::Libzmq, socket_type);
    assert_eq!(frames, want_frames, "libzmq {name} to a ZMTP 3.0 publisher");
    assert_batch(
        &format!("libzmq {name} delivered"),
        &delivered,
        want_delivered,
    );
    let (ferrozmq_delivered, ferrozmq_frames) =
        zmtp_3_0_publisher_sees(Impl::Ferrozmq, socket_type);
    assert_eq!(
        ferrozmq_frames, frames,
        "ferrozmq {name} (left) against libzmq {name} (right) to a ZMTP 3.0 publisher"
    );
    assert_batch(
        &format!("ferrozmq {name} delivered, against libzmq"),
        &ferrozmq_delivered,
        &delivered,
    );
}

// ---- reconnection ----

/// A SUB of the other implementation stays connected to a PUB of `publisher` that is closed
/// and bound again on the same tcp port: the SUB reconnects and resubscribes by itself (the
/// probe after the restart uses a topic subscribed before it).
fn publisher_restarts(publisher: Impl) {
    let subscriber = socket(publisher.other(), SocketType::Sub);
    subscriber.subscribe(b"a");
    let first = socket(publisher, SocketType::Pub);
    let address = BindAddress::new(Transport::Tcp);
    let endpoint = first.bind(address.endpoint());
    subscriber.connect(&endpoint);
    expect_a_messages(&*first, &*subscriber, b"before restart");
    drop(first);

    let second = socket(publisher, SocketType::Pub);
    bind_retrying(&*second, &endpoint);
    expect_a_messages(&*second, &*subscriber, b"after restart");
}

/// A SUB of the other implementation connects to a tcp port before a PUB of `publisher`
/// binds it: it keeps retrying, and subscribes once connected.
fn subscriber_connects_first(publisher: Impl) {
    let subscriber = socket(publisher.other(), SocketType::Sub);
    subscriber.subscribe(b"a");
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    subscriber.connect(&endpoint);
    let publisher = socket(publisher, SocketType::Pub);
    bind_retrying(&*publisher, &endpoint);
    expect_a_messages(&*publisher, &*subscriber, b"late bind");
}

/// Probes on a topic under "a", then checks that of `[a…]`, `[b…]`, only the first arrives.
fn expect_a_messages(publisher: &dyn Peer, subscriber: &dyn Peer, label: &[u8]) {
    probe(publisher, b"a~", &format!("{subscriber:?}"), |t| {
        subscriber.recv_within(t)
    });
    let (a, b) = (vec![[b"a ", label].concat()], vec![[b"b ", label].concat()]);
    publisher.send(&b);
    publisher.send(&a);
    let what = format!("{subscriber:?} from {publisher:?}");
    assert_frames(&what, &subscriber.recv(), &a);
}

/// Binds, retrying while the port is still held by a socket closed a moment ago.
fn bind_retrying(peer: &dyn Peer, endpoint: &str) {
    let deadline = Instant::now() + TIMEOUT;
    while let Err(e) = peer.try_bind(endpoint) {
        assert!(Instant::now() < deadline, "{peer:?}: bind {endpoint}: {e}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A tcp port on loopback that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free tcp port")
        .port()
}

// ---- the tests ----

/// `$tests!(args, binder, transport)` for ferrozmq and libzmq binding, over tcp and ipc, as
/// modules `<binder>::<transport>`.
macro_rules! each_binder_and_transport {
    ($tests:ident!($($arg:expr),*)) => {
        mod ferrozmq_binds {
            use super::*;
            mod tcp {
                use super::*;
                $tests!($($arg,)* Impl::Ferrozmq, Transport::Tcp);
            }
            mod ipc {
                use super::*;
                $tests!($($arg,)* Impl::Ferrozmq, Transport::Ipc);
            }
        }
        mod libzmq_binds {
            use super::*;
            mod tcp {
                use super::*;
                $tests!($($arg,)* Impl::Libzmq, Transport::Tcp);
            }
            mod ipc {
                use super::*;
                $tests!($($arg,)* Impl::Libzmq, Transport::Ipc);
            }
        }
    };
}

/// One `#[test]` per `name: function(args);`, calling `function(args, binder, transport)`.
macro_rules! cell_tests {
    ($binder:expr, $transport:expr; $($name:ident: $run:ident($($arg:expr),*);)*) => {$(
        #[test]
        fn $name() {
            $run($($arg,)* $binder, $transport);
        }
    )*};
}

macro_rules! pub_sub_tests {
    ($publisher:expr, $binder:expr, $transport:expr) => {
        cell_tests! { $binder, $transport;
            prefix_filtering: run_pub_sub($publisher, PubSubScenario::PrefixFiltering);
            empty_subscription_matches_everything:
                run_pub_sub($publisher, PubSubScenario::EmptySubscriptionMatchesEverything);
            subscriptions_are_counted:
                run_pub_sub($publisher, PubSubScenario::SubscriptionsAreCounted);
            unsubscribe_stops_delivery:
                run_pub_sub($publisher, PubSubScenario::UnsubscribeStopsDelivery);
        }
    };
}

macro_rules! xpub_tests {
    ($xpub:expr, $binder:expr, $transport:expr) => {
        cell_tests! { $binder, $transport;
            sub_subscribes_and_cancels: xpub_sees_subscriptions($xpub, SocketType::Sub);
            xsub_subscribes_sends_upstream_and_cancels:
                xpub_sees_subscriptions($xpub, SocketType::XSub);
            verbose_sees_duplicate_subscriptions: xpub_verbose_sees_duplicates($xpub);
        }
    };
}

/// `pub_sub::<ferrozmq_pub|ferrozmq_sub>::<binder>::<transport>::<scenario>`.
mod pub_sub {
    use super::*;
    /// ferrozmq PUB, libzmq SUB.
    mod ferrozmq_pub {
        use super::*;
        each_binder_and_transport!(pub_sub_tests!(Impl::Ferrozmq));
    }
    /// libzmq PUB, ferrozmq SUB.
    mod ferrozmq_sub {
        use super::*;
        each_binder_and_transport!(pub_sub_tests!(Impl::Libzmq));
    }
}

/// `xpub_xsub::<ferrozmq_xpub|libzmq_xpub>::<binder>::<transport>::<scenario>`.
mod xpub_xsub {
    use super::*;
    /// ferrozmq XPUB, libzmq SUB and XSUB.
    mod ferrozmq_xpub {
        use super::*;
        each_binder_and_transport!(xpub_tests!(Impl::Ferrozmq));
    }
    /// libzmq XPUB, ferrozmq SUB and XSUB.
    mod libzmq_xpub {
        use super::*;
        each_binder_and_transport!(xpub_tests!(Impl::Libzmq));
    }
}

/// `publisher_filter::<publisher>_pub_<subscriber>::<transport>`.
mod publisher_filter {
    use super::*;

    macro_rules! filter_tests {
        ($($name:ident: $publisher:ident, $subscriber:ident;)*) => {$(
            mod $name {
                use super::*;
                #[test]
                fn tcp() {
                    publisher_filters(Impl::$publisher, SocketType::$subscriber, Transport::Tcp);
                }
                #[test]
                fn ipc() {
                    publisher_filters(Impl::$publisher, SocketType::$subscriber, Transport::Ipc);
                }
            }
        )*};
    }

    filter_tests! {
        ferrozmq_pub_libzmq_sub: Ferrozmq, Sub;
        ferrozmq_pub_libzmq_xsub: Ferrozmq, XSub;
        libzmq_pub_ferrozmq_sub: Libzmq, Sub;
        libzmq_pub_ferrozmq_xsub: Libzmq, XSub;
    }
}

/// A ZMTP 3.0 subscriber gets the same frames from a ferrozmq PUB as from a libzmq PUB.
#[test]
fn zmtp_3_0_subscriber_gets_the_same_frames_from_both_publishers() {
    let want = vec![
        WireFrame::new(0, b"a1"),
        WireFrame::new(MORE, b"a-multi"),
        WireFrame::new(0, b"part"),
        WireFrame::new(0, b"a2"),
        WireFrame::new(0, b"a-end"),
        WireFrame::new(0, b"z-end"),
    ];
    let libzmq = zmtp_3_0_subscriber_sees(Impl::Libzmq);
    assert_eq!(libzmq, want, "libzmq PUB to a ZMTP 3.0 subscriber");
    let ferrozmq = zmtp_3_0_subscriber_sees(Impl::Ferrozmq);
    assert_eq!(
        ferrozmq, libzmq,
        "ferrozmq PUB (left) against libzmq PUB (right)"
    );
}

/// A ZMTP 3.0 publisher gets the same subscription bytes from a ferrozmq SUB as from a libzmq
/// SUB: 0x01/0x00 + topic as messages, never SUBSCRIBE or CANCEL commands; and both SUBs
/// filter what the publisher did not.
#[test]
fn zmtp_3_0_publisher_gets_the_same_subscriptions_from_both_subscribers() {
    let want = messages(&[&[b"a1"], &[b"a2"], &[b"a-end"]]);
    same_as_libzmq_for_zmtp_3_0_publisher(SocketType::Sub, &want);
}

/// Likewise for XSUB, which (in libzmq) leaves filtering to the publisher entirely and
/// delivers whatever arrives.
#[test]
fn zmtp_3_0_publisher_gets_the_same_subscriptions_from_both_xsubs() {
    let want = messages(&[&[b"a1"], &[b"b1"], &[b"a2"], &[b"a-end"]]);
    same_as_libzmq_for_zmtp_3_0_publisher(SocketType::XSub, &want);
}

#[test]
fn ferrozmq_sub_resubscribes_when_libzmq_pub_restarts() {
    publisher_restarts(Impl::Libzmq);
}

#[test]
fn libzmq_sub_resubscribes_when_ferrozmq_pub_restarts() {
    publisher_restarts(Impl::Ferrozmq);
}

#[test]
fn ferrozmq_sub_connects_before_libzmq_pub_binds() {
    subscriber_connects_first(Impl::Libzmq);
}

#[test]
fn libzmq_sub_connects_before_ferrozmq_pub_binds() {
    subscriber_connects_first(Impl::Ferrozmq);
}
