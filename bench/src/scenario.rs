//! The scenarios of the issue, the figures each reports, the targets ferrozmq is held to, and
//! which library cannot run which scenario (and why). Pure data: no processes here.

use crate::worker::{Lib, Transport};

/// The libraries in table order; ratios are taken to [`Lib::Libzmq`].
pub(crate) const LIBS: [Lib; 5] = [Lib::Ferrozmq, Lib::Libzmq, Lib::Zeromq, Lib::Rzmq, Lib::Raw];

/// What a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// PUSH/PULL throughput; sender and receiver in two processes (inproc: two threads).
    Thr { transport: Transport, size: usize },
    /// REQ/REP round trips; one-way latency = round trip / 2.
    Lat { transport: Transport, size: usize },
    /// One no-drop PUB to `subscribers` SUBs in their own processes, over tcp.
    PubSub { subscribers: usize, size: usize },
    /// One PUSH socket used by `threads` sending threads, over tcp.
    SharedPush { threads: usize, size: usize },
    /// RSS growth of a ROUTER while `connections` idle tcp peers are connected.
    Rss { connections: u64 },
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
const PER_CONN: Metric = Metric {
    key: "bytes_per_conn",
    unit: "B/conn",
    lower_is_better: true,
};

impl Scenario {
    /// The figures shown for this scenario.
    pub(crate) fn metrics(&self) -> &'static [Metric] {
        match self.kind {
            Kind::Thr { size, .. } if size >= 64 * 1024 => &[MB, MSGS],
            Kind::Thr { .. } | Kind::PubSub { .. } | Kind::SharedPush { .. } => &[MSGS],
            Kind::Lat { .. } => &[P50, P99],
            Kind::Rss { .. } => &[PER_CONN],
        }
    }

    /// The count of one run for `lib`. The raw baseline moves more messages (10 times up to
    /// 256 B, 4 times at 4 KiB, twice at 64 KiB): at its speed the scenario's count would be
    /// over in milliseconds, too short to time. Rates do not depend on the count.
    pub(crate) fn count_for(&self, lib: Lib) -> u64 {
        match (self.kind, lib) {
            (Kind::Thr { size, .. }, Lib::Raw) if size >= 64 * 1024 => self.count * 2,
            (Kind::Thr { size, .. }, Lib::Raw) if size >= 4096 => self.count * 4,
            (Kind::Thr { .. }, Lib::Raw) => self.count * 10,
            _ => self.count,
        }
    }

    /// Why `lib` cannot run this scenario, if it cannot.
    pub(crate) fn not_applicable(&self, lib: Lib) -> Option<&'static str> {
        match (self.kind, lib) {
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
            _ => None,
        }
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
        Scenario {
            id: "rss-5000",
            title: "ROUTER, 5,000 idle tcp peers",
            kind: Kind::Rss { connections: 5000 },
            count: 5000,
        },
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

/// The targets table of the issue.
pub(crate) fn targets() -> Vec<Target> {
    let vs_libzmq = |text, scenario, metric, bound| Target {
        text,
        scenario,
        metric,
        versus: (Lib::Libzmq, scenario),
        bound,
    };
    vec![
        vs_libzmq(
            "tcp 16 B msg/s ≥ 1.25× libzmq",
            "tcp-16",
            "msgs_per_sec",
            Bound::AtLeast(1.25),
        ),
        vs_libzmq(
            "tcp 256 B msg/s ≥ 1.5× libzmq",
            "tcp-256",
            "msgs_per_sec",
            Bound::AtLeast(1.5),
        ),
        vs_libzmq(
            "tcp 4 KiB msg/s ≥ 3× libzmq",
            "tcp-4k",
            "msgs_per_sec",
            Bound::AtLeast(3.0),
        ),
        Target {
            text: "tcp 4 KiB msg/s ≥ 1.2× rzmq",
            scenario: "tcp-4k",
            metric: "msgs_per_sec",
            versus: (Lib::Rzmq, "tcp-4k"),
            bound: Bound::AtLeast(1.2),
        },
        vs_libzmq(
            "tcp 64 KiB MB/s ≥ 1.5× libzmq",
            "tcp-64k",
            "mb_per_sec",
            Bound::AtLeast(1.5),
        ),
        Target {
            text: "tcp 64 KiB MB/s within 70% of raw (≥ 0.7× raw)",
            scenario: "tcp-64k",
            metric: "mb_per_sec",
            versus: (Lib::Raw, "tcp-64k"),
            bound: Bound::AtLeast(0.7),
        },
        vs_libzmq(
            "ipc 16 B msg/s ≥ 1.25× libzmq",
            "ipc-16",
            "msgs_per_sec",
            Bound::AtLeast(1.25),
        ),
        vs_libzmq(
            "inproc 16 B msg/s ≥ 2× libzmq",
            "inproc-16",
            "msgs_per_sec",
            Bound::AtLeast(2.0),
        ),
        vs_libzmq(
            "REQ/REP tcp 16 B one-way p50 ≤ 0.7× libzmq",
            "lat-tcp",
            "p50_us",
            Bound::AtMost(0.7),
        ),
        vs_libzmq(
            "REQ/REP tcp 16 B one-way p99 ≤ 0.7× libzmq",
            "lat-tcp",
            "p99_us",
            Bound::AtMost(0.7),
        ),
        vs_libzmq(
            "PUB/SUB no-drop, 4 subs: msg/s per sub ≥ 1.5× libzmq",
            "pubsub-4",
            "msgs_per_sec",
            Bound::AtLeast(1.5),
        ),
        Target {
            text: "one PUSH shared by 4 threads ≥ 0.8× 1 thread",
            scenario: "push-4t",
            metric: "msgs_per_sec",
            versus: (Lib::Ferrozmq, "push-1t"),
            bound: Bound::AtLeast(0.8),
        },
        vs_libzmq(
            "RSS per idle tcp connection ≤ libzmq",
            "rss-5000",
            "bytes_per_conn",
            Bound::AtMost(1.0),
        ),
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
    fn shared_push_divides_evenly() {
        for s in all() {
            if let Kind::SharedPush { threads, .. } = s.kind {
                assert_eq!(s.count % threads as u64, 0, "{}", s.id);
            }
        }
    }
}
