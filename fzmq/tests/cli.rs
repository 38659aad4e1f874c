//! Runs the built `fzmq` binary as a user would. Processes synchronise on the
//! `listening on <endpoint>` line each binding side prints on stderr, and on process exit;
//! every wait has a generous deadline after which the process is killed and the test fails.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Upper bound for anything a test waits for; far above what a healthy run needs.
const DEADLINE: Duration = Duration::from_secs(30);

/// A running `fzmq` with its output collected in the background.
struct Fzmq {
    child: Child,
    /// Held open until the process is finished, as a user who has not typed yet.
    _stdin: Option<ChildStdin>,
    name: String,
    stderr_lines: Receiver<String>,
    /// Each stdout line as it comes (with its newline); `stdout` has them all at the end.
    stdout_lines: Receiver<String>,
    stdout: JoinHandle<String>,
}

/// How a finished `fzmq` ended.
#[derive(Debug)]
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Fzmq {
    /// Starts `fzmq ARGS` with `input` on stdin (closed after it), or stdin left open if `None`.
    fn start(args: &[&str], input: Option<&str>) -> Fzmq {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fzmq"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fzmq");
        let mut stdin = child.stdin.take().expect("stdin");
        let stdin = match input {
            Some(input) => {
                stdin.write_all(input.as_bytes()).expect("write stdin");
                None
            }
            None => Some(stdin),
        };
        let out = child.stdout.take().expect("stdout");
        let (line_tx, stdout_lines) = mpsc::channel();
        let stdout = thread::spawn(move || {
            let mut all = Vec::new();
            let mut out = BufReader::new(out);
            loop {
                let mut line = Vec::new();
                match out.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        all.extend_from_slice(&line);
                        let _ = line_tx.send(String::from_utf8_lossy(&line).into_owned());
                    }
                }
            }
            String::from_utf8(all).expect("stdout is UTF-8")
        });
        let err = child.stderr.take().expect("stderr");
        let (tx, stderr_lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Fzmq {
            child,
            _stdin: stdin,
            name: args.join(" "),
            stderr_lines,
            stdout_lines,
            stdout,
        }
    }

    /// Waits for the `listening on EP` line and returns EP.
    fn listening_on(&mut self) -> String {
        let deadline = Instant::now() + DEADLINE;
        let mut seen = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) => match line.strip_prefix("listening on ") {
                    Some(ep) => return ep.to_owned(),
                    None => seen.push_str(&format!("{line}\n")),
                },
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "`fzmq {}` printed no `listening on` line: {seen}",
                        self.name
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("`fzmq {}` exited without listening: {seen}", self.name)
                }
            }
        }
    }

    /// Writes to the process's stdin (started with `None`, so stdin is open).
    fn write_stdin(&mut self, input: &str) {
        let stdin = self._stdin.as_mut().expect("stdin was closed at start");
        stdin.write_all(input.as_bytes()).expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Closes stdin (end of input).
    fn close_stdin(&mut self) {
        self._stdin = None;
    }

    /// Waits for a stderr line containing `needle` and returns it.
    fn stderr_line_with(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(e) => {
                    let _ = self.child.kill();
                    panic!(
                        "`fzmq {}` printed no line with {needle:?} ({e:?}): {seen:?}",
                        self.name
                    );
                }
            }
        }
    }

    /// Waits for the next stdout line.
    fn next_stdout_line(&mut self) -> String {
        self.stdout_lines
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|e| {
                let _ = self.child.kill();
                panic!("`fzmq {}` printed nothing on stdout ({e:?})", self.name)
            })
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the process to exit (killing it at the deadline and failing).
    fn finish(mut self) -> Finished {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr: Vec<String> = self.stderr_lines.try_iter().collect();
                panic!(
                    "`fzmq {}` still running after {DEADLINE:?}; stderr: {stderr:?}",
                    self.name
                );
            }
            thread::sleep(Duration::from_millis(10));
        };
        let stdout = self.stdout.join().expect("stdout reader");
        let stderr: Vec<String> = self.stderr_lines.iter().collect();
        Finished {
            status,
            stdout,
            stderr: stderr.join("\n"),
        }
    }
}

impl Finished {
    fn assert_success(&self) -> &Self {
        assert!(self.status.success(), "{self:#?}");
        self
    }

    fn assert_code(&self, code: i32, stderr_has: &str) -> &Self {
        assert_eq!(self.status.code(), Some(code), "{self:#?}");
        assert!(
            self.stderr.contains(stderr_has),
            "stderr lacks {stderr_has:?}: {self:#?}"
        );
        self
    }
}

fn run(args: &[&str]) -> Finished {
    Fzmq::start(args, Some("")).finish()
}

#[test]
fn no_arguments_is_a_usage_error() {
    run(&[]).assert_code(2, "Usage: fzmq <COMMAND>");
}

#[test]
fn an_endpoint_is_required() {
    run(&["req"]).assert_code(2, "--bind <EP>|--connect <EP>");
}

#[test]
fn unknown_socket_type_is_a_usage_error() {
    run(&["rabbit", "--bind", "tcp://127.0.0.1:*"]).assert_code(2, "unrecognized subcommand");
}

#[test]
fn echo_needs_a_receiving_type() {
    run(&["push", "--connect", "tcp://127.0.0.1:5555", "--echo"]).assert_code(2, "--echo");
}

#[test]
fn bad_option_values_are_usage_errors() {
    run(&["pull", "--bind", "tcp://127.0.0.1:*", "--linger", "-5"]).assert_code(2, "--linger");
    run(&["pull", "--bind", "tcp://127.0.0.1:*", "--timeout", "soon"]).assert_code(2, "soon");
    run(&["pull", "--bind", "tcp://127.0.0.1:*", "--count", "0"]).assert_code(2, "--count");
}

