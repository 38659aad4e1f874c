//! The worker side: one [`Job`] (a library, a role, a transport, a size, a count) run in its
//! own process, started by the orchestrator as `ferrozmq-bench worker --lib ... --role ...`.
//!
//! Talks to the orchestrator in [`json::Line`]s on stdout: a binding worker first prints
//! `{"endpoint":...}`; a subscriber prints `{"ready":1}` once the publisher reaches it; the last
//! line is the result. Senders and publishers wait for the orchestrator on stdin (a line to go
//! on, end of input to exit), so no library's LINGER decides whether the last messages arrive.
//! The `libzmq+sodium` column's worker is a C program that speaks the same protocol
//! (`libs/libzmq_sodium.rs`).
//!
//! The measuring loops are written once here, for blocking sockets ([`Blocking`]) and for
//! `async` ones ([`Async`]); each library's file only adapts its socket calls to them. Methods
//! follow libzmq's perf tools: throughput timed at the receiver from the first message to the
//! last, a new message built for every send; latency as half the round trip of REQ/REP.
//!
//! Every worker that moves messages also reports `cpu_ns`: the CPU time (user + system, all
//! its threads) its process spent from the start of its measured work ([`work_starts`], called
//! by the loops) to its exit, sockets' and context's teardown included.

use std::io::{self, BufRead, Write};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::{Args, ValueEnum};

use crate::json::Line;

/// Untimed round trips before a latency test, on both sides, so connection set-up and cold
/// caches are not measured.
pub(crate) const WARM_UP: u64 = 100;
/// How often a publisher sends its hello while waiting for subscribers to join.
const HELLO_EVERY: Duration = Duration::from_millis(5);

/// What one worker process does. Built by the orchestrator, parsed by the worker.
#[derive(Debug, Clone, Args)]
pub(crate) struct Job {
    #[arg(long, value_enum)]
    pub(crate) lib: Lib,
    #[arg(long, value_enum)]
    pub(crate) role: Role,
    #[arg(long, value_enum)]
    pub(crate) transport: Transport,
    /// Where to connect (connecting roles) or to bind (ipc); tcp binds pick a free port.
    #[arg(long)]
    pub(crate) endpoint: Option<String>,
    /// Message size in bytes.
    #[arg(long, default_value_t = 0)]
    pub(crate) size: usize,
    /// Messages, round trips, or connections (router-hold, connect-many).
    #[arg(long)]
    pub(crate) count: u64,
    /// Sending threads sharing one socket (thr-send); messages in flight per client
    /// (echo-clients).
    #[arg(long, default_value_t = 1)]
    pub(crate) threads: usize,
    /// Client connections (echo-clients; echo-server raises its open-file limit for them).
    #[arg(long, default_value_t = 1)]
    pub(crate) clients: usize,
}

/// The implementations compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub(crate) enum Lib {
    Ferrozmq,
    /// libzmq as the `zmq` crate bundles it (built from source, without CURVE).
    Libzmq,
    /// The system's libzmq, built with libsodium (Debian's libzmq5), through a C worker.
    #[value(name = "libzmq+sodium")]
    LibzmqSodium,
    Zeromq,
    Rzmq,
    /// The raw-socket baselines; in the echo scenario, the mio echo server.
    Raw,
    /// The tokio echo server of the echo scenario (it plays no other role).
    RawTokio,
}

/// One side of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Role {
    /// Bind a PULL; time `count` messages from the first to the last.
    ThrRecv,
    /// Connect a PUSH; send `count` messages (split over `threads` threads sharing it).
    ThrSend,
    /// Both sides of a throughput test as two threads of this process: over inproc, or over
    /// tcp as `fzmq bench` measures (ferrozmq and libzmq then with two I/O threads).
    ThrOneProcess,
    /// Bind a REP; echo `WARM_UP + count` requests.
    LatEcho,
    /// Connect a REQ; time `count` round trips after `WARM_UP`.
    LatPing,
    /// Bind a PUB (no-drop); say hello until told to go, then send `count` messages.
    Pub,
    /// Connect a SUB to everything; time `count` messages once the hellos stop.
    Sub,
    /// Bind a ROUTER; report RSS before and after `count` peers connect.
    RouterHold,
    /// Open `count` raw tcp connections with a ZMTP NULL handshake and hold them.
    ConnectMany,
    /// Bind a raw-byte echo server (STREAM, or the mio and tokio servers) until stdin closes.
    EchoServer,
    /// Connect `clients` plain tcp clients and time `count` echoes (see `echo.rs`).
    EchoClients,
    /// New CURVE connections completed per second by one server (one process).
    CurveHandshakes,
}

