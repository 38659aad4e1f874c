//! The interop matrix: every socket pair, with ferrozmq as the client and as the server, each
//! side binding in turn, over tcp and ipc, running five scenarios (a multipart message, an
//! empty frame, frames of every size around ferrozmq's inline and by-reference thresholds, a
//! 1 MiB frame, 10,000 messages in order).
//!
//! A [`Pattern`] says how the application frames a request and a reply for one pair (RFC 28's
//! envelopes), so one exchange routine checks every frame of every message for all of them.
//! The `matrix!` macro expands the table into one `#[test]` per cell, named
//! `matrix::<pair>::<ferrozmq role>::<binder>::<transport>::<scenario>`.

use std::thread;

use ferrozmq::SocketType;

use crate::peer::{assert_frames, socket, BindAddress, Frames, Impl, Peer, Transport};

/// The routing id every REQ or DEALER client announces; a ROUTER must report it.
const CLIENT_ID: &[u8] = b"client-\xc3\xa9\x01";

/// How the applications on both ends frame messages for one socket pair.
#[derive(Debug, Clone, Copy)]
struct Pattern {
    client: SocketType,
    server: SocketType,
    /// Frames the client application writes before each request body and reads before each
    /// reply body: the empty delimiter when a DEALER talks to a REP.
    client_envelope: &'static [&'static [u8]],
    /// The server application reads the client's routing id first (ROUTER) and must send it
    /// back first.
    server_sees_id: bool,
    /// ...followed by the empty delimiter a REQ adds.
    server_sees_delimiter: bool,
    /// The server sends a reply for each request.
    replies: bool,
}

impl Pattern {
    /// Whether the pair must alternate request and reply (REQ or REP on one side).
    fn lockstep(self) -> bool {
        self.client == SocketType::Req || self.server == SocketType::Rep
    }
}

const REQ_REP: Pattern = Pattern {
    client: SocketType::Req,
    server: SocketType::Rep,
    client_envelope: &[],
    server_sees_id: false,
    server_sees_delimiter: false,
    replies: true,
};

const REQ_ROUTER: Pattern = Pattern {
    client: SocketType::Req,
    server: SocketType::Router,
    client_envelope: &[],
    server_sees_id: true,
    server_sees_delimiter: true,
    replies: true,
};

const DEALER_ROUTER: Pattern = Pattern {
    client: SocketType::Dealer,
    server: SocketType::Router,
    client_envelope: &[],
    server_sees_id: true,
    server_sees_delimiter: false,
    replies: true,
};

const DEALER_REP: Pattern = Pattern {
    client: SocketType::Dealer,
    server: SocketType::Rep,
    client_envelope: &[b""],
    server_sees_id: false,
    server_sees_delimiter: false,
    replies: true,
};

const PUSH_PULL: Pattern = Pattern {
    client: SocketType::Push,
    server: SocketType::Pull,
    client_envelope: &[],
    server_sees_id: false,
    server_sees_delimiter: false,
    replies: false,
};

const PAIR_PAIR: Pattern = Pattern {
    client: SocketType::Pair,
    server: SocketType::Pair,
    client_envelope: &[],
    server_sees_id: false,
    server_sees_delimiter: false,
    replies: true,
};

/// Which end of the pair is ferrozmq (the other is libzmq).
#[derive(Debug, Clone, Copy)]
enum Side {
    Client,
    Server,
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy)]
struct Case {
    pattern: Pattern,
    ferrozmq: Side,
    binder: Impl,
    transport: Transport,
}

#[derive(Debug, Clone, Copy)]
enum Scenario {
    Multipart,
    EmptyFrame,
    FrameSizes,
    OneMibFrame,
    TenThousandInOrder,
}

