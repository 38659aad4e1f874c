//! The scenarios of the issue, the figures each reports, the targets ferrozmq is held to, and
//! which library cannot run which scenario (and why). Pure data: no processes here.

use crate::libs::libzmq_sodium;
use crate::worker::{Lib, Transport};

/// The libraries in table order; ratios are taken to [`Scenario::reference`].
pub(crate) const LIBS: [Lib; 7] = [
    Lib::Ferrozmq,
    Lib::Libzmq,
    Lib::LibzmqSodium,
    Lib::Zeromq,
    Lib::Rzmq,
    Lib::Raw,
    Lib::RawTokio,
];

/// What a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// PUSH/PULL throughput; sender and receiver in two processes (inproc: two threads).
    Thr { transport: Transport, size: usize },
    /// PUSH/PULL throughput over a socket transport with both ends as two threads of one
    /// process, as `fzmq bench` measures it (ferrozmq and libzmq with two I/O threads).
    OneProcess { transport: Transport, size: usize },
    /// REQ/REP round trips; one-way latency = round trip / 2.
    Lat { transport: Transport, size: usize },
    /// One no-drop PUB to `subscribers` SUBs in their own processes, over tcp.
    PubSub { subscribers: usize, size: usize },
    /// One PUSH socket used by `threads` sending threads, over tcp.
    SharedPush { threads: usize, size: usize },
    /// RSS growth of a ROUTER while `connections` idle tcp peers are connected.
    Rss { connections: u64 },
    /// A raw echo server (STREAM, or the raw mio and tokio servers) and `clients` plain tcp
    /// clients with `depth` messages of `size` bytes in flight each (see `echo.rs`).
    Echo {
        clients: usize,
        depth: usize,
        size: usize,
    },
    /// CURVE handshakes a server completes per second (clients connecting one after another).
    Handshakes,
}

/// One scenario: an id for `--only`, a title, what runs, and its count per run.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    pub(crate) id: &'static str,
    pub(crate) title: &'static str,
    pub(crate) kind: Kind,
    /// Messages, round trips or connections in one run.
    pub(crate) count: u64,
}

/// One figure a scenario reports: a row of the tables and of the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Metric {
    /// The key in the worker's result line.
    pub(crate) key: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) lower_is_better: bool,
}

const MSGS: Metric = Metric {
    key: "msgs_per_sec",
    unit: "msg/s",
    lower_is_better: false,
};
const MB: Metric = Metric {
    key: "mb_per_sec",
    unit: "MB/s",
    lower_is_better: false,
};
const P50: Metric = Metric {
    key: "p50_us",
    unit: "µs p50",
    lower_is_better: true,
};
const P99: Metric = Metric {
    key: "p99_us",
    unit: "µs p99",
    lower_is_better: true,
};
const HANDSHAKES: Metric = Metric {
    key: "handshakes_per_sec",
    unit: "handshakes/s",
    lower_is_better: false,
};
const PER_CONN: Metric = Metric {
    key: "bytes_per_conn",
    unit: "B/conn",
    lower_is_better: true,
};
/// CPU time (user + system) of all the run's processes per message received.
const CPU_MSG: Metric = Metric {
    key: "cpu_ns_per_msg",
    unit: "CPU ns/msg",
    lower_is_better: true,
};
/// Echoes completed per second, over all clients.
const ECHOES: Metric = Metric {
    key: "echoes_per_sec",
    unit: "echoes/s",
    lower_is_better: false,
};
/// The echo round trip's 99th percentile, as the client sees it.
const P99_RT: Metric = Metric {
    key: "p99_rt_us",
    unit: "µs p99 round trip",
    lower_is_better: true,
};
/// CPU time (user + system) of the echo server's process per echo.
const CPU_ECHO: Metric = Metric {
    key: "cpu_ns_per_echo",
    unit: "server CPU ns/echo",
    lower_is_better: true,
};
/// CPU time (user + system) of both processes per round trip.
const CPU_RT: Metric = Metric {
    key: "cpu_us_per_rt",
    unit: "CPU µs/round trip",
    lower_is_better: true,
};

