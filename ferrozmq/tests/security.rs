//! PLAIN, CURVE and ZAP between ferrozmq sockets over tcp and ipc: options, the built-in
//! authenticator, a user's own ZAP handler (answered out of order, proving the handshake
//! pauses without holding up the reactor), refusals seen by the monitor, and nothing from a
//! refused peer reaching the application.

use std::time::Duration;

use ferrozmq::auth::Authenticator;
use ferrozmq::{
    Bytes, Context, CurveKeyPair, HandshakeFailure, Mechanism, Message, Monitor, MonitorEventKind,
    OptionError, SecretBytes, SessionError, Socket, SocketOption, SocketType,
};

const GUARD: Duration = Duration::from_secs(20);

fn endpoints(tag: &str) -> Vec<String> {
    vec![
        "tcp://127.0.0.1:*".to_owned(),
        format!(
            "ipc://{}/fzmq-sec-{}-{tag}.ipc",
            std::env::temp_dir().display(),
            std::process::id()
        ),
    ]
}

fn set(s: &Socket, options: impl IntoIterator<Item = SocketOption>) {
    for o in options {
        s.set_option(o).unwrap();
    }
}

fn curve_server(keys: &CurveKeyPair) -> Vec<SocketOption> {
    vec![
        SocketOption::CurveServer(true),
        SocketOption::CurveSecretKey(keys.secret.to_z85().into()),
    ]
}

fn curve_client(server: &CurveKeyPair, own: &CurveKeyPair) -> Vec<SocketOption> {
    vec![
        SocketOption::CurvePublicKey(Bytes::copy_from_slice(own.public.as_bytes())),
        SocketOption::CurveSecretKey(own.secret.to_z85().into()),
        SocketOption::CurveServerKey(server.public.to_z85().into()),
    ]
}

fn plain_client(user: &str, pass: &str) -> Vec<SocketOption> {
    vec![
        SocketOption::PlainUsername(Bytes::copy_from_slice(user.as_bytes())),
        SocketOption::PlainPassword(SecretBytes::new(pass)),
    ]
}

/// Binds one side and connects the other, in the order asked; returns the resolved endpoint.
fn join(binder: &Socket, connecter: &Socket, ep: &str) {
    let resolved = binder.bind(ep).unwrap();
    connecter.connect(&resolved).unwrap();
}

fn round_trip(req: &Socket, rep: &Socket) {
    for i in 0..3 {
        req.send(format!("ping {i}")).unwrap();
        let got = rep.recv_timeout(Some(GUARD)).unwrap();
        assert_eq!(got, Message::from(format!("ping {i}")));
        rep.send(format!("pong {i}")).unwrap();
        assert_eq!(
            req.recv_timeout(Some(GUARD)).unwrap(),
            Message::from(format!("pong {i}"))
        );
    }
}

/// Waits for the monitor's handshake failure (the guard only catches a hang).
fn auth_failure(mon: &Monitor) -> SessionError {
    loop {
        let e = mon.recv_timeout(GUARD).expect("a handshake failure event");
        match e.kind {
            MonitorEventKind::HandshakeFailed(HandshakeFailure::Auth(why)) => return why,
            MonitorEventKind::HandshakeFailed(other) => panic!("not an auth failure: {other}"),
            _ => {}
        }
    }
}

#[test]
fn curve_req_rep_both_sides_binding_over_tcp_and_ipc() {
    let ctx = Context::new();
    for (i, ep) in endpoints("curve-rr").iter().enumerate() {
        for server_binds in [true, false] {
            let server_keys = CurveKeyPair::generate();
            let rep = ctx.socket(SocketType::Rep);
            set(&rep, curve_server(&server_keys));
            let req = ctx.socket(SocketType::Req);
            set(&req, curve_client(&server_keys, &CurveKeyPair::generate()));
            let ep = ep.replace(".ipc", &format!("-{i}-{server_binds}.ipc"));
            if server_binds {
                join(&rep, &req, &ep);
            } else {
                join(&req, &rep, &ep);
            }
            round_trip(&req, &rep);
            assert_eq!(rep.options().mechanism, Mechanism::Curve);
            assert!(rep.options().as_server);
            assert!(!req.options().as_server);
        }
    }
}