/// Runs one scenario on one cell.
fn run(case: Case, scenario: Scenario) {
    let link = Link::new(case);
    match scenario {
        Scenario::Multipart => link.exchange(
            &frames(&[b"alpha", b"beta", b"gamma"]),
            &frames(&[b"one", b"two", b"three", b"four"]),
        ),
        Scenario::EmptyFrame => link.exchange(&frames(&[b""]), &frames(&[b"head", b"", b"tail"])),
        // ferrozmq keeps payloads of up to 38 bytes inside the frame and writes bodies of
        // 8 KiB or more by reference; 255/256 is where ZMTP switches to the long size.
        Scenario::FrameSizes => {
            let sizes = [0, 1, 37, 38, 39, 40, 255, 256, 8191, 8192, 8193];
            let message = |seed: u8| -> Frames {
                sizes
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| patterned(n, seed.wrapping_add(i as u8)))
                    .collect()
            };
            link.exchange(&message(3), &message(11));
        }
        Scenario::OneMibFrame => {
            link.exchange(&vec![patterned(1 << 20, 7)], &vec![patterned(1 << 20, 13)]);
        }
        Scenario::TenThousandInOrder if case.pattern.lockstep() => {
            for i in 0..COUNT {
                link.exchange(&numbered(i, "request"), &numbered(i, "reply"));
            }
        }
        Scenario::TenThousandInOrder => link.stream(),
    }
}

const COUNT: usize = 10_000;

/// Two connected sockets of a pattern, one from each implementation.
#[derive(Debug)]
struct Link {
    pattern: Pattern,
    client: Box<dyn Peer>,
    server: Box<dyn Peer>,
    /// Declared last so the ipc file outlives the sockets.
    _address: BindAddress,
}

impl Link {
    fn new(case: Case) -> Link {
        let pattern = case.pattern;
        let client_impl = match case.ferrozmq {
            Side::Client => Impl::Ferrozmq,
            Side::Server => Impl::Libzmq,
        };
        let client = socket(client_impl, pattern.client);
        let server = socket(client_impl.other(), pattern.server);
        if matches!(pattern.client, SocketType::Req | SocketType::Dealer) {
            client.set_routing_id(CLIENT_ID);
        }
        if pattern.server == SocketType::Router {
            // A ROUTER drops what exceeds the mark; the streaming scenario must not lose any.
            server.set_unlimited_sndhwm();
        }
        let address = BindAddress::new(case.transport);
        let (binder, connector) = if case.binder == client_impl {
            (&client, &server)
        } else {
            (&server, &client)
        };
        let endpoint = binder.bind(address.endpoint());
        connector.connect(&endpoint);
        Link {
            pattern,
            client,
            server,
            _address: address,
        }
    }

    /// The client sends `request`; the server checks it and, if the pattern replies, sends
    /// `reply`, which the client checks.
    fn exchange(&self, request: &Frames, reply: &Frames) {
        send_request(self.pattern, &*self.client, request);
        let envelope = recv_request(self.pattern, &*self.server, request);
        if self.pattern.replies {
            send_reply(&*self.server, &envelope, reply);
            recv_reply(self.pattern, &*self.client, reply);
        }
    }

    /// Streams [`COUNT`] requests from a sending thread while this thread receives and checks
    /// them in order; then the same for replies if the pattern has them.
    fn stream(self) {
        let Link {
            pattern,
            client,
            server,
            _address,
        } = self;
        let (client, envelope) = thread::scope(|s| {
            let sender = s.spawn(move || {
                for i in 0..COUNT {
                    send_request(pattern, &*client, &numbered(i, "request"));
                }
                client
            });
            let mut envelope = Vec::new();
            for i in 0..COUNT {
                envelope = recv_request(pattern, &*server, &numbered(i, "request"));
            }
            (sender.join().expect("sending thread"), envelope)
        });
        if !pattern.replies {
            return;
        }
        thread::scope(|s| {
            let sender = s.spawn(move || {
                for i in 0..COUNT {
                    send_reply(&*server, &envelope, &numbered(i, "reply"));
                }
                server // Closing it now could drop what LINGER has not flushed yet.
            });
            for i in 0..COUNT {
                recv_reply(pattern, &*client, &numbered(i, "reply"));
            }
            sender.join().expect("sending thread")
        });
    }
}

fn send_request(pattern: Pattern, client: &dyn Peer, body: &Frames) {
    let mut msg: Frames = pattern.client_envelope.iter().map(|f| f.to_vec()).collect();
    msg.extend(body.iter().cloned());
    client.send(&msg);
}

