//! The chart of BENCHMARKS.md, as a small hand-written SVG: one group of horizontal bars per
//! figure, each bar a library's advantage over libzmq on a log scale (throughput: its ratio;
//! latency, CPU time and memory: libzmq's value over its own, so longer is better everywhere),
//! with a line at libzmq (1×) and a tick at ferrozmq's target where the issue sets one. The
//! CURVE rows are over libzmq+sodium, as the ratios table's (the bundled libzmq has no CURVE).

use std::fmt::Write as _;

use crate::orchestrate::{lib_name, Results};
use crate::report::ratio;
use crate::scenario::{Bound, Scenario, Target};
use crate::worker::Lib;

const WIDTH: f64 = 960.0;
const LABEL_W: f64 = 290.0;
const PLOT_W: f64 = 560.0;
const BAR_H: f64 = 9.0;
const GROUP_GAP: f64 = 10.0;
const TOP: f64 = 58.0;

/// One group of bars: a figure of a scenario.
#[derive(Debug)]
struct Row {
    label: String,
    /// (library, advantage over libzmq), for the libraries that have one.
    bars: Vec<(Lib, f64)>,
    /// ferrozmq's target as an advantage over libzmq.
    target: Option<f64>,
}

/// The SVG document for these results; libraries other than libzmq get a bar each.
pub(crate) fn chart(
    scenarios: &[Scenario],
    libs: &[Lib],
    results: &Results,
    targets: &[Target],
) -> String {
    let shown: Vec<Lib> = libs.iter().copied().filter(|&l| l != Lib::Libzmq).collect();
    let rows = rows(scenarios, &shown, results, targets);
    let values = rows
        .iter()
        .flat_map(|r| r.bars.iter().map(|b| b.1).chain(r.target));
    // Whole powers of two around the data, at least 1/4× to 4×, at most 1/16× to 16×: the
    // raw baseline can be 100× libzmq, and its bars are cut at the edge (their labels say
    // how far they go).
    let (lo, hi) = values.fold((0.25f64, 4.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo_exp, hi_exp) = (
        (lo.log2().floor() as i32).max(-4),
        (hi.log2().ceil() as i32).min(4),
    );
    let x = |v: f64| {
        let t = (v.max(f64::MIN_POSITIVE).log2() - f64::from(lo_exp)) / f64::from(hi_exp - lo_exp);
        LABEL_W + t.clamp(0.0, 1.0) * PLOT_W
    };
    let group_h = BAR_H * shown.len().max(1) as f64 + GROUP_GAP;
    let height = TOP + group_h * rows.len() as f64 + 30.0;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        svg,
        "<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Advantage over libzmq \
         (CURVE: libzmq+sodium; longer is better: throughput ratio, or libzmq ÷ latency / CPU \
         / memory)</text>"
    );
    // Each legend entry as wide as its name (about 6.5 px a character at 11 px).
    let mut lx = LABEL_W;
    for &lib in &shown {
        let _ = writeln!(
            svg,
            "<rect x=\"{lx}\" y=\"28\" width=\"12\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"37\">{}</text>",
            color(lib),
            lx + 16.0,
            lib_name(lib)
        );
        lx += 30.0 + 6.5 * lib_name(lib).len() as f64;
    }
    let _ = writeln!(svg, "<text x=\"{lx}\" y=\"37\">| ferrozmq target</text>");
    let bottom = height - 30.0;
    for e in lo_exp..=hi_exp {
        let v = 2f64.powi(e);
        let gx = x(v);
        let (stroke, w) = if e == 0 { ("#000", 1.5) } else { ("#ccc", 1.0) };
        let _ = writeln!(
            svg,
            "<line x1=\"{gx:.1}\" y1=\"{}\" x2=\"{gx:.1}\" y2=\"{bottom}\" stroke=\"{stroke}\" \
             stroke-width=\"{w}\"/><text x=\"{gx:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            TOP - 6.0,
            bottom + 14.0,
            scale_label(v)
        );
    }
    for (r, row) in rows.iter().enumerate() {
        let y0 = TOP + r as f64 * group_h;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LABEL_W - 8.0,
            y0 + group_h / 2.0,
            escape(&row.label)
        );
        for (i, &lib) in shown.iter().enumerate() {
            let y = y0 + i as f64 * BAR_H;
            let Some(&(_, v)) = row.bars.iter().find(|b| b.0 == lib) else {
                continue;
            };
            let (a, b) = (x(1.0).min(x(v)), x(1.0).max(x(v)));
            // The label sits past the bar's free end: right of gains, left of losses.
            let (label_x, anchor) = if v >= 1.0 {
                (b + 3.0, "start")
            } else {
                (a - 3.0, "end")
            };
            let _ = writeln!(
                svg,
                "<rect x=\"{a:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{}\" fill=\"{}\"/>\
                 <text x=\"{label_x:.1}\" y=\"{:.1}\" font-size=\"8\" \
                 text-anchor=\"{anchor}\">{v:.2}×</text>",
                (b - a).max(1.0),
                BAR_H - 1.0,
                color(lib),
                y + BAR_H - 2.0
            );
        }
        if let Some(t) = row.target {
            let tx = x(t);
            let _ = writeln!(
                svg,
                "<line x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"#000\" \
                 stroke-width=\"2\"/>",
                y0 - 2.0,
                y0 + BAR_H + 1.0
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// One row per figure; 64 KiB throughput only as MB/s (its msg/s ratio is the same).
/// Figures with neither a bar nor a target tick to draw (the shared PUSH) are left out.
fn rows(scenarios: &[Scenario], shown: &[Lib], results: &Results, targets: &[Target]) -> Vec<Row> {
    let mut rows = Vec::new();
    for s in scenarios {
        let all = s.metrics();
        let has_mb = all.iter().any(|m| m.key == "mb_per_sec");
        let metrics: Vec<_> = all
            .iter()
            .filter(|m| !(has_mb && m.key == "msgs_per_sec"))
            .collect();
        for m in &metrics {
            let advantage = |r: f64| if m.lower_is_better { 1.0 / r } else { r };
            let bars: Vec<(Lib, f64)> = shown
                .iter()
                .filter(|&&lib| lib != s.reference())
                .filter_map(|&lib| {
                    let r = ratio(results, (s.id, lib), (s.id, s.reference()), m.key)?;
                    (r > 0.0).then(|| (lib, advantage(r)))
                })
                .collect();
            let target = targets
                .iter()
                .find(|t| {
                    t.scenario == s.id && t.metric == m.key && t.versus == (s.reference(), s.id)
                })
                .map(|t| match t.bound {
                    Bound::AtLeast(b) | Bound::AtMost(b) => advantage(b),
                });
            let label = if metrics.len() > 1 {
                format!("{} {}", s.title, m.unit)
            } else {
                s.title.to_owned()
            };
            // A figure no other library has a ratio for (the shared PUSH) has nothing to draw;
            // its target is in the targets table.
            if bars.is_empty() && target.is_none() {
                continue;
            }
            rows.push(Row {
                label,
                bars,
                target,
            });
        }
    }
    rows
}

fn scale_label(v: f64) -> String {
    if v >= 1.0 {
        format!("{v}×")
    } else {
        format!("1/{}×", 1.0 / v)
    }
}

fn color(lib: Lib) -> &'static str {
    match lib {
        Lib::Ferrozmq => "#d9480f",
        Lib::Libzmq => "#495057",
        Lib::LibzmqSodium => "#7048e8",
        Lib::Zeromq => "#1971c2",
        Lib::Rzmq => "#2f9e44",
        Lib::Raw => "#adb5bd",
        Lib::RawTokio => "#ced4da",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Line;
    use crate::orchestrate::Cell;
    use crate::scenario;

    /// A cell of one run with two figures.
    fn two(a: (&str, f64), b: (&str, f64)) -> Cell {
        Cell {
            runs: vec![Line::new().number(a.0, a.1).number(b.0, b.1)],
            ..Cell::default()
        }
    }

    #[test]
    fn bars_are_advantages_over_libzmq() {
        let scenarios: Vec<_> = scenario::all()
            .into_iter()
            .filter(|s| ["tcp-16", "lat-tcp", "tcp-64k"].contains(&s.id))
            .collect();
        let mut results = Results::new();
        // CPU: ferrozmq half libzmq's per message (twice as good), twice per round trip.
        results.insert(
            ("tcp-16", Lib::Ferrozmq),
            two(("msgs_per_sec", 300.0), ("cpu_ns_per_msg", 100.0)),
        );
        results.insert(
            ("tcp-16", Lib::Libzmq),
            two(("msgs_per_sec", 100.0), ("cpu_ns_per_msg", 200.0)),
        );
        results.insert(
            ("lat-tcp", Lib::Ferrozmq),
            two(("p50_us", 10.0), ("cpu_us_per_rt", 20.0)),
        );
        results.insert(
            ("lat-tcp", Lib::Libzmq),
            two(("p50_us", 20.0), ("cpu_us_per_rt", 10.0)),
        );
        let libs = [Lib::Ferrozmq, Lib::Libzmq, Lib::Rzmq];
        let rows = rows(&scenarios, &libs[..1], &results, &scenario::targets());
        let labels: Vec<_> = rows.iter().map(|r| r.label.as_str()).collect();
        // A figure without bars stays where it has a target tick (64 KiB, p99); the 64 KiB
        // CPU row, with neither, is left out.
        assert_eq!(
            labels,
            [
                "PUSH/PULL tcp 16 B msg/s",
                "PUSH/PULL tcp 16 B CPU ns/msg",
                "PUSH/PULL tcp 64 KiB MB/s",
                "REQ/REP tcp 16 B µs p50",
                "REQ/REP tcp 16 B µs p99",
                "REQ/REP tcp 16 B CPU µs/round trip"
            ]
        );
        assert_eq!(rows[0].bars, [(Lib::Ferrozmq, 3.0)]);
        assert_eq!(rows[0].target, Some(1.5));
        assert_eq!(rows[1].bars, [(Lib::Ferrozmq, 2.0)]);
        assert_eq!(rows[1].target, Some(1.0 / 0.8));
        assert_eq!(rows[3].bars, [(Lib::Ferrozmq, 2.0)]);
        assert!((rows[3].target.unwrap() - 1.0 / 0.7).abs() < 1e-9);
        assert_eq!(rows[5].bars, [(Lib::Ferrozmq, 0.5)]);
        assert_eq!(rows[5].target, None);

        let svg = chart(&scenarios, &libs, &results, &scenario::targets());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("3.00×") && svg.contains(">ferrozmq<") && svg.contains(">rzmq<"));
        assert!(!svg.contains(">libzmq<"));
        assert_eq!(svg.matches("<svg").count(), 1);
    }

    #[test]
    fn curve_bars_are_advantages_over_libzmq_sodium() {
        let scenarios: Vec<_> = scenario::all()
            .into_iter()
            .filter(|s| s.id == "curve-16")
            .collect();
        let mut results = Results::new();
        results.insert(
            ("curve-16", Lib::Ferrozmq),
            two(("msgs_per_sec", 300.0), ("cpu_ns_per_msg", 100.0)),
        );
        results.insert(
            ("curve-16", Lib::LibzmqSodium),
            two(("msgs_per_sec", 200.0), ("cpu_ns_per_msg", 400.0)),
        );
        let shown = [Lib::Ferrozmq, Lib::LibzmqSodium];
        let rows = rows(&scenarios, &shown, &results, &scenario::targets());
        // libzmq+sodium is the reference here: no bar of its own, ferrozmq's over it.
        assert_eq!(rows[0].bars, [(Lib::Ferrozmq, 1.5)]);
        assert_eq!(rows[0].target, Some(1.5));
        assert_eq!(rows[1].bars, [(Lib::Ferrozmq, 4.0)]);
        assert_eq!(rows[1].target, None);
    }
}
