//! PLAIN (RFC 24), CURVE (RFC 26) and ZAP (RFC 27) sessions driven back to back on virtual
//! time: handshakes, boxed traffic, tampering, replay, wrong keys and ZAP decisions.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ferrozmq_proto::codec::{decode_frame, FrameLimits};
use ferrozmq_proto::mechanism::{CurveKeyPair, SecretBytes, ZapReply, ZapRequest};
use ferrozmq_proto::session::MechanismConfig;
use ferrozmq_proto::{
    Message, PeerMisbehaved, Session, SessionConfig, SessionError, SessionEvent, SocketType,
};

/// Two sessions and their input buffers; `tamper` may change bytes in flight.
struct Link {
    a: Session,
    b: Session,
    a_in: BytesMut,
    b_in: BytesMut,
    now: Instant,
    a_events: Vec<SessionEvent>,
    b_events: Vec<SessionEvent>,
    /// Every byte a sent, in order.
    a_wire: Vec<u8>,
    one_byte: bool,
}

impl Link {
    fn new(a: SessionConfig, b: SessionConfig) -> Link {
        let now = Instant::now();
        Link {
            a: Session::new(a, now),
            b: Session::new(b, now),
            a_in: BytesMut::new(),
            b_in: BytesMut::new(),
            now,
            a_events: Vec::new(),
            b_events: Vec::new(),
            a_wire: Vec::new(),
            one_byte: false,
        }
    }

    /// Answers b's ZAP request and collects what follows.
    fn zap(&mut self, reply: ZapReply) -> Result<(), SessionError> {
        let result = self.b.handle_zap_reply(reply, self.now);
        // As the contract says: input that waited during the pause is read now.
        if result.is_ok() {
            self.b.handle_input(&mut self.b_in, self.now)?;
        }
        self.b_events
            .extend(std::iter::from_fn(|| self.b.poll_event()));
        result
    }

    /// Answers b's ZAP request with `status` and `user_id` and checks the outcome: allowed
    /// (200), b's peer carries the user id (returns true); refused, b reports an
    /// authentication failure and a gets ERROR with the status code, which it reports as an
    /// authentication failure too, without ever becoming ready (returns false).
    fn obey_zap(&mut self, status: u16, user_id: &str) -> bool {
        let mut reply = ZapReply::new(status, "decided");
        reply.user_id = Bytes::copy_from_slice(user_id.as_bytes());
        let result = self.zap(reply);
        if status == 200 {
            result.unwrap();
            self.drive().unwrap();
            assert_eq!(
                ready(&self.b_events).unwrap().user_id.as_deref(),
                Some(user_id.as_bytes())
            );
            return true;
        }
        let err = result.unwrap_err();
        assert!(err.is_auth(), "{err}");
        let (side, err) = self.drive().unwrap_err();
        assert_eq!(side, 'a');
        assert_eq!(
            err,
            SessionError::PeerError {
                reason: status.to_string()
            }
        );
        assert!(err.is_auth());
        assert!(ready(&self.a_events).is_none());
        false
    }

    /// Moves bytes both ways until both are quiet; the first error of either side wins.
    fn drive(&mut self) -> Result<(), (char, SessionError)> {
        loop {
            let ab = pump(
                &mut self.a,
                &mut self.b,
                &mut self.b_in,
                &mut self.b_events,
                self.now,
                self.one_byte,
                Some(&mut self.a_wire),
            )
            .map_err(|e| ('b', e))?;
            let ba = pump(
                &mut self.b,
                &mut self.a,
                &mut self.a_in,
                &mut self.a_events,
                self.now,
                self.one_byte,
                None,
            )
            .map_err(|e| ('a', e))?;
            if !ab && !ba {
                return Ok(());
            }
        }
    }
}

fn take_output(s: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let chunk = s.pending_output().to_vec();
        if chunk.is_empty() {
            return out;
        }
        s.consume_output(chunk.len());
        out.extend_from_slice(&chunk);
    }
}

