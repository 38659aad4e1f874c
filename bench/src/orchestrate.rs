//! The orchestrator: runs every (scenario, library) cell as separate worker processes (this
//! same binary, `worker ...`; for `libzmq+sodium`, its C worker with the same arguments),
//! interleaved round by round (A B C D, A B C D, ...), and collects each run's figures. A run
//! that hangs is killed at a deadline and counted as failed; a worker that answers "not
//! supported" makes its cell n/a with that reason.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};

use crate::json::Line;
use crate::scenario::{Kind, Scenario};
use crate::worker::{Job, Lib, Role, Transport};

/// Longest a single run may take, from its first process to its last exit.
const RUN_DEADLINE: Duration = Duration::from_secs(45);
/// Pause after the memory test's peers are connected, for the ROUTER to finish their
/// handshakes (the peers only know theirs is done).
const SETTLE: Duration = Duration::from_millis(500);

/// What the runs of one cell gave.
#[derive(Debug, Default, Clone)]
pub(crate) struct Cell {
    /// One result line per successful run.
    pub(crate) runs: Vec<Line>,
    /// Why the library cannot run the scenario, if it cannot.
    pub(crate) not_applicable: Option<String>,
    /// Errors of failed runs.
    pub(crate) failures: Vec<String>,
}

/// All cells, by scenario id and library.
pub(crate) type Results = BTreeMap<(&'static str, Lib), Cell>;

/// Runs `rounds` rounds of every scenario for every library, printing progress on stderr.
pub(crate) fn run_all(scenarios: &[Scenario], libs: &[Lib], rounds: usize) -> Results {
    let mut results = Results::new();
    for s in scenarios {
        for &lib in libs {
            let cell = results.entry((s.id, lib)).or_default();
            cell.not_applicable = s.not_applicable(lib).map(str::to_owned);
        }
    }
    for round in 1..=rounds {
        for s in scenarios {
            for &lib in libs {
                let Some(cell) = results.get_mut(&(s.id, lib)) else {
                    continue;
                };
                if cell.not_applicable.is_some() {
                    continue;
                }
                eprint!(
                    "[round {round}/{rounds}] {:<34} {:<13} ",
                    s.title,
                    lib_name(lib)
                );
                let started = Instant::now();
                match run_cell(s, lib) {
                    Ok(line) => {
                        eprintln!("{line}  ({:.1} s)", started.elapsed().as_secs_f64());
                        cell.runs.push(line);
                    }
                    Err(e) => {
                        let e = format!("{e:#}");
                        eprintln!("failed: {e}");
                        if let Some(i) = e.find("not supported") {
                            cell.not_applicable = Some(e[i..].to_owned());
                        } else {
                            cell.failures.push(e);
                        }
                    }
                }
            }
        }
    }
    results
}

/// The name used in tables and worker arguments.
pub(crate) fn lib_name(lib: Lib) -> &'static str {
    match lib {
        Lib::Ferrozmq => "ferrozmq",
        Lib::Libzmq => "libzmq",
        Lib::LibzmqSodium => "libzmq+sodium",
        Lib::Zeromq => "zeromq",
        Lib::Rzmq => "rzmq",
        Lib::Raw => "raw",
        Lib::RawTokio => "raw-tokio",
    }
}

/// What one run gave: the line with its figures, and every process's own last line.
struct Run {
    figures: Line,
    processes: Vec<Line>,
}

impl Run {
    /// A run whose figures are in the last line of one of its processes.
    fn of(figures: Line, others: Vec<Line>) -> Run {
        let mut processes = vec![figures.clone()];
        processes.extend(others);
        Run { figures, processes }
    }
}

/// One run of one cell: its figures, with the CPU time of all its processes per message.
fn run_cell(s: &Scenario, lib: Lib) -> Result<Line> {
    let run = run_processes(s, lib)?;
    Ok(with_cpu(s, lib, run.figures, &run.processes))
}

