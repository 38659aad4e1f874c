//! Codec tests: known byte vectors (libzmq's greeting and READY, a SUBSCRIBE, short and long
//! frames) and property-based round trips; arbitrary bytes never panic a decoder.

mod common;

use bytes::{Bytes, BytesMut};
use common::fixture;
use ferrozmq_proto::codec::{
    decode_frame, encode_frame, Command, Frame, FrameLimits, Greeting, Metadata, FLAG_COMMAND,
    FLAG_MORE, GREETING_LEN,
};
use ferrozmq_proto::{DecodeError, PeerMisbehaved};
use proptest::prelude::*;

fn one_frame(bytes: &[u8]) -> Frame {
    let mut buf = BytesMut::from(bytes);
    let frame = decode_frame(&mut buf, &FrameLimits::UNLIMITED)
        .unwrap()
        .unwrap();
    assert!(buf.is_empty(), "trailing bytes");
    frame
}

#[test]
fn libzmq_greeting_fixture() {
    let bytes = fixture("libzmq_greeting_null_3_1");
    assert_eq!(bytes.len(), GREETING_LEN);
    let g = Greeting::decode(&bytes).unwrap().unwrap();
    assert_eq!((g.major, g.minor, g.as_server), (3, 1, false));
    assert_eq!(&g.mechanism[..], b"NULL");
}

#[test]
fn our_greeting_matches_libzmq_but_for_padding() {
    let mut ours = BytesMut::new();
    Greeting::new(3, 1, b"NULL", false).encode(&mut ours);
    let mut libzmq = fixture("libzmq_greeting_null_3_1");
    libzmq[8] = 0; // libzmq's padding carries its identity size + 1
    assert_eq!(&ours[..], &libzmq[..]);
}

#[test]
fn libzmq_dealer_ready_fixture() {
    let frame = one_frame(&fixture("libzmq_ready_dealer"));
    assert!(frame.is_command() && !frame.more());
    let Command::Ready(md) = Command::decode(frame.body).unwrap() else {
        panic!("not READY")
    };
    // RFC 23: property names are case-insensitive.
    assert_eq!(&md.get("SOCKET-TYPE").unwrap()[..], b"DEALER");
    assert_eq!(&md.get("identity").unwrap()[..], b"abc");
    assert_eq!(md.iter().count(), 2);
    // Encoding the same properties gives libzmq's bytes back.
    let mut out = BytesMut::new();
    Command::Ready(md).encode(&mut out);
    assert_eq!(&out[..], &fixture("libzmq_ready_dealer")[..]);
}

#[test]
fn subscribe_fixture() {
    let frame = one_frame(&fixture("subscribe_topic"));
    assert_eq!(
        Command::decode(frame.body),
        Ok(Command::Subscribe(Bytes::from_static(b"topic")))
    );
    let mut out = BytesMut::new();
    Command::Subscribe(Bytes::from_static(b"topic")).encode(&mut out);
    assert_eq!(&out[..], &fixture("subscribe_topic")[..]);
}

#[test]
fn short_frames_fixture() {
    let mut buf = BytesMut::from(&fixture("short_frames")[..]);
    let a = decode_frame(&mut buf, &FrameLimits::UNLIMITED)
        .unwrap()
        .unwrap();
    let b = decode_frame(&mut buf, &FrameLimits::UNLIMITED)
        .unwrap()
        .unwrap();
    assert!(a.more() && !b.more());
    assert_eq!((&a.body[..], &b.body[..]), (&b"hi"[..], &b"hello"[..]));
    let mut out = BytesMut::new();
    encode_frame(&mut out, FLAG_MORE, b"hi");
    encode_frame(&mut out, 0, b"hello");
    assert_eq!(&out[..], &fixture("short_frames")[..]);
}

#[test]
fn long_frame_fixture() {
    let mut bytes = fixture("long_frame_header");
    let body: Vec<u8> = (0..=255).collect();
    bytes.extend_from_slice(&body);
    let frame = one_frame(&bytes);
    assert_eq!(&frame.body[..], &body[..]);
    let mut out = BytesMut::new();
    encode_frame(&mut out, 0, &body);
    assert_eq!(&out[..], &bytes[..]);
}

#[test]
fn a_long_encoding_of_a_small_body_is_accepted() {
    // RFC 23 says SHOULD use the short form; a long one is still valid.
    let frame = one_frame(b"\x02\x00\x00\x00\x00\x00\x00\x00\x02hi");
    assert_eq!(&frame.body[..], b"hi");
}