/// Receives one request, checks its envelope and body, and returns the envelope to reply with.
fn recv_request(pattern: Pattern, server: &dyn Peer, body: &Frames) -> Frames {
    let mut got = server.recv();
    let mut envelope = Frames::new();
    if pattern.server_sees_id {
        envelope.push(CLIENT_ID.to_vec());
    }
    if pattern.server_sees_delimiter {
        envelope.push(Vec::new());
    }
    let what = format!("{server:?} receiving a request");
    let (got_envelope, got_body) = split(&mut got, envelope.len(), &what);
    assert_frames(&format!("{what}: envelope"), &got_envelope, &envelope);
    assert_frames(&format!("{what}: body"), &got_body, body);
    envelope
}

fn send_reply(server: &dyn Peer, envelope: &Frames, body: &Frames) {
    let mut msg = envelope.clone();
    msg.extend(body.iter().cloned());
    server.send(&msg);
}

fn recv_reply(pattern: Pattern, client: &dyn Peer, body: &Frames) {
    let mut got = client.recv();
    let envelope = frames(pattern.client_envelope);
    let what = format!("{client:?} receiving a reply");
    let (got_envelope, got_body) = split(&mut got, envelope.len(), &what);
    assert_frames(&format!("{what}: envelope"), &got_envelope, &envelope);
    assert_frames(&format!("{what}: body"), &got_body, body);
}

/// Splits off the first `n` frames, failing if there are not that many.
#[track_caller]
fn split(msg: &mut Frames, n: usize, what: &str) -> (Frames, Frames) {
    assert!(
        msg.len() >= n,
        "{what}: {} frame(s), expected an envelope of {n} before the body",
        msg.len()
    );
    let body = msg.split_off(n);
    (std::mem::take(msg), body)
}

fn frames(parts: &[&[u8]]) -> Frames {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// `len` bytes of a pattern that differs per `seed`, so misplaced chunks are caught.
fn patterned(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ seed.wrapping_mul((i / 251) as u8))
        .collect()
}

/// Message `i` of a sequence: its index in binary, then a text frame naming it.
fn numbered(i: usize, kind: &str) -> Frames {
    vec![
        (i as u64).to_be_bytes().to_vec(),
        format!("{kind} {i}").into_bytes(),
    ]
}

macro_rules! scenarios {
    ($case:expr) => {
        #[test]
        fn multipart() {
            run($case, Scenario::Multipart);
        }
        #[test]
        fn empty_frame() {
            run($case, Scenario::EmptyFrame);
        }
        #[test]
        fn frame_sizes() {
            run($case, Scenario::FrameSizes);
        }
        #[test]
        fn one_mib_frame() {
            run($case, Scenario::OneMibFrame);
        }
        #[test]
        fn ten_thousand_in_order() {
            run($case, Scenario::TenThousandInOrder);
        }
    };
}

macro_rules! transports {
    ($pattern:expr, $ferrozmq:expr, $binder:expr) => {
        mod tcp {
            use super::*;
            scenarios!(Case {
                pattern: $pattern,
                ferrozmq: $ferrozmq,
                binder: $binder,
                transport: Transport::Tcp,
            });
        }
        mod ipc {
            use super::*;
            scenarios!(Case {
                pattern: $pattern,
                ferrozmq: $ferrozmq,
                binder: $binder,
                transport: Transport::Ipc,
            });
        }
    };
}

macro_rules! binders {
    ($pattern:expr, $ferrozmq:expr) => {
        mod ferrozmq_binds {
            use super::*;
            transports!($pattern, $ferrozmq, Impl::Ferrozmq);
        }
        mod libzmq_binds {
            use super::*;
            transports!($pattern, $ferrozmq, Impl::Libzmq);
        }
    };
}

macro_rules! matrix {
    ($($name:ident: $pattern:expr;)*) => {$(
        mod $name {
            use super::*;
            /// ferrozmq is the client (REQ, DEALER, PUSH, PAIR) and libzmq the server.
            mod ferrozmq_client {
                use super::*;
                binders!($pattern, Side::Client);
            }
            /// libzmq is the client and ferrozmq the server (REP, ROUTER, PULL, PAIR).
            mod ferrozmq_server {
                use super::*;
                binders!($pattern, Side::Server);
            }
        }
    )*};
}

matrix! {
    req_rep: REQ_REP;
    req_router: REQ_ROUTER;
    dealer_router: DEALER_ROUTER;
    dealer_rep: DEALER_REP;
    push_pull: PUSH_PULL;
    pair_pair: PAIR_PAIR;
}