/// The figures of a run with its CPU figure added: the `cpu_ns` every process reported (the
/// CPU time of its measured work), summed as `run_cpu_ns`, and divided as the scenario says.
/// Unchanged if a process did not report one.
fn with_cpu(s: &Scenario, lib: Lib, figures: Line, processes: &[Line]) -> Line {
    let total = processes
        .iter()
        .map(|line| line.get_number("cpu_ns"))
        .sum::<Option<f64>>()
        .filter(|_| !processes.is_empty());
    match total.and_then(|ns| Some((ns, s.cpu_figure(lib, ns)?))) {
        Some((ns, (key, value))) => figures.number("run_cpu_ns", ns).number(key, value),
        None => figures,
    }
}

/// Starts the processes of one run, waits for them, and collects what they said.
fn run_processes(s: &Scenario, lib: Lib) -> Result<Run> {
    let deadline = Instant::now() + RUN_DEADLINE;
    let job = |role, transport, size| Job {
        lib,
        role,
        transport,
        endpoint: None,
        size,
        count: s.count_for(lib),
        threads: 1,
        clients: 1,
    };
    match s.kind {
        Kind::Thr {
            transport: transport @ Transport::Inproc,
            size,
        }
        | Kind::OneProcess { transport, size } => {
            let line =
                Worker::start(&job(Role::ThrOneProcess, transport, size))?.result(deadline)?;
            Ok(Run::of(line, Vec::new()))
        }
        Kind::Thr { transport, size } => pair(
            job(Role::ThrRecv, transport, size),
            job(Role::ThrSend, transport, size),
            deadline,
        ),
        Kind::SharedPush { threads, size } => {
            let send = Job {
                threads,
                ..job(Role::ThrSend, Transport::Tcp, size)
            };
            pair(job(Role::ThrRecv, Transport::Tcp, size), send, deadline)
        }
        Kind::Lat { transport, size } => {
            let endpoint = Ipc::for_transport(transport);
            let mut echo = Worker::start(&Job {
                endpoint: endpoint.address(),
                ..job(Role::LatEcho, transport, size)
            })?;
            let ep = echo.endpoint(deadline)?;
            let ping = Worker::start(&Job {
                endpoint: Some(ep),
                ..job(Role::LatPing, transport, size)
            })?;
            let line = ping.result(deadline)?;
            let echoed = echo.result(deadline)?;
            Ok(Run::of(line, vec![echoed]))
        }
        Kind::PubSub { subscribers, size } => pub_sub(lib, s.count, subscribers, size, deadline),
        Kind::Echo {
            clients,
            depth,
            size,
        } => {
            let mut server = Worker::start(&Job {
                clients,
                ..job(Role::EchoServer, Transport::Tcp, size)
            })?;
            let ep = server.endpoint(deadline)?;
            let load = Worker::start(&Job {
                lib: Lib::Raw,
                endpoint: Some(ep),
                threads: depth,
                clients,
                ..job(Role::EchoClients, Transport::Tcp, size)
            })?;
            let figures = load.result(deadline);
            server.close_stdin();
            let served = server.result(deadline)?;
            // The CPU figure is the server's alone: the clients are the same for every server.
            Ok(Run {
                figures: figures?,
                processes: vec![served],
            })
        }
        Kind::Handshakes => {
            let line = Worker::start(&job(Role::CurveHandshakes, Transport::TcpCurve, 0))?
                .result(deadline)?;
            Ok(Run::of(line, Vec::new()))
        }
        Kind::Rss { connections } => {
            let mut router = Worker::start(&job(Role::RouterHold, Transport::Tcp, 0))?;
            let ep = router.endpoint(deadline)?;
            let mut peers = Worker::start(&Job {
                lib: Lib::Raw,
                endpoint: Some(ep),
                count: connections,
                ..job(Role::ConnectMany, Transport::Tcp, 0)
            })?;
            let connected = peers.line(deadline)?;
            if connected.get_number("connected") != Some(connections as f64) {
                bail!("peers did not all connect: {connected}");
            }
            thread::sleep(SETTLE);
            router.say("measure")?;
            let line = router.result(deadline)?;
            peers.close_stdin();
            let released = peers.result(deadline)?;
            Ok(Run::of(line, vec![released]))
        }
    }
}

