//! Peers with an incompatible socket type are refused (RFC 23 §"The Socket-Type Property").
//!
//! With libzmq peers: a libzmq socket of a wrong type sends first, then one of a right type;
//! the ferrozmq socket must receive only the right one's message. libzmq checks the type
//! itself and never sends to a mismatched peer, so these tests cannot catch ferrozmq accepting
//! the peer; the raw ZMTP tests below can: a hand-written peer that skips the check announces
//! a wrong type and sends at once, and ferrozmq must close the connection without delivering.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ferrozmq::SocketType;

use crate::peer::{assert_frames, socket, BindAddress, Frames, Impl, Peer, Transport, TIMEOUT};

/// After the expected message arrived, how long to wait for one that must not.
const QUIET: Duration = Duration::from_millis(300);

/// A ferrozmq `ours` socket, a libzmq `wrong` peer that it must refuse and a libzmq `right`
/// peer it must accept; `binder` says which side binds.
fn refuses_libzmq(ours: SocketType, wrong: SocketType, right: SocketType, binder: Impl) {
    let (wrong_address, right_address) = (
        BindAddress::new(Transport::Tcp),
        BindAddress::new(Transport::Tcp),
    );
    let ferrozmq = socket(Impl::Ferrozmq, ours);
    let (wrong_peer, right_peer) = (socket(Impl::Libzmq, wrong), socket(Impl::Libzmq, right));
    let (wrong_endpoint, right_endpoint) = match binder {
        Impl::Ferrozmq => {
            let endpoint = ferrozmq.bind(wrong_address.endpoint());
            (endpoint.clone(), endpoint)
        }
        Impl::Libzmq => (
            wrong_peer.bind(wrong_address.endpoint()),
            right_peer.bind(right_address.endpoint()),
        ),
    };
    let (wrong_connector, right_connector): (&dyn Peer, &dyn Peer) = match binder {
        Impl::Ferrozmq => (&*wrong_peer, &*right_peer),
        Impl::Libzmq => (&*ferrozmq, &*ferrozmq),
    };

    wrong_connector.connect(&wrong_endpoint);
    // libzmq may queue this for the refused connection or time out: either is fine.
    let _ = wrong_peer.send_within(&[b"refused".to_vec()], QUIET);
    right_connector.connect(&right_endpoint);
    right_peer.send(&[b"accepted".to_vec()]);

    let got = strip_routing_id(ours, ferrozmq.recv());
    assert_frames(&format!("{ferrozmq:?}"), &got, &[b"accepted".to_vec()]);
    if ours == SocketType::Rep {
        // A REP must answer before it may receive again.
        ferrozmq.send(&[b"answer".to_vec()]);
        assert_frames(
            &format!("{right_peer:?}"),
            &right_peer.recv(),
            &[b"answer".to_vec()],
        );
    }
    if let Some(extra) = ferrozmq.recv_within(QUIET) {
        panic!("{ferrozmq:?} accepted a message from libzmq {wrong:?}: {extra:?}");
    }
}

fn strip_routing_id(ours: SocketType, mut msg: Frames) -> Frames {
    if ours == SocketType::Router {
        assert!(!msg.is_empty(), "ROUTER message without a routing id");
        msg.remove(0);
    }
    msg
}

/// One test per row: `name: ferrozmq type, refused libzmq type, accepted libzmq type, binder;`.
macro_rules! refusals {
    ($($name:ident: $ours:ident, $wrong:ident, $right:ident, $binder:ident;)*) => {$(
        #[test]
        fn $name() {
            refuses_libzmq(
                SocketType::$ours,
                SocketType::$wrong,
                SocketType::$right,
                Impl::$binder,
            );
        }
    )*};
}

// A PAIR takes one peer, so it is only tested binding (two connects would be two peers).
refusals! {
    rep_refuses_push_when_ferrozmq_binds: Rep, Push, Req, Ferrozmq;
    rep_refuses_push_when_libzmq_binds: Rep, Push, Req, Libzmq;
    router_refuses_push_when_ferrozmq_binds: Router, Push, Dealer, Ferrozmq;
    router_refuses_pair_when_libzmq_binds: Router, Pair, Dealer, Libzmq;
    pull_refuses_dealer_when_ferrozmq_binds: Pull, Dealer, Push, Ferrozmq;
    pull_refuses_pair_when_libzmq_binds: Pull, Pair, Push, Libzmq;
    dealer_refuses_push_when_ferrozmq_binds: Dealer, Push, Dealer, Ferrozmq;
    dealer_refuses_push_when_libzmq_binds: Dealer, Push, Dealer, Libzmq;
    pair_refuses_req_when_ferrozmq_binds: Pair, Req, Pair, Ferrozmq;
}

