//! Session tests: a pair of sessions wired together with virtual time, a session fed libzmq's
//! bytes (whole and one byte at a time), tampered input, timeouts, heartbeats, and the
//! ZMTP 3.0 / 3.1 subscription forms.

mod common;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::{command, drain, feed, fixture, greeting, ready, Pair};
use ferrozmq_proto::codec::{decode_frame, Command, FrameLimits, GREETING_LEN};
use ferrozmq_proto::{
    DecodeError, LegacyRefusal, Message, PeerMisbehaved, Session, SessionConfig, SessionError,
    SessionEvent, SocketType, WireRevision,
};

fn session(socket_type: SocketType) -> (Session, std::time::Instant) {
    let now = std::time::Instant::now();
    (Session::new(SessionConfig::new(socket_type), now), now)
}

/// Decodes every command in `bytes` (after a greeting), skipping message frames.
fn commands_in(bytes: &[u8]) -> Vec<Command> {
    let mut buf = BytesMut::from(bytes.get(GREETING_LEN..).unwrap_or_default());
    let mut out = Vec::new();
    while let Ok(Some(frame)) = decode_frame(&mut buf, &FrameLimits::UNLIMITED) {
        if frame.is_command() {
            out.push(Command::decode(frame.body).unwrap());
        }
    }
    out
}

fn libzmq_dealer_then(extra: &[u8]) -> Vec<u8> {
    let mut bytes = fixture("libzmq_greeting_null_3_1");
    bytes.extend(fixture("libzmq_ready_dealer"));
    bytes.extend_from_slice(extra);
    bytes
}

fn assert_misbehaved(result: Result<(), SessionError>, expected: PeerMisbehaved) {
    assert_eq!(result, Err(SessionError::PeerMisbehaved(expected)));
}

/// A DEALER session fed a valid 3.1 NULL greeting and then `tail` must fail with `expected`.
fn rejected_after_greeting(tail: &[u8], expected: PeerMisbehaved) {
    let (mut s, now) = session(SocketType::Dealer);
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend_from_slice(tail);
    assert_misbehaved(feed(&mut s, &bytes, false, now).1, expected);
}

/// RFC 15 §"Backwards Interoperability", as libzmq: the signature first (its padding is our
/// routing id's length + 1), the major version once the peer's signature is versioned, the
/// rest once its revision is 3 or more.
#[test]
fn greeting_goes_out_in_stages_while_the_revision_is_detected() {
    let mut config = SessionConfig::new(SocketType::Dealer);
    config.routing_id = Bytes::from_static(b"abc");
    let now = std::time::Instant::now();
    let mut s = Session::new(config, now);
    assert_eq!(drain(&mut s), b"\xff\x00\x00\x00\x00\x00\x00\x00\x04\x7f");
    let peer = greeting(3, 1, b"NULL");
    let mut buf = BytesMut::from(&peer[..10]);
    s.handle_input(&mut buf, now).unwrap();
    assert_eq!(drain(&mut s), [3]);
    buf.extend_from_slice(&peer[10..11]);
    s.handle_input(&mut buf, now).unwrap();
    let rest = drain(&mut s);
    assert_eq!(rest.len(), GREETING_LEN - 11);
    assert_eq!(&rest[..5], b"\x01NULL");
    assert!(!s.is_ready());
}

/// A session that may not fall back (legacy protocols off) sends all 64 bytes at once.
#[test]
fn greeting_is_queued_at_once_without_legacy_protocols() {
    let mut config = SessionConfig::new(SocketType::Dealer);
    config.legacy_protocols = false;
    let s = Session::new(config, std::time::Instant::now());
    assert_eq!(s.pending_output().len(), GREETING_LEN);
    assert!(!s.is_ready());
}

