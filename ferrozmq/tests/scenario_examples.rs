//! The scenario examples of issue 11 (two endpoints, async ROUTER, ipc service, fork-join,
//! first reply, graceful shutdown, STREAM echo, proxies, async executors), each run through
//! its own `run` function (the example file is compiled in here as a module), with the
//! outcome it claims asserted; `examples.rs` runs the smaller examples. The graceful-shutdown
//! example also runs as a child process that gets a real SIGTERM.
//!
//! Waits are on observable events (a reply, a line of output, a process exit); time-outs are
//! failure guards only.

#[allow(dead_code)]
#[path = "../examples/async_executors.rs"]
mod async_executors;
#[allow(dead_code)]
#[path = "../examples/async_router_server.rs"]
mod async_router_server;
#[allow(dead_code)]
#[path = "../examples/echo_two_endpoints.rs"]
mod echo_two_endpoints;
#[allow(dead_code)]
#[path = "../examples/first_reply.rs"]
mod first_reply;
#[allow(dead_code)]
#[path = "../examples/fork_join.rs"]
mod fork_join;
#[allow(dead_code)]
#[path = "../examples/graceful_shutdown.rs"]
mod graceful_shutdown;
#[allow(dead_code)]
#[path = "../examples/ipc_service.rs"]
mod ipc_service;
#[allow(dead_code)]
#[path = "../examples/proxy_broker.rs"]
mod proxy_broker;
#[allow(dead_code)]
#[path = "../examples/stream_echo.rs"]
mod stream_echo;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use ferrozmq::recipes::FirstReplyError;
use ferrozmq::{Context, Message, SocketType};

/// Failure guard for every wait.
const GUARD: Duration = Duration::from_secs(30);

/// The bytes a relay recorded.
type Record = Arc<Mutex<Vec<u8>>>;

/// A tcp relay in front of `upstream` (`tcp://HOST:PORT`) that records what its client sent;
/// returns the relay's endpoint.
fn recording_relay(upstream: &str, record: Record) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    let upstream = upstream.trim_start_matches("tcp://").to_owned();
    thread::spawn(move || {
        let Ok((mut client, _)) = listener.accept() else {
            return;
        };
        let Ok(mut server) = TcpStream::connect(&upstream) else {
            return;
        };
        let (mut client_w, mut server_r) =
            (client.try_clone().unwrap(), server.try_clone().unwrap());
        thread::spawn(move || {
            let _ = std::io::copy(&mut server_r, &mut client_w);
        });
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = client.read(&mut buf) {
            record.lock().unwrap().extend_from_slice(&buf[..n]);
            if server.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = server.shutdown(std::net::Shutdown::Both);
    });
    endpoint
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[test]
fn echo_two_endpoints_spreads_requests_over_both() {
    let records: Arc<Mutex<Vec<Record>>> = Arc::default();
    let recs = records.clone();
    echo_two_endpoints::run(100, move |ep| {
        let record = Arc::default();
        recs.lock().unwrap().push(Arc::clone(&record));
        recording_relay(ep, record)
    })
    .unwrap();
    let records = records.lock().unwrap();
    let per_endpoint: Vec<usize> = records
        .iter()
        .map(|r| count(&r.lock().unwrap(), b"request "))
        .collect();
    assert_eq!(per_endpoint.iter().sum::<usize>(), 100, "{per_endpoint:?}");
    // RFC 28: REQ alternates strictly between its two connected peers.
    assert_eq!(per_endpoint, [50, 50]);
}

#[test]
fn async_router_server_replies_to_the_right_clients() {
    assert_eq!(async_router_server::run(20, 50).unwrap(), 1000);
}

#[test]
fn ipc_service_starts_over_a_stale_socket_file() {
    let path = std::env::temp_dir().join(format!("ipc-service-test-{}.sock", std::process::id()));
    let per_run = 4 * ipc_service::SIZES.len();
    assert_eq!(ipc_service::run(&path).unwrap(), [per_run, per_run]);
    // A live service's path is never taken over.
    let ctx = Context::new();
    let live = ctx.socket(SocketType::Router);
    let ep = format!("ipc://{}", path.display());
    live.bind(&ep).unwrap();
    let other = ctx.socket(SocketType::Router);
    assert!(matches!(
        other.bind(&ep),
        Err(ferrozmq::BindError::AddrInUse(_))
    ));
    ctx.terminate();
}

#[test]
fn fork_join_completes_the_batch_over_every_worker() {
    let n = 200u64;
    let (sum, per_worker) = fork_join::run(n, 4).unwrap();
    assert_eq!(sum, n * (n + 1) * (2 * n + 1) / 6);
    assert_eq!(per_worker.iter().sum::<usize>(), n as usize);
    assert!(per_worker.iter().all(|&w| w > 0), "{per_worker:?}");
}

#[test]
fn first_reply_wins_late_ones_are_discarded_and_silence_times_out() {
    let outcome = first_reply::run().unwrap();
    // The slow replica is held until the first answer came: the fast one (index 1) wins.
    assert_eq!(outcome.first_replica, 1);
    assert_eq!(outcome.first, "first question / fast");
    // The slow replica's late answer to the first question is not taken for the second's.
    assert!(
        outcome.second == "second question / fast" || outcome.second == "second question / slow",
        "{}",
        outcome.second
    );
    assert!(matches!(
        outcome.timeout,
        FirstReplyError::Timeout { replicas: 2, .. }
    ));
    assert!(outcome
        .timeout
        .to_string()
        .contains("none of the 2 replicas replied"));
}

#[test]
fn graceful_shutdown_refuses_late_clients_and_finishes_taken_work() {
    // The job waits for the test's go-ahead, so the drain surely starts while it runs.
    let (started_tx, started) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let service = graceful_shutdown::Service::start(move |request| {
        let _ = started_tx.send(());
        let _ = go_rx.lock().unwrap().recv();
        let mut reply = Message::single("done");
        reply.extend(request);
        reply
    })
    .unwrap();
    let ctx = Context::new();
    let early = ctx.socket(SocketType::Req);
    early.connect(&service.endpoint).unwrap();
    early.send("early").unwrap();
    started.recv_timeout(GUARD).expect("the job started");
    service.drain_handle().drain();
    let late = ctx.socket(SocketType::Req);
    late.connect(&service.endpoint).unwrap();
    late.send("late").unwrap();
    let refusal = late.recv_timeout(Some(GUARD)).unwrap();
    assert_eq!(&refusal.frames()[0][..], b"unavailable");
    go.send(()).unwrap();
    let reply = early.recv_timeout(Some(GUARD)).unwrap();
    assert_eq!(&reply.frames()[0][..], b"done");
    assert_eq!(&reply.frames()[1][..], b"early");
    let report = service.finish().unwrap();
    assert_eq!((report.served, report.refused), (1, 1));
    ctx.terminate();
}

/// Run as a child process by the next test: the example's own `main`, signals and all.
#[test]
fn graceful_shutdown_child() {
    if std::env::var_os("GRACEFUL_SHUTDOWN_CHILD").is_some() {
        graceful_shutdown::main().unwrap();
    }
}

#[test]
fn graceful_shutdown_on_sigterm_replies_to_everything_taken() {
    /// Kills the child if the test fails before it exits.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = KillOnDrop(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "graceful_shutdown_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GRACEFUL_SHUTDOWN_CHILD", "1")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (lines_tx, lines) = mpsc::channel();
    let out = BufReader::new(child.0.stdout.take().unwrap());
    thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let next_line_with = |prefix: &str| loop {
        let line = lines.recv_timeout(GUARD).expect("the service's output");
        // The test harness prints `test NAME ... ` before the service's first line.
        if let Some((_, rest)) = line.split_once(prefix) {
            return rest.to_owned();
        }
    };
    let endpoint = next_line_with("listening on ");
    let ctx = Context::new();
    let clients: Vec<_> = (0..2)
        .map(|i| {
            let req = ctx.socket(SocketType::Req);
            req.connect(&endpoint).unwrap();
            req.send(format!("job {i}")).unwrap();
            req
        })
        .collect();
    // Both jobs were taken before the signal.
    next_line_with("working on ");
    next_line_with("working on ");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    next_line_with("draining");
    for (i, req) in clients.iter().enumerate() {
        let reply = req.recv_timeout(Some(GUARD)).unwrap();
        assert_eq!(&reply.frames()[0][..], format!("done: job {i}").as_bytes());
    }
    assert_eq!(next_line_with("served "), "2, refused 0");
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status}");
    ctx.terminate();
}