impl Scenario {
    /// The figures shown for this scenario.
    pub(crate) fn metrics(&self) -> &'static [Metric] {
        match self.kind {
            Kind::Thr { size, .. } if size >= 64 * 1024 => &[MB, MSGS, CPU_MSG],
            Kind::Thr { .. }
            | Kind::OneProcess { .. }
            | Kind::PubSub { .. }
            | Kind::SharedPush { .. } => &[MSGS, CPU_MSG],
            Kind::Lat { .. } => &[P50, P99, CPU_RT],
            Kind::Rss { .. } => &[PER_CONN],
            Kind::Echo { .. } => &[ECHOES, P99_RT, CPU_ECHO],
            Kind::Handshakes => &[HANDSHAKES],
        }
    }

    /// The CPU figure of one run of `lib` (its key and value), from `cpu_ns`, the CPU time
    /// all the run's processes spent on their measured work: per message received (PUB/SUB:
    /// per message per subscriber, as the msg/s figure is), or per round trip. None for the
    /// memory test, which moves no messages.
    pub(crate) fn cpu_figure(&self, lib: Lib, cpu_ns: f64) -> Option<(&'static str, f64)> {
        let per = |n: u64| cpu_ns / n.max(1) as f64;
        let (metric, value) = match self.kind {
            Kind::Thr { .. } | Kind::OneProcess { .. } | Kind::SharedPush { .. } => {
                (CPU_MSG, per(self.count_for(lib)))
            }
            Kind::PubSub { subscribers, .. } => {
                (CPU_MSG, per(self.count_for(lib) * subscribers as u64))
            }
            Kind::Lat { .. } => (CPU_RT, per(self.count_for(lib)) / 1000.0),
            // Only the server reports its CPU time (the clients are the same for all).
            Kind::Echo { .. } => (CPU_ECHO, per(self.count_for(lib))),
            Kind::Rss { .. } | Kind::Handshakes => return None,
        };
        // Three significant decimals are more than the runs agree on.
        Some((metric.key, (value * 1000.0).round() / 1000.0))
    }

    /// The count of one run for `lib`. The raw baseline moves more messages (10 times up to
    /// 256 B, 4 times at 4 KiB, twice at 64 KiB): at its speed the scenario's count would be
    /// over in milliseconds, too short to time. Rates do not depend on the count.
    pub(crate) fn count_for(&self, lib: Lib) -> u64 {
        match (self.kind, lib) {
            (Kind::Thr { size, .. }, Lib::Raw) if size >= 64 * 1024 => self.count * 2,
            (Kind::Thr { size, .. }, Lib::Raw) if size >= 4096 => self.count * 4,
            (Kind::Thr { .. } | Kind::OneProcess { .. }, Lib::Raw) => self.count * 10,
            _ => self.count,
        }
    }

    /// Whether this scenario runs CURVE.
    pub(crate) fn is_curve(&self) -> bool {
        matches!(
            self.kind,
            Kind::Thr {
                transport: Transport::TcpCurve,
                ..
            } | Kind::Lat {
                transport: Transport::TcpCurve,
                ..
            } | Kind::Handshakes
        )
    }

    /// The library the ratios of this scenario are taken to: libzmq, or for CURVE, which the
    /// bundled libzmq does not have, the system's libzmq built with libsodium.
    pub(crate) fn reference(&self) -> Lib {
        if self.is_curve() {
            Lib::LibzmqSodium
        } else {
            Lib::Libzmq
        }
    }

    /// Why `lib` cannot run this scenario, if it cannot.
    pub(crate) fn not_applicable(&self, lib: Lib) -> Option<&'static str> {
        if lib == Lib::LibzmqSodium {
            return self.not_for_libzmq_sodium();
        }
        match (self.kind, lib) {
            (Kind::Echo { .. }, Lib::Zeromq | Lib::Rzmq) => {
                Some("no STREAM socket: it cannot talk to raw tcp peers")
            }
            (Kind::Echo { .. }, _) => None,
            (_, Lib::RawTokio) => Some("the tokio server plays only the echo scenario"),
            (
                Kind::Thr {
                    transport: Transport::Inproc,
                    ..
                },
                Lib::Zeromq,
            ) => Some("zeromq has no inproc transport"),
            (
                Kind::Thr {
                    transport: Transport::Inproc,
                    ..
                },
                Lib::Raw,
            ) => Some("inproc is in-process; the raw baseline is a socket"),
            (Kind::PubSub { .. }, Lib::Zeromq) => {
                Some("zeromq's PUB always drops for slow subscribers (no no-drop mode)")
            }
            (Kind::PubSub { .. }, Lib::Raw) => Some("the raw baseline has no fan-out"),
            (Kind::SharedPush { threads, .. }, Lib::Libzmq) if threads > 1 => {
                Some("a libzmq socket must not be shared between threads")
            }
            (Kind::SharedPush { threads, .. }, Lib::Zeromq) if threads > 1 => {
                Some("a zeromq socket needs `&mut` to send, so threads cannot share it")
            }
            (Kind::SharedPush { .. }, Lib::Raw) => Some("no socket to share"),
            (Kind::Rss { .. }, Lib::Raw) => Some("the raw baseline has no ROUTER"),
            // CURVE: the `libzmq` column is the `zmq` crate's bundled build, made without
            // libsodium and so without CURVE (the system's, with it, is `libzmq+sodium`);
            // zeromq has no CURVE.
            _ if self.is_curve() && lib != Lib::Ferrozmq => Some(match lib {
                Lib::Libzmq => {
                    "the zmq crate's bundled libzmq has no CURVE (built without libsodium): \
                     see libzmq+sodium"
                }
                Lib::Zeromq => "zeromq has no CURVE",
                Lib::Rzmq => "rzmq's CURVE is not wired into this benchmark",
                _ => "the raw baseline has no encryption",
            }),
            _ => None,
        }
    }

    /// The system libzmq's C worker plays the tcp and tcp+CURVE throughput and latency
    /// scenarios and the CURVE handshakes (the others are the bundled libzmq's), where
    /// `build.rs` could compile it.
    fn not_for_libzmq_sodium(&self) -> Option<&'static str> {
        let tcp = |t| matches!(t, Transport::Tcp | Transport::TcpCurve);
        let plays = match self.kind {
            Kind::Thr { transport, .. } | Kind::Lat { transport, .. } => tcp(transport),
            Kind::Handshakes => true,
            _ => false,
        };
        if !plays {
            return Some(
                "libzmq+sodium plays only the tcp and tcp+CURVE throughput and latency \
                 scenarios and the CURVE handshakes",
            );
        }
        libzmq_sodium::missing()
    }
}