#[test]
fn curve_pub_sub_and_dealer_router() {
    let ctx = Context::new();
    let keys = CurveKeyPair::generate();
    let publisher = ctx.socket(SocketType::Pub);
    set(&publisher, curve_server(&keys));
    let sub = ctx.socket(SocketType::Sub);
    set(&sub, curve_client(&keys, &CurveKeyPair::generate()));
    sub.subscribe("w").unwrap();
    join(&publisher, &sub, "tcp://127.0.0.1:*");
    // The subscription travels boxed; publish until it has arrived.
    let got = loop {
        publisher.send("weather").unwrap();
        if let Ok(m) = sub.recv_timeout(Some(Duration::from_millis(100))) {
            break m;
        }
    };
    assert_eq!(got, Message::from("weather"));

    let router = ctx.socket(SocketType::Router);
    set(&router, curve_server(&keys));
    let dealer = ctx.socket(SocketType::Dealer);
    set(&dealer, curve_client(&keys, &CurveKeyPair::generate()));
    set(&dealer, [SocketOption::RoutingId(Bytes::from("d1"))]);
    join(&dealer, &router, "tcp://127.0.0.1:*");
    dealer
        .send(Message::from(vec![
            Bytes::from("a"),
            Bytes::from(vec![1u8; 100_000]),
        ]))
        .unwrap();
    let m = router.recv_timeout(Some(GUARD)).unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!(&m.frames()[0][..], b"d1");
    assert_eq!(m.frames()[2].len(), 100_000);
}

#[test]
fn curve_wrong_server_key_is_refused_and_reported_as_auth() {
    let ctx = Context::new();
    let real = CurveKeyPair::generate();
    let rep = ctx.socket(SocketType::Rep);
    set(&rep, curve_server(&real));
    let rep_mon = rep.monitor();
    let req = ctx.socket(SocketType::Req);
    set(
        &req,
        curve_client(&CurveKeyPair::generate(), &CurveKeyPair::generate()),
    );
    set(&req, [SocketOption::ReconnectIvl(None)]);
    let req_mon = req.monitor();
    join(&rep, &req, "tcp://127.0.0.1:*");
    req.send("secret?").unwrap();
    let why = auth_failure(&rep_mon);
    assert!(matches!(why, SessionError::AuthFailed { .. }), "{why}");
    // The client is told with ERROR 400, an auth failure on its side too.
    assert_eq!(
        auth_failure(&req_mon),
        SessionError::PeerError {
            reason: "400".into()
        }
    );
    assert!(rep.recv_timeout(Some(Duration::from_millis(200))).is_err());
}

#[test]
fn authenticator_checks_plain_passwords_and_curve_keys() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.plain_user("admin", "secret");
    let good_client = CurveKeyPair::generate();
    auth.curve_allow(good_client.public);

    // PLAIN: the right password passes, a wrong one is refused with the handler's reason.
    for (binds, pass, ok) in [
        (true, "secret", true),
        (false, "secret", true),
        (true, "wrong", false),
    ] {
        let server = ctx.socket(SocketType::Rep);
        set(&server, [SocketOption::PlainServer(true)]);
        let mon = server.monitor();
        let client = ctx.socket(SocketType::Req);
        set(&client, plain_client("admin", pass));
        set(&client, [SocketOption::ReconnectIvl(None)]);
        if binds {
            join(&server, &client, "tcp://127.0.0.1:*")
        } else {
            join(&client, &server, "tcp://127.0.0.1:*")
        }
        if ok {
            round_trip(&client, &server);
        } else {
            client.send("let me in").unwrap();
            let why = auth_failure(&mon);
            assert!(
                why.to_string().contains("invalid user name or password"),
                "{why}"
            );
            assert!(server
                .recv_timeout(Some(Duration::from_millis(200)))
                .is_err());
        }
    }

    // CURVE: an allowed client key passes, another is refused.
    let server_keys = CurveKeyPair::generate();
    for (client_keys, ok) in [
        (good_client.clone(), true),
        (CurveKeyPair::generate(), false),
    ] {
        let server = ctx.socket(SocketType::Router);
        set(&server, curve_server(&server_keys));
        let mon = server.monitor();
        let client = ctx.socket(SocketType::Dealer);
        set(&client, curve_client(&server_keys, &client_keys));
        set(&client, [SocketOption::ReconnectIvl(None)]);
        join(&server, &client, "tcp://127.0.0.1:*");
        client.send("hello").unwrap();
        if ok {
            let m = server.recv_timeout(Some(GUARD)).unwrap();
            assert_eq!(&m.frames()[1][..], b"hello");
        } else {
            let why = auth_failure(&mon);
            assert!(why.to_string().contains("CURVE key not allowed"), "{why}");
            assert!(server
                .recv_timeout(Some(Duration::from_millis(200)))
                .is_err());
        }
    }
    auth.stop();
}

