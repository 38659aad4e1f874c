//! `fzmq TYPE`: one socket wired to stdin and stdout.
//!
//! What a socket type does with the terminal is its [`Role`]: send-only types send stdin,
//! receive-only types print, REQ and REP alternate, and the rest (DEALER, ROUTER, PAIR) print
//! from a reader thread while the main thread sends stdin on the same socket — ferrozmq sockets
//! are thread-safe, so no proxying is needed. Adding a socket type means a subcommand in `main`
//! and one `Role` line here.
//!
//! `--monitor` prints the socket's monitor events on stderr (`monitor: EVENT`) from a thread
//! of their own; the process waits for the last one (`monitor stopped`) before exiting.
//!
//! Every option is defined once, in [`SocketArgs`]; which ones a type takes is [`applies`]
//! (the library's own table, [`SocketOption::applies_to`], for socket options). `main` hides
//! the others from that type's `--help` and [`refuse_inapplicable`] refuses them (exit 2).
//!
//! Undelivered messages: when the socket is closed, the context terminates (waiting up to
//! LINGER), then [`Socket::queued_outgoing`] tells how many messages were left in the queues
//! of the peers this socket connected to; more than none is an error (exit 1).

use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use clap::{ArgGroup, ArgMatches, Args};
use ferrozmq::{
    BindError, ConnectError, Context, Message, RecvError, SendErrorKind, Socket, SocketOption,
    SocketType,
};

use crate::format::Framing;
use crate::UsageError;

/// Arguments shared by every socket type.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("endpoints").required(true).multiple(true).args(["bind", "connect"])))]
pub(crate) struct SocketArgs {
    /// Bind to an endpoint (repeatable): tcp://127.0.0.1:5555, tcp://*:* (any port; the
    /// resolved endpoint is printed on stderr as `listening on ...`), ipc:///tmp/sock,
    /// inproc://name.
    #[arg(short, long, value_name = "EP")]
    bind: Vec<String>,

    /// Connect to an endpoint (repeatable); the connection is made in the background.
    #[arg(short, long, value_name = "EP")]
    connect: Vec<String>,

    /// Split input lines into frames on STR, and join printed frames with it.
    #[arg(short, long, value_name = "STR", value_parser = non_empty)]
    delimiter: Option<String>,

    /// Read and write every frame as hex digits.
    #[arg(short = 'x', long)]
    hex: bool,

    /// Send every received message back unchanged, and print it (stdin is not read).
    /// For rep, router, dealer, pair and stream (which echoes each peer's bytes).
    #[arg(short, long)]
    echo: bool,

    /// Exit after N messages received (for push: N sent and flushed; for rep: N replied).
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,

    /// Fail (exit 1) if no message arrives within SECS; for push, if a message cannot be
    /// queued within SECS. Fractions allowed: 0.5.
    #[arg(short, long, value_name = "SECS", value_parser = parse_secs)]
    timeout: Option<Duration>,

    /// Print the socket's events (listening, accepted, connected, handshakes, disconnections,
    /// ...) on stderr, one per line, as `monitor: EVENT`.
    #[arg(long)]
    monitor: bool,

    /// Messages end with a NUL byte, not a newline, on stdin and stdout (frames may then
    /// contain newlines as text), as `find -print0` and `xargs -0`.
    #[arg(short = '0', long = "null")]
    nul: bool,

    /// Exit once stdin has ended and --timeout has passed without a message (exit 0), or
    /// at once without --timeout. For dealer, router, pair, xpub, xsub and stream.
    #[arg(long)]
    exit_on_eof: bool,

    /// pub: before sending, wait until N subscriptions have arrived (the socket is an XPUB
    /// with XPUB_VERBOSE underneath, so each subscriber's subscriptions count; fails after
    /// --timeout).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    wait_subscribers: Option<u64>,

    /// pub, xpub: wait SECS after connecting and binding before sending the first message
    /// (subscribers that are connecting get time to subscribe). Fractions allowed: 0.5.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    delay: Option<Duration>,

    #[command(flatten)]
    options: OptionArgs,

    #[command(flatten)]
    security: crate::security::SecurityArgs,
}