#[test]
fn frame_bodies_share_the_input_buffer() {
    let mut buf = BytesMut::new();
    for i in 0..100u8 {
        encode_frame(&mut buf, 0, &[i; 16]);
    }
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    while let Some(frame) = decode_frame(&mut buf, &FrameLimits::UNLIMITED).unwrap() {
        assert!(
            range.contains(&(frame.body.as_ptr() as usize)),
            "body was copied"
        );
    }
}

#[test]
fn metadata_value_overrun_is_rejected() {
    // Value length 0x10 but only 3 bytes follow.
    let body = Bytes::from_static(b"\x05READY\x08Identity\x00\x00\x00\x10abc");
    assert_eq!(
        Command::decode(body),
        Err(DecodeError::TruncatedPropertyValue)
    );
}

#[test]
fn oversized_declared_size_fails_without_the_body() {
    let limits = FrameLimits {
        message: 1000,
        command: 1000,
    };
    let mut buf = BytesMut::from(&b"\x02\x00\x00\x00\x01\x00\x00\x00\x00"[..]);
    assert_eq!(
        decode_frame(&mut buf, &limits),
        Err(PeerMisbehaved::FrameTooLarge {
            size: 1 << 32,
            limit: 1000
        })
    );
}

fn command_strategy() -> impl Strategy<Value = Command> {
    let bytes = |max| proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from);
    let name = proptest::collection::vec(any::<u8>(), 1..255).prop_map(Bytes::from);
    prop_oneof![
        bytes(300).prop_map(Command::Subscribe),
        bytes(300).prop_map(Command::Cancel),
        bytes(256).prop_map(|reason| Command::Error { reason }),
        (any::<u16>(), bytes(17)).prop_map(|(ttl_deciseconds, context)| Command::Ping {
            ttl_deciseconds,
            context
        }),
        bytes(17).prop_map(|context| Command::Pong { context }),
        metadata_strategy().prop_map(Command::Ready),
        (name, bytes(40)).prop_map(|(name, data)| Command::Unknown { name, data }),
    ]
}

fn metadata_strategy() -> impl Strategy<Value = Metadata> {
    let prop = (
        proptest::collection::vec(any::<u8>(), 1..256),
        proptest::collection::vec(any::<u8>(), 0..300),
    );
    proptest::collection::vec(prop, 0..5).prop_map(|props| {
        let mut md = Metadata::new();
        for (n, v) in props {
            md.insert(n, v);
        }
        md
    })
}

proptest! {
    #[test]
    fn frames_round_trip(more in any::<bool>(), body in proptest::collection::vec(any::<u8>(), 0..700)) {
        let mut out = BytesMut::new();
        let flags = if more { FLAG_MORE } else { 0 };
        encode_frame(&mut out, flags, &body);
        prop_assert_eq!(out.len(), body.len() + if body.len() > 255 { 9 } else { 2 });
        let frame = decode_frame(&mut out, &FrameLimits::UNLIMITED).unwrap().unwrap();
        prop_assert_eq!(frame.more(), more);
        prop_assert_eq!(&frame.body[..], &body[..]);
        prop_assert!(out.is_empty());
    }

    #[test]
    fn commands_round_trip(cmd in command_strategy()) {
        let mut out = BytesMut::new();
        cmd.encode(&mut out);
        let frame = decode_frame(&mut out, &FrameLimits::UNLIMITED).unwrap().unwrap();
        prop_assert!(frame.is_command() && !frame.more());
        prop_assert_eq!(frame.flags & FLAG_COMMAND, FLAG_COMMAND);
        // An Unknown whose name happens to be a known one decodes as that command.
        let decoded = Command::decode(frame.body);
        if let (Command::Unknown { name, .. }, Ok(d)) = (&cmd, &decoded) {
            prop_assert_eq!(&name[..], d.name());
        } else {
            prop_assert_eq!(decoded, Ok(cmd));
        }
    }

    #[test]
    fn metadata_round_trips(md in metadata_strategy()) {
        let mut out = BytesMut::new();
        md.encode(&mut out);
        prop_assert_eq!(out.len(), md.encoded_len());
        prop_assert_eq!(Metadata::decode(out.freeze()), Ok(md));
    }

    #[test]
    fn arbitrary_bytes_never_panic_decoders(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Greeting::decode(&data);
        let _ = Command::decode(Bytes::from(data.clone()));
        let _ = Metadata::decode(Bytes::from(data.clone()));
        let mut buf = BytesMut::from(&data[..]);
        while let Ok(Some(_)) = decode_frame(&mut buf, &FrameLimits::UNLIMITED) {}
    }
}