#[test]
fn stream_echo_serves_tcp_and_unix_clients_on_one_loop() {
    use std::os::unix::net::UnixStream;
    let ctx = Context::new();
    let path = std::env::temp_dir().join(format!("stream-echo-test-{}.sock", std::process::id()));
    let (stream, [tcp, ipc]) = stream_echo::start(&ctx, &path).unwrap();
    let server = {
        let stream = stream.clone();
        thread::spawn(move || stream_echo::serve(&stream))
    };
    let mut t = TcpStream::connect(tcp.trim_start_matches("tcp://")).unwrap();
    let mut u = UnixStream::connect(ipc.trim_start_matches("ipc://")).unwrap();
    t.set_read_timeout(Some(GUARD)).unwrap();
    u.set_read_timeout(Some(GUARD)).unwrap();
    let big = vec![b'z'; 200_000];
    t.write_all(&big).unwrap();
    u.write_all(b"hello over a unix socket").unwrap();
    let mut echo = vec![0; big.len()];
    t.read_exact(&mut echo).unwrap();
    assert_eq!(echo, big);
    let mut echo = [0; 24];
    u.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"hello over a unix socket");
    stream.close();
    let (_, bytes) = server.join().unwrap();
    assert_eq!(bytes, big.len() as u64 + 24);
    ctx.terminate();
}

#[test]
fn proxy_forwarder_and_broker_deliver() {
    let outcome = proxy_broker::run().unwrap();
    assert_eq!(outcome.received, ["weather: sunny", "weather: rain"]);
    assert_eq!(outcome.replies.len(), 5);
    for (c, r) in outcome.replies.iter().enumerate() {
        assert!(
            r.starts_with(&format!("client {c} answered by worker ")),
            "{r}"
        );
    }
}

#[test]
fn async_examples_run_under_tokio_and_futures_executor() {
    let want_replies: Vec<String> = (0..3).map(|i| format!("ping {i} pong")).collect();
    let want_news: Vec<String> = (0..3).map(|i| format!("news {i}")).collect();
    for (replies, news) in async_executors::run(3).unwrap() {
        assert_eq!(replies, want_replies);
        assert_eq!(news, want_news);
    }
}