/// Socket options, named after libzmq's (ZMQ_SNDHWM is --sndhwm) with libzmq's units and
/// special values, so commands translate one to one.
#[derive(Debug, Args)]
#[command(next_help_heading = "Socket options")]
struct OptionArgs {
    /// ZMQ_ROUTING_ID, as text or 0x-hex (1-255 bytes, not starting with a zero byte).
    #[arg(long, value_name = "ID")]
    identity: Option<String>,
    /// ZMQ_SNDHWM: outgoing queue limit per peer in messages; 0 = none [default: 1000].
    #[arg(long, value_name = "N")]
    sndhwm: Option<usize>,
    /// ZMQ_RCVHWM: incoming queue limit per peer in messages; 0 = none [default: 1000].
    #[arg(long, value_name = "N")]
    rcvhwm: Option<usize>,
    /// ZMQ_LINGER: how long to keep unsent messages at exit, in ms; -1 = until sent
    /// [default: 30000].
    #[arg(long, value_name = "MS", allow_negative_numbers = true,
          value_parser = clap::value_parser!(i64).range(-1..))]
    linger: Option<i64>,
    /// ZMQ_RECONNECT_IVL in ms; -1 = never reconnect [default: 100].
    #[arg(long, value_name = "MS", allow_negative_numbers = true,
          value_parser = clap::value_parser!(i64).range(-1..))]
    reconnect_ivl: Option<i64>,
    /// ZMQ_RECONNECT_IVL_MAX: cap of the reconnect back-off in ms; 0 = no back-off.
    #[arg(long, value_name = "MS")]
    reconnect_ivl_max: Option<u64>,
    /// ZMQ_MAXMSGSIZE: largest accepted incoming frame in bytes; -1 = no limit.
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true,
          value_parser = clap::value_parser!(i64).range(-1..))]
    max_msg_size: Option<i64>,
    /// ZMQ_IMMEDIATE: queue messages only for completed connections.
    #[arg(long)]
    immediate: bool,
    /// ZMQ_HANDSHAKE_IVL in ms; 0 = no limit [default: 30000].
    #[arg(long, value_name = "MS")]
    handshake_ivl: Option<u64>,
    /// ZMQ_HEARTBEAT_IVL: send a PING every MS; 0 = off [default: 0].
    #[arg(long, value_name = "MS")]
    heartbeat_ivl: Option<u64>,
    /// ZMQ_HEARTBEAT_TTL advertised to peers, in ms.
    #[arg(long, value_name = "MS")]
    heartbeat_ttl: Option<u64>,
    /// ZMQ_HEARTBEAT_TIMEOUT: silence after a PING before the peer is dropped, in ms.
    #[arg(long, value_name = "MS")]
    heartbeat_timeout: Option<u64>,
    /// ZMQ_ROUTER_MANDATORY: fail on unroutable messages instead of dropping them (router).
    #[arg(long)]
    router_mandatory: bool,
    /// ZMQ_REQ_RELAXED: allow a new request before the reply (req).
    #[arg(long)]
    req_relaxed: bool,
    /// ZMQ_REQ_CORRELATE: match replies to requests (req).
    #[arg(long)]
    req_correlate: bool,
    /// ZMQ_SNDBUF: kernel send buffer in bytes.
    #[arg(long, value_name = "BYTES")]
    sndbuf: Option<usize>,
    /// ZMQ_RCVBUF: kernel receive buffer in bytes.
    #[arg(long, value_name = "BYTES")]
    rcvbuf: Option<usize>,
    /// ZMQ_SUBSCRIBE: receive messages starting with PREFIX, as text or 0x-hex (repeatable;
    /// sub and xsub; none means everything).
    #[arg(short, long, value_name = "PREFIX")]
    subscribe: Vec<String>,
    /// ZMQ_XPUB_VERBOSE: show every subscription, not only a topic's first (xpub).
    #[arg(long)]
    xpub_verbose: bool,
    /// ZMQ_XPUB_VERBOSER: show every subscription and unsubscription (xpub).
    #[arg(long)]
    xpub_verboser: bool,
    /// ZMQ_XPUB_NODROP: wait for a full subscriber instead of dropping its message (pub, xpub).
    #[arg(long)]
    xpub_nodrop: bool,
    /// ZMQ_XPUB_WELCOME_MSG: sent to every new subscriber, as text or 0x-hex (xpub).
    #[arg(long, value_name = "MSG")]
    xpub_welcome_msg: Option<String>,
    /// ZMQ_INVERT_MATCHING: a subscription selects what does NOT start with it (set it on
    /// both the publisher and the subscribers).
    #[arg(long)]
    invert_matching: bool,
    /// ZMQ_CONFLATE: keep only the newest message in each queue.
    #[arg(long)]
    conflate: bool,
    /// Most topics kept per subscriber; further new ones are ignored; 0 = no limit
    /// [default: 100000] (pub, xpub).
    #[arg(long, value_name = "N")]
    max_subscriptions: Option<usize>,
    /// Any socket option, as libzmq names it (with or without ZMQ_, any case) and with
    /// libzmq's units: -o SNDHWM=10, -o linger=0, -o ZMQ_SUBSCRIBE=0x01ff (repeatable;
    /// applied after the options above). `-o help` lists them.
    #[arg(short = 'o', long = "option", value_name = "NAME=VALUE",
          value_parser = crate::option_parse::parse_option)]
    option: Vec<SocketOption>,
}