fn pump(
    from: &mut Session,
    to: &mut Session,
    inbuf: &mut BytesMut,
    events: &mut Vec<SessionEvent>,
    now: Instant,
    one_byte: bool,
    wire: Option<&mut Vec<u8>>,
) -> Result<bool, SessionError> {
    let out = take_output(from);
    if out.is_empty() {
        return Ok(false);
    }
    if let Some(w) = wire {
        w.extend_from_slice(&out);
    }
    for piece in out.chunks(if one_byte { 1 } else { out.len() }) {
        inbuf.extend_from_slice(piece);
        to.handle_input(inbuf, now)?;
        events.extend(std::iter::from_fn(|| to.poll_event()));
    }
    Ok(true)
}

fn config(t: SocketType, mechanism: MechanismConfig) -> SessionConfig {
    let mut c = SessionConfig::new(t);
    c.mechanism = mechanism;
    c
}

fn plain_client(user: &str, pass: &str) -> MechanismConfig {
    MechanismConfig::PlainClient {
        username: Bytes::copy_from_slice(user.as_bytes()),
        password: SecretBytes::new(pass.as_bytes()),
    }
}

fn curve_pair(
    server: &CurveKeyPair,
    server_key_known: &CurveKeyPair,
) -> (MechanismConfig, MechanismConfig) {
    (
        MechanismConfig::CurveClient {
            keys: CurveKeyPair::generate(),
            server_key: server_key_known.public,
        },
        MechanismConfig::CurveServer {
            secret: server.secret.clone(),
        },
    )
}