/// A receiver that binds and a sender that connects to it; the receiver's result.
fn pair(recv: Job, send: Job, deadline: Instant) -> Result<Run> {
    let endpoint = Ipc::for_transport(recv.transport);
    let mut receiver = Worker::start(&Job {
        endpoint: endpoint.address(),
        ..recv
    })?;
    let ep = receiver.endpoint(deadline)?;
    let mut sender = Worker::start(&Job {
        endpoint: Some(ep),
        ..send
    })?;
    let line = receiver.result(deadline);
    sender.close_stdin();
    let sent = sender.result(deadline);
    Ok(Run::of(line?, vec![sent?]))
}

/// A no-drop publisher and `subscribers` subscribers: the mean of their msg/s.
fn pub_sub(
    lib: Lib,
    count: u64,
    subscribers: usize,
    size: usize,
    deadline: Instant,
) -> Result<Run> {
    let job = |role, endpoint| Job {
        lib,
        role,
        transport: Transport::Tcp,
        endpoint,
        size,
        count,
        threads: 1,
        clients: 1,
    };
    let mut publisher = Worker::start(&job(Role::Pub, None))?;
    let ep = publisher.endpoint(deadline)?;
    let mut subs = (0..subscribers)
        .map(|_| Worker::start(&job(Role::Sub, Some(ep.clone()))))
        .collect::<Result<Vec<_>>>()?;
    for sub in &mut subs {
        let ready = sub.line(deadline)?;
        if ready.get_number("ready").is_none() {
            bail!("subscriber said {ready} instead of ready");
        }
    }
    publisher.say("go")?;
    let mut processes = Vec::new();
    for sub in subs {
        processes.push(sub.result(deadline)?);
    }
    let rates = processes
        .iter()
        .map(|line| line.get_number("msgs_per_sec").context("no msgs_per_sec"))
        .collect::<Result<Vec<f64>>>()?;
    publisher.close_stdin();
    processes.push(publisher.result(deadline)?);
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    let figures = Line::new().number("msgs_per_sec", mean.round()).number(
        "slowest_sub",
        rates.iter().copied().fold(f64::INFINITY, f64::min),
    );
    Ok(Run { figures, processes })
}

/// A running worker process: its result lines arrive through a reader thread.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    name: String,
}