/// Where the two sides meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Transport {
    Tcp,
    Ipc,
    Inproc,
    /// tcp with CURVE (the binding side is the server), fixed benchmark keys.
    TcpCurve,
}

impl Job {
    /// The worker's command-line arguments after `worker`.
    pub(crate) fn to_args(&self) -> Vec<String> {
        let name = |v: &dyn Fn() -> Option<clap::builder::PossibleValue>| {
            v().map(|p| p.get_name().to_owned()).unwrap_or_default()
        };
        let mut args = vec![
            "--lib".to_owned(),
            name(&|| self.lib.to_possible_value()),
            "--role".to_owned(),
            name(&|| self.role.to_possible_value()),
            "--transport".to_owned(),
            name(&|| self.transport.to_possible_value()),
            "--size".to_owned(),
            self.size.to_string(),
            "--count".to_owned(),
            self.count.to_string(),
            "--threads".to_owned(),
            self.threads.to_string(),
            "--clients".to_owned(),
            self.clients.to_string(),
        ];
        if let Some(ep) = &self.endpoint {
            args.extend(["--endpoint".to_owned(), ep.clone()]);
        }
        args
    }

    /// The endpoint a binding role binds to, in the syntax ZeroMQ libraries share.
    pub(crate) fn bind_endpoint(&self) -> Result<String> {
        match self.transport {
            Transport::Tcp | Transport::TcpCurve => Ok("tcp://127.0.0.1:0".to_owned()),
            Transport::Ipc => self.endpoint.clone().context("ipc needs --endpoint"),
            Transport::Inproc => Ok(format!("inproc://bench-{}", std::process::id())),
        }
    }

    /// The endpoint a connecting role connects to.
    pub(crate) fn connect_endpoint(&self) -> Result<&str> {
        self.endpoint
            .as_deref()
            .context("this role needs --endpoint")
    }

    /// Messages each of `threads` senders sends.
    pub(crate) fn per_thread(&self) -> u64 {
        self.count / self.threads.max(1) as u64
    }
}

/// The process's CPU time when its measured work started.
static WORK_STARTED: CpuMark = CpuMark::new();

/// A CPU time taken once: the first [`CpuMark::mark`] wins, later ones are ignored (several
/// sending threads, or a sender and a receiver thread, each mark their start).
#[derive(Debug)]
pub(crate) struct CpuMark(OnceLock<Duration>);

impl CpuMark {
    pub(crate) const fn new() -> CpuMark {
        CpuMark(OnceLock::new())
    }

    pub(crate) fn mark(&self, now: Duration) {
        let _ = self.0.set(now);
    }

    /// The CPU time from the mark to `now`, if marked.
    pub(crate) fn since(&self, now: Duration) -> Option<Duration> {
        self.0.get().map(|&start| now.saturating_sub(start))
    }
}