fn messages(events: &[SessionEvent]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn ready(events: &[SessionEvent]) -> Option<&ferrozmq_proto::PeerInfo> {
    events.iter().find_map(|e| match e {
        SessionEvent::Ready(info) => Some(info),
        _ => None,
    })
}

fn zap_request(events: &[SessionEvent]) -> Option<ZapRequest> {
    events.iter().find_map(|e| match e {
        SessionEvent::ZapRequest(r) => Some(r.clone()),
        _ => None,
    })
}

fn with_zap(mut c: SessionConfig) -> SessionConfig {
    c.zap = Some(ZapRequest::new("global", "10.0.0.1", Bytes::new()));
    c
}

fn exchange_and_check(link: &mut Link) {
    let big = Message::from(vec![Bytes::from("head"), Bytes::from(vec![7u8; 20_000])]);
    link.a.send_message(&big);
    link.a.send_message(&Message::new());
    link.b.send_message(&Message::from("reply"));
    link.drive().unwrap();
    assert_eq!(messages(&link.b_events), [big, Message::from("")]);
    assert_eq!(messages(&link.a_events), [Message::from("reply")]);
}

#[test]
fn plain_without_zap_accepts_and_carries_traffic() {
    let mut link = Link::new(
        config(SocketType::Dealer, plain_client("admin", "secret")),
        config(SocketType::Router, MechanismConfig::PlainServer),
    );
    link.drive().unwrap();
    assert_eq!(ready(&link.a_events).unwrap().mechanism, "PLAIN");
    assert!(ready(&link.b_events).unwrap().user_id.is_none());
    exchange_and_check(&mut link);
}

#[test]
fn plain_asks_zap_with_the_credentials_and_obeys_it() {
    for status in [200, 400, 300, 500] {
        let mut link = Link::new(
            config(SocketType::Req, plain_client("admin", "secret")),
            with_zap(config(SocketType::Rep, MechanismConfig::PlainServer)),
        );
        link.drive().unwrap();
        let request = zap_request(&link.b_events).expect("server asks ZAP");
        assert_eq!(request.mechanism, "PLAIN");
        assert_eq!(request.domain, "global");
        assert_eq!(request.address, "10.0.0.1");
        assert_eq!(
            request.credentials,
            [Bytes::from("admin"), Bytes::from("secret")]
        );
        assert!(ready(&link.b_events).is_none(), "paused until the reply");
        if link.obey_zap(status, "admin-id") {
            exchange_and_check(&mut link);
        }
    }
}

#[test]
fn curve_handshake_and_boxed_traffic_both_ways() {
    for one_byte in [false, true] {
        let server = CurveKeyPair::generate();
        let (client, srv) = curve_pair(&server, &server);
        let mut link = Link::new(
            config(SocketType::Dealer, client),
            config(SocketType::Router, srv),
        );
        link.one_byte = one_byte;
        link.drive().unwrap();
        assert_eq!(ready(&link.a_events).unwrap().mechanism, "CURVE");
        assert!(ready(&link.b_events).is_some());
        exchange_and_check(&mut link);
        // Nothing of the plaintext is on the wire.
        let wire = &link.a_wire;
        assert!(!wire.windows(4).any(|w| w == b"head"));
        assert!(!wire.windows(64).any(|w| w.iter().all(|&b| b == 7)));
    }
}

#[test]
fn curve_subscriptions_and_commands_are_boxed() {
    let server = CurveKeyPair::generate();
    let (client, srv) = curve_pair(&server, &server);
    let mut link = Link::new(
        config(SocketType::Sub, client),
        config(SocketType::Pub, srv),
    );
    link.drive().unwrap();
    link.a.send_subscription(b"weather", true);
    link.drive().unwrap();
    assert!(link
        .b_events
        .iter()
        .any(|e| matches!(e, SessionEvent::Subscribe(t) if t == "weather")));
    assert!(!link.a_wire.windows(7).any(|w| w == b"weather"));
}

#[test]
fn curve_wrong_server_key_is_refused_as_auth() {
    let server = CurveKeyPair::generate();
    let impostor = CurveKeyPair::generate();
    let (client, srv) = curve_pair(&server, &impostor);
    let mut link = Link::new(
        config(SocketType::Req, client),
        config(SocketType::Rep, srv),
    );
    let (side, err) = link.drive().unwrap_err();
    assert_eq!(side, 'b');
    assert!(matches!(err, SessionError::AuthFailed { .. }), "{err}");
    assert!(err.is_auth());
    // The server's ERROR reaches the client, which reports it as an auth failure.
    let out = take_output(&mut link.b);
    link.a_in.extend_from_slice(&out);
    let err = link.a.handle_input(&mut link.a_in, link.now).unwrap_err();
    assert!(err.is_auth(), "{err}");
}

#[test]
fn curve_server_impersonation_fails_at_welcome() {
    // A server with another secret key cannot answer for the key the client expects.
    let expected = CurveKeyPair::generate();
    let other = CurveKeyPair::generate();
    let client = MechanismConfig::CurveClient {
        keys: CurveKeyPair::generate(),
        server_key: expected.public,
    };
    let mut a = Session::new(config(SocketType::Req, client), Instant::now());
    // Hand-made WELCOME would need `expected`'s secret; a real server with `other` cannot
    // even open HELLO, so feed the client a WELCOME-sized box of garbage instead.
    let now = Instant::now();
    let mut input = BytesMut::new();
    let mut srv = Session::new(
        config(
            SocketType::Rep,
            MechanismConfig::CurveServer {
                secret: other.secret,
            },
        ),
        now,
    );
    input.extend_from_slice(&take_output(&mut srv)[..64]);
    a.handle_input(&mut input, now).unwrap();
    let mut welcome = vec![0x04, 168, 7];
    welcome.extend_from_slice(b"WELCOME");
    welcome.extend_from_slice(&[0x55; 160]);
    input.extend_from_slice(&welcome);
    let err = a.handle_input(&mut input, now).unwrap_err();
    assert!(matches!(err, SessionError::AuthFailed { .. }), "{err}");
}

/// Splits `bytes` (after the 64-byte greeting) into whole frames' raw bytes.
fn raw_frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut buf = BytesMut::from(bytes);
    let limits = FrameLimits {
        message: u64::MAX,
        command: u64::MAX,
    };
    let mut out = Vec::new();
    loop {
        let before = buf.len();
        let Some(_) = decode_frame(&mut buf, &limits).unwrap() else {
            break;
        };
        let start = bytes.len() - before;
        out.push(bytes[start..bytes.len() - buf.len()].to_vec());
    }
    out
}