/// What a socket type does with stdin and stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Sends stdin; prints nothing (push).
    SendOnly,
    /// Prints what arrives; ignores stdin (pull).
    RecvOnly,
    /// Per line: send it, wait for the reply, print it (req).
    Request,
    /// Per request: print it, reply with the next line (rep).
    Reply,
    /// Prints from a reader thread while the main thread sends stdin (dealer, router, pair,
    /// xpub: prints subscriptions, xsub: send 0x01TOPIC lines to subscribe).
    Duplex,
}

impl Role {
    fn of(socket_type: SocketType) -> Option<Role> {
        Some(match socket_type {
            SocketType::Push | SocketType::Pub => Role::SendOnly,
            SocketType::Pull | SocketType::Sub => Role::RecvOnly,
            SocketType::Req => Role::Request,
            SocketType::Rep => Role::Reply,
            SocketType::Dealer
            | SocketType::Router
            | SocketType::Pair
            | SocketType::XPub
            | SocketType::XSub
            | SocketType::Stream => Role::Duplex,
            _ => return None,
        })
    }

    /// Whether `--echo` makes sense: the type both receives and sends, receiving first.
    fn can_echo(self) -> bool {
        matches!(self, Role::Reply | Role::Duplex)
    }
}

/// Which `fzmq TYPE` arguments apply to a type, by argument id. Socket options ask the
/// library's table; the tool's own flags follow the type's [`Role`]. Ids not listed apply to
/// every type.
pub(crate) fn applies(id: &str, socket_type: SocketType) -> bool {
    use SocketType::*;
    let role = Role::of(socket_type);
    let option = |o: SocketOption| o.applies_to(socket_type);
    match id {
        "echo" => role.is_some_and(Role::can_echo),
        "exit_on_eof" => role == Some(Role::Duplex),
        "wait_subscribers" => socket_type == Pub,
        "delay" => matches!(socket_type, Pub | XPub),
        // The tool subscribes XSUB through stdin lines; --subscribe is for SUB and XSUB.
        "subscribe" => matches!(socket_type, Sub | XSub),
        "identity" => option(SocketOption::RoutingId(ferrozmq::Bytes::new())),
        "router_mandatory" => option(SocketOption::RouterMandatory(true)),
        "req_relaxed" => option(SocketOption::ReqRelaxed(true)),
        "req_correlate" => option(SocketOption::ReqCorrelate(true)),
        "xpub_verbose" => option(SocketOption::XpubVerbose(true)),
        "xpub_verboser" => option(SocketOption::XpubVerboser(true)),
        "xpub_nodrop" => option(SocketOption::XpubNodrop(true)),
        "xpub_welcome_msg" => option(SocketOption::XpubWelcomeMsg(None)),
        "max_subscriptions" => option(SocketOption::MaxSubscriptions(None)),
        "invert_matching" => option(SocketOption::InvertMatching(true)),
        _ => true,
    }
}

/// Refuses (exit 2) every argument given on the command line that does not apply to the type.
pub(crate) fn refuse_inapplicable(socket_type: SocketType, matches: &ArgMatches) -> Result<()> {
    for id in matches.ids() {
        let id = id.as_str();
        let given = matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
        if given && !applies(id, socket_type) {
            return Err(UsageError(format!(
                "--{} does not apply to {}",
                id.replace('_', "-"),
                type_name(socket_type)
            ))
            .into());
        }
    }
    Ok(())
}

/// A socket type as users write it: `rep`, not `Rep` or `REP`.
pub(crate) fn type_name(socket_type: SocketType) -> String {
    socket_type.name().to_ascii_lowercase()
}

