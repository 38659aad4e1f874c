//! Idle costs nothing: an idle socket, a blocked receive and a parked reactor use no CPU (the
//! issue "The fast path": "a process blocked in `recv` for a second uses well under 10 ms of
//! CPU"), so speed never comes from busy-polling. Each test opens a tcp connection, lets one
//! message through, then blocks for a second on a silent connection and measures the CPU time
//! of the whole process meanwhile, every thread counted (the test's, the reactor's, the test
//! harness's), with every other test of the binary held off ([`crate::measure_memory`]).
//!
//! The process's CPU time is read from /proc, as the suite has no `unsafe` and no CPU clock
//! wrapper: per thread from `/proc/self/task/*/schedstat` (nanoseconds on a CPU, for the
//! threads alive at the end), and for the whole process, exited threads included, from
//! `/proc/self/stat` (utime + stime, in clock ticks of 10 ms): the precise figure is held to
//! the budget, the coarse one to the budget plus the two ticks its rounding can add.

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, Interest, Poller, RecvError, Socket, SocketOption, SocketType};

use crate::measure_memory;
use crate::support::{text, T};

/// How long each test blocks.
const IDLE: Duration = Duration::from_secs(1);

/// The most CPU time the process may use while blocked for [`IDLE`]: "well under 10 ms".
const BUDGET: Duration = Duration::from_millis(10);

/// Pause after the first message, so connection set-up and that message's work (buffers
/// freed at the next `WouldBlock`, timers armed) are over before the measurement starts.
const SETTLE: Duration = Duration::from_millis(200);

/// A `recv` blocked for a second on a PULL whose PUSH is connected but silent (no
/// heartbeats): no thread of the process may wake up meanwhile.
#[test]
fn blocked_recv_on_a_silent_connection_uses_no_cpu() {
    let _alone = measure_memory();
    let ctx = Context::new();
    let (pull, _push) = silent_pair(&ctx, None);
    let spent = cpu_while(|| {
        assert!(matches!(
            pull.recv_timeout(Some(IDLE)),
            Err(RecvError::Timeout)
        ));
    });
    spent.check("blocked recv, no heartbeats");
}

/// The same second spent in [`Poller::wait`] for the PULL to become readable.
#[test]
fn poller_wait_on_a_silent_connection_uses_no_cpu() {
    let _alone = measure_memory();
    let ctx = Context::new();
    let (pull, _push) = silent_pair(&ctx, None);
    let mut poller = Poller::new().unwrap();
    poller.add(&pull, Interest::READABLE);
    let mut events = Vec::new();
    let spent = cpu_while(|| {
        assert_eq!(poller.wait(&mut events, Some(IDLE)).unwrap(), 0);
    });
    spent.check("poller wait, no heartbeats");
}

/// With HEARTBEAT_IVL 100 ms on both ends the connection is not silent: each side sends a
/// PING and answers one with a PONG ten times a second, so the reactor wakes about 40 times
/// in the second. That costs little: within the same budget.
#[test]
fn heartbeating_connection_costs_little_cpu() {
    let _alone = measure_memory();
    let ctx = Context::new();
    let (pull, _push) = silent_pair(&ctx, Some(Duration::from_millis(100)));
    let spent = cpu_while(|| {
        assert!(matches!(
            pull.recv_timeout(Some(IDLE)),
            Err(RecvError::Timeout)
        ));
    });
    spent.check("blocked recv, heartbeats every 100 ms");
}

/// A PULL bound on tcp and a PUSH connected to it, both with HEARTBEAT_IVL `heartbeat`, once
/// one message has gone through and the connection has settled.
fn silent_pair(ctx: &Context, heartbeat: Option<Duration>) -> (Socket, Socket) {
    let pull = ctx.socket(SocketType::Pull);
    let push = ctx.socket(SocketType::Push);
    for socket in [&pull, &push] {
        socket
            .set_option(SocketOption::HeartbeatIvl(heartbeat))
            .unwrap();
    }
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    push.connect(&ep).unwrap();
    push.send_timeout("hello", T).unwrap();
    assert_eq!(text(&pull.recv_timeout(T).unwrap()), "hello");
    thread::sleep(SETTLE);
    (pull, push)
}