impl Worker {
    fn start(job: &Job) -> Result<Worker> {
        let mut command = match job.lib {
            Lib::LibzmqSodium => crate::libs::libzmq_sodium::command(job)?,
            _ => {
                let exe = std::env::current_exe().context("locating this executable")?;
                let mut command = Command::new(exe);
                command.arg("worker").args(job.to_args());
                command
            }
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting a worker")?;
        let stdout = child.stdout.take().context("worker stdout")?;
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().context("worker stderr")?;
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Ok(Worker {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr: Some(stderr),
            name: format!("{} {:?}", lib_name(job.lib), job.role),
        })
    }

    /// The next line the worker prints, parsed.
    fn line(&mut self, deadline: Instant) -> Result<Line> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Line::parse(&line),
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                bail!("{} timed out after {RUN_DEADLINE:?}", self.name)
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = self.child.wait();
                let stderr = self.stderr_text();
                Err(anyhow!("{}: {}", self.name, stderr.trim()))
            }
        }
    }

    /// The endpoint a binding worker announces first.
    fn endpoint(&mut self, deadline: Instant) -> Result<String> {
        let line = self.line(deadline)?;
        line.get_text("endpoint")
            .map(str::to_owned)
            .with_context(|| format!("{} announced {line} instead of an endpoint", self.name))
    }

    /// Sends a line to the worker's stdin.
    fn say(&mut self, line: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().context("stdin already closed")?;
        writeln!(stdin, "{line}").context("writing to a worker")
    }

    /// Closes the worker's stdin: senders and publishers then exit.
    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The worker's last line, once it exits successfully.
    fn result(mut self, deadline: Instant) -> Result<Line> {
        let line = self.line(deadline)?;
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    let stderr = self.stderr_text();
                    bail!("{} exited with {status}: {}", self.name, stderr.trim());
                }
                return Ok(line);
            }
            if Instant::now() > deadline {
                self.kill();
                bail!("{} did not exit", self.name);
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn stderr_text(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    /// A worker left behind by a failed run must not outlive it.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// An ipc endpoint for one run, its socket file removed afterwards; nothing for other
/// transports.
struct Ipc(Option<PathBuf>);

impl Ipc {
    fn for_transport(transport: Transport) -> Ipc {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        if transport != Transport::Ipc {
            return Ipc(None);
        }
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("ferrozmq-bench-{}-{n}.ipc", std::process::id());
        Ipc(Some(std::env::temp_dir().join(name)))
    }

    fn address(&self) -> Option<String> {
        self.0.as_ref().map(|p| format!("ipc://{}", p.display()))
    }
}

impl Drop for Ipc {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    fn scenario(id: &str) -> Scenario {
        scenario::all().into_iter().find(|s| s.id == id).unwrap()
    }

    #[test]
    fn cpu_of_all_processes_is_summed_and_divided() {
        let receiver = Line::new()
            .number("msgs_per_sec", 1e6)
            .number("cpu_ns", 6e8);
        let sender = Line::new().number("sent", 2e6).number("cpu_ns", 4e8);
        let line = with_cpu(
            &scenario("tcp-16"),
            Lib::Ferrozmq,
            receiver.clone(),
            &[receiver.clone(), sender],
        );
        assert_eq!(line.get_number("msgs_per_sec"), Some(1e6));
        assert_eq!(line.get_number("run_cpu_ns"), Some(1e9));
        // 1 s over 2,000,000 messages.
        assert_eq!(line.get_number("cpu_ns_per_msg"), Some(500.0));
        // A process that did not say: no CPU figure rather than a flattering one.
        let silent = Line::new().number("sent", 2e6);
        let line = with_cpu(
            &scenario("tcp-16"),
            Lib::Ferrozmq,
            receiver.clone(),
            &[receiver.clone(), silent],
        );
        assert_eq!(line.get_number("cpu_ns_per_msg"), None);
        assert_eq!(line, receiver);
        let router = Line::new()
            .number("bytes_per_conn", 2e3)
            .number("cpu_ns", 1.0);
        let line = with_cpu(
            &scenario("rss-5000"),
            Lib::Ferrozmq,
            router.clone(),
            &[router],
        );
        assert_eq!(line.get_number("run_cpu_ns"), None);
    }

    /// The libzmq+sodium column's C worker run as the suite runs it, with small counts: the
    /// tcp+CURVE throughput pair and latency pair, the handshakes, and plain tcp. Every
    /// process's line must parse, with a positive figure and CPU time. No timing thresholds.
    #[test]
    fn libzmq_sodium_worker_runs_through_the_orchestrator() {
        if let Some(why) = crate::libs::libzmq_sodium::missing() {
            // CI installs libzmq3-dev (.ci/run): there, a missing worker is a failure.
            let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!in_ci, "the libzmq+sodium worker must build in CI: {why}");
            eprintln!("SKIP: the libzmq+sodium worker was not built: {why}");
            return;
        }
        let lib = Lib::LibzmqSodium;
        for (id, figure, count) in [
            ("curve-16", "msgs_per_sec", 200),
            ("curve-lat", "p50_us", 200),
            ("curve-hs", "handshakes_per_sec", 20),
            ("tcp-16", "msgs_per_sec", 200),
        ] {
            let s = Scenario {
                count,
                ..scenario(id)
            };
            assert_eq!(s.not_applicable(lib), None, "{id}");
            let run = run_processes(&s, lib).unwrap_or_else(|e| panic!("{id}: {e:#}"));
            let value = run.figures.get_number(figure);
            assert!(value.is_some_and(|v| v > 0.0), "{id}: {}", run.figures);
            for line in &run.processes {
                let cpu = line.get_number("cpu_ns");
                assert!(cpu.is_some_and(|ns| ns > 0.0), "{id}: {line}");
            }
            if s.metrics().iter().any(|m| m.key.starts_with("cpu_")) {
                let line = with_cpu(&s, lib, run.figures, &run.processes);
                assert!(line.get_number("run_cpu_ns").is_some(), "{id}: {line}");
            }
        }
    }
}