#[test]
fn invalid_endpoint_exits_2_with_the_library_message() {
    run(&["pull", "--bind", "127.0.0.1:5555"]).assert_code(2, "no transport");
    run(&["pull", "--connect", "udp://127.0.0.1:5555"]).assert_code(2, "unsupported transport");
}

#[test]
fn req_round_trips_lines_through_rep_echo() {
    let mut rep = Fzmq::start(
        &[
            "rep",
            "--bind",
            "tcp://127.0.0.1:*",
            "--echo",
            "--count",
            "3",
        ],
        None,
    );
    let ep = rep.listening_on();
    assert!(ep.starts_with("tcp://127.0.0.1:"), "{ep}");
    let req = Fzmq::start(&["req", "--connect", &ep], Some("one\ntwo words\n\n")).finish();
    req.assert_success();
    assert_eq!(req.stdout, "one\ntwo words\n\n");
    let rep = rep.finish();
    rep.assert_success();
    assert_eq!(rep.stdout, "one\ntwo words\n\n");
}

#[test]
fn rep_replies_with_stdin_lines() {
    let mut rep = Fzmq::start(
        &["rep", "--bind", "tcp://127.0.0.1:*", "--count", "2"],
        Some("pong 1\npong 2\n"),
    );
    let ep = rep.listening_on();
    let req = Fzmq::start(&["req", "--connect", &ep], Some("ping 1\nping 2\n")).finish();
    req.assert_success();
    assert_eq!(req.stdout, "pong 1\npong 2\n");
    let rep = rep.finish();
    rep.assert_success();
    assert_eq!(rep.stdout, "ping 1\nping 2\n");
}

#[test]
fn push_pull_stop_after_count() {
    let mut pull = Fzmq::start(
        &["pull", "--bind", "tcp://127.0.0.1:*", "--count", "3"],
        None,
    );
    let ep = pull.listening_on();
    let push = Fzmq::start(
        &["push", "--connect", &ep, "--count", "3"],
        Some("a\nb\nc\nd\ne\n"),
    )
    .finish();
    push.assert_success();
    let pull = pull.finish();
    pull.assert_success();
    assert_eq!(pull.stdout, "a\nb\nc\n");
}