#[test]
fn handshake_with_libzmq_dealer_bytes() {
    let (mut s, now) = session(SocketType::Router);
    let (events, result) = feed(
        &mut s,
        &libzmq_dealer_then(&fixture("short_frames")),
        false,
        now,
    );
    result.unwrap();
    assert!(s.is_ready());
    let [SessionEvent::Ready(peer), SessionEvent::Message(msg)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(peer.socket_type, SocketType::Dealer);
    assert_eq!(peer.routing_id.as_deref(), Some(&b"abc"[..]));
    assert_eq!(peer.minor_version, 1);
    assert_eq!(
        msg,
        &Message::from(vec![Bytes::from("hi"), Bytes::from("hello")])
    );
    let out = drain(&mut s);
    let [Command::Ready(md)] = &commands_in(&out)[..] else {
        panic!("no READY")
    };
    assert_eq!(&md.get("Socket-Type").unwrap()[..], b"ROUTER");
    assert_eq!(&md.get("Identity").unwrap()[..], b"");
}

#[test]
fn one_byte_at_a_time_gives_the_same_events() {
    let mut traffic = fixture("short_frames");
    traffic.extend(command(&Command::Ping {
        ttl_deciseconds: 0,
        context: Bytes::from_static(b"c"),
    }));
    traffic.extend(fixture("long_frame_header"));
    traffic.extend([7u8; 256]);
    let bytes = libzmq_dealer_then(&traffic);
    let run = |one| {
        let (mut s, now) = session(SocketType::Dealer);
        let (events, result) = feed(&mut s, &bytes, one, now);
        result.unwrap();
        (format!("{events:?}"), drain(&mut s))
    };
    let whole = run(false);
    assert_eq!(whole, run(true));
    assert!(whole.0.contains("Ready") && whole.0.matches("Message").count() == 2);
}

#[test]
fn pair_exchanges_messages() {
    for one_byte in [false, true] {
        let mut p = Pair::of(SocketType::Dealer, SocketType::Router);
        p.one_byte_at_a_time = one_byte;
        p.drive().unwrap();
        assert!(p.a.is_ready() && p.b.is_ready());
        let msg = Message::from(vec![Bytes::from("a"), Bytes::from(vec![9u8; 1000])]);
        p.a.send_message(&msg);
        p.a.send_message(&Message::new());
        p.b.send_message(&Message::from("reply"));
        p.drive().unwrap();
        let b_msgs: Vec<_> = p
            .b_events
            .iter()
            .skip(1)
            .map(|e| format!("{e:?}"))
            .collect();
        assert_eq!(
            b_msgs,
            [
                format!("{:?}", SessionEvent::Message(msg.clone())),
                format!("{:?}", SessionEvent::Message(Message::from(""))),
            ]
        );
        assert!(
            matches!(&p.a_events[..], [SessionEvent::Ready(_), SessionEvent::Message(m)] if m == &Message::from("reply"))
        );
    }
}

#[test]
fn sends_before_ready_are_kept() {
    let mut p = Pair::of(SocketType::Push, SocketType::Pull);
    p.a.send_message(&Message::from("early"));
    p.drive().unwrap();
    assert!(
        matches!(&p.b_events[..], [SessionEvent::Ready(_), SessionEvent::Message(m)] if m == &Message::from("early"))
    );
}

#[test]
fn partial_writes_are_resumed() {
    let mut p = Pair::of(SocketType::Push, SocketType::Pull);
    p.drive().unwrap();
    for _ in 0..1000 {
        p.a.send_message(&Message::from(&[1u8; 16]));
    }
    let total = p.a.pending_output().len();
    assert_eq!(total, 18 * 1000);
    let mut sent = Vec::new();
    while !p.a.pending_output().is_empty() {
        let n = p.a.pending_output().len().min(7);
        sent.extend_from_slice(&p.a.pending_output()[..n]);
        p.a.consume_output(n);
    }
    assert_eq!(sent.len(), total);
    let (events, result) = feed(&mut p.b, &sent, false, p.now);
    result.unwrap();
    assert_eq!(events.len(), 1000);
}

#[test]
fn large_bodies_are_queued_by_reference_and_arrive_intact() {
    let mut p = Pair::of(SocketType::Push, SocketType::Pull);
    p.drive().unwrap();
    let big = Bytes::from((0..100_000u32).map(|i| i as u8).collect::<Vec<u8>>());
    let msg = Message::from_iter([
        Bytes::from_static(b"head"),
        big.clone(),
        Bytes::from_static(b"t"),
    ]);
    p.a.send_message(&msg);
    p.a.send_message(&Message::from(&b"after"[..]));
    // The large body is its own run of the vectored output, not a copy.
    let mut slots = [std::io::IoSlice::new(&[]); 8];
    let n = p.a.pending_output_vectored(&mut slots);
    assert!(slots[..n]
        .iter()
        .any(|s| s.as_ptr() == big.as_ptr() && s.len() == big.len()));
    let total: usize = slots[..n].iter().map(|s| s.len()).sum();
    assert_eq!(total, p.a.pending_output_len());
    // Written 4093 bytes at a time (crossing run boundaries), it decodes to the same messages.
    let mut sent = Vec::new();
    while p.a.pending_output_len() > 0 {
        let run = p.a.pending_output();
        let k = run.len().min(4093);
        sent.extend_from_slice(&run[..k]);
        p.a.consume_output(k);
    }
    let (events, result) = feed(&mut p.b, &sent, false, p.now);
    result.unwrap();
    let got: Vec<Message> = events
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![msg, Message::from(&b"after"[..])]);
}

