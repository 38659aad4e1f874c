//! Turns the runs into BENCHMARKS.md: medians per cell, a table of figures (each scenario's
//! rate or latency, then its CPU time per message), a table of ratios to libzmq (CURVE: to
//! libzmq+sodium), and the targets with their measured ratio and whether each is met. Every
//! number in the file comes from the runs passed in.

use std::fmt::Write as _;

use crate::orchestrate::{lib_name, Cell, Results};
use crate::scenario::{Scenario, Target};
use crate::worker::Lib;

/// The median of a cell's runs for one metric, with the spread of the runs around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figure {
    pub(crate) median: f64,
    /// (max - min) / median over the runs.
    pub(crate) spread: f64,
    pub(crate) runs: usize,
}

/// Median of the values (mean of the middle two for an even count); `None` if empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// A cell's figure for one metric, if it has runs.
pub(crate) fn figure(cell: &Cell, metric: &str) -> Option<Figure> {
    let values: Vec<f64> = cell
        .runs
        .iter()
        .filter_map(|line| line.get_number(metric))
        .collect();
    let median = median(&values)?;
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    Some(Figure {
        median,
        spread: if median > 0.0 {
            (max - min) / median
        } else {
            0.0
        },
        runs: values.len(),
    })
}

/// `lib`'s median over `versus`'s median for a metric of a scenario, when both were measured.
pub(crate) fn ratio(
    results: &Results,
    (scenario, lib): (&str, Lib),
    (versus_scenario, versus): (&str, Lib),
    metric: &str,
) -> Option<f64> {
    let cell = |s: &str, l: Lib| results.iter().find(|((id, cl), _)| *id == s && *cl == l);
    let num = figure(cell(scenario, lib)?.1, metric)?.median;
    let den = figure(cell(versus_scenario, versus)?.1, metric)?.median;
    (den > 0.0).then(|| num / den)
}

/// A target's measured ratio and verdict.
pub(crate) fn judge(results: &Results, t: &Target) -> Option<(f64, bool)> {
    let r = ratio(
        results,
        (t.scenario, Lib::Ferrozmq),
        (t.versus.1, t.versus.0),
        t.metric,
    )?;
    Some((r, t.bound.met(r)))
}

