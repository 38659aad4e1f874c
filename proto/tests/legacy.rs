//! The fall-back to ZMTP 2.0 (RFC 15) and ZMTP 1.0 (RFC 13): byte fixtures captured from
//! JeroMQ 0.3.6 and written from RFC 13, fed whole and one byte at a time, with the exact
//! bytes we answer; both our roles (the side that reads the peer's frames and the side that
//! sends them); refusals; and hostile sizes.

mod common;

use bytes::{Bytes, BytesMut};
use common::{drain, feed, fixture};
use ferrozmq_proto::{
    DecodeError, LegacyRefusal, Message, PeerMisbehaved, Session, SessionConfig, SessionError,
    SessionEvent, SocketType, WireRevision,
};

const SIGNATURE_NO_ID: &[u8] = b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f";

fn new(socket_type: SocketType, routing_id: &'static [u8]) -> (Session, std::time::Instant) {
    let mut config = SessionConfig::new(socket_type);
    config.routing_id = Bytes::from_static(routing_id);
    let now = std::time::Instant::now();
    (Session::new(config, now), now)
}

fn msg(frames: &[&[u8]]) -> Message {
    Message::from(
        frames
            .iter()
            .map(|f| Bytes::copy_from_slice(f))
            .collect::<Vec<_>>(),
    )
}

/// Feeds `bytes` whole and one byte at a time; both must give the same events and output.
fn run(
    socket_type: SocketType,
    routing_id: &'static [u8],
    bytes: &[u8],
) -> (Vec<SessionEvent>, Vec<u8>) {
    let mut results = Vec::new();
    for one in [false, true] {
        let (mut s, now) = new(socket_type, routing_id);
        let (events, result) = feed(&mut s, bytes, one, now);
        result.unwrap();
        results.push((events, drain(&mut s)));
    }
    let (whole, single) = (&results[0], &results[1]);
    assert_eq!(format!("{:?}", whole.0), format!("{:?}", single.0));
    assert_eq!(whole.1, single.1);
    results.swap_remove(0)
}

fn ready(events: &[SessionEvent]) -> &ferrozmq_proto::PeerInfo {
    match events.first() {
        Some(SessionEvent::Ready(info)) => info,
        other => panic!("no Ready first: {other:?}"),
    }
}

#[test]
fn zmtp2_dealer_from_jeromq() {
    let (events, out) = run(SocketType::Router, b"", &fixture("jeromq_dealer_v2"));
    let peer = ready(&events);
    assert_eq!(peer.revision, WireRevision::Zmtp2_0);
    assert_eq!(peer.socket_type, SocketType::Dealer);
    assert_eq!(peer.routing_id.as_deref(), Some(&b"dealer-id"[..]));
    assert_eq!(peer.minor_version, 0);
    assert!(matches!(&events[1..], [SessionEvent::Message(m)] if *m == msg(&[b"m", b"0", b""])));
    // RFC 15: our signature, our major version (3) in the revision's place as libzmq,
    // ROUTER (6), an empty identity frame; nothing of the 3.x greeting beyond it.
    assert_eq!(out, [SIGNATURE_NO_ID, b"\x03\x06\x00\x00"].concat());
}