#[test]
fn authenticator_denies_and_allows_ip_addresses() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.curve_allow_any();
    auth.deny_ip("127.0.0.1");
    let keys = CurveKeyPair::generate();
    let server = ctx.socket(SocketType::Pull);
    set(&server, curve_server(&keys));
    let mon = server.monitor();
    let client = ctx.socket(SocketType::Push);
    set(&client, curve_client(&keys, &CurveKeyPair::generate()));
    set(&client, [SocketOption::ReconnectIvl(None)]);
    join(&server, &client, "tcp://127.0.0.1:*");
    client.send("from a denied address").unwrap();
    assert!(auth_failure(&mon).to_string().contains("address denied"));
    assert!(server
        .recv_timeout(Some(Duration::from_millis(200)))
        .is_err());
    drop(auth);

    // Only 127.0.0.2 allowed: 127.0.0.1 is refused.
    let auth = Authenticator::start(&ctx).unwrap();
    auth.curve_allow_any();
    auth.allow_ip("127.0.0.2");
    let server = ctx.socket(SocketType::Pull);
    set(&server, curve_server(&keys));
    let mon = server.monitor();
    let client = ctx.socket(SocketType::Push);
    set(&client, curve_client(&keys, &CurveKeyPair::generate()));
    set(&client, [SocketOption::Linger(Some(Duration::ZERO))]);
    join(&server, &client, "tcp://127.0.0.1:*");
    client.send("x").unwrap();
    assert!(auth_failure(&mon)
        .to_string()
        .contains("address not allowed"));
}

#[test]
fn a_users_zap_handler_answers_out_of_order_without_blocking_others() {
    let ctx = Context::new();
    let handler = ctx.socket(SocketType::Router);
    handler.bind("inproc://zeromq.zap.01").unwrap();
    let server = ctx.socket(SocketType::Pull);
    set(
        &server,
        [
            SocketOption::PlainServer(true),
            SocketOption::ZapDomain(Bytes::from("test")),
        ],
    );
    let ep = server.bind("tcp://127.0.0.1:*").unwrap();
    let slow = ctx.socket(SocketType::Push);
    set(&slow, plain_client("slow", "x"));
    // Its message is never delivered: do not linger on it at exit.
    set(&slow, [SocketOption::Linger(Some(Duration::ZERO))]);
    slow.connect(&ep).unwrap();
    slow.send("from slow").unwrap();
    // The first request (slow's) is held unanswered.
    let held = handler.recv_timeout(Some(GUARD)).unwrap();
    let fast = ctx.socket(SocketType::Push);
    set(&fast, plain_client("fast", "y"));
    fast.connect(&ep).unwrap();
    fast.send("from fast").unwrap();
    let second = handler.recv_timeout(Some(GUARD)).unwrap();
    let frames = |m: &Message| m.iter().map(|f| f.to_vec()).collect::<Vec<_>>();
    let (held, second) = (frames(&held), frames(&second));
    // [routing id, "", "1.0", id, domain, address, identity, mechanism, user, password]
    assert_eq!(held[2], b"1.0");
    assert_eq!(held[4], b"test");
    assert_eq!(held[5], b"127.0.0.1");
    assert_eq!(held[7], b"PLAIN");
    assert_eq!(held[8], b"slow");
    assert_eq!(second[8], b"fast");
    let reply = |req: &Vec<Vec<u8>>, code: &str| {
        Message::from(vec![
            Bytes::from(req[0].clone()),
            Bytes::new(),
            Bytes::from("1.0"),
            Bytes::from(req[3].clone()),
            Bytes::from(code.to_owned()),
            Bytes::from("decided"),
            Bytes::from("user"),
            Bytes::new(),
        ])
    };
    // fast is allowed while slow still waits: its message arrives first.
    handler.send(reply(&second, "200")).unwrap();
    assert_eq!(
        server.recv_timeout(Some(GUARD)).unwrap(),
        Message::from("from fast")
    );
    // slow is refused: nothing of it ever arrives.
    let mon = server.monitor();
    handler.send(reply(&held, "400")).unwrap();
    assert!(auth_failure(&mon).to_string().contains("ZAP status 400"));
    assert!(server
        .recv_timeout(Some(Duration::from_millis(300)))
        .is_err());
}

#[test]
fn security_options_parse_keys_and_set_the_mechanism() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Dealer);
    assert_eq!(s.options().mechanism, Mechanism::Null);
    let keys = CurveKeyPair::generate();
    s.set_option(SocketOption::CurveServerKey(keys.public.to_z85().into()))
        .unwrap();
    assert_eq!(s.options().mechanism, Mechanism::Curve);
    assert_eq!(s.options().curve_server_key, Some(keys.public));
    assert_eq!(
        s.set_option(SocketOption::CurveSecretKey(Bytes::from("too short"))),
        Err(OptionError::InvalidValue("ZMQ_CURVE_SECRETKEY"))
    );
    s.set_option(SocketOption::CurveSecretKey(Bytes::copy_from_slice(
        keys.secret.as_bytes(),
    )))
    .unwrap();
    // Secrets never show in Debug.
    let debug = format!("{:?}", s.options());
    assert!(!debug.contains(&keys.secret.to_z85()));
    s.set_option(SocketOption::PlainServer(true)).unwrap();
    assert_eq!(s.options().mechanism, Mechanism::Plain);
    s.set_option(SocketOption::PlainServer(false)).unwrap();
    assert_eq!(s.options().mechanism, Mechanism::Null);
    s.set_option(SocketOption::PlainPassword(SecretBytes::new("pw")))
        .unwrap();
    assert!(!format!("{:?}", s.options()).contains("\"pw\""));
    assert_eq!(ferrozmq::curve_public(&keys.secret), keys.public);
}