/// Runs `fzmq TYPE`; returns only on a setup error (the session itself ends the process).
pub(crate) fn run(socket_type: SocketType, args: SocketArgs) -> Result<()> {
    let role = Role::of(socket_type).ok_or_else(|| {
        UsageError(format!(
            "socket type {} is not supported yet",
            type_name(socket_type)
        ))
    })?;
    let ctx = Context::new();
    // `pub --wait-subscribers`: an XPUB sends as a PUB does and also shows subscriptions.
    let wait_subscribers = args
        .wait_subscribers
        .filter(|_| socket_type == SocketType::Pub);
    let actual_type = match wait_subscribers {
        Some(_) => SocketType::XPub,
        None => socket_type,
    };
    let socket = ctx.socket(actual_type);
    let monitor = args.monitor.then(|| MonitorPrinter::start(&socket));
    // Before binding: connections accepted from then on ask it.
    let authenticator = args.security.authenticator(&ctx)?;
    let set_up = set_up(&socket, socket_type, &args).and_then(|()| {
        if wait_subscribers.is_some() {
            socket
                .set_option(SocketOption::XpubVerbose(true))
                .context("cannot set ZMQ_XPUB_VERBOSE")?;
        }
        Ok(())
    });
    if let Err(e) = set_up {
        // Let the monitor print why (a bind failure) before the error ends the process.
        if let Some(printer) = &monitor {
            let _ = socket.set_option(SocketOption::Linger(Some(Duration::ZERO)));
            socket.close();
            ctx.terminate();
            printer.wait();
        }
        return Err(e);
    }
    if socket_type == SocketType::Stream && !args.echo && !args.hex {
        eprintln!(
            "note: a stream prints ID<TAB>DATA (ID<TAB> for a peer that connects or leaves); \
             write ID<TAB>DATA to send, ID<TAB> to close, e.g. 0x0080000001<TAB>hello"
        );
    }
    if socket_type == SocketType::Router && !args.echo && !args.hex {
        eprintln!(
            "note: a router needs a routing-id frame before the body: write ID, TAB (or the \
             --delimiter), BODY, e.g. 0x0080000001<TAB>reply"
        );
    }

    let mut framing = Framing::new(args.delimiter.as_deref(), args.hex);
    if args.nul {
        framing = framing.nul_terminated();
    }
    if matches!(socket_type, SocketType::XPub | SocketType::XSub) {
        framing = framing.with_subscriptions();
    }
    let session = Session {
        _authenticator: authenticator.map(Arc::new),
        show_user_id: args.security.show_user_id,
        ctx,
        socket,
        monitor,
        framing,
        count: args.count,
        timeout: args.timeout,
        linger: args.options.linger,
        exit_on_eof: args.exit_on_eof,
        stdin_ended: Arc::new(AtomicBool::new(false)),
        raw: socket_type == SocketType::Stream,
    };
    session.handle_ctrl_c();
    if let Some(n) = wait_subscribers {
        if let Err(e) = session.wait_for_subscriptions(n) {
            session.finish(Err(e));
        }
    }
    if let Some(delay) = args.delay {
        thread::sleep(delay);
    }
    let outcome = match (role, args.echo) {
        (_, true) => session.echo(),
        (Role::SendOnly, _) => session.send_stdin(),
        (Role::RecvOnly, _) => session.print_incoming(),
        (Role::Request, _) => session.request(),
        (Role::Reply, _) => session.reply(),
        (Role::Duplex, _) => session.duplex(),
    };
    session.finish(outcome)
}

/// Options, binds and connects, in that order.
fn set_up(socket: &Socket, socket_type: SocketType, args: &SocketArgs) -> Result<()> {
    let mut options = args.security.socket_options()?;
    options.extend(args.options.to_socket_options()?);
    // A SUB given no --subscribe takes everything; an XSUB subscribes only when told (a
    // 0x01TOPIC line, or --subscribe).
    if socket_type == SocketType::Sub && args.options.subscribe.is_empty() {
        options.push(SocketOption::Subscribe(ferrozmq::Bytes::new()));
    }
    for option in options {
        let name = option.name();
        socket
            .set_option(option)
            .map_err(|e| UsageError(format!("cannot set {name}: {e}")))?;
    }
    for ep in &args.bind {
        let resolved = socket.bind(ep).map_err(|e| match e {
            BindError::Endpoint(e) => UsageError(format!("invalid endpoint {ep:?}: {e}")).into(),
            e => anyhow!(e).context(format!("cannot bind to {ep}")),
        })?;
        eprintln!("listening on {resolved}");
    }
    for ep in &args.connect {
        socket.connect(ep).map_err(|e| match e {
            ConnectError::Endpoint(e) => UsageError(format!("invalid endpoint {ep:?}: {e}")).into(),
            e => anyhow!(e).context(format!("cannot connect to {ep}")),
        })?;
    }
    Ok(())
}