fn ready_curve_link() -> Link {
    let server = CurveKeyPair::generate();
    let (client, srv) = curve_pair(&server, &server);
    let mut link = Link::new(
        config(SocketType::Push, client),
        config(SocketType::Pull, srv),
    );
    link.drive().unwrap();
    link
}

#[test]
fn curve_tampered_message_closes_the_connection() {
    let mut link = ready_curve_link();
    link.a.send_message(&Message::from("payload"));
    let mut out = take_output(&mut link.a);
    let last = out.len() - 3;
    out[last] ^= 0x20;
    link.b_in.extend_from_slice(&out);
    let err = link.b.handle_input(&mut link.b_in, link.now).unwrap_err();
    assert_eq!(
        err,
        PeerMisbehaved::BoxDidNotOpen { what: "MESSAGE" }.into()
    );
    assert!(
        link.b.poll_event().is_none(),
        "nothing tampered is delivered"
    );
}

#[test]
fn curve_replayed_or_reordered_message_closes_the_connection() {
    for reorder in [false, true] {
        let mut link = ready_curve_link();
        link.a.send_message(&Message::from("one"));
        link.a.send_message(&Message::from("two"));
        let frames = raw_frames(&take_output(&mut link.a));
        assert_eq!(frames.len(), 2);
        let (first, second) = if reorder {
            (&frames[1], &frames[0])
        } else {
            (&frames[0], &frames[0])
        };
        link.b_in.extend_from_slice(first);
        link.b.handle_input(&mut link.b_in, link.now).unwrap();
        assert!(matches!(
            link.b.poll_event(),
            Some(SessionEvent::Message(_))
        ));
        link.b_in.extend_from_slice(second);
        let err = link.b.handle_input(&mut link.b_in, link.now).unwrap_err();
        assert_eq!(err, PeerMisbehaved::NonceNotIncreasing.into());
        assert!(link.b.poll_event().is_none());
    }
}

#[test]
fn curve_cookie_is_only_good_for_its_connection() {
    // Two clients talk to two connections of one server; the INITIATE of the first (with
    // its connection's cookie) is replayed on the second connection.
    let server = CurveKeyPair::generate();
    let now = Instant::now();
    let mk = || {
        let (client, srv) = curve_pair(&server, &server);
        (
            Session::new(config(SocketType::Req, client), now),
            Session::new(config(SocketType::Rep, srv), now),
        )
    };
    let (mut c1, mut s1) = mk();
    let (mut c2, mut s2) = mk();
    let (mut c1_in, mut s1_in, mut c2_in, mut s2_in) = (
        BytesMut::new(),
        BytesMut::new(),
        BytesMut::new(),
        BytesMut::new(),
    );
    // Greetings and HELLO/WELCOME on both connections.
    for _ in 0..2 {
        s1_in.extend_from_slice(&take_output(&mut c1));
        s1.handle_input(&mut s1_in, now).unwrap();
        c1_in.extend_from_slice(&take_output(&mut s1));
        c1.handle_input(&mut c1_in, now).unwrap();
        s2_in.extend_from_slice(&take_output(&mut c2));
        s2.handle_input(&mut s2_in, now).unwrap();
        c2_in.extend_from_slice(&take_output(&mut s2));
        c2.handle_input(&mut c2_in, now).unwrap();
    }
    // c1 has now produced its INITIATE (after WELCOME): give it to s2.
    let initiate = take_output(&mut c1);
    assert!(initiate.windows(8).any(|w| w == b"INITIATE"));
    s2_in.extend_from_slice(&initiate);
    let err = s2.handle_input(&mut s2_in, now).unwrap_err();
    assert_eq!(err, PeerMisbehaved::BoxDidNotOpen { what: "cookie" }.into());
}