/// This process's CPU time so far: user + system time of all its threads, living and exited
/// (`CLOCK_PROCESS_CPUTIME_ID`, nanosecond resolution).
pub(crate) fn process_cpu() -> Duration {
    use rustix::time::{clock_gettime, ClockId};
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Marks the start of this process's measured work (the first call counts): the result line
/// then carries the CPU time spent from here to the end, as `cpu_ns`.
pub(crate) fn work_starts() {
    WORK_STARTED.mark(process_cpu());
}

/// Runs a job in this process and prints its result line.
pub(crate) fn run(job: &Job) -> Result<()> {
    if matches!(job.role, Role::RouterHold | Role::ConnectMany) {
        // Room for the connections plus the process's own files.
        ensure_open_files(job.count + 256)?;
    }
    let result = match (job.role, job.lib) {
        // The C worker, in this process's place.
        (_, Lib::LibzmqSodium) => crate::libs::libzmq_sodium::exec(job),
        // Only ferrozmq's and the C worker set CURVE up (see scenario::not_applicable).
        _ if job.transport == Transport::TcpCurve && job.lib != Lib::Ferrozmq => {
            Err(unsupported(job))
        }
        (Role::EchoClients, _) => crate::echo::clients(job),
        (Role::EchoServer, Lib::Ferrozmq) => crate::libs::ferro::stream_echo(job),
        (Role::EchoServer, Lib::Libzmq) => crate::libs::libzmq::stream_echo(job),
        (Role::EchoServer, Lib::Raw) => crate::echo::mio_server(job),
        (Role::EchoServer, Lib::RawTokio) => crate::echo::tokio_server(job),
        (Role::EchoServer, _) | (_, Lib::RawTokio) => Err(unsupported(job)),
        (_, Lib::Ferrozmq) => crate::libs::ferro::run(job),
        (_, Lib::Libzmq) => crate::libs::libzmq::run(job),
        (_, Lib::Zeromq) => crate::libs::zeromq_rs::run(job),
        (_, Lib::Rzmq) => crate::libs::rzmq_rs::run(job),
        (_, Lib::Raw) => crate::libs::raw::run(job),
    }?;
    let result = match WORK_STARTED.since(process_cpu()) {
        Some(cpu) => result.number("cpu_ns", cpu.as_nanos() as f64),
        None => result,
    };
    say(&result);
    Ok(())
}

/// Prints one line for the orchestrator.
pub(crate) fn say(line: &Line) {
    let mut out = io::stdout().lock();
    // The orchestrator reads line by line; a failed write means it is gone, and the worker's
    // exit status tells it nothing more, so errors are ignored.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Tells the orchestrator where this worker listens.
pub(crate) fn announce(endpoint: &str) {
    say(&Line::new().text("endpoint", endpoint));
}

/// Blocks until the orchestrator sends a line (`Ok(true)`) or closes stdin (`Ok(false)`).
pub(crate) fn wait_for_orchestrator() -> Result<bool> {
    let mut line = String::new();
    let n = io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading stdin")?;
    Ok(n > 0)
}

/// A thread that sets the returned flag when the orchestrator says go (a line on stdin).
pub(crate) fn go_signal() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let go = std::sync::Arc::new(AtomicBool::new(false));
    let flag = go.clone();
    std::thread::spawn(move || {
        let _ = wait_for_orchestrator();
        flag.store(true, Ordering::Release);
    });
    go
}

/// The result of a throughput test: `timed` messages of `size` bytes received in `elapsed`.
/// Receivers start the clock at the first message, so of `count` messages `count - 1` are
/// timed.
pub(crate) fn throughput(size: usize, timed: u64, elapsed: Duration) -> Line {
    let rate = timed as f64 / elapsed.as_secs_f64().max(1e-9);
    Line::new()
        .number("msgs_per_sec", rate.round())
        .number("mb_per_sec", (rate * size as f64 / 1e4).round() / 100.0)
}

/// The result of a latency test from the round trips measured.
pub(crate) fn latency(mut round_trips: Vec<Duration>) -> Line {
    round_trips.sort_unstable();
    let us = |d: Duration| (d.as_secs_f64() * 1e6 / 2.0 * 1000.0).round() / 1000.0;
    let n = round_trips.len().max(1);
    let total: Duration = round_trips.iter().sum();
    let pct = |p: usize| {
        round_trips
            .get((p * n).div_ceil(100).clamp(1, n) - 1)
            .copied()
    };
    Line::new()
        .number("mean_us", us(total / u32::try_from(n).unwrap_or(u32::MAX)))
        .number("p50_us", us(pct(50).unwrap_or_default()))
        .number("p99_us", us(pct(99).unwrap_or_default()))
}

/// Resident memory of this process, from `/proc/self/status` (Linux).
pub(crate) fn rss_bytes() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .context("no VmRSS in /proc/self/status")?;
    Ok(kb * 1024)
}

/// Raises the open-file limit to fit `needed` descriptors, or says why it cannot.
pub(crate) fn ensure_open_files(needed: u64) -> Result<()> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current.is_some_and(|c| c >= needed) || limit.current.is_none() {
        return Ok(());
    }
    if limit.maximum.is_some_and(|m| m < needed) {
        bail!(
            "needs {needed} open files but RLIMIT_NOFILE's hard limit is {:?}",
            limit.maximum
        );
    }
    limit.current = Some(needed);
    setrlimit(Resource::Nofile, limit).context("raising RLIMIT_NOFILE")?;
    Ok(())
}

/// A router-hold's result, measured around the wait for its peers.
pub(crate) fn hold_connections(connections: u64) -> Result<Line> {
    let before = rss_bytes()?;
    if !wait_for_orchestrator()? {
        bail!("the orchestrator left before the connections were made");
    }
    let after = rss_bytes()?;
    // Every peer must still be connected, or the figure would flatter the library.
    let open = std::fs::read_dir("/proc/self/fd")
        .context("/proc/self/fd")?
        .count() as u64;
    if open < connections {
        bail!("the ROUTER holds {open} descriptors, fewer than the {connections} peers");
    }
    let per = after.saturating_sub(before) as f64 / connections.max(1) as f64;
    Ok(Line::new()
        .number("rss_before", before as f64)
        .number("rss_after", after as f64)
        .number("open_fds", open as f64)
        .number("bytes_per_conn", per.round()))
}

