//! `fzmq bench`: throughput (PUSH/PULL) and latency (REQ/REP). Plain `fzmq bench` measures in
//! one process, a sender thread and a receiver thread talking over tcp loopback, ipc or inproc,
//! with progress bars; the [`PerfTool`] subcommands run one side each, in two processes.
//!
//! Methods follow libzmq's perf tools so figures compare one to one: throughput is timed at the
//! receiver from the first message to the last (`local_thr`) while the sender builds a new
//! message for every send (`remote_thr`); latency is half the round trip of a REQ/REP echo
//! (`local_lat`/`remote_lat`). Each side is one function ([`send_messages`],
//! [`receive_messages`], [`echo`], [`ping`]) that both the in-process overview and the
//! split-process tools run. `--curve` encrypts both tests with CURVE (fresh keys each run),
//! to see what encryption costs.

use std::fmt;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use ferrozmq::{
    BindError, Bytes, ConnectError, Context, CurveKeyPair, Message, Socket, SocketOption,
    SocketType,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::UsageError;

/// `fzmq bench` arguments. With no flags: the default suite, over tcp loopback.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct BenchArgs {
    /// One side of a test, to run in its own process (libzmq's perf tools).
    #[command(subcommand)]
    tool: Option<PerfTool>,
    /// Transport between the two threads.
    #[arg(long, value_enum, default_value_t = Transport::Tcp)]
    transport: Transport,
    /// Message size in bytes (instead of the default 16 B and 4 KiB).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    size: Option<u64>,
    /// Messages per throughput test [default: 2000000 for small messages, 200000 above 1 KiB].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Round trips of the latency test [default: 20000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    round_trips: Option<u64>,
    /// Encrypt with CURVE (a fresh key pair for each side; the binding side is the server).
    /// tcp and ipc only: inproc has no handshake.
    #[arg(long)]
    curve: bool,
}

/// The split-process tools: each is one side of a test, with libzmq's perf-tool semantics.
/// The binding side prints `listening on ENDPOINT` on stderr once it is bound.
#[derive(Debug, Subcommand)]
enum PerfTool {
    /// Bind a PULL and time COUNT messages from the first to the last (libzmq's local_thr).
    ThrRecv(PerfArgs),
    /// Connect a PUSH and send COUNT messages of SIZE bytes, a new one each (remote_thr).
    ThrSend(PerfArgs),
    /// Bind a REP and echo COUNT requests (local_lat).
    LatEcho(PerfArgs),
    /// Connect a REQ and time COUNT round trips; reports one-way latency = round trip / 2
    /// (remote_lat), as mean, p50 and p99.
    LatPing(PerfArgs),
}

/// Arguments of every [`PerfTool`], in the order of libzmq's tools.
#[derive(Debug, Args)]
struct PerfArgs {
    /// Endpoint to bind or connect: tcp://127.0.0.1:5555, tcp://127.0.0.1:* (any port),
    /// ipc:///tmp/sock.
    endpoint: String,
    /// Message size in bytes.
    #[arg(value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    size: u64,
    /// Messages (thr-*) or round trips (lat-*); both sides must be given the same.
    #[arg(value_parser = clap::value_parser!(u64).range(1..))]
    count: u64,
    /// Print one JSON object on stdout instead of a line for humans.
    #[arg(long)]
    json: bool,
}

/// Where the bench sockets meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    Tcp,
    Ipc,
    Inproc,
}

/// One test of the suite.
#[derive(Debug, Clone, Copy)]
enum Test {
    Throughput { size: usize, count: u64 },
    Latency { size: usize, round_trips: u64 },
}

/// What a test measured.
#[derive(Debug)]
enum Outcome {
    Throughput {
        size: usize,
        count: u64,
        elapsed: Duration,
    },
    Latency {
        size: usize,
        /// One-way latencies (round trip / 2), sorted.
        one_way: Vec<Duration>,
    },
}

/// How long the bench waits for any single message before declaring the run stuck.
const STALL: Duration = Duration::from_secs(10);
/// Untimed round trips before the latency test, so connection set-up is not measured.
const WARM_UP: u64 = 100;