#[test]
fn plain_without_zap_accepts_as_libzmq_does() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Rep);
    set(&server, [SocketOption::PlainServer(true)]);
    let client = ctx.socket(SocketType::Req);
    set(&client, plain_client("anyone", "anything"));
    join(&client, &server, "tcp://127.0.0.1:*");
    round_trip(&client, &server);
}

#[test]
fn received_messages_carry_user_id_and_peer_properties() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.plain_user("alice", "pw");
    let keys = CurveKeyPair::generate();
    let client_keys = CurveKeyPair::generate();
    auth.curve_allow(client_keys.public);

    // CURVE: the user id is the client's Z85 public key.
    let router = ctx.socket(SocketType::Router);
    set(&router, curve_server(&keys));
    let dealer = ctx.socket(SocketType::Dealer);
    set(&dealer, curve_client(&keys, &client_keys));
    set(&dealer, [SocketOption::RoutingId(Bytes::from("d-7"))]);
    join(&router, &dealer, "tcp://127.0.0.1:*");
    dealer.send("who am i").unwrap();
    let m = router.recv_timeout(Some(GUARD)).unwrap();
    assert_eq!(
        m.property("user-id"),
        Some(client_keys.public.to_z85().as_bytes())
    );
    assert_eq!(m.property("Socket-Type"), Some(&b"DEALER"[..]));
    assert_eq!(m.property("Routing-Id"), Some(&b"d-7"[..]));
    assert!(m
        .property("Peer-Address")
        .unwrap()
        .starts_with(b"127.0.0.1:"));

    // PLAIN: the user name.
    let rep = ctx.socket(SocketType::Rep);
    set(&rep, [SocketOption::PlainServer(true)]);
    let req = ctx.socket(SocketType::Req);
    set(&req, plain_client("alice", "pw"));
    join(&rep, &req, "tcp://127.0.0.1:*");
    req.send("hi").unwrap();
    let m = rep.recv_timeout(Some(GUARD)).unwrap();
    assert_eq!(m, Message::from("hi"));
    assert_eq!(m.property("User-Id"), Some(&b"alice"[..]));

    // NULL without ZAP: no properties, nothing to pay.
    let pull = ctx.socket(SocketType::Pull);
    let push = ctx.socket(SocketType::Push);
    join(&pull, &push, "tcp://127.0.0.1:*");
    push.send("plain").unwrap();
    assert!(pull
        .recv_timeout(Some(GUARD))
        .unwrap()
        .properties()
        .is_none());
}

#[test]
fn null_with_a_zap_domain_asks_on_both_sides_without_deadlock() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    let domain = || SocketOption::ZapDomain(Bytes::from("d"));
    for binds in [true, false] {
        let pull = ctx.socket(SocketType::Pull);
        let push = ctx.socket(SocketType::Push);
        set(&pull, [domain()]);
        set(&push, [domain()]);
        if binds {
            join(&pull, &push, "tcp://127.0.0.1:*");
        } else {
            join(&push, &pull, "tcp://127.0.0.1:*");
        }
        push.send("null but vetted").unwrap();
        let m = pull.recv_timeout(Some(GUARD)).unwrap();
        assert_eq!(m, Message::from("null but vetted"));
        // ZAP was asked: the message carries the (empty) user id the handler returned.
        assert_eq!(m.property("User-Id"), Some(&b""[..]));
    }
    // The authenticator's IP rules apply to NULL too.
    auth.deny_ip("127.0.0.1");
    let pull = ctx.socket(SocketType::Pull);
    set(&pull, [domain()]);
    let mon = pull.monitor();
    let push = ctx.socket(SocketType::Push);
    set(&push, [SocketOption::Linger(Some(Duration::ZERO))]);
    join(&pull, &push, "tcp://127.0.0.1:*");
    push.send("denied").unwrap();
    assert!(auth_failure(&mon).to_string().contains("address denied"));
    assert!(pull.recv_timeout(Some(Duration::from_millis(200))).is_err());
}