/// `--monitor`: a thread printing the socket's monitor events on stderr until the monitor
/// stops (the socket closed and the engine done with it).
#[derive(Debug, Clone)]
struct MonitorPrinter {
    /// Disconnected when the printing thread has ended.
    done: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl MonitorPrinter {
    fn start(socket: &Socket) -> MonitorPrinter {
        let monitor = socket.monitor();
        let (tx, rx) = mpsc::channel::<()>();
        thread::spawn(move || {
            let _done = tx;
            for event in monitor {
                eprintln!("monitor: {event}");
            }
        });
        MonitorPrinter {
            done: Arc::new(Mutex::new(rx)),
        }
    }

    /// Waits for the last event to be printed. Called after the context terminated, when
    /// `monitor stopped` is already queued; the bound only guards against a stuck stderr.
    fn wait(&self) {
        if let Ok(done) = self.done.lock() {
            let _ = done.recv_timeout(Duration::from_secs(5));
        }
    }
}

/// A connected socket and how to talk to the terminal; cloned for the reader thread.
#[derive(Debug, Clone)]
struct Session {
    /// The ZAP handler of the --auth-* flags, alive as long as the socket.
    _authenticator: Option<Arc<ferrozmq::auth::Authenticator>>,
    /// `--show-user-id`: print each message's User-Id as a first frame.
    show_user_id: bool,
    ctx: Context,
    socket: Socket,
    monitor: Option<MonitorPrinter>,
    framing: Framing,
    count: Option<u64>,
    timeout: Option<Duration>,
    /// `--linger` as given, for the undelivered-messages report.
    linger: Option<i64>,
    exit_on_eof: bool,
    /// Set by the stdin thread at end of input (`--exit-on-eof`).
    stdin_ended: Arc<AtomicBool>,
    /// A STREAM socket: `[id, empty]` is a connection made or lost, not data.
    raw: bool,
}

/// Lines of stdin that could not be sent (bad hex): reported as they come, and the exit
/// status is 1 at the end. What was queued is still flushed.
#[derive(Debug)]
struct BadInput(u64);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            1 => f.write_str("1 input line was not sent (see above)"),
            n => write!(f, "{n} input lines were not sent (see above)"),
        }
    }
}

impl std::error::Error for BadInput {}

/// Ctrl-C: the socket was closed with its LINGER; exit 130 as shells expect.
#[derive(Debug)]
struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

impl Session {
    /// push: send each line; stop at EOF or after `--count` messages.
    fn send_stdin(&self) -> Result<()> {
        let mut input = Input::new(&self.framing);
        let mut sent = 0;
        while !self.reached(sent) {
            let Some(msg) = input.next_message()? else {
                break;
            };
            self.send(msg)?;
            sent += 1;
        }
        input.result()
    }

    /// pull: print what arrives until `--count`.
    fn print_incoming(&self) -> Result<()> {
        let mut received = 0;
        while !self.reached(received) {
            self.print(&self.recv()?)?;
            received += 1;
        }
        Ok(())
    }

    /// req: per line, send it and print the reply.
    fn request(&self) -> Result<()> {
        let mut input = Input::new(&self.framing);
        let mut replies = 0;
        while !self.reached(replies) {
            let Some(msg) = input.next_message()? else {
                break;
            };
            self.send(msg)?;
            self.print(&self.recv()?)?;
            replies += 1;
        }
        input.result()
    }

    /// rep: per request, print it and answer with the next line. Stops at EOF.
    fn reply(&self) -> Result<()> {
        let mut input = Input::new(&self.framing);
        let mut replied = 0;
        while !self.reached(replied) {
            self.print(&self.recv()?)?;
            let Some(reply) = input.next_message()? else {
                break;
            };
            self.send(reply)?;
            replied += 1;
        }
        input.result()
    }

    /// --echo: print each message and send it back unchanged. A stream echoes each peer's
    /// bytes only: a notification (`[id, empty]`) is printed, not sent back (that would
    /// close the connection), and a peer gone before its echo is no error.
    fn echo(&self) -> Result<()> {
        let mut echoed = 0;
        while !self.reached(echoed) {
            let msg = self.recv()?;
            self.print(&msg)?;
            if self.raw {
                if msg.frames().get(1).is_none_or(|data| data.is_empty()) {
                    continue;
                }
                match self.socket.send_timeout(msg, self.timeout) {
                    Err(e) if e.kind() == SendErrorKind::HostUnreachable => {}
                    other => other.map_err(|e| send_error(e.kind(), self.timeout))?,
                }
            } else {
                self.send(msg)?;
            }
            echoed += 1;
        }
        Ok(())
    }