pub(crate) fn run(args: BenchArgs) -> Result<()> {
    if let Some(tool) = args.tool {
        return run_tool(tool);
    }
    if args.curve && args.transport == Transport::Inproc {
        bail!(UsageError(
            "--curve needs tcp or ipc: inproc connections have no handshake".into()
        ));
    }
    let security = args.curve.then(Curve::new);
    let tests = suite(&args);
    let mut outcomes = Vec::new();
    for (i, test) in tests.iter().enumerate() {
        let endpoint = Endpoint::new(args.transport, i);
        // Both ends live in this process: one I/O thread each, as two processes would have.
        let ctx = Context::with_io_threads(2)?;
        let outcome = match *test {
            Test::Throughput { size, count } => {
                let bar = progress(count, format!("throughput {}", Size(size)));
                throughput(&ctx, &endpoint, security.as_ref(), size, count, &bar)
            }
            Test::Latency { size, round_trips } => {
                let bar = progress(round_trips, format!("latency {}", Size(size)));
                latency(&ctx, &endpoint, security.as_ref(), size, round_trips, &bar)
            }
        };
        ctx.terminate();
        outcomes.push(outcome.with_context(|| format!("{test:?} over {:?}", args.transport))?);
    }
    let transport = format!("{:?}", args.transport).to_ascii_lowercase();
    let transport = match args.curve {
        true => format!("{transport}+curve"),
        false => transport,
    };
    print_table(&transport, &outcomes);
    Ok(())
}

/// The key pairs of a CURVE run: the binding side is the server.
struct Curve {
    server: CurveKeyPair,
    client: CurveKeyPair,
}

impl Curve {
    fn new() -> Curve {
        Curve {
            server: CurveKeyPair::generate(),
            client: CurveKeyPair::generate(),
        }
    }

    /// Makes `binder` the CURVE server and `connecter` its client.
    fn secure(&self, binder: &Socket, connecter: &Socket) -> Result<()> {
        let key = |k: &[u8; 32]| Bytes::copy_from_slice(k);
        binder.set_option(SocketOption::CurveServer(true))?;
        binder.set_option(SocketOption::CurveSecretKey(key(self
            .server
            .secret
            .as_bytes())))?;
        connecter.set_option(SocketOption::CurveSecretKey(key(self
            .client
            .secret
            .as_bytes())))?;
        connecter.set_option(SocketOption::CurveServerKey(key(self
            .server
            .public
            .as_bytes())))?;
        Ok(())
    }
}

/// The tests to run: 16 B and 4 KiB throughput and 16 B latency, or `--size` alone.
fn suite(args: &BenchArgs) -> Vec<Test> {
    let default_count = |size: usize| if size > 1024 { 200_000 } else { 2_000_000 };
    let sizes = match args.size {
        Some(size) => vec![usize::try_from(size).unwrap_or(usize::MAX)],
        None => vec![16, 4096],
    };
    let mut tests: Vec<Test> = sizes
        .iter()
        .map(|&size| Test::Throughput {
            size,
            count: args.count.unwrap_or_else(|| default_count(size)),
        })
        .collect();
    tests.push(Test::Latency {
        size: sizes[0],
        round_trips: args.round_trips.unwrap_or(20_000),
    });
    tests
}

/// PUSH in a sender thread, PULL here; timed from the first message received to the last.
fn throughput(
    ctx: &Context,
    endpoint: &Endpoint,
    security: Option<&Curve>,
    size: usize,
    count: u64,
    bar: &ProgressBar,
) -> Result<Outcome> {
    let pull = ctx.socket(SocketType::Pull);
    let push = ctx.socket(SocketType::Push);
    if let Some(curve) = security {
        curve.secure(&pull, &push)?;
    }
    let ep = pull.bind(&endpoint.address)?;
    push.connect(&ep)?;
    let sender = thread::spawn(move || send_messages(&push, size, count));
    let elapsed = receive_messages(&pull, size, count, Some(STALL), bar)?;
    sender
        .join()
        .map_err(|_| anyhow!("sender thread panicked"))??;
    Ok(Outcome::Throughput {
        size,
        count,
        elapsed,
    })
}

/// REP echoing in a thread, REQ here; each round trip timed on its own.
fn latency(
    ctx: &Context,
    endpoint: &Endpoint,
    security: Option<&Curve>,
    size: usize,
    round_trips: u64,
    bar: &ProgressBar,
) -> Result<Outcome> {
    let rep = ctx.socket(SocketType::Rep);
    let req = ctx.socket(SocketType::Req);
    if let Some(curve) = security {
        curve.secure(&rep, &req)?;
    }
    let ep = rep.bind(&endpoint.address)?;
    req.connect(&ep)?;
    let echo = thread::spawn(move || echo(&rep, WARM_UP + round_trips, Some(STALL)));
    let one_way = ping(&req, size, WARM_UP, round_trips, bar)?;
    echo.join().map_err(|_| anyhow!("echo thread panicked"))??;
    Ok(Outcome::Latency { size, one_way })
}