#[test]
fn curve_asks_zap_with_the_client_key() {
    for status in [200, 400] {
        let server = CurveKeyPair::generate();
        let client_keys = CurveKeyPair::generate();
        let client = MechanismConfig::CurveClient {
            keys: client_keys.clone(),
            server_key: server.public,
        };
        let srv = MechanismConfig::CurveServer {
            secret: server.secret.clone(),
        };
        let mut link = Link::new(
            config(SocketType::Dealer, client),
            with_zap(config(SocketType::Router, srv)),
        );
        link.drive().unwrap();
        let request = zap_request(&link.b_events).expect("server asks ZAP");
        assert_eq!(request.mechanism, "CURVE");
        assert_eq!(
            request.credentials,
            [Bytes::copy_from_slice(client_keys.public.as_bytes())]
        );
        if link.obey_zap(status, "client-1") {
            exchange_and_check(&mut link);
        }
    }
}

#[test]
fn null_asks_zap_only_with_a_domain() {
    let mut link = Link::new(
        SessionConfig::new(SocketType::Dealer),
        with_zap(SessionConfig::new(SocketType::Router)),
    );
    link.drive().unwrap();
    assert_eq!(zap_request(&link.b_events).unwrap().mechanism, "NULL");
    assert!(
        ready(&link.a_events).is_none(),
        "no READY before ZAP allows"
    );
    link.zap(ZapReply::new(200, "OK")).unwrap();
    link.drive().unwrap();
    assert!(ready(&link.a_events).is_some() && ready(&link.b_events).is_some());

    let mut no_domain = SessionConfig::new(SocketType::Router);
    no_domain.zap = Some(ZapRequest::new("", "10.0.0.1", Bytes::new()));
    let mut link = Link::new(SessionConfig::new(SocketType::Dealer), no_domain);
    link.drive().unwrap();
    assert!(zap_request(&link.b_events).is_none());
    assert!(ready(&link.b_events).is_some());
}