#[test]
fn zmtp2_push_from_jeromq_to_a_pull_with_a_routing_id() {
    let (events, out) = run(SocketType::Pull, b"me", &fixture("jeromq_push_v2"));
    let peer = ready(&events);
    assert_eq!(
        (peer.revision, peer.socket_type),
        (WireRevision::Zmtp2_0, SocketType::Push)
    );
    assert_eq!(peer.routing_id, None);
    let messages: Vec<_> = events[1..]
        .iter()
        .map(|e| match e {
            SessionEvent::Message(m) => m.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        messages,
        [msg(&[b"m", b"0", b""]), msg(&[b"m", b"1", b"b"])]
    );
    // The signature's padding is our identity's length + 1; the identity frame carries it.
    assert_eq!(
        out,
        b"\xff\x00\x00\x00\x00\x00\x00\x00\x03\x7f\x03\x07\x00\x02me"
    );
}

/// Our sending side in ZMTP 2.0 framing: MORE 0x01, LONG 0x02 (RFC 15 §"Framing").
#[test]
fn zmtp2_frames_we_send() {
    let (mut s, now) = new(SocketType::Push, b"");
    // A message sent before the handshake is kept and encoded in the peer's framing.
    s.send_message(&msg(&[b"a", b""]));
    let peer = [SIGNATURE_NO_ID, b"\x01\x07\x00\x00"].concat(); // a ZMTP 2.0 PULL
    feed(&mut s, &peer, false, now).1.unwrap();
    s.send_message(&msg(&[&[9u8; 300]]));
    s.send_message(&Message::new());
    let mut want = [SIGNATURE_NO_ID, b"\x03\x08\x00\x00", b"\x01\x01a\x00\x00"].concat();
    want.extend(b"\x02\x00\x00\x00\x00\x00\x00\x01\x2c");
    want.extend([9u8; 300]);
    want.extend(b"\x00\x00");
    assert_eq!(drain(&mut s), want);
}

/// RFC 15 §"Publish-Subscribe": subscriptions travel as messages, both ways.
#[test]
fn zmtp2_subscriptions_are_messages() {
    let (mut sub, now) = new(SocketType::Sub, b"");
    sub.send_subscription(b"ab", true);
    let peer_pub = [SIGNATURE_NO_ID, b"\x01\x01\x00\x00"].concat();
    feed(&mut sub, &peer_pub, false, now).1.unwrap();
    sub.send_subscription(b"ab", false);
    let out = drain(&mut sub);
    assert_eq!(&out[14..], b"\x00\x03\x01ab\x00\x03\x00ab");

    let (mut publisher, now) = new(SocketType::XPub, b"");
    let peer_sub = [SIGNATURE_NO_ID, b"\x01\x02\x00\x00\x00\x03\x01ab"].concat();
    let (events, result) = feed(&mut publisher, &peer_sub, false, now);
    result.unwrap();
    assert!(
        matches!(&events[..], [SessionEvent::Ready(_), SessionEvent::Subscribe(t)] if &t[..] == b"ab")
    );
    assert_eq!(&drain(&mut publisher)[10..], b"\x03\x09\x00\x00"); // XPUB is 9, as libzmq
}

#[test]
fn zmtp1_peer_without_signature() {
    let mut bytes = fixture("zmtp1_push");
    bytes.extend([5u8; 300]);
    let (events, out) = run(SocketType::Pull, b"", &bytes);
    let peer = ready(&events);
    assert_eq!(peer.revision, WireRevision::Zmtp1_0);
    // ZMTP 1.0 announces no type: one compatible with ours is assumed.
    assert_eq!(peer.socket_type, SocketType::Push);
    assert_eq!(peer.routing_id.as_deref(), Some(&b"ab"[..]));
    assert!(
        matches!(&events[1..], [SessionEvent::Message(a), SessionEvent::Message(b)]
        if *a == msg(&[b"m", b"hi"]) && *b == msg(&[&[5u8; 300]]))
    );
    // The peer read our signature as an identity frame header of length 1: an empty body
    // follows, so nothing more went out.
    assert_eq!(out, SIGNATURE_NO_ID);
}

/// Our sending side in ZMTP 1.0 framing, with a routing id: the signature announced its
/// length, its bytes follow (RFC 15 §"Backwards Interoperability").
#[test]
fn zmtp1_frames_we_send() {
    let (mut s, now) = new(SocketType::Dealer, b"xyz");
    feed(&mut s, b"\x01\x00", false, now).1.unwrap();
    s.send_message(&msg(&[b"m", b"hi"]));
    s.send_message(&msg(&[&[4u8; 254]]));
    let mut want = b"\xff\x00\x00\x00\x00\x00\x00\x00\x04\x7fxyz".to_vec();
    want.extend(b"\x02\x01m\x03\x00hi");
    // RFC 13: a length of 255 (254 + flags) takes the long form.
    want.extend(b"\xff\x00\x00\x00\x00\x00\x00\x00\xff\x00");
    want.extend([4u8; 254]);
    assert_eq!(drain(&mut s), want);
}

/// A ZMTP 1.0 subscriber sends no subscriptions (RFC 13): as libzmq, a publisher acts as if
/// it subscribed to everything.
#[test]
fn zmtp1_subscriber_gets_everything() {
    let (events, _) = run(SocketType::Pub, b"", b"\x01\x00");
    assert!(
        matches!(&events[..], [SessionEvent::Ready(p), SessionEvent::Subscribe(t)]
        if p.revision == WireRevision::Zmtp1_0 && t.is_empty())
    );
}

/// A signature followed by revision 0: the ZMTP 2.0 greeting with ZMTP 1.0 framing after.
#[test]
fn revision_0_uses_zmtp1_framing() {
    let peer = [SIGNATURE_NO_ID, b"\x00\x07", b"\x01\x00"].concat(); // PULL, empty identity
    let (events, out) = run(SocketType::Push, b"", &peer);
    let p = ready(&events);
    assert_eq!(
        (p.revision, p.socket_type),
        (WireRevision::Zmtp1_0, SocketType::Pull)
    );
    assert_eq!(out, [SIGNATURE_NO_ID, b"\x03\x08\x01\x00"].concat());
}

#[test]
fn legacy_peers_are_refused_when_legacy_protocols_are_off() {
    let cases: [(&[u8], WireRevision); 3] = [
        (b"\x01\x00", WireRevision::Zmtp1_0),
        (
            b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x00",
            WireRevision::Zmtp1_0,
        ),
        (
            b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x01",
            WireRevision::Zmtp2_0,
        ),
    ];
    for (bytes, revision) in cases {
        let mut config = SessionConfig::new(SocketType::Pull);
        config.legacy_protocols = false;
        let now = std::time::Instant::now();
        let mut s = Session::new(config, now);
        let (events, result) = feed(&mut s, bytes, false, now);
        assert!(events.is_empty());
        let err = result.unwrap_err();
        assert_eq!(
            err,
            SessionError::LegacyPeerRefused {
                revision,
                reason: LegacyRefusal::Disabled
            }
        );
        assert!(
            err.to_string().contains("legacy protocols are disabled"),
            "{err}"
        );
    }
}

fn fails(socket_type: SocketType, max_msg_size: Option<u64>, bytes: &[u8]) -> SessionError {
    let mut config = SessionConfig::new(socket_type);
    config.max_msg_size = max_msg_size;
    let now = std::time::Instant::now();
    let mut s = Session::new(config, now);
    let err = feed(&mut s, bytes, false, now).1.unwrap_err();
    // The session stays dead.
    assert!(s
        .handle_input(&mut BytesMut::from(&b"\x00"[..]), now)
        .is_err());
    err
}

fn misbehaved(e: impl Into<PeerMisbehaved>) -> SessionError {
    SessionError::PeerMisbehaved(e.into())
}

#[test]
fn hostile_zmtp2_input() {
    let greeting = |tail: &[u8]| [SIGNATURE_NO_ID, b"\x01\x08\x00\x00", tail].concat();
    // Sizes are checked against MAXMSGSIZE from the header, before the body arrives.
    assert_eq!(
        fails(
            SocketType::Pull,
            Some(1000),
            &greeting(b"\x02\x00\x00\x00\x00\x00\x00\x03\xe9")
        ),
        misbehaved(PeerMisbehaved::FrameTooLarge {
            size: 1001,
            limit: 1000
        })
    );
    assert_eq!(
        fails(
            SocketType::Pull,
            None,
            &greeting(b"\x02\xff\xff\xff\xff\xff\xff\xff\xff")
        ),
        misbehaved(DecodeError::SizeOverflow)
    );
    // ... and for the whole message, not only each frame.
    let mut frames = Vec::new();
    for _ in 0..5 {
        frames.extend(b"\x01\xfa");
        frames.extend([0u8; 250]);
    }
    assert_eq!(
        fails(SocketType::Pull, Some(1000), &greeting(&frames)),
        misbehaved(PeerMisbehaved::MessageTooLarge {
            size: 1250,
            limit: 1000
        })
    );
    // RFC 15: bits 2-7 are reserved (no COMMAND flag in ZMTP 2.0).
    assert_eq!(
        fails(SocketType::Pull, None, &greeting(b"\x04\x00")),
        misbehaved(DecodeError::ReservedFlags(4))
    );
    let v2 = |socket_type: u8, identity: &[u8]| {
        [SIGNATURE_NO_ID, &[1, socket_type][..], identity].concat()
    };
    assert_eq!(
        fails(SocketType::Pull, None, &v2(11, b"")),
        misbehaved(PeerMisbehaved::UnknownSocketTypeNumber(11))
    );
    assert_eq!(
        fails(SocketType::Pull, None, &v2(3, b"")),
        misbehaved(PeerMisbehaved::IncompatibleSocketType {
            ours: SocketType::Pull,
            peer: SocketType::Req
        })
    );
    assert_eq!(
        fails(
            SocketType::Pull,
            None,
            &v2(8, b"\x02\x00\x00\x00\x00\x00\x00\x01\x00")
        ),
        misbehaved(PeerMisbehaved::IdentityTooLong(256))
    );
}

#[test]
fn hostile_zmtp1_input() {
    // RFC 13: a length of 0 has no room for the flags byte.
    assert_eq!(
        fails(SocketType::Pull, None, b"\x00\x00"),
        misbehaved(DecodeError::ZeroLength)
    );
    // Identity of 256 bytes (length 257).
    assert_eq!(
        fails(
            SocketType::Pull,
            None,
            b"\xff\x00\x00\x00\x00\x00\x00\x01\x01\x00"
        ),
        misbehaved(PeerMisbehaved::IdentityTooLong(256))
    );
    // A frame of 4095 bytes against MAXMSGSIZE 1000, refused from its header.
    assert_eq!(
        fails(
            SocketType::Pull,
            Some(1000),
            b"\x01\x00\xff\x00\x00\x00\x00\x00\x00\x10\x00"
        ),
        misbehaved(PeerMisbehaved::FrameTooLarge {
            size: 4095,
            limit: 1000
        })
    );
}

proptest::proptest! {
    /// Arbitrary bytes after a ZMTP 2.0 or 1.0 greeting, in arbitrary chunks, never panic a
    /// session, and an error leaves it dead.
    #[test]
    fn arbitrary_legacy_traffic_never_panics(
        v1 in proptest::prelude::any::<bool>(),
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        chunk in 1usize..64,
        max in proptest::option::of(0u64..300),
    ) {
        let mut config = SessionConfig::new(SocketType::Dealer);
        config.max_msg_size = max;
        let now = std::time::Instant::now();
        let mut s = Session::new(config, now);
        let greeting: &[u8] = if v1 { b"\x01\x00" } else { b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x01\x06\x00\x00" };
        let mut buf = BytesMut::from(greeting);
        s.handle_input(&mut buf, now).unwrap();
        let mut failed = false;
        for piece in data.chunks(chunk) {
            buf.extend_from_slice(piece);
            if s.handle_input(&mut buf, now).is_err() {
                failed = true;
                break;
            }
            while s.poll_event().is_some() {}
        }
        if failed {
            proptest::prop_assert!(s.handle_input(&mut buf, now).is_err());
        }
    }
}