/// The sending side of a throughput test: COUNT messages of SIZE bytes, each built anew as
/// libzmq's `remote_thr` does with `zmq_msg_init_size`: a small payload inside the message
/// (no allocation, as libzmq's up to 33 bytes), a larger one in an allocation of its own.
fn send_messages(push: &Socket, size: usize, count: u64) -> Result<()> {
    const SMALL: usize = ferrozmq::Frame::INLINE_CAPACITY;
    for _ in 0..count {
        let msg = match size {
            0..=SMALL => Message::from(&[0u8; SMALL][..size]),
            _ => Message::from(vec![0u8; size]),
        };
        push.send(msg).map_err(|e| anyhow!("send: {e}"))?;
    }
    Ok(())
}

/// The receiving side of a throughput test: COUNT messages, timed from the first received to
/// the last. The first may take up to `first_wait` (`None`: forever), the others [`STALL`].
fn receive_messages(
    pull: &Socket,
    size: usize,
    count: u64,
    first_wait: Option<Duration>,
    bar: &ProgressBar,
) -> Result<Duration> {
    let first = receive(pull, first_wait)?;
    check_size(&first, size)?;
    let start = Instant::now();
    for i in 1..count {
        let msg = receive(pull, Some(STALL))?;
        if i % 4096 == 0 {
            check_size(&msg, size)?;
            bar.set_position(i);
        }
    }
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    Ok(elapsed)
}

/// The echoing side of a latency test: sends back each of `requests` requests. The first may
/// take up to `first_wait` (`None`: forever), the others [`STALL`].
fn echo(rep: &Socket, requests: u64, first_wait: Option<Duration>) -> Result<()> {
    for i in 0..requests {
        let msg = receive(rep, if i == 0 { first_wait } else { Some(STALL) })?;
        rep.send(msg).map_err(|e| anyhow!("echo send: {e}"))?;
    }
    Ok(())
}

/// The timing side of a latency test: `warm_up` untimed round trips, then `round_trips` each
/// timed on its own. Returns the one-way latencies (round trip / 2), sorted.
fn ping(
    req: &Socket,
    size: usize,
    warm_up: u64,
    round_trips: u64,
    bar: &ProgressBar,
) -> Result<Vec<Duration>> {
    let payload = Bytes::from(vec![0x5a; size]);
    let mut one_way = Vec::with_capacity(usize::try_from(round_trips).unwrap_or(0));
    for i in 0..warm_up + round_trips {
        let start = Instant::now();
        req.send(Message::from(payload.clone()))
            .map_err(|e| anyhow!("send: {e}"))?;
        let reply = receive(req, Some(STALL))?;
        let rtt = start.elapsed();
        check_size(&reply, size)?;
        if i >= warm_up {
            one_way.push(rtt / 2);
            if i % 256 == 0 {
                bar.set_position(i - warm_up);
            }
        }
    }
    bar.finish_and_clear();
    one_way.sort_unstable();
    Ok(one_way)
}

/// Runs one side of a split-process test and prints its result on stdout.
fn run_tool(tool: PerfTool) -> Result<()> {
    let ctx = Context::new();
    let bar = ProgressBar::hidden();
    let line = match &tool {
        PerfTool::ThrRecv(args) => {
            let pull = bind(&ctx, SocketType::Pull, args)?;
            let elapsed = receive_messages(&pull, args.size()?, args.count, None, &bar)?;
            thr_report(args, elapsed)
        }
        PerfTool::ThrSend(args) => {
            let push = connect(&ctx, SocketType::Push, args)?;
            send_messages(&push, args.size()?, args.count)?;
            match args.json {
                true => format!("{{\"messages\":{},\"size\":{}}}", args.count, args.size),
                false => format!("sent {} messages of {} B", args.count, args.size),
            }
        }
        PerfTool::LatEcho(args) => {
            let rep = bind(&ctx, SocketType::Rep, args)?;
            echo(&rep, args.count, None)?;
            match args.json {
                true => format!("{{\"round_trips\":{},\"size\":{}}}", args.count, args.size),
                false => format!("echoed {} requests of {} B", args.count, args.size),
            }
        }
        PerfTool::LatPing(args) => {
            let req = connect(&ctx, SocketType::Req, args)?;
            // Like remote_lat, no warm-up: the first round trip waits for the connection.
            let one_way = ping(&req, args.size()?, 0, args.count, &bar)?;
            lat_report(args, &one_way)
        }
    };
    // Closes every socket, flushing what the sender queued (for at most LINGER).
    ctx.terminate();
    println!("{line}");
    Ok(())
}