    /// dealer, router, pair, xpub, xsub: a reader thread prints while this thread sends stdin
    /// on the same socket. At EOF the reader goes on until `--count` or `--timeout` ends the
    /// process; with `--exit-on-eof`, a `--timeout` without a message after EOF is the end
    /// (exit 0), and without `--timeout` EOF is.
    fn duplex(&self) -> Result<()> {
        let reader = self.clone();
        let handle = thread::spawn(move || {
            let outcome = reader.print_incoming();
            reader.finish(outcome);
        });
        let mut input = Input::new(&self.framing);
        while let Some(msg) = input.next_message()? {
            match self.socket.send_timeout(msg, self.timeout) {
                Ok(()) => {}
                // The reader is ending the process and closed the socket.
                Err(e) if e.kind() == SendErrorKind::Closed => break,
                Err(e) => return Err(send_error(e.kind(), self.timeout)),
            }
        }
        if self.exit_on_eof {
            self.stdin_ended.store(true, Ordering::Release);
            if self.timeout.is_none() {
                return input.result();
            }
        }
        input.result()?;
        match handle.join() {
            Ok(()) => Ok(()),
            Err(_) => Err(anyhow!("the receiving thread panicked")),
        }
    }

    /// `pub --wait-subscribers N`: reads subscription notices until N have arrived.
    fn wait_for_subscriptions(&self, n: u64) -> Result<()> {
        let mut seen = 0;
        while seen < n {
            let msg = self
                .socket
                .recv_timeout(self.timeout)
                .map_err(|e| match e {
                    RecvError::Timeout => anyhow!(
                        "timed out: {seen} of {n} subscriptions arrived within {}",
                        timeout_text(self.timeout.unwrap_or_default())
                    ),
                    e => anyhow!(e).context("waiting for subscribers failed"),
                })?;
            if msg.frames().first().and_then(|f| f.first()) == Some(&1) {
                seen += 1;
            }
        }
        Ok(())
    }

    /// Ctrl-C: the first closes the socket with its LINGER and exits 130 (or 1 if messages
    /// were left undelivered); a second exits at once.
    fn handle_ctrl_c(&self) {
        static INTERRUPTED: AtomicBool = AtomicBool::new(false);
        let session = self.clone();
        let installed = ctrlc::set_handler(move || {
            if INTERRUPTED.swap(true, Ordering::AcqRel) {
                std::process::exit(130);
            }
            let queued = session.socket.queued_outgoing();
            eprintln!(
                "fzmq: interrupted: closing the socket, {queued} queued message{} to flush \
                 (up to LINGER; Ctrl-C again to quit now)",
                if queued == 1 { "" } else { "s" }
            );
            session.finish(Err(Interrupted.into()));
        });
        if let Err(e) = installed {
            eprintln!("fzmq: cannot handle Ctrl-C ({e}); it will drop queued messages");
        }
    }

    fn reached(&self, n: u64) -> bool {
        self.count.is_some_and(|count| n >= count)
    }

    fn send(&self, msg: Message) -> Result<()> {
        self.socket
            .send_timeout(msg, self.timeout)
            .map_err(|e| send_error(e.kind(), self.timeout))
    }

    fn recv(&self) -> Result<Message> {
        let outcome = self.socket.recv_timeout(self.timeout);
        match (outcome, self.timeout) {
            (Ok(msg), _) => Ok(msg),
            (Err(RecvError::Timeout), _)
                if self.exit_on_eof && self.stdin_ended.load(Ordering::Acquire) =>
            {
                Err(EndOfSession.into())
            }
            (Err(RecvError::Timeout), Some(t)) => Err(anyhow!(
                "timed out: no message received within {}",
                timeout_text(t)
            )),
            (Err(e), _) => Err(anyhow!(e).context("receive failed")),
        }
    }

    fn print(&self, msg: &Message) -> Result<()> {
        let mut line = if self.show_user_id {
            let user_id = msg.property("User-Id").unwrap_or_default();
            let mut shown = Message::from(vec![ferrozmq::Bytes::copy_from_slice(user_id)]);
            shown.extend(msg.clone());
            self.framing.format(&shown)
        } else {
            self.framing.format(msg)
        };
        line.push(self.framing.terminator());
        // stdout is line-buffered, so each message is visible as soon as it is printed.
        let mut out = io::stdout().lock();
        out.write_all(&line)
            .and_then(|()| out.flush())
            .context("cannot write to stdout")
    }