/// A raw ZMTP 3.1 peer announcing `theirs` connects to a new ferrozmq `ours`: it exchanges
/// greetings, then sends its READY and a message `raw` at once, without waiting for ferrozmq's
/// READY. (libzmq 4.3 was seen to drop a connection whose greeting, READY and first message
/// came in one write, so the greetings are exchanged first, as libzmq's own peers do.)
fn raw_peer(ours: SocketType, theirs: &str) -> (Box<dyn Peer>, TcpStream) {
    let ferrozmq = socket(Impl::Ferrozmq, ours);
    let endpoint = ferrozmq.bind("tcp://127.0.0.1:*");
    let addr = endpoint.strip_prefix("tcp://").expect("a tcp endpoint");
    let mut stream = TcpStream::connect(addr).expect("connect to ferrozmq");
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("read timeout");
    stream.write_all(&greeting()).expect("write greeting");
    let mut peer_greeting = [0u8; 64];
    stream
        .read_exact(&mut peer_greeting)
        .unwrap_or_else(|e| panic!("{ferrozmq:?} sent no complete greeting: {e}"));
    assert_eq!(
        (peer_greeting[0], peer_greeting[9], peer_greeting[10]),
        (0xFF, 0x7F, 3),
        "{ferrozmq:?} sent a greeting that is not ZMTP 3: {peer_greeting:?}"
    );
    let mut out = ready_command(theirs);
    out.extend([0x00, 3]); // RFC 23 §"Framing": a last frame with a short size.
    out.extend(b"raw");
    // ferrozmq may already have closed the connection; the reads below tell.
    let _ = stream.write_all(&out);
    (ferrozmq, stream)
}

/// Asserts that ferrozmq refuses a raw peer of type `theirs`: it closes the connection
/// (reads end or reset within [`TIMEOUT`]) and delivers nothing.
fn assert_refuses_raw(ours: SocketType, theirs: &str) {
    let (ferrozmq, mut stream) = raw_peer(ours, theirs);
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {} // ferrozmq's greeting, READY or ERROR.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("{ferrozmq:?} kept a raw {theirs} peer connected for {TIMEOUT:?}")
            }
            Err(e) => panic!("reading from {ferrozmq:?}: {e}"),
        }
    }
    if let Some(msg) = ferrozmq.recv_within(QUIET) {
        panic!("{ferrozmq:?} delivered a message from a raw {theirs} peer: {msg:?}");
    }
}

/// RFC 23 §"Greeting": signature, version 3.1, mechanism NULL, as-server 0, filler.
fn greeting() -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
    let mut mechanism = b"NULL".to_vec();
    mechanism.resize(20, 0);
    g.extend(mechanism);
    g.push(0);
    g.resize(64, 0);
    g
}

/// RFC 23 §"The NULL Security Mechanism": a READY command with the Socket-Type property.
fn ready_command(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend(b"READY");
    body.push(11);
    body.extend(b"Socket-Type");
    body.extend(u32::try_from(socket_type.len()).unwrap().to_be_bytes());
    body.extend(socket_type.as_bytes());
    let mut frame = vec![0x04, u8::try_from(body.len()).unwrap()];
    frame.extend(body);
    frame
}

/// Checks the raw peer itself: ferrozmq PULL accepts a raw PUSH and gets its message.
#[test]
fn raw_zmtp_push_is_accepted_by_pull() {
    let (ferrozmq, _stream) = raw_peer(SocketType::Pull, "PUSH");
    assert_frames(
        &format!("{ferrozmq:?}"),
        &ferrozmq.recv(),
        &[b"raw".to_vec()],
    );
}

#[test]
fn raw_zmtp_push_is_refused_by_rep() {
    assert_refuses_raw(SocketType::Rep, "PUSH");
}

#[test]
fn raw_zmtp_dealer_is_refused_by_pull() {
    assert_refuses_raw(SocketType::Pull, "DEALER");
}

#[test]
fn raw_zmtp_pub_is_refused_by_pair() {
    assert_refuses_raw(SocketType::Pair, "PUB");
}

#[test]
fn raw_zmtp_unknown_type_is_refused_by_router() {
    assert_refuses_raw(SocketType::Router, "BOGUS");
}