/// The CPU time the process spent while `block` ran, which must take at least [`IDLE`].
/// This thread's own time is read just around `block`, so reading /proc for the others is not
/// counted.
fn cpu_while(block: impl FnOnce()) -> Spent {
    let me = thread_id();
    let others_before = threads_on_cpu();
    let ticks_before = process_ticks();
    let own_before = on_cpu(me);
    let started = Instant::now();
    block();
    let wall = started.elapsed();
    let own_after = on_cpu(me);
    let others_after = threads_on_cpu();
    let ticks_after = process_ticks();
    // The wait really blocked for the second (a time-out is not cut short).
    assert!(wall >= IDLE, "the wait returned after {wall:?}");
    let others: Vec<OnCpu> = others_after
        .iter()
        .filter(|(&tid, _)| tid != me)
        .map(|(tid, now)| now.since(others_before.get(tid).copied()))
        .collect();
    let tick = Duration::from_nanos(1_000_000_000 / rustix::param::clock_ticks_per_second());
    Spent {
        own: Duration::from_nanos(own_after.since(Some(own_before)).ns),
        own_wake_ups: own_after.since(Some(own_before)).runs,
        others: Duration::from_nanos(others.iter().map(|t| t.ns).sum()),
        wake_ups: others.iter().map(|t| t.runs).sum(),
        threads: others_after.len(),
        exited: others_before
            .keys()
            .filter(|tid| !others_after.contains_key(tid))
            .count(),
        process: tick * u32::try_from(ticks_after.saturating_sub(ticks_before)).unwrap(),
        tick,
    }
}

/// This thread's id, from the /proc/thread-self link (`<pid>/task/<tid>`).
fn thread_id() -> u64 {
    std::fs::read_link("/proc/thread-self")
        .expect("read /proc/thread-self")
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .expect("/proc/thread-self names the thread")
}

/// What a thread's schedstat says: nanoseconds on a CPU, and how many times it was put on one.
#[derive(Debug, Clone, Copy)]
struct OnCpu {
    ns: u64,
    runs: u64,
}

impl OnCpu {
    fn since(self, earlier: Option<OnCpu>) -> OnCpu {
        let earlier = earlier.unwrap_or(OnCpu { ns: 0, runs: 0 });
        OnCpu {
            ns: self.ns.saturating_sub(earlier.ns),
            runs: self.runs.saturating_sub(earlier.runs),
        }
    }
}

/// One thread of this process from its schedstat (time on a CPU in ns, time waiting for one,
/// times run), or `None` once it has exited.
fn try_on_cpu(tid: u64) -> Option<OnCpu> {
    let schedstat = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let fields: Vec<u64> = schedstat
        .split_whitespace()
        .map(|f| f.parse().expect("schedstat holds numbers"))
        .collect();
    Some(OnCpu {
        ns: fields[0],
        runs: fields[2],
    })
}

fn on_cpu(tid: u64) -> OnCpu {
    try_on_cpu(tid).expect("this thread's schedstat")
}

/// Every thread alive, by thread id. A thread that exits between the listing and the read is
/// left out: its time is still in [`process_ticks`].
fn threads_on_cpu() -> BTreeMap<u64, OnCpu> {
    std::fs::read_dir("/proc/self/task")
        .expect("read /proc/self/task")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(|tid| Some((tid, try_on_cpu(tid)?)))
        .collect()
}

/// utime + stime of the whole process, exited threads included, in clock ticks
/// (`/proc/self/stat` fields 14 and 15, counted from the state, field 3, which follows the
/// command name in parentheses, a name that may hold spaces; proc(5)).
fn process_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    let after_comm = &stat[stat.rfind(')').expect("stat has (comm)") + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let field = |n: usize| -> u64 { fields[n - 3].parse().expect("a tick count") };
    field(14) + field(15)
}

/// CPU time spent while a test blocked.
struct Spent {
    /// By the test's thread around its blocking call, to the nanosecond.
    own: Duration,
    /// How many times the test's thread was put on a CPU meanwhile (once, at the time-out,
    /// unless something wakes it for nothing).
    own_wake_ups: u64,
    /// By every other thread alive at the end (the reactor, the harness), to the nanosecond.
    others: Duration,
    /// How many times those other threads were put on a CPU.
    wake_ups: u64,
    threads: usize,
    /// Threads alive at the start and gone at the end: their time is only in `process`.
    exited: usize,
    /// By the whole process, in whole clock ticks.
    process: Duration,
    tick: Duration,
}

impl Spent {
    /// Prints the figures and holds them to the budget.
    fn check(&self, what: &str) {
        let threads = self.own + self.others;
        eprintln!(
            "idle, {what}: {:.3} ms of CPU in {IDLE:?} (this thread {:.3} ms in {} wake-ups, \
             the other {} threads {:.3} ms in {} wake-ups, {} exited); whole process {:?} in \
             clock ticks",
            threads.as_secs_f64() * 1e3,
            self.own.as_secs_f64() * 1e3,
            self.own_wake_ups,
            self.threads - 1,
            self.others.as_secs_f64() * 1e3,
            self.wake_ups,
            self.exited,
            self.process,
        );
        assert!(
            threads < BUDGET,
            "{what}: the threads used {threads:?} of CPU in {IDLE:?}"
        );
        // utime and stime are each rounded down to a tick, so two ticks can appear for any
        // small amount of work; a thread spinning for the second would show a hundred.
        assert!(
            self.process <= BUDGET + 2 * self.tick,
            "{what}: the process used {:?} of CPU in {IDLE:?}",
            self.process
        );
    }
}