    /// Ends the process: closes the socket, waits up to LINGER for queued messages to go out
    /// (skipped on failure, but not for bad input lines or Ctrl-C: what was queued still goes),
    /// reports messages LINGER cut off (exit 1), then exits with the outcome. The first
    /// thread to call it wins; a second one blocks until the process is gone.
    fn finish(&self, outcome: Result<()>) -> ! {
        static FINISHING: Mutex<()> = Mutex::new(());
        let _only_once = FINISHING.lock();
        let _ = io::stdout().flush();
        let outcome = match outcome {
            Err(e) if e.is::<EndOfSession>() => Ok(()),
            other => other,
        };
        let flush = match &outcome {
            Ok(()) => true,
            Err(e) => e.is::<BadInput>() || e.is::<Interrupted>(),
        };
        if !flush {
            // Failing: do not hold the exit for LINGER over messages nobody is waiting for.
            let _ = self
                .socket
                .set_option(SocketOption::Linger(Some(Duration::ZERO)));
        }
        self.socket.close();
        self.ctx.terminate();
        if let Some(printer) = &self.monitor {
            printer.wait();
        }
        let left = self.socket.queued_outgoing();
        let outcome = if flush && left > 0 {
            if let Err(e) = &outcome {
                eprintln!("fzmq: {e:#}");
            }
            let linger = match self.linger {
                Some(ms) if ms >= 0 => format!("--linger {ms} ms"),
                _ => "LINGER".to_owned(),
            };
            Err(anyhow!(
                "{left} message{} not delivered: {linger} expired first",
                if left == 1 { " was" } else { "s were" }
            ))
        } else {
            outcome
        };
        match outcome {
            Err(e) if e.is::<Interrupted>() => std::process::exit(130),
            other => crate::exit_with(other),
        }
    }
}

/// `--exit-on-eof`: the time-out after the end of input is the normal end (exit 0).
#[derive(Debug)]
struct EndOfSession;

impl std::fmt::Display for EndOfSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("end of input")
    }
}

impl std::error::Error for EndOfSession {}

/// Messages read from stdin, one per line (per NUL with `-0`). Lines that do not parse (bad
/// hex) are reported and skipped, so a typo does not end an interactive session, and counted:
/// [`Input::result`] makes them an error at the end.
struct Input<'a> {
    stdin: io::StdinLock<'static>,
    framing: &'a Framing,
    line: Vec<u8>,
    line_no: u64,
    bad: u64,
}

impl<'a> Input<'a> {
    fn new(framing: &'a Framing) -> Self {
        Input {
            stdin: io::stdin().lock(),
            framing,
            line: Vec::new(),
            line_no: 0,
            bad: 0,
        }
    }

    /// The next message, or `None` at end of input.
    fn next_message(&mut self) -> Result<Option<Message>> {
        loop {
            self.line.clear();
            let n = self
                .stdin
                .read_until(self.framing.terminator(), &mut self.line)
                .context("cannot read stdin")?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            self.framing.strip_end(&mut self.line);
            match self.framing.parse_line(&self.line) {
                Ok(msg) => return Ok(Some(msg)),
                Err(e) => {
                    self.bad += 1;
                    eprintln!("fzmq: line {} not sent: {e}", self.line_no);
                }
            }
        }
    }

    /// An error if any line was not sent.
    fn result(&self) -> Result<()> {
        match self.bad {
            0 => Ok(()),
            n => Err(BadInput(n).into()),
        }
    }
}