#[test]
fn bad_signature_is_rejected() {
    // A 0xFF and a 10th byte with bit 0 set announce a versioned peer: it must be 0x7F.
    let (mut s, now) = session(SocketType::Dealer);
    let (_, result) = feed(
        &mut s,
        b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7d",
        false,
        now,
    );
    assert_misbehaved(result, DecodeError::BadSignature.into());
    // The session stays dead.
    assert!(s.handle_input(&mut BytesMut::from(&b"x"[..]), now).is_err());
}

/// Without legacy protocols, a first byte other than 0xFF fails at once (with them, it is a
/// ZMTP 1.0 peer's identity frame: see tests/legacy.rs).
#[test]
fn no_signature_is_refused_on_the_first_byte_without_legacy_protocols() {
    let mut config = SessionConfig::new(SocketType::Dealer);
    config.legacy_protocols = false;
    let now = std::time::Instant::now();
    let mut s = Session::new(config, now);
    let (_, result) = feed(&mut s, b"G", false, now);
    assert_eq!(
        result,
        Err(SessionError::LegacyPeerRefused {
            revision: WireRevision::Zmtp1_0,
            reason: LegacyRefusal::Disabled
        })
    );
}

#[test]
fn major_version_2_is_unsupported() {
    let (mut s, now) = session(SocketType::Dealer);
    let mut bytes = greeting(3, 0, b"NULL");
    bytes[10] = 2;
    let (_, result) = feed(&mut s, &bytes[..11], true, now);
    assert_eq!(
        result,
        Err(SessionError::UnsupportedVersion { major: 2, minor: 0 })
    );
}

#[test]
fn mechanism_mismatch_is_rejected() {
    let (mut s, now) = session(SocketType::Dealer);
    let (_, result) = feed(&mut s, &greeting(3, 1, b"PLAIN"), false, now);
    assert_misbehaved(
        result,
        PeerMisbehaved::MechanismMismatch {
            ours: "NULL",
            peer: Bytes::from_static(b"PLAIN"),
        },
    );
}

#[test]
fn reserved_flag_bits_are_rejected() {
    let (mut s, now) = session(SocketType::Dealer);
    let (_, result) = feed(&mut s, &libzmq_dealer_then(b"\x10\x00"), false, now);
    assert_misbehaved(result, DecodeError::ReservedFlags(0x10).into());
}

#[test]
fn oversized_frame_fails_before_its_body() {
    let mut config = SessionConfig::new(SocketType::Dealer);
    config.max_msg_size = Some(100);
    let now = std::time::Instant::now();
    let mut s = Session::new(config, now);
    // Only the 9-byte header of a 101-byte frame: the error comes without the body.
    let (events, result) = feed(
        &mut s,
        &libzmq_dealer_then(b"\x02\0\0\0\0\0\0\0\x65"),
        false,
        now,
    );
    assert!(matches!(events[..], [SessionEvent::Ready(_)]));
    assert_misbehaved(
        result,
        PeerMisbehaved::FrameTooLarge {
            size: 101,
            limit: 100,
        },
    );
}

#[test]
fn command_with_more_is_rejected() {
    let (mut s, now) = session(SocketType::Dealer);
    let (_, result) = feed(&mut s, &libzmq_dealer_then(b"\x05\x05\x04PING"), false, now);
    assert_misbehaved(result, PeerMisbehaved::CommandWithMore);
}

#[test]
fn incompatible_socket_type_sends_error() {
    let (mut s, now) = session(SocketType::Pub);
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend(ready("PUSH", None));
    let (events, result) = feed(&mut s, &bytes, false, now);
    assert!(events.is_empty());
    assert_misbehaved(
        result,
        PeerMisbehaved::IncompatibleSocketType {
            ours: SocketType::Pub,
            peer: SocketType::Push,
        },
    );
    let cmds = commands_in(&drain(&mut s));
    assert!(
        matches!(&cmds[..], [Command::Ready(_), Command::Error { reason }] if &reason[..] == b"incompatible socket type")
    );
}