#[test]
fn push_pull_over_ipc() {
    let path = std::env::temp_dir().join(format!("fzmq-cli-test-{}.ipc", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let ep = format!("ipc://{}", path.display());
    let mut pull = Fzmq::start(&["pull", "--bind", &ep, "--count", "2"], None);
    assert_eq!(pull.listening_on(), ep);
    Fzmq::start(&["push", "--connect", &ep], Some("over\nipc\n"))
        .finish()
        .assert_success();
    let pull = pull.finish();
    pull.assert_success();
    assert_eq!(pull.stdout, "over\nipc\n");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn frames_and_hex_survive_the_trip() {
    let mut pull = Fzmq::start(
        &[
            "pull",
            "--bind",
            "tcp://127.0.0.1:*",
            "-d",
            ",",
            "--count",
            "2",
        ],
        None,
    );
    let ep = pull.listening_on();
    Fzmq::start(
        &["push", "--connect", &ep, "--hex", "-d", ","],
        Some("6869,00ff,\n307831\n"),
    )
    .finish()
    .assert_success();
    let pull = pull.finish();
    pull.assert_success();
    // "0x1" is plain text; "hi" too; 00ff is binary so it prints as 0x-hex.
    assert_eq!(pull.stdout, "hi,0x00ff,\n0x1\n");
}

#[test]
fn dealer_and_router_exchange_multipart_messages() {
    let mut router = Fzmq::start(
        &[
            "router",
            "--bind",
            "tcp://127.0.0.1:*",
            "--echo",
            "-d",
            "|",
            "--count",
            "2",
        ],
        None,
    );
    let ep = router.listening_on();
    let dealer = Fzmq::start(
        &[
            "dealer",
            "--connect",
            &ep,
            "--identity",
            "me",
            "-d",
            "|",
            "--count",
            "2",
        ],
        Some("a|b\nc\n"),
    )
    .finish();
    dealer.assert_success();
    assert_eq!(dealer.stdout, "a|b\nc\n");
    let router = router.finish();
    router.assert_success();
    assert_eq!(router.stdout, "me|a|b\nme|c\n");
}

#[test]
fn timeout_fails_when_nothing_arrives() {
    let started = Instant::now();
    let pull = run(&["pull", "--bind", "tcp://127.0.0.1:*", "--timeout", "0.3"]);
    pull.assert_code(1, "timed out");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// `fzmq bench` over `transport` with small counts, and `extra` flags.
fn small_bench(transport: &str, extra: &[&str]) -> Finished {
    let mut args = vec![
        "bench",
        "--transport",
        transport,
        "--count",
        "2000",
        "--round-trips",
        "200",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn bench_runs_a_small_suite_without_a_terminal() {
    for transport in ["tcp", "inproc"] {
        let bench = small_bench(transport, &[]);
        bench.assert_success();
        assert!(bench.stdout.contains("msg/s"), "{bench:#?}");
        assert_eq!(bench.stdout.matches("PUSH/PULL").count(), 2, "{bench:#?}");
        assert!(bench.stdout.contains("REQ/REP"), "{bench:#?}");
        // stderr is a pipe: no progress bar drawn.
        assert!(bench.stderr.is_empty(), "{bench:#?}");
    }
}

#[test]
fn bench_measures_curve_over_tcp_and_ipc_and_refuses_it_over_inproc() {
    for transport in ["tcp", "ipc"] {
        let bench = small_bench(transport, &["--curve"]);
        bench.assert_success();
        assert_eq!(
            bench.stdout.matches(&format!("{transport}+curve")).count(),
            3,
            "{bench:#?}"
        );
    }
    let inproc = run(&["bench", "--curve", "--transport", "inproc"]);
    inproc.assert_code(2, "--curve needs tcp or ipc");
}

/// Waits for the `listening on EP` line, keeping every stderr line before it; returns EP and
/// those lines.
fn listening_on_keeping(fzmq: &mut Fzmq) -> (String, Vec<String>) {
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match fzmq.stderr_lines.recv_timeout(left) {
            Ok(line) => match line.strip_prefix("listening on ") {
                Some(ep) => return (ep.to_owned(), seen),
                None => seen.push(line),
            },
            Err(e) => {
                let _ = fzmq.child.kill();
                panic!(
                    "`fzmq {}` printed no `listening on` line ({e:?}): {seen:?}",
                    fzmq.name
                );
            }
        }
    }
}

#[test]
fn monitor_prints_socket_events_on_stderr() {
    let mut pull = Fzmq::start(
        &[
            "pull",
            "--bind",
            "tcp://127.0.0.1:*",
            "--monitor",
            "--count",
            "1",
        ],
        None,
    );
    let (ep, before) = listening_on_keeping(&mut pull);
    let push = Fzmq::start(&["push", "--connect", &ep, "--monitor"], Some("hi\n")).finish();
    push.assert_success();
    for line in [
        format!("monitor: connected {ep} (peer {ep})"),
        format!("monitor: handshake succeeded {ep} (peer {ep})"),
        "monitor: monitor stopped".to_owned(),
    ] {
        assert!(
            push.stderr.lines().any(|l| l == line),
            "{line:?}: {push:#?}"
        );
    }
    assert_eq!(push.stdout, "");

    let pull = pull.finish();
    pull.assert_success();
    // Events go to stderr only: stdout has just the message.
    assert_eq!(pull.stdout, "hi\n");
    let stderr: Vec<&str> = before
        .iter()
        .map(String::as_str)
        .chain(pull.stderr.lines())
        .collect();
    let has = |prefix: &str| stderr.iter().any(|l| l.starts_with(prefix));
    assert!(has(&format!("monitor: listening {ep}")), "{stderr:#?}");
    let accepted = format!("monitor: accepted {ep} (peer tcp://127.0.0.1:");
    assert!(has(&accepted), "{stderr:#?}");
    let handshake = format!("monitor: handshake succeeded {ep} (peer tcp://127.0.0.1:");
    assert!(has(&handshake), "{stderr:#?}");
    assert_eq!(
        stderr.last(),
        Some(&"monitor: monitor stopped"),
        "{stderr:#?}"
    );
}

#[test]
fn monitor_prints_a_bind_failure() {
    let mut first = Fzmq::start(&["pull", "--bind", "tcp://127.0.0.1:*"], None);
    let ep = first.listening_on();
    let second = run(&["pull", "--bind", &ep, "--monitor"]);
    second.assert_code(1, "address already in use");
    let line = format!("monitor: bind failed {ep}: address in use");
    assert!(second.stderr.lines().any(|l| l == line), "{second:#?}");
    let _ = first.child.kill();
    let _ = first.child.wait();
}

#[test]
fn sub_prints_only_what_matches_its_subscription() {
    let mut sub = Fzmq::start(
        &[
            "sub",
            "--bind",
            "tcp://127.0.0.1:*",
            "--subscribe",
            "a",
            "--count",
            "2",
        ],
        None,
    );
    let ep = sub.listening_on();
    let mut publisher = Fzmq::start(&["pub", "--connect", &ep], None);
    let mut stdin = publisher._stdin.take().expect("pub stdin");
    // A publisher drops what it sends before the subscription reaches it: keep publishing
    // until the subscriber has printed its two messages and exited.
    let deadline = Instant::now() + DEADLINE;
    while sub.child.try_wait().expect("try_wait").is_none() {
        assert!(
            Instant::now() < deadline,
            "the subscriber never got two messages"
        );
        let _ = stdin.write_all(b"b-skip\na-hit\n");
        thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    publisher.finish().assert_success();
    let sub = sub.finish();
    sub.assert_success();
    assert_eq!(sub.stdout, "a-hit\na-hit\n");
}

#[test]
fn xpub_prints_the_subscriptions_of_a_sub() {
    let mut xpub = Fzmq::start(
        &["xpub", "--bind", "tcp://127.0.0.1:*", "--count", "1", "-x"],
        None,
    );
    let ep = xpub.listening_on();
    let mut sub = Fzmq::start(&["sub", "--connect", &ep, "--subscribe", "news"], None);
    let xpub = xpub.finish();
    xpub.assert_success();
    assert_eq!(xpub.stdout, format!("01{}\n", hex_of(b"news")));
    let _ = sub.child.kill();
    let _ = sub.child.wait();
}

#[test]
fn xpub_keeps_at_most_max_subscriptions_per_subscriber() {
    use ferrozmq::{Bytes, Context, SocketOption, SocketType};
    let mut xpub = Fzmq::start(
        &[
            "xpub",
            "--bind",
            "tcp://127.0.0.1:*",
            "--count",
            "2",
            "-x",
            "--max-subscriptions",
            "1",
            "--xpub-welcome-msg",
            "hi",
        ],
        None,
    );
    let ep = xpub.listening_on();
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::Sub);
    let topic = |t: &'static [u8]| Bytes::from_static(t);
    sub.set_option(SocketOption::Subscribe(topic(b"h")))
        .unwrap();
    sub.connect(&ep).unwrap();
    // The welcome message proves both sides attached: what follows travels in order.
    let welcome = sub.recv_timeout(Some(DEADLINE)).unwrap();
    assert_eq!(&welcome.frames()[0][..], b"hi");
    // `b` is over the limit of one topic: ignored. Dropping `h` is reported.
    sub.set_option(SocketOption::Subscribe(topic(b"b")))
        .unwrap();
    sub.set_option(SocketOption::Unsubscribe(topic(b"h")))
        .unwrap();
    let xpub = xpub.finish();
    xpub.assert_success();
    assert_eq!(xpub.stdout, format!("01{0}\n00{0}\n", hex_of(b"h")));
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads stderr lines until every `ROLE listening on EP` line of `roles` was seen.
fn proxy_endpoints(fzmq: &mut Fzmq, roles: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + DEADLINE;
    let mut found: Vec<Option<String>> = vec![None; roles.len()];
    while found.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = fzmq
            .stderr_lines
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("proxy did not report its endpoints: {e:?}"));
        for (i, role) in roles.iter().enumerate() {
            if let Some(ep) = line.strip_prefix(&format!("{role} listening on ")) {
                found[i] = Some(ep.to_owned());
            }
        }
    }
    found.into_iter().flatten().collect()
}

#[test]
fn proxy_forwards_and_terminates_on_command() {
    use ferrozmq::{Context, SocketType};
    let mut proxy = Fzmq::start(
        &[
            "proxy",
            "--frontend",
            "pull:bind:tcp://127.0.0.1:*",
            "--backend",
            "push:bind:tcp://127.0.0.1:*",
            "--control",
            "rep:bind:tcp://127.0.0.1:*",
            "--io-threads",
            "2",
        ],
        None,
    );
    let eps = proxy_endpoints(&mut proxy, &["frontend", "backend", "control"]);
    let ctx = Context::new();
    let producer = ctx.socket(SocketType::Push);
    producer.connect(&eps[0]).unwrap();
    let consumer = ctx.socket(SocketType::Pull);
    consumer.connect(&eps[1]).unwrap();
    for i in 0..10 {
        producer.send(format!("job {i}")).unwrap();
    }
    let t = Some(DEADLINE);
    for i in 0..10 {
        let m = consumer.recv_timeout(t).unwrap();
        assert_eq!(&m.frames()[0][..], format!("job {i}").as_bytes());
    }
    let control = ctx.socket(SocketType::Req);
    control.connect(&eps[2]).unwrap();
    control.send("STATISTICS").unwrap();
    let stats = control.recv_timeout(t).unwrap();
    assert_eq!(stats.len(), 8, "{stats:?}");
    // Frontend messages in: 10.
    assert_eq!(&stats.frames()[0][..], &10u64.to_le_bytes());
    control.send("TERMINATE").unwrap();
    proxy.finish().assert_success();
}

#[test]
fn proxy_refuses_a_malformed_socket_spec() {
    run(&[
        "proxy",
        "--frontend",
        "router:listen:tcp://127.0.0.1:1",
        "--backend",
        "dealer:bind:tcp://127.0.0.1:*",
    ])
    .assert_code(2, "MODE must be bind or connect");
}

/// The values of a flat JSON object's numeric fields, e.g. `{"a":1.5,"b":2}`.
fn json_number(json: &str, key: &str) -> f64 {
    let json = json.trim();
    assert!(
        json.starts_with('{') && json.ends_with('}'),
        "not a JSON object: {json}"
    );
    let field = format!("\"{key}\":");
    let at = json
        .find(&field)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + field.len();
    let value: String = json[at..]
        .chars()
        .take_while(|c| !matches!(c, ',' | '}'))
        .collect();
    value
        .parse()
        .unwrap_or_else(|e| panic!("{key} = {value:?} in {json}: {e}"))
}

#[test]
fn thr_send_and_thr_recv_measure_throughput_as_two_processes() {
    let mut recv = Fzmq::start(
        &[
            "bench",
            "thr-recv",
            "tcp://127.0.0.1:*",
            "64",
            "5000",
            "--json",
        ],
        None,
    );
    let ep = recv.listening_on();
    let send = Fzmq::start(&["bench", "thr-send", &ep, "64", "5000", "--json"], None).finish();
    send.assert_success();
    assert_eq!(json_number(&send.stdout, "messages"), 5000.0, "{send:#?}");
    let recv = recv.finish();
    recv.assert_success();
    assert_eq!(recv.stdout.lines().count(), 1, "{recv:#?}");
    assert!(json_number(&recv.stdout, "msgs_per_sec") > 0.0, "{recv:#?}");
    assert!(json_number(&recv.stdout, "mb_per_sec") > 0.0, "{recv:#?}");

    // Without --json: one line for humans.
    let mut recv = Fzmq::start(
        &["bench", "thr-recv", "tcp://127.0.0.1:*", "16", "100"],
        None,
    );
    let ep = recv.listening_on();
    Fzmq::start(&["bench", "thr-send", &ep, "16", "100"], None)
        .finish()
        .assert_success();
    let recv = recv.finish();
    recv.assert_success();
    assert!(recv.stdout.contains("msg/s"), "{recv:#?}");
}

#[test]
fn lat_ping_and_lat_echo_measure_latency_as_two_processes() {
    let mut echo = Fzmq::start(
        &[
            "bench",
            "lat-echo",
            "tcp://127.0.0.1:*",
            "16",
            "500",
            "--json",
        ],
        None,
    );
    let ep = echo.listening_on();
    let ping = Fzmq::start(&["bench", "lat-ping", &ep, "16", "500", "--json"], None).finish();
    ping.assert_success();
    let (mean, p50, p99) = (
        json_number(&ping.stdout, "mean_us"),
        json_number(&ping.stdout, "p50_us"),
        json_number(&ping.stdout, "p99_us"),
    );
    assert!(mean > 0.0 && p50 > 0.0 && p99 >= p50, "{ping:#?}");
    let echo = echo.finish();
    echo.assert_success();
    assert_eq!(json_number(&echo.stdout, "round_trips"), 500.0, "{echo:#?}");
}

#[test]
fn perf_tools_check_their_arguments() {
    run(&["bench", "thr-recv", "tcp://127.0.0.1:*", "0", "10"]).assert_code(2, "SIZE");
    run(&["bench", "lat-ping", "tcp://127.0.0.1:5555", "16"]).assert_code(2, "COUNT");
    run(&["bench", "thr-recv", "127.0.0.1:5555", "16", "10"]).assert_code(2, "no transport");
    run(&[
        "bench",
        "--count",
        "5",
        "thr-send",
        "tcp://127.0.0.1:5555",
        "16",
        "10",
    ])
    .assert_code(2, "cannot be used");
}

// ---- issue 12: the command-line tool ----

#[test]
fn push_says_how_many_messages_were_not_delivered_when_linger_expires() {
    let push = Fzmq::start(
        &["push", "--connect", "tcp://127.0.0.1:1", "--linger", "300"],
        Some("one\ntwo\n"),
    )
    .finish();
    push.assert_code(
        1,
        "2 messages were not delivered: --linger 300 ms expired first",
    );
}

#[test]
fn push_that_delivered_everything_exits_0() {
    let mut pull = Fzmq::start(
        &["pull", "--bind", "tcp://127.0.0.1:*", "--count", "2"],
        None,
    );
    let ep = pull.listening_on();
    let push = Fzmq::start(
        &["push", "--connect", &ep, "--linger", "20000"],
        Some("a\nb\n"),
    );
    push.finish().assert_success();
    assert_eq!(pull.finish().assert_success().stdout, "a\nb\n");
}

#[test]
fn pub_waits_for_a_subscriber_before_sending() {
    let mut publisher = Fzmq::start(
        &[
            "pub",
            "--bind",
            "tcp://127.0.0.1:*",
            "--wait-subscribers",
            "1",
        ],
        Some("hello\n"),
    );
    let ep = publisher.listening_on();
    let sub = Fzmq::start(&["sub", "--connect", &ep, "--count", "1"], None).finish();
    sub.assert_success();
    assert_eq!(sub.stdout, "hello\n");
    publisher.finish().assert_success();
}

#[test]
fn wait_subscribers_and_delay_only_where_they_apply() {
    run(&[
        "push",
        "--bind",
        "tcp://127.0.0.1:*",
        "--wait-subscribers",
        "1",
    ])
    .assert_code(2, "--wait-subscribers does not apply to push");
    run(&["pull", "--bind", "tcp://127.0.0.1:*", "--delay", "1"])
        .assert_code(2, "--delay does not apply to pull");
}

#[test]
fn proxy_refuses_impossible_wirings_before_listening() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--frontend",
                "rep:bind:tcp://127.0.0.1:*",
                "--backend",
                "req:bind:tcp://127.0.0.1:*",
            ],
            "a rep cannot be the proxy's frontend",
        ),
        (
            &[
                "--frontend",
                "pull:bind:tcp://127.0.0.1:*",
                "--backend",
                "pull:bind:tcp://127.0.0.1:*",
            ],
            "a pull frontend and a pull backend cannot pass messages either way",
        ),
        (
            &[
                "--frontend",
                "router:bind:tcp://127.0.0.1:*",
                "--backend",
                "dealer:bind:tcp://127.0.0.1:*",
                "--control",
                "push:bind:tcp://127.0.0.1:*",
            ],
            "use rep or pair, not push",
        ),
        (
            &[
                "--frontend",
                "router:bind:tcp://127.0.0.1:*",
                "--backend",
                "dealer:bind:tcp://127.0.0.1:*",
                "--capture",
                "pull:bind:tcp://127.0.0.1:*",
            ],
            "a pull cannot",
        ),
        (
            &[
                "--frontend",
                "router:bind:tcp://127.0.0.1:*",
                "--backend",
                "dealer:bind:tcp://127.0.0.1:*",
                "--frontend-subscribe",
                "a",
            ],
            "--frontend-subscribe needs a sub frontend, not router",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["proxy"];
        all.extend_from_slice(args);
        let out = run(&all);
        out.assert_code(2, message);
        assert!(!out.stderr.contains("listening on"), "{out:#?}");
        assert!(
            !out.stderr.contains("Rep") && !out.stderr.contains("Pull"),
            "{out:#?}"
        );
    }
}

#[test]
fn proxy_with_a_sub_frontend_forwards_what_it_subscribed_to() {
    let mut proxy = Fzmq::start(
        &[
            "proxy",
            "--frontend",
            "sub:bind:tcp://127.0.0.1:*",
            "--backend",
            "push:bind:tcp://127.0.0.1:*",
            "--control",
            "rep:bind:tcp://127.0.0.1:*",
            "--frontend-subscribe",
            "news.",
        ],
        None,
    );
    let eps = proxy_endpoints(&mut proxy, &["frontend", "backend", "control"]);
    let pull = Fzmq::start(&["pull", "--connect", &eps[1], "--count", "1"], None);
    // The proxy's SUB subscribes through the connection: the publisher waits for it.
    let publisher = Fzmq::start(
        &["pub", "--connect", &eps[0], "--wait-subscribers", "1"],
        Some("sport.x\nnews.1\n"),
    );
    publisher.finish().assert_success();
    let pull = pull.finish();
    pull.assert_success();
    assert_eq!(pull.stdout, "news.1\n");
    let stats = Fzmq::start(&["proxy-control", "--connect", &eps[2], "statistics"], None).finish();
    stats.assert_success();
    assert!(
        stats.stdout.contains("frontend_messages_received 1\n"),
        "{stats:#?}"
    );
    assert!(
        stats.stdout.contains("backend_messages_sent 1\n"),
        "{stats:#?}"
    );
    Fzmq::start(&["proxy-control", "--connect", &eps[2], "TERMINATE"], None)
        .finish()
        .assert_success();
    proxy.finish().assert_success();
}

#[test]
fn xsub_subscribes_only_when_told_and_xpub_prints_the_same_form() {
    let mut xpub = Fzmq::start(
        &["xpub", "--bind", "tcp://127.0.0.1:*", "--count", "1"],
        None,
    );
    let ep = xpub.listening_on();
    // An XSUB that subscribed to everything by default would make xpub print `0x01` first.
    let mut xsub = Fzmq::start(&["xsub", "--connect", &ep], None);
    xsub.write_stdin("0x01weather\n");
    let xpub = xpub.finish();
    xpub.assert_success();
    assert_eq!(xpub.stdout, "0x01weather\n");
    xsub.close_stdin();
    let _ = xsub.child.kill();
}

#[test]
fn router_reads_back_the_tab_separated_lines_it_prints() {
    let mut router = Fzmq::start(&["router", "--bind", "tcp://127.0.0.1:*"], None);
    let ep = router.listening_on();
    let dealer = Fzmq::start(
        &[
            "dealer",
            "--connect",
            &ep,
            "--identity",
            "me",
            "--count",
            "1",
        ],
        Some("hi\n"),
    );
    // The router prints `me<TAB>hi`; the same form routes a reply back to `me`.
    assert_eq!(router.next_stdout_line(), "me\thi\n");
    router.write_stdin("me\treply\n");
    let dealer = dealer.finish();
    dealer.assert_success();
    assert_eq!(dealer.stdout, "reply\n");
    let _ = router.child.kill();
}

#[test]
fn dealer_exit_on_eof_waits_for_replies_then_exits_0() {
    let mut rep = Fzmq::start(&["rep", "--bind", "tcp://127.0.0.1:*", "--echo"], None);
    let ep = rep.listening_on();
    let dealer = Fzmq::start(
        &[
            "dealer",
            "--connect",
            &ep,
            "--exit-on-eof",
            "--timeout",
            "2",
            "-d",
            "|",
        ],
        Some("|ping\n"),
    )
    .finish();
    dealer.assert_success();
    assert_eq!(dealer.stdout, "|ping\n");
    let _ = rep.child.kill();
}

#[test]
fn options_that_do_not_apply_are_refused_and_hidden_from_help() {
    let bind = ["--bind", "tcp://127.0.0.1:*"];
    for (ty, arg) in [
        ("rep", "--router-mandatory"),
        ("rep", "--subscribe=a"),
        ("push", "--req-relaxed"),
        ("pull", "--echo"),
        ("push", "--exit-on-eof"),
    ] {
        let name = arg.split('=').next().unwrap();
        run(&[ty, bind[0], bind[1], arg]).assert_code(2, &format!("{name} does not apply to {ty}"));
    }
    // The generic -o gets the library's answer, the same exit status.
    run(&["rep", bind[0], bind[1], "-o", "ROUTER_MANDATORY=1"])
        .assert_code(2, "ZMQ_ROUTER_MANDATORY does not apply");
    run(&["push", bind[0], bind[1], "-o", "SNDHWM=x"]).assert_code(2, "is not a count");
    let rep_help = run(&["rep", "--help"]);
    rep_help.assert_success();
    assert!(
        !rep_help.stdout.contains("--router-mandatory"),
        "{rep_help:#?}"
    );
    assert!(!rep_help.stdout.contains("--subscribe"), "{rep_help:#?}");
    assert!(rep_help.stdout.contains("--echo"), "{rep_help:#?}");
    let router_help = run(&["router", "--help"]);
    assert!(
        router_help.stdout.contains("--router-mandatory"),
        "{router_help:#?}"
    );
}

#[test]
fn generic_option_sets_any_library_option() {
    // LINGER through -o: 0 ms, so the undelivered message is reported at once.
    let push = Fzmq::start(
        &[
            "push",
            "--connect",
            "tcp://127.0.0.1:1",
            "-o",
            "ZMQ_LINGER=0",
        ],
        Some("x\n"),
    )
    .finish();
    push.assert_code(1, "1 message was not delivered");
}

#[test]
fn monitor_prints_retry_intervals_in_milliseconds() {
    let mut push = Fzmq::start(
        &[
            "push",
            "--connect",
            "tcp://127.0.0.1:1",
            "--monitor",
            "--linger",
            "0",
        ],
        None,
    );
    let line = push.stderr_line_with("next attempt in");
    let tail = line.rsplit("next attempt in ").next().unwrap();
    let (number, unit) = tail.split_once(' ').expect("a number and a unit");
    assert!(number.chars().all(|c| c.is_ascii_digit()), "{line}");
    assert_eq!(unit, "ms", "{line}");
    push.close_stdin();
    push.finish();
}

#[test]
fn a_bad_hex_line_is_an_error_but_good_lines_go() {
    let mut pull = Fzmq::start(
        &[
            "pull",
            "--bind",
            "tcp://127.0.0.1:*",
            "--count",
            "2",
            "--hex",
        ],
        None,
    );
    let ep = pull.listening_on();
    let push = Fzmq::start(
        &["push", "--connect", &ep, "--hex"],
        Some("6869\nzz\n6f6b\n"),
    )
    .finish();
    push.assert_code(1, "1 input line was not sent");
    assert!(push.stderr.contains("line 2 not sent"), "{push:#?}");
    assert_eq!(pull.finish().assert_success().stdout, "6869\n6f6b\n");
}

#[test]
fn nul_separated_messages_carry_newlines() {
    let mut pull = Fzmq::start(
        &["pull", "--bind", "tcp://127.0.0.1:*", "--count", "2", "-0"],
        None,
    );
    let ep = pull.listening_on();
    Fzmq::start(
        &["push", "--connect", &ep, "-0"],
        Some("two\nlines\0second\0"),
    )
    .finish()
    .assert_success();
    assert_eq!(
        pull.finish().assert_success().stdout,
        "two\nlines\0second\0"
    );
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        out.assert_success();
        assert!(out.stdout.contains("fzmq"), "{shell}: {out:#?}");
        assert!(out.stdout.contains("wait-subscribers"), "{shell}: {out:#?}");
    }
    run(&["completions", "tcsh"]).assert_code(2, "invalid value");
}