impl OptionArgs {
    fn to_socket_options(&self) -> Result<Vec<SocketOption>, UsageError> {
        let ms = Duration::from_millis;
        let mut opts = Vec::new();
        if let Some(id) = &self.identity {
            if id.is_empty() {
                return Err(UsageError("--identity must not be empty".into()));
            }
            opts.push(SocketOption::RoutingId(crate::format::parse_text_frame(
                id.as_bytes(),
            )));
        }
        opts.extend(self.sndhwm.map(SocketOption::SndHwm));
        opts.extend(self.rcvhwm.map(SocketOption::RcvHwm));
        opts.extend(
            self.linger
                .map(|v| SocketOption::Linger(non_negative_ms(v))),
        );
        opts.extend(
            self.reconnect_ivl
                .map(|v| SocketOption::ReconnectIvl(non_negative_ms(v))),
        );
        opts.extend(
            self.reconnect_ivl_max
                .map(|v| SocketOption::ReconnectIvlMax((v > 0).then(|| ms(v)))),
        );
        opts.extend(
            self.max_msg_size
                .map(|v| SocketOption::MaxMsgSize(u64::try_from(v).ok())),
        );
        if self.immediate {
            opts.push(SocketOption::Immediate(true));
        }
        opts.extend(
            self.handshake_ivl
                .map(|v| SocketOption::HandshakeIvl((v > 0).then(|| ms(v)))),
        );
        opts.extend(
            self.heartbeat_ivl
                .map(|v| SocketOption::HeartbeatIvl((v > 0).then(|| ms(v)))),
        );
        opts.extend(
            self.heartbeat_ttl
                .map(|v| SocketOption::HeartbeatTtl((v > 0).then(|| ms(v)))),
        );
        opts.extend(
            self.heartbeat_timeout
                .map(|v| SocketOption::HeartbeatTimeout((v > 0).then(|| ms(v)))),
        );
        if self.router_mandatory {
            opts.push(SocketOption::RouterMandatory(true));
        }
        if self.req_relaxed {
            opts.push(SocketOption::ReqRelaxed(true));
        }
        if self.req_correlate {
            opts.push(SocketOption::ReqCorrelate(true));
        }
        opts.extend(self.sndbuf.map(|v| SocketOption::SndBuf(Some(v))));
        opts.extend(self.rcvbuf.map(|v| SocketOption::RcvBuf(Some(v))));
        let flags = [
            (self.xpub_verbose, SocketOption::XpubVerbose(true)),
            (self.xpub_verboser, SocketOption::XpubVerboser(true)),
            (self.xpub_nodrop, SocketOption::XpubNodrop(true)),
            (self.invert_matching, SocketOption::InvertMatching(true)),
            (self.conflate, SocketOption::Conflate(true)),
        ];
        opts.extend(flags.into_iter().filter(|(on, _)| *on).map(|(_, o)| o));
        opts.extend(
            self.max_subscriptions
                .map(|n| SocketOption::MaxSubscriptions((n > 0).then_some(n))),
        );
        if let Some(msg) = &self.xpub_welcome_msg {
            opts.push(SocketOption::XpubWelcomeMsg(Some(
                crate::format::parse_text_frame(msg.as_bytes()),
            )));
        }
        opts.extend(self.subscribe.iter().map(|prefix| {
            SocketOption::Subscribe(crate::format::parse_text_frame(prefix.as_bytes()))
        }));
        opts.extend(self.option.iter().cloned());
        Ok(opts)
    }
}

/// libzmq's convention: -1 is "forever/never", anything else milliseconds.
fn non_negative_ms(v: i64) -> Option<Duration> {
    u64::try_from(v).ok().map(Duration::from_millis)
}

fn send_error(kind: SendErrorKind, timeout: Option<Duration>) -> anyhow::Error {
    match (kind, timeout) {
        (SendErrorKind::Timeout, Some(t)) => {
            anyhow!(
                "timed out: no peer took the message within {}",
                timeout_text(t)
            )
        }
        (kind, _) => anyhow!(kind).context("send failed"),
    }
}

/// `--timeout` as people read it: `500 ms (--timeout)`, `2.5 s (--timeout)`.
fn timeout_text(d: Duration) -> String {
    format!("{} (--timeout)", crate::human_duration(d))
}

pub(crate) fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0) {
        return Err("the timeout must be a positive number of seconds".into());
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

fn non_empty(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("the delimiter must not be empty".into());
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_type_has_a_role() {
        for t in crate::SOCKET_TYPES {
            assert!(Role::of(*t).is_some(), "{t}");
        }
    }

    #[test]
    fn echo_only_for_receive_then_send_types() {
        assert!(Role::of(SocketType::Rep).unwrap().can_echo());
        assert!(Role::of(SocketType::Router).unwrap().can_echo());
        assert!(!Role::of(SocketType::Req).unwrap().can_echo());
        assert!(!Role::of(SocketType::Push).unwrap().can_echo());
    }

    #[test]
    fn timeout_parsing() {
        assert_eq!(parse_secs("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_secs("0").is_err());
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("soon").is_err());
        assert!(parse_secs("inf").is_err());
    }

    #[test]
    fn libzmq_special_values() {
        assert_eq!(non_negative_ms(-1), None);
        assert_eq!(non_negative_ms(0), Some(Duration::ZERO));
        assert_eq!(non_negative_ms(250), Some(Duration::from_millis(250)));
    }
}