impl PerfArgs {
    fn size(&self) -> Result<usize> {
        usize::try_from(self.size).context("SIZE does not fit in memory")
    }
}

/// A socket bound to the tool's endpoint; prints `listening on ...` on stderr.
fn bind(ctx: &Context, socket_type: SocketType, args: &PerfArgs) -> Result<Socket> {
    let socket = ctx.socket(socket_type);
    let ep = socket.bind(&args.endpoint).map_err(|e| match e {
        BindError::Endpoint(e) => {
            UsageError(format!("invalid endpoint {:?}: {e}", args.endpoint)).into()
        }
        e => anyhow!(e).context(format!("cannot bind to {}", args.endpoint)),
    })?;
    eprintln!("listening on {ep}");
    Ok(socket)
}

/// A socket connecting (in the background) to the tool's endpoint.
fn connect(ctx: &Context, socket_type: SocketType, args: &PerfArgs) -> Result<Socket> {
    let socket = ctx.socket(socket_type);
    socket.connect(&args.endpoint).map_err(|e| match e {
        ConnectError::Endpoint(e) => {
            UsageError(format!("invalid endpoint {:?}: {e}", args.endpoint)).into()
        }
        e => anyhow!(e).context(format!("cannot connect to {}", args.endpoint)),
    })?;
    Ok(socket)
}

/// thr-recv's result: a line for humans or the JSON object.
fn thr_report(args: &PerfArgs, elapsed: Duration) -> String {
    let rate = rate(args.count, elapsed);
    let mb = rate * args.size as f64 / 1e6;
    if args.json {
        format!(
            "{{\"msgs_per_sec\":{rate:.1},\"mb_per_sec\":{mb:.3},\"size\":{},\"count\":{},\
             \"elapsed_s\":{:.6}}}",
            args.size,
            args.count,
            elapsed.as_secs_f64()
        )
    } else {
        format!(
            "PUSH/PULL {} B x {}: {} msg/s, {mb:.1} MB/s",
            args.size,
            args.count,
            Thousands(rate as u64)
        )
    }
}

/// lat-ping's result: a line for humans or the JSON object.
fn lat_report(args: &PerfArgs, one_way: &[Duration]) -> String {
    let (m, p50, p99) = (
        micros(mean(one_way)),
        micros(percentile(one_way, 50.0)),
        micros(percentile(one_way, 99.0)),
    );
    if args.json {
        format!(
            "{{\"mean_us\":{m:.3},\"p50_us\":{p50:.3},\"p99_us\":{p99:.3},\"size\":{},\
             \"round_trips\":{}}}",
            args.size, args.count
        )
    } else {
        format!(
            "REQ/REP {} B x {}: one-way latency (round trip / 2) mean {m:.1} µs, p50 {p50:.1} µs, \
             p99 {p99:.1} µs",
            args.size, args.count
        )
    }
}

