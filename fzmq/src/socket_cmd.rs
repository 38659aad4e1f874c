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

use std::io::{self, BufRead, Write};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use clap::{ArgGroup, Args};
use ferrozmq::{
    BindError, ConnectError, Context, Message, RecvError, SendErrorKind, Socket, SocketOption,
    SocketType,
};

use crate::format::{strip_line_end, Framing};
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
    /// For rep, router, dealer and pair.
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

    #[command(flatten)]
    options: OptionArgs,
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
            | SocketType::XSub => Role::Duplex,
            _ => return None,
        })
    }

    /// Whether `--echo` makes sense: the type both receives and sends, receiving first.
    fn can_echo(self) -> bool {
        matches!(self, Role::Reply | Role::Duplex)
    }
}

/// Runs `fzmq TYPE`; returns only on a setup error (the session itself ends the process).
pub(crate) fn run(socket_type: SocketType, args: SocketArgs) -> Result<()> {
    let role = Role::of(socket_type)
        .ok_or_else(|| UsageError(format!("socket type {socket_type} is not supported yet")))?;
    if args.echo && !role.can_echo() {
        return Err(UsageError(format!(
            "--echo needs a socket type that receives and replies (rep, router, dealer, pair, \
             xpub, xsub), not {}",
            socket_type.name().to_ascii_lowercase()
        ))
        .into());
    }
    let ctx = Context::new();
    let socket = ctx.socket(socket_type);
    let monitor = args.monitor.then(|| MonitorPrinter::start(&socket));
    if let Err(e) = set_up(&socket, &args) {
        // Let the monitor print why (a bind failure) before the error ends the process.
        if let Some(printer) = &monitor {
            let _ = socket.set_option(SocketOption::Linger(Some(Duration::ZERO)));
            socket.close();
            ctx.terminate();
            printer.wait();
        }
        return Err(e);
    }
    if socket_type == SocketType::Router && args.delimiter.is_none() && !args.echo && !args.hex {
        eprintln!(
            "note: a router needs a routing-id frame before the body: use --delimiter to send \
             multi-frame lines, e.g. -d '|' and 0x0080000001|reply"
        );
    }

    let session = Session {
        ctx,
        socket,
        monitor,
        framing: Framing::new(args.delimiter.as_deref(), args.hex),
        count: args.count,
        timeout: args.timeout,
    };
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
fn set_up(socket: &Socket, args: &SocketArgs) -> Result<()> {
    let mut options = args.options.to_socket_options()?;
    // A subscriber given no --subscribe takes everything.
    let subscriber =
        socket.socket_type().capabilities().subscriptions == ferrozmq::Subscriptions::Subscriber;
    if subscriber && args.options.subscribe.is_empty() {
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
    ctx: Context,
    socket: Socket,
    monitor: Option<MonitorPrinter>,
    framing: Framing,
    count: Option<u64>,
    timeout: Option<Duration>,
}

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
        Ok(())
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
        Ok(())
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
        Ok(())
    }

    /// --echo: print each message and send it back unchanged.
    fn echo(&self) -> Result<()> {
        let mut echoed = 0;
        while !self.reached(echoed) {
            let msg = self.recv()?;
            self.print(&msg)?;
            self.send(msg)?;
            echoed += 1;
        }
        Ok(())
    }

    /// dealer, router, pair: a reader thread prints while this thread sends stdin on the same
    /// socket. At EOF the reader goes on until `--count` or `--timeout` ends the process.
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
        match handle.join() {
            Ok(()) => Ok(()),
            Err(_) => Err(anyhow!("the receiving thread panicked")),
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
        self.socket
            .recv_timeout(self.timeout)
            .map_err(|e| match (e, self.timeout) {
                (RecvError::Timeout, Some(t)) => {
                    anyhow!("timed out: no message received within {}", secs(t))
                }
                (e, _) => anyhow!(e).context("receive failed"),
            })
    }

    fn print(&self, msg: &Message) -> Result<()> {
        let mut line = self.framing.format(msg);
        line.push(b'\n');
        // stdout is line-buffered, so each message is visible as soon as it is printed.
        io::stdout()
            .lock()
            .write_all(&line)
            .context("cannot write to stdout")
    }

    /// Ends the process: closes the socket, waits up to LINGER for queued messages to go out
    /// (this is what makes `push --count N` flushed; skipped on failure), then exits with the
    /// outcome. The first
    /// thread to call it wins; a second one blocks until the process is gone.
    fn finish(&self, outcome: Result<()>) -> ! {
        static FINISHING: Mutex<()> = Mutex::new(());
        let _only_once = FINISHING.lock();
        let _ = io::stdout().flush();
        if outcome.is_err() {
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
        crate::exit_with(outcome)
    }
}

/// Messages read from stdin, one per line. Lines that do not parse (bad hex) are reported
/// and skipped, so a typo does not end an interactive session.
struct Input<'a> {
    stdin: io::StdinLock<'static>,
    framing: &'a Framing,
    line: Vec<u8>,
    line_no: u64,
}

impl<'a> Input<'a> {
    fn new(framing: &'a Framing) -> Self {
        Input {
            stdin: io::stdin().lock(),
            framing,
            line: Vec::new(),
            line_no: 0,
        }
    }

    /// The next message, or `None` at end of input.
    fn next_message(&mut self) -> Result<Option<Message>> {
        loop {
            self.line.clear();
            let n = self
                .stdin
                .read_until(b'\n', &mut self.line)
                .context("cannot read stdin")?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            strip_line_end(&mut self.line);
            match self.framing.parse_line(&self.line) {
                Ok(msg) => return Ok(Some(msg)),
                Err(e) => eprintln!("fzmq: line {} not sent: {e}", self.line_no),
            }
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
            anyhow!("timed out: no peer took the message within {}", secs(t))
        }
        (kind, _) => anyhow!(kind).context("send failed"),
    }
}

fn secs(d: Duration) -> String {
    format!("{}s (--timeout)", d.as_secs_f64())
}

fn parse_secs(s: &str) -> Result<Duration, String> {
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