/// The full suite. Counts are chosen so each run takes about a second (fast libraries) to
/// three (slow ones) on 2 cores, and the whole default run (5 rounds) stays under 10 minutes.
pub(crate) fn all() -> Vec<Scenario> {
    let thr = |id, title, transport, size, count| Scenario {
        id,
        title,
        kind: Kind::Thr { transport, size },
        count,
    };
    let echo = |id, title, clients, depth, size, count| Scenario {
        id,
        title,
        kind: Kind::Echo {
            clients,
            depth,
            size,
        },
        count,
    };
    vec![
        thr(
            "tcp-16",
            "PUSH/PULL tcp 16 B",
            Transport::Tcp,
            16,
            2_000_000,
        ),
        thr(
            "tcp-256",
            "PUSH/PULL tcp 256 B",
            Transport::Tcp,
            256,
            2_000_000,
        ),
        thr(
            "tcp-4k",
            "PUSH/PULL tcp 4 KiB",
            Transport::Tcp,
            4096,
            400_000,
        ),
        thr(
            "tcp-64k",
            "PUSH/PULL tcp 64 KiB",
            Transport::Tcp,
            65536,
            40_000,
        ),
        thr(
            "ipc-16",
            "PUSH/PULL ipc 16 B",
            Transport::Ipc,
            16,
            2_000_000,
        ),
        thr(
            "inproc-16",
            "PUSH/PULL inproc 16 B",
            Transport::Inproc,
            16,
            2_000_000,
        ),
        Scenario {
            id: "tcp-16-1p",
            title: "PUSH/PULL tcp 16 B, one process",
            kind: Kind::OneProcess {
                transport: Transport::Tcp,
                size: 16,
            },
            count: 2_000_000,
        },
        Scenario {
            id: "lat-tcp",
            title: "REQ/REP tcp 16 B",
            kind: Kind::Lat {
                transport: Transport::Tcp,
                size: 16,
            },
            count: 20_000,
        },
        Scenario {
            id: "lat-ipc",
            title: "REQ/REP ipc 16 B",
            kind: Kind::Lat {
                transport: Transport::Ipc,
                size: 16,
            },
            count: 20_000,
        },
        Scenario {
            id: "pubsub-1",
            title: "PUB/SUB no-drop 16 B, 1 sub",
            kind: Kind::PubSub {
                subscribers: 1,
                size: 16,
            },
            count: 1_000_000,
        },
        Scenario {
            id: "pubsub-4",
            title: "PUB/SUB no-drop 16 B, 4 subs",
            kind: Kind::PubSub {
                subscribers: 4,
                size: 16,
            },
            count: 400_000,
        },
        Scenario {
            id: "push-1t",
            title: "PUSH tcp 16 B, 1 thread",
            kind: Kind::SharedPush {
                threads: 1,
                size: 16,
            },
            count: 1_000_000,
        },
        Scenario {
            id: "push-4t",
            title: "PUSH tcp 16 B, 4 threads share it",
            kind: Kind::SharedPush {
                threads: 4,
                size: 16,
            },
            count: 1_000_000,
        },
        thr(
            "curve-16",
            "PUSH/PULL tcp+CURVE 16 B",
            Transport::TcpCurve,
            16,
            1_000_000,
        ),
        thr(
            "curve-1k",
            "PUSH/PULL tcp+CURVE 1 KiB",
            Transport::TcpCurve,
            1024,
            400_000,
        ),
        Scenario {
            id: "curve-lat",
            title: "REQ/REP tcp+CURVE 16 B",
            kind: Kind::Lat {
                transport: Transport::TcpCurve,
                size: 16,
            },
            count: 20_000,
        },
        Scenario {
            id: "curve-hs",
            title: "CURVE handshakes, one server",
            kind: Kind::Handshakes,
            count: 2_000,
        },
        Scenario {
            id: "rss-5000",
            title: "ROUTER, 5,000 idle tcp peers",
            kind: Kind::Rss { connections: 5000 },
            count: 5000,
        },
        echo(
            "echo-1000-64",
            "echo 1,000 tcp clients 64 B",
            1000,
            1,
            64,
            200_000,
        ),
        echo(
            "echo-1000-4k",
            "echo 1,000 tcp clients 4 KiB",
            1000,
            1,
            4096,
            100_000,
        ),
        echo(
            "echo-100p-64",
            "echo 100 tcp clients x16 pipelined 64 B",
            100,
            16,
            64,
            400_000,
        ),
        echo(
            "echo-100p-4k",
            "echo 100 tcp clients x16 pipelined 4 KiB",
            100,
            16,
            4096,
            200_000,
        ),
    ]
}