/// Messages per second when `count` messages were received in `elapsed` from the first to
/// the last: the first starts the clock, so `count - 1` were timed.
fn rate(count: u64, elapsed: Duration) -> f64 {
    count.saturating_sub(1) as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// Receives one message, waiting at most `wait` (`None`: forever).
fn receive(socket: &Socket, wait: Option<Duration>) -> Result<Message> {
    socket.recv_timeout(wait).map_err(|e| match wait {
        Some(wait) => anyhow!("receive: {e} (waited {wait:?})"),
        None => anyhow!("receive: {e}"),
    })
}

fn check_size(msg: &Message, size: usize) -> Result<()> {
    if msg.len() != 1 || msg.byte_len() != size {
        bail!(
            "received {} frame(s) of {} bytes, sent 1 of {size}",
            msg.len(),
            msg.byte_len()
        );
    }
    Ok(())
}

/// A progress bar on stderr; indicatif draws nothing when stderr is not a terminal.
fn progress(len: u64, name: String) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style =
        ProgressStyle::with_template("{prefix:>18} [{bar:30}] {human_pos}/{human_len} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(name);
    bar
}

fn print_table(transport: &str, outcomes: &[Outcome]) {
    println!(
        "{:<22} {:<9} {:>7} {:>10} {:>12} {:>10}",
        "throughput", "transport", "size", "messages", "msg/s", "MB/s"
    );
    for o in outcomes {
        if let Outcome::Throughput {
            size,
            count,
            elapsed,
        } = o
        {
            let rate = rate(*count, *elapsed);
            println!(
                "{:<22} {:<9} {:>7} {:>10} {:>12} {:>10.1}",
                "PUSH/PULL",
                transport,
                Size(*size).to_string(),
                count,
                Thousands(rate as u64).to_string(),
                rate * *size as f64 / 1e6
            );
        }
    }
    println!();
    println!(
        "{:<22} {:<9} {:>7} {:>10} {:>12} {:>10} {:>10}",
        "latency, one-way (µs)", "transport", "size", "trips", "mean", "p50", "p99"
    );
    for o in outcomes {
        if let Outcome::Latency { size, one_way } = o {
            println!(
                "{:<22} {:<9} {:>7} {:>10} {:>12.1} {:>10.1} {:>10.1}",
                "REQ/REP (rtt / 2)",
                transport,
                Size(*size).to_string(),
                one_way.len(),
                micros(mean(one_way)),
                micros(percentile(one_way, 50.0)),
                micros(percentile(one_way, 99.0)),
            );
        }
    }
}

fn mean(sorted: &[Duration]) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted.iter().sum::<Duration>() / u32::try_from(sorted.len()).unwrap_or(u32::MAX)
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], pct: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (pct / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A bench endpoint; an ipc socket file is removed when dropped.
#[derive(Debug)]
struct Endpoint {
    address: String,
    ipc_path: Option<PathBuf>,
}

impl Endpoint {
    fn new(transport: Transport, test: usize) -> Endpoint {
        let pid = std::process::id();
        match transport {
            Transport::Tcp => Endpoint {
                address: "tcp://127.0.0.1:*".into(),
                ipc_path: None,
            },
            Transport::Ipc => {
                let path = std::env::temp_dir().join(format!("fzmq-bench-{pid}-{test}.ipc"));
                Endpoint {
                    address: format!("ipc://{}", path.display()),
                    ipc_path: Some(path),
                }
            }
            Transport::Inproc => Endpoint {
                address: format!("inproc://fzmq-bench-{pid}-{test}"),
                ipc_path: None,
            },
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if let Some(path) = &self.ipc_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// An integer with thousands separators: 1,614,906.
struct Thousands(u64);

impl fmt::Display for Thousands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// A byte count for humans: 16 B, 4 KiB.
struct Size(usize);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            n if n >= 1 << 20 && n % (1 << 20) == 0 => write!(f, "{} MiB", n >> 20),
            n if n >= 1 << 10 && n % (1 << 10) == 0 => write!(f, "{} KiB", n >> 10),
            n => write!(f, "{n} B"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&ms(&[7]), 99.0), Duration::from_millis(7));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
        assert_eq!(mean(&ms(&[1, 2, 6])), Duration::from_millis(3));
    }

    #[test]
    fn sizes_print_in_binary_units() {
        assert_eq!(Size(16).to_string(), "16 B");
        assert_eq!(Size(4096).to_string(), "4 KiB");
        assert_eq!(Size(1000).to_string(), "1000 B");
        assert_eq!(Size(1 << 20).to_string(), "1 MiB");
        assert_eq!(Thousands(0).to_string(), "0");
        assert_eq!(Thousands(999).to_string(), "999");
        assert_eq!(Thousands(1_614_906).to_string(), "1,614,906");
    }

    #[test]
    fn default_suite_and_overrides() {
        let args = BenchArgs {
            tool: None,
            transport: Transport::Tcp,
            size: None,
            count: None,
            round_trips: None,
            curve: false,
        };
        let tests = format!("{:?}", suite(&args));
        assert_eq!(
            tests,
            "[Throughput { size: 16, count: 2000000 }, Throughput { size: 4096, count: 200000 }, \
             Latency { size: 16, round_trips: 20000 }]"
        );
        let args = BenchArgs {
            size: Some(100),
            count: Some(5),
            ..args
        };
        assert_eq!(
            format!("{:?}", suite(&args)),
            "[Throughput { size: 100, count: 5 }, Latency { size: 100, round_trips: 20000 }]"
        );
    }
}
