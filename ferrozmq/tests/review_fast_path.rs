//! Regression tests for what a review of the fast-path work found (each failed before its
//! fix): an empty message over inproc, `Frame`'s Debug output, `recv_many` with a limit of
//! 0, and CONFLATE on types libzmq ignores it for. Time-outs only turn a hang into a failure.

mod common;

use std::time::Duration;

use common::{endpoints, pair, text};
use ferrozmq::{Bytes, Context, Frame, Message, SocketOption, SocketType};

const T: Option<Duration> = Some(Duration::from_secs(10));

/// A message always has at least one frame on the wire (RFC 23: a message is one or more
/// frames; libzmq has no zero-frame message): `Message::new()` is documented to travel as
/// one empty frame, and does over tcp and ipc. Over inproc it arrives with no frame at all.
/// (Frames of 0, 1, 37, 38, 39, 40, 255, 256, 8191, 8192, 8193 and 70,000 bytes mixed in one
/// message, built from slices, vectors and Bytes, all arrived intact on every transport.)
#[test]
fn an_empty_message_arrives_as_one_empty_frame_on_every_transport() {
    let ctx = Context::new();
    for ep in endpoints("review-empty") {
        let (pull, push) = pair(&ctx, SocketType::Pull, SocketType::Push, &ep);
        push.send(Message::new()).unwrap();
        push.send("after").unwrap();
        let got = pull.recv_timeout(T).unwrap();
        assert_eq!(got.len(), 1, "{ep}: frames of an empty message");
        assert!(got.frames()[0].is_empty(), "{ep}");
        assert_eq!(text(&pull.recv_timeout(T).unwrap()), ["after"], "{ep}");
    }
}

// ---- Frame as a replacement for Bytes ----

#[test]
fn frame_debug_reads_like_the_bytes_it_replaced() {
    // Message frames were `Bytes`; their Debug output (in assertion messages and logs) was
    // `Bytes`'s byte-string form. A frame should print the same.
    for payload in [
        &b"it's"[..],
        b"nul\0byte",
        b"tab\tnew\nquote\"back\\",
        b"\x7f\xff",
    ] {
        assert_eq!(
            format!("{:?}", Frame::copy_from_slice(payload)),
            format!("{:?}", Bytes::copy_from_slice(payload)),
            "payload {payload:?}"
        );
    }
}

// ---- send_many / recv_many ----

#[test]
fn recv_many_never_appends_more_than_max() {
    let ctx = Context::new();
    let (pull, push) = pair(
        &ctx,
        SocketType::Pull,
        SocketType::Push,
        "inproc://review-max",
    );
    for i in 0..3 {
        push.send(format!("m{i}")).unwrap();
    }
    pull.set_option(SocketOption::RcvTimeo(Some(Duration::from_millis(0))))
        .unwrap();
    let mut out = Vec::new();
    // "Receives up to `max` messages": with max 0 nothing may be taken (or the call refuses).
    let r = pull.recv_many(&mut out, 0);
    assert!(
        out.is_empty(),
        "recv_many(max = 0) appended {} message(s): {r:?}",
        out.len()
    );
    assert_eq!(pull.recv_many(&mut out, 2).unwrap(), 2);
    assert_eq!(out.len(), 2);
}

// ---- the capability table against libzmq ----

/// libzmq applies ZMQ_CONFLATE to DEALER, PULL, PUSH, PUB and SUB pipes only
/// (`zmq_setsockopt(3)`: "Applicable socket types: ZMQ_PULL, ZMQ_PUSH, ZMQ_SUB, ZMQ_PUB,
/// ZMQ_DEALER"; `socket_base.cpp`/`session_base.cpp` test exactly those types). An XSUB or
/// PAIR with CONFLATE set keeps every message.
#[test]
fn conflate_is_ignored_by_xsub_and_pair_as_in_libzmq() {
    let ctx = Context::new();
    // XSUB under an XPUB.
    let xpub = ctx.socket(SocketType::XPub);
    xpub.bind("inproc://review-conflate-xsub").unwrap();
    let xsub = ctx.socket(SocketType::XSub);
    xsub.set_option(SocketOption::Conflate(true)).unwrap();
    xsub.connect("inproc://review-conflate-xsub").unwrap();
    xsub.send(Message::subscription(true, b"")).unwrap();
    xpub.recv_timeout(T).unwrap();
    for i in 0..3 {
        xpub.send(format!("x{i}")).unwrap();
    }
    let got: Vec<_> = (0..3)
        .map_while(|_| xsub.recv_timeout(Some(Duration::from_millis(500))).ok())
        .map(|m| text(&m)[0].clone())
        .collect();
    assert_eq!(got, ["x0", "x1", "x2"], "XSUB conflated its queue");

    // PAIR.
    let a = ctx.socket(SocketType::Pair);
    a.bind("inproc://review-conflate-pair").unwrap();
    let b = ctx.socket(SocketType::Pair);
    b.set_option(SocketOption::Conflate(true)).unwrap();
    b.connect("inproc://review-conflate-pair").unwrap();
    for i in 0..3 {
        a.send(format!("p{i}")).unwrap();
    }
    let got: Vec<_> = (0..3)
        .map_while(|_| b.recv_timeout(Some(Duration::from_millis(500))).ok())
        .map(|m| text(&m)[0].clone())
        .collect();
    assert_eq!(got, ["p0", "p1", "p2"], "PAIR conflated its queue");
}