/// A figure in a table: 1.23 M, 456 k, 12.3, with the unit's scale.
pub(crate) fn human(value: f64) -> String {
    match value.abs() {
        v if v >= 1e6 => format!("{:.2} M", value / 1e6),
        v if v >= 1e4 => format!("{:.0} k", value / 1e3),
        v if v >= 1e3 => format!("{:.1} k", value / 1e3),
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 10.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

/// The text of an empty cell: n/a with a footnote number, or the failure.
fn empty_cell(cell: Option<&Cell>, notes: &mut Vec<String>) -> String {
    match cell {
        Some(Cell {
            not_applicable: Some(why),
            ..
        }) => {
            let n = match notes.iter().position(|n| n == why) {
                Some(i) => i + 1,
                None => {
                    notes.push(why.clone());
                    notes.len()
                }
            };
            format!("n/a [{n}]")
        }
        Some(c) if !c.failures.is_empty() => "failed".to_owned(),
        _ => "–".to_owned(),
    }
}

/// Everything BENCHMARKS.md says around the tables.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) command: String,
    pub(crate) rounds: usize,
    pub(crate) wall: std::time::Duration,
    pub(crate) machine: String,
    pub(crate) versions: String,
    pub(crate) chart: Option<String>,
}

/// The markdown document.
pub(crate) fn markdown(
    scenarios: &[Scenario],
    libs: &[Lib],
    results: &Results,
    targets: &[Target],
    ctx: &Context,
) -> String {
    let mut notes = Vec::new();
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `{}` ({} round(s), interleaved library by library; each cell is the median \
         of its runs; {:.1} minutes in all). Do not edit by hand: run it again.\n",
        ctx.command,
        ctx.rounds,
        ctx.wall.as_secs_f64() / 60.0
    );
    let _ = writeln!(
        md,
        "Machine: {}. Versions: {}.\n",
        ctx.machine, ctx.versions
    );
    let _ = writeln!(md, "{METHOD}\n");
    if let Some(chart) = &ctx.chart {
        let _ = writeln!(
            md,
            "![ferrozmq and the others as multiples of libzmq]({chart})\n"
        );
    }

    let _ = writeln!(md, "## Targets\n");
    let _ = writeln!(md, "| target | measured | verdict |\n|---|---:|---|");
    for t in targets {
        let (measured, verdict) = match judge(results, t) {
            Some((r, met)) => (format!("{r:.2}×"), if met { "met" } else { "**not met**" }),
            None => ("–".to_owned(), "not measured"),
        };
        let _ = writeln!(md, "| {} | {measured} | {verdict} |", t.text);
    }

    let _ = writeln!(md, "\n## Figures\n");
    let _ = writeln!(
        md,
        "Median of the runs; ± is the spread of the runs (max − min) over the median.\n"
    );
    table_header(&mut md, "scenario", libs);
    for s in scenarios {
        for m in s.metrics() {
            let _ = write!(md, "| {} | {} |", s.title, m.unit);
            for &lib in libs {
                let cell = results.get(&(s.id, lib));
                let text = match cell.and_then(|c| figure(c, m.key)) {
                    Some(f) => format!("{} ±{:.0}%", human(f.median), f.spread * 100.0),
                    None => empty_cell(cell, &mut notes),
                };
                let _ = write!(md, " {text} |");
            }
            md.push('\n');
        }
    }

    let _ = writeln!(md, "\n## Ratios to libzmq\n");
    let _ = writeln!(
        md,
        "Each library's median over libzmq's in the same row; in the CURVE rows, over \
         libzmq+sodium's (the bundled libzmq has no CURVE). Throughput: higher is better; \
         latency, CPU time and memory: lower is better.\n"
    );
    table_header(&mut md, "scenario", libs);
    for s in scenarios {
        for m in s.metrics() {
            let _ = write!(md, "| {} | {} |", s.title, m.unit);
            for &lib in libs {
                let r = ratio(results, (s.id, lib), (s.id, s.reference()), m.key);
                let text = match r {
                    Some(r) => format!("{r:.2}×"),
                    None => empty_cell(results.get(&(s.id, lib)), &mut notes),
                };
                let _ = write!(md, " {text} |");
            }
            md.push('\n');
        }
    }

    if !notes.is_empty() {
        let _ = writeln!(md, "\n## Not applicable\n");
        for (i, n) in notes.iter().enumerate() {
            let _ = writeln!(md, "{}. {n}", i + 1);
        }
    }
    let failures: Vec<String> = results
        .iter()
        .flat_map(|((id, lib), c)| {
            c.failures
                .iter()
                .map(move |f| format!("- {id} / {}: {f}", lib_name(*lib)))
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(md, "\n## Failed runs\n");
        for f in failures {
            let _ = writeln!(md, "{}", f.replace('\n', " "));
        }
    }
    md
}

fn table_header(md: &mut String, first: &str, libs: &[Lib]) {
    let _ = write!(md, "| {first} | unit |");
    for &lib in libs {
        let _ = write!(md, " {} |", lib_name(lib));
    }
    let _ = write!(md, "\n|---|---|");
    for _ in libs {
        md.push_str("---:|");
    }
    md.push('\n');
}

/// How the figures are measured, for the reader of BENCHMARKS.md.
const METHOD: &str = "\
Every sender, receiver, publisher and subscriber is its own process (inproc: two threads of \
one process), started by the suite itself. Throughput is timed at the receiver from the first \
message to the last, and the sender builds a new message for every send, as libzmq's \
`local_thr`/`remote_thr` do; MB/s counts 10^6 bytes of payload. Latency is half the round trip \
of a REQ/REP echo after 100 untimed round trips, per round trip, as nearest-rank p50 and p99. \
PUB/SUB sends with no-drop (a full subscriber holds the publisher back) after every subscriber \
has received a hello; the figure is the mean of the subscribers' own msg/s. The shared PUSH \
splits the same number of messages over 4 threads (rzmq: 4 tasks on clones of one socket). \
Memory is the growth of the ROUTER process's VmRSS while 5,000 raw tcp peers that completed a \
ZMTP NULL handshake as DEALER sit idle, per connection. CPU is the user + system time \
(`CLOCK_PROCESS_CPUTIME_ID`, every thread) of all the processes of a run together (sender and \
receiver, publisher and subscribers, ping and echo; inproc and one-process runs: the one \
process), each from the start of its measured work (first send, first receive, first timed \
round trip, the publisher's go, a subscriber's first message) to its exit, teardown included; \
divided by the messages received (PUB/SUB: by each subscriber, so per message per subscriber) \
or by the round trips. Time spent waiting counts only if a library spins while it waits. The \
one-process tcp run has both ends as two threads of one process, as `fzmq bench` runs them \
(ferrozmq and libzmq with two I/O threads). `libzmq` is libzmq as the `zmq` crate bundles it \
(built from source, without libsodium, so without CURVE); `libzmq+sodium` is the system's \
libzmq (Debian's libzmq5, built with libsodium), driven by a C worker \
(`bench/c/libzmq_worker.c`) with the same methods, in the tcp and CURVE scenarios. CURVE runs \
use fixed keys, the binding side as the server, no ZAP handler. `raw` is plain std sockets \
writing pre-encoded ZMTP frames in 64 KiB writes to a reader that only counts bytes: the \
ceiling of the machine, not a messaging library. The async crates run on a multi-threaded \
tokio runtime, as `#[tokio::main]` builds it; rzmq uses its default (non-io_uring) back end.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Line;
    use crate::scenario::{self, Bound};

    fn cell(values: &[f64]) -> Cell {
        Cell {
            runs: values
                .iter()
                .map(|&v| Line::new().number("msgs_per_sec", v))
                .collect(),
            ..Cell::default()
        }
    }

    /// A cell whose runs each give (msg/s, CPU ns per message).
    fn cpu_cell(runs: &[(f64, f64)]) -> Cell {
        Cell {
            runs: runs
                .iter()
                .map(|&(rate, cpu)| {
                    Line::new()
                        .number("msgs_per_sec", rate)
                        .number("cpu_ns_per_msg", cpu)
                })
                .collect(),
            ..Cell::default()
        }
    }

    #[test]
    fn medians_and_spread() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let f = figure(&cell(&[90.0, 100.0, 110.0]), "msgs_per_sec").unwrap();
        assert_eq!(f.median, 100.0);
        assert!((f.spread - 0.2).abs() < 1e-9);
        assert_eq!(f.runs, 3);
    }

    #[test]
    fn ratios_and_targets_are_computed_from_the_runs() {
        let mut results = Results::new();
        results.insert(("tcp-16", Lib::Ferrozmq), cell(&[260.0, 250.0, 240.0]));
        results.insert(("tcp-16", Lib::Libzmq), cell(&[200.0, 100.0, 300.0]));
        let r = ratio(
            &results,
            ("tcp-16", Lib::Ferrozmq),
            ("tcp-16", Lib::Libzmq),
            "msgs_per_sec",
        );
        assert_eq!(r, Some(1.25));
        let targets = scenario::targets();
        let find = |id: &str, metric: &str| {
            targets
                .iter()
                .find(|t| t.scenario == id && t.metric == metric)
                .unwrap()
        };
        let t16 = find("tcp-16", "msgs_per_sec");
        assert_eq!(judge(&results, t16), Some((1.25, false)));
        let t256 = find("tcp-256", "msgs_per_sec");
        assert_eq!(judge(&results, t256), None);
        assert!(!Bound::AtMost(0.7).met(0.71));
        // The CPU target: at most 0.8 times libzmq's CPU time per message.
        let cpu16 = find("tcp-16", "cpu_ns_per_msg");
        assert_eq!(judge(&results, cpu16), None);
        results.insert(("tcp-16", Lib::Ferrozmq), cpu_cell(&[(1.5e6, 240.0)]));
        results.insert(("tcp-16", Lib::Libzmq), cpu_cell(&[(1e6, 400.0)]));
        assert_eq!(judge(&results, t16), Some((1.5, true)));
        assert_eq!(judge(&results, cpu16), Some((0.6, true)));
        results.insert(("tcp-16", Lib::Ferrozmq), cpu_cell(&[(1.5e6, 360.0)]));
        assert_eq!(judge(&results, cpu16), Some((0.9, false)));
        // Latency against the zeromq crate too: no worse than it.
        let lat = |p50| Cell {
            runs: vec![Line::new().number("p50_us", p50)],
            ..Cell::default()
        };
        results.insert(("lat-ipc", Lib::Ferrozmq), lat(12.0));
        results.insert(("lat-ipc", Lib::Zeromq), lat(10.0));
        let vs_zeromq = targets
            .iter()
            .find(|t| t.scenario == "lat-ipc" && t.metric == "p50_us" && t.versus.0 == Lib::Zeromq)
            .unwrap();
        assert_eq!(judge(&results, vs_zeromq), Some((1.2, false)));
    }

    #[test]
    fn markdown_shows_figures_ratios_verdicts_and_reasons() {
        let scenarios: Vec<_> = scenario::all()
            .into_iter()
            .filter(|s| s.id == "tcp-16" || s.id == "inproc-16")
            .collect();
        let mut results = Results::new();
        results.insert(
            ("tcp-16", Lib::Ferrozmq),
            cpu_cell(&[(1_000_000.0, 300.0), (1_000_000.0, 500.0)]),
        );
        results.insert(("tcp-16", Lib::Libzmq), cpu_cell(&[(2_000_000.0, 500.0)]));
        results.insert(
            ("inproc-16", Lib::Zeromq),
            Cell {
                not_applicable: Some("zeromq has no inproc transport".into()),
                ..Cell::default()
            },
        );
        let ctx = Context {
            command: "cmd".into(),
            rounds: 1,
            wall: std::time::Duration::from_secs(60),
            machine: "m".into(),
            versions: "v".into(),
            chart: Some("bench/chart.svg".into()),
        };
        let md = markdown(
            &scenarios,
            &[Lib::Ferrozmq, Lib::Libzmq, Lib::Zeromq],
            &results,
            &scenario::targets(),
            &ctx,
        );
        assert!(
            md.contains("| tcp 16 B msg/s ≥ 1.5× libzmq | 0.50× | **not met** |"),
            "{md}"
        );
        assert!(
            md.contains("| tcp 16 B CPU time per message ≤ 0.8× libzmq | 0.80× | met |"),
            "{md}"
        );
        assert!(
            md.contains("| ipc 16 B CPU time per message ≤ 0.8× libzmq | – | not measured |"),
            "{md}"
        );
        assert!(
            md.contains("| PUSH/PULL tcp 16 B | msg/s | 1.00 M ±0% | 2.00 M ±0% | – |"),
            "{md}"
        );
        // The CPU figure right below the rate it was measured with: median 400 of 300 and
        // 500, spread 200 / 400.
        assert!(
            md.contains(
                "| PUSH/PULL tcp 16 B | msg/s | 1.00 M ±0% | 2.00 M ±0% | – |\n\
                 | PUSH/PULL tcp 16 B | CPU ns/msg | 400 ±50% | 500 ±0% | – |\n"
            ),
            "{md}"
        );
        assert!(
            md.contains("| PUSH/PULL tcp 16 B | msg/s | 0.50× | 1.00× | – |"),
            "{md}"
        );
        assert!(
            md.contains("| PUSH/PULL tcp 16 B | CPU ns/msg | 0.80× | 1.00× | – |"),
            "{md}"
        );
        assert!(
            md.contains("| PUSH/PULL inproc 16 B | CPU ns/msg | – | – | n/a [1] |"),
            "{md}"
        );
        assert!(
            md.contains("n/a [1]") && md.contains("1. zeromq has no inproc transport"),
            "{md}"
        );
        assert!(md.contains("![ferrozmq and the others as multiples of libzmq](bench/chart.svg)"));
    }

    #[test]
    fn human_scales() {
        assert_eq!(human(1_234_567.0), "1.23 M");
        assert_eq!(human(45_600.0), "46 k");
        assert_eq!(human(4_560.0), "4.6 k");
        assert_eq!(human(12.34), "12.3");
        assert_eq!(human(1.234), "1.23");
    }
}