/// A blocking socket, as the measuring loops need it.
pub(crate) trait Blocking {
    /// Sends one message of `size` bytes, built anew for this send.
    fn send_new(&mut self, size: usize) -> Result<()>;
    /// Receives one message and returns its size in bytes.
    fn recv_len(&mut self) -> Result<usize>;
    /// Receives one message and sends it back.
    fn echo(&mut self) -> Result<()>;
}

/// Receiving side of a throughput test.
pub(crate) fn recv_blocking(s: &mut impl Blocking, size: usize, count: u64) -> Result<Line> {
    work_starts();
    check(s.recv_len()?, size)?;
    let start = Instant::now();
    for _ in 1..count {
        s.recv_len()?;
    }
    Ok(throughput(size, count - 1, start.elapsed()))
}

/// Sending side of a throughput test.
pub(crate) fn send_blocking(s: &mut impl Blocking, size: usize, count: u64) -> Result<()> {
    work_starts();
    for _ in 0..count {
        s.send_new(size)?;
    }
    Ok(())
}

/// Echoing side of a latency test.
pub(crate) fn echo_blocking(s: &mut impl Blocking, round_trips: u64) -> Result<Line> {
    for i in 0..WARM_UP + round_trips {
        if i == WARM_UP {
            work_starts();
        }
        s.echo()?;
    }
    Ok(Line::new().number("round_trips", round_trips as f64))
}

/// Timing side of a latency test.
pub(crate) fn ping_blocking(s: &mut impl Blocking, size: usize, round_trips: u64) -> Result<Line> {
    let mut rtts = Vec::with_capacity(usize::try_from(round_trips).unwrap_or(0));
    for i in 0..WARM_UP + round_trips {
        if i == WARM_UP {
            work_starts();
        }
        let start = Instant::now();
        s.send_new(size)?;
        let n = s.recv_len()?;
        let rtt = start.elapsed();
        check(n, size)?;
        if i >= WARM_UP {
            rtts.push(rtt);
        }
    }
    Ok(latency(rtts))
}

/// Publishing side: empty hellos until the orchestrator says go, then `count` messages.
pub(crate) fn publish_blocking(s: &mut impl Blocking, size: usize, count: u64) -> Result<()> {
    use std::sync::atomic::Ordering;
    let go = go_signal();
    while !go.load(Ordering::Acquire) {
        s.send_new(0)?;
        std::thread::sleep(HELLO_EVERY);
    }
    send_blocking(s, size, count)
}

/// Subscribing side: says ready at the first hello, then times `count` messages.
pub(crate) fn subscribe_blocking(s: &mut impl Blocking, size: usize, count: u64) -> Result<Line> {
    let mut ready = false;
    loop {
        let n = s.recv_len()?;
        if n == size {
            break;
        }
        if !ready {
            say(&Line::new().number("ready", 1.0));
            ready = true;
        }
    }
    work_starts();
    let start = Instant::now();
    for _ in 1..count {
        s.recv_len()?;
    }
    Ok(throughput(size, count - 1, start.elapsed()))
}

/// The sending half of an `async` socket, as the measuring loops need it.
pub(crate) trait AsyncSend {
    /// Sends one message of `size` bytes, built anew for this send.
    async fn send_new(&mut self, size: usize) -> Result<()>;
}

/// The receiving half of an `async` socket.
pub(crate) trait AsyncRecv {
    /// Receives one message and returns its size in bytes.
    async fn recv_len(&mut self) -> Result<usize>;
}

/// An `async` socket that receives and replies (REP).
pub(crate) trait AsyncEcho {
    /// Receives one message and sends it back.
    async fn echo(&mut self) -> Result<()>;
}

/// Receiving side of a throughput test.
pub(crate) async fn recv_async(s: &mut impl AsyncRecv, size: usize, count: u64) -> Result<Line> {
    work_starts();
    check(s.recv_len().await?, size)?;
    let start = Instant::now();
    for _ in 1..count {
        s.recv_len().await?;
    }
    Ok(throughput(size, count - 1, start.elapsed()))
}

/// Sending side of a throughput test.
pub(crate) async fn send_async(s: &mut impl AsyncSend, size: usize, count: u64) -> Result<()> {
    work_starts();
    for _ in 0..count {
        s.send_new(size).await?;
    }
    Ok(())
}

/// Echoing side of a latency test.
pub(crate) async fn echo_async(s: &mut impl AsyncEcho, round_trips: u64) -> Result<Line> {
    for i in 0..WARM_UP + round_trips {
        if i == WARM_UP {
            work_starts();
        }
        s.echo().await?;
    }
    Ok(Line::new().number("round_trips", round_trips as f64))
}