#[test]
fn incompatible_pair_over_the_wire() {
    let mut p = Pair::of(SocketType::Req, SocketType::Req);
    assert!(p.drive().is_err());
    assert!(!p.a.is_ready() && !p.b.is_ready());
}

#[test]
fn missing_or_unknown_socket_type() {
    rejected_after_greeting(
        &command(&Command::Ready(Default::default())),
        PeerMisbehaved::MissingSocketType,
    );
    rejected_after_greeting(
        &ready("CLIENT", None),
        PeerMisbehaved::UnknownSocketType {
            name: Bytes::from_static(b"CLIENT"),
        },
    );
}

#[test]
fn metadata_length_overrun_is_rejected() {
    // READY whose one property claims a 255-byte value but carries 3 bytes.
    rejected_after_greeting(
        b"\x04\x12\x05READY\x08Identity\x00\x00\x00\xffabc",
        DecodeError::TruncatedPropertyValue.into(),
    );
}

#[test]
fn traffic_before_ready_is_rejected() {
    rejected_after_greeting(b"\x00\x02hi", PeerMisbehaved::MessageBeforeReady);
    rejected_after_greeting(
        &command(&Command::Ping {
            ttl_deciseconds: 0,
            context: Bytes::new(),
        }),
        PeerMisbehaved::UnexpectedCommand {
            name: Bytes::from_static(b"PING"),
        },
    );
}

#[test]
fn peer_error_command_is_fatal() {
    let (mut s, now) = session(SocketType::Dealer);
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend(command(&Command::Error {
        reason: Bytes::from_static(b"go away"),
    }));
    assert_eq!(
        feed(&mut s, &bytes, false, now).1,
        Err(SessionError::PeerError {
            reason: "go away".into()
        })
    );
}

#[test]
fn unknown_commands_after_ready_are_ignored() {
    let (mut s, now) = session(SocketType::Dealer);
    let unknown = command(&Command::Unknown {
        name: Bytes::from_static(b"JOIN"),
        data: Bytes::from_static(b"g"),
    });
    let (events, result) = feed(&mut s, &libzmq_dealer_then(&unknown), false, now);
    result.unwrap();
    assert_eq!(events.len(), 1);
}

#[test]
fn handshake_timeout() {
    let (mut s, now) = session(SocketType::Dealer);
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(30)));
    s.handle_timeout(now + Duration::from_secs(29)).unwrap();
    assert_eq!(
        s.handle_timeout(now + Duration::from_secs(30)),
        Err(SessionError::HandshakeTimeout)
    );
    assert_eq!(s.poll_timeout(), None);
}

fn heartbeat_config(socket_type: SocketType) -> SessionConfig {
    let mut c = SessionConfig::new(socket_type);
    c.heartbeat_ivl = Some(Duration::from_secs(1));
    c.heartbeat_ttl = Some(Duration::from_secs(3));
    c.heartbeat_timeout = Some(Duration::from_secs(2));
    c
}

#[test]
fn heartbeat_ping_pong() {
    let mut p = Pair::new(
        heartbeat_config(SocketType::Dealer),
        SessionConfig::new(SocketType::Router),
    );
    p.drive().unwrap();
    assert_eq!(p.a.poll_timeout(), Some(p.now + Duration::from_secs(1)));
    assert_eq!(p.b.poll_timeout(), None);
    for _ in 0..5 {
        p.advance(Duration::from_secs(1));
        let (a, b) = p.tick();
        a.unwrap();
        b.unwrap();
        let ping = p.a.pending_output().to_vec();
        assert!(matches!(
            &commands_in(&[&[0; 64][..], &ping].concat())[..],
            [Command::Ping {
                ttl_deciseconds: 30,
                ..
            }]
        ));
        p.drive().unwrap();
        // b got a PING with a 3 s TTL; a got the PONG, so its heartbeat timeout is off.
        assert_eq!(p.b.poll_timeout(), Some(p.now + Duration::from_secs(3)));
        assert_eq!(p.a.poll_timeout(), Some(p.now + Duration::from_secs(1)));
    }
    assert!(
        p.a_events.len() == 1 && p.b_events.len() == 1,
        "heartbeats are not events"
    );
}

