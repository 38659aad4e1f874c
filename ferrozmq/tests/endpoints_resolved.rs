//! Endpoints as libzmq resolves them (issue 12): tcp names resolved in the background and
//! again before every attempt, `*` with and without IPV6, interface names, source addresses,
//! and `ipc://@NAME` in the Linux abstract namespace.

use std::time::Duration;

use ferrozmq::{BindError, Context, MonitorEventKind, SocketOption, SocketType};

const WAIT: Duration = Duration::from_secs(30);

/// Whether this machine can bind `[::1]` (IPv6 tests skip, saying so, if not).
fn ipv6_loopback() -> bool {
    let ok = std::net::TcpListener::bind("[::1]:0").is_ok();
    if !ok {
        eprintln!("skipped: ::1 is not available here");
    }
    ok
}

fn round_trip(ctx: &Context, bind: &str, connect: impl Fn(&str) -> String) -> String {
    let pull = ctx.socket(SocketType::Pull);
    pull.set_option(SocketOption::RcvTimeo(Some(WAIT))).unwrap();
    let bound = pull.bind(bind).unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect(&connect(&bound)).unwrap();
    push.send("hello").unwrap();
    assert_eq!(pull.recv().unwrap().frames()[0], "hello");
    bound
}

fn port_of(endpoint: &str) -> &str {
    endpoint.rsplit(':').next().unwrap()
}

#[test]
fn a_name_that_does_not_resolve_is_accepted_then_retried_with_each_failure_reported() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(10))))
        .unwrap();
    let monitor = push.monitor();
    // Returns at once: nothing is resolved on this thread.
    push.connect("tcp://no-such-host.invalid:5555").unwrap();
    let mut failures = 0;
    let mut retries = 0;
    while failures < 2 {
        let ev = monitor.recv_timeout(WAIT).unwrap();
        assert_eq!(ev.endpoint, "tcp://no-such-host.invalid:5555");
        match ev.kind {
            MonitorEventKind::ResolveFailed { error } => {
                assert!(!error.is_empty());
                failures += 1;
            }
            MonitorEventKind::ConnectRetried { .. } => retries += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    // Resolved again before each attempt: a failure, a retry, another failure.
    assert!(retries >= 1);
}

#[test]
fn a_host_name_connects_once_resolved_in_the_background() {
    let ctx = Context::new();
    round_trip(&ctx, "tcp://127.0.0.1:*", |ep| {
        format!("tcp://localhost:{}", port_of(ep))
    });
}

#[test]
fn star_binds_ipv4_only_by_default() {
    let ctx = Context::new();
    let bound = round_trip(&ctx, "tcp://*:*", |ep| {
        format!("tcp://127.0.0.1:{}", port_of(ep))
    });
    assert!(bound.starts_with("tcp://0.0.0.0:"), "{bound}");
    if ipv6_loopback() {
        let push = ctx.socket(SocketType::Push);
        let monitor = push.monitor();
        push.connect(&format!("tcp://[::1]:{}", port_of(&bound)))
            .unwrap();
        // Refused: nothing listens on IPv6.
        let ev = monitor.recv_timeout(WAIT).unwrap();
        assert!(
            matches!(ev.kind, MonitorEventKind::ConnectRetried { .. }),
            "{ev:?}"
        );
    }
}

#[test]
fn star_with_ipv6_binds_one_dual_stack_socket() {
    if !ipv6_loopback() {
        return;
    }
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.set_option(SocketOption::Ipv6(true)).unwrap();
    pull.set_option(SocketOption::RcvTimeo(Some(WAIT))).unwrap();
    let bound = pull.bind("tcp://*:*").unwrap();
    assert!(bound.starts_with("tcp://[::]:"), "{bound}");
    for host in ["127.0.0.1", "[::1]"] {
        let push = ctx.socket(SocketType::Push);
        push.connect(&format!("tcp://{host}:{}", port_of(&bound)))
            .unwrap();
        push.send(host).unwrap();
        assert_eq!(pull.recv().unwrap().frames()[0], host.as_bytes());
    }
}

#[test]
fn an_interface_name_binds_its_address() {
    let ctx = Context::new();
    let bound = round_trip(&ctx, "tcp://lo:*", |ep| ep.to_owned());
    assert!(bound.starts_with("tcp://127.0.0.1:"), "{bound}");
    let pull = ctx.socket(SocketType::Pull);
    assert!(matches!(
        pull.bind("tcp://no-such-interface0:*"),
        Err(BindError::Endpoint(_))
    ));
}

#[test]
fn a_source_address_is_where_the_connection_comes_from() {
    let ctx = Context::new();
    for source in ["127.0.0.2", "127.0.0.3:0", "lo"] {
        let pull = ctx.socket(SocketType::Pull);
        pull.set_option(SocketOption::RcvTimeo(Some(WAIT))).unwrap();
        let monitor = pull.monitor();
        let bound = pull.bind("tcp://127.0.0.1:*").unwrap();
        let push = ctx.socket(SocketType::Push);
        push.connect(&format!("tcp://{source};{}", &bound["tcp://".len()..]))
            .unwrap();
        push.send("from").unwrap();
        assert_eq!(pull.recv().unwrap().frames()[0], "from");
        let accepted = (&monitor)
            .into_iter()
            .find(|e| e.kind == MonitorEventKind::Accepted)
            .unwrap();
        let want_ip = match source {
            "lo" => "127.0.0.1",
            s => s.split(':').next().unwrap(),
        };
        let peer = accepted.peer.unwrap();
        assert!(
            peer.starts_with(&format!("tcp://{want_ip}:")),
            "{source}: {peer}"
        );
    }
}

#[test]
fn a_source_must_be_local_and_bind_takes_none() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    // Not an interface nor an address: refused at once, without a DNS lookup.
    assert!(push
        .connect("tcp://no-such-interface0;127.0.0.1:5555")
        .is_err());
    let pull = ctx.socket(SocketType::Pull);
    assert!(matches!(
        pull.bind("tcp://127.0.0.1;127.0.0.1:*"),
        Err(BindError::Endpoint(_))
    ));
}