/// Timing side of a latency test.
pub(crate) async fn ping_async<S: AsyncSend + AsyncRecv>(
    s: &mut S,
    size: usize,
    round_trips: u64,
) -> Result<Line> {
    let mut rtts = Vec::with_capacity(usize::try_from(round_trips).unwrap_or(0));
    for i in 0..WARM_UP + round_trips {
        if i == WARM_UP {
            work_starts();
        }
        let start = Instant::now();
        s.send_new(size).await?;
        let n = s.recv_len().await?;
        let rtt = start.elapsed();
        check(n, size)?;
        if i >= WARM_UP {
            rtts.push(rtt);
        }
    }
    Ok(latency(rtts))
}

/// Publishing side: empty hellos until the orchestrator says go, then `count` messages.
pub(crate) async fn publish_async(s: &mut impl AsyncSend, size: usize, count: u64) -> Result<()> {
    use std::sync::atomic::Ordering;
    let go = go_signal();
    while !go.load(Ordering::Acquire) {
        s.send_new(0).await?;
        tokio::time::sleep(HELLO_EVERY).await;
    }
    send_async(s, size, count).await
}

/// Subscribing side: says ready at the first hello, then times `count` messages.
pub(crate) async fn subscribe_async(
    s: &mut impl AsyncRecv,
    size: usize,
    count: u64,
) -> Result<Line> {
    let mut ready = false;
    loop {
        let n = s.recv_len().await?;
        if n == size {
            break;
        }
        if !ready {
            say(&Line::new().number("ready", 1.0));
            ready = true;
        }
    }
    work_starts();
    let start = Instant::now();
    for _ in 1..count {
        s.recv_len().await?;
    }
    Ok(throughput(size, count - 1, start.elapsed()))
}

/// A multi-threaded tokio runtime, as `#[tokio::main]` builds it, for the `async` libraries.
pub(crate) fn tokio_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio")
}

fn check(got: usize, size: usize) -> Result<()> {
    if got != size {
        bail!("received a message of {got} bytes, expected {size}");
    }
    Ok(())
}

/// The error of a role a library cannot play; the orchestrator shows the cell as n/a.
pub(crate) fn unsupported(job: &Job) -> anyhow::Error {
    anyhow::anyhow!(
        "not supported: {:?} cannot play {:?} over {:?}",
        job.lib,
        job.role,
        job.transport
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_half_the_round_trip_with_nearest_rank_percentiles() {
        let rtts: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let line = latency(rtts);
        assert_eq!(line.get_number("p50_us"), Some(25.0));
        assert_eq!(line.get_number("p99_us"), Some(49.5));
        assert_eq!(line.get_number("mean_us"), Some(25.25));
    }

    #[test]
    fn throughput_in_messages_and_megabytes_per_second() {
        let line = throughput(1000, 1000, Duration::from_secs(2));
        assert_eq!(line.get_number("msgs_per_sec"), Some(500.0));
        assert_eq!(line.get_number("mb_per_sec"), Some(0.5));
    }

    #[test]
    fn cpu_mark_takes_the_first_start_and_counts_this_process() {
        let mark = CpuMark::new();
        assert_eq!(mark.since(process_cpu()), None);
        let start = process_cpu();
        mark.mark(start);
        mark.mark(start + Duration::from_secs(1));
        // Spin: the process clock moves while this thread runs (a sleep would not move it).
        let wall = Instant::now();
        let mut x = 0u64;
        while process_cpu() < start + Duration::from_millis(5) {
            assert!(
                wall.elapsed() < Duration::from_secs(10),
                "the CPU clock stands still"
            );
            x = std::hint::black_box(x.wrapping_add(1));
        }
        // Measured from the first mark: the second, a second later, would give zero.
        let spent = mark.since(process_cpu()).unwrap();
        assert!(spent >= Duration::from_millis(5), "{spent:?}");
        assert!(spent < Duration::from_secs(1), "{spent:?}");
    }

    #[test]
    fn job_arguments_round_trip() {
        use clap::Parser;
        #[derive(Parser)]
        struct P {
            #[command(flatten)]
            job: Job,
        }
        let job = Job {
            lib: Lib::Rzmq,
            role: Role::ThrSend,
            transport: Transport::Ipc,
            endpoint: Some("ipc:///tmp/x".into()),
            size: 16,
            count: 10,
            threads: 4,
            clients: 3,
        };
        let mut args = vec!["w".to_owned()];
        args.extend(job.to_args());
        let back = P::parse_from(args).job;
        assert_eq!(format!("{back:?}"), format!("{job:?}"));
    }
}