#[test]
fn heartbeat_timeout_without_traffic() {
    let mut p = Pair::new(
        heartbeat_config(SocketType::Dealer),
        SessionConfig::new(SocketType::Router),
    );
    p.drive().unwrap();
    p.advance(Duration::from_secs(1));
    p.tick().0.unwrap(); // PING queued, never delivered
    p.advance(Duration::from_secs(1));
    p.tick().0.unwrap(); // second PING; the timeout still counts from the first
    assert_eq!(p.a.poll_timeout(), Some(p.base + Duration::from_secs(3)));
    p.advance(Duration::from_secs(1));
    assert_eq!(p.tick().0, Err(SessionError::HeartbeatTimeout));
}

#[test]
fn peer_ttl_expires() {
    let mut p = Pair::new(
        heartbeat_config(SocketType::Dealer),
        SessionConfig::new(SocketType::Router),
    );
    p.drive().unwrap();
    p.advance(Duration::from_secs(1));
    p.tick().0.unwrap();
    p.drive().unwrap();
    let start = p.now;
    // a goes silent: drop everything it sends from now on.
    p.b.handle_timeout(start + Duration::from_millis(2999))
        .unwrap();
    assert_eq!(
        p.b.handle_timeout(start + Duration::from_secs(3)),
        Err(SessionError::PeerTtlExpired)
    );
}

#[test]
fn pong_echoes_ping_context() {
    let (mut s, now) = session(SocketType::Dealer);
    let ping = command(&Command::Ping {
        ttl_deciseconds: 0,
        context: Bytes::from_static(b"0123456789abcdef"),
    });
    let out_before = drain(&mut s);
    feed(&mut s, &libzmq_dealer_then(&ping), false, now)
        .1
        .unwrap();
    let out = [out_before, drain(&mut s)].concat();
    let cmds = commands_in(&out);
    assert!(
        matches!(&cmds[..], [Command::Ready(_), Command::Pong { context }] if &context[..] == b"0123456789abcdef")
    );
}