#[test]
fn mechanism_mismatch_is_refused() {
    let server = CurveKeyPair::generate();
    let mut link = Link::new(
        config(SocketType::Req, plain_client("u", "p")),
        config(
            SocketType::Rep,
            MechanismConfig::CurveServer {
                secret: server.secret,
            },
        ),
    );
    let (_, err) = link.drive().unwrap_err();
    assert!(matches!(
        err,
        SessionError::PeerMisbehaved(PeerMisbehaved::MechanismMismatch { .. })
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    /// Random bytes after a good CURVE handshake never panic and never yield a message.
    #[test]
    fn curve_session_survives_random_bytes(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let mut link = ready_curve_link();
        link.b_in.extend_from_slice(&data);
        let _ = link.b.handle_input(&mut link.b_in, link.now);
        while let Some(e) = link.b.poll_event() {
            proptest::prop_assert!(!matches!(e, SessionEvent::Message(_)));
        }
    }
}

/// libzmq's PLAIN server sends its ERROR as `0x5E "RROR"` (a C hex escape swallowed the E);
/// a PLAIN client reads it as the refusal it is, with its status code.
#[test]
fn libzmq_plain_error_spelling_is_understood() {
    let now = Instant::now();
    let mut client = Session::new(config(SocketType::Req, plain_client("admin", "wrong")), now);
    let mut input = BytesMut::new();
    let mut server = Session::new(config(SocketType::Rep, MechanismConfig::PlainServer), now);
    input.extend_from_slice(&take_output(&mut server)[..64]);
    client.handle_input(&mut input, now).unwrap();
    // Bytes as libzmq 4.3.4 sends them (captured on the wire).
    input.extend_from_slice(&hex::decode("04095e52524f5203343030").unwrap());
    let err = client.handle_input(&mut input, now).unwrap_err();
    assert_eq!(
        err,
        SessionError::PeerError {
            reason: "400".into()
        }
    );
    assert!(err.is_auth());
}

/// Under CURVE, MAXMSGSIZE still bounds the whole message, whether its frames are small
/// boxes (opened in the read buffer) or large ones (opened in a share of it), and a message
/// within the limit made of both kinds arrives whole.
#[test]
fn curve_max_msg_size_bounds_the_whole_message() {
    for (frames, fits) in [
        (vec![30usize, 30, 30], true),
        (vec![30, 30, 30, 30], false),
        (vec![10, 100], true),
        (vec![10, 101], false),
        (vec![111], false),
    ] {
        let server = CurveKeyPair::generate();
        let (client, srv) = curve_pair(&server, &server);
        let mut pull = config(SocketType::Pull, srv);
        pull.max_msg_size = Some(110);
        let mut link = Link::new(config(SocketType::Push, client), pull);
        link.drive().unwrap();
        let msg = Message::from(
            frames
                .iter()
                .map(|&n| Bytes::from(vec![b'x'; n]))
                .collect::<Vec<_>>(),
        );
        link.a.send_message(&msg);
        let result = link.drive();
        if fits {
            result.unwrap();
            assert_eq!(messages(&link.b_events), [msg]);
        } else {
            let (side, err) = result.unwrap_err();
            assert_eq!(side, 'b');
            assert!(
                // One frame over the limit is refused from its header already.
                matches!(
                    err,
                    SessionError::PeerMisbehaved(
                        PeerMisbehaved::MessageTooLarge { limit: 110, .. }
                            | PeerMisbehaved::FrameTooLarge { .. }
                    )
                ),
                "{frames:?}: {err:?}"
            );
            assert!(messages(&link.b_events).is_empty());
        }
    }
}

/// A HELLO whose transient key C' is a point of small order (all zeros, whose shared secret
/// anyone can compute) is refused as a bad key: an authentication failure, and an ERROR for
/// the peer, before any box is opened with it.
#[test]
fn curve_hello_with_a_small_order_key_is_refused() {
    let server = CurveKeyPair::generate();
    let (_, srv) = curve_pair(&server, &server);
    let now = Instant::now();
    let mut s = Session::new(config(SocketType::Rep, srv), now);
    // RFC 23 greeting of a CURVE client (as-server 0), version 3.1.
    let mut bytes = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1];
    let mut mechanism = [0u8; 20];
    mechanism[..5].copy_from_slice(b"CURVE");
    bytes.extend_from_slice(&mechanism);
    bytes.extend_from_slice(&[0; 32]);
    // RFC 26 HELLO: version, padding, C' (here all zeros), short nonce, box.
    let mut hello = b"\x05HELLO\x01\x00".to_vec();
    hello.extend_from_slice(&[0; 72 + 32]);
    hello.extend_from_slice(&1u64.to_be_bytes());
    hello.extend_from_slice(&[0; 80]);
    bytes.extend_from_slice(&[0x04, u8::try_from(hello.len()).unwrap()]);
    bytes.extend_from_slice(&hello);
    let mut buf = BytesMut::from(&bytes[..]);
    let err = s.handle_input(&mut buf, now).unwrap_err();
    assert!(
        matches!(&err, SessionError::AuthFailed { reason } if reason.contains("small order")),
        "{err:?}"
    );
    let out = take_output(&mut s);
    let frames = raw_frames(&out[64..]);
    assert!(
        frames
            .iter()
            .any(|f| f.windows(6).any(|w| w == b"\x05ERROR")),
        "the peer is told: {frames:?}"
    );
}