#[test]
fn a_source_with_a_fixed_port_is_used() {
    let ctx = Context::new();
    // A free port, found by binding it and letting it go.
    let port = std::net::TcpListener::bind("127.0.0.4:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pull = ctx.socket(SocketType::Pull);
    let monitor = pull.monitor();
    let bound = pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect(&format!(
        "tcp://127.0.0.4:{port};{}",
        &bound["tcp://".len()..]
    ))
    .unwrap();
    let accepted = (&monitor)
        .into_iter()
        .find(|e| e.kind == MonitorEventKind::Accepted)
        .unwrap();
    assert_eq!(accepted.peer.unwrap(), format!("tcp://127.0.0.4:{port}"));
}

#[cfg(target_os = "linux")]
#[test]
fn ipc_at_name_lives_in_the_abstract_namespace() {
    let ctx = Context::new();
    let name = format!("ipc://@ferrozmq-abstract-{}", std::process::id());
    let bound = round_trip(&ctx, &name, |ep| ep.to_owned());
    assert_eq!(bound, name);
    // No file was made (not in the working directory, where a path "@..." would go).
    assert!(!std::path::Path::new(&name["ipc://".len()..]).exists());
    // A name in use (by a socket kept open here: the round trip's own is closing) cannot be
    // bound twice.
    let held = ctx.socket(SocketType::Pull);
    let name2 = format!("{name}-held");
    held.bind(&name2).unwrap();
    let again = ctx.socket(SocketType::Pull);
    assert!(matches!(again.bind(&name2), Err(BindError::AddrInUse(_))));
}

/// A Unix listener that never accepts, its backlog full: connecting to it must not hold up
/// the I/O thread (a blocking Unix connect waits for an accept), so the other sockets of the
/// context keep working.
#[cfg(target_os = "linux")]
#[test]
fn a_full_abstract_listener_does_not_stall_the_io_thread() {
    use socket2::{Domain, SockAddr, Socket, Type};
    use std::os::unix::ffi::OsStrExt;
    let name = format!("ferrozmq-full-backlog-{}", std::process::id());
    let mut path = vec![0u8];
    path.extend_from_slice(name.as_bytes());
    let listener = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    listener
        .bind(&SockAddr::unix(std::ffi::OsStr::from_bytes(&path)).unwrap())
        .unwrap();
    listener.listen(1).unwrap();

    let ctx = Context::new();
    let stuck: Vec<_> = (0..4)
        .map(|_| {
            let push = ctx.socket(SocketType::Push);
            push.connect(&format!("ipc://@{name}")).unwrap();
            push
        })
        .collect();
    let pull = ctx.socket(SocketType::Pull);
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect(&ep).unwrap();
    push.send("through").unwrap();
    // A failure guard, not a timing: with the old blocking connect the I/O thread never
    // comes back and nothing arrives at all.
    let got = pull.recv_timeout(Some(Duration::from_secs(20)));
    assert_eq!(got.unwrap(), ferrozmq::Message::from("through"));
    drop(stuck);
    drop(listener);
}