#[test]
fn ctrl_c_flushes_what_was_queued() {
    let path = std::env::temp_dir().join(format!("fzmq-ctrlc-{}.ipc", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let ep = format!("ipc://{}", path.display());
    let mut push = Fzmq::start(
        &["push", "--connect", &ep, "--monitor", "--linger", "20000"],
        None,
    );
    push.write_stdin("one\ntwo\n");
    // Nothing listens yet: the connect fails and is retried while the lines are queued.
    push.stderr_line_with("connect retried");
    push.interrupt();
    push.stderr_line_with("interrupted: closing the socket, 2 queued messages to flush");
    // The listener appears only now; the lingering push delivers to it.
    let pull = Fzmq::start(&["pull", "--bind", &ep, "--count", "2"], None).finish();
    pull.assert_success();
    assert_eq!(pull.stdout, "one\ntwo\n");
    let push = push.finish();
    assert_eq!(push.status.code(), Some(130), "{push:#?}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn an_os_error_is_printed_once() {
    let out = run(&["pull", "--bind", "ipc:///nonexistent-fzmq-dir/x.ipc"]);
    out.assert_code(
        1,
        "cannot bind to ipc:///nonexistent-fzmq-dir/x.ipc: bind failed: ",
    );
    assert_eq!(out.stderr.matches("(os error").count(), 1, "{out:#?}");
}

/// Connects a plain tcp client to `fzmq stream` listening at `ep` (`tcp://HOST:PORT`).
fn raw_client(ep: &str) -> std::net::TcpStream {
    let c = std::net::TcpStream::connect(ep.trim_start_matches("tcp://")).expect("connect");
    c.set_read_timeout(Some(DEADLINE)).expect("read timeout");
    c
}

#[test]
fn stream_echo_sends_each_raw_peer_its_bytes_back() {
    use std::io::Read;
    let mut stream = Fzmq::start(&["stream", "--bind", "tcp://127.0.0.1:*", "--echo"], None);
    let ep = stream.listening_on();
    let mut a = raw_client(&ep);
    let mut b = raw_client(&ep);
    a.write_all(b"hello from a").unwrap();
    b.write_all(b"and from b").unwrap();
    let mut got = [0u8; 12];
    a.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello from a");
    let mut got = [0u8; 10];
    b.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"and from b");
    let _ = stream.child.kill();
}

#[test]
fn stream_prints_id_tab_data_and_closes_on_id_tab() {
    use std::io::Read;
    let mut stream = Fzmq::start(&["stream", "--bind", "tcp://127.0.0.1:*"], None);
    let ep = stream.listening_on();
    let mut c = raw_client(&ep);
    // A new connection: `ID<TAB>` with no data.
    let connected = stream.next_stdout_line();
    let id = connected
        .strip_suffix("\t\n")
        .unwrap_or_else(|| panic!("not ID<TAB>: {connected:?}"))
        .to_owned();
    assert!(id.starts_with("0x00") && id.len() == 12, "{id}");
    c.write_all(b"hi").unwrap();
    assert_eq!(stream.next_stdout_line(), format!("{id}\thi\n"));
    stream.write_stdin(&format!("{id}\tworld\n{id}\t\n"));
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"world", "the data, then the close");
    let _ = stream.child.kill();
}

#[test]
fn stream_hex_prints_both_frames_in_hex() {
    let mut stream = Fzmq::start(&["stream", "--bind", "tcp://127.0.0.1:*", "--hex"], None);
    let ep = stream.listening_on();
    let mut c = raw_client(&ep);
    let connected = stream.next_stdout_line();
    let id = connected.strip_suffix("\t\n").expect("ID<TAB>").to_owned();
    assert_eq!(id.len(), 10, "5 bytes in hex: {id}");
    c.write_all(b"\x01\xff").unwrap();
    assert_eq!(stream.next_stdout_line(), format!("{id}\t01ff\n"));
    drop(c);
    assert_eq!(stream.next_stdout_line(), format!("{id}\t\n"), "gone");
    let _ = stream.child.kill();
}

/// `fzmq keygen` output as (public, secret).
fn keygen() -> (String, String) {
    let out = run(&["keygen"]);
    out.assert_success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{out:#?}");
    let public = lines[0].strip_prefix("public-key: ").expect("public first");
    let secret = lines[1]
        .strip_prefix("secret-key: ")
        .expect("secret second");
    assert_eq!((public.len(), secret.len()), (40, 40));
    (public.to_owned(), secret.to_owned())
}

#[test]
fn curve_req_rep_with_keygen_keys_from_a_file_and_inline() {
    let (public, secret) = keygen();
    let dir = std::env::temp_dir().join(format!("fzmq-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("server.key");
    std::fs::write(
        &key_file,
        format!("public-key: {public}\nsecret-key: {secret}\n"),
    )
    .unwrap();
    let mut rep = Fzmq::start(
        &[
            "rep",
            "--bind",
            "tcp://127.0.0.1:*",
            "--echo",
            "--count",
            "1",
            "--curve-server",
            "--curve-secret-key-file",
            key_file.to_str().unwrap(),
        ],
        None,
    );
    let ep = rep.listening_on();
    let server_key = format!("--curve-server-key={public}");
    let req = Fzmq::start(
        &["req", "--connect", &ep, &server_key],
        Some("secret message\n"),
    )
    .finish();
    req.assert_success();
    assert_eq!(req.stdout, "secret message\n");
    rep.finish().assert_success();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_key_starting_with_a_dash_works_in_the_equals_form() {
    // Find a key pair whose public key begins with '-' (about one in 85).
    let pair = std::iter::repeat_with(ferrozmq::curve_keypair)
        .find(|p| p.public.to_z85().starts_with('-'))
        .unwrap();
    let secret = format!("--curve-secret-key={}", pair.secret.to_z85());
    let mut rep = Fzmq::start(
        &[
            "rep",
            "--bind",
            "tcp://127.0.0.1:*",
            "--echo",
            "--count",
            "1",
            "--curve-server",
            &secret,
        ],
        None,
    );
    let ep = rep.listening_on();
    let server_key = format!("--curve-server-key={}", pair.public.to_z85());
    let req = Fzmq::start(&["req", "--connect", &ep, &server_key], Some("dash\n")).finish();
    req.assert_success();
    assert_eq!(req.stdout, "dash\n");
    rep.finish().assert_success();
}

#[test]
fn authenticator_flags_admit_listed_clients_and_refuse_others() {
    let (server_public, server_secret) = keygen();
    let (allowed_public, allowed_secret) = keygen();
    let dir = std::env::temp_dir().join(format!("fzmq-auth-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::write(
        dir.join("keys/client.key"),
        format!("public-key: {allowed_public}\n"),
    )
    .unwrap();
    std::fs::write(dir.join("passwords"), "admin:secret\n").unwrap();
    let secret_flag = format!("--curve-secret-key={server_secret}");
    let mut pull = Fzmq::start(
        &[
            "pull",
            "--bind",
            "tcp://127.0.0.1:*",
            "--count",
            "1",
            "--monitor",
            "--curve-server",
            &secret_flag,
            "--auth-curve-dir",
            dir.join("keys").to_str().unwrap(),
        ],
        None,
    );
    let (ep, _) = listening_on_keeping(&mut pull);
    let server_key = format!("--curve-server-key={server_public}");
    // A client with another key is refused: it never delivers.
    // (stdin stays open, so the stranger stays up until it was refused)
    let mut stranger = Fzmq::start(
        &[
            "push",
            "--connect",
            &ep,
            &server_key,
            "--linger",
            "0",
            "--reconnect-ivl",
            "-1",
        ],
        None,
    );
    stranger.write_stdin("from a stranger\n");
    let refusal = loop {
        let line = pull
            .stderr_lines
            .recv_timeout(DEADLINE)
            .expect("a monitor line");
        if line.contains("handshake failed") {
            break line;
        }
    };
    assert!(refusal.contains("CURVE key not allowed"), "{refusal}");
    let _ = stranger.child.kill();
    let _ = stranger.child.wait();
    let allowed_flag = format!("--curve-secret-key={allowed_secret}");
    Fzmq::start(
        &["push", "--connect", &ep, &server_key, &allowed_flag],
        Some("from a friend\n"),
    )
    .finish()
    .assert_success();
    let pull = pull.finish();
    pull.assert_success();
    assert_eq!(pull.stdout, "from a friend\n");

    // PLAIN with a password file: the right password passes.
    let mut rep = Fzmq::start(
        &[
            "rep",
            "--bind",
            "tcp://127.0.0.1:*",
            "--echo",
            "--count",
            "1",
            "--plain-server",
            "--auth-plain-file",
            dir.join("passwords").to_str().unwrap(),
        ],
        None,
    );
    let ep = rep.listening_on();
    let req = Fzmq::start(
        &[
            "req",
            "--connect",
            &ep,
            "--plain-user",
            "admin",
            "--plain-password",
            "secret",
        ],
        Some("hi\n"),
    )
    .finish();
    req.assert_success();
    assert_eq!(req.stdout, "hi\n");
    rep.finish().assert_success();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn show_user_id_prints_the_authenticated_user_first() {
    let dir = std::env::temp_dir().join(format!("fzmq-uid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let passwords = dir.join("passwords");
    std::fs::write(&passwords, "admin:secret\n").unwrap();
    let mut pull = Fzmq::start(
        &[
            "pull",
            "--bind",
            "tcp://127.0.0.1:*",
            "--count",
            "1",
            "--plain-server",
            "--auth-plain-file",
            passwords.to_str().unwrap(),
            "--show-user-id",
        ],
        None,
    );
    let ep = pull.listening_on();
    Fzmq::start(
        &[
            "push",
            "--connect",
            &ep,
            "--plain-user",
            "admin",
            "--plain-password",
            "secret",
        ],
        Some("hello\n"),
    )
    .finish()
    .assert_success();
    let pull = pull.finish();
    pull.assert_success();
    assert_eq!(pull.stdout, "admin\thello\n");
    let _ = std::fs::remove_dir_all(&dir);
}