/// One of the targets: ferrozmq's figure in a scenario divided by another library's
/// (or its own in another scenario), which must be at least or at most `bound`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) text: &'static str,
    pub(crate) scenario: &'static str,
    pub(crate) metric: &'static str,
    /// The denominator: this library in this scenario.
    pub(crate) versus: (Lib, &'static str),
    pub(crate) bound: Bound,
}

/// Which side of the bound the ratio must be on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Bound {
    AtLeast(f64),
    AtMost(f64),
}

impl Bound {
    pub(crate) fn met(self, ratio: f64) -> bool {
        match self {
            Bound::AtLeast(b) => ratio >= b,
            Bound::AtMost(b) => ratio <= b,
        }
    }
}

/// The targets of the issue ("The fast path"), in its order.
pub(crate) fn targets() -> Vec<Target> {
    let versus = |lib| {
        move |text, scenario, metric, bound| Target {
            text,
            scenario,
            metric,
            versus: (lib, scenario),
            bound,
        }
    };
    let vs_libzmq = versus(Lib::Libzmq);
    let vs_libzmq_sodium = versus(Lib::LibzmqSodium);
    let vs_zeromq = |text, scenario, metric| Target {
        text,
        scenario,
        metric,
        versus: (Lib::Zeromq, scenario),
        bound: Bound::AtMost(1.0),
    };
    let vs_raw_mio = |text, scenario| Target {
        text,
        scenario,
        metric: "echoes_per_sec",
        versus: (Lib::Raw, scenario),
        bound: Bound::AtLeast(0.8),
    };
    vec![
        vs_libzmq(
            "tcp 16 B msg/s ≥ 1.5× libzmq",
            "tcp-16",
            "msgs_per_sec",
            Bound::AtLeast(1.5),
        ),
        vs_libzmq(
            "ipc 16 B msg/s ≥ 1.5× libzmq",
            "ipc-16",
            "msgs_per_sec",
            Bound::AtLeast(1.5),
        ),
        vs_libzmq(
            "tcp 256 B msg/s ≥ 1.5× libzmq",
            "tcp-256",
            "msgs_per_sec",
            Bound::AtLeast(1.5),
        ),
        vs_libzmq(
            "tcp 16 B CPU time per message ≤ 0.8× libzmq",
            "tcp-16",
            "cpu_ns_per_msg",
            Bound::AtMost(0.8),
        ),
        vs_libzmq(
            "ipc 16 B CPU time per message ≤ 0.8× libzmq",
            "ipc-16",
            "cpu_ns_per_msg",
            Bound::AtMost(0.8),
        ),
        vs_libzmq(
            "tcp 256 B CPU time per message ≤ 0.8× libzmq",
            "tcp-256",
            "cpu_ns_per_msg",
            Bound::AtMost(0.8),
        ),
        vs_libzmq(
            "inproc 16 B msg/s ≥ 2× libzmq",
            "inproc-16",
            "msgs_per_sec",
            Bound::AtLeast(2.0),
        ),
        vs_libzmq(
            "PUB/SUB no-drop 16 B, 4 subs: msg/s per sub ≥ 1.5× libzmq",
            "pubsub-4",
            "msgs_per_sec",
            Bound::AtLeast(1.5),
        ),
        vs_libzmq(
            "REQ/REP tcp 16 B one-way p50 ≤ 0.7× libzmq",
            "lat-tcp",
            "p50_us",
            Bound::AtMost(0.7),
        ),
        vs_zeromq(
            "REQ/REP tcp 16 B one-way p50 no worse than zeromq (≤ 1× zeromq)",
            "lat-tcp",
            "p50_us",
        ),
        vs_libzmq(
            "REQ/REP tcp 16 B one-way p99 ≤ 0.7× libzmq",
            "lat-tcp",
            "p99_us",
            Bound::AtMost(0.7),
        ),
        vs_zeromq(
            "REQ/REP tcp 16 B one-way p99 no worse than zeromq (≤ 1× zeromq)",
            "lat-tcp",
            "p99_us",
        ),
        vs_libzmq(
            "REQ/REP ipc 16 B one-way p50 ≤ 0.7× libzmq",
            "lat-ipc",
            "p50_us",
            Bound::AtMost(0.7),
        ),
        vs_zeromq(
            "REQ/REP ipc 16 B one-way p50 no worse than zeromq (≤ 1× zeromq)",
            "lat-ipc",
            "p50_us",
        ),
        vs_libzmq(
            "REQ/REP ipc 16 B one-way p99 ≤ 0.7× libzmq",
            "lat-ipc",
            "p99_us",
            Bound::AtMost(0.7),
        ),
        vs_zeromq(
            "REQ/REP ipc 16 B one-way p99 no worse than zeromq (≤ 1× zeromq)",
            "lat-ipc",
            "p99_us",
        ),
        vs_libzmq(
            "tcp 4 KiB msg/s ≥ 2× libzmq (the goal stays 3×)",
            "tcp-4k",
            "msgs_per_sec",
            Bound::AtLeast(2.0),
        ),
        vs_libzmq(
            "tcp 64 KiB MB/s ≥ 1.25× libzmq (goal 1.5×)",
            "tcp-64k",
            "mb_per_sec",
            Bound::AtLeast(1.25),
        ),
        vs_libzmq(
            "RSS per idle tcp connection ≤ 0.2× libzmq",
            "rss-5000",
            "bytes_per_conn",
            Bound::AtMost(0.2),
        ),
        vs_libzmq(
            "echo 1,000 tcp clients 64 B: echoes/s ≥ 1.5× libzmq STREAM",
            "echo-1000-64",
            "echoes_per_sec",
            Bound::AtLeast(1.5),
        ),
        vs_raw_mio(
            "echo 1,000 tcp clients 64 B: echoes/s ≥ 0.8× a raw mio server",
            "echo-1000-64",
        ),
        vs_libzmq(
            "echo 100 pipelining tcp clients 64 B: echoes/s ≥ 1.5× libzmq STREAM",
            "echo-100p-64",
            "echoes_per_sec",
            Bound::AtLeast(1.5),
        ),
        vs_raw_mio(
            "echo 100 pipelining tcp clients 64 B: echoes/s ≥ 0.8× a raw mio server",
            "echo-100p-64",
        ),
        // The same tcp figures against the system's libzmq (Debian's build), which is faster
        // than the bundled one on small messages on this machine: a verdict must not rest on
        // the slower of two libzmq builds.
        vs_libzmq_sodium(
            "tcp 16 B msg/s ≥ 1.5× the system's libzmq (libzmq+sodium)",
            "tcp-16",
            "msgs_per_sec",
            Bound::AtLeast(1.5),
        ),
        vs_libzmq_sodium(
            "tcp 256 B msg/s ≥ 1.5× the system's libzmq (libzmq+sodium)",
            "tcp-256",
            "msgs_per_sec",
            Bound::AtLeast(1.5),
        ),
        vs_libzmq_sodium(
            "tcp 4 KiB msg/s ≥ 2× the system's libzmq (libzmq+sodium)",
            "tcp-4k",
            "msgs_per_sec",
            Bound::AtLeast(2.0),
        ),
        vs_libzmq_sodium(
            "REQ/REP tcp 16 B one-way p50 ≤ 0.7× the system's libzmq (libzmq+sodium)",
            "lat-tcp",
            "p50_us",
            Bound::AtMost(0.7),
        ),
        // CURVE, against the system's libzmq with libsodium (the bundled one has no CURVE).
        vs_libzmq_sodium(
            "tcp+CURVE 16 B msg/s ≥ 1.5× libzmq+sodium",
            "curve-16",
            "msgs_per_sec",
            Bound::AtLeast(1.5),
        ),
        vs_libzmq_sodium(
            "tcp+CURVE 1 KiB msg/s ≥ 1.5× libzmq+sodium",
            "curve-1k",
            "msgs_per_sec",
            Bound::AtLeast(1.5),
        ),
        vs_libzmq_sodium(
            "REQ/REP tcp+CURVE 16 B one-way p50 no worse than libzmq+sodium (≤ 1×)",
            "curve-lat",
            "p50_us",
            Bound::AtMost(1.0),
        ),
        vs_libzmq_sodium(
            "REQ/REP tcp+CURVE 16 B one-way p99 no worse than libzmq+sodium (≤ 1×)",
            "curve-lat",
            "p99_us",
            Bound::AtMost(1.0),
        ),
        Target {
            text: "one PUSH shared by 4 threads ≥ 1× one thread",
            scenario: "push-4t",
            metric: "msgs_per_sec",
            versus: (Lib::Ferrozmq, "push-1t"),
            bound: Bound::AtLeast(1.0),
        },
        Target {
            text: "tcp 16 B in one process (as `fzmq bench`) within 25% of two processes (≥ 0.75×)",
            scenario: "tcp-16-1p",
            metric: "msgs_per_sec",
            versus: (Lib::Ferrozmq, "tcp-16"),
            bound: Bound::AtLeast(0.75),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_existing_scenarios_and_metrics() {
        let all = all();
        for t in targets() {
            for id in [t.scenario, t.versus.1] {
                let s = all.iter().find(|s| s.id == id).expect(id);
                assert!(s.metrics().iter().any(|m| m.key == t.metric), "{}", t.text);
            }
        }
        let mut ids: Vec<_> = all.iter().map(|s| s.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
    }

    #[test]
    fn cpu_is_divided_by_what_the_run_moved() {
        let by_id = |id: &str| all().into_iter().find(|s| s.id == id).unwrap();
        // 2,000,000 messages: 1 s of CPU is 500 ns a message; the raw baseline moves 10 times
        // as many.
        let tcp = by_id("tcp-16");
        assert_eq!(
            tcp.cpu_figure(Lib::Libzmq, 1e9),
            Some(("cpu_ns_per_msg", 500.0))
        );
        assert_eq!(
            tcp.cpu_figure(Lib::Raw, 1e9),
            Some(("cpu_ns_per_msg", 50.0))
        );
        // 400,000 messages to each of 4 subscribers.
        assert_eq!(
            by_id("pubsub-4").cpu_figure(Lib::Ferrozmq, 1.6e9),
            Some(("cpu_ns_per_msg", 1000.0))
        );
        // 20,000 round trips: 1 s is 50 µs a round trip.
        assert_eq!(
            by_id("lat-ipc").cpu_figure(Lib::Ferrozmq, 1e9),
            Some(("cpu_us_per_rt", 50.0))
        );
        assert_eq!(by_id("rss-5000").cpu_figure(Lib::Ferrozmq, 1e9), None);
        // Every scenario that moves messages shows the figure it computes.
        for s in all() {
            if let Some((key, _)) = s.cpu_figure(Lib::Ferrozmq, 1.0) {
                assert!(s.metrics().iter().any(|m| m.key == key), "{}", s.id);
            }
        }
    }

    #[test]
    fn curve_is_compared_with_the_system_libzmq() {
        let by_id = |id: &str| all().into_iter().find(|s| s.id == id).unwrap();
        for id in ["curve-16", "curve-1k", "curve-lat", "curve-hs"] {
            assert_eq!(by_id(id).reference(), Lib::LibzmqSodium, "{id}");
            assert!(by_id(id).not_applicable(Lib::Libzmq).is_some(), "{id}");
            assert_eq!(
                by_id(id).not_applicable(Lib::LibzmqSodium),
                libzmq_sodium::missing()
            );
        }
        for id in ["tcp-16", "tcp-64k", "lat-tcp"] {
            assert_eq!(by_id(id).reference(), Lib::Libzmq, "{id}");
            assert_eq!(
                by_id(id).not_applicable(Lib::LibzmqSodium),
                libzmq_sodium::missing()
            );
        }
        // The rest is the bundled libzmq's.
        for id in [
            "ipc-16",
            "inproc-16",
            "tcp-16-1p",
            "pubsub-4",
            "rss-5000",
            "echo-1000-64",
        ] {
            let why = by_id(id).not_applicable(Lib::LibzmqSodium);
            assert!(why.is_some_and(|w| w.contains("plays only")), "{id}");
        }
    }

    #[test]
    fn shared_push_divides_evenly() {
        for s in all() {
            if let Kind::SharedPush { threads, .. } = s.kind {
                assert_eq!(s.count % threads as u64, 0, "{}", s.id);
            }
        }
    }
}