#[test]
fn no_heartbeats_with_a_3_0_peer() {
    let now = std::time::Instant::now();
    let mut s = Session::new(heartbeat_config(SocketType::Dealer), now);
    let mut bytes = greeting(3, 0, b"NULL");
    bytes.extend(ready("ROUTER", None));
    let (events, result) = feed(&mut s, &bytes, false, now);
    result.unwrap();
    assert!(matches!(&events[..], [SessionEvent::Ready(p)] if p.minor_version == 0));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn subscriptions_3_1_are_commands() {
    let mut p = Pair::of(SocketType::Sub, SocketType::Pub);
    p.drive().unwrap();
    p.a.send_subscription(b"topic", true);
    assert_eq!(p.a.pending_output(), &fixture("subscribe_topic")[..]);
    p.a.send_subscription(b"topic", false);
    p.drive().unwrap();
    let got: Vec<_> = p
        .b_events
        .iter()
        .skip(1)
        .map(|e| format!("{e:?}"))
        .collect();
    assert_eq!(
        got,
        [
            format!(
                "{:?}",
                SessionEvent::Subscribe(Bytes::from_static(b"topic"))
            ),
            format!("{:?}", SessionEvent::Cancel(Bytes::from_static(b"topic"))),
        ]
    );
}

#[test]
fn subscriptions_3_0_are_messages() {
    let (mut s, now) = session(SocketType::Sub);
    let mut bytes = greeting(3, 0, b"NULL");
    bytes.extend(ready("PUB", None));
    feed(&mut s, &bytes, false, now).1.unwrap();
    drain(&mut s);
    s.send_subscription(b"ab", true);
    s.send_subscription(b"ab", false);
    assert_eq!(s.pending_output(), b"\x00\x03\x01ab\x00\x03\x00ab");
}

#[test]
fn pub_accepts_3_0_subscription_messages() {
    let (mut s, now) = session(SocketType::XPub);
    let mut bytes = greeting(3, 0, b"NULL");
    bytes.extend(ready("XSUB", None));
    bytes.extend(b"\x00\x03\x01ab\x00\x01\x00\x00\x01\x02");
    let (events, result) = feed(&mut s, &bytes, false, now);
    result.unwrap();
    let got: Vec<_> = events.iter().skip(1).map(|e| format!("{e:?}")).collect();
    assert_eq!(
        got,
        [
            format!("{:?}", SessionEvent::Subscribe(Bytes::from_static(b"ab"))),
            format!("{:?}", SessionEvent::Cancel(Bytes::new())),
            format!("{:?}", SessionEvent::Message(Message::from(&b"\x02"[..]))),
        ]
    );
}

#[test]
fn future_major_version_is_accepted_as_3_1() {
    let (mut s, now) = session(SocketType::Dealer);
    let mut bytes = greeting(4, 0, b"NULL");
    bytes.extend(ready("DEALER", Some(b"x")));
    let (events, result) = feed(&mut s, &bytes, false, now);
    result.unwrap();
    assert!(
        matches!(&events[..], [SessionEvent::Ready(p)] if p.minor_version == 1 && p.routing_id.as_deref() == Some(&b"x"[..]))
    );
}

proptest::proptest! {
    /// Arbitrary bytes after a valid handshake, in arbitrary chunks, never panic a session,
    /// and an error leaves it dead.
    #[test]
    fn arbitrary_traffic_never_panics(
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        chunk in 1usize..40,
    ) {
        let now = std::time::Instant::now();
        let mut config = SessionConfig::new(SocketType::Router);
        config.max_msg_size = Some(200);
        let mut s = Session::new(config, now);
        let bytes = libzmq_dealer_then(&data);
        let mut buf = BytesMut::new();
        for piece in bytes.chunks(chunk) {
            buf.extend_from_slice(piece);
            if s.handle_input(&mut buf, now).is_err() {
                proptest::prop_assert!(s.handle_input(&mut buf, now).is_err());
                proptest::prop_assert!(!s.is_ready());
                break;
            }
            while s.poll_event().is_some() {}
        }
    }
}

// ---- bounds on what a peer can make a session hold ----

/// A PING with this context, encoded.
fn ping(context: &'static [u8]) -> Vec<u8> {
    command(&Command::Ping {
        ttl_deciseconds: 0,
        context: Bytes::from_static(context),
    })
}

#[test]
fn pings_that_are_never_read_leave_one_pong_pending() {
    let (mut s, now) = session(SocketType::Router);
    drain(&mut s);
    feed(&mut s, &libzmq_dealer_then(&[]), false, now)
        .1
        .unwrap();
    drain(&mut s); // our READY
    let one_ping = ping(b"ctx");
    let flood: Vec<u8> = one_ping
        .iter()
        .copied()
        .cycle()
        .take(one_ping.len() * 10_000)
        .collect();
    feed(&mut s, &flood, false, now).1.unwrap();
    // Before the fix every PING appended a PONG: 10,000 PONGs waited for a peer that
    // never reads.
    let pongs = commands_in(&[vec![0; GREETING_LEN], drain(&mut s)].concat());
    assert!(
        matches!(&pongs[..], [Command::Pong { context }] if &context[..] == b"ctx"),
        "{pongs:?}"
    );
    // Once the PONG was written, the next PING is answered again.
    feed(&mut s, &ping(b"again"), false, now).1.unwrap();
    let pongs = commands_in(&[vec![0; GREETING_LEN], drain(&mut s)].concat());
    assert!(matches!(&pongs[..], [Command::Pong { context }] if &context[..] == b"again"));
}

#[test]
fn a_pong_partly_written_still_counts_as_pending() {
    let (mut s, now) = session(SocketType::Router);
    drain(&mut s);
    feed(&mut s, &libzmq_dealer_then(&ping(b"a")), false, now)
        .1
        .unwrap();
    let queued = s.pending_output_len();
    s.consume_output(queued - 1); // all but the PONG's last byte
    feed(&mut s, &ping(b"b"), false, now).1.unwrap();
    assert_eq!(
        s.pending_output_len(),
        1,
        "no second PONG while one is unwritten"
    );
}

#[test]
fn limited_input_decodes_no_further_than_asked_and_resumes() {
    let (mut s, now) = session(SocketType::Pull);
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend(ready("PUSH", None));
    let messages = 1000;
    for _ in 0..messages {
        bytes.extend_from_slice(&[0, 0]); // an empty message: two bytes each
    }
    let mut buf = BytesMut::from(&bytes[..]);
    let mut seen = 0;
    let mut calls = 0;
    loop {
        s.handle_input_limited(&mut buf, now, 10).unwrap();
        let mut events = 0;
        while let Some(e) = s.poll_event() {
            events += 1;
            if matches!(e, SessionEvent::Message(_)) {
                seen += 1;
            }
        }
        assert!(events <= 10, "decoded {events} events with a budget of 10");
        calls += 1;
        if buf.is_empty() && events < 10 {
            break;
        }
        assert!(calls < 1000, "no progress");
    }
    assert_eq!(seen, messages);
}

#[test]
fn a_limit_never_splits_a_multipart_message() {
    let (mut s, now) = session(SocketType::Pull);
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend(ready("PUSH", None));
    bytes.extend_from_slice(&[1, 1, b'a', 1, 1, b'b', 0, 1, b'c', 0, 1, b'd']);
    let mut buf = BytesMut::from(&bytes[..]);
    // One event: READY. Then one message of three frames, then the next.
    s.handle_input_limited(&mut buf, now, 1).unwrap();
    assert!(matches!(s.poll_event(), Some(SessionEvent::Ready(_))));
    assert!(s.poll_event().is_none());
    s.handle_input_limited(&mut buf, now, 1).unwrap();
    assert!(matches!(s.poll_event(), Some(SessionEvent::Message(m)) if m.len() == 3));
    assert!(s.poll_event().is_none());
    assert_eq!(&buf[..], &[0, 1, b'd']);
}

#[test]
fn max_msg_size_bounds_the_whole_message() {
    let now = std::time::Instant::now();
    let mut config = SessionConfig::new(SocketType::Pull);
    config.max_msg_size = Some(100);
    let mut s = Session::new(config, now);
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend(ready("PUSH", None));
    // Three frames of 40 bytes: each under the limit, together over it.
    for flags in [1u8, 1, 0] {
        bytes.extend_from_slice(&[flags, 40]);
        bytes.extend_from_slice(&[b'x'; 40]);
    }
    assert_misbehaved(
        feed(&mut s, &bytes, false, now).1,
        PeerMisbehaved::MessageTooLarge {
            size: 120,
            limit: 100,
        },
    );
}

#[test]
fn bytes_left_undecoded_are_no_sign_of_life() {
    let now = std::time::Instant::now();
    let mut s = Session::new(heartbeat_config(SocketType::Pull), now);
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend(ready("PUSH", None));
    let mut buf = BytesMut::from(&bytes[..]);
    s.handle_input(&mut buf, now).unwrap();
    while s.poll_event().is_some() {}
    // The start of a frame arrives (traffic), then our PING goes out and the peer says
    // nothing new.
    let mut leftover = BytesMut::from(&[1u8, 5, b'p'][..]);
    s.handle_input(&mut leftover, now).unwrap();
    let ping_at = s.poll_timeout().unwrap();
    s.handle_timeout(ping_at).unwrap();
    let deadline = ping_at + Duration::from_secs(2); // heartbeat_timeout
                                                     // Decoding the same leftover again (the engine does after a pause) is not new traffic.
    s.handle_input(&mut leftover, deadline).unwrap();
    assert_eq!(
        s.handle_timeout(deadline),
        Err(SessionError::HeartbeatTimeout)
    );
}

#[test]
fn a_subscription_between_the_frames_of_a_message_is_refused() {
    let (mut s, now) = session(SocketType::Pub);
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend(ready("SUB", None));
    bytes.extend_from_slice(&[1, 1, b'a']); // a frame with MORE
    bytes.extend(command(&Command::Subscribe(Bytes::from_static(b"t"))));
    assert_misbehaved(
        feed(&mut s, &bytes, false, now).1,
        PeerMisbehaved::CommandInsideMessage {
            name: Bytes::from_static(b"SUBSCRIBE"),
        },
    );
}

#[test]
fn a_ping_between_the_frames_of_a_message_is_answered() {
    // libzmq's heartbeat timer can slip a PING between two frames of a message.
    let (mut s, now) = session(SocketType::Router);
    let mut bytes = libzmq_dealer_then(&[1, 1, b'a']);
    bytes.extend(ping(b"mid"));
    bytes.extend_from_slice(&[0, 1, b'b']);
    let (events, result) = feed(&mut s, &bytes, false, now);
    result.unwrap();
    assert!(
        matches!(&events[..], [SessionEvent::Ready(_), SessionEvent::Message(m)] if m.len() == 2)
    );
}
